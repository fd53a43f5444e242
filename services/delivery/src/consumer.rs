//! The `delivery` consumer of the EVENTS stream. Each message names a notification whose record
//! is already in Redis. The first attempt is made here; the message is acked once the attempt's
//! outcome is recorded (and, on failure, the retry scheduled), so a crash mid-attempt means
//! JetStream redelivers and the attempt is made again under the same ids.
//!
//! Messages are handled concurrently (bounded), so a slow callback never holds up others.

use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};
use herald_core::bus::{consumers, ensure_consumer, ensure_stream, StreamKind};
use herald_core::consume;
use herald_core::model::{EventStatus, NotificationMessage};
use herald_core::store::{events, instances};
use tokio_util::sync::CancellationToken;

use crate::deliver::{deliver, deliver_loaded};
use crate::Shared;

pub async fn run(s: Shared, shutdown: CancellationToken, grace: Duration) -> anyhow::Result<()> {
    let consumer = consume::until_ready("delivery consumer", &shutdown, || async {
        let stream = ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Events).await?;
        // Longer than one attempt (timeout) plus recording it.
        let ack_wait = s.timeout + Duration::from_secs(15);
        let config = s.brokers.topo.consumer_config(
            consumers::DELIVERY,
            ack_wait,
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
        "delivery",
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

/// Resends in order, one at a time; tells JetStream the message is still being worked on after
/// each, so a long replay is not redelivered meanwhile.
async fn replay(
    s: &Shared,
    msg: &Message,
    event_ids: &[u64],
) -> herald_core::store::StoreResult<()> {
    for id in event_ids {
        crate::deliver::resend(s, *id, true).await?;
        if let Err(e) = msg.ack_with(AckKind::Progress).await {
            tracing::warn!(error = %e, "replay progress not acknowledged");
        }
    }
    Ok(())
}

async fn handle(s: &Shared, msg: Message) {
    let result = match serde_json::from_slice::<NotificationMessage>(&msg.payload) {
        Ok(NotificationMessage::V1 {
            event_id,
            instance_id,
        }) => {
            // The record (marked DISPATCHED) and its instance, read at once.
            let (mut a, mut b) = (s.brokers.redis.clone(), s.brokers.redis.clone());
            let keys = &s.brokers.keys;
            let (dispatched, inst) = tokio::join!(
                events::dispatch_get(&mut a, keys, event_id),
                instances::get(&mut b, keys, instance_id)
            );
            match (dispatched, inst) {
                // Only a fresh or interrupted notification is attempted here; one already in
                // the retry schedule or settled belongs to the pump or is done.
                (Ok(Some((EventStatus::Received | EventStatus::Dispatched, rec))), Ok(inst))
                    if rec.instance_id == instance_id =>
                {
                    deliver_loaded(s, rec, inst).await
                }
                (Ok(Some((EventStatus::Received | EventStatus::Dispatched, _))), Ok(_)) => {
                    deliver(s, event_id, Some(EventStatus::Dispatched)).await
                }
                (Ok(_), Ok(_)) => Ok(()),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        Ok(NotificationMessage::ResendV1 {
            event_id, replay, ..
        }) => crate::deliver::resend(s, event_id, replay).await,
        Ok(NotificationMessage::ReplayV1 { event_ids, .. }) => replay(s, &msg, &event_ids).await,
        Err(e) => {
            tracing::error!(error = %e, "unreadable notification message; dropping");
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        }
    };
    let ack = match result {
        Ok(()) => msg.ack().await,
        Err(e) => {
            tracing::warn!(error = %e, "delivery bookkeeping failed; will retry");
            msg.ack_with(AckKind::Nak(Some(Duration::from_secs(2))))
                .await
        }
    };
    if let Err(e) = ack {
        tracing::warn!(error = %e, "ack failed; the notification will be redelivered");
    }
}
