//! Bringing one instance's change feed up to date and turning what changed into notifications.
//!
//! Under the instance's lease: republish a staged batch if a previous run died after staging;
//! fetch changes after the cursor; classify them against the seen map; assign ids and stage the
//! batch; write the delivery records; publish one EVENTS message per notification (msg id =
//! event id, so a repeat inside the duplicate window is stored once); then commit the cursor.
//! Any crash before the commit repeats the same notifications with the same ids.

use std::time::Duration;

use herald_core::keys::InstanceLease;
use herald_core::live_token::{call_with_token, CallError, TokenError};
use herald_core::model::InstanceRecord;
use herald_core::outbox;
use herald_core::store::sync;
use herald_core::store::{instances, StoreError};
use herald_core::time::now_rfc3339;
use herald_elements::changes::{self, WEBHOOK_BATCH};
use herald_elements::{ElementError, ElementKey};

use crate::Shared;

/// How a sync failed, for the consumer to decide between retry and drop.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("outbox: {0}")]
    Outbox(#[from] herald_core::outbox::OutboxError),
    #[error("provider: {0}")]
    Provider(#[from] ElementError),
    #[error("provider token: {0}")]
    Token(#[from] TokenError),
    #[error("instance {0} is busy")]
    Busy(u64),
    #[error("instance {0}: {1}")]
    Unusable(u64, String),
    /// The round that handled this delivery together with others failed (see `pushed`).
    #[error("instance {instance}: {cause}")]
    Round {
        instance: u64,
        #[source]
        cause: std::sync::Arc<SyncError>,
    },
}

impl SyncError {
    /// How long to wait before the retry: what the provider asked for, else a short pause.
    pub fn retry_delay(&self) -> Duration {
        match self {
            Self::Round { cause, .. } => cause.retry_delay(),
            Self::Provider(ElementError::RateLimited {
                retry_after_secs: Some(s),
            }) => Duration::from_secs((*s).min(3600)),
            _ => Duration::from_secs(2),
        }
    }

    /// Worth retrying: the message goes back to the stream.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(_) | Self::Busy(_) | Self::Outbox(_) => true,
            Self::Provider(e) => e.is_transient(),
            Self::Token(e) => e.is_transient(),
            Self::Unusable(..) => false,
            Self::Round { cause, .. } => cause.is_transient(),
        }
    }
}

/// The provider delivery a sync answers.
pub struct Delivery<'a> {
    /// Identifies the stored delivery (ingest's request id).
    pub id: &'a str,
    /// The raw body, kept as the events' `providerData`.
    pub body: &'a str,
    /// When ingest accepted it (the events' `eventDate`).
    pub received_at_ms: i64,
    pub trace_parent: Option<&'a str>,
}

/// The instance lease's time to live: renewed by a heartbeat every third of it while its holder
/// works, so it bounds only how long a killed holder keeps the instance from the others.
const LEASE_MS: u64 = 10_000;
/// How long to wait for another worker's sync of the same instance.
const LEASE_WAIT: Duration = Duration::from_secs(30);
/// Syncs one lease holder runs back to back for deliveries that arrive meanwhile.
const MAX_ROUNDS: usize = 8;

/// Makes sure a sync that started after this call completes; returns the events it produced
/// (0 when another worker's sync covered this call).
pub async fn sync_instance(
    s: &Shared,
    inst: &InstanceRecord,
    delivery: &Delivery<'_>,
) -> Result<usize, SyncError> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    let ticket = sync::take_ticket(&mut conn, keys, inst.id).await?;
    // This replica's workers queue here: the one ahead syncs, and a waiter whose call a round of
    // this replica covered meanwhile returns without a provider call or a Redis command.
    let turn = tokio::time::timeout(LEASE_WAIT, s.local_locks.turn(inst.id))
        .await
        .map_err(|_| SyncError::Busy(inst.id))?;
    let Some(turn) = turn else {
        return Ok(0);
    };
    // Between replicas: the lease, or another replica's round that started after our ticket.
    let lock = keys.lock(inst.id, InstanceLease::Feed);
    let deadline = tokio::time::Instant::now() + LEASE_WAIT;
    // The lease and the ticket counts in one round trip: once the lease is ours, every ticket
    // counted here was taken before the round below starts, so the round covers it.
    let (lease, mut requested) = loop {
        let (acquired, tickets) = tokio::join!(
            sync::Lease::try_acquire(&s.brokers.redis, &lock, LEASE_MS),
            sync::tickets(&mut conn, keys, inst.id)
        );
        match (acquired?, tickets) {
            (Some(lease), Ok((_, completed))) if completed >= ticket => {
                // Another replica's round covered this call meanwhile.
                lease.release().await;
                return Ok(0);
            }
            (Some(lease), Ok((requested, _))) => break (lease, requested),
            (Some(lease), Err(e)) => {
                lease.release().await;
                return Err(e.into());
            }
            (None, Ok((_, completed))) if completed >= ticket => return Ok(0),
            (None, Ok(_)) => {}
            (None, Err(e)) => return Err(e.into()),
        }
        if tokio::time::Instant::now() > deadline {
            return Err(SyncError::Busy(inst.id));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let mut produced = 0;
    let mut result = Ok(());
    // Keep going while deliveries keep arriving, a bounded number of rounds.
    for _ in 0..MAX_ROUNDS {
        let mark = turn.round_starts();
        match sync_locked(s, inst, delivery, lease.fence()).await {
            Ok(n) => produced += n,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
        match sync::complete(&mut conn, keys, inst.id, requested).await {
            Ok(now_requested) => {
                turn.covered(mark);
                if now_requested <= requested {
                    break;
                }
                requested = now_requested;
            }
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    lease.release().await;
    result.map(|()| produced)
}

async fn sync_locked(
    s: &Shared,
    inst: &InstanceRecord,
    delivery: &Delivery<'_>,
    fence: &sync::Fence,
) -> Result<usize, SyncError> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    // Finish a staged batch and re-read the instance (it may have changed while we waited for
    // the lease), both at once.
    let (resumed, inst) = tokio::try_join!(
        async { Ok::<_, SyncError>(outbox::resume(&s.brokers, inst, fence).await?) },
        async {
            let mut conn = s.brokers.redis.clone();
            Ok::<_, SyncError>(instances::get(&mut conn, keys, inst.id).await?)
        }
    )?;
    let Some(inst) = inst else {
        return Ok(0);
    };
    if !inst.valid {
        return Ok(0);
    }
    // A disabled instance, or one with events off, still moves its cursor: what changes
    // meanwhile is dropped, not queued for later.
    let emit = inst.accepts_events();
    let cursor = resumed.ok_or_else(|| SyncError::Unusable(inst.id, "no change cursor".into()))?;
    let element = ElementKey::parse(&inst.element_key)
        .ok_or_else(|| SyncError::Unusable(inst.id, "not in the catalog".into()))?;
    let urls = s.urls.for_record(&inst)?;
    let (http, urls, cursor_ref) = (&s.http, &urls, &cursor);
    let (fetched, next_cursor) =
        call_with_token(&s.brokers, &s.secret_box, &inst, |token| async move {
            changes::fetch(http, element, urls, &token, cursor_ref).await
        })
        .await
        .map_err(|e| match e {
            CallError::Provider(e) => SyncError::Provider(e),
            CallError::Token(e) => SyncError::Token(e),
        })?;
    let seen = match changes::seen_lookup(&fetched) {
        Some(lookup) => sync::seen(&mut conn, keys, inst.id, &lookup).await?,
        None => sync::seen_all(&mut conn, keys, inst.id).await?,
    };
    let classified = changes::classify(&fetched, &seen, &now_rfc3339());
    let mut classified = classified;
    if !emit {
        classified.events.clear();
    }
    let produced = classified.events.len();
    s.metrics
        .events_normalized
        .add(&[&inst.element_key], produced as f64);

    let found = outbox::Found {
        events: classified.events,
        from_cursor: cursor,
        to_cursor: next_cursor,
        event_date_ms: delivery.received_at_ms,
        seen_set: classified.seen_set,
        seen_del: classified.seen_del,
        provider_data: delivery.body.to_string(),
        trace_parent: delivery.trace_parent.map(str::to_string),
        accepted: Vec::new(),
    };
    let batch = outbox::build(&s.brokers, &inst, found, WEBHOOK_BATCH).await?;
    outbox::deliver(&s.brokers, &inst, &batch, fence).await?;
    Ok(produced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_shared_round_failure_keeps_its_cause_its_retry_delay_and_whether_to_retry() {
        let limited = SyncError::Round {
            instance: 7,
            cause: Arc::new(SyncError::Provider(ElementError::RateLimited {
                retry_after_secs: Some(7),
            })),
        };
        assert!(limited.is_transient());
        assert_eq!(limited.retry_delay(), Duration::from_secs(7));
        assert!(std::error::Error::source(&limited).is_some());
        let unusable = SyncError::Round {
            instance: 7,
            cause: Arc::new(SyncError::Unusable(7, "no change cursor".into())),
        };
        assert!(!unusable.is_transient());
    }
}
