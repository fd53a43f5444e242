//! The instance's delivery options, enforced across delivery replicas.
//!
//! ```text
//! {i:<inst>}:pending  event id (score = id)   unsettled notifications of an ordered instance
//! {i:<inst>}:rate     tat                     the rate limit's next free send time (ms)
//! {i:<inst>}:slots    event id → send time    times reserved by notifications held for the limit
//! ```
//!
//! Ordered (`event.notification.ordered`): a notification goes only when it is the lowest
//! unsettled one of its instance; when that one settles (`NOTIFIED` or `FAILED`) the next is
//! woken at once ([`settled`]). Rate limit (`event.notification.rate.limit`, n per second): each
//! send takes the next slot of a 1/n s grid (GCRA); one that finds its slot in the future keeps
//! it (reserved under its id) and waits until then. Waiting is never an attempt.

use super::{Conn, StoreResult};
use crate::keys::Keys;
use crate::model::InstanceRecord;

/// When a held notification checks again though nothing woke it (a lost wake-up).
const RECHECK_MS: i64 = 30_000;

static ADMIT: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local now = tonumber(ARGV[1])
local id = ARGV[2]
if ARGV[3] == '1' then
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head and head ~= id then
    return now + tonumber(ARGV[5])
  end
end
local interval = tonumber(ARGV[4])
if interval > 0 then
  local slot = tonumber(redis.call('HGET', KEYS[3], id) or '-1')
  if slot >= 0 then
    if now + 50 >= slot then
      redis.call('HDEL', KEYS[3], id)
      return 0
    end
    return slot
  end
  local tat = tonumber(redis.call('HGET', KEYS[2], 'tat') or '0')
  if tat < now then tat = now end
  redis.call('HSET', KEYS[2], 'tat', tat + interval)
  redis.call('PEXPIRE', KEYS[2], 86400000)
  if tat > now then
    redis.call('HSET', KEYS[3], id, tat)
    return tat
  end
end
return 0
"#,
);

/// Whether the instance paces its deliveries at all (else nothing here is called).
pub fn paced(inst: &InstanceRecord) -> bool {
    inst.ordered() || inst.rate_limit().is_some()
}

/// `None`: send now; `Some(t)`: hold until `t` (ms).
pub async fn admit(
    conn: &mut Conn,
    keys: &Keys,
    inst: &InstanceRecord,
    event_id: u64,
    now_ms: i64,
) -> StoreResult<Option<i64>> {
    let interval = inst
        .rate_limit()
        .map(|n| (1000 / n.max(1)).max(1))
        .unwrap_or(0);
    let until: i64 = ADMIT
        .get()
        .key(keys.pending(inst.id))
        .key(keys.rate(inst.id))
        .key(keys.rate_slots(inst.id))
        .arg(now_ms)
        .arg(event_id)
        .arg(if inst.ordered() { "1" } else { "0" })
        .arg(interval)
        .arg(RECHECK_MS)
        .invoke_async(conn)
        .await?;
    Ok((until > 0).then_some(until))
}

/// Notes new notifications of an ordered instance (before they are published).
pub async fn pending(conn: &mut Conn, keys: &Keys, inst: u64, ids: &[u64]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut cmd = redis::cmd("ZADD");
    cmd.arg(keys.pending(inst));
    for id in ids {
        cmd.arg(*id).arg(*id);
    }
    let _: i64 = cmd.query_async(conn).await?;
    Ok(())
}

/// A notification settled: it leaves the pending set; answers the next one to wake.
pub async fn settled(conn: &mut Conn, keys: &Keys, inst: u64, id: u64) -> StoreResult<Option<u64>> {
    let (_, next): (i64, Vec<u64>) = redis::pipe()
        .atomic()
        .zrem(keys.pending(inst), id)
        .zrange(keys.pending(inst), 0, 0)
        .query_async(conn)
        .await?;
    Ok(next.first().copied())
}
