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

const MAX_PAGE: usize = 200;
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
