//! The retry pump: claims due notifications from the retry schedule (leased, so any number of
//! replicas can pump) and attempts them again.

use std::sync::Arc;
use std::time::Duration;

use herald_core::model::EventStatus;
use herald_core::store::retries;
use herald_core::time::now_ms;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::deliver::deliver;
use crate::Shared;

/// How often the schedule is checked when nothing is due sooner (another replica, or provisioning,
/// may schedule something meanwhile).
const TICK: Duration = Duration::from_millis(200);
/// The shortest sleep, so a burst of near-due items is taken in one claim.
const MIN_SLEEP: Duration = Duration::from_millis(5);
/// How many due notifications one claim takes.
const CLAIM: usize = 100;

pub async fn run(s: Shared, shutdown: CancellationToken, grace: Duration) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(s.concurrency));
    // A claim lasts longer than an attempt; if this replica dies, another takes over after it.
    let lease_ms = (s.timeout + Duration::from_secs(30)).as_millis() as i64;
    while !shutdown.is_cancelled() {
        let mut conn = s.brokers.redis.clone();
        let claimed =
            retries::claim_due(&mut conn, &s.brokers.keys, now_ms(), lease_ms, CLAIM).await;
        let ids = match claimed {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "retry schedule unavailable");
                Vec::new()
            }
        };
        if let Ok(depth) = retries::depth(&mut conn, &s.brokers.keys).await {
            s.metrics.retry_queue_depth.set(&[], depth as f64);
        }
        let busy = ids.len() == CLAIM;
        for id in ids {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            let s = s.clone();
            tracker.spawn(async move {
                let _permit = permit;
                if let Err(e) = deliver(&s, id, Some(EventStatus::Retrying)).await {
                    tracing::warn!(event_id = id, error = %e, "retry bookkeeping failed; lease will expire");
                }
            });
        }
        if !busy {
            // Sleep until the next due item (a rate-limit slot, a breaker's probe, a retry), at
            // most a tick.
            let next = retries::next_due(&mut conn, &s.brokers.keys)
                .await
                .ok()
                .flatten();
            let sleep = next
                .map(|due| Duration::from_millis((due - now_ms()).max(0) as u64))
                .unwrap_or(TICK)
                .clamp(MIN_SLEEP, TICK);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }
    tracker.close();
    let _ = tokio::time::timeout(grace, tracker.wait()).await;
    Ok(())
}
