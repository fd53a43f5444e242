//! The retry schedule: one sorted set, score = due time (epoch ms), member = event id.
//!
//! Any number of delivery replicas pump it. [`claim_due`] atomically takes due members and pushes
//! their score forward by a lease, so a member is handled by one replica at a time; if that
//! replica dies mid-attempt the lease runs out and another takes it. After an attempt the
//! handler either removes the member (settled) or re-adds it with its next due time. Claimed
//! members are also noted in `retries:claimed` until then, so [`wake`] (a closing breaker, the
//! next in an ordered line) moves only members that wait, never one being attempted.

use redis::AsyncCommands;

use super::{Conn, StoreResult};
use crate::keys::Keys;

static CLAIM: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local lease = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], lease, member)
  redis.call('ZADD', KEYS[2], lease, member)
end
return due
"#,
);

static WAKE: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local now = tonumber(ARGV[1])
for i = 2, #ARGV do
  local claimed = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if not claimed or tonumber(claimed) <= now then
    redis.call('ZADD', KEYS[1], now, ARGV[i])
  end
end
return 0
"#,
);

/// Puts a notification in the schedule at `due_ms` (its handler is done with it).
pub async fn schedule(conn: &mut Conn, keys: &Keys, event_id: u64, due_ms: i64) -> StoreResult<()> {
    let _: () = redis::pipe()
        .atomic()
        .zadd(keys.retries(), event_id, due_ms)
        .zrem(keys.retries_claimed(), event_id)
        .query_async(conn)
        .await?;
    Ok(())
}

/// Makes waiting notifications due now; one a handler is attempting right now is left to it.
pub async fn wake(conn: &mut Conn, keys: &Keys, event_ids: &[u64], now_ms: i64) -> StoreResult<()> {
    if event_ids.is_empty() {
        return Ok(());
    }
    let mut call = WAKE.get().key(keys.retries());
    call.key(keys.retries_claimed()).arg(now_ms);
    for id in event_ids {
        call.arg(*id);
    }
    let _: i64 = call.invoke_async(conn).await?;
    Ok(())
}

/// Takes up to `limit` due event ids, leasing each for `lease_ms`.
pub async fn claim_due(
    conn: &mut Conn,
    keys: &Keys,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> StoreResult<Vec<u64>> {
    Ok(CLAIM
        .get()
        .key(keys.retries())
        .key(keys.retries_claimed())
        .arg(now_ms)
        .arg(lease_ms)
        .arg(limit)
        .invoke_async(conn)
        .await?)
}

pub async fn remove(conn: &mut Conn, keys: &Keys, event_id: u64) -> StoreResult<()> {
    let _: () = redis::pipe()
        .zrem(keys.retries(), event_id)
        .zrem(keys.retries_claimed(), event_id)
        .query_async(conn)
        .await?;
    Ok(())
}

/// When the earliest scheduled notification is due, if any.
pub async fn next_due(conn: &mut Conn, keys: &Keys) -> StoreResult<Option<i64>> {
    let first: Vec<(u64, f64)> = conn.zrange_withscores(keys.retries(), 0, 0).await?;
    Ok(first.first().map(|(_, score)| *score as i64))
}

pub async fn depth(conn: &mut Conn, keys: &Keys) -> StoreResult<u64> {
    Ok(conn.zcard(keys.retries()).await?)
}
