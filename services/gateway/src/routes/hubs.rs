//! The documents hub, on the instance named by the `Element` token.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use herald_elements::{documents, ElementKey};
use serde_json::Value;

use crate::auth::InstanceAuth;
use crate::error::ApiError;
use crate::provider::with_token;
use crate::state::AppState;

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
    let inst = &auth.instance;
    let http = state.http.clone();
    let element = ElementKey::parse(&inst.element_key).ok_or_else(|| {
        ApiError::BadRequest(format!("{} is not in the catalog", inst.element_key))
    })?;
    let folder = with_token(&state, inst, |token, urls| {
        let (http, path) = (http.clone(), path.clone());
        async move { documents::create_folder(&http, element, &urls, &token, &path).await }
    })
    .await?;
    Ok(Json(folder))
}
