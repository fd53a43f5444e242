//! Per-instance change-feed state, for elements whose webhooks say *who* changed and Herald
//! must ask *what* (Dropbox's `list_folder/continue`), and later for pollers.
//!
//! ```text
//! {i:<inst>}:sync  cursor   the provider cursor every change before it has been turned into events
//!                  pending  a staged batch (JSON): events built from cursor → to_cursor, with ids
//!                  requested / completed   sync tickets (below)
//! {i:<inst>}:seen  <object key> → <version>   what exists, so CREATED and UPDATED are told apart
//! {i:<inst>}:lock:<name>   a lease so one worker at a time syncs an instance
//! {i:<inst>}:accepted  <change key> → when (ms)   changes of pushed deliveries already notified
//! ```
//!
//! Elements whose deliveries carry the changes themselves (Box, HubSpot, QuickBooks) have no
//! cursor; their batches name the change keys they notify (`accepted`), committed with the batch
//! in the same Lua call, so a provider retry of an accepted change — or a redelivery of the same
//! stored delivery — finds its key and is not notified again. Keys older than
//! [`ACCEPTED_RETENTION_MS`] are pruned on commit (providers stop retrying long before).
//!
//! A sync stages its batch (ids already assigned) before publishing anything, publishes, then
//! commits (cursor, seen changes, pending cleared) in one Lua call on the instance's tag. Stage
//! and commit are fenced: they happen only while the caller still holds the instance's lease
//! (kept alive by a heartbeat, see [`Lease`]) and the cursor is the one the batch was read from,
//! so a worker that lost its lease can never overwrite another's batch or cursor. A worker
//! that finds a staged batch republishes it under the same ids before fetching further, so a
//! crash at any point yields the same notifications again, never different ones.
//!
//! Tickets coalesce bursts: every provider delivery takes a ticket; the worker holding the lease
//! reads `requested`, syncs, and sets `completed` to what it read. A delivery whose ticket is
//! covered by someone else's sync is done without calling the provider again, and is acked only
//! then, so no delivery is acknowledged before a sync that started after it has finished.

use std::collections::HashMap;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::{corrupt, Conn, StoreResult};
use crate::keys::Keys;

/// A batch built but not yet committed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PendingBatch {
    /// The cursor the batch was read from (a reset cursor makes its cursor move void).
    #[serde(default)]
    pub from_cursor: String,
    pub to_cursor: String,
    /// Notifications (event id, notification id, callback body JSON) in order.
    pub notifications: Vec<StagedNotification>,
    /// Seen-map changes to apply on commit.
    pub seen_set: Vec<(String, String)>,
    pub seen_del: Vec<String>,
    pub event_date_ms: i64,
    pub provider_data: String,
    pub trace_parent: Option<String>,
    /// Change keys of pushed deliveries this batch notifies (see the module doc).
    #[serde(default)]
    pub accepted: Vec<String>,
}

/// How long a pushed change's key is remembered: longer than any provider retries
/// (HubSpot 24 h, Box 2 h, QuickBooks days apart), as long as EVENTS keeps notifications.
pub const ACCEPTED_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedNotification {
    pub event_id: u64,
    pub notification_id: u64,
    pub body: String,
    /// Where this notification came from, when a batch joins several provider deliveries
    /// (absent: the batch's own `provider_data`, `trace_parent`, `event_date_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// The provider delivery a notification came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Origin {
    pub provider_data: String,
    pub trace_parent: Option<String>,
    pub event_date_ms: i64,
}

#[derive(Debug, Clone, Default)]
pub struct SyncState {
    pub cursor: Option<String>,
    pub pending: Option<PendingBatch>,
}

pub async fn load(conn: &mut Conn, keys: &Keys, inst: u64) -> StoreResult<SyncState> {
    let key = keys.sync_state(inst);
    let (cursor, pending): (Option<String>, Option<String>) = redis::cmd("HMGET")
        .arg(&key)
        .arg("cursor")
        .arg("pending")
        .query_async(conn)
        .await?;
    let pending = pending
        .map(|p| serde_json::from_str(&p).map_err(|e| corrupt(&key, e)))
        .transpose()?;
    Ok(SyncState { cursor, pending })
}

/// Sets the starting cursor and the initial seen map (at provisioning).
pub async fn init(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
    cursor: &str,
    seen: &[(String, String)],
) -> StoreResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .del(keys.seen(inst))
        .hset(keys.sync_state(inst), "cursor", cursor);
    for chunk in seen.chunks(500) {
        pipe.hset_multiple(keys.seen(inst), chunk);
    }
    let _: () = pipe.query_async(conn).await?;
    Ok(())
}

/// Proof of holding an instance's lease; fenced writes are refused without it.
#[derive(Debug, Clone)]
pub struct Fence {
    pub lock_key: String,
    pub holder: String,
}

/// Why a fenced write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fenced {
    Done,
    /// The lease is not ours any more (it expired and another worker took it).
    LeaseLost,
    /// The cursor is not the one the batch was read from (another worker moved or reset it).
    CursorMoved,
}

fn fenced(code: i64) -> Fenced {
    match code {
        1 => Fenced::Done,
        0 => Fenced::LeaseLost,
        _ => Fenced::CursorMoved,
    }
}

static STAGE: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local cur = redis.call('HGET', KEYS[1], 'cursor') or ''
if cur ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], 'pending', ARGV[2])
return 1
"#,
);

static COMMIT: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local cur = redis.call('HGET', KEYS[1], 'cursor') or ''
redis.call('HDEL', KEYS[1], 'pending')
if cur ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], 'cursor', ARGV[3])
local n = tonumber(ARGV[4])
local accepted = tonumber(ARGV[5])
local i = 8
for _ = 1, accepted do
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[i])
  i = i + 1
end
if accepted > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[7])
end
for _ = 1, n do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  i = i + 1
end
return 1
"#,
);

/// Stages a batch read from `batch.from_cursor`, if we still hold the lease and the cursor is
/// still that one.
pub async fn stage(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
    batch: &PendingBatch,
    fence: &Fence,
) -> StoreResult<Fenced> {
    let key = keys.sync_state(inst);
    let json = serde_json::to_string(batch).map_err(|e| corrupt(&key, e))?;
    let code: i64 = STAGE
        .get()
        .key(&key)
        .key(&fence.lock_key)
        .arg(&fence.holder)
        .arg(json)
        .arg(&batch.from_cursor)
        .invoke_async(conn)
        .await?;
    Ok(fenced(code))
}

/// Moves the cursor past a published batch and applies its seen changes, if we hold the lease;
/// clears the staged batch either way once it is published. If the cursor was reset since the
/// batch was read, only the staged batch is cleared.
pub async fn commit(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
    batch: &PendingBatch,
    fence: &Fence,
) -> StoreResult<Fenced> {
    let now = crate::time::now_ms();
    let mut args: Vec<String> = vec![
        fence.holder.clone(),
        batch.from_cursor.clone(),
        batch.to_cursor.clone(),
        batch.seen_set.len().to_string(),
        batch.accepted.len().to_string(),
        now.to_string(),
        (now - ACCEPTED_RETENTION_MS).to_string(),
    ];
    args.extend(batch.accepted.iter().cloned());
    for (k, v) in &batch.seen_set {
        args.push(k.clone());
        args.push(v.clone());
    }
    args.extend(batch.seen_del.iter().cloned());
    let code: i64 = COMMIT
        .get()
        .key(keys.sync_state(inst))
        .key(&fence.lock_key)
        .key(keys.seen(inst))
        .key(keys.accepted(inst))
        .arg(args)
        .invoke_async(conn)
        .await?;
    Ok(fenced(code))
}

/// Known versions of the given objects.
pub async fn seen(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
    objects: &[String],
) -> StoreResult<HashMap<String, String>> {
    if objects.is_empty() {
        return Ok(HashMap::new());
    }
    let vals: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(keys.seen(inst))
        .arg(objects)
        .query_async(conn)
        .await?;
    Ok(objects
        .iter()
        .cloned()
        .zip(vals)
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

/// Which of these change keys were already notified.
pub async fn accepted(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
    changes: &[String],
) -> StoreResult<std::collections::HashSet<String>> {
    if changes.is_empty() {
        return Ok(Default::default());
    }
    let scores: Vec<Option<f64>> = redis::cmd("ZMSCORE")
        .arg(keys.accepted(inst))
        .arg(changes)
        .query_async(conn)
        .await?;
    Ok(changes
        .iter()
        .zip(scores)
        .filter_map(|(k, s)| s.map(|_| k.clone()))
        .collect())
}

static RELEASE: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#,
);

/// Tries to take a lease; true if taken.
pub async fn try_lock(conn: &mut Conn, key: &str, holder: &str, ttl_ms: u64) -> StoreResult<bool> {
    let ok: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(holder)
        .arg("NX")
        .arg("PX")
        .arg(ttl_ms)
        .query_async(conn)
        .await?;
    Ok(ok.is_some())
}

/// Releases a lease if still ours.
pub async fn unlock(conn: &mut Conn, key: &str, holder: &str) -> StoreResult<()> {
    let _: i64 = RELEASE
        .get()
        .key(key)
        .arg(holder)
        .invoke_async(conn)
        .await?;
    Ok(())
}

/// The whole seen map (to reconcile after a cursor reset).
pub async fn seen_all(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
) -> StoreResult<HashMap<String, String>> {
    Ok(conn.hgetall(keys.seen(inst)).await?)
}

/// Takes a sync ticket: the caller's delivery is covered once `completed` reaches it.
pub async fn take_ticket(conn: &mut Conn, keys: &Keys, inst: u64) -> StoreResult<u64> {
    Ok(conn.hincr(keys.sync_state(inst), "requested", 1u64).await?)
}

/// (requested, completed) tickets.
pub async fn tickets(conn: &mut Conn, keys: &Keys, inst: u64) -> StoreResult<(u64, u64)> {
    let (req, done): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
        .arg(keys.sync_state(inst))
        .arg("requested")
        .arg("completed")
        .query_async(conn)
        .await?;
    Ok((req.unwrap_or(0), done.unwrap_or(0)))
}

/// Marks every ticket up to `upto` covered (called under the feed lease, after a full sync
/// that started once those tickets were taken); returns the tickets requested by now, in the
/// same round trip.
pub async fn complete(conn: &mut Conn, keys: &Keys, inst: u64, upto: u64) -> StoreResult<u64> {
    let key = keys.sync_state(inst);
    let (requested,): (Option<u64>,) = redis::pipe()
        .hset(&key, "completed", upto)
        .ignore()
        .hget(&key, "requested")
        .query_async(conn)
        .await?;
    Ok(requested.unwrap_or(0))
}

static EXTEND: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"#,
);

/// A lease kept alive by a heartbeat while its holder works; released on [`Lease::release`]
/// (or left to expire if the holder dies).
pub struct Lease {
    fence: Fence,
    conn: Conn,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Takes the lease if free.
    pub async fn try_acquire(conn: &Conn, key: &str, ttl_ms: u64) -> StoreResult<Option<Lease>> {
        let mut c = conn.clone();
        let holder = crate::crypto::random_secret();
        if !try_lock(&mut c, key, &holder, ttl_ms).await? {
            return Ok(None);
        }
        let fence = Fence {
            lock_key: key.to_string(),
            holder,
        };
        let hb_fence = fence.clone();
        let mut hb_conn = conn.clone();
        let heartbeat = tokio::spawn(async move {
            let every = std::time::Duration::from_millis((ttl_ms / 3).max(50));
            loop {
                tokio::time::sleep(every).await;
                let kept: redis::RedisResult<i64> = EXTEND
                    .get()
                    .key(&hb_fence.lock_key)
                    .arg(&hb_fence.holder)
                    .arg(ttl_ms)
                    .invoke_async(&mut hb_conn)
                    .await;
                if matches!(kept, Ok(0)) {
                    tracing::warn!(lease = %hb_fence.lock_key, "lease lost");
                    return;
                }
            }
        });
        Ok(Some(Lease {
            fence,
            conn: c,
            heartbeat,
        }))
    }

    /// Waits up to `wait` for the lease.
    pub async fn acquire(
        conn: &Conn,
        key: &str,
        ttl_ms: u64,
        wait: std::time::Duration,
    ) -> StoreResult<Option<Lease>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(l) = Self::try_acquire(conn, key, ttl_ms).await? {
                return Ok(Some(l));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// Stops the heartbeat and frees the lease if it is still ours.
    pub async fn release(mut self) {
        self.heartbeat.abort();
        if let Err(e) = unlock(&mut self.conn, &self.fence.lock_key, &self.fence.holder).await {
            tracing::warn!(lease = %self.fence.lock_key, error = %e, "could not release lease; it expires");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}
