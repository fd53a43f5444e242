//! Normalizer workers: the `normalizer` consumer of the WEBHOOKS stream. Each raw delivery is
//! routed to its instances (provider account → instances) and each instance's feed is synced.
//! The message is acked only when every instance is done; a transient failure naks it with a
//! delay so JetStream redelivers it (a repeat is harmless: the cursor makes it idempotent).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{consumer::PullConsumer, AckKind, Message};
use futures::StreamExt;
use herald_core::bus::{
    consumers, ensure_consumer, ensure_stream, StreamKind, HDR_ELEMENT, HDR_INSTANCE,
    HDR_TRACEPARENT,
};
use herald_core::store::instances;
use herald_elements::webhooks;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::feed_sync::{sync_instance, SyncError};
use crate::Shared;

/// Deliveries handled at once by one replica.
const CONCURRENCY: usize = 32;
/// Longer than the slowest legitimate sync (lease wait + provider paging).
const ACK_WAIT: Duration = Duration::from_secs(120);

pub async fn run(s: Shared, shutdown: CancellationToken, grace: Duration) -> anyhow::Result<()> {
    let Some(consumer) = setup(&s, &shutdown).await else {
        return Ok(());
    };
    tracing::info!("normalizer consuming");
    let tracker = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    'outer: while !shutdown.is_cancelled() {
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "normalizer pull failed; retrying");
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
                    tracing::warn!(error = %e, "normalizer stream error");
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
            "normalizer work still running at the end of the grace period; it will be redelivered"
        );
    }
    Ok(())
}

async fn setup(s: &Shared, shutdown: &CancellationToken) -> Option<PullConsumer> {
    loop {
        let attempt = async {
            ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Events).await?;
            let stream =
                ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Webhooks).await?;
            let config = s
                .brokers
                .topo
                .consumer_config(consumers::NORMALIZER, ACK_WAIT, 1_000);
            ensure_consumer(&stream, config).await
        };
        match attempt.await {
            Ok(c) => return Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "normalizer consumer not ready; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

fn header<'a>(msg: &'a Message, name: &str) -> Option<&'a str> {
    msg.headers.as_ref()?.get(name).map(|v| v.as_str())
}

async fn handle(s: &Shared, msg: Message) {
    let element = header(&msg, HDR_ELEMENT).unwrap_or_default().to_string();
    let result = process(s, &msg, &element).await;
    let ack = match result {
        Ok(()) => msg.ack().await,
        Err(e) if e.is_transient() => {
            tracing::warn!(element, error = %e, "delivery not normalized yet; will retry");
            msg.ack_with(AckKind::Nak(Some(e.retry_delay()))).await
        }
        Err(e) => {
            tracing::error!(element, error = %e, "delivery cannot be normalized; dropping");
            msg.ack_with(AckKind::Term).await
        }
    };
    if let Err(e) = ack {
        tracing::warn!(error = %e, "ack failed; the delivery will be redelivered");
    }
}

async fn process(s: &Shared, msg: &Message, element: &str) -> Result<(), SyncError> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    let mut ids = Vec::new();
    if let Some(i) = header(msg, HDR_INSTANCE).and_then(|v| v.parse::<u64>().ok()) {
        ids.push(i);
    } else {
        for account in webhooks::routing_keys(element, &msg.payload) {
            ids.extend(instances::routed(&mut conn, keys, element, &account).await?);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let provider_data = String::from_utf8_lossy(&msg.payload).to_string();
    let trace = header(msg, HDR_TRACEPARENT);
    for id in ids {
        let Some(inst) = instances::get(&mut conn, keys, id).await? else {
            continue;
        };
        if inst.element_key != element || !inst.valid {
            continue;
        }
        match sync_instance(s, &inst, &provider_data, trace).await {
            Ok(_) => {}
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => tracing::error!(instance_id = id, error = %e, "instance cannot be synced"),
        }
    }
    Ok(())
}
