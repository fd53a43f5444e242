//! `GET /elements`, `GET /elements/{key}`, `GET /elements/{key}/oauth/url`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use herald_elements::{catalog, oauth};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn list() -> Json<Value> {
    Json(Value::Array(
        catalog::all().iter().map(|e| e.catalog_json()).collect(),
    ))
}

fn element(key: &str) -> Result<&'static catalog::ElementDef, ApiError> {
    catalog::find(key).ok_or_else(|| ApiError::NotFound(format!("No element with key {key}")))
}

pub async fn get_one(Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(element(&key)?.detail_json()))
}

/// No auth, as in the seed: the answer holds nothing secret (`apiSecret` is not used).
pub async fn oauth_url(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let def = element(&key)?;
    if !def.type_oauth {
        return Err(ApiError::BadRequest(format!(
            "{} does not use OAuth",
            def.key
        )));
    }
    let param = |name: &str| q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let missing: Vec<&str> = ["apiKey", "callbackUrl"]
        .into_iter()
        .filter(|n| param(n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "Missing required query parameters: {}",
            missing.join(", ")
        )));
    }
    let urls = state
        .urls
        .get(def.key)
        .ok_or_else(|| ApiError::Internal(format!("no URLs for {}", def.key)))?;
    let url = oauth::authorize_url(
        def,
        urls,
        param("apiKey").unwrap_or_default(),
        param("callbackUrl").unwrap_or_default(),
        param("state"),
        param("scope"),
    )?;
    Ok(Json(json!({"oauthUrl": url, "element": def.key})))
}
