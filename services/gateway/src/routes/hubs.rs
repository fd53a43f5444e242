//! The documents hub, on the instance named by the `Element` token.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use herald_elements::documents;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::auth::InstanceAuth;
use crate::error::ApiError;
use crate::state::AppState;

/// The instance's access token, opened; refuses a disabled or invalid instance.
fn access_token(state: &AppState, auth: &InstanceAuth) -> Result<String, ApiError> {
    let inst = &auth.instance;
    if inst.disabled {
        return Err(ApiError::Conflict(format!(
            "Instance {} is disabled",
            inst.id
        )));
    }
    if !inst.valid {
        return Err(ApiError::Conflict(format!(
            "Instance {} is invalid: {}",
            inst.id,
            inst.invalid_reason.as_deref().unwrap_or("re-authorize it")
        )));
    }
    let sealed =
        inst.provider.access_token.as_deref().ok_or_else(|| {
            ApiError::Conflict(format!("Instance {} has no provider token", inst.id))
        })?;
    let token = state
        .secret_box
        .open(sealed)
        .map_err(|e| ApiError::Internal(format!("instance {} token: {e}", inst.id)))?;
    Ok(token.expose_secret().to_string())
}

fn path_param(q: &HashMap<String, String>) -> Result<String, ApiError> {
    q.get("path")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::BadRequest("Query parameter path is required".into()))
}

/// `POST /hubs/documents/folders?path=`: the body (the seed's folder JSON) is accepted as is;
/// the query's `path` names the folder.
pub async fn create_folder(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query<HashMap<String, String>>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    if !raw.is_empty() {
        serde_json::from_slice::<Value>(&raw)
            .map_err(|e| ApiError::BadRequest(format!("Invalid folder JSON: {e}")))?;
    }
    let path = path_param(&q)?;
    let token = access_token(&state, &auth)?;
    let inst = &auth.instance;
    let urls = state.urls.get(&inst.element_key).ok_or_else(|| {
        ApiError::BadRequest(format!("{} has no documents hub", inst.element_key))
    })?;
    let folder =
        documents::create_folder(&state.http, &inst.element_key, urls, &token, &path).await?;
    Ok(Json(folder))
}
