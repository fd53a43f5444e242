//! The operator's API: organizations and users, with `Authorization: Bearer <HERALD_ADMIN_TOKEN>`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use herald_core::signing::constant_time_eq;
use herald_core::store::identity;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

fn check_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "))
        .map(str::trim);
    match (&state.admin_token, given) {
        (Some(token), Some(given))
            if constant_time_eq(token.expose_secret().as_bytes(), given.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(ApiError::Unauthorized("Invalid or missing admin token")),
    }
}

fn body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ApiError::BadRequest(format!("Invalid body: {e}")))
}

#[derive(Deserialize)]
struct NewOrg {
    name: String,
}

pub async fn create_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_admin(&state, &headers)?;
    let req: NewOrg = body(&raw)?;
    if req.name.trim().is_empty() {
        return Err(ApiError::BadRequest("name must not be empty".into()));
    }
    let mut conn = state.brokers.redis.clone();
    let (org, secret) =
        identity::create_org(&mut conn, &state.brokers.keys, req.name.trim()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": org.id, "name": org.name, "secret": secret})),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_admin(&state, &headers)?;
    let org_id: u64 = org_id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("No organization {org_id}")))?;
    let req: NewUser = body(&raw)?;
    if !req.email.contains('@') {
        return Err(ApiError::BadRequest(
            "email must be an email address".into(),
        ));
    }
    let mut conn = state.brokers.redis.clone();
    let keys = &state.brokers.keys;
    if !identity::org_exists(&mut conn, keys, org_id).await? {
        return Err(ApiError::NotFound(format!("No organization {org_id}")));
    }
    let (user, secret) = identity::create_user(
        &mut conn,
        keys,
        org_id,
        &req.email,
        &req.first_name,
        &req.last_name,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": user.id, "email": user.email, "secret": secret, "organizationId": org_id}),
        ),
    ))
}
