//! The provider-facing endpoint: `GET|POST /elements/api-v2/events/{elementKey}[/{instanceId}]`.
//!
//! A delivery is read first (body within the element's limit, signature headers present,
//! timestamp in the provider's window), then verified against the candidate instances' own
//! secrets, and stored — routed to exactly the instances that verified it. 200 only once stored
//! in JetStream (publish acknowledged), or for a correctly signed delivery that concerns none of
//! Herald's instances (acknowledged and dropped); 401 for a missing or wrong signature (nothing
//! stored); 404 for an element not in the catalog; 400 for a body that does not parse; 413 over
//! the limit; 503 while NATS or Redis cannot take it, so the provider retries.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use herald_core::bus::{
    HDR_CONTENT_TYPE, HDR_ELEMENT, HDR_INSTANCES, HDR_MSG_ID, HDR_RECEIVED_AT, HDR_REQUEST_ID,
    HDR_TRACEPARENT,
};
use herald_core::http::{current_request_id, error_response};
use herald_core::store::StoreError;
use herald_elements::catalog::{self, ElementDef};
use herald_elements::webhooks::{self, HeaderLookup, Inbound, Rejection, Routing};

use crate::directory::{Candidate, Lookup};
use crate::Shared;

pub fn router(shared: Shared, limits: herald_core::rate_limit::Limits) -> Router {
    Router::new()
        .route(
            "/elements/api-v2/events/{elementKey}",
            get(challenge).post(receive),
        )
        .route(
            "/elements/api-v2/events/{elementKey}/{instanceId}",
            get(challenge_scoped).post(receive_scoped),
        )
        .route_layer(middleware::from_fn(herald_core::http::record_route))
        .with_state(shared)
        // Inside the request context, so a 429 carries its request id too.
        .layer(middleware::from_fn_with_state(
            limits,
            herald_core::rate_limit::enforce,
        ))
        .layer(middleware::from_fn(
            herald_core::http::provider_request_context,
        ))
}

struct Headers<'a>(&'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

fn unknown_element(element: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "unknown_element",
        format!("No element {element}"),
    )
}

fn unavailable() -> Response {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Try again later",
    )
}

async fn challenge(
    Path(element): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(def) = catalog::find(&element) else {
        return unknown_element(&element);
    };
    match webhooks::challenge(def.key, q.get("challenge").map(String::as_str)) {
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

/// One provider request, as received.
struct Request {
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Body,
}

async fn receive(
    State(s): State<Shared>,
    Path(element): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
        body,
    };
    accept(&s, &element, None, req).await
}

async fn receive_scoped(
    State(s): State<Shared>,
    Path((element, instance)): Path<(String, String)>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(instance) = instance.parse::<u64>() else {
        return error_response(
            StatusCode::NOT_FOUND,
            "unknown_instance",
            "No such instance",
        );
    };
    let req = Request {
        method,
        uri,
        headers,
        body,
    };
    accept(&s, &element, Some(instance), req).await
}

async fn accept(s: &Shared, element: &str, instance: Option<u64>, req: Request) -> Response {
    let def = catalog::find(element);
    let resp = match def {
        Some(def) => store(s, def, instance, req).await,
        None => unknown_element(element),
    };
    let label = def.map(|d| d.key.as_str()).unwrap_or("unknown");
    s.metrics
        .ingest_requests
        .inc(&[label, resp.status().as_str()]);
    resp
}

async fn store(s: &Shared, def: &ElementDef, instance: Option<u64>, req: Request) -> Response {
    let key = def.key;
    if !def.events.webhooks {
        return error_response(
            StatusCode::NOT_FOUND,
            "no_webhooks",
            format!("{key} takes no webhooks"),
        );
    }
    // Nothing is verified yet: read no more than this element's deliveries can be.
    let Ok(body) = axum::body::to_bytes(req.body, webhooks::body_limit(key)).await else {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Body over the limit for this provider",
        );
    };
    let path = req
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_else(|| req.uri.path());
    let mut urls = vec![format!("{}{path}", s.public_url)];
    if let Some(host) = req.headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        urls.push(format!("http://{host}{path}"));
        urls.push(format!("https://{host}{path}"));
    }
    let inbound = Inbound {
        method: req.method.as_str(),
        urls: &urls,
        headers: &Headers(&req.headers),
        body: &body,
        now_ms: herald_core::time::now_ms(),
    };
    let read = match webhooks::read(key, &inbound) {
        Ok(r) => r,
        Err(rejection) => return refused(rejection, key.as_str()),
    };
    let (named, verified) =
        match verified_instances(s, def, instance, &read.routing, &inbound).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "instances unavailable");
                return unavailable();
            }
        };
    if verified.is_empty() && instance.is_some() && named > 0 {
        // The URL names an instance and its secrets do not verify the delivery.
        return refused(Rejection::BadSignature, key.as_str());
    }
    if verified.is_empty() {
        // For none of ours: acknowledged and dropped if one of the element's apps signed it.
        return match signed_by_any(s, def, &inbound).await {
            Ok(true) => (StatusCode::OK, "").into_response(),
            Ok(false) => refused(Rejection::BadSignature, key.as_str()),
            Err(e) => {
                tracing::warn!(error = %e, "webhook secrets unavailable");
                unavailable()
            }
        };
    }
    let ids = verified
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut h = async_nats::HeaderMap::new();
    h.insert(HDR_ELEMENT, key.as_str());
    h.insert(HDR_INSTANCES, ids.as_str());
    h.insert(HDR_REQUEST_ID, current_request_id().as_str());
    h.insert(HDR_RECEIVED_AT, herald_core::time::now_rfc3339().as_str());
    // This request starts the trace its events are delivered under.
    let trace = herald_core::telemetry::trace::start(&tracing::Span::current());
    h.insert(HDR_TRACEPARENT, trace.as_str());
    if let Some(id) = &read.dedupe_id {
        // A provider's retry racing the original is stored once.
        h.insert(HDR_MSG_ID, format!("{key}:{ids}:{id}").as_str());
    }
    if let Some(ct) = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        h.insert(HDR_CONTENT_TYPE, ct);
    }
    let subject = s.brokers.topo.webhooks(key.as_str());
    let published = async {
        let ack = s.brokers.js.publish_with_headers(subject, h, body).await?;
        ack.await?;
        Ok::<_, async_nats::Error>(())
    }
    .await;
    match published {
        Ok(()) => (StatusCode::OK, "").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, element = %key, "could not store webhook");
            unavailable()
        }
    }
}

fn refused(rejection: Rejection, element: &str) -> Response {
    match rejection {
        Rejection::BadSignature => error_response(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "Missing or invalid signature",
        ),
        Rejection::Malformed => error_response(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "Body is not a valid notification",
        ),
        Rejection::NotSupported => error_response(
            StatusCode::NOT_FOUND,
            "no_webhooks",
            format!("{element} takes no webhooks"),
        ),
    }
}

/// How many candidates the delivery names, and those whose own secrets verify it, by id.
async fn verified_instances(
    s: &Shared,
    def: &ElementDef,
    instance: Option<u64>,
    routing: &Routing,
    inbound: &Inbound<'_>,
) -> Result<(usize, Vec<u64>), StoreError> {
    let key = def.key;
    let mut candidates: Vec<std::sync::Arc<Vec<Candidate>>> = Vec::new();
    match (instance, routing) {
        (Some(id), _) => candidates.push(s.directory.candidates(key, Lookup::Instance(id)).await?),
        (None, Routing::All(routes)) => {
            for r in routes {
                candidates.push(s.directory.candidates(key, Lookup::Route(r)).await?);
            }
        }
        (None, Routing::First(routes)) => {
            for r in routes {
                let found = s.directory.candidates(key, Lookup::Route(r)).await?;
                if !found.is_empty() {
                    candidates.push(found);
                    break;
                }
            }
        }
    }
    let mut ids: Vec<u64> = candidates
        .iter()
        .flat_map(|c| c.iter())
        .filter(|c| webhooks::verify(key, inbound, &c.secret_refs()))
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok((candidates.iter().map(|c| c.len()).sum(), ids))
}

/// True when any of the element's apps signed the delivery (or it is unsigned by design).
async fn signed_by_any(
    s: &Shared,
    def: &ElementDef,
    inbound: &Inbound<'_>,
) -> Result<bool, StoreError> {
    let key = def.key;
    let entries = webhooks::signing_entries(key).len();
    if webhooks::verify(key, inbound, &vec![None; entries]) {
        return Ok(true);
    }
    let secrets = s.directory.element_secrets(key).await?;
    Ok(secrets
        .iter()
        .any(|secret| webhooks::verify(key, inbound, &vec![Some(secret.as_str()); entries])))
}
