//! Requests no operation serves: a JSON 404 or 405 — after the credentials are checked on hub
//! paths, so a wrong secret is 401 there whatever the path or method.

use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::Method;

use crate::auth::InstanceAuth;
use crate::error::ApiError;
use crate::state::AppState;

/// A method the path does not serve.
pub async fn method(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not served at {}", uri.path()))
}

/// As [`method`], on a hub path: credentials first.
pub async fn hub_method(
    _auth: InstanceAuth,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not served at {}", uri.path()))
}

/// A path no operation has.
pub async fn path(State(state): State<AppState>, req: Request) -> ApiError {
    let (mut parts, _) = req.into_parts();
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map(|u| u.0.clone())
        .unwrap_or_else(|| parts.uri.clone());
    if uri.path().contains("/hubs/") {
        if let Err(e) = InstanceAuth::from_request_parts(&mut parts, &state).await {
            return e;
        }
    }
    ApiError::NotFound(format!("No operation at {}", uri.path()))
}
