//! A fake Box: OAuth2 at `/api/oauth2/authorize` and `/oauth2/token` (client credentials in the
//! body, access tokens of 60 minutes, single-use refresh tokens: each refresh returns a new pair
//! and kills the old refresh token), `/oauth2/revoke`, `GET /2.0/users/me`, and the content API
//! of one account. Every API route checks the bearer token: an invalid or expired one gets
//! Box's bare 401 with `WWW-Authenticate`. Errors are Box's
//! `{"type":"error","status","code","message","request_id",…}`.
//!
//! - [`tree`]: folders and files by id (folder `0` is the root), file bytes, Box's objects.
//! - [`items`]: `/2.0/folders` and `/2.0/files` by id: get, list (offset paging), create,
//!   delete (`recursive`), copy.
//! - [`transfer`]: the upload host's multipart `POST /api/2.0/files/content` (in tests the same
//!   address as the API) and downloads through a redirect to the download host (`/__dl/…`).
//! - [`webhooks`]: the `/2.0/webhooks` API; [`deliveries`]: Box's side of deliveries — signed
//!   v2 events retried with a new `BOX-DELIVERY-ID` each time, and unsigned, never-retried v1
//!   callbacks.
//!
//! Misbehaviour: [`FakeBox::fail_api`] makes the next content-API calls fail.

mod deliveries;
mod items;
mod transfer;
mod tree;
mod webhooks;

pub use deliveries::{box_time, v2_signature, SentDelivery, BOX_DEADLINE};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::fake_oauth::{FakeOAuth, OAuthProfile};
use crate::webhook_sender::RetryPolicy;

use tree::{Kind, Tree};

/// A route's refusal, already built (boxed: a `Response` is large for an `Err`).
type Refused = Box<Response>;

/// Box's direct uploads are limited to 50 MB; room for the multipart framing on top.
const UPLOAD_LIMIT: usize = 51 * 1024 * 1024;

/// Webhooks v2: the live ones in creation order, and how deliveries are signed and retried.
struct Hooks {
    live: Vec<Value>,
    deleted: Vec<String>,
    next: u64,
    primary_key: Option<String>,
    secondary_key: Option<String>,
    retry: RetryPolicy,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            live: Vec::new(),
            deleted: Vec::new(),
            next: 0,
            primary_key: None,
            secondary_key: None,
            retry: RetryPolicy::short(BOX_DEADLINE),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone)]
pub struct FakeBox {
    pub oauth: FakeOAuth,
    pub addr: SocketAddr,
    pub user_id: String,
    tree: Arc<Mutex<Tree>>,
    hooks: Arc<Mutex<Hooks>>,
    /// Download-host tokens → (file name, bytes of the version redirected to).
    downloads: Arc<Mutex<HashMap<String, (String, Bytes)>>>,
    /// Statuses the next content-API calls fail with.
    faults: Arc<Mutex<VecDeque<u16>>>,
    http: reqwest::Client,
}

impl FakeBox {
    pub async fn start(client_id: &str, client_secret: &str) -> Self {
        Self::start_at("127.0.0.1:0", client_id, client_secret).await
    }

    /// Starts on a given address.
    pub async fn start_at(bind: &str, client_id: &str, client_secret: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut profile = OAuthProfile::standard(3600);
        profile.refresh_single_use = true;
        let fake = Self {
            oauth: FakeOAuth::new(client_id, client_secret, profile),
            addr,
            user_id: "11446498".into(),
            tree: Arc::default(),
            hooks: Arc::default(),
            downloads: Arc::default(),
            faults: Arc::default(),
            http: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/api/oauth2/authorize", get(authorize))
            .route("/oauth2/token", post(token))
            .route("/oauth2/revoke", post(revoke))
            .route("/2.0/users/me", get(me))
            .route("/2.0/folders", post(items::create_folder))
            .route(
                "/2.0/folders/{id}",
                get(items::get_folder).delete(items::delete_folder),
            )
            .route("/2.0/folders/{id}/items", get(items::folder_items))
            .route("/2.0/folders/{id}/copy", post(items::copy_folder))
            .route(
                "/2.0/files/{id}",
                get(items::get_file).delete(items::delete_file),
            )
            .route("/2.0/files/{id}/content", get(transfer::download))
            .route("/api/2.0/files/content", post(transfer::upload))
            .route("/__dl/{token}", get(transfer::download_host))
            .route("/2.0/webhooks", get(webhooks::list).post(webhooks::create))
            .route(
                "/2.0/webhooks/{id}",
                get(webhooks::show)
                    .put(webhooks::update)
                    .delete(webhooks::remove),
            )
            .layer(DefaultBodyLimit::max(UPLOAD_LIMIT))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Names of the folders directly in the root.
    pub fn root_folders(&self) -> Vec<String> {
        let t = lock(&self.tree);
        let mut v: Vec<String> = t
            .items
            .values()
            .filter(|n| n.parent == tree::ROOT && n.kind == Kind::Folder)
            .map(|n| n.name.clone())
            .collect();
        v.sort();
        v
    }

    /// Every folder and file path (`/Reports/a.txt`), sorted.
    pub fn paths(&self) -> Vec<String> {
        let t = lock(&self.tree);
        let mut v: Vec<String> = t.items.keys().map(|id| t.path_of(id)).collect();
        v.sort();
        v
    }

    /// The bytes of the file at `path` (names compared without regard to case, as Box does).
    pub fn file_bytes(&self, path: &str) -> Option<Vec<u8>> {
        let t = lock(&self.tree);
        let id = t.id_at(path)?;
        t.node(&id, Kind::File).map(|n| n.bytes.to_vec())
    }

    /// A folder made at Box directly (with any missing parent); returns its id (the existing
    /// folder's if there is one).
    pub fn put_folder(&self, path: &str) -> String {
        let mut t = lock(&self.tree);
        let mut at = tree::ROOT.to_string();
        for name in path.split('/').filter(|s| !s.is_empty()) {
            at = match t.clash(&at, name) {
                Some(id) => {
                    assert!(t.is_folder(&id), "{path}: {name} is a file");
                    id
                }
                None => t.add(Kind::Folder, &at, name, Bytes::new()),
            };
        }
        at
    }

    /// A file written at Box directly into `parent` (a folder path such as `/Reports`, made if
    /// missing, or a folder id): a new file, or a new version of the file of that name.
    /// Returns the file's id.
    pub fn put_file(&self, parent: &str, name: &str, bytes: &[u8]) -> String {
        let parent = if parent.starts_with('/') {
            self.put_folder(parent)
        } else {
            parent.to_string()
        };
        let mut t = lock(&self.tree);
        assert!(t.is_folder(&parent), "no folder {parent}");
        let bytes = Bytes::copy_from_slice(bytes);
        match t.clash(&parent, name) {
            Some(id) => {
                assert!(t.node(&id, Kind::File).is_some(), "{name} is a folder");
                t.replace(&id, bytes);
                id
            }
            None => t.add(Kind::File, &parent, name, bytes),
        }
    }

    /// The next content-API calls (folders, files, upload, download) fail with these statuses
    /// (429 carries `Retry-After: 1`).
    pub fn fail_api(&self, statuses: &[u16]) {
        lock(&self.faults).extend(statuses);
    }

    /// Auth and injected faults, as every content-API route starts.
    fn gate(&self, headers: &HeaderMap) -> Option<Response> {
        if !self.oauth.bearer_ok(headers) {
            return Some(unauthorized());
        }
        let status = lock(&self.faults).pop_front()?;
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Some(if status == 429 {
            let mut r = box_error(
                code,
                "rate_limit_exceeded",
                "Request rate limit exceeded, please try again later",
            );
            r.headers_mut()
                .insert("Retry-After", axum::http::HeaderValue::from_static("1"));
            r
        } else {
            box_error(code, "internal_server_error", "Internal Server Error")
        })
    }

    /// The live webhooks, full objects, in creation order.
    pub fn webhooks(&self) -> Vec<Value> {
        lock(&self.hooks).live.clone()
    }

    /// Ids of the webhooks deleted through the API, in order.
    pub fn deleted_webhooks(&self) -> Vec<String> {
        lock(&self.hooks).deleted.clone()
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            "WWW-Authenticate",
            "Bearer realm=\"Service\", error=\"invalid_token\", error_description=\"The access token provided is invalid.\"",
        )],
    )
        .into_response()
}

/// Box's error body: `{"type":"error","status","code","message","help_url","request_id"}`.
fn box_error(status: StatusCode, code: &str, message: &str) -> Response {
    box_error_with(status, code, message, Value::Null)
}

/// [`box_error`] with `context_info` (omitted when null).
fn box_error_with(status: StatusCode, code: &str, message: &str, context_info: Value) -> Response {
    let request_id = crate::webhook_sender::fresh_uuid().replace('-', "")[..18].to_string();
    let mut body = json!({"type": "error", "status": status.as_u16(), "code": code,
        "message": message, "help_url": "http://developers.box.com/docs/#errors",
        "request_id": request_id});
    if !context_info.is_null() {
        body["context_info"] = context_info;
    }
    (status, Json(body)).into_response()
}

fn not_found() -> Response {
    box_error(StatusCode::NOT_FOUND, "not_found", "Not Found")
}

async fn authorize(State(f): State<FakeBox>, Query(q): Query<HashMap<String, String>>) -> Response {
    f.oauth.authorize(&q, false)
}

async fn token(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    f.oauth.token(&headers, &form)
}

async fn revoke(State(f): State<FakeBox>, Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("client_id") != Some(&f.oauth.client_id)
        || form.get("client_secret") != Some(&f.oauth.client_secret)
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    f.oauth
        .revoke(form.get("token").map(String::as_str).unwrap_or_default());
    StatusCode::OK.into_response()
}

async fn me(State(f): State<FakeBox>, headers: HeaderMap) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    Json(json!({"type": "user", "id": f.user_id, "name": "Box User", "login": "user@example.com"}))
        .into_response()
}

#[cfg(test)]
mod content_tests;
#[cfg(test)]
mod tests;
