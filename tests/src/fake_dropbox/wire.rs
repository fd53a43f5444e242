//! Dropbox's request and error formats.
//!
//! - A route error is 409 `{"error_summary": "<tag>/<tag>/..", "error": {...}}`, the error a
//!   Dropbox union: `{".tag": "path", "path": {".tag": "not_found"}}`.
//! - A request Dropbox cannot decode (wrong `Content-Type`, bad JSON, a missing field, a path
//!   that does not match the route's pattern) is a plain-text 400
//!   `Error in call to API function "files/…": …`.
//! - RPC arguments are the JSON body; content routes take theirs in the `Dropbox-API-Arg`
//!   header (or the `arg` query parameter), and a download's result travels in
//!   `Dropbox-API-Result`, both JSON with non-ASCII escaped (headers are ASCII).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Refused;

/// A Dropbox union nested from its tags: `["to", "conflict", "folder"]` →
/// `{".tag":"to","to":{".tag":"conflict","conflict":{".tag":"folder"}}}`.
fn union(tags: &[&str]) -> Value {
    match tags {
        [] => Value::Null,
        [tag] => json!({ ".tag": tag }),
        [tag, rest @ ..] => {
            let mut v = json!({ ".tag": tag });
            v[*tag] = union(rest);
            v
        }
    }
}

/// 409 with the route error named by `tags`.
pub(super) fn route_error(tags: &[&str]) -> Response {
    route_error_body(tags, union(tags))
}

/// 409 with a route error whose `error` is given (for struct-shaped variants).
pub(super) fn route_error_body(tags: &[&str], error: Value) -> Response {
    let summary = format!("{}/..", tags.join("/"));
    (
        StatusCode::CONFLICT,
        Json(json!({"error_summary": summary, "error": error})),
    )
        .into_response()
}

/// Dropbox's plain-text 400 for a request it cannot decode.
pub(super) fn bad_request(route: &str, detail: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("Content-Type", "text/plain; charset=utf-8")],
        format!("Error in call to API function \"{route}\": {detail}"),
    )
        .into_response()
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The JSON object an RPC route was called with.
pub(super) fn rpc_arg(route: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, Refused> {
    let ct = content_type(headers);
    let accepted = [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain; charset=dropbox-cors-hack",
    ];
    if !accepted.iter().any(|a| ct.eq_ignore_ascii_case(a)) {
        return Err(bad_request(
            route,
            &format!("Bad HTTP \"Content-Type\" header: \"{ct}\".  Expecting one of \"application/json\", \"application/json; charset=utf-8\", \"text/plain; charset=dropbox-cors-hack\"."),
        ).into());
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| bad_request(route, "request body: could not decode input as JSON").into())
}

/// The argument of a content route: the `Dropbox-API-Arg` header, else the `arg` parameter.
pub(super) fn header_arg(
    route: &str,
    headers: &HeaderMap,
    query_arg: Option<&String>,
) -> Result<Value, Refused> {
    let raw = match headers.get("dropbox-api-arg") {
        Some(v) => v.to_str().unwrap_or_default().to_string(),
        None => match query_arg {
            Some(a) => a.clone(),
            None => {
                return Err(bad_request(
                    route,
                    "Must provide HTTP header \"Dropbox-API-Arg\" or URL parameter \"arg\".",
                )
                .into())
            }
        },
    };
    serde_json::from_str::<Value>(&raw)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            bad_request(
                route,
                "HTTP header \"Dropbox-API-Arg\": could not decode input as JSON",
            )
            .into()
        })
}

/// JSON with every non-ASCII character escaped, as Dropbox writes its result header.
pub(super) fn ascii_json(v: &Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Which path forms a route accepts.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum PathKind {
    /// `""` for the root, or `/…`, or `id:…` (list_folder).
    FolderOrRoot,
    /// `/…` or `id:…` (reading or deleting an existing item).
    Existing,
    /// `/…` only (a path something is written to).
    Target,
}

/// A string field naming a path: 400 when missing or not of the route's pattern; 409
/// `<error_tag>/malformed_path` when it is, but is no valid path (`//`, a trailing `/`).
pub(super) fn path_field<'a>(
    route: &str,
    arg: &'a Value,
    field: &str,
    kind: PathKind,
    error_tag: &str,
) -> Result<&'a str, Refused> {
    let Some(path) = arg.get(field) else {
        return Err(bad_request(
            route,
            &format!("request body: missing required field '{field}'"),
        )
        .into());
    };
    let Some(path) = path.as_str() else {
        return Err(bad_request(
            route,
            &format!("request body: {field}: expected string, got {path}"),
        )
        .into());
    };
    if path == "/" {
        return Err(bad_request(
            route,
            &format!("request body: {field}: Specify the root folder as an empty string rather than as \"/\"."),
        ).into());
    }
    let root_ok = kind == PathKind::FolderOrRoot;
    if path.is_empty() && !root_ok {
        return Err(bad_request(
            route,
            &format!("request body: {field}: The root folder is unsupported."),
        )
        .into());
    }
    let by_id = path.starts_with("id:") && kind != PathKind::Target;
    if !path.is_empty() && !path.starts_with('/') && !by_id {
        return Err(bad_request(
            route,
            &format!("request body: {field}: '{path}' did not match pattern '(/(.|[\\r\\n])*)|(ns:[0-9]+(/.*)?)|(id:.*)'"),
        ).into());
    }
    if path.starts_with('/') && (path.ends_with('/') || path.contains("//")) {
        return Err(route_error(&[error_tag, "malformed_path"]).into());
    }
    Ok(path)
}

/// An optional boolean field (400 when present and not a boolean).
pub(super) fn bool_field(
    route: &str,
    arg: &Value,
    field: &str,
    default: bool,
) -> Result<bool, Refused> {
    match arg.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(bad_request(
            route,
            &format!("request body: {field}: expected boolean, got {other}"),
        )
        .into()),
    }
}
