//! Per-instance change-feed state, for elements whose webhooks say *who* changed and Herald
//! must ask *what* (Dropbox's `list_folder/continue`), and later for pollers.
//!
//! ```text
//! {i:<inst>}:sync  cursor   the provider cursor every change before it has been turned into events
//!                  pending  a staged batch (JSON): events built from cursor → to_cursor, with ids
//!                  requested / completed   sync tickets (below)
//! {i:<inst>}:seen  <object key> → <version>   what exists, so CREATED and UPDATED are told apart
//! {i:<inst>}:lock:<name>   a lease so one worker at a time syncs an instance
//! ```
//!
//! A sync stages its batch (ids already assigned) before publishing anything, publishes, then
//! commits (cursor, seen changes, pending cleared) in one MULTI on the instance's tag. A worker
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingBatch {
    pub to_cursor: String,
    /// Notifications (event id, notification id, callback body JSON) in order.
    pub notifications: Vec<StagedNotification>,
    /// Seen-map changes to apply on commit.
    pub seen_set: Vec<(String, String)>,
    pub seen_del: Vec<String>,
    pub event_date_ms: i64,
    pub provider_data: String,
    pub trace_parent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedNotification {
    pub event_id: u64,
    pub notification_id: u64,
    pub body: String,
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

pub async fn stage(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
    batch: &PendingBatch,
) -> StoreResult<()> {
    let key = keys.sync_state(inst);
    let json = serde_json::to_string(batch).map_err(|e| corrupt(&key, e))?;
    let _: () = conn.hset(key, "pending", json).await?;
    Ok(())
}

/// Moves the cursor past a published batch and applies its seen changes.
pub async fn commit(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
    batch: &PendingBatch,
) -> StoreResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic()
        .hset(keys.sync_state(inst), "cursor", &batch.to_cursor)
        .hdel(keys.sync_state(inst), "pending");
    for chunk in batch.seen_set.chunks(500) {
        pipe.hset_multiple(keys.seen(inst), chunk);
    }
    if !batch.seen_del.is_empty() {
        pipe.hdel(keys.seen(inst), &batch.seen_del);
    }
    let _: () = pipe.query_async(conn).await?;
    Ok(())
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

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

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
    let _: i64 = redis::Script::new(RELEASE)
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
/// that started once those tickets were taken).
pub async fn complete(conn: &mut Conn, keys: &Keys, inst: u64, upto: u64) -> StoreResult<()> {
    let _: () = conn.hset(keys.sync_state(inst), "completed", upto).await?;
    Ok(())
}
