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
use herald_core::store::{events, instances, StoreResult};
use tokio_util::sync::CancellationToken;

use crate::deliver::{attempt_token, deliver, deliver_loaded, gate, give_back, Preadmitted};
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

/// A notification's first attempt: the record (marked DISPATCHED), its instance and the gate of
/// the origin the message names, all asked at once (one round trip); then the attempt.
async fn first_attempt(
    s: &Shared,
    event_id: u64,
    instance_id: u64,
    origin: Option<String>,
) -> StoreResult<()> {
    let redis = || s.brokers.redis.clone();
    let (mut a, mut b, mut c) = (redis(), redis(), redis());
    let keys = &s.brokers.keys;
    let token = attempt_token(event_id);
    let asked = async {
        match &origin {
            Some(o) => gate(s, &mut c, o, &token, event_id).await.map(Some),
            None => Ok(None),
        }
    };
    let (dispatched, inst, admitted) = tokio::join!(
        events::dispatch_get(&mut a, keys, event_id),
        instances::get(&mut b, keys, instance_id),
        asked
    );
    let pre = match (origin, admitted?) {
        (Some(origin), Some(admission)) => Some(Preadmitted {
            origin,
            token,
            admission,
        }),
        _ => None,
    };
    match (dispatched, inst) {
        // Only a fresh or interrupted notification is attempted here; one already in the retry
        // schedule or settled belongs to the pump or is done.
        (Ok(Some((EventStatus::Received | EventStatus::Dispatched, rec))), Ok(inst))
            if rec.instance_id == instance_id =>
        {
            deliver_loaded(s, rec, inst, pre).await
        }
        (Ok(Some((EventStatus::Received | EventStatus::Dispatched, _))), Ok(_)) => {
            give_back(s, pre).await?;
            deliver(s, event_id, Some(EventStatus::Dispatched)).await
        }
        (Ok(_), Ok(_)) => give_back(s, pre).await,
        (Err(e), _) | (_, Err(e)) => {
            let _ = give_back(s, pre).await;
            Err(e)
        }
    }
}

async fn handle(s: &Shared, msg: Message) {
    let result = match serde_json::from_slice::<NotificationMessage>(&msg.payload) {
        Ok(NotificationMessage::V1 {
            event_id,
            instance_id,
            origin,
        }) => first_attempt(s, event_id, instance_id, origin).await,
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
