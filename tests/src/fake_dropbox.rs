//! A fake Dropbox, faithful to `PROVIDERS.md`: OAuth authorize/token (single-use codes bound to
//! client and redirect URI), and the files API of one or more accounts of one app, each with its
//! own namespace and change log, whose every change sends a signed webhook
//! (`X-Dropbox-Signature`, naming that account) to the app's webhook URI, retried with
//! exponential backoff until a 200. Changes made "by someone else" (the helpers and the
//! `/__fake/*` routes) notify exactly like API changes.
//!
//! A [`FakeDropbox`] handle is one account; [`FakeDropbox::add_account`] adds another on the same
//! server. An API call acts on the account its bearer token was issued for; the authorize page
//! signs in as the account last chosen with [`FakeDropbox::sign_in`] (the first by default).
//!
//! - [`store`]: the namespace (items by `path_lower`, file bytes) and the change log.
//! - [`listing`]: `files/list_folder`, `/continue`, `/get_latest_cursor`; cursors are scoped to
//!   the listed folder (recursive or not) and replay the log after the listing.
//! - [`files`]: `files/get_metadata`, `create_folder_v2`, `delete_v2`, `copy_v2`.
//! - [`content`]: the content host's `files/upload` and `files/download` (argument in the
//!   `Dropbox-API-Arg` header, result of a download in `Dropbox-API-Result`).
//! - [`wire`]: Dropbox's error shapes: a route error is 409 `{"error_summary","error"}`, a
//!   malformed request is a plain-text 400 `Error in call to API function "files/…": …`.
//!
//! Every API route checks the bearer token (401 `invalid_access_token`), then the injected
//! faults ([`FakeDropbox::fail_api`]) and delay ([`FakeDropbox::set_api_delay`]).

/// The value of a step that either yields one or has already built the route's refusal.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refused) => return *refused,
        }
    };
}

mod content;
mod files;
mod listing;
mod store;
mod wire;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use bytes::Bytes;
use herald_core::signing::hmac_sha256;

use crate::fake_oauth::{FakeOAuth, OAuthProfile};
use serde_json::{json, Value};

use store::Item;

/// A route's refusal, already built (boxed: a `Response` is large for an `Err`).
type Refused = Box<Response>;

/// Dropbox refuses single-request uploads over 150 MiB.
const UPLOAD_LIMIT: usize = 150 * 1024 * 1024;

/// One account: its namespace, change log and injected faults.
#[derive(Default)]
struct Inner {
    account_id: String,
    uid: u64,
    /// path_lower → item.
    items: BTreeMap<String, Item>,
    log: Vec<Value>,
    page_size: usize,
    /// Source of ids and revs, so both are unique in the account.
    next_id: u64,
    deny: bool,
    webhook_attempts: Vec<u16>,
    api_faults: VecDeque<u16>,
    api_delay: Duration,
}

/// The app: its accounts, the one its authorize page acts for, and its webhook URI.
#[derive(Default)]
struct App {
    accounts: Vec<(Arc<Mutex<Inner>>, FakeOAuth)>,
    signed_in: usize,
    webhook_url: Option<String>,
    /// Notifications sent and not yet answered 200 (or given up).
    notifying: usize,
}

/// Handle to one account of a running fake.
#[derive(Clone)]
pub struct FakeDropbox {
    inner: Arc<Mutex<Inner>>,
    /// The OAuth half (codes, tokens, refresh, expiry) of this account.
    pub oauth: FakeOAuth,
    pub addr: SocketAddr,
    app: Arc<Mutex<App>>,
    /// First wait between webhook retries (doubles each time).
    retry_base: Duration,
    http: reqwest::Client,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeDropbox {
    /// Starts on a free port with an app (`client_id`, `client_secret`).
    pub async fn start(client_id: &str, client_secret: &str, retry_base: Duration) -> Self {
        Self::start_at("127.0.0.1:0", client_id, client_secret, retry_base).await
    }

    /// Starts on a given address. The API and content hosts are both this address.
    pub async fn start_at(
        bind: &str,
        client_id: &str,
        client_secret: &str,
        retry_base: Duration,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (inner, oauth) = account(client_id, client_secret, 12345678);
        let fake = Self {
            oauth: oauth.clone(),
            inner: inner.clone(),
            addr,
            app: Arc::new(Mutex::new(App {
                accounts: vec![(inner, oauth)],
                ..Default::default()
            })),
            retry_base,
            http: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/oauth2/authorize", get(authorize))
            .route("/oauth2/token", post(token))
            .route("/2/auth/token/revoke", post(revoke))
            .route("/2/files/list_folder", post(listing::list_folder))
            .route(
                "/2/files/list_folder/continue",
                post(listing::list_continue),
            )
            .route(
                "/2/files/list_folder/get_latest_cursor",
                post(listing::latest_cursor),
            )
            .route("/2/files/get_metadata", post(files::get_metadata))
            .route("/2/files/create_folder_v2", post(files::create_folder))
            .route("/2/files/delete_v2", post(files::delete))
            .route("/2/files/copy_v2", post(files::copy))
            .route("/2/files/upload", post(content::upload))
            .route("/2/files/download", post(content::download))
            .route("/__fake/upload", post(fake_upload))
            .layer(DefaultBodyLimit::max(UPLOAD_LIMIT))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// Another account of the same app on the same server, with its own namespace, change log
    /// and tokens.
    pub fn add_account(&self) -> Self {
        let mut app = lock(&self.app);
        let uid = 12345678 + app.accounts.len() as u64;
        let (inner, oauth) = account(&self.oauth.client_id, &self.oauth.client_secret, uid);
        app.accounts.push((inner.clone(), oauth.clone()));
        Self {
            inner,
            oauth,
            ..self.clone()
        }
    }

    /// The authorize page acts for this account from now on (as if its owner signed in).
    pub fn sign_in(&self) {
        let mut app = lock(&self.app);
        if let Some(i) = app
            .accounts
            .iter()
            .position(|(inner, _)| Arc::ptr_eq(inner, &self.inner))
        {
            app.signed_in = i;
        }
    }

    /// The account (of this app) the request's bearer token was issued for.
    fn account_for(&self, headers: &HeaderMap) -> Option<Self> {
        let app = lock(&self.app);
        app.accounts
            .iter()
            .find(|(_, oauth)| oauth.bearer_ok(headers))
            .map(|(inner, oauth)| self.with(inner, oauth))
    }

    fn with(&self, inner: &Arc<Mutex<Inner>>, oauth: &FakeOAuth) -> Self {
        Self {
            inner: inner.clone(),
            oauth: oauth.clone(),
            ..self.clone()
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn account_id(&self) -> String {
        lock(&self.inner).account_id.clone()
    }
    /// Sets the webhook URI if it answers the challenge as Dropbox requires (a random challenge
    /// echoed verbatim within 10 s, `Content-Type: text/plain`, `X-Content-Type-Options:
    /// nosniff`); false if not (yet).
    pub async fn try_set_webhook_url(&self, url: &str) -> bool {
        let challenge = herald_core::crypto::random_secret();
        let answer = self
            .http
            .get(url)
            .query(&[("challenge", &challenge)])
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let ok = match answer {
            Ok(r) if r.status() == 200 => {
                let header = |name: &str| {
                    r.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_ascii_lowercase()
                };
                let plain = header("content-type").starts_with("text/plain");
                let nosniff = header("x-content-type-options") == "nosniff";
                plain && nosniff && r.text().await.unwrap_or_default() == challenge
            }
            _ => false,
        };
        if ok {
            lock(&self.app).webhook_url = Some(url.to_string());
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
    /// Every file and folder, by `path_display`, in `path_lower` order.
    pub fn paths(&self) -> Vec<String> {
        lock(&self.inner)
            .items
            .values()
            .map(|i| i.path_display.clone())
            .collect()
    }

    /// The bytes of the file at `path` (any case), if there is one.
    pub fn file_bytes(&self, path: &str) -> Option<Vec<u8>> {
        lock(&self.inner)
            .items
            .get(&path.to_lowercase())
            .filter(|i| i.tag == "file")
            .map(|i| i.bytes.to_vec())
    }

    /// Deletes a file or folder (by someone else). As Dropbox does, the change feed gets one
    /// `deleted` entry (no id) for the path, none for what a folder contained.
    pub fn delete_external(&self, path: &str) {
        if lock(&self.inner).remove(&path.to_lowercase()).is_some() {
            self.notify();
        }
    }

    /// A file written by someone else (not through Herald): creates or updates it (a new rev),
    /// and any missing parent folder.
    pub fn upload_external(&self, path: &str) {
        self.upsert(path, external_bytes(path));
        self.notify();
    }

    /// As [`FakeDropbox::upload_external`], with the file's bytes.
    pub fn upload_external_bytes(&self, path: &str, bytes: &[u8]) {
        self.upsert(path, Bytes::copy_from_slice(bytes));
        self.notify();
    }

    /// As [`FakeDropbox::upload_external`]; the handle yields when Herald accepted the notification.
    pub fn upload_external_timed(
        &self,
        path: &str,
    ) -> tokio::task::JoinHandle<Option<std::time::Instant>> {
        self.upsert(path, external_bytes(path));
        self.notify()
    }

    /// Sends the notification for the account again (as Dropbox may).
    pub fn renotify(&self) {
        self.notify();
    }

    fn upsert(&self, path: &str, bytes: Bytes) -> Value {
        lock(&self.inner).put("file", path, bytes)
    }

    /// Files written by someone else in several accounts of the app, announced by one
    /// notification naming every one of them (Dropbox may batch accounts so).
    pub fn upload_external_together(changes: &[(&FakeDropbox, &str)]) {
        let mut accounts: Vec<&FakeDropbox> = Vec::new();
        for (account, path) in changes {
            account.upsert(path, external_bytes(path));
            if !accounts
                .iter()
                .any(|a| Arc::ptr_eq(&a.inner, &account.inner))
            {
                accounts.push(account);
            }
        }
        if let Some(first) = accounts.first() {
            first.notify_for(&accounts);
        }
    }

    /// Sends the account's notification, retrying with backoff until a 200; the handle yields
    /// when Herald answered 200 (None if it never did).
    fn notify(&self) -> tokio::task::JoinHandle<Option<std::time::Instant>> {
        self.notify_for(&[self])
    }

    /// One notification naming `accounts` (of this app), signed with the app secret; attempts
    /// are recorded on this account.
    fn notify_for(
        &self,
        accounts: &[&FakeDropbox],
    ) -> tokio::task::JoinHandle<Option<std::time::Instant>> {
        let webhook_url = lock(&self.app).webhook_url.clone();
        let (ids, uids): (Vec<String>, Vec<u64>) = accounts
            .iter()
            .map(|a| {
                let g = lock(&a.inner);
                (g.account_id.clone(), g.uid)
            })
            .unzip();
        let target = webhook_url.map(|url| {
            let body =
                json!({"list_folder": {"accounts": ids}, "delta": {"users": uids}}).to_string();
            (url, self.oauth.client_secret.clone(), body)
        });
        let fake = self.clone();
        if target.is_some() {
            lock(&self.app).notifying += 1;
        }
        tokio::spawn(async move {
            let (url, secret, body) = target?;
            let answered = fake.deliver_notification(&url, &secret, &body).await;
            lock(&fake.app).notifying -= 1;
            answered
        })
    }

    /// Notifications sent and not yet answered with a 200 (nor given up on).
    pub fn notifications_in_flight(&self) -> usize {
        lock(&self.app).notifying
    }

    /// Posts a notification until a 200 (backoff doubling from `retry_base`, 12 tries).
    async fn deliver_notification(
        &self,
        url: &str,
        secret: &str,
        body: &str,
    ) -> Option<std::time::Instant> {
        let sig = hex::encode(hmac_sha256(secret.as_bytes(), &[body.as_bytes()]));
        let mut wait = self.retry_base;
        for _ in 0..12 {
            let status = self
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .header("X-Dropbox-Signature", &sig)
                .timeout(Duration::from_secs(10))
                .body(body.to_string())
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            lock(&self.inner).webhook_attempts.push(status);
            if status == 200 {
                return Some(std::time::Instant::now());
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        None
    }

    /// The next API calls (RPC and content routes) fail with these statuses (429 carries
    /// `Retry-After: 1`).
    pub fn fail_api(&self, statuses: &[u16]) {
        lock(&self.inner).api_faults.extend(statuses);
    }

    /// Every API call answers only after `delay` (a slow provider).
    pub fn set_api_delay(&self, delay: Duration) {
        lock(&self.inner).api_delay = delay;
    }

    /// Auth, then the account's injected delay and faults, as every API route starts; yields the
    /// account the call acts on.
    async fn gate(&self, headers: &HeaderMap) -> Result<Self, Refused> {
        let account = self.account_for(headers);
        let delay = lock(&account.as_ref().unwrap_or(self).inner).api_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // Checked again: the token may have expired during the delay.
        let Some(account) = account.filter(|a| a.oauth.bearer_ok(headers)) else {
            return Err(Box::new(bad_token()));
        };
        let Some(status) = lock(&account.inner).api_faults.pop_front() else {
            return Ok(account);
        };
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = Json(json!({"error_summary": "injected/..", "error": {".tag": "other"}}));
        Err(Box::new(if status == 429 {
            (code, [("Retry-After", "1")], body).into_response()
        } else {
            (code, body).into_response()
        }))
    }
}

/// A new account's state and OAuth server (its tokens carry its `account_id` and `uid`).
fn account(client_id: &str, client_secret: &str, uid: u64) -> (Arc<Mutex<Inner>>, FakeOAuth) {
    let inner = Inner {
        account_id: format!("dbid:AAH{}", &herald_core::crypto::random_secret()[..20]),
        uid,
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
    (Arc::new(Mutex::new(inner)), oauth)
}

/// What a file written by [`FakeDropbox::upload_external`] holds.
fn external_bytes(path: &str) -> Bytes {
    Bytes::from(format!("written outside Herald: {path}\n"))
}

fn bad_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}})),
    )
        .into_response()
}

/// The authorize page, as the signed-in account.
async fn authorize(
    State(f): State<FakeDropbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let account = {
        let app = lock(&f.app);
        // `signed_in` always names one of them: accounts are only added.
        let (inner, oauth) = &app.accounts[app.signed_in];
        f.with(inner, oauth)
    };
    let deny = lock(&account.inner).deny;
    account.oauth.authorize(&q, deny)
}

/// The token endpoint of the account that issued the grant's code or refresh token.
async fn token(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let issuer = lock(&f.app)
        .accounts
        .iter()
        .find(|(_, oauth)| oauth.issued_grant(&form))
        .map(|(_, oauth)| oauth.clone());
    issuer.unwrap_or(f.oauth).token(&headers, &form)
}

/// `POST /2/auth/token/revoke` with the token as bearer; `null` body.
async fn revoke(State(f): State<FakeDropbox>, headers: HeaderMap) -> Response {
    let Some(f) = f.account_for(&headers) else {
        return bad_token();
    };
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    f.oauth.revoke(&token);
    Json(Value::Null).into_response()
}

async fn fake_upload(State(f): State<FakeDropbox>, Json(body): Json<Value>) -> Response {
    let path = body["path"].as_str().unwrap_or("/uploaded.txt").to_string();
    f.upload_external(&path);
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests;
