//! The content host's `files/upload` and `files/download` (in tests the same address as the
//! API). The argument is JSON in `Dropbox-API-Arg` (or `?arg=`); an upload's body is the bytes
//! (`Content-Type: application/octet-stream`); a download answers the bytes with the file's
//! metadata in `Dropbox-API-Result`.
//!
//! Upload modes are Dropbox's: `add` (the default) refuses an existing path, `overwrite`
//! replaces a file, `{".tag":"update","update":"<rev>"}` replaces that rev only. As Dropbox
//! does, a conflict with a file of *identical* content is no conflict (the existing file is
//! answered, nothing changes) unless `strict_conflict` is true; `autorename` picks
//! `name (1).ext`, `name (2).ext`, …

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::store::{metadata, name_of, untagged};
use super::wire::{self, bad_request, bool_field, path_field, route_error_body, PathKind};
use super::{lock, FakeDropbox, Inner, Refused};

const UPLOAD: &str = "files/upload";
const DOWNLOAD: &str = "files/download";

#[derive(Debug, PartialEq)]
enum Mode {
    Add,
    Overwrite,
    Update(String),
}

fn mode(arg: &Value) -> Result<Mode, Refused> {
    let (tag, rev) = match arg.get("mode") {
        None | Some(Value::Null) => ("add", None),
        Some(Value::String(s)) => (s.as_str(), None),
        Some(o) => (
            o[".tag"].as_str().unwrap_or_default(),
            o["update"].as_str().map(str::to_string),
        ),
    };
    match (tag, rev) {
        ("add", _) => Ok(Mode::Add),
        ("overwrite", _) => Ok(Mode::Overwrite),
        ("update", Some(rev)) => Ok(Mode::Update(rev)),
        _ => Err(bad_request(
            UPLOAD,
            &format!("HTTP header \"Dropbox-API-Arg\": mode: unknown tag '{tag}'"),
        )
        .into()),
    }
}

/// An upload's write failure: `UploadError.path` is a struct (`reason`, `upload_session_id`).
fn upload_conflict(kind: &str) -> Response {
    let error = json!({
        ".tag": "path",
        "reason": {".tag": "conflict", "conflict": {".tag": kind}},
        "upload_session_id": format!("pid_upload_session:{}", crate::webhook_sender::fresh_uuid()),
    });
    route_error_body(&["path", "conflict", kind], error)
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `name (n).ext` beside `path`, the first one free.
fn renamed(g: &Inner, path: &str) -> String {
    let name = name_of(path);
    let dir = &path[..path.len() - name.len()];
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    (1..)
        .map(|n| format!("{dir}{stem} ({n}){ext}"))
        .find(|p| g.conflict_at(&p.to_lowercase()).is_none())
        .unwrap_or_default()
}

/// `POST /2/files/upload` → the new file's metadata (a bare FileMetadata: no `.tag`).
pub(super) async fn upload(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let f = tri!(f.gate(&headers).await);
    let ct = media_type(&headers);
    if ct != "application/octet-stream" && ct != "text/plain; charset=dropbox-cors-hack" {
        return bad_request(
            UPLOAD,
            &format!("Bad HTTP \"Content-Type\" header: \"{ct}\".  Expecting one of \"application/octet-stream\", \"text/plain; charset=dropbox-cors-hack\"."),
        );
    }
    let arg = tri!(wire::header_arg(UPLOAD, &headers, q.get("arg")));
    let path = tri!(path_field(UPLOAD, &arg, "path", PathKind::Target, "path"));
    let mode = tri!(mode(&arg));
    let autorename = tri!(bool_field(UPLOAD, &arg, "autorename", false));
    let strict = tri!(bool_field(UPLOAD, &arg, "strict_conflict", false));
    tri!(bool_field(UPLOAD, &arg, "mute", false));
    let meta = {
        let mut g = lock(&f.inner);
        let key = path.to_lowercase();
        let mut target = path.to_string();
        if let Some(kind) = g.conflict_at(&key) {
            let existing = g.items.get(&key).filter(|i| i.tag == "file");
            let replaceable = match (&mode, existing) {
                (Mode::Overwrite, Some(_)) => true,
                (Mode::Update(rev), Some(i)) => *rev == format!("{:09x}", i.rev),
                _ => false,
            };
            if !replaceable {
                if let Some(same) = existing.filter(|i| !strict && i.bytes == body) {
                    return Json(untagged(metadata(&key, same))).into_response();
                }
                // A file above the path blocks any name here: renaming cannot help.
                let blocked_above = kind == "file" && existing.is_none();
                if !autorename || blocked_above {
                    return upload_conflict(kind);
                }
                target = renamed(&g, path);
            }
        }
        g.put("file", &target, body)
    };
    f.notify();
    Json(untagged(meta)).into_response()
}

/// `POST /2/files/download` → 200, the bytes, `Dropbox-API-Result` = the file's metadata.
pub(super) async fn download(
    State(f): State<FakeDropbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = tri!(f.gate(&headers).await);
    let ct = media_type(&headers);
    let accepted =
        ct.is_empty() || ct.starts_with("text/plain") || ct == "application/octet-stream";
    if !accepted {
        return bad_request(
            DOWNLOAD,
            &format!("Bad HTTP \"Content-Type\" header: \"{ct}\".  Expecting one of \"text/plain\", \"text/plain; charset=utf-8\", \"application/octet-stream\", \"application/octet-stream; charset=utf-8\"."),
        );
    }
    let arg = tri!(wire::header_arg(DOWNLOAD, &headers, q.get("arg")));
    let path = tri!(path_field(
        DOWNLOAD,
        &arg,
        "path",
        PathKind::Existing,
        "path"
    ));
    let g = lock(&f.inner);
    let Some(key) = g.key_of(path) else {
        return wire::route_error(&["path", "not_found"]);
    };
    let item = &g.items[&key];
    if item.tag != "file" {
        return wire::route_error(&["path", "not_file"]);
    }
    let result = wire::ascii_json(&untagged(metadata(&key, item)));
    (
        StatusCode::OK,
        [
            ("Content-Type", "application/octet-stream".to_string()),
            ("Dropbox-API-Result", result),
        ],
        item.bytes.clone(),
    )
        .into_response()
}
