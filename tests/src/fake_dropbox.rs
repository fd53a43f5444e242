//! A fake Dropbox, faithful to `PROVIDERS.md`: OAuth authorize/token (single-use codes bound to
//! client and redirect URI), `list_folder` with paging and cursors that replay the account's
//! change log, `create_folder_v2` with conflicts, and signed webhooks (`X-Dropbox-Signature`)
//! to the app's webhook URI, retried with exponential backoff until a 200. Changes made "by
//! someone else" (the `/__fake/*` routes) notify exactly like API changes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use herald_core::signing::hmac_sha256;

use crate::fake_oauth::{FakeOAuth, OAuthProfile};
use serde_json::{json, Value};

/// One file or folder, or a deletion in the change log.
#[derive(Debug, Clone)]
struct Item {
    tag: &'static str,
    path_display: String,
    id: String,
    rev: u64,
    modified: String,
}

#[derive(Default)]
struct Inner {
    client_secret: String,
    account_id: String,
    uid: u64,
    items: BTreeMap<String, Item>,
    log: Vec<Value>,
    webhook_url: Option<String>,
    page_size: usize,
    next_id: u64,
    deny: bool,
    webhook_attempts: Vec<u16>,
    api_faults: std::collections::VecDeque<u16>,
    api_delay: Duration,
}

/// Handle to a running fake.
#[derive(Clone)]
pub struct FakeDropbox {
    inner: Arc<Mutex<Inner>>,
    /// The OAuth half (codes, tokens, refresh, expiry).
    pub oauth: FakeOAuth,
    pub addr: SocketAddr,
    /// First wait between webhook retries (doubles each time).
    retry_base: Duration,
    http: reqwest::Client,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeDropbox {
    /// Starts on a free port with an app (`client_id`, `client_secret`).
    pub async fn start(client_id: &str, client_secret: &str, retry_base: Duration) -> Self {
        Self::start_at("127.0.0.1:0", client_id, client_secret, retry_base).await
    }

    /// Starts on a given address.
    pub async fn start_at(
        bind: &str,
        client_id: &str,
        client_secret: &str,
        retry_base: Duration,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let inner = Inner {
            client_secret: client_secret.into(),
            account_id: format!("dbid:AAH{}", &herald_core::crypto::random_secret()[..20]),
            uid: 12345678,
            page_size: 3,
            ..Default::default()
        };
        let mut profile = OAuthProfile::standard(14_400);
        profile.refresh_needs_offline = true;
        profile
            .extra
            .insert("account_id".into(), json!(inner.account_id));
        profile
            .extra
            .insert("uid".into(), json!(inner.uid.to_string()));
        let oauth = FakeOAuth::new(client_id, client_secret, profile);
        let fake = Self {
            oauth,
            inner: Arc::new(Mutex::new(inner)),
            addr,
            retry_base,
            http: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/oauth2/authorize", get(authorize))
            .route("/oauth2/token", post(token))
            .route("/2/auth/token/revoke", post(revoke))
            .route("/2/files/list_folder", post(list_folder))
            .route("/2/files/list_folder/continue", post(list_continue))
            .route("/2/files/create_folder_v2", post(create_folder))
            .route("/__fake/upload", post(fake_upload))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn account_id(&self) -> String {
        lock(&self.inner).account_id.clone()
    }
    /// Sets the webhook URI if it answers the challenge; false if not (yet).
    pub async fn try_set_webhook_url(&self, url: &str) -> bool {
        let challenge = "fake-challenge-0123456789";
        let ok = match self
            .http
            .get(format!("{url}?challenge={challenge}"))
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => r.text().await.unwrap_or_default() == challenge,
            _ => false,
        };
        if ok {
            lock(&self.inner).webhook_url = Some(url.to_string());
        }
        ok
    }

    /// Sets the app's webhook URI (Dropbox verifies it with a challenge first).
    pub async fn set_webhook_url(&self, url: &str) {
        assert!(
            self.try_set_webhook_url(url).await,
            "webhook URI must answer the challenge"
        );
    }
    /// Entries per `list_folder` page (Dropbox's own pages are far larger than the default 3).
    pub fn set_page_size(&self, n: usize) {
        lock(&self.inner).page_size = n.max(1);
    }
    pub fn set_deny(&self, deny: bool) {
        lock(&self.inner).deny = deny;
    }
    /// Statuses Herald answered to webhook deliveries, in order.
    pub fn webhook_attempts(&self) -> Vec<u16> {
        lock(&self.inner).webhook_attempts.clone()
    }
    pub fn paths(&self) -> Vec<String> {
        lock(&self.inner)
            .items
            .values()
            .map(|i| i.path_display.clone())
            .collect()
    }

    /// Deletes a file or folder (by someone else). As Dropbox does, the change feed gets one
    /// `deleted` entry (no id) for the path, none for what a folder contained.
    pub fn delete_external(&self, path: &str) {
        {
            let mut g = lock(&self.inner);
            let key = path.to_lowercase();
            let inside = format!("{key}/");
            if g.items.remove(&key).is_none() {
                return;
            }
            g.items.retain(|k, _| !k.starts_with(&inside));
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            g.log.push(
                json!({".tag": "deleted", "name": name, "path_lower": key, "path_display": path}),
            );
        }
        self.notify();
    }

    /// A file written by someone else (not through Herald): creates or updates it.
    pub fn upload_external(&self, path: &str) {
        self.upsert("file", path);
        self.notify();
    }

    /// As [`FakeDropbox::upload_external`]; the handle yields when Herald accepted the notification.
    pub fn upload_external_timed(
        &self,
        path: &str,
    ) -> tokio::task::JoinHandle<Option<std::time::Instant>> {
        self.upsert("file", path);
        self.notify()
    }

    /// Sends the notification for the account again (as Dropbox may).
    pub fn renotify(&self) {
        self.notify();
    }

    fn upsert(&self, tag: &'static str, path: &str) -> Value {
        // As Dropbox does, writing below a folder that does not exist creates it first.
        if let Some((parent, _)) = path.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
            if !lock(&self.inner).items.contains_key(&parent.to_lowercase()) {
                self.upsert("folder", parent);
            }
        }
        let mut g = lock(&self.inner);
        g.next_id += 1;
        let key = path.to_lowercase();
        let modified = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (id, rev) = match g.items.get(&key) {
            Some(i) => (i.id.clone(), i.rev + 1),
            None => (format!("id:fake{}", g.next_id), 1),
        };
        let item = Item {
            tag,
            path_display: path.to_string(),
            id,
            rev,
            modified,
        };
        let meta = metadata(&key, &item);
        g.items.insert(key, item);
        g.log.push(meta.clone());
        meta
    }

    /// Sends the account's notification, retrying with backoff until a 200; the handle yields
    /// when Herald answered 200 (None if it never did).
    fn notify(&self) -> tokio::task::JoinHandle<Option<std::time::Instant>> {
        let target = {
            let g = lock(&self.inner);
            g.webhook_url.clone().map(|url| {
                let body = json!({"list_folder": {"accounts": [g.account_id]}, "delta": {"users": [g.uid]}})
                    .to_string();
                (url, g.client_secret.clone(), body)
            })
        };
        let fake = self.clone();
        tokio::spawn(async move {
            let (url, secret, body) = target?;
            let sig = hex::encode(hmac_sha256(secret.as_bytes(), &[body.as_bytes()]));
            let mut wait = fake.retry_base;
            for _ in 0..12 {
                let status = fake
                    .http
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("X-Dropbox-Signature", &sig)
                    .timeout(Duration::from_secs(10))
                    .body(body.clone())
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                lock(&fake.inner).webhook_attempts.push(status);
                if status == 200 {
                    return Some(std::time::Instant::now());
                }
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            None
        })
    }

    /// The next API calls fail with these statuses (429 carries `Retry-After: 1`).
    pub fn fail_api(&self, statuses: &[u16]) {
        lock(&self.inner).api_faults.extend(statuses);
    }

    /// Every API call answers only after `delay` (a slow provider).
    pub fn set_api_delay(&self, delay: Duration) {
        lock(&self.inner).api_delay = delay;
    }

    /// Auth and injected faults, as every API route starts.
    async fn gate(&self, headers: &HeaderMap) -> Option<Response> {
        let delay = lock(&self.inner).api_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if !self.authorized(headers) {
            return Some(bad_token());
        }
        let status = lock(&self.inner).api_faults.pop_front()?;
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = Json(json!({"error_summary": "injected/..", "error": {".tag": "other"}}));
        Some(if status == 429 {
            (code, [("Retry-After", "1")], body).into_response()
        } else {
            (code, body).into_response()
        })
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        self.oauth.bearer_ok(headers)
    }
}

fn metadata(key: &str, i: &Item) -> Value {
    let name = i.path_display.rsplit('/').next().unwrap_or_default();
    let mut v = json!({".tag": i.tag, "name": name, "path_lower": key, "path_display": i.path_display, "id": i.id});
    if i.tag == "file" {
        v["rev"] = json!(format!("{:x}", i.rev));
        v["size"] = json!(42);
        v["server_modified"] = json!(i.modified);
        v["client_modified"] = json!(i.modified);
    }
    v
}

fn bad_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}})),
    )
        .into_response()
}

async fn authorize(
    State(f): State<FakeDropbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let deny = lock(&f.inner).deny;
    f.oauth.authorize(&q, deny)
}

async fn token(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    f.oauth.token(&headers, &form)
}

/// `POST /2/auth/token/revoke` with the token as bearer; `null` body.
async fn revoke(State(f): State<FakeDropbox>, headers: HeaderMap) -> Response {
    if !f.authorized(&headers) {
        return bad_token();
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    f.oauth.revoke(&token);
    Json(Value::Null).into_response()
}

fn page(g: &Inner, entries: Vec<Value>, start: usize, cursor_base: &str) -> Value {
    let end = (start + g.page_size).min(entries.len());
    let has_more = end < entries.len();
    json!({
        "entries": entries[start.min(end)..end],
        "cursor": format!("{cursor_base}:{end}"),
        "has_more": has_more,
    })
}

async fn list_folder(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    Json(_body): Json<Value>,
) -> Response {
    if let Some(refused) = f.gate(&headers).await {
        return refused;
    }
    let g = lock(&f.inner);
    let entries: Vec<Value> = g.items.iter().map(|(k, i)| metadata(k, i)).collect();
    // A listing cursor pages through the snapshot, then continues with the log after it.
    let mut listed = page(
        &g,
        entries.clone(),
        0,
        &format!("list:{}:{}", g.log.len(), entries.len()),
    );
    if !listed["has_more"].as_bool().unwrap_or(false) {
        listed["cursor"] = json!(format!("log:{}", g.log.len()));
    }
    Json(listed).into_response()
}

async fn list_continue(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = f.gate(&headers).await {
        return refused;
    }
    let g = lock(&f.inner);
    let cursor = body["cursor"].as_str().unwrap_or_default();
    let parts: Vec<&str> = cursor.split(':').collect();
    let reset = || {
        (
            StatusCode::CONFLICT,
            Json(json!({"error_summary": "reset/..", "error": {".tag": "reset"}})),
        )
            .into_response()
    };
    match parts.as_slice() {
        ["list", log_at, total_and_pos @ ..] => {
            let (Ok(log_at), [total, pos]) = (log_at.parse::<usize>(), total_and_pos) else {
                return reset();
            };
            let (Ok(_total), Ok(pos)) = (total.parse::<usize>(), pos.parse::<usize>()) else {
                return reset();
            };
            let entries: Vec<Value> = g.items.iter().map(|(k, i)| metadata(k, i)).collect();
            let mut p = page(&g, entries, pos, &format!("list:{log_at}:{_total}"));
            if !p["has_more"].as_bool().unwrap_or(false) {
                p["cursor"] = json!(format!("log:{log_at}"));
            }
            Json(p).into_response()
        }
        ["log", at] => {
            let Ok(at) = at.parse::<usize>() else {
                return reset();
            };
            if at > g.log.len() {
                return reset();
            }
            let end = (at + g.page_size).min(g.log.len());
            Json(json!({
                "entries": g.log[at..end],
                "cursor": format!("log:{end}"),
                "has_more": end < g.log.len(),
            }))
            .into_response()
        }
        _ => reset(),
    }
}

async fn create_folder(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = f.gate(&headers).await {
        return refused;
    }
    let Some(path) = body["path"].as_str().filter(|p| p.starts_with('/')) else {
        return (
            StatusCode::BAD_REQUEST,
            "Error in call to API function \"files/create_folder_v2\": bad path",
        )
            .into_response();
    };
    if lock(&f.inner).items.contains_key(&path.to_lowercase()) {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error_summary": "path/conflict/folder/..", "error": {".tag": "path", "path": {".tag": "conflict"}}})),
        )
            .into_response();
    }
    let meta = f.upsert("folder", path);
    f.notify();
    Json(json!({"metadata": meta})).into_response()
}

async fn fake_upload(State(f): State<FakeDropbox>, Json(body): Json<Value>) -> Response {
    let path = body["path"].as_str().unwrap_or("/uploaded.txt").to_string();
    f.upload_external(&path);
    StatusCode::OK.into_response()
}
