//! What every HTTP answer of gateway and ingest shares: the `Elements-Request-Id` header, the
//! JSON error body `{"requestId","message","code"}`, and one access-log line per request.
//!
//! [`request_context`] wraps each request: it mints the id, runs the handler with the id in a
//! task-local (so error types can put it in their body without threading it through), turns
//! any non-JSON error answer (an unknown route, a 405, a rejected body) into the JSON form, and
//! logs method, path (never the query: it may hold secrets), status and duration. When traces
//! are exported it is also the server span (`http.route` from [`record_route`]).

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "Elements-Request-Id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, or a fresh one outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| new_request_id())
}

pub fn new_request_id() -> String {
    let mut b = [0u8; 12];
    crate::crypto::fill_random(&mut b);
    hex::encode(b)
}

/// The error body of every 4xx/5xx.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub request_id: String,
    pub message: String,
    pub code: String,
}

/// A JSON error answer carrying the current request id.
pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        request_id: current_request_id(),
        message: message.into(),
        code: code.to_string(),
    };
    (status, axum::Json(body)).into_response()
}

fn default_error(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("not_found", "No such resource"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "Method not allowed on this path"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "Request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "Unsupported Content-Type")
        }
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            ("bad_request", "The request is malformed")
        }
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request took too long"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("error", "Request failed"),
    }
}

/// Middleware: request id, JSON errors, access log (every request at `INFO`), server span.
pub async fn request_context(req: Request, next: Next) -> Response {
    handle(req, next, false).await
}

/// As [`request_context`] for provider requests (ingest): answers below 400 are logged at
/// `DEBUG`, so thousands of webhooks a second do not mean thousands of log lines.
pub async fn provider_request_context(req: Request, next: Next) -> Response {
    handle(req, next, true).await
}

/// Route middleware (`Router::route_layer`): names the server span after the matched route.
pub async fn record_route(route: MatchedPath, req: Request, next: Next) -> Response {
    if crate::telemetry::trace::exported() {
        let span = tracing::Span::current();
        span.record("http.route", route.as_str());
        crate::telemetry::trace::rename(&span, format!("{} {}", req.method(), route.as_str()));
    }
    next.run(req).await
}

async fn handle(req: Request, next: Next, quiet: bool) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    // A span only when traces are exported: the hot path pays nothing otherwise.
    let span = crate::exported_span!(
        "request",
        otel.name = %method,
        otel.kind = "server",
        http.request.method = %method,
        url.path = %path,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        request_id = %id,
    );
    let mut resp = REQUEST_ID
        .scope(id.clone(), async move {
            let resp = next.run(req).await;
            normalize_error(resp).await
        })
        .instrument(span.clone())
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let status = resp.status().as_u16();
    span.record("http.response.status_code", status);
    let duration_ms = started.elapsed().as_millis() as u64;
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        tracing::warn!(request_id = %id, %method, %path, status, duration_ms, "request");
    } else if quiet && status < 400 {
        tracing::debug!(request_id = %id, %method, %path, status, duration_ms, "request");
    } else {
        tracing::info!(request_id = %id, %method, %path, status, duration_ms, "request");
    }
    resp
}

async fn normalize_error(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, default_message) = default_error(status);
    let message = if text.is_empty() || status.is_server_error() {
        default_message.to_string()
    } else {
        text
    };
    let mut out = error_response(status, code, message);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// A plain JSON answer with a status.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
