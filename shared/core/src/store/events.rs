//! Delivery records: one hash per notification (`{e:<id>}:event`) with its attempts list, and
//! two indexes by event date (per instance, per user) for the events API.
//!
//! Status moves `RECEIVED → DISPATCHED → NOTIFIED`, or through `RETRYING` to `NOTIFIED` or
//! `FAILED`. Every transition is one Lua call on the record's own tag, so a stale attempt can
//! never turn a `NOTIFIED` record back.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::{corrupt, Conn, StoreResult};
use crate::keys::Keys;
use crate::model::{Attempt, EventRecord, EventStatus};

static CREATE: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"#,
);

static ATTEMPT: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('RPUSH', KEYS[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local status = ARGV[2]
local current = redis.call('HGET', KEYS[1], 'status')
if status == '' then
  redis.call('HSET', KEYS[1], 'last_attempt', ARGV[1])
  return current
end
if current == 'NOTIFIED' then status = 'NOTIFIED' end
redis.call('HSET', KEYS[1], 'last_attempt', ARGV[1], 'status', status,
  'next_attempt', ARGV[3], 'failure_reason', ARGV[4])
return status
"#,
);

/// What an attempt leads to.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Notified,
    /// An extra attempt that failed: the record keeps its status and schedule.
    Unchanged,
    Retrying {
        next_ms: i64,
    },
    Failed {
        reason: String,
    },
}

/// Writes a new record (no-op if it exists), kept for `retention`, and indexes it (dropping
/// index entries older than `retention`). Returns whether it was new.
pub async fn create(
    conn: &mut Conn,
    keys: &Keys,
    rec: &EventRecord,
    retention: std::time::Duration,
) -> StoreResult<bool> {
    let retention_ms = retention.as_millis() as i64;
    let mut args: Vec<String> = vec![retention_ms.to_string()];
    let mut field = |k: &str, v: String| {
        args.push(k.to_string());
        args.push(v);
    };
    field("id", rec.id.to_string());
    field("notification_id", rec.notification_id.to_string());
    field("instance_id", rec.instance_id.to_string());
    field("user_id", rec.user_id.to_string());
    field("element", rec.element_key.clone());
    field("event_date", rec.event_date_ms.to_string());
    field("status", rec.status.as_str().to_string());
    field("attempts", rec.attempts.to_string());
    field("body", rec.body.clone());
    field("provider_data", rec.provider_data.clone());
    field("trace_parent", rec.trace_parent.clone().unwrap_or_default());
    field("callback_url", rec.callback_url.clone().unwrap_or_default());
    let created: i64 = CREATE
        .get()
        .key(keys.event(rec.id))
        .arg(args)
        .invoke_async(conn)
        .await?;
    let expired = crate::time::now_ms() - retention_ms;
    let _: () = redis::pipe()
        .zadd(
            keys.instance_events(rec.instance_id),
            rec.id,
            rec.event_date_ms,
        )
        .ignore()
        .zrembyscore(keys.instance_events(rec.instance_id), "-inf", expired)
        .ignore()
        .zadd(keys.user_events(rec.user_id), rec.id, rec.event_date_ms)
        .ignore()
        .zrembyscore(keys.user_events(rec.user_id), "-inf", expired)
        .ignore()
        .query_async(conn)
        .await?;
    Ok(created == 1)
}

pub async fn get(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<Option<EventRecord>> {
    let key = keys.event(id);
    let map: HashMap<String, String> = conn.hgetall(&key).await?;
    if map.is_empty() {
        return Ok(None);
    }
    parse(&key, map).map(Some)
}

fn parse(key: &str, m: HashMap<String, String>) -> StoreResult<EventRecord> {
    let num = |f: &str| -> StoreResult<i64> {
        m.get(f)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt(key, format!("field {f}")))
    };
    let opt = |f: &str| m.get(f).filter(|v| !v.is_empty()).cloned();
    let status = m
        .get("status")
        .and_then(|s| EventStatus::parse(s))
        .ok_or_else(|| corrupt(key, "status"))?;
    Ok(EventRecord {
        id: num("id")? as u64,
        notification_id: num("notification_id")? as u64,
        instance_id: num("instance_id")? as u64,
        user_id: num("user_id")? as u64,
        element_key: opt("element").unwrap_or_default(),
        event_date_ms: num("event_date")?,
        status,
        attempts: num("attempts").unwrap_or(0) as u32,
        last_attempt: opt("last_attempt").and_then(|a| serde_json::from_str(&a).ok()),
        next_attempt_ms: opt("next_attempt").and_then(|v| v.parse().ok()),
        failure_reason: opt("failure_reason"),
        body: opt("body").unwrap_or_default(),
        provider_data: opt("provider_data").unwrap_or_default(),
        trace_parent: opt("trace_parent"),
        callback_url: opt("callback_url"),
    })
}

static DISPATCH_GET: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return false end
if s == 'RECEIVED' then redis.call('HSET', KEYS[1], 'status', 'DISPATCHED') end
return {s, redis.call('HGETALL', KEYS[1])}
"#,
);

/// Marks a `RECEIVED` record `DISPATCHED` and answers the status it had with the record (as it
/// is after the mark), in one round trip: what the delivery consumer needs first.
pub async fn dispatch_get(
    conn: &mut Conn,
    keys: &Keys,
    id: u64,
) -> StoreResult<Option<(EventStatus, EventRecord)>> {
    let key = keys.event(id);
    let found: Option<(String, HashMap<String, String>)> =
        DISPATCH_GET.get().key(&key).invoke_async(conn).await?;
    let Some((prev, fields)) = found else {
        return Ok(None);
    };
    let prev = EventStatus::parse(&prev).ok_or_else(|| corrupt(&key, "status"))?;
    Ok(Some((prev, parse(&key, fields)?)))
}

/// Appends an attempt and moves the status; returns the resulting status (None: no record).
pub async fn record_attempt(
    conn: &mut Conn,
    keys: &Keys,
    id: u64,
    attempt: &Attempt,
    outcome: &AttemptOutcome,
) -> StoreResult<Option<EventStatus>> {
    let json = serde_json::to_string(attempt).map_err(|e| corrupt(&keys.event(id), e))?;
    let (status, next, reason) = match outcome {
        AttemptOutcome::Notified => (EventStatus::Notified.as_str(), String::new(), String::new()),
        AttemptOutcome::Unchanged => ("", String::new(), String::new()),
        AttemptOutcome::Retrying { next_ms } => (
            EventStatus::Retrying.as_str(),
            next_ms.to_string(),
            String::new(),
        ),
        AttemptOutcome::Failed { reason } => {
            (EventStatus::Failed.as_str(), String::new(), reason.clone())
        }
    };
    let out: Option<String> = ATTEMPT
        .get()
        .key(keys.event(id))
        .key(keys.event_attempts(id))
        .arg(json)
        .arg(status)
        .arg(next)
        .arg(reason)
        .invoke_async(conn)
        .await?;
    Ok(out.and_then(|s| EventStatus::parse(&s)))
}

pub async fn attempts(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<Vec<Attempt>> {
    let raw: Vec<String> = conn.lrange(keys.event_attempts(id), 0, -1).await?;
    Ok(raw
        .iter()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect())
}

/// Which records a listing wants.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<EventStatus>,
    /// Inclusive lower bound on the event date (ms).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on the event date (ms).
    pub to_ms: Option<i64>,
    pub page_size: usize,
    /// Offset into the date range, from a previous page's token.
    pub offset: usize,
}

/// One page of records, oldest first, and the offset of the next page if more remain.
pub async fn list(
    conn: &mut Conn,
    keys: &Keys,
    index_key: &str,
    filter: &ListFilter,
) -> StoreResult<(Vec<EventRecord>, Option<usize>)> {
    let min = filter.from_ms.map_or("-inf".to_string(), |v| v.to_string());
    let max = filter.to_ms.map_or("+inf".to_string(), |v| format!("({v}"));
    let mut out = Vec::new();
    let mut offset = filter.offset;
    const CHUNK: usize = 200;
    loop {
        let ids: Vec<u64> = conn
            .zrangebyscore_limit(index_key, &min, &max, offset as isize, CHUNK as isize)
            .await?;
        if ids.is_empty() {
            return Ok((out, None));
        }
        for id in &ids {
            offset += 1;
            if let Some(rec) = get(conn, keys, *id).await? {
                if filter.status.is_none_or(|s| s == rec.status) {
                    out.push(rec);
                    if out.len() == filter.page_size {
                        let more: Vec<u64> = conn
                            .zrangebyscore_limit(index_key, &min, &max, offset as isize, 1)
                            .await?;
                        return Ok((out, (!more.is_empty()).then_some(offset)));
                    }
                }
            }
        }
        if ids.len() < CHUNK {
            return Ok((out, None));
        }
    }
}

static HOLD: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local s = redis.call('HGET', KEYS[1], 'status')
if not s or s == 'NOTIFIED' or s == 'FAILED' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'RETRYING', 'next_attempt', ARGV[1])
return 1
"#,
);

/// Holds an unsettled record for a moment without an attempt (its origin is busy); the caller
/// has put it in the retry schedule first.
pub async fn hold(conn: &mut Conn, keys: &Keys, id: u64, next_ms: i64) -> StoreResult<()> {
    let _: i64 = HOLD
        .get()
        .key(keys.event(id))
        .arg(next_ms)
        .invoke_async(conn)
        .await?;
    Ok(())
}
