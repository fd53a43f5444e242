//! Asynchronous hub requests: a hub call with `Elements-Async-Request: true` is authenticated,
//! its result address checked (`Elements-Async-Callback-Url`, else the instance's callback URL;
//! neither → 400 naming the header), its event and notification ids assigned, and the request
//! stored on the JOBS work queue — all before the answer `{"eventId","eventStatus":
//! "dispatched"}`. The jobs worker ([`crate::jobs`]) runs it later as the synchronous call.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_core::bus::{ensure_stream, StreamKind, HDR_JOB, HDR_MSG_ID};
use herald_core::ids::{next_id, IdKind};
use herald_core::model::AsyncJob;
use serde_json::json;

use crate::auth::InstanceAuth;
use crate::error::ApiError;
use crate::state::AppState;

pub const ASYNC_HEADER: &str = "elements-async-request";
pub const CALLBACK_HEADER: &str = "elements-async-callback-url";
/// Largest body an async request may carry (it travels in one NATS message, 1 MB at most).
const BODY_LIMIT: usize = 1000 * 1000;

/// Publishes a job and waits for JetStream to store it.
async fn store_job(
    state: &AppState,
    subject: &str,
    headers: async_nats::HeaderMap,
    body: bytes::Bytes,
) -> Result<(), async_nats::Error> {
    let ack = state
        .brokers
        .js
        .publish_with_headers(subject.to_string(), headers, body)
        .await?;
    ack.await?;
    Ok(())
}

/// The middleware: async hub requests are queued, everything else passes.
pub async fn accept(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_async = req
        .headers()
        .get(ASYNC_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !is_async || !req.uri().path().starts_with("/hubs/") {
        return next.run(req).await;
    }
    match queue(&state, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn queue(state: &AppState, req: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    let auth = InstanceAuth::from_request_parts(&mut parts, state).await?;
    let inst = &auth.instance;
    let callback = parts
        .headers
        .get(CALLBACK_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .or_else(|| {
            inst.config_str("event.notification.callback.url")
                .map(str::to_string)
        })
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Elements-Async-Callback-Url is required: the instance has no callback URL".into(),
            )
        })?;
    herald_core::callback_url::check(&callback, state.allow_private_callbacks)
        .await
        .map_err(|why| ApiError::BadRequest(format!("Elements-Async-Callback-Url {why}")))?;
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!("Async requests carry at most {BODY_LIMIT} bytes"))
    })?;
    let mut conn = state.brokers.redis.clone();
    let keys = &state.brokers.keys;
    let ids = async {
        let event = next_id(&mut conn, keys, IdKind::Event).await?;
        let notification = next_id(&mut conn, keys, IdKind::Notification).await?;
        Ok::<_, redis::RedisError>((event, notification))
    };
    let (event_id, notification_id) = ids.await.map_err(herald_core::store::StoreError::from)?;
    let job = AsyncJob::HubV1 {
        event_id,
        notification_id,
        instance_id: inst.id,
        user_id: auth.user.id,
        element_key: inst.element_key.clone(),
        method: parts.method.to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| parts.uri.path().to_string()),
        content_type: parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        callback_url: callback,
        accepted_ms: herald_core::time::now_ms(),
    };
    let job_json = serde_json::to_string(&job).map_err(ApiError::Encode)?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(HDR_JOB, job_json.as_str());
    headers.insert(HDR_MSG_ID, format!("job-{event_id}").as_str());
    let unavailable = |e| ApiError::not_queued("the request", e);
    let subject = state.brokers.topo.jobs(inst.id);
    if store_job(state, &subject, headers.clone(), body.clone())
        .await
        .is_err()
    {
        // The stream may not exist yet (no jobs worker has started): make it, then once more.
        ensure_stream(&state.brokers.js, &state.brokers.topo, StreamKind::Jobs)
            .await
            .map_err(unavailable)?;
        store_job(state, &subject, headers, body)
            .await
            .map_err(unavailable)?;
    }
    Ok(Json(json!({"eventId": event_id, "eventStatus": "dispatched"})).into_response())
}
