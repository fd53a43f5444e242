//! The events API: delivery records of the caller's notifications.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_core::model::{EventRecord, EventStatus};
use herald_core::store::events::{self, ListFilter};
use herald_core::time::{ms_to_rfc3339, parse_rfc3339_ms};
use serde_json::{json, Value};

use super::instances::owned;
use crate::auth::PlatformAuth;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) const MAX_PAGE: usize = 200;
const NEXT_PAGE_HEADER: &str = "Elements-Next-Page-Token";

fn view(r: &EventRecord) -> Value {
    json!({
        "id": r.id,
        "notificationId": r.notification_id,
        "instanceId": r.instance_id,
        "elementKey": r.element_key,
        "eventDate": ms_to_rfc3339(r.event_date_ms),
        "status": r.status.as_str(),
        "attempts": r.attempts,
        "lastAttempt": r.last_attempt,
        "nextAttempt": r.next_attempt_ms.filter(|_| r.status == EventStatus::Retrying).map(ms_to_rfc3339),
        "failureReason": r.failure_reason.clone().filter(|_| r.status == EventStatus::Failed),
    })
}

fn filter(q: &HashMap<String, String>) -> Result<ListFilter, ApiError> {
    let date = |name: &str| -> Result<Option<i64>, ApiError> {
        q.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                parse_rfc3339_ms(v)
                    .ok_or_else(|| ApiError::BadRequest(format!("{name} must be an RFC 3339 date")))
            })
            .transpose()
    };
    let status = q
        .get("status")
        .filter(|v| !v.is_empty())
        .map(|s| {
            EventStatus::parse(s).ok_or_else(|| {
                ApiError::BadRequest(
                    "status must be RECEIVED, DISPATCHED, NOTIFIED, RETRYING or FAILED".into(),
                )
            })
        })
        .transpose()?;
    let page_size = match q.get("pageSize").filter(|v| !v.is_empty()) {
        None => 50,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::BadRequest(format!("pageSize must be 1..={MAX_PAGE}")))?,
    };
    let offset = match q.get("nextPage").filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::BadRequest("nextPage is not a valid page token".into()))?,
    };
    Ok(ListFilter {
        status,
        from_ms: date("from")?,
        to_ms: date("to")?,
        page_size,
        offset,
    })
}

async fn page(
    state: &AppState,
    index: String,
    q: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let f = filter(q)?;
    let mut conn = state.brokers.redis.clone();
    let (items, next) = events::list(&mut conn, &state.brokers.keys, &index, &f).await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = next {
        if let Ok(v) = next.to_string().parse() {
            headers.insert(NEXT_PAGE_HEADER, v);
        }
    }
    Ok((
        headers,
        Json(Value::Array(items.iter().map(view).collect())),
    )
        .into_response())
}

pub async fn list_for_instance(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let rec = owned(&state, auth.user.id, &id).await?;
    page(&state, state.brokers.keys.instance_events(rec.id), &q).await
}

pub async fn list_for_user(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    page(&state, state.brokers.keys.user_events(auth.user.id), &q).await
}

pub async fn get_one(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(event_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::NotFound(format!("No event {event_id}"));
    let id: u64 = event_id.parse().map_err(|_| not_found())?;
    let mut conn = state.brokers.redis.clone();
    let keys = &state.brokers.keys;
    let rec = events::get(&mut conn, keys, id)
        .await?
        .filter(|r| r.user_id == auth.user.id)
        .ok_or_else(not_found)?;
    let attempts = events::attempts(&mut conn, keys, id).await?;
    let mut v = view(&rec);
    let parse =
        |s: &str| serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.to_string()));
    v["providerData"] = parse(&rec.provider_data);
    v["notifiedData"] = parse(&rec.body);
    v["deliveryAttempts"] = json!(attempts);
    Ok(Json(v))
}

/// Most notifications one replay call sends (in one message, one after the other).
const MAX_REPLAY: usize = 1000;

/// Queues a resend of one notification (same body and ids).
async fn queue_resend(
    state: &AppState,
    event_id: u64,
    instance_id: u64,
    replay: bool,
    tag: &str,
) -> Result<(), ApiError> {
    let msg = herald_core::model::NotificationMessage::ResendV1 {
        event_id,
        instance_id,
        replay,
    };
    publish_events_message(state, instance_id, &msg, &format!("{tag}-{event_id}")).await
}

/// Publishes a message on the instance's EVENTS subject and waits for JetStream to store it.
async fn publish_events_message(
    state: &AppState,
    instance_id: u64,
    msg: &herald_core::model::NotificationMessage,
    msg_id: &str,
) -> Result<(), ApiError> {
    let payload = serde_json::to_vec(msg).map_err(ApiError::Encode)?;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(herald_core::bus::HDR_MSG_ID, msg_id);
    let unavailable = |e| ApiError::not_queued("it", e);
    let ack = state
        .brokers
        .js
        .publish_with_headers(
            state.brokers.topo.events(instance_id),
            headers,
            payload.into(),
        )
        .await
        .map_err(unavailable)?;
    ack.await.map_err(unavailable)?;
    Ok(())
}

/// `POST /instances/events/{eventId}/retry`: send it once more now.
pub async fn retry(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(event_id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let not_found = || ApiError::NotFound(format!("No event {event_id}"));
    let id: u64 = event_id.parse().map_err(|_| not_found())?;
    let mut conn = state.brokers.redis.clone();
    let rec = events::get(&mut conn, &state.brokers.keys, id)
        .await?
        .filter(|r| r.user_id == auth.user.id)
        .ok_or_else(not_found)?;
    let tag = format!("retry-{}", herald_core::time::now_ms());
    queue_resend(&state, rec.id, rec.instance_id, false, &tag).await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(json!({"eventId": rec.id, "status": "queued"})),
    ))
}

/// `POST /instances/{id}/events/replay` `{"from", "to"?}`: resend every notification of the
/// instance with `eventDate` in `[from, to)`, in order, marked `Elements-Replay: true`.
pub async fn replay(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let rec = owned(&state, auth.user.id, &id).await?;
    let body: Value = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::BadRequest(format!("Invalid body: {e}")))?;
    let date = |name: &str| -> Result<Option<i64>, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_rfc3339_ms(s)
                .map(Some)
                .ok_or_else(|| ApiError::BadRequest(format!("{name} must be an RFC 3339 date"))),
            Some(_) => Err(ApiError::BadRequest(format!(
                "{name} must be an RFC 3339 date"
            ))),
        }
    };
    let from =
        date("from")?.ok_or_else(|| ApiError::BadRequest("from is required (RFC 3339)".into()))?;
    let to = date("to")?.unwrap_or_else(herald_core::time::now_ms);
    let filter = ListFilter {
        from_ms: Some(from),
        to_ms: Some(to),
        page_size: usize::MAX,
        ..Default::default()
    };
    let mut conn = state.brokers.redis.clone();
    let keys = &state.brokers.keys;
    let (items, _) = events::list(&mut conn, keys, &keys.instance_events(rec.id), &filter).await?;
    if items.len() > MAX_REPLAY {
        return Err(ApiError::BadRequest(format!(
            "A replay sends at most {MAX_REPLAY} notifications; [from, to) holds {}: narrow it",
            items.len()
        )));
    }
    let mut event_ids: Vec<u64> = items.iter().map(|i| i.id).collect();
    event_ids.sort_unstable();
    let msg = herald_core::model::NotificationMessage::ReplayV1 {
        instance_id: rec.id,
        event_ids,
    };
    publish_events_message(
        &state,
        rec.id,
        &msg,
        &format!("replay-{}-{}", rec.id, herald_core::time::now_ms()),
    )
    .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(json!({"replayed": items.len()})),
    ))
}
