//! One instance's share of a delivery that carries its changes (Box, HubSpot, QuickBooks).
//!
//! Deliveries for one instance waiting in this replica are taken together (`pushed_queue`), and
//! for each round, under the instance's feed lease: republish a staged batch if a previous run
//! died after staging; normalize the deliveries' events for this instance; drop those whose
//! change key was already notified (a provider retry, a redelivery of the same stored delivery,
//! a repeat within the round); stage, publish and commit the rest with their keys
//! (`store::sync`), each delivery's notifications carrying its own raw body. A crash anywhere
//! repeats the same notifications with the same ids, never different ones.

use std::collections::HashSet;
use std::time::Duration;

use herald_core::keys::InstanceLease;
use herald_core::model::InstanceRecord;
use herald_core::outbox;
use herald_core::store::{instances, sync};
use herald_core::time::now_rfc3339;
use herald_elements::changes::WEBHOOK_BATCH;
use herald_elements::{webhooks, ElementKey};
use tokio::sync::oneshot;

use crate::feed_sync::{Delivery, SyncError};
use crate::pushed_queue::{Answer, Job};
use crate::Shared;

/// The instance lease's time to live (renewed while the round works): how long a killed holder
/// keeps the instance from the others.
const LEASE_MS: u64 = 10_000;
/// How long to wait for another replica holding the instance.
const LEASE_WAIT: Duration = Duration::from_secs(30);
/// The most provider deliveries one round takes.
const ROUND_MAX: usize = 32;

/// Notifies the instance of the delivery's changes it has not been notified of; returns how many
/// events went out. Deliveries for one instance that arrive while a round runs are handled
/// together by the next one.
pub async fn deliver(
    s: &Shared,
    element: ElementKey,
    inst: &InstanceRecord,
    delivery: &Delivery<'_>,
) -> Result<usize, SyncError> {
    let (answer, rx) = oneshot::channel();
    let job = Job {
        element,
        id: delivery.id.to_string(),
        body: delivery.body.to_string(),
        received_at_ms: delivery.received_at_ms,
        trace_parent: delivery.trace_parent.map(str::to_string),
        answer,
    };
    if s.pushed.push(inst.id, job) {
        // The rounds run on their own task: no worker waits longer than for its own answer.
        tokio::spawn(run(s.clone(), inst.id));
    }
    match rx.await {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(cause)) => Err(SyncError::Round {
            instance: inst.id,
            cause,
        }),
        // The runner was stopped (shutdown) before this one's round: retried.
        Err(_) => Err(SyncError::Busy(inst.id)),
    }
}

/// Gives the instance up if the runner stops before its queue is empty.
struct Runner<'a> {
    s: &'a Shared,
    id: u64,
    finished: bool,
}

impl Drop for Runner<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.s.pushed.abandon(self.id);
        }
    }
}

/// Runs rounds for the instance until no delivery waits.
async fn run(s: Shared, id: u64) {
    let mut runner = Runner {
        s: &s,
        id,
        finished: false,
    };
    while let Some(jobs) = s.pushed.take(id, ROUND_MAX) {
        let answers: Vec<Answer> = match round(&s, id, &jobs).await {
            Ok(counts) => counts.into_iter().map(Ok).collect(),
            Err(e) => {
                let cause = std::sync::Arc::new(e);
                jobs.iter().map(|_| Err(cause.clone())).collect()
            }
        };
        for (job, answer) in jobs.into_iter().zip(answers) {
            let _ = job.answer.send(answer);
        }
    }
    runner.finished = true;
}

async fn round(s: &Shared, id: u64, jobs: &[Job]) -> Result<Vec<usize>, SyncError> {
    let lock = s.brokers.keys.lock(id, InstanceLease::Feed);
    let lease = sync::Lease::acquire(&s.brokers.redis, &lock, LEASE_MS, LEASE_WAIT)
        .await?
        .ok_or(SyncError::Busy(id))?;
    let result = locked(s, id, jobs, lease.fence()).await;
    lease.release().await;
    result
}

async fn locked(
    s: &Shared,
    id: u64,
    jobs: &[Job],
    fence: &sync::Fence,
) -> Result<Vec<usize>, SyncError> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    // Re-read: the instance may have changed (or gone) while we waited for the lease.
    let Some(inst) = instances::get(&mut conn, keys, id).await? else {
        return Ok(vec![0; jobs.len()]);
    };
    let cursor = outbox::resume(&s.brokers, &inst, fence)
        .await?
        .unwrap_or_default();
    // Disabled, or events off: what arrives meanwhile is dropped, not queued.
    if !inst.accepts_events() {
        return Ok(vec![0; jobs.len()]);
    }
    let now = now_rfc3339();
    let pushed: Vec<_> = jobs
        .iter()
        .map(|job| {
            let mut pushed = webhooks::events(job.element, job.body.as_bytes(), &inst, &now);
            // A change without a key of its own is identified by the stored delivery it came in.
            for (n, p) in pushed.iter_mut().enumerate() {
                if p.key.is_none() {
                    p.key = Some(format!("delivery:{}:{n}", job.id));
                }
            }
            pushed
        })
        .collect();
    let change_keys: Vec<String> = pushed
        .iter()
        .flatten()
        .filter_map(|p| p.key.clone())
        .collect();
    let mut known: HashSet<String> = sync::accepted(&mut conn, keys, id, &change_keys).await?;
    let mut counts = Vec::with_capacity(jobs.len());
    let mut found = Vec::new();
    for (job, pushed) in jobs.iter().zip(pushed) {
        let mut events = Vec::new();
        let mut accepted = Vec::new();
        for p in pushed {
            let Some(k) = p.key else { continue };
            if known.insert(k.clone()) {
                events.push(p.event);
                accepted.push(k);
            }
        }
        counts.push(events.len());
        if events.is_empty() {
            continue;
        }
        s.metrics
            .events_normalized
            .add(&[job.element.as_str()], events.len() as f64);
        found.push(outbox::Found {
            events,
            from_cursor: cursor.clone(),
            to_cursor: cursor.clone(),
            event_date_ms: job.received_at_ms,
            seen_set: Vec::new(),
            seen_del: Vec::new(),
            provider_data: job.body.clone(),
            trace_parent: job.trace_parent.clone(),
            accepted,
        });
    }
    if !found.is_empty() {
        let batch = outbox::build_many(&s.brokers, &inst, found, WEBHOOK_BATCH).await?;
        outbox::deliver(&s.brokers, &inst, &batch, fence).await?;
    }
    Ok(counts)
}
