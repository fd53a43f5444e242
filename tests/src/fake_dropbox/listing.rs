//! `files/list_folder`, `files/list_folder/continue`, `files/list_folder/get_latest_cursor`.
//!
//! A listing is scoped to its folder: non-recursive shows the folder's direct children, recursive
//! shows the folder itself (unless it is the root) and everything below it. Its cursor first pages
//! through that listing, then replays the change log from where the log stood when the listing
//! began, keeping only entries in the same scope. Cursors are opaque to callers (base64 JSON
//! here) and belong to the account that listed; one that does not decode, points past the log,
//! or was issued to another account is a dead cursor: 409 `reset`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::store::{metadata, parent_of};
use super::wire::{self, bad_request, bool_field, path_field, route_error, PathKind};
use super::{lock, FakeDropbox, Inner, Refused};

const LIST: &str = "files/list_folder";
const CONTINUE: &str = "files/list_folder/continue";
const LATEST: &str = "files/list_folder/get_latest_cursor";

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// The account whose namespace was listed.
    account: String,
    /// The listed folder's key (`""` for the root).
    path: String,
    recursive: bool,
    /// Entries per page the caller asked for (at most the fake's page size is used).
    limit: usize,
    /// The log position the listing started at.
    log: usize,
    /// While paging through the listing: the next entry; `None` once in the log.
    pos: Option<usize>,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("AAH{}", URL_SAFE_NO_PAD.encode(json))
    }

    fn decode(s: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(s.strip_prefix("AAH")?).ok()?;
        serde_json::from_slice(&raw).ok()
    }

    fn in_scope(&self, key: &str) -> bool {
        if self.recursive {
            self.path.is_empty() || key == self.path || key.starts_with(&format!("{}/", self.path))
        } else {
            parent_of(key) == self.path
        }
    }
}

fn reset() -> Response {
    route_error(&["reset"])
}

impl Inner {
    fn page_len(&self, c: &Cursor) -> usize {
        self.page_size.min(c.limit).max(1)
    }

    /// The next page of a cursor: `{"entries","cursor","has_more"}`.
    fn page(&self, mut c: Cursor) -> Value {
        let size = self.page_len(&c);
        let entries: Vec<Value>;
        let has_more;
        match c.pos {
            Some(pos) => {
                let listed: Vec<Value> = self
                    .items
                    .iter()
                    .filter(|(k, _)| c.in_scope(k))
                    .map(|(k, i)| metadata(k, i))
                    .collect();
                let end = (pos + size).min(listed.len());
                entries = listed[pos.min(end)..end].to_vec();
                has_more = end < listed.len();
                c.pos = has_more.then_some(end);
            }
            None => {
                let mut at = c.log;
                let mut got = Vec::new();
                while at < self.log.len() && got.len() < size {
                    let e = &self.log[at];
                    if c.in_scope(e["path_lower"].as_str().unwrap_or_default()) {
                        got.push(e.clone());
                    }
                    at += 1;
                }
                has_more = self.log[at..]
                    .iter()
                    .any(|e| c.in_scope(e["path_lower"].as_str().unwrap_or_default()));
                c.log = if has_more { at } else { self.log.len() };
                entries = got;
            }
        }
        json!({"entries": entries, "cursor": c.encode(), "has_more": has_more})
    }

    /// The cursor a list_folder-shaped argument asks for, or the route's error.
    fn listing_cursor(&self, route: &str, arg: &Value) -> Result<Cursor, Refused> {
        let path = path_field(route, arg, "path", PathKind::FolderOrRoot, "path")?;
        let recursive = bool_field(route, arg, "recursive", false)?;
        bool_field(route, arg, "include_deleted", false)?;
        let limit = match arg.get("limit") {
            None | Some(Value::Null) => usize::MAX,
            Some(l) => match l.as_u64().filter(|n| (1..=2000).contains(n)) {
                Some(n) => n as usize,
                None => {
                    return Err(bad_request(
                        route,
                        &format!("request body: limit: {l} is not within [1, 2000]"),
                    )
                    .into())
                }
            },
        };
        let key = if path.is_empty() {
            String::new()
        } else {
            let Some(key) = self.key_of(path) else {
                return Err(route_error(&["path", "not_found"]).into());
            };
            if self.items.get(&key).is_some_and(|i| i.tag != "folder") {
                return Err(route_error(&["path", "not_folder"]).into());
            }
            key
        };
        Ok(Cursor {
            account: self.account_id.clone(),
            path: key,
            recursive,
            limit,
            log: self.log.len(),
            pos: Some(0),
        })
    }
}

/// `POST /2/files/list_folder {"path","recursive"?,"include_deleted"?,"limit"?}`.
pub(super) async fn list_folder(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = tri!(f.gate(&headers).await);
    let arg = match wire::rpc_arg(LIST, &headers, &body) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let g = lock(&f.inner);
    match g.listing_cursor(LIST, &arg) {
        Ok(c) => Json(g.page(c)).into_response(),
        Err(refused) => *refused,
    }
}

/// `POST /2/files/list_folder/get_latest_cursor`: a cursor at the end of the log, no listing.
pub(super) async fn latest_cursor(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = tri!(f.gate(&headers).await);
    let arg = match wire::rpc_arg(LATEST, &headers, &body) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let g = lock(&f.inner);
    match g.listing_cursor(LATEST, &arg) {
        Ok(mut c) => {
            c.pos = None;
            Json(json!({"cursor": c.encode()})).into_response()
        }
        Err(refused) => *refused,
    }
}

/// `POST /2/files/list_folder/continue {"cursor"}`.
pub(super) async fn list_continue(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = tri!(f.gate(&headers).await);
    let arg = match wire::rpc_arg(CONTINUE, &headers, &body) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let Some(cursor) = arg["cursor"].as_str() else {
        return bad_request(CONTINUE, "request body: missing required field 'cursor'");
    };
    let g = lock(&f.inner);
    match Cursor::decode(cursor) {
        Some(c) if c.account == g.account_id && c.log <= g.log.len() => {
            Json(g.page(c)).into_response()
        }
        _ => reset(),
    }
}
