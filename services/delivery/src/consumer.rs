//! The `delivery` consumer of the EVENTS stream. Each message names a notification whose record
//! is already in Redis. The first attempt is made here; the message is acked once the attempt's
//! outcome is recorded (and, on failure, the retry scheduled), so a crash mid-attempt means
//! JetStream redelivers and the attempt is made again under the same ids.
//!
//! Messages are handled concurrently (bounded), so a slow callback never holds up others.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{consumer::PullConsumer, AckKind, Message};
use futures::StreamExt;
use herald_core::bus::{consumers, ensure_consumer, ensure_stream, StreamKind};
use herald_core::model::{EventStatus, NotificationMessage};
use herald_core::store::events;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::deliver::deliver;
use crate::Shared;

pub async fn run(s: Shared, shutdown: CancellationToken, grace: Duration) -> anyhow::Result<()> {
    let Some(consumer) = setup(&s, &shutdown).await else {
        return Ok(());
    };
    tracing::info!("delivery consuming");
    let tracker = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(s.concurrency));
    'outer: while !shutdown.is_cancelled() {
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "delivery pull failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break 'outer,
                m = messages.next() => m,
            };
            let msg = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "delivery stream error");
                    continue;
                }
                None => break,
            };
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break 'outer;
            };
            let s = s.clone();
            tracker.spawn(async move {
                let _permit = permit;
                handle(&s, msg).await;
            });
        }
    }
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            "deliveries still running at the end of the grace period; they will be redelivered"
        );
    }
    Ok(())
}

async fn setup(s: &Shared, shutdown: &CancellationToken) -> Option<PullConsumer> {
    loop {
        let attempt = async {
            let stream = ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Events).await?;
            // Longer than one attempt (timeout) plus recording it.
            let ack_wait = s.timeout + Duration::from_secs(15);
            let config = s.brokers.topo.consumer_config(
                consumers::DELIVERY,
                ack_wait,
                (s.concurrency * 4) as i64,
            );
            ensure_consumer(&stream, config).await
        };
        match attempt.await {
            Ok(c) => return Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "delivery consumer not ready; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn handle(s: &Shared, msg: Message) {
    let result = match serde_json::from_slice::<NotificationMessage>(&msg.payload) {
        Ok(NotificationMessage::V1 { event_id, .. }) => {
            let mut conn = s.brokers.redis.clone();
            match events::dispatch(&mut conn, &s.brokers.keys, event_id).await {
                // Only a fresh or interrupted notification is attempted here; one already in
                // the retry schedule or settled belongs to the pump or is done.
                Ok(Some(EventStatus::Received | EventStatus::Dispatched)) => {
                    deliver(s, event_id, Some(EventStatus::Dispatched)).await
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        }
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
