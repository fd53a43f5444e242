//! One instance's share of a delivery that carries its changes (Box, HubSpot, QuickBooks).
//!
//! Under the instance's feed lease: republish a staged batch if a previous run died after
//! staging; normalize the delivery's events for this instance; drop those whose change key was
//! already notified (a provider retry, a redelivery of the same stored delivery, a repeat within
//! the batch); stage, publish and commit the rest with their keys (`store::sync`). A crash
//! anywhere repeats the same notifications with the same ids, never different ones.

use std::collections::HashSet;
use std::time::Duration;

use herald_core::model::InstanceRecord;
use herald_core::outbox;
use herald_core::store::{instances, sync};
use herald_core::time::now_rfc3339;
use herald_elements::changes::WEBHOOK_BATCH;
use herald_elements::{webhooks, ElementKey};

use crate::feed_sync::{Delivery, SyncError};
use crate::Shared;

/// How long one instance's share may hold its lease (renewed while it works).
const LEASE_MS: u64 = 30_000;
/// How long to wait for another worker holding the instance.
const LEASE_WAIT: Duration = Duration::from_secs(30);

/// Notifies the instance of the delivery's changes it has not been notified of; returns how many
/// events went out.
pub async fn deliver(
    s: &Shared,
    element: ElementKey,
    inst: &InstanceRecord,
    delivery: &Delivery<'_>,
) -> Result<usize, SyncError> {
    // This replica's workers queue here; the lease then settles it with other replicas.
    let _local = tokio::time::timeout(LEASE_WAIT, s.local_locks.lock(inst.id))
        .await
        .map_err(|_| SyncError::Busy(inst.id))?;
    let lock = s.brokers.keys.lock(inst.id, "feed");
    let lease = sync::Lease::acquire(&s.brokers.redis, &lock, LEASE_MS, LEASE_WAIT)
        .await?
        .ok_or(SyncError::Busy(inst.id))?;
    let result = locked(s, element, inst.id, delivery, lease.fence()).await;
    lease.release().await;
    result
}

async fn locked(
    s: &Shared,
    element: ElementKey,
    id: u64,
    delivery: &Delivery<'_>,
    fence: &sync::Fence,
) -> Result<usize, SyncError> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    // Re-read: the instance may have changed (or gone) while we waited for the lease.
    let Some(inst) = instances::get(&mut conn, keys, id).await? else {
        return Ok(0);
    };
    let cursor = outbox::resume(&s.brokers, &inst, fence)
        .await?
        .unwrap_or_default();
    // Disabled, or events off: what arrives meanwhile is dropped, not queued.
    if !inst.accepts_events() {
        return Ok(0);
    }
    let mut pushed = webhooks::events(element, delivery.body.as_bytes(), &inst, &now_rfc3339());
    // A change without a key of its own is identified by the stored delivery it came in.
    for (n, p) in pushed.iter_mut().enumerate() {
        if p.key.is_none() {
            p.key = Some(format!("delivery:{}:{n}", delivery.id));
        }
    }
    let change_keys: Vec<String> = pushed.iter().filter_map(|p| p.key.clone()).collect();
    let mut known: HashSet<String> = sync::accepted(&mut conn, keys, id, &change_keys).await?;
    let mut events = Vec::new();
    let mut accepted = Vec::new();
    for p in pushed {
        let Some(k) = p.key else { continue };
        if known.insert(k.clone()) {
            events.push(p.event);
            accepted.push(k);
        }
    }
    let produced = events.len();
    if produced == 0 {
        return Ok(0);
    }
    s.metrics
        .events_normalized
        .add(&[element.as_str()], produced as f64);
    let found = outbox::Found {
        events,
        from_cursor: cursor.clone(),
        to_cursor: cursor,
        event_date_ms: delivery.received_at_ms,
        seen_set: Vec::new(),
        seen_del: Vec::new(),
        provider_data: delivery.body.to_string(),
        trace_parent: delivery.trace_parent.map(str::to_string),
        accepted,
    };
    let batch = outbox::build(&s.brokers, &inst, found, WEBHOOK_BATCH).await?;
    outbox::deliver(&s.brokers, &inst, &batch, fence).await?;
    Ok(produced)
}
