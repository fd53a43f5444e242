//! The jobs worker: the `jobs` consumer of the JOBS work queue. Each async hub request runs as
//! the synchronous call would — through the same router, as its already authenticated caller —
//! and its answer becomes one notification: `{"eventId","instanceId","notificationId",
//! "elementKey","response":{"statusCode","body"}}` to the job's callback URL, signed and retried
//! by delivery like any other, listed in the events API.
//!
//! The job is acked only once that notification's record is written and published. A job seen
//! again after its record exists (a crash before the ack) is only published again, so the call
//! is not repeated and the ids stay the same; one that dies before the record reruns the call.

use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};
use axum::body::Body;
use axum::http::{header, Request};
use base64::Engine;
use herald_core::bus::{consumers, ensure_consumer, ensure_stream, StreamKind, HDR_JOB};
use herald_core::consume;
use herald_core::model::{AsyncJob, EventRecord, EventStatus};
use herald_core::outbox;
use herald_core::store::events;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::auth::Preauthorized;
use crate::routes::BASE;
use crate::state::AppState;

/// Requests run at once by one replica.
const CONCURRENCY: usize = 16;
/// Longer than the slowest legitimate hub call (provider timeout plus a token refresh).
const ACK_WAIT: Duration = Duration::from_secs(180);
/// The largest answer body kept for a result; a larger one (a big download) is replaced by an
/// error saying so.
const RESULT_LIMIT: usize = 4 * 1024 * 1024;

pub async fn run(
    state: AppState,
    router: axum::Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let consumer = consume::until_ready("jobs consumer", &shutdown, || async {
        ensure_stream(&state.brokers.js, &state.brokers.topo, StreamKind::Events).await?;
        let stream =
            ensure_stream(&state.brokers.js, &state.brokers.topo, StreamKind::Jobs).await?;
        let config =
            state
                .brokers
                .topo
                .consumer_config(consumers::JOBS, ACK_WAIT, (CONCURRENCY * 4) as i64);
        ensure_consumer(&stream, config).await
    })
    .await;
    let Some(consumer) = consumer else {
        return Ok(());
    };
    consume::run("jobs", consumer, CONCURRENCY, shutdown, grace, move |msg| {
        let (state, router) = (state.clone(), router.clone());
        async move { handle(&state, router, msg).await }
    })
    .await;
    Ok(())
}

async fn handle(state: &AppState, router: axum::Router, msg: Message) {
    let job = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(HDR_JOB))
        .and_then(|v| serde_json::from_str::<AsyncJob>(v.as_str()).ok());
    let ack = match job {
        Some(job) => match run_job(state, router, job, msg.payload.clone()).await {
            Ok(()) => msg.ack().await,
            Err(e) => {
                tracing::warn!(error = %e, "async request not finished; will retry");
                msg.ack_with(AckKind::Nak(Some(Duration::from_secs(2))))
                    .await
            }
        },
        None => {
            tracing::error!("unreadable async job; dropping");
            msg.ack_with(AckKind::Term).await
        }
    };
    if let Err(e) = ack {
        tracing::warn!(error = %e, "job ack failed; it will be redelivered");
    }
}

async fn run_job(
    state: &AppState,
    router: axum::Router,
    job: AsyncJob,
    body: bytes::Bytes,
) -> Result<(), outbox::OutboxError> {
    let AsyncJob::HubV1 {
        event_id,
        notification_id,
        instance_id,
        user_id,
        element_key,
        method,
        uri,
        content_type,
        callback_url,
        accepted_ms,
    } = job;
    let mut conn = state.brokers.redis.clone();
    if let Some(done) = events::get(&mut conn, &state.brokers.keys, event_id).await? {
        return outbox::notify_one(&state.brokers, &done).await;
    }
    let (status, answer) = replay(
        router,
        &method,
        &uri,
        content_type.as_deref(),
        body,
        user_id,
        instance_id,
    )
    .await;
    let notification = json!({
        "eventId": event_id,
        "instanceId": instance_id,
        "notificationId": notification_id,
        "elementKey": element_key,
        "response": {"statusCode": status, "body": answer},
    });
    let rec = EventRecord {
        id: event_id,
        notification_id,
        instance_id,
        user_id,
        element_key,
        event_date_ms: accepted_ms,
        status: EventStatus::Received,
        attempts: 0,
        last_attempt: None,
        next_attempt_ms: None,
        failure_reason: None,
        body: notification.to_string(),
        provider_data: json!({"method": method, "path": format!("{BASE}{uri}")}).to_string(),
        trace_parent: Some(herald_core::telemetry::trace::start(
            &tracing::Span::current(),
        )),
        callback_url: Some(callback_url),
    };
    outbox::notify_one(&state.brokers, &rec).await
}

/// Runs the request through the API as its authenticated caller: (status, body as JSON).
async fn replay(
    router: axum::Router,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: bytes::Bytes,
    user_id: u64,
    instance_id: u64,
) -> (u16, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("{BASE}{uri}"));
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let Ok(mut req) = req.body(Body::from(body)) else {
        return (
            400,
            json!({"message": "the stored request is not a valid HTTP request"}),
        );
    };
    req.extensions_mut().insert(Preauthorized {
        instance_id,
        user_id,
    });
    let Ok(resp) = router.oneshot(req).await;
    let status = resp.status().as_u16();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let Ok(bytes) = axum::body::to_bytes(resp.into_body(), RESULT_LIMIT).await else {
        return (
            status,
            json!({"message": format!("the answer is over {RESULT_LIMIT} bytes; call synchronously")}),
        );
    };
    let value = if is_json {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    } else if let Ok(text) = std::str::from_utf8(&bytes) {
        Value::String(text.to_string())
    } else {
        Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes))
    };
    (status, value)
}
