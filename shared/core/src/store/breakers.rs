//! Callback origins (scheme, host, port): attempts in flight and the circuit breaker, shared by
//! every delivery replica.
//!
//! ```text
//! {b:<origin>}:inflight  attempt token → lease expiry   attempts out now (a dead replica's expire)
//! {b:<origin>}:breaker   failures   consecutive failed attempts
//!                        open       1 once failures reached the threshold
//!                        next_probe when the next probe may go (ms)
//! {b:<origin>}:held      event id → hold end            what the open breaker holds back
//! ```
//!
//! Before an attempt, [`admit`] answers: go; go as the probe (the breaker is open, its probe is
//! due and nothing else is out); or hold until a time (the origin is at its in-flight bound, the
//! breaker is open, or the origin is failing and enough attempts are already out that the
//! threshold would be passed). After it, [`report`] releases the slot and counts: a 2xx closes the
//! breaker and hands back the held notifications, to go out at once; a failure that reaches the
//! threshold opens it, and a failed probe schedules the next. Every call touches one hash tag.

use redis::Value;

use super::{Conn, StoreResult};
use crate::keys::Keys;

/// Idle breaker state is forgotten after a day.
const IDLE_MS: i64 = 86_400_000;

static ADMIT: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local out = redis.call('ZCARD', KEYS[2])
if redis.call('HGET', KEYS[1], 'open') == '1' then
  local next_probe = tonumber(redis.call('HGET', KEYS[1], 'next_probe') or '0')
  if now >= next_probe and out == 0 then
    redis.call('HSET', KEYS[1], 'next_probe', now + tonumber(ARGV[5]))
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
    return {1, 0}
  end
  local until_ms = math.max(next_probe, now + 1000)
  redis.call('ZADD', KEYS[3], until_ms, ARGV[7])
  return {2, until_ms}
end
if out >= tonumber(ARGV[6]) then
  return {3, now + 250}
end
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
if failures > 0 and failures + out >= threshold then
  return {4, now + 1000}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
return {0, 0}
"#,
);

static REPORT: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
redis.call('ZREM', KEYS[2], ARGV[1])
local now = tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'failures', 0, 'open', 0)
  local held = redis.call('ZRANGE', KEYS[3], 0, -1)
  redis.call('DEL', KEYS[3])
  return held
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local open = redis.call('HGET', KEYS[1], 'open') == '1'
if open or failures >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'open', 1, 'next_probe', now + tonumber(ARGV[5]))
end
return {}
"#,
);

/// The breaker's rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Consecutive failed attempts that open the breaker.
    pub threshold: u32,
    /// At most one probe this often while open.
    pub probe_every_ms: i64,
    /// Attempts out to one origin at once, across replicas.
    pub max_in_flight: usize,
    /// How long an attempt's slot lasts if its replica never reports (it died).
    pub lease_ms: i64,
}

/// What may happen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// The breaker is open and this is its probe.
    Probe,
    /// The open breaker holds it until then (and hands it back when it closes).
    HeldByBreaker {
        until_ms: i64,
    },
    /// The origin is at its in-flight bound: try at then (or as soon as a slot frees).
    Busy {
        until_ms: i64,
    },
    /// The origin is failing and enough attempts are out that the breaker may open: try at then.
    Failing {
        until_ms: i64,
    },
}

pub async fn admit(
    conn: &mut Conn,
    keys: &Keys,
    origin: &str,
    token: &str,
    event_id: u64,
    now_ms: i64,
    rules: Rules,
) -> StoreResult<Admission> {
    let (code, until_ms): (i64, i64) = ADMIT
        .get()
        .key(keys.breaker(origin))
        .key(keys.breaker_inflight(origin))
        .key(keys.breaker_held(origin))
        .arg(now_ms)
        .arg(token)
        .arg(rules.lease_ms)
        .arg(rules.threshold)
        .arg(rules.probe_every_ms)
        .arg(rules.max_in_flight)
        .arg(event_id)
        .invoke_async(conn)
        .await?;
    Ok(match code {
        0 => Admission::Go,
        1 => Admission::Probe,
        2 => Admission::HeldByBreaker { until_ms },
        3 => Admission::Busy { until_ms },
        _ => Admission::Failing { until_ms },
    })
}

/// Gives back a slot [`admit`] reserved for an attempt that will not be made (the notification
/// turned out not to be this origin's, or not to be due), without counting anything.
pub async fn release(conn: &mut Conn, keys: &Keys, origin: &str, token: &str) -> StoreResult<()> {
    let _: i64 = redis::cmd("ZREM")
        .arg(keys.breaker_inflight(origin))
        .arg(token)
        .query_async(conn)
        .await?;
    Ok(())
}

/// Releases an attempt's slot and counts its outcome; answers the notifications a closing
/// breaker held (to be sent now).
pub async fn report(
    conn: &mut Conn,
    keys: &Keys,
    origin: &str,
    token: &str,
    success: bool,
    now_ms: i64,
    rules: Rules,
) -> StoreResult<Vec<u64>> {
    let held: Value = REPORT
        .get()
        .key(keys.breaker(origin))
        .key(keys.breaker_inflight(origin))
        .key(keys.breaker_held(origin))
        .arg(token)
        .arg(if success { "1" } else { "0" })
        .arg(now_ms)
        .arg(rules.threshold)
        .arg(rules.probe_every_ms)
        .arg(IDLE_MS)
        .invoke_async(conn)
        .await?;
    Ok(redis::from_redis_value::<Vec<u64>>(held).unwrap_or_default())
}
