//! Box's folders and files API by id: `GET /2.0/folders/{id}` (and `/items`, paged by offset),
//! `POST /2.0/folders`, `DELETE /2.0/folders/{id}?recursive=`, `POST /2.0/folders/{id}/copy`,
//! `GET|DELETE /2.0/files/{id}`. Names are unique in a folder without regard to case, across
//! folders and files (409 `item_name_in_use`, the clashing items in `context_info.conflicts`).
//! A folder id that names a file (or the reverse) is 404, as Box answers.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::tree::{Kind, Tree, ROOT};
use super::{box_error, box_error_with, lock, not_found, FakeBox, Refused};

/// Box's default page and its maximum for folder listings.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

fn bad_request(message: &str) -> Response {
    box_error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// 409 `item_name_in_use` naming the clashing item (`conflicts` is a list for folders).
pub(super) fn name_in_use(conflicts: Value) -> Response {
    box_error_with(
        StatusCode::CONFLICT,
        "item_name_in_use",
        "Item with the same name already exists",
        json!({ "conflicts": conflicts }),
    )
}

/// Box's rules for a new item's name: 400 `item_name_invalid` / `item_name_too_long`.
pub(super) fn check_name(name: &str) -> Result<(), Refused> {
    if name.is_empty() {
        return Err(bad_request("'name' is required").into());
    }
    let invalid = name.contains('/')
        || name.contains('\\')
        || name == "."
        || name == ".."
        || name.trim() != name;
    if invalid {
        return Err(box_error(
            StatusCode::BAD_REQUEST,
            "item_name_invalid",
            "Item name invalid",
        )
        .into());
    }
    if name.chars().count() > 255 {
        return Err(box_error(
            StatusCode::BAD_REQUEST,
            "item_name_too_long",
            "Item name too long",
        )
        .into());
    }
    Ok(())
}

fn parse_object(body: &[u8]) -> Result<Value, Refused> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| bad_request("Invalid JSON body").into())
}

/// `parent.id` of a request body, which must name a folder: 400 when missing, 404 unknown.
fn parent_folder(t: &Tree, body: &Value) -> Result<String, Refused> {
    let Some(parent) = body["parent"]["id"].as_str() else {
        return Err(bad_request("'parent' is required").into());
    };
    if !t.is_folder(parent) {
        return Err(not_found().into());
    }
    Ok(parent.to_string())
}

/// `GET /2.0/folders/{id}` → the full folder (or the mini one plus `fields`).
pub(super) async fn get_folder(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let t = lock(&f.tree);
    if !t.is_folder(&id) {
        return not_found();
    }
    let mut v = t.with_fields(&id, q.get("fields").map(String::as_str));
    if !q.contains_key("fields") {
        let children = t.children(&id);
        let entries: Vec<Value> = children
            .iter()
            .take(DEFAULT_LIMIT)
            .map(|c| t.mini(c))
            .collect();
        v["item_collection"] = json!({"total_count": children.len(), "entries": entries,
            "offset": 0, "limit": DEFAULT_LIMIT});
    }
    Json(v).into_response()
}

/// `GET /2.0/folders/{id}/items?limit=&offset=&fields=` → a page of mini objects (plus any
/// requested fields), folders before files.
pub(super) async fn folder_items(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let number = |key: &str, default: usize| match q.get(key) {
        None => Ok(default),
        Some(s) => s.parse::<usize>().map_err(|_| {
            Refused::from(bad_request(&format!(
                "Invalid value '{s}' for query parameter '{key}'"
            )))
        }),
    };
    let (limit, offset) = match (number("limit", DEFAULT_LIMIT), number("offset", 0)) {
        (Ok(l), Ok(o)) => (l.clamp(1, MAX_LIMIT), o),
        (Err(refused), _) | (_, Err(refused)) => return *refused,
    };
    let t = lock(&f.tree);
    if !t.is_folder(&id) {
        return not_found();
    }
    let children = t.children(&id);
    let fields = q.get("fields").map(String::as_str);
    let entries: Vec<Value> = children
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| match fields {
            Some(_) => t.with_fields(c, fields),
            None => t.mini(c),
        })
        .collect();
    Json(json!({
        "total_count": children.len(),
        "entries": entries,
        "offset": offset,
        "limit": limit,
        "order": [{"by": "type", "direction": "ASC"}, {"by": "name", "direction": "ASC"}],
    }))
    .into_response()
}

/// `POST /2.0/folders {"name","parent":{"id"}}` → 201 the full folder.
pub(super) async fn create_folder(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(refused) => return *refused,
    };
    let name = body["name"].as_str().unwrap_or_default();
    let mut t = lock(&f.tree);
    let parent = match parent_folder(&t, &body) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    if let Err(refused) = check_name(name) {
        return *refused;
    }
    if let Some(other) = t.clash(&parent, name) {
        return name_in_use(json!([t.mini(&other)]));
    }
    let id = t.add(Kind::Folder, &parent, name, Bytes::new());
    (StatusCode::CREATED, Json(t.full(&id))).into_response()
}

/// `DELETE /2.0/folders/{id}?recursive=true` → 204; a non-empty folder needs `recursive`.
pub(super) async fn delete_folder(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let mut t = lock(&f.tree);
    if id == ROOT {
        return bad_request("The root folder cannot be deleted");
    }
    if t.node(&id, Kind::Folder).is_none() {
        return not_found();
    }
    let recursive = q.get("recursive").is_some_and(|r| r == "true");
    if !recursive && !t.children(&id).is_empty() {
        return box_error(
            StatusCode::BAD_REQUEST,
            "folder_not_empty",
            "Cannot delete – folder not empty",
        );
    }
    t.remove(&id);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /2.0/folders/{id}/copy {"parent":{"id"},"name"?}` → 201 the full new folder.
pub(super) async fn copy_folder(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(refused) => return *refused,
    };
    let mut t = lock(&f.tree);
    if id == ROOT {
        return bad_request("The root folder cannot be copied");
    }
    let Some(source) = t.node(&id, Kind::Folder).cloned() else {
        return not_found();
    };
    let parent = match parent_folder(&t, &body) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let name = body["name"].as_str().unwrap_or(&source.name).to_string();
    if let Err(refused) = check_name(&name) {
        return *refused;
    }
    if t.within(&parent, &id) {
        return bad_request("Cannot copy a folder into itself");
    }
    if let Some(other) = t.clash(&parent, &name) {
        return name_in_use(json!([t.mini(&other)]));
    }
    let copy = t.copy(&id, &parent, &name);
    (StatusCode::CREATED, Json(t.full(&copy))).into_response()
}

/// `GET /2.0/files/{id}` → the full file (or the mini one plus `fields`).
pub(super) async fn get_file(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let t = lock(&f.tree);
    if t.node(&id, Kind::File).is_none() {
        return not_found();
    }
    Json(t.with_fields(&id, q.get("fields").map(String::as_str))).into_response()
}

/// `DELETE /2.0/files/{id}` → 204.
pub(super) async fn delete_file(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = f.gate(&headers) {
        return refused;
    }
    let mut t = lock(&f.tree);
    if t.node(&id, Kind::File).is_none() {
        return not_found();
    }
    t.remove(&id);
    StatusCode::NO_CONTENT.into_response()
}
