//! The record stores behind the Salesforce and QuickBooks polling fakes, as `PROVIDERS.md`
//! describes them:
//!
//! - Salesforce: `GET /services/data/{v}/query?q=SELECT … FROM <Object> WHERE SystemModstamp >
//!   <datetime> ORDER BY SystemModstamp` (datetimes unquoted, UTC; records carry
//!   `2015-10-13T03:26:48.000+0000` stamps), pages of `page_size` linked by `nextRecordsUrl`
//!   (`/services/data/{v}/query/<locator>`); `GET …/sobjects/<Object>/deleted/?start&end` lists
//!   deletions in the window (at most 15 days back, else 400).
//! - QuickBooks: `GET /v3/company/<realm>/cdc?entities=A,B&changedSince=<ISO>`: changes after
//!   the instant, at most 30 days back (else 400), at most 1000 objects in one answer; deleted
//!   objects come back as `{"Id","status":"Deleted"}`; `MetaData.CreateTime` equals
//!   `LastUpdatedTime` for an object never updated.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::fake_oauth_apps::FakeOAuthApp;

#[derive(Clone)]
struct Rec {
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    deleted: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Inner {
    /// (object, id) → record.
    recs: BTreeMap<(String, String), Rec>,
    next: u64,
    page_size: usize,
    /// Salesforce query locators → remaining (object, id) list.
    locators: HashMap<String, Vec<Value>>,
    calls: usize,
}

#[derive(Clone, Default)]
pub struct Records(Arc<Mutex<Inner>>);

fn lock(r: &Records) -> std::sync::MutexGuard<'_, Inner> {
    r.0.lock().unwrap_or_else(|p| p.into_inner())
}

fn sf_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

impl Records {
    /// Creates a record of `object`; returns its id.
    pub fn create(&self, object: &str) -> String {
        let mut g = lock(self);
        g.next += 1;
        let id = format!("{}{:06}", &object[..3.min(object.len())], g.next);
        let now = Utc::now();
        g.recs.insert(
            (object.into(), id.clone()),
            Rec {
                created: now,
                modified: now,
                deleted: None,
            },
        );
        id
    }
    pub fn update(&self, object: &str, id: &str) {
        let mut g = lock(self);
        if let Some(r) = g.recs.get_mut(&(object.to_string(), id.to_string())) {
            r.modified = Utc::now().max(r.modified + Duration::milliseconds(5));
        }
    }
    pub fn delete(&self, object: &str, id: &str) {
        let mut g = lock(self);
        if let Some(r) = g.recs.get_mut(&(object.to_string(), id.to_string())) {
            let now = Utc::now();
            r.deleted = Some(now);
            r.modified = now;
        }
    }
    pub fn set_page_size(&self, n: usize) {
        lock(self).page_size = n.max(1);
    }
    pub fn calls(&self) -> usize {
        lock(self).calls
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])),
    )
        .into_response()
}

fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn sf_page(g: &mut Inner, mut rows: Vec<Value>) -> Value {
    let size = if g.page_size == 0 { 2000 } else { g.page_size };
    let total = rows.len();
    let rest = if rows.len() > size {
        rows.split_off(size)
    } else {
        Vec::new()
    };
    let mut body = json!({"totalSize": total, "done": rest.is_empty(), "records": rows});
    if !rest.is_empty() {
        let locator = format!("01gD0000002{}-{}", g.locators.len(), size);
        body["nextRecordsUrl"] = json!(format!("/services/data/v59.0/query/{locator}"));
        g.locators.insert(locator, rest);
    }
    body
}

pub async fn sf_query(
    State(f): State<FakeOAuthApp>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let mut g = lock(&f.records);
    g.calls += 1;
    let soql = q.get("q").cloned().unwrap_or_default();
    let bad = |m: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!([{"message": m, "errorCode": "MALFORMED_QUERY"}])),
        )
            .into_response()
    };
    let Some(object) = soql
        .split(" FROM ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
    else {
        return bad("no FROM");
    };
    let Some(since) = soql
        .split("SystemModstamp > ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(parse_iso)
    else {
        return bad("expected SystemModstamp > <unquoted datetime>");
    };
    let mut rows: Vec<(DateTime<Utc>, Value)> = g
        .recs
        .iter()
        .filter(|((o, _), r)| o == object && r.deleted.is_none() && r.modified > since)
        .map(|((o, id), r)| {
            (
                r.modified,
                json!({"attributes": {"type": o}, "Id": id, "CreatedDate": sf_time(r.created),
                "LastModifiedDate": sf_time(r.modified), "SystemModstamp": sf_time(r.modified)}),
            )
        })
        .collect();
    rows.sort_by_key(|(t, _)| *t);
    let body = sf_page(&mut g, rows.into_iter().map(|(_, v)| v).collect());
    Json(body).into_response()
}

pub async fn sf_query_more(
    State(f): State<FakeOAuthApp>,
    headers: HeaderMap,
    Path(locator): Path<String>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let mut g = lock(&f.records);
    g.calls += 1;
    let Some(rows) = g.locators.remove(&locator) else {
        return (
            StatusCode::NOT_FOUND,
            Json(
                json!([{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]),
            ),
        )
            .into_response();
    };
    let body = sf_page(&mut g, rows);
    Json(body).into_response()
}

pub async fn sf_deleted(
    State(f): State<FakeOAuthApp>,
    headers: HeaderMap,
    Path(object): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return unauthorized();
    }
    let mut g = lock(&f.records);
    g.calls += 1;
    let (Some(start), Some(end)) = (
        q.get("start").and_then(|s| parse_iso(s)),
        q.get("end").and_then(|s| parse_iso(s)),
    ) else {
        return (StatusCode::BAD_REQUEST, Json(json!([{"message": "start and end are required", "errorCode": "INVALID_REPLICATION_DATE"}]))).into_response();
    };
    if start < Utc::now() - Duration::days(15) {
        return (StatusCode::BAD_REQUEST, Json(json!([{"message": "start is too far back", "errorCode": "INVALID_REPLICATION_DATE"}]))).into_response();
    }
    let deleted: Vec<Value> = g
        .recs
        .iter()
        .filter(|((o, _), r)| *o == object && r.deleted.is_some_and(|d| d >= start && d <= end + Duration::seconds(1)))
        .map(|((_, id), r)| json!({"id": id, "deletedDate": sf_time(r.deleted.unwrap_or(r.modified))}))
        .collect();
    Json(json!({"deletedRecords": deleted, "earliestDateAvailable": sf_time(Utc::now() - Duration::days(15)), "latestDateCovered": sf_time(end)})).into_response()
}

pub async fn qb_cdc(
    State(f): State<FakeOAuthApp>,
    headers: HeaderMap,
    Path(realm): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"fault": {"error": [{"message": "AuthenticationFailed", "code": "3200"}], "type": "AUTHENTICATION"}}))).into_response();
    }
    let mut g = lock(&f.records);
    g.calls += 1;
    if realm != crate::fake_oauth_apps::QUICKBOOKS_REALM {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"fault": {"type": "AUTHORIZATION"}})),
        )
            .into_response();
    }
    let Some(since) = q.get("changedSince").and_then(|s| parse_iso(s)) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"fault": {"error": [{"message": "changedSince is required"}]}})),
        )
            .into_response();
    };
    if since < Utc::now() - Duration::days(30) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"fault": {"error": [{"message": "changedSince more than 30 days back"}]}})),
        )
            .into_response();
    }
    let entities: Vec<String> = q
        .get("entities")
        .map(|e| e.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let mut responses = Vec::new();
    let mut count = 0;
    for entity in &entities {
        let mut objects = Vec::new();
        for ((o, id), r) in g.recs.iter() {
            if o != entity || r.modified <= since || count >= 1000 {
                continue;
            }
            count += 1;
            let meta = json!({"CreateTime": r.created.to_rfc3339(), "LastUpdatedTime": r.modified.to_rfc3339()});
            objects.push(match r.deleted {
                Some(_) => json!({"Id": id, "status": "Deleted", "MetaData": {"LastUpdatedTime": r.modified.to_rfc3339()}}),
                None => json!({"Id": id, "SyncToken": "0", "MetaData": meta}),
            });
        }
        let mut qr = serde_json::Map::new();
        qr.insert(entity.clone(), Value::Array(objects));
        qr.insert("startPosition".into(), json!(1));
        responses.push(Value::Object(qr));
    }
    Json(json!({"CDCResponse": [{"QueryResponse": responses}], "time": Utc::now().to_rfc3339()}))
        .into_response()
}
