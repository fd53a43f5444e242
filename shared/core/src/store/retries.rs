//! The retry schedule: one sorted set, score = due time (epoch ms), member = event id.
//!
//! Any number of delivery replicas pump it. [`claim_due`] atomically takes due members and pushes
//! their score forward by a lease, so a member is handled by one replica at a time; if that
//! replica dies mid-attempt the lease runs out and another takes it. After an attempt the
//! handler either removes the member (settled) or re-adds it with its next due time.

use redis::AsyncCommands;

use super::{Conn, StoreResult};
use crate::keys::Keys;

static CLAIM: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), member)
end
return due
"#,
);

pub async fn schedule(conn: &mut Conn, keys: &Keys, event_id: u64, due_ms: i64) -> StoreResult<()> {
    let _: () = conn.zadd(keys.retries(), event_id, due_ms).await?;
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
        .arg(now_ms)
        .arg(lease_ms)
        .arg(limit)
        .invoke_async(conn)
        .await?)
}

pub async fn remove(conn: &mut Conn, keys: &Keys, event_id: u64) -> StoreResult<()> {
    let _: () = conn.zrem(keys.retries(), event_id).await?;
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
