//! After an attempt: record it and decide what follows. Success → `NOTIFIED`; a failure with
//! schedule left → `RETRYING` at `schedule[k]` ± 20 % (never before a `Retry-After`); the last
//! failure, a 410, or an instance that is gone → `FAILED`. The retry is scheduled before the
//! record says `RETRYING`, so a crash in between can only cause an extra attempt, never a lost one.

use std::time::Duration;

use herald_core::model::{Attempt, EventRecord};
use herald_core::store::events::{self, AttemptOutcome};
use herald_core::store::{retries, StoreResult};
use herald_core::time::now_ms;

use crate::attempt::AttemptResult;
use crate::Shared;

/// The wait before the next attempt after `failed` failures, or None when the schedule is spent.
pub fn next_delay(
    schedule: &[Duration],
    failed: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Duration> {
    let base = *schedule.get(failed.checked_sub(1)? as usize)?;
    let jittered = base.mul_f64(1.0 + (jitter.clamp(0.0, 1.0) - 0.5) * 0.4);
    Some(match retry_after {
        Some(ra) if ra > jittered => ra,
        _ => jittered,
    })
}

/// Records the attempt and what follows; true when the notification is now settled
/// (`NOTIFIED` or `FAILED`).
pub async fn settle(s: &Shared, rec: &EventRecord, result: AttemptResult) -> StoreResult<bool> {
    let failed_so_far = rec.attempts + 1;
    let outcome = if result.success {
        AttemptOutcome::Notified
    } else if result.gone {
        AttemptOutcome::Failed {
            reason: "callback answered 410 Gone".into(),
        }
    } else {
        match next_delay(
            &s.schedule,
            failed_so_far,
            result.retry_after,
            fastrand::f64(),
        ) {
            Some(d) => AttemptOutcome::Retrying {
                next_ms: now_ms() + d.as_millis() as i64,
            },
            None => AttemptOutcome::Failed {
                reason: format!(
                    "no 2xx after {failed_so_far} attempts; last: {}",
                    result.attempt.error.as_deref().unwrap_or("failed")
                ),
            },
        }
    };
    let settled = !matches!(outcome, AttemptOutcome::Retrying { .. });
    record(s, rec.id, &result.attempt, outcome).await?;
    if result.gone {
        events_off(s, rec).await;
    }
    Ok(settled)
}

/// A 410 means the receiver wants nothing more: turn events off for the instance (as a PATCH
/// would; a PATCH turns them on again). Best effort: the item is FAILED whatever happens here.
async fn events_off(s: &Shared, rec: &EventRecord) {
    let req = herald_core::model::ProvisioningRequest::UpdateV1 {
        instance_id: rec.instance_id,
        user_id: rec.user_id,
        body: serde_json::json!({"configuration": {"event.notification.enabled": false}}),
        mode: herald_core::model::UpdateMode::Patch,
    };
    match herald_core::rpc::provisioning(&s.brokers, &req, std::time::Duration::from_secs(30)).await
    {
        Ok(_) => tracing::info!(
            instance_id = rec.instance_id,
            "callback answered 410: events turned off"
        ),
        Err(e) => {
            tracing::warn!(instance_id = rec.instance_id, error = %e, "callback answered 410 but events could not be turned off")
        }
    }
}

/// Records an attempt (or a refusal to attempt) with its outcome.
pub async fn record(
    s: &Shared,
    event_id: u64,
    attempt: &Attempt,
    outcome: AttemptOutcome,
) -> StoreResult<()> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    if let AttemptOutcome::Retrying { next_ms } = &outcome {
        // Scheduled before the record says RETRYING: a crash between can only add an attempt.
        retries::schedule(&mut conn, keys, event_id, *next_ms).await?;
    }
    if matches!(
        outcome,
        AttemptOutcome::Notified | AttemptOutcome::Failed { .. }
    ) {
        // Settled: the record and leaving the schedule in one round trip (order is free: the
        // pump skips a settled record).
        let mut other = conn.clone();
        let (recorded, removed) = tokio::join!(
            events::record_attempt(&mut conn, keys, event_id, attempt, &outcome),
            retries::remove(&mut other, keys, event_id)
        );
        recorded?;
        return removed;
    }
    events::record_attempt(&mut conn, keys, event_id, attempt, &outcome).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_with_jitter_and_retry_after() {
        let s = vec![Duration::from_secs(4), Duration::from_secs(16)];
        assert_eq!(next_delay(&s, 1, None, 0.5), Some(Duration::from_secs(4)));
        assert_eq!(
            next_delay(&s, 2, None, 1.0),
            Some(Duration::from_secs_f64(19.2))
        );
        assert_eq!(
            next_delay(&s, 2, None, 0.0),
            Some(Duration::from_secs_f64(12.8))
        );
        assert_eq!(next_delay(&s, 3, None, 0.5), None);
        assert_eq!(
            next_delay(&s, 1, Some(Duration::from_secs(30)), 0.5),
            Some(Duration::from_secs(30))
        );
    }
}
