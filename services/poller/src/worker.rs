//! Poll workers: the `poller` consumer of the POLLS work queue, shared by every replica.
//!
//! A job is acked once its poll is done (or given up for this slot). While a worker polls an
//! instance it holds the instance's `poll` lease, so two workers never poll one instance at
//! once; a scheduled job for a slot already done is skipped, so a repeated job polls nothing
//! twice. A worker killed mid-poll leaves its job unacked: JetStream redelivers it after
//! `ack_wait`, and the outbox makes the repeat produce the same notifications, not new ones.
//!
//! Provider trouble: 401 → one token refresh and a retry; 429 → wait `Retry-After` if the slot
//! allows, else push the instance's next slot back by it; 5xx and timeouts → retry with backoff
//! within the slot's budget, then give up until the next slot (the cursor does not move). Every
//! outcome is recorded on the instance (last poll, last error, consecutive failures).

use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};
use herald_core::bus::{consumers, ensure_consumer, ensure_stream, StreamKind};
use herald_core::consume;
use herald_core::keys::InstanceLease;
use herald_core::model::{InstanceRecord, PollJob};
use herald_core::store::polls::{self, Outcome};
use herald_core::store::{instances, sync};
use herald_core::time::{now_ms, now_rfc3339};
use herald_elements::ElementError;
use tokio_util::sync::CancellationToken;

use crate::poll::{poll_once, PollError};
use crate::Shared;

pub async fn run(s: Shared, shutdown: CancellationToken, grace: Duration) -> anyhow::Result<()> {
    let consumer = consume::until_ready("poll consumer", &shutdown, || async {
        ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Events).await?;
        let stream = ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Polls).await?;
        let config = s.brokers.topo.consumer_config(
            consumers::POLLER,
            s.ack_wait,
            (s.concurrency * 4) as i64,
        );
        ensure_consumer(&stream, config).await
    })
    .await;
    let Some(consumer) = consumer else {
        return Ok(());
    };
    let concurrency = s.concurrency;
    consume::run(
        "poll workers",
        consumer,
        concurrency,
        shutdown,
        grace,
        move |msg| {
            let s = s.clone();
            async move { handle(&s, msg).await }
        },
    )
    .await;
    Ok(())
}

enum Done {
    Ack,
    Retry(Duration),
}

async fn handle(s: &Shared, msg: Message) {
    let done = match serde_json::from_slice::<PollJob>(&msg.payload) {
        Ok(PollJob::V1 {
            instance_id,
            slot_ms,
            manual,
        }) => run_job(s, instance_id, slot_ms, manual).await,
        Err(e) => {
            tracing::error!(error = %e, "unreadable poll job; dropping");
            Done::Ack
        }
    };
    let ack = match done {
        Done::Ack => msg.ack().await,
        Done::Retry(d) => msg.ack_with(AckKind::Nak(Some(d))).await,
    };
    if let Err(e) = ack {
        tracing::warn!(error = %e, "poll job ack failed; it will be redelivered");
    }
}

async fn run_job(s: &Shared, id: u64, slot: i64, manual: bool) -> Done {
    let keys = &s.brokers.keys;
    let lock = keys.lock(id, InstanceLease::Poll);
    // Kept alive by a heartbeat while the poll runs; a dead worker's lease runs out.
    let lease_ms = (s.provider_timeout * 2).as_millis() as u64;
    let lease = match sync::Lease::try_acquire(&s.brokers.redis, &lock, lease_ms).await {
        Ok(Some(l)) => l,
        Ok(None) => return Done::Retry(Duration::from_secs(1)),
        Err(e) => {
            tracing::warn!(instance_id = id, error = %e, "poll lease unavailable");
            return Done::Retry(Duration::from_secs(2));
        }
    };
    // A poll starts the trace of the events it finds.
    let span = herald_core::exported_span!(
        "poll",
        otel.name = "poll",
        herald.stage = "poll",
        herald.instance_id = id,
        herald.manual = manual,
    );
    let done =
        tracing::Instrument::instrument(locked(s, id, slot, manual, lease.fence()), span).await;
    lease.release().await;
    done
}

async fn locked(s: &Shared, id: u64, slot: i64, manual: bool, fence: &sync::Fence) -> Done {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    let loaded = async {
        let done = polls::done_slot(&mut conn, keys, id).await?;
        let inst = instances::get(&mut conn, keys, id).await?;
        Ok::<_, herald_core::store::StoreError>((done, inst))
    }
    .await;
    let (done_slot, inst) = match loaded {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(instance_id = id, error = %e, "poll state unavailable");
            return Done::Retry(Duration::from_secs(2));
        }
    };
    if !manual && done_slot.is_some_and(|d| d >= slot) {
        return Done::Ack;
    }
    let Some(inst) = inst else {
        let _ = polls::remove(&mut conn, keys, id).await;
        return Done::Ack;
    };
    if !inst.accepts_events() {
        return Done::Ack;
    }
    let outcome = poll_with_retries(s, inst, slot, fence).await;
    let element = outcome.0;
    let (label, record) = match &outcome.1 {
        Ok(_) => (
            "success",
            Outcome::Success {
                slot_ms: (!manual).then_some(slot),
            },
        ),
        Err(e) => ("error", Outcome::Failure { error: e }),
    };
    s.metrics.poller_runs.inc(&[&element, label]);
    if let Err(e) = polls::record(&mut conn, keys, id, &now_rfc3339(), record).await {
        tracing::warn!(instance_id = id, error = %e, "could not record poll outcome");
    }
    Done::Ack
}

/// Polls, retrying within the slot's budget; returns the element and the outcome.
async fn poll_with_retries(
    s: &Shared,
    mut inst: InstanceRecord,
    slot: i64,
    fence: &sync::Fence,
) -> (String, Result<usize, String>) {
    let element = inst.element_key.clone();
    let deadline = tokio::time::Instant::now() + s.retry_budget;
    let mut backoff = Duration::from_millis(500);
    loop {
        let err = match poll_once(s, &inst, fence).await {
            Ok(n) => return (element, Ok(n)),
            Err(e) => e,
        };
        let wait = match &err {
            PollError::Provider(ElementError::RateLimited { retry_after_secs }) => {
                let ra = Duration::from_secs(retry_after_secs.unwrap_or(60).min(3600));
                if tokio::time::Instant::now() + ra > deadline {
                    // Slow this instance down instead of hammering it.
                    let mut conn = s.brokers.redis.clone();
                    let until = now_ms() + ra.as_millis() as i64;
                    let _ = polls::postpone(&mut conn, &s.brokers.keys, inst.id, until).await;
                    None
                } else {
                    Some(ra)
                }
            }
            PollError::Provider(e) if e.is_transient() => Some(backoff),
            PollError::Token(e) if e.is_transient() => Some(backoff),
            // Another worker owns this instance now: leave it to them.
            PollError::Outbox(herald_core::outbox::OutboxError::Fenced(_)) => None,
            PollError::Store(_) | PollError::Outbox(_) => Some(backoff),
            _ => None,
        };
        match wait {
            Some(w) if tokio::time::Instant::now() + w < deadline => {
                tracing::info!(instance_id = inst.id, slot, error = %err, "poll failed; retrying within the slot");
                tokio::time::sleep(w).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                // A refresh meanwhile changed the record: retry with the current one.
                let mut conn = s.brokers.redis.clone();
                if let Ok(Some(fresh)) = instances::get(&mut conn, &s.brokers.keys, inst.id).await {
                    inst = fresh;
                }
            }
            _ => {
                tracing::warn!(instance_id = inst.id, slot, error = %err, "poll failed; giving up until the next slot");
                return (element, Err(err.to_string()));
            }
        }
    }
}
