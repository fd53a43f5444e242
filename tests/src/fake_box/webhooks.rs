//! Box's webhooks v2 API (`PROVIDERS.md` § Box): `POST /2.0/webhooks`, `GET /2.0/webhooks`
//! (marker paging, mini objects as Box lists them), `GET|PUT|DELETE /2.0/webhooks/{id}`, all
//! bearer-checked. One webhook per target (409 `conflict`), never on folder `0`, an absolute
//! http(s) address (http allowed: tests run on loopback) and known triggers only (400
//! `bad_request`). Box's item existence check is not modelled: any target id is accepted.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{box_error, lock, not_found, unauthorized, FakeBox};

/// Every trigger Box documents (the families `PROVIDERS.md` abbreviates with `*` spelled out).
const TRIGGERS: &[&str] = &[
    "FILE.UPLOADED",
    "FILE.PREVIEWED",
    "FILE.DOWNLOADED",
    "FILE.TRASHED",
    "FILE.DELETED",
    "FILE.RESTORED",
    "FILE.COPIED",
    "FILE.MOVED",
    "FILE.LOCKED",
    "FILE.UNLOCKED",
    "FILE.RENAMED",
    "FOLDER.CREATED",
    "FOLDER.RENAMED",
    "FOLDER.DOWNLOADED",
    "FOLDER.RESTORED",
    "FOLDER.DELETED",
    "FOLDER.COPIED",
    "FOLDER.MOVED",
    "FOLDER.TRASHED",
    "COMMENT.CREATED",
    "COMMENT.UPDATED",
    "COMMENT.DELETED",
    "COLLABORATION.CREATED",
    "COLLABORATION.ACCEPTED",
    "COLLABORATION.REJECTED",
    "COLLABORATION.REMOVED",
    "COLLABORATION.UPDATED",
    "SHARED_LINK.CREATED",
    "SHARED_LINK.UPDATED",
    "SHARED_LINK.DELETED",
    "METADATA_INSTANCE.CREATED",
    "METADATA_INSTANCE.UPDATED",
    "METADATA_INSTANCE.DELETED",
    "TASK_ASSIGNMENT.CREATED",
    "TASK_ASSIGNMENT.UPDATED",
    "SIGN_REQUEST.COMPLETED",
    "SIGN_REQUEST.DECLINED",
    "SIGN_REQUEST.EXPIRED",
    "SIGN_REQUEST.SIGNER_EMAIL_BOUNCED",
    "WEBHOOK.DELETED",
];

/// Box's page size for `GET /2.0/webhooks` unless `limit` asks otherwise (max 200).
const DEFAULT_LIMIT: usize = 100;

fn bad_request(message: &str) -> Response {
    box_error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// Validation refusals are 400 `bad_request` with this message.
type Checked<T> = Result<T, String>;

fn valid_target(t: &Value) -> Checked<Value> {
    let id = t["id"].as_str().filter(|s| !s.is_empty());
    let kind = t["type"]
        .as_str()
        .filter(|k| matches!(*k, "file" | "folder"));
    match (id, kind) {
        (Some("0"), Some("folder")) => {
            Err("Webhooks cannot be created on the root folder (id 0).".into())
        }
        (Some(id), Some(kind)) => Ok(json!({"id": id, "type": kind})),
        _ => Err("target must be {\"id\": \"<string id>\", \"type\": \"file\"|\"folder\"}".into()),
    }
}

fn valid_address(a: &Value) -> Checked<String> {
    let ok = a.as_str().filter(|s| {
        url::Url::parse(s)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
    });
    ok.map(str::to_string)
        .ok_or_else(|| "address must be an absolute http(s) URL".into())
}

fn valid_triggers(t: &Value) -> Checked<Vec<String>> {
    let Some(list) = t.as_array().filter(|l| !l.is_empty()) else {
        return Err("triggers must be a non-empty array".into());
    };
    list.iter()
        .map(|v| match v.as_str() {
            Some(s) if TRIGGERS.contains(&s) => Ok(s.to_string()),
            _ => Err(format!("Invalid trigger: {v}")),
        })
        .collect()
}

fn parse_body(body: &Bytes) -> Checked<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| "Invalid JSON body".into())
}

/// The id of a live webhook other than `except` already on `target`.
fn holder(hooks: &[Value], target: &Value, except: &str) -> Option<String> {
    hooks
        .iter()
        .find(|h| h["target"] == *target && h["id"] != except)
        .and_then(|h| h["id"].as_str())
        .map(str::to_string)
}

fn conflict(id: &str) -> Response {
    let message = format!("Webhook:{id} already exists on the specified target.");
    box_error(StatusCode::CONFLICT, "conflict", &message)
}

pub(super) async fn create(State(f): State<FakeBox>, headers: HeaderMap, body: Bytes) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let checked = parse_body(&body).and_then(|b| {
        Ok((
            valid_target(&b["target"])?,
            valid_address(&b["address"])?,
            valid_triggers(&b["triggers"])?,
        ))
    });
    let (target, address, triggers) = match checked {
        Ok(c) => c,
        Err(message) => return bad_request(&message),
    };
    let mut g = lock(&f.hooks);
    if let Some(existing) = holder(&g.live, &target, "") {
        return conflict(&existing);
    }
    g.next += 1;
    let hook = json!({
        "id": format!("{}", 4_000_000 + g.next),
        "type": "webhook",
        "target": target,
        "address": address,
        "triggers": triggers,
        "created_at": super::deliveries::box_time(chrono::Utc::now()),
        "created_by": {"type": "user", "id": f.user_id, "name": "Box User", "login": "user@example.com"},
    });
    g.live.push(hook.clone());
    (StatusCode::CREATED, Json(hook)).into_response()
}

pub(super) async fn list(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(l)) if (1..=200).contains(&l) => l,
        Some(_) => return bad_request("limit must be between 1 and 200"),
    };
    let start = match q.get("marker").map(|m| m.parse::<usize>()) {
        None => 0,
        Some(Ok(m)) => m,
        Some(Err(_)) => return bad_request("Invalid marker"),
    };
    let g = lock(&f.hooks);
    let end = (start + limit).min(g.live.len());
    // Box lists webhooks as mini objects: no address, triggers or creator.
    let entries: Vec<Value> = g.live[start.min(end)..end]
        .iter()
        .map(|h| json!({"id": h["id"], "type": "webhook", "target": h["target"]}))
        .collect();
    let next_marker = (end < g.live.len()).then(|| end.to_string());
    Json(json!({"entries": entries, "limit": limit, "next_marker": next_marker})).into_response()
}

pub(super) async fn show(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    match lock(&f.hooks).live.iter().find(|h| h["id"] == id.as_str()) {
        Some(h) => Json(h.clone()).into_response(),
        None => not_found(),
    }
}

/// `PUT /2.0/webhooks/{id}`: any of `target`, `address`, `triggers`, each validated as on create.
pub(super) async fn update(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let checked = parse_body(&body).and_then(|body| {
        let mut changes = Vec::new();
        if let Some(v) = body.get("target") {
            changes.push(("target", valid_target(v)?));
        }
        if let Some(v) = body.get("address") {
            changes.push(("address", valid_address(v)?.into()));
        }
        if let Some(v) = body.get("triggers") {
            changes.push(("triggers", valid_triggers(v)?.into()));
        }
        Ok(changes)
    });
    let changes = match checked {
        Ok(c) => c,
        Err(message) => return bad_request(&message),
    };
    let mut g = lock(&f.hooks);
    if let Some((_, target)) = changes.iter().find(|(k, _)| *k == "target") {
        if let Some(existing) = holder(&g.live, target, &id) {
            return conflict(&existing);
        }
    }
    let Some(hook) = g.live.iter_mut().find(|h| h["id"] == id.as_str()) else {
        return not_found();
    };
    for (field, v) in changes {
        hook[field] = v;
    }
    Json(hook.clone()).into_response()
}

pub(super) async fn remove(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let mut g = lock(&f.hooks);
    let before = g.live.len();
    g.live.retain(|h| h["id"] != id.as_str());
    if g.live.len() == before {
        return not_found();
    }
    g.deleted.push(id);
    StatusCode::NO_CONTENT.into_response()
}
