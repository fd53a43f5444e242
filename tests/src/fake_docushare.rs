//! DocuShare Flex [assumed throughout, as `PROVIDERS.md` says little is public].
//!
//! The polled `events` resource:
//! `GET /api/v1/events?modifiedSince=<yyyy-MM-dd'T'HH:mm:ss'Z'>&pageSize=&nextPage=` answers
//! `{"items":[{"handle","id","title","created","modified"}],"nextPage"}` for documents modified at or
//! after the given second, oldest first, in pages. Dates have whole seconds, as many APIs do.
//!
//! The library, objects addressed by path ([`tree`], routes in [`api`]):
//! `GET /api/v1/folders/contents?path=`, `POST /api/v1/folders {"path"}`,
//! `DELETE /api/v1/folders?path=` (recursive), `POST /api/v1/folders/copy {"from","to"}`,
//! `PUT|GET|DELETE /api/v1/files?path=` (raw bytes, content type kept). Items are
//! `{"handle","name","type":"collection"|"document","path","size"?,"modified"}`; errors
//! `{"error","message"}`: 404 `not_found`, 409 `conflict`, 400 `not_a_collection`,
//! `not_a_document`, `invalid_path`. Documents uploaded or copied here are documents of
//! `events` too; documents made with [`Documents::create`] have no path.
//!
//! Every route checks the bearer token (401 `{"error":"invalid_token"}`) and can misbehave:
//! injected statuses (429 carries `Retry-After`) and a delay. Only `events` calls are counted.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;

use crate::fake_oauth_apps::FakeOAuthApp;

mod api;
mod tree;

pub use api::routes;

#[derive(Default)]
struct Inner {
    /// handle → (title, created, modified), whole seconds.
    docs: BTreeMap<String, (String, DateTime<Utc>, DateTime<Utc>)>,
    faults: VecDeque<u16>,
    /// `Retry-After` seconds on injected 429s.
    retry_after: u64,
    calls: usize,
    /// Calls per bearer token (one token per instance).
    by_token: HashMap<String, usize>,
    /// When each token was first seen (epoch ms).
    first_call: HashMap<String, i64>,
    delay: std::time::Duration,
    next: u64,
    /// The library by path.
    objects: tree::Objects,
}

#[derive(Clone, Default)]
pub struct Documents(Arc<Mutex<Inner>>);

fn lock(d: &Documents) -> std::sync::MutexGuard<'_, Inner> {
    d.0.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_s() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default()
}

impl Documents {
    /// Creates a document; returns its handle.
    pub fn create(&self, title: &str) -> String {
        self.create_ago(title, 0)
    }

    /// Creates a document dated `secs` seconds ago (a change made some time back).
    pub fn create_ago(&self, title: &str, secs: i64) -> String {
        let mut g = lock(self);
        g.next += 1;
        let handle = format!("Document-{}", 100 + g.next);
        let at = now_s() - chrono::Duration::seconds(secs);
        g.docs.insert(handle.clone(), (title.to_string(), at, at));
        handle
    }

    /// Modifies a document (at least one second after its last change, so the change is visible
    /// in whole-second dates).
    pub fn touch(&self, handle: &str) {
        let mut g = lock(self);
        if let Some(d) = g.docs.get_mut(handle) {
            d.2 = now_s().max(d.2 + chrono::Duration::seconds(1));
        }
    }

    /// Removes a document (it is no longer listed, as the real API shows no deletions), from
    /// the library too if it is there.
    pub fn delete(&self, handle: &str) {
        let mut g = lock(self);
        g.docs.remove(handle);
        g.objects.retain(|_, o| o.handle != handle);
    }

    /// Injected 429s ask to wait this many seconds (default 1).
    pub fn set_retry_after(&self, secs: u64) {
        lock(self).retry_after = secs;
    }

    pub fn fail(&self, statuses: &[u16]) {
        lock(self).faults.extend(statuses);
    }

    /// Every answer waits this long (a slow provider).
    pub fn set_delay(&self, d: std::time::Duration) {
        lock(self).delay = d;
    }

    /// When each `Bearer <token>` was first used (epoch ms).
    pub fn first_calls(&self) -> HashMap<String, i64> {
        lock(self).first_call.clone()
    }

    /// Calls per instance (per access token), sorted.
    pub fn calls_per_token(&self) -> Vec<usize> {
        let mut v: Vec<usize> = lock(self).by_token.values().copied().collect();
        v.sort_unstable();
        v
    }

    /// How many `events` requests were answered (faults included).
    pub fn calls(&self) -> usize {
        lock(self).calls
    }
}

impl Inner {
    /// The next injected status, as DocuShare would answer it.
    fn injected_fault(&mut self) -> Option<Response> {
        let status = self.faults.pop_front()?;
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = Json(json!({"error": "injected"}));
        Some(if status == 429 {
            let ra = self.retry_after.max(1).to_string();
            (code, [("Retry-After", ra)], body).into_response()
        } else {
            (code, body).into_response()
        })
    }
}

fn invalid_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid_token"})),
    )
        .into_response()
}

const FMT: &str = "%Y-%m-%dT%H:%M:%SZ";

pub async fn events(
    State(f): State<FakeOAuthApp>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let delay = {
        let mut g = lock(&f.docs);
        g.calls += 1;
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        *g.by_token.entry(token.clone()).or_insert(0) += 1;
        g.first_call
            .entry(token)
            .or_insert_with(|| Utc::now().timestamp_millis());
        g.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut g = lock(&f.docs);
    if !f.oauth.bearer_ok(&headers) {
        return invalid_token();
    }
    if let Some(refused) = g.injected_fault() {
        return refused;
    }
    let Some(since) = q
        .get("modifiedSince")
        .and_then(|s| NaiveDateTime::parse_from_str(s, FMT).ok())
        .map(|n| n.and_utc())
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "modifiedSince is required"})),
        )
            .into_response();
    };
    let page_size: usize = q
        .get("pageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50)
        .max(1);
    let start: usize = q.get("nextPage").and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut matching: Vec<_> = g.docs.iter().filter(|(_, d)| d.2 >= since).collect();
    matching.sort_by_key(|(h, d)| (d.2, (*h).clone()));
    let page: Vec<_> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|(h, d)| json!({"handle": h, "id": h, "title": d.0, "created": d.1.format(FMT).to_string(), "modified": d.2.format(FMT).to_string()}))
        .collect();
    let next = (start + page_size < matching.len()).then(|| (start + page_size).to_string());
    Json(json!({"items": page, "nextPage": next})).into_response()
}

#[cfg(test)]
mod tests;
