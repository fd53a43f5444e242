//! `POST /instances` (via provisioning), `GET /instances`, `GET|PUT|PATCH|DELETE /instances/{id}`,
//! `PUT|DELETE /instances/enabled`.

use axum::extract::{Path, State};
use axum::Json;
use herald_core::http::current_request_id;
use herald_core::model::{InstanceRecord, ProvisioningRequest, UpdateMode};
use herald_core::store::instances;
use herald_elements::view::instance_json;
use serde_json::Value;

use super::rpc;
use crate::auth::{InstanceAuth, PlatformAuth};
use crate::error::ApiError;
use crate::lenient_json;
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    auth: PlatformAuth,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = lenient_json::parse_object(&raw).map_err(ApiError::BadRequest)?;
    let req = ProvisioningRequest::CreateV1 {
        user_id: auth.user.id,
        org_id: auth.user.org_id,
        request_id: current_request_id(),
        body: Value::Object(body),
    };
    Ok(Json(rpc::call(&state, &req).await?))
}

pub async fn list(
    State(state): State<AppState>,
    auth: PlatformAuth,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.brokers.redis.clone();
    let all = instances::list_for_user(&mut conn, &state.brokers.keys, auth.user.id).await?;
    Ok(Json(Value::Array(
        all.iter().map(|r| instance_json(r, None)).collect(),
    )))
}

/// The caller's instance, or 404 (also for another user's).
pub async fn owned(
    state: &AppState,
    user_id: u64,
    raw_id: &str,
) -> Result<InstanceRecord, ApiError> {
    let not_found = || ApiError::NotFound(format!("No instance {raw_id}"));
    let id: u64 = raw_id.parse().map_err(|_| not_found())?;
    let mut conn = state.brokers.redis.clone();
    match instances::get(&mut conn, &state.brokers.keys, id).await? {
        Some(rec) if rec.user_id == user_id => Ok(rec),
        _ => Err(not_found()),
    }
}

pub async fn get_one(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = owned(&state, auth.user.id, &id).await?;
    let mut v = instance_json(&rec, None);
    if let Some(status) = super::polls::status(&state, &rec).await? {
        v["polling"] = status;
    }
    Ok(Json(v))
}

/// `PATCH /instances/{id}`: name, tags, configuration entries (configuration object or dotted
/// keys at the top level); secret entries sent back as `********` stay as they are.
pub async fn update(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    change(&state, &auth, &id, &raw, UpdateMode::Patch).await
}

/// `PUT /instances/{id}`, the original's update: a create body without `providerData`; name,
/// tags and configuration become what it says (secrets left out or masked keep their values).
pub async fn replace(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    change(&state, &auth, &id, &raw, UpdateMode::Replace).await
}

async fn change(
    state: &AppState,
    auth: &PlatformAuth,
    id: &str,
    raw: &[u8],
    mode: UpdateMode,
) -> Result<Json<Value>, ApiError> {
    let rec = owned(state, auth.user.id, id).await?;
    let body = lenient_json::parse_object(raw).map_err(ApiError::BadRequest)?;
    let req = ProvisioningRequest::UpdateV1 {
        instance_id: rec.id,
        user_id: auth.user.id,
        body: Value::Object(body),
        mode,
    };
    Ok(Json(rpc::call(state, &req).await?))
}

/// `DELETE /instances/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = owned(&state, auth.user.id, &id).await?;
    let req = ProvisioningRequest::DeleteV1 {
        instance_id: rec.id,
        user_id: auth.user.id,
    };
    Ok(Json(rpc::call(&state, &req).await?))
}

async fn set_enabled(
    state: &AppState,
    instance_id: u64,
    enabled: bool,
) -> Result<Json<Value>, ApiError> {
    let req = ProvisioningRequest::SetEnabledV1 {
        instance_id,
        enabled,
    };
    Ok(Json(rpc::call(state, &req).await?))
}

/// `PUT /instances/{id}/enabled` (ours, platform auth): as `PUT /instances/enabled` without
/// the instance's token, for the user who owns it (the console uses it).
pub async fn enable_by_id(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = owned(&state, auth.user.id, &id).await?;
    set_enabled(&state, rec.id, true).await
}

/// `DELETE /instances/{id}/enabled` (ours, platform auth).
pub async fn disable_by_id(
    State(state): State<AppState>,
    auth: PlatformAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = owned(&state, auth.user.id, &id).await?;
    set_enabled(&state, rec.id, false).await
}

/// `PUT /instances/enabled` (instance auth): enable the token's instance.
pub async fn enable(
    State(state): State<AppState>,
    auth: InstanceAuth,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&state, auth.instance.id, true).await
}

/// `DELETE /instances/enabled` (instance auth): disable it; it takes no hub calls and produces
/// no events until enabled again.
pub async fn disable(
    State(state): State<AppState>,
    auth: InstanceAuth,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&state, auth.instance.id, false).await
}
