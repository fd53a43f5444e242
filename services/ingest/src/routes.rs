//! The provider-facing endpoint: `GET|POST /elements/api-v2/events/{elementKey}[/{instanceId}]`.
//!
//! 200 only once the raw body is stored in JetStream (publish acknowledged); 401 for a missing
//! or wrong signature (nothing stored); 404 for an element not in the catalog; 400 for a body
//! that does not parse; 503 while NATS or Redis cannot take it, so the provider retries.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use bytes::Bytes;
use herald_core::bus::{
    HDR_CONTENT_TYPE, HDR_ELEMENT, HDR_INSTANCE, HDR_RECEIVED_AT, HDR_REQUEST_ID,
};
use herald_core::http::{current_request_id, error_response};
use herald_elements::catalog;
use herald_elements::webhooks::{self, HeaderLookup, Rejection};

use crate::Shared;

/// Largest provider body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(shared: Shared) -> Router {
    Router::new()
        .route(
            "/elements/api-v2/events/{element}",
            get(challenge).post(receive),
        )
        .route(
            "/elements/api-v2/events/{element}/{instance}",
            get(challenge_scoped).post(receive_scoped),
        )
        .with_state(shared)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(herald_core::http::request_context))
}

struct Headers<'a>(&'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn challenge(
    Path(element): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if catalog::find(&element).is_none() {
        return error_response(
            StatusCode::NOT_FOUND,
            "unknown_element",
            format!("No element {element}"),
        );
    }
    match webhooks::challenge(&element, q.get("challenge").map(String::as_str)) {
        Some(answer) => (
            [
                (header::CONTENT_TYPE, "text/plain"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            answer,
        )
            .into_response(),
        None => error_response(
            StatusCode::BAD_REQUEST,
            "no_challenge",
            "Expected a challenge parameter",
        ),
    }
}

async fn challenge_scoped(
    Path((element, _instance)): Path<(String, String)>,
    q: Query<HashMap<String, String>>,
) -> Response {
    challenge(Path(element), q).await
}

async fn receive(
    State(s): State<Shared>,
    Path(element): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    accept(&s, &element, None, &headers, body).await
}

async fn receive_scoped(
    State(s): State<Shared>,
    Path((element, instance)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(instance) = instance.parse::<u64>() else {
        return error_response(
            StatusCode::NOT_FOUND,
            "unknown_instance",
            "No such instance",
        );
    };
    accept(&s, &element, Some(instance), &headers, body).await
}

async fn accept(
    s: &Shared,
    element: &str,
    instance: Option<u64>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let resp = store(s, element, instance, headers, body).await;
    let label = if catalog::find(element).is_some() {
        element
    } else {
        "unknown"
    };
    s.metrics
        .ingest_requests
        .inc(&[label, resp.status().as_str()]);
    resp
}

async fn store(
    s: &Shared,
    element: &str,
    instance: Option<u64>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let Some(def) = catalog::find(element) else {
        return error_response(
            StatusCode::NOT_FOUND,
            "unknown_element",
            format!("No element {element}"),
        );
    };
    let secrets = match s.secrets.for_element(def.key).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "webhook secrets unavailable");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Try again later",
            );
        }
    };
    match webhooks::verify(def.key, &Headers(headers), &body, &secrets) {
        Ok(()) => {}
        Err(Rejection::BadSignature) => {
            return error_response(
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                "Missing or invalid signature",
            )
        }
        Err(Rejection::Malformed) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                "Body is not a valid notification",
            )
        }
        Err(Rejection::NotSupported) => {
            return error_response(
                StatusCode::NOT_FOUND,
                "no_webhooks",
                format!("{} takes no webhooks", def.key),
            )
        }
    }
    let mut h = async_nats::HeaderMap::new();
    h.insert(HDR_ELEMENT, def.key);
    h.insert(HDR_REQUEST_ID, current_request_id().as_str());
    h.insert(HDR_RECEIVED_AT, herald_core::time::now_rfc3339().as_str());
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        h.insert(HDR_CONTENT_TYPE, ct);
    }
    if let Some(i) = instance {
        h.insert(HDR_INSTANCE, i.to_string().as_str());
    }
    let subject = s.brokers.topo.webhooks(def.key);
    let published = async {
        let ack = s.brokers.js.publish_with_headers(subject, h, body).await?;
        ack.await?;
        Ok::<_, async_nats::Error>(())
    }
    .await;
    match published {
        Ok(()) => (StatusCode::OK, "").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, element = def.key, "could not store webhook");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Try again later",
            )
        }
    }
}
