//! The poll schedule and each instance's poll status.
//!
//! ```text
//! {poll}:interval  HASH  id → interval ms      present ⇔ the instance polls
//! {poll}:due       ZSET  id → next slot (ms)
//! {poll}:claimed   ZSET  "<id>:<slot>" → lease expiry
//! ```
//!
//! [`claim_due`] takes due instances and, in the same Lua call, moves each to its next slot and
//! records the claim with a lease; the scheduler releases the claim once the poll job is stored in
//! JetStream. A scheduler that dies in between leaves the claim to expire, and [`reclaim`] hands
//! it to another, so no slot is skipped; the job's message id (`poll-<id>-<slot>`) makes a
//! repeat harmless. The three keys share the `{poll}` tag, so this works on Redis Cluster.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::{Conn, StoreResult};
use crate::keys::Keys;

static UPSERT: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local had = redis.call('HEXISTS', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
local latest = tonumber(ARGV[3]) + tonumber(ARGV[2])
if not due then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
elseif tonumber(due) > latest then
  redis.call('ZADD', KEYS[1], latest, ARGV[1])
end
return had
"#,
);

static CLAIM: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #due, 2 do
  local id, slot = due[i], tonumber(due[i + 1])
  local iv = redis.call('HGET', KEYS[2], id)
  if not iv then
    redis.call('ZREM', KEYS[1], id)
  else
    local nxt = slot + tonumber(iv)
    if nxt <= now then nxt = now + tonumber(iv) end
    redis.call('ZADD', KEYS[1], nxt, id)
    local member = id .. ':' .. string.format('%d', slot)
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), member)
    table.insert(out, member)
  end
end
return out
"#,
);

static RECLAIM: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(expired) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), m)
end
return expired
"#,
);

static POSTPONE: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return 1
"#,
);

fn parse_member(m: &str) -> Option<(u64, i64)> {
    let (id, slot) = m.split_once(':')?;
    Some((id.parse().ok()?, slot.parse().ok()?))
}

/// Makes the instance poll every `interval_ms`; a new one starts `jitter_ms` from now, and a
/// shorter interval pulls the next slot in. Returns whether it was already polling.
pub async fn upsert(
    conn: &mut Conn,
    keys: &Keys,
    id: u64,
    interval_ms: i64,
    now_ms: i64,
    jitter_ms: i64,
) -> StoreResult<bool> {
    let had: i64 = UPSERT
        .get()
        .key(keys.poll_due())
        .key(keys.poll_interval())
        .arg(id)
        .arg(interval_ms)
        .arg(now_ms)
        .arg(jitter_ms)
        .invoke_async(conn)
        .await?;
    Ok(had == 1)
}

/// Stops polling the instance.
pub async fn remove(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<()> {
    let _: () = conn.hdel(keys.poll_interval(), id).await?;
    let _: () = conn.zrem(keys.poll_due(), id).await?;
    Ok(())
}

/// Claims up to `limit` due instances: (id, slot) each.
pub async fn claim_due(
    conn: &mut Conn,
    keys: &Keys,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> StoreResult<Vec<(u64, i64)>> {
    let members: Vec<String> = CLAIM
        .get()
        .key(keys.poll_due())
        .key(keys.poll_interval())
        .key(keys.poll_claimed())
        .arg(now_ms)
        .arg(lease_ms)
        .arg(limit)
        .invoke_async(conn)
        .await?;
    Ok(members.iter().filter_map(|m| parse_member(m)).collect())
}

/// Claims whose lease ran out (their scheduler died before queueing the job), re-leased.
pub async fn reclaim(
    conn: &mut Conn,
    keys: &Keys,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> StoreResult<Vec<(u64, i64)>> {
    let members: Vec<String> = RECLAIM
        .get()
        .key(keys.poll_claimed())
        .arg(now_ms)
        .arg(lease_ms)
        .arg(limit)
        .invoke_async(conn)
        .await?;
    Ok(members.iter().filter_map(|m| parse_member(m)).collect())
}

/// The job for (id, slot) is queued: the claim is done.
pub async fn release(conn: &mut Conn, keys: &Keys, id: u64, slot: i64) -> StoreResult<()> {
    let _: () = conn
        .zrem(keys.poll_claimed(), format!("{id}:{slot}"))
        .await?;
    Ok(())
}

/// Moves the next slot no earlier than `until_ms` (a provider asked to slow down).
pub async fn postpone(conn: &mut Conn, keys: &Keys, id: u64, until_ms: i64) -> StoreResult<()> {
    let _: i64 = POSTPONE
        .get()
        .key(keys.poll_due())
        .arg(id)
        .arg(until_ms)
        .invoke_async(conn)
        .await?;
    Ok(())
}

/// Whether the instance polls, and its next slot.
pub async fn next_slot(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<Option<i64>> {
    let score: Option<f64> = conn.zscore(keys.poll_due(), id).await?;
    Ok(score.map(|s| s as i64))
}

/// A poll's outcome, for the instance's status.
pub enum Outcome<'a> {
    Success { slot_ms: Option<i64> },
    Failure { error: &'a str },
}

/// Records a poll's outcome (time, error, consecutive failures, the slot done).
pub async fn record(
    conn: &mut Conn,
    keys: &Keys,
    id: u64,
    now_iso: &str,
    outcome: Outcome<'_>,
) -> StoreResult<()> {
    let key = keys.poll_status(id);
    match outcome {
        Outcome::Success { slot_ms } => {
            let mut pipe = redis::pipe();
            pipe.atomic()
                .hset(&key, "last_poll", now_iso)
                .hset(&key, "last_success", now_iso)
                .hset(&key, "failures", 0)
                .hdel(&key, "last_error");
            if let Some(slot) = slot_ms {
                pipe.hset(&key, "done_slot", slot);
            }
            let _: () = pipe.query_async(conn).await?;
        }
        Outcome::Failure { error } => {
            let mut pipe = redis::pipe();
            pipe.atomic()
                .hset(&key, "last_poll", now_iso)
                .hset(&key, "last_error", error)
                .hincr(&key, "failures", 1);
            let _: () = pipe.query_async(conn).await?;
        }
    }
    Ok(())
}

/// The status hash (empty when never polled).
pub async fn status(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<HashMap<String, String>> {
    Ok(conn.hgetall(keys.poll_status(id)).await?)
}

/// The last slot polled to completion.
pub async fn done_slot(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<Option<i64>> {
    Ok(conn.hget(keys.poll_status(id), "done_slot").await?)
}

/// Forgets an instance's poll status (on delete).
pub async fn forget(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<()> {
    remove(conn, keys, id).await?;
    let _: () = conn.del(keys.poll_status(id)).await?;
    Ok(())
}
