//! Delivering one notification by id: load its record and instance, attempt, settle.

use herald_core::model::{Attempt, EventRecord, EventStatus, InstanceRecord};
use herald_core::store::breakers::{self, Admission};
use herald_core::store::events::AttemptOutcome;
use herald_core::store::pacing;
use herald_core::store::{events, instances, retries, StoreResult};
use herald_core::time::{now_ms, now_rfc3339};

use crate::attempt::attempt;
use crate::settle::{record, settle};
use crate::Shared;
use herald_core::callback_url::origin_of;

/// Attempts delivery unless the record is settled (or, with `only_if`, not in that status).
pub async fn deliver(s: &Shared, event_id: u64, only_if: Option<EventStatus>) -> StoreResult<()> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    let Some(rec) = events::get(&mut conn, keys, event_id).await? else {
        // Expired (retention) or never written: nothing to send, nothing to keep scheduled.
        return retries::remove(&mut conn, keys, event_id).await;
    };
    if only_if.is_some_and(|st| st != rec.status) && !rec.status.is_settled() {
        return Ok(());
    }
    let inst = instances::get(&mut conn, keys, rec.instance_id).await?;
    deliver_loaded(s, rec, inst, None).await
}

/// How long one wait for a busy origin's slot may last, and how many waits before the
/// notification is parked in the retry schedule.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
const BUSY_RETRIES: usize = 8;

/// The origin's gate, asked before the record was read (the consumer asks it alongside the read,
/// for the origin the message names).
pub struct Preadmitted {
    pub origin: String,
    pub token: String,
    pub admission: Admission,
}

/// A new attempt token (the origin's in-flight entry).
pub fn attempt_token(event_id: u64) -> String {
    format!("{event_id}-{}", fastrand::u64(..))
}

/// Asks the origin's shared gate (in-flight bound and breaker) for this attempt.
pub async fn gate(
    s: &Shared,
    conn: &mut herald_core::store::Conn,
    origin: &str,
    token: &str,
    event_id: u64,
) -> StoreResult<Admission> {
    breakers::admit(
        conn,
        &s.brokers.keys,
        origin,
        token,
        event_id,
        now_ms(),
        s.breaker,
    )
    .await
}

/// Hands back what a pre-admission reserved, when it will not be used.
pub async fn give_back(s: &Shared, pre: Option<Preadmitted>) -> StoreResult<()> {
    match pre {
        Some(p) if matches!(p.admission, Admission::Go | Admission::Probe) => {
            let mut conn = s.brokers.redis.clone();
            breakers::release(&mut conn, &s.brokers.keys, &p.origin, &p.token).await?;
            s.origin_queue.freed(&p.origin);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// [`deliver`] with the record and its instance already read (the consumer reads both at once),
/// and the origin's gate perhaps already asked.
pub async fn deliver_loaded(
    s: &Shared,
    rec: EventRecord,
    inst: Option<InstanceRecord>,
    pre: Option<Preadmitted>,
) -> StoreResult<()> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    let event_id = rec.id;
    let callback = inst.as_ref().and_then(|i| callback_of(&rec, i));
    let origin = callback.as_deref().map(origin_of);
    let usable = |p: &Preadmitted| {
        !rec.status.is_settled()
            && origin.as_deref() == Some(p.origin.as_str())
            && !inst.as_ref().is_some_and(pacing::paced)
    };
    let pre = match pre {
        Some(p) if usable(&p) => Some(p),
        other => {
            give_back(s, other).await?;
            None
        }
    };
    if rec.status.is_settled() {
        // A settled record left in the retry schedule (e.g. a manual retry won) leaves it.
        return herald_core::store::retries::remove(&mut conn, keys, event_id).await;
    }
    let (Some(inst), Some(callback), Some(origin)) = (inst, callback, origin) else {
        let reason = "instance deleted or has no callback URL".to_string();
        let refusal = Attempt {
            date: now_rfc3339(),
            status_code: None,
            duration_ms: 0,
            error: Some(reason.clone()),
        };
        return record(s, event_id, &refusal, AttemptOutcome::Failed { reason }).await;
    };
    if pacing::paced(&inst) {
        if let Some(until) = pacing::admit(&mut conn, keys, &inst, event_id, now_ms()).await? {
            // Its turn (ordered) or its slot (rate limit) is later: wait, durably, unattempted.
            retries::schedule(&mut conn, keys, event_id, until).await?;
            return events::hold(&mut conn, keys, event_id, until).await;
        }
    }
    let (token, mut admission) = match pre {
        Some(p) => (p.token, p.admission),
        None => {
            let token = attempt_token(event_id);
            let admission = gate(s, &mut conn, &origin, &token, event_id).await?;
            (token, admission)
        }
    };
    // At the origin's in-flight bound: wait here for one of our answers from it (bounded), then
    // ask again, instead of a pause in the retry schedule.
    for _ in 0..BUSY_RETRIES {
        if !matches!(admission, Admission::Busy { .. })
            || !s.origin_queue.wait(&origin, BUSY_WAIT).await
        {
            break;
        }
        admission = gate(s, &mut conn, &origin, &token, event_id).await?;
    }
    match admission {
        Admission::Go | Admission::Probe => {}
        Admission::HeldByBreaker { until_ms }
        | Admission::Busy { until_ms }
        | Admission::Failing { until_ms } => {
            // Not waited for (that would hold a worker and delay other origins), and not an
            // attempt: back in the schedule, shown as RETRYING until then.
            let due = until_ms + fastrand::i64(0..250);
            retries::schedule(&mut conn, keys, event_id, due).await?;
            let held = matches!(admission, Admission::HeldByBreaker { .. });
            s.metrics
                .breaker_open
                .set(&[&origin], f64::from(u8::from(held)));
            if held {
                s.metrics.delivery_held.inc(&["breaker_open"]);
            }
            return events::hold(&mut conn, keys, event_id, due).await;
        }
    }
    let result = attempt(s, &rec, &inst, &callback, false).await;
    let success = result.success;
    // The outcome recorded and the origin's slot given back at once (one round trip); a closing
    // breaker hands back what it held.
    let mut report_conn = conn.clone();
    let (settled, released) = tokio::join!(
        settle(s, &rec, result),
        breakers::report(
            &mut report_conn,
            keys,
            &origin,
            &token,
            success,
            now_ms(),
            s.breaker,
        )
    );
    s.origin_queue.freed(&origin);
    let released = released?;
    // One gauge update per attempt: a success closes the origin's breaker, a failed probe keeps
    // it open.
    let open = matches!(admission, Admission::Probe) && !success;
    s.metrics
        .breaker_open
        .set(&[&origin], f64::from(u8::from(open)));
    retries::wake(&mut conn, keys, &released, now_ms()).await?;
    if settled? && inst.ordered() {
        // The next in line goes now.
        if let Some(next) = pacing::settled(&mut conn, keys, inst.id, event_id).await? {
            retries::wake(&mut conn, keys, &[next], now_ms()).await?;
        }
    }
    Ok(())
}

/// Where a notification goes: its own URL (an async result's), else the instance's.
fn callback_of(rec: &EventRecord, inst: &InstanceRecord) -> Option<String> {
    rec.callback_url.clone().or_else(|| {
        inst.config_str("event.notification.callback.url")
            .map(str::to_string)
    })
}

/// One more attempt now, whatever the status (a user's retry, or a replay): the same body and
/// ids with fresh signatures; a 2xx makes it NOTIFIED, a failure leaves status and schedule as
/// they were.
pub async fn resend(s: &Shared, event_id: u64, replay: bool) -> StoreResult<()> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    let Some(rec) = events::get(&mut conn, keys, event_id).await? else {
        return Ok(());
    };
    let Some(inst) = instances::get(&mut conn, keys, rec.instance_id).await? else {
        return Ok(());
    };
    let Some(callback) = callback_of(&rec, &inst) else {
        return Ok(());
    };
    let _slot = s.origins.acquire(&callback).await;
    let result = attempt(s, &rec, &inst, &callback, replay).await;
    let outcome = if result.success {
        AttemptOutcome::Notified
    } else {
        AttemptOutcome::Unchanged
    };
    record(s, event_id, &result.attempt, outcome).await
}
