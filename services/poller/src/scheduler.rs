//! The scheduler: claims due instances from the poll schedule and queues one poll job per
//! (instance, slot) on the POLLS work queue. Any number of replicas run it: claims are atomic,
//! and a claim whose job never got queued (the replica died) is taken over after its lease.

use std::time::Duration;

use futures::{stream, StreamExt};
use herald_core::bus::{ensure_stream, StreamKind};
use herald_core::model::PollJob;
use herald_core::store::polls;
use herald_core::time::now_ms;
use tokio_util::sync::CancellationToken;

use crate::Shared;

/// How often the schedule is read when nothing is due sooner.
const TICK: Duration = Duration::from_millis(200);
/// Instances claimed at once.
const BATCH: usize = 500;
/// Jobs being queued at once.
const PUBLISH_CONCURRENCY: usize = 64;
/// How long a claim may wait for its job to be queued before another replica takes it.
const CLAIM_LEASE_MS: i64 = 30_000;

pub async fn run(s: Shared, shutdown: CancellationToken) -> anyhow::Result<()> {
    while !shutdown.is_cancelled() {
        match ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Polls).await {
            Ok(_) => break,
            Err(e) => tracing::warn!(error = %e, "POLLS stream not ready; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    tracing::info!("poll scheduler running");
    while !shutdown.is_cancelled() {
        let mut conn = s.brokers.redis.clone();
        let keys = &s.brokers.keys;
        let now = now_ms();
        let mut claimed = match polls::reclaim(&mut conn, keys, now, CLAIM_LEASE_MS, BATCH).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "poll schedule unavailable");
                Vec::new()
            }
        };
        match polls::claim_due(&mut conn, keys, now, CLAIM_LEASE_MS, BATCH).await {
            Ok(c) => claimed.extend(c),
            Err(e) => tracing::warn!(error = %e, "poll schedule unavailable"),
        }
        let full = claimed.len() >= BATCH;
        stream::iter(claimed)
            .for_each_concurrent(PUBLISH_CONCURRENCY, |(id, slot)| {
                let s = s.clone();
                async move {
                    if let Err(e) = queue(&s, id, slot, now).await {
                        // The claim stays leased; it is taken over once the lease runs out.
                        tracing::warn!(instance_id = id, error = %e, "poll job not queued yet");
                    }
                }
            })
            .await;
        if !full {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }
    Ok(())
}

async fn queue(s: &Shared, id: u64, slot: i64, now: i64) -> anyhow::Result<()> {
    let job = PollJob::V1 {
        instance_id: id,
        slot_ms: slot,
        manual: false,
    };
    publish(s, &job, &format!("poll-{id}-{slot}")).await?;
    s.metrics
        .poll_lag
        .observe(&[], ((now - slot).max(0) as f64) / 1000.0);
    let mut conn = s.brokers.redis.clone();
    polls::release(&mut conn, &s.brokers.keys, id, slot).await?;
    Ok(())
}

/// Queues a poll job (stored once per message id).
pub async fn publish(s: &Shared, job: &PollJob, msg_id: &str) -> anyhow::Result<()> {
    let PollJob::V1 { instance_id, .. } = job;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(herald_core::bus::HDR_MSG_ID, msg_id);
    let ack = s
        .brokers
        .js
        .publish_with_headers(
            s.brokers.topo.polls(*instance_id),
            headers,
            serde_json::to_vec(job)?.into(),
        )
        .await?;
    ack.await?;
    Ok(())
}
