//! The catalog: `GET /elements`, `/elements/keys`, `/elements/{key}`,
//! `/elements/{key}/configuration`, `/elements/{key}/oauth/url`, and the hubs it files elements
//! under: `GET /hubs`, `/hubs/keys`, `/hubs/{key}`, `/hubs/{key}/elements`. No auth: nothing
//! here is a tenant's.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use herald_elements::{catalog, oauth, Hub};
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

/// The element keys, a bare array of strings.
pub async fn keys() -> Json<Value> {
    Json(json!(catalog::all()
        .iter()
        .map(|e| e.key.as_str())
        .collect::<Vec<_>>()))
}

/// One element's configuration entries alone.
pub async fn configuration(Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    let entries: Vec<_> = element(&key)?.all_entries().collect();
    Ok(Json(json!(entries)))
}

fn hub(key: &str) -> Result<Hub, ApiError> {
    Hub::parse(key).ok_or_else(|| ApiError::NotFound(format!("No hub with key {key}")))
}

pub async fn hubs() -> Json<Value> {
    Json(Value::Array(Hub::ALL.iter().map(|h| h.json()).collect()))
}

pub async fn hub_keys() -> Json<Value> {
    Json(json!(Hub::ALL
        .iter()
        .map(|h| h.as_str())
        .collect::<Vec<_>>()))
}

pub async fn hub_one(Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(hub(&key)?.json()))
}

/// The catalog entries of a hub's elements.
pub async fn hub_elements(Path(key): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(Value::Array(
        hub(&key)?.elements().map(|e| e.catalog_json()).collect(),
    )))
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
