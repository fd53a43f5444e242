//! File content: the upload host's `POST /api/2.0/files/content` and downloads.
//!
//! An upload is `multipart/form-data` whose `attributes` part (JSON `{"name","parent":{"id"}}`)
//! comes before the `file` part — Box reads the attributes first and refuses the other order
//! with 400 `metadata_after_file_contents`. It answers 201 `{"total_count":1,"entries":[file]}`;
//! a name in use is 409 `item_name_in_use` with the clashing item as `context_info.conflicts`
//! (one object for uploads, where folder creation lists them).
//!
//! `GET /2.0/files/{id}/content` answers 302 to a short-lived URL on Box's download host
//! (`/__dl/{token}` here), which needs no token and serves the bytes of that version.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::items::check_name;
use super::tree::Kind;
use super::{box_error, box_error_with, lock, not_found, FakeBox, Refused};

fn bad_request(message: &str) -> Response {
    box_error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// The parts of a form, in order: (name, bytes).
async fn parts(mut form: Multipart) -> Result<Vec<(String, Bytes)>, Refused> {
    let mut got = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| Refused::from(bad_request("Malformed multipart body")))?;
                got.push((name, bytes));
            }
            Ok(None) => return Ok(got),
            Err(_) => return Err(bad_request("Malformed multipart body").into()),
        }
    }
}

/// `attributes` and `file` of an upload, checked for Box's order.
fn attributes_then_file(parts: &[(String, Bytes)]) -> Result<(Value, Bytes), Refused> {
    let at = |n: &str| parts.iter().position(|(name, _)| name == n);
    let (attributes, file) = match (at("attributes"), at("file")) {
        (Some(a), Some(f)) if a < f => (&parts[a].1, parts[f].1.clone()),
        (Some(_), Some(_)) => {
            return Err(box_error(
                StatusCode::BAD_REQUEST,
                "metadata_after_file_contents",
                "Metadata must be sent before file contents in a multipart upload",
            )
            .into())
        }
        (None, _) => return Err(bad_request("Missing 'attributes' part").into()),
        (_, None) => return Err(bad_request("Missing 'file' part").into()),
    };
    let attributes = serde_json::from_slice::<Value>(attributes)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| Refused::from(bad_request("Invalid 'attributes' JSON")))?;
    Ok((attributes, file))
}

/// `POST /api/2.0/files/content` (multipart: `attributes`, then `file`) → 201.
pub(super) async fn upload(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let Ok(form) = form else {
        return bad_request("Expected a multipart/form-data body");
    };
    let parts = match parts(form).await {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let (attributes, bytes) = match attributes_then_file(&parts) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let name = attributes["name"].as_str().unwrap_or_default();
    let Some(parent) = attributes["parent"]["id"].as_str() else {
        return bad_request("'parent' is required");
    };
    if let Err(refused) = check_name(name) {
        return *refused;
    }
    let mut t = lock(&f.tree);
    if !t.is_folder(parent) {
        return not_found();
    }
    if let Some(other) = t.clash(parent, name) {
        return box_error_with(
            StatusCode::CONFLICT,
            "item_name_in_use",
            "Item with the same name already exists",
            json!({"conflicts": t.mini(&other)}),
        );
    }
    let id = t.add(Kind::File, parent, name, bytes);
    let answer = json!({"total_count": 1, "entries": [t.full(&id)]});
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// `GET /2.0/files/{id}/content` → 302 to the download host.
pub(super) async fn download(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let Some(node) = lock(&f.tree).node(&id, Kind::File).cloned() else {
        return not_found();
    };
    let token = crate::webhook_sender::fresh_uuid().replace('-', "");
    lock(&f.downloads).insert(token.clone(), (node.name, node.bytes));
    // The host the caller reached this fake by (the fake may be bound to 0.0.0.0).
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| f.url(), |h| format!("http://{h}"));
    let location = format!("{host}/__dl/{token}");
    (StatusCode::FOUND, [("Location", location)]).into_response()
}

/// `GET /__dl/{token}` (the download host, no bearer token) → the bytes.
pub(super) async fn download_host(State(f): State<FakeBox>, Path(token): Path<String>) -> Response {
    let Some((name, bytes)) = lock(&f.downloads).get(&token).cloned() else {
        return not_found();
    };
    let disposition = format!(
        "attachment;filename=\"{}\"",
        name.replace(|c: char| !c.is_ascii() || c == '"', "_")
    );
    (
        StatusCode::OK,
        [
            ("Content-Type", "application/octet-stream".to_string()),
            ("Content-Disposition", disposition),
        ],
        bytes,
    )
        .into_response()
}
