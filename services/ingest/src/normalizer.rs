//! Normalizer workers: the `normalizer` consumer of the WEBHOOKS stream. Each raw delivery goes
//! to the instances ingest verified it for: an element whose deliveries say who changed syncs
//! the instance's change feed ([`crate::feed_sync`]); one whose deliveries carry the changes
//! notifies them once ([`crate::pushed`]).
//! The message is acked only when every instance is done; a transient failure naks it with a
//! delay so JetStream redelivers it (a repeat is harmless: the cursor makes it idempotent).

use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};
use herald_core::bus::{
    consumers, ensure_consumer, ensure_stream, StreamKind, HDR_ELEMENT, HDR_INSTANCES,
    HDR_RECEIVED_AT, HDR_REQUEST_ID, HDR_TRACEPARENT,
};
use herald_core::consume;
use herald_core::store::instances;
use herald_core::telemetry::trace;
use herald_elements::{changes, ElementKey};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::feed_sync::{sync_instance, SyncError};
use crate::Shared;

/// Deliveries handled at once by one replica.
const CONCURRENCY: usize = 32;
/// Longer than the slowest legitimate sync (lease wait + provider paging).
const ACK_WAIT: Duration = Duration::from_secs(120);

pub async fn run(s: Shared, shutdown: CancellationToken, grace: Duration) -> anyhow::Result<()> {
    let consumer = consume::until_ready("normalizer consumer", &shutdown, || async {
        ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Events).await?;
        let stream = ensure_stream(&s.brokers.js, &s.brokers.topo, StreamKind::Webhooks).await?;
        let config = s
            .brokers
            .topo
            .consumer_config(consumers::NORMALIZER, ACK_WAIT, 1_000);
        ensure_consumer(&stream, config).await
    })
    .await;
    let Some(consumer) = consumer else {
        return Ok(());
    };
    consume::run(
        "normalizer",
        consumer,
        CONCURRENCY,
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

fn header<'a>(msg: &'a Message, name: &str) -> Option<&'a str> {
    msg.headers.as_ref()?.get(name).map(|v| v.as_str())
}

async fn handle(s: &Shared, msg: Message) {
    let element = header(&msg, HDR_ELEMENT).unwrap_or_default().to_string();
    let span = herald_core::exported_span!(
        "normalize",
        otel.name = %format!("normalize {element}"),
        herald.stage = "normalize",
        herald.element = %element,
    );
    let trace_parent = trace::continue_from(&span, header(&msg, HDR_TRACEPARENT));
    let result = process(s, &msg, &element, &trace_parent)
        .instrument(span)
        .await;
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

async fn process(
    s: &Shared,
    msg: &Message,
    element: &str,
    trace_parent: &str,
) -> Result<(), SyncError> {
    let Some(key) = ElementKey::parse(element) else {
        tracing::error!(
            element,
            "delivery for an element not in the catalog; dropping"
        );
        return Ok(());
    };
    // Ingest names the instances whose own secrets verified the delivery: those, no others.
    let ids: Vec<u64> = header(msg, HDR_INSTANCES)
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let provider_data = String::from_utf8_lossy(&msg.payload).to_string();
    let sequence = msg.info().map(|i| i.stream_sequence).unwrap_or_default();
    let fallback_id = format!("seq-{sequence}");
    let delivery = crate::feed_sync::Delivery {
        id: header(msg, HDR_REQUEST_ID).unwrap_or(&fallback_id),
        body: &provider_data,
        received_at_ms: header(msg, HDR_RECEIVED_AT)
            .and_then(herald_core::time::parse_rfc3339_ms)
            .unwrap_or_else(herald_core::time::now_ms),
        trace_parent: Some(trace_parent),
    };
    let mut conn = s.brokers.redis.clone();
    for id in ids {
        let Some(inst) = instances::get(&mut conn, &s.brokers.keys, id).await? else {
            continue;
        };
        if inst.element_key != key.as_str() || !inst.valid {
            continue;
        }
        let done = if changes::has_feed(key) {
            sync_instance(s, &inst, &delivery).await
        } else {
            crate::pushed::deliver(s, key, &inst, &delivery).await
        };
        match done {
            Ok(_) => {}
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => tracing::error!(instance_id = id, error = %e, "instance cannot be synced"),
        }
    }
    Ok(())
}
