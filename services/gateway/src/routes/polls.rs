//! `POST /instances/{id}/events/poll`: poll now (queues a manual poll job), and the poll status
//! shown on an instance.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use herald_core::model::{InstanceRecord, PollJob};
use herald_core::store::polls;
use herald_core::time::{ms_to_rfc3339, now_ms};
use serde_json::{json, Value};

use super::instances::owned;
use crate::auth::PlatformAuth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn poll_now(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let rec = owned(&state, auth.user.id, &id).await?;
    let mut conn = state.brokers.redis.clone();
    if polls::next_slot(&mut conn, &state.brokers.keys, rec.id)
        .await?
        .is_none()
    {
        return Err(ApiError::Conflict(format!(
            "Instance {} does not poll (events on, enabled, event.vendor.type polling)",
            rec.id
        )));
    }
    let now = now_ms();
    let job = PollJob::V1 {
        instance_id: rec.id,
        slot_ms: now,
        manual: true,
    };
    let payload = serde_json::to_vec(&job).map_err(ApiError::Encode)?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        herald_core::bus::HDR_MSG_ID,
        format!("poll-{}-manual-{now}", rec.id).as_str(),
    );
    let unavailable = |e| ApiError::not_queued("the poll", e);
    let ack = state
        .brokers
        .js
        .publish_with_headers(state.brokers.topo.polls(rec.id), headers, payload.into())
        .await
        .map_err(unavailable)?;
    ack.await.map_err(unavailable)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"instanceId": rec.id, "status": "queued"})),
    ))
}

/// The instance's poll status, if it polls or has polled.
pub async fn status(state: &AppState, rec: &InstanceRecord) -> Result<Option<Value>, ApiError> {
    let mut conn = state.brokers.redis.clone();
    let keys = &state.brokers.keys;
    let s = polls::status(&mut conn, keys, rec.id).await?;
    let next = polls::next_slot(&mut conn, keys, rec.id).await?;
    if s.is_empty() && next.is_none() {
        return Ok(None);
    }
    Ok(Some(json!({
        "lastPoll": s.get("last_poll"),
        "lastSuccess": s.get("last_success"),
        "lastError": s.get("last_error"),
        "consecutiveFailures": s.get("failures").and_then(|f| f.parse::<u64>().ok()).unwrap_or(0),
        "nextPoll": next.map(ms_to_rfc3339),
    })))
}
