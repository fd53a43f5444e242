//! `files/get_metadata`, `files/create_folder_v2`, `files/delete_v2`, `files/copy_v2`, each with
//! its own error union (`path`, `path_lookup`, `from_lookup` / `to`), as Dropbox answers them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::store::{metadata, untagged};
use super::wire::{self, bool_field, path_field, route_error, PathKind};
use super::{lock, FakeDropbox, Refused};

/// Runs the gate and decodes the RPC argument: the account the call acts on and the argument.
async fn open(
    f: &FakeDropbox,
    route: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(FakeDropbox, Value), Refused> {
    let account = f.gate(headers).await?;
    Ok((account, wire::rpc_arg(route, headers, body)?))
}

/// `POST /2/files/get_metadata {"path"}` → the item's metadata (with `.tag`).
pub(super) async fn get_metadata(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "files/get_metadata";
    let (f, arg) = tri!(open(&f, ROUTE, &headers, &body).await);
    let path = tri!(path_field(ROUTE, &arg, "path", PathKind::Existing, "path"));
    let g = lock(&f.inner);
    match g.key_of(path) {
        Some(key) => Json(metadata(&key, &g.items[&key])).into_response(),
        None => route_error(&["path", "not_found"]),
    }
}

/// `POST /2/files/create_folder_v2 {"path","autorename"?}` → `{"metadata"}` (a bare
/// FolderMetadata: no `.tag`). Missing parents are made, as Dropbox does.
pub(super) async fn create_folder(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "files/create_folder_v2";
    let (f, arg) = tri!(open(&f, ROUTE, &headers, &body).await);
    let path = tri!(path_field(ROUTE, &arg, "path", PathKind::Target, "path"));
    tri!(bool_field(ROUTE, &arg, "autorename", false));
    let meta = {
        let mut g = lock(&f.inner);
        if let Some(kind) = g.conflict_at(&path.to_lowercase()) {
            return route_error(&["path", "conflict", kind]);
        }
        g.put("folder", path, Bytes::new())
    };
    f.notify();
    Json(json!({"metadata": untagged(meta)})).into_response()
}

/// `POST /2/files/delete_v2 {"path"}` → `{"metadata"}` of what was deleted (with `.tag`).
pub(super) async fn delete(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "files/delete_v2";
    let (f, arg) = tri!(open(&f, ROUTE, &headers, &body).await);
    let path = tri!(path_field(
        ROUTE,
        &arg,
        "path",
        PathKind::Existing,
        "path_lookup"
    ));
    let removed = {
        let mut g = lock(&f.inner);
        g.key_of(path).and_then(|key| g.remove(&key))
    };
    match removed {
        Some(meta) => {
            f.notify();
            Json(json!({ "metadata": meta })).into_response()
        }
        None => route_error(&["path_lookup", "not_found"]),
    }
}

/// `POST /2/files/copy_v2 {"from_path","to_path","autorename"?}` → `{"metadata"}` of the copy
/// (with `.tag`); a folder is copied with everything in it, every copy with a new id.
pub(super) async fn copy(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "files/copy_v2";
    let (f, arg) = tri!(open(&f, ROUTE, &headers, &body).await);
    let from = tri!(path_field(
        ROUTE,
        &arg,
        "from_path",
        PathKind::Existing,
        "from_lookup"
    ));
    let to = tri!(path_field(ROUTE, &arg, "to_path", PathKind::Target, "to"));
    tri!(bool_field(ROUTE, &arg, "autorename", false));
    let meta = {
        let mut g = lock(&f.inner);
        let Some(from_key) = g.key_of(from) else {
            return route_error(&["from_lookup", "not_found"]);
        };
        let to_key = to.to_lowercase();
        if to_key.starts_with(&format!("{from_key}/")) {
            return route_error(&["cant_move_folder_into_itself"]);
        }
        if let Some(kind) = g.conflict_at(&to_key) {
            return route_error(&["to", "conflict", kind]);
        }
        g.copy(&from_key, to)
    };
    f.notify();
    Json(json!({ "metadata": meta })).into_response()
}
