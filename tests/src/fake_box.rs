//! A fake Box: OAuth2 at `/api/oauth2/authorize` and `/oauth2/token` (client credentials in the
//! body, access tokens of 60 minutes, single-use refresh tokens: each refresh returns a new pair
//! and kills the old refresh token), `/oauth2/revoke`, `GET /2.0/users/me`, and folders by id
//! (`GET /2.0/folders/{id}/items`, `POST /2.0/folders`, 409 `item_name_in_use`). An invalid or
//! expired token gets Box's bare 401 with `WWW-Authenticate`.
//!
//! Webhooks v2 (`PROVIDERS.md` § Box): the `/2.0/webhooks` API in [`webhooks`] and Box's side of
//! deliveries in [`deliveries`] — signed v2 events retried with a new `BOX-DELIVERY-ID` each
//! time, and unsigned, never-retried v1 callbacks.

mod deliveries;
mod webhooks;

pub use deliveries::{box_time, v2_signature, SentDelivery, BOX_DEADLINE};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{json, Value};

use crate::fake_oauth::{FakeOAuth, OAuthProfile};
use crate::webhook_sender::RetryPolicy;

#[derive(Default)]
struct Tree {
    /// id → (parent id, name)
    folders: HashMap<String, (String, String)>,
    next: u64,
}

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
            http: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/api/oauth2/authorize", get(authorize))
            .route("/oauth2/token", post(token))
            .route("/oauth2/revoke", post(revoke))
            .route("/2.0/users/me", get(me))
            .route("/2.0/folders", post(create_folder))
            .route("/2.0/folders/{id}/items", get(items))
            .route("/2.0/webhooks", get(webhooks::list).post(webhooks::create))
            .route(
                "/2.0/webhooks/{id}",
                get(webhooks::show)
                    .put(webhooks::update)
                    .delete(webhooks::remove),
            )
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
            .folders
            .values()
            .filter(|(p, _)| p == "0")
            .map(|(_, n)| n.clone())
            .collect();
        v.sort();
        v
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

async fn items(State(f): State<FakeBox>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let t = lock(&f.tree);
    if id != "0" && !t.folders.contains_key(&id) {
        return (StatusCode::NOT_FOUND, Json(json!({"type": "error", "status": 404, "code": "not_found", "message": "Not Found"}))).into_response();
    }
    let entries: Vec<Value> = t
        .folders
        .iter()
        .filter(|(_, (p, _))| *p == id)
        .map(|(fid, (_, name))| json!({"type": "folder", "id": fid, "name": name}))
        .collect();
    Json(json!({"total_count": entries.len(), "entries": entries, "offset": 0, "limit": 1000}))
        .into_response()
}

async fn create_folder(
    State(f): State<FakeBox>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let parent = body["parent"]["id"].as_str().unwrap_or("0").to_string();
    let mut t = lock(&f.tree);
    if t.folders.values().any(|(p, n)| *p == parent && *n == name) {
        return (
            StatusCode::CONFLICT,
            Json(json!({"type": "error", "status": 409, "code": "item_name_in_use", "message": "Item with the same name already exists"})),
        )
            .into_response();
    }
    t.next += 1;
    let id = format!("{}", 100_000 + t.next);
    t.folders.insert(id.clone(), (parent.clone(), name.clone()));
    (
        StatusCode::CREATED,
        Json(json!({"type": "folder", "id": id, "name": name, "parent": {"type": "folder", "id": parent}})),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
