//! The library's routes [assumed API, see the module above] and the test helpers that change
//! the library "at DocuShare" directly.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::tree::{parent_of, valid_path, within, Kind};
use super::{invalid_token, lock, Documents, Inner};
use crate::fake_oauth_apps::FakeOAuthApp;

/// A route's refusal, already built (boxed: a `Response` is large for an `Err`).
type Refused = Box<Response>;

/// Uploads larger than this are refused (413) before they reach a handler.
const UPLOAD_LIMIT: usize = 256 * 1024 * 1024;

/// The library's routes, for the DocuShare Flex app's router.
pub fn routes() -> Router<FakeOAuthApp> {
    Router::new()
        .route("/api/v1/folders/contents", get(contents))
        .route("/api/v1/folders", post(create_folder).delete(delete_folder))
        .route("/api/v1/folders/copy", post(copy_folder))
        .route(
            "/api/v1/files",
            put(upload).get(download).delete(delete_file),
        )
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT))
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

fn not_found(path: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("No object at {path}"),
    )
}

fn conflict(path: &str) -> Response {
    error(
        StatusCode::CONFLICT,
        "conflict",
        format!("An object already exists at {path}"),
    )
}

fn not_a_collection(path: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "not_a_collection",
        format!("{path} is a document, not a collection"),
    )
}

fn not_a_document(path: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "not_a_document",
        format!("{path} is a collection, not a document"),
    )
}

fn invalid_path(message: String) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_path", message)
}

/// Delay, bearer token and injected faults, as every route starts.
async fn gate(f: &FakeOAuthApp, headers: &HeaderMap) -> Option<Response> {
    let delay = lock(&f.docs).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if !f.oauth.bearer_ok(headers) {
        return Some(invalid_token());
    }
    lock(&f.docs).injected_fault()
}

/// A valid path from a query parameter or body field.
fn path_arg(value: Option<&str>, field: &str) -> Result<String, Refused> {
    let Some(path) = value else {
        return Err(invalid_path(format!("{field} is required")).into());
    };
    valid_path(path)
        .map(str::to_string)
        .map_err(|m| invalid_path(m).into())
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refused) => return *refused,
        }
    };
}

impl Inner {
    /// Where a new object can go at `path`: 409 if taken, 404 / 400 for a missing parent or
    /// a document parent.
    fn check_new(&self, path: &str) -> Result<(), Refused> {
        if self.kind_at(path).is_some() {
            return Err(conflict(path).into());
        }
        let parent = parent_of(path);
        match self.kind_at(parent) {
            None => Err(not_found(parent).into()),
            Some(Kind::Document) => Err(not_a_collection(parent).into()),
            Some(Kind::Collection) => Ok(()),
        }
    }

    /// The object at `path`, which must be of `kind`.
    fn check_is(&self, path: &str, kind: Kind) -> Result<(), Refused> {
        match (self.kind_at(path), kind) {
            (None, _) => Err(not_found(path).into()),
            (Some(k), _) if k == kind => Ok(()),
            (Some(_), Kind::Collection) => Err(not_a_collection(path).into()),
            (Some(_), Kind::Document) => Err(not_a_document(path).into()),
        }
    }
}

type Params = Query<HashMap<String, String>>;

/// `GET /api/v1/folders/contents?path=` → `{"items":[…]}`.
async fn contents(State(f): State<FakeOAuthApp>, headers: HeaderMap, q: Params) -> Response {
    if let Some(refused) = gate(&f, &headers).await {
        return refused;
    }
    let path = tri!(path_arg(q.get("path").map(String::as_str), "path"));
    let g = lock(&f.docs);
    tri!(g.check_is(&path, Kind::Collection));
    Json(json!({ "items": g.contents(&path) })).into_response()
}

fn body_object(body: &[u8]) -> Result<Value, Refused> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "The body must be a JSON object".into(),
            )
            .into()
        })
}

/// `POST /api/v1/folders {"path"}` → 201 the collection.
async fn create_folder(State(f): State<FakeOAuthApp>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = gate(&f, &headers).await {
        return refused;
    }
    let body = tri!(body_object(&body));
    let path = tri!(path_arg(body["path"].as_str(), "path"));
    let mut g = lock(&f.docs);
    tri!(g.check_new(&path));
    g.add(Kind::Collection, &path, Bytes::new(), "");
    (StatusCode::CREATED, Json(g.item(&path))).into_response()
}

/// `DELETE /api/v1/folders?path=` → 204, with everything in it.
async fn delete_folder(State(f): State<FakeOAuthApp>, headers: HeaderMap, q: Params) -> Response {
    if let Some(refused) = gate(&f, &headers).await {
        return refused;
    }
    let path = tri!(path_arg(q.get("path").map(String::as_str), "path"));
    if path == "/" {
        return invalid_path("The root collection cannot be deleted".into());
    }
    let mut g = lock(&f.docs);
    tri!(g.check_is(&path, Kind::Collection));
    g.remove(&path);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /api/v1/folders/copy {"from","to"}` → 201 the new collection.
async fn copy_folder(State(f): State<FakeOAuthApp>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = gate(&f, &headers).await {
        return refused;
    }
    let body = tri!(body_object(&body));
    let from = tri!(path_arg(body["from"].as_str(), "from"));
    let to = tri!(path_arg(body["to"].as_str(), "to"));
    let mut g = lock(&f.docs);
    if from == "/" || within(&to, &from) {
        return invalid_path(format!("{from} cannot be copied into {to}"));
    }
    tri!(g.check_is(&from, Kind::Collection));
    tri!(g.check_new(&to));
    g.copy(&from, &to);
    (StatusCode::CREATED, Json(g.item(&to))).into_response()
}

/// `PUT /api/v1/files?path=` with the bytes → 201 the document.
async fn upload(
    State(f): State<FakeOAuthApp>,
    headers: HeaderMap,
    q: Params,
    body: Bytes,
) -> Response {
    if let Some(refused) = gate(&f, &headers).await {
        return refused;
    }
    let path = tri!(path_arg(q.get("path").map(String::as_str), "path"));
    if path == "/" {
        return conflict(&path);
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut g = lock(&f.docs);
    tri!(g.check_new(&path));
    g.add(Kind::Document, &path, body, &content_type);
    (StatusCode::CREATED, Json(g.item(&path))).into_response()
}

/// `GET /api/v1/files?path=` → the bytes, with the content type they were stored with.
async fn download(State(f): State<FakeOAuthApp>, headers: HeaderMap, q: Params) -> Response {
    if let Some(refused) = gate(&f, &headers).await {
        return refused;
    }
    let path = tri!(path_arg(q.get("path").map(String::as_str), "path"));
    let g = lock(&f.docs);
    tri!(g.check_is(&path, Kind::Document));
    let o = &g.objects[&path];
    (
        StatusCode::OK,
        [("Content-Type", o.content_type.clone())],
        o.bytes.clone(),
    )
        .into_response()
}

/// `DELETE /api/v1/files?path=` → 204.
async fn delete_file(State(f): State<FakeOAuthApp>, headers: HeaderMap, q: Params) -> Response {
    if let Some(refused) = gate(&f, &headers).await {
        return refused;
    }
    let path = tri!(path_arg(q.get("path").map(String::as_str), "path"));
    let mut g = lock(&f.docs);
    tri!(g.check_is(&path, Kind::Document));
    g.remove(&path);
    StatusCode::NO_CONTENT.into_response()
}

impl Documents {
    /// Every collection and document path, sorted.
    pub fn paths(&self) -> Vec<String> {
        lock(self).objects.keys().cloned().collect()
    }

    /// The bytes of the document at `path`.
    pub fn file_bytes(&self, path: &str) -> Option<Vec<u8>> {
        lock(self)
            .objects
            .get(path)
            .filter(|o| o.kind == Kind::Document)
            .map(|o| o.bytes.to_vec())
    }

    /// A collection made at DocuShare directly, with any missing parent.
    pub fn put_collection(&self, path: &str) {
        let mut g = lock(self);
        let mut at = String::new();
        for name in path.split('/').filter(|s| !s.is_empty()) {
            at = format!("{at}/{name}");
            match g.kind_at(&at) {
                None => g.add(Kind::Collection, &at, Bytes::new(), ""),
                Some(Kind::Collection) => {}
                Some(Kind::Document) => panic!("{at} is a document"),
            }
        }
    }

    /// A document uploaded at DocuShare directly (parents made if missing); returns its
    /// handle. It is a new document of `events` too.
    pub fn put_document(&self, path: &str, content_type: &str, bytes: &[u8]) -> String {
        self.put_collection(parent_of(path));
        let mut g = lock(self);
        assert!(g.kind_at(path).is_none(), "{path} exists");
        g.add(
            Kind::Document,
            path,
            Bytes::copy_from_slice(bytes),
            content_type,
        );
        g.objects[path].handle.clone()
    }
}
