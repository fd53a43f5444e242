//! From normalized events to notifications on the EVENTS stream, exactly once per change.
//!
//! A producer (the webhook normalizer, a poll) that found changes after its cursor calls
//! [`build`] (ids assigned, bodies written), then [`deliver`]: the batch is staged in the
//! instance's sync state, the delivery records are written (`RECEIVED`), one EVENTS message per
//! notification is published (`Nats-Msg-Id: event-<id>`), and only then the cursor and seen map
//! are committed. A producer that starts and finds a staged batch calls [`resume`] first, which
//! republishes it under the same ids. So a crash anywhere repeats the same notifications, never
//! different ones, and never loses one.

use serde_json::{json, Value};

use crate::brokers::Brokers;
use crate::ids::{next_ids, IdKind};
use crate::model::{EventRecord, EventStatus, InstanceRecord, NotificationMessage};
use crate::store::sync::{self, Fence, PendingBatch, StagedNotification};
use crate::store::{events, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("publishing to EVENTS: {0}")]
    Publish(#[source] async_nats::jetstream::context::PublishError),
    #[error("encoding a notification message: {0}")]
    Encode(#[source] serde_json::Error),
    /// The lease was lost or the cursor moved: another worker owns this instance now.
    #[error("fenced off: {0:?}")]
    Fenced(sync::Fenced),
}

impl From<redis::RedisError> for OutboxError {
    fn from(e: redis::RedisError) -> Self {
        Self::Store(StoreError::from(e))
    }
}

/// What a producer found: events in order, where its cursor goes, and its seen-map changes.
pub struct Found {
    pub events: Vec<Value>,
    /// The cursor the changes were read after.
    pub from_cursor: String,
    pub to_cursor: String,
    /// When Herald accepted what triggered this (the provider delivery, the poll's start).
    pub event_date_ms: i64,
    pub seen_set: Vec<(String, String)>,
    pub seen_del: Vec<String>,
    pub provider_data: String,
    pub trace_parent: Option<String>,
    /// Change keys of a pushed delivery, remembered on commit (see `store::sync`).
    pub accepted: Vec<String>,
}

/// Splits the events into notifications of at most `per_notification` and assigns their ids.
pub async fn build(
    brokers: &Brokers,
    inst: &InstanceRecord,
    found: Found,
    per_notification: usize,
) -> Result<PendingBatch, OutboxError> {
    build_many(brokers, inst, vec![found], per_notification).await
}

/// As [`build`] for several provider deliveries at once (one instance's pushed deliveries that
/// waited for the same round): each gets its own notifications, in the order given, each
/// carrying its delivery's raw body, trace and date; the ids of all of them are taken in one
/// command per sequence.
pub async fn build_many(
    brokers: &Brokers,
    inst: &InstanceRecord,
    found: Vec<Found>,
    per_notification: usize,
) -> Result<PendingBatch, OutboxError> {
    let keys = &brokers.keys;
    let per = per_notification.max(1);
    let count: u64 = found
        .iter()
        .map(|f| f.events.len().div_ceil(per) as u64)
        .sum();
    // Every id of the batch in one command per sequence, both sent at once.
    let (first_event, first_notification) = if count == 0 {
        (0, 0)
    } else {
        let (mut a, mut b) = (brokers.redis.clone(), brokers.redis.clone());
        tokio::try_join!(
            next_ids(&mut a, keys, IdKind::Event, count),
            next_ids(&mut b, keys, IdKind::Notification, count)
        )?
    };
    let joined = found.len() > 1;
    let mut notifications = Vec::new();
    let mut k = 0;
    let mut batch = PendingBatch::default();
    for (n, f) in found.into_iter().enumerate() {
        let origin = joined.then(|| sync::Origin {
            provider_data: f.provider_data.clone(),
            trace_parent: f.trace_parent.clone(),
            event_date_ms: f.event_date_ms,
        });
        let mut events = f.events.into_iter().peekable();
        while events.peek().is_some() {
            let chunk: Vec<Value> = events.by_ref().take(per).collect();
            let (event_id, notification_id) = (first_event + k, first_notification + k);
            k += 1;
            let body = json!({
                "eventId": event_id,
                "instanceId": inst.id,
                "notificationId": notification_id,
                "elementKey": inst.element_key,
                "response": {"events": chunk},
            });
            notifications.push(StagedNotification {
                event_id,
                notification_id,
                body: body.to_string(),
                origin: origin.clone(),
            });
        }
        batch.accepted.extend(f.accepted);
        batch.seen_set.extend(f.seen_set);
        batch.seen_del.extend(f.seen_del);
        if n == 0 {
            batch.from_cursor = f.from_cursor;
            batch.event_date_ms = f.event_date_ms;
            batch.provider_data = f.provider_data;
            batch.trace_parent = f.trace_parent;
        }
        batch.to_cursor = f.to_cursor;
    }
    batch.notifications = notifications;
    Ok(batch)
}

fn done(f: sync::Fenced) -> Result<(), OutboxError> {
    match f {
        sync::Fenced::Done => Ok(()),
        other => Err(OutboxError::Fenced(other)),
    }
}

/// Stages, publishes and commits a batch (see the module doc for the order and why), as the
/// holder of `fence`.
pub async fn deliver(
    brokers: &Brokers,
    inst: &InstanceRecord,
    batch: &PendingBatch,
    fence: &Fence,
) -> Result<(), OutboxError> {
    let mut conn = brokers.redis.clone();
    if !batch.notifications.is_empty() {
        done(sync::stage(&mut conn, &brokers.keys, inst.id, batch, fence).await?)?;
        publish(brokers, inst, batch).await?;
    }
    done(sync::commit(&mut conn, &brokers.keys, inst.id, batch, fence).await?)
}

/// Finishes a batch a previous run staged. Returns the cursor to read from next.
pub async fn resume(
    brokers: &Brokers,
    inst: &InstanceRecord,
    fence: &Fence,
) -> Result<Option<String>, OutboxError> {
    let mut conn = brokers.redis.clone();
    let state = sync::load(&mut conn, &brokers.keys, inst.id).await?;
    let Some(pending) = state.pending else {
        return Ok(state.cursor);
    };
    publish(brokers, inst, &pending).await?;
    match sync::commit(&mut conn, &brokers.keys, inst.id, &pending, fence).await? {
        sync::Fenced::Done => Ok(Some(pending.to_cursor)),
        // The cursor was reset after staging (polling restarted): keep the reset cursor.
        sync::Fenced::CursorMoved => Ok(state.cursor),
        lost => Err(OutboxError::Fenced(lost)),
    }
}

/// Writes the delivery records of a batch and publishes its notifications, in order.
async fn publish(
    brokers: &Brokers,
    inst: &InstanceRecord,
    batch: &PendingBatch,
) -> Result<(), OutboxError> {
    let mut conn = brokers.redis.clone();
    let mut records = Vec::with_capacity(batch.notifications.len());
    for n in &batch.notifications {
        let rec = EventRecord {
            id: n.event_id,
            notification_id: n.notification_id,
            instance_id: inst.id,
            user_id: inst.user_id,
            element_key: inst.element_key.clone(),
            event_date_ms: n
                .origin
                .as_ref()
                .map_or(batch.event_date_ms, |o| o.event_date_ms),
            status: EventStatus::Received,
            attempts: 0,
            last_attempt: None,
            next_attempt_ms: None,
            failure_reason: None,
            body: n.body.clone(),
            provider_data: n
                .origin
                .as_ref()
                .map_or_else(|| batch.provider_data.clone(), |o| o.provider_data.clone()),
            trace_parent: n
                .origin
                .as_ref()
                .map_or_else(|| batch.trace_parent.clone(), |o| o.trace_parent.clone()),
            callback_url: None,
        };
        records.push(rec);
    }
    // All records written at once (the connection pipelines concurrent commands).
    futures::future::try_join_all(records.iter().map(|rec| {
        let mut conn = brokers.redis.clone();
        async move { events::create(&mut conn, &brokers.keys, rec, brokers.events_retention).await }
    }))
    .await?;
    if inst.ordered() {
        let ids: Vec<u64> = batch.notifications.iter().map(|n| n.event_id).collect();
        crate::store::pacing::pending(&mut conn, &brokers.keys, inst.id, &ids).await?;
    }
    // Publish all, then wait for every ack (in order of publication).
    let mut acks = Vec::with_capacity(batch.notifications.len());
    let origin = inst
        .config_str("event.notification.callback.url")
        .map(crate::callback_url::origin_of);
    for n in &batch.notifications {
        acks.push(send(brokers, inst.id, n.event_id, origin.clone()).await?);
    }
    for ack in acks {
        ack.await.map_err(OutboxError::Publish)?;
    }
    Ok(())
}

/// Writes one notification's record (unless it exists) and publishes it to EVENTS, for a
/// producer that makes one notification at a time (an async hub request's result). Repeating
/// it is harmless: the record is kept, the message id is the event's.
pub async fn notify_one(brokers: &Brokers, rec: &EventRecord) -> Result<(), OutboxError> {
    let mut conn = brokers.redis.clone();
    events::create(&mut conn, &brokers.keys, rec, brokers.events_retention).await?;
    let origin = rec
        .callback_url
        .as_deref()
        .map(crate::callback_url::origin_of);
    announce(brokers, rec.instance_id, rec.id, origin).await
}

/// Publishes a notification whose record is written (`Nats-Msg-Id: event-<id>`) and waits for
/// JetStream to store it.
async fn announce(
    brokers: &Brokers,
    instance_id: u64,
    event_id: u64,
    origin: Option<String>,
) -> Result<(), OutboxError> {
    send(brokers, instance_id, event_id, origin)
        .await?
        .await
        .map_err(OutboxError::Publish)?;
    Ok(())
}

/// Publishes a notification; the returned future is JetStream's ack.
async fn send(
    brokers: &Brokers,
    instance_id: u64,
    event_id: u64,
    origin: Option<String>,
) -> Result<async_nats::jetstream::context::PublishAckFuture, OutboxError> {
    let msg = NotificationMessage::V1 {
        event_id,
        instance_id,
        origin,
    };
    let payload = serde_json::to_vec(&msg).map_err(OutboxError::Encode)?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(crate::bus::HDR_MSG_ID, format!("event-{event_id}").as_str());
    brokers
        .js
        .publish_with_headers(brokers.topo.events(instance_id), headers, payload.into())
        .await
        .map_err(OutboxError::Publish)
}
