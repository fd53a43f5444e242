//! The documents hub's webhooks (Box v2), on the instance named by the `Element` token. Herald
//! sets each webhook's address to its own ingest URL for the instance, remembers the webhooks it
//! created (so `DELETE /instances/{id}` removes them at Box), and passes Box's refusals through.

use axum::extract::{Path, State};
use axum::Json;
use herald_core::store::instances;
use herald_elements::boxcom::webhooks_api;
use herald_elements::ElementKey;
use serde_json::{json, Value};

use crate::auth::InstanceAuth;
use crate::error::ApiError;
use crate::provider::with_token;
use crate::state::AppState;

fn box_instance(auth: &InstanceAuth) -> Result<(), ApiError> {
    match ElementKey::parse(&auth.instance.element_key) {
        Some(ElementKey::Box) => Ok(()),
        _ => Err(ApiError::BadRequest(format!(
            "{} has no webhooks hub; only box instances do",
            auth.instance.element_key
        ))),
    }
}

/// `POST /hubs/documents/webhooks` `{"target":{"id","type"},"triggers":[…]}`.
pub async fn create(
    State(state): State<AppState>,
    auth: InstanceAuth,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    box_instance(&auth)?;
    let body: Value = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::BadRequest(format!("Invalid webhook JSON: {e}")))?;
    let inst = &auth.instance;
    let address = format!(
        "{}/elements/api-v2/events/{}/{}",
        state.public_url, inst.element_key, inst.id
    );
    let request = webhooks_api::request(&body, &address)?;
    let http = state.http.clone();
    let created = with_token(&state, inst, |token, urls| {
        let (http, request) = (http.clone(), request.clone());
        async move { webhooks_api::create(&http, &urls, &token, &request).await }
    })
    .await?;
    let id = webhook_id(&created)?;
    let mut conn = state.brokers.redis.clone();
    if let Err(e) = instances::add_provider_webhook(&mut conn, &state.brokers.keys, inst, &id).await
    {
        // Not remembered means never removed with the instance: take it back at Box.
        let http = state.http.clone();
        let undone = with_token(&state, inst, |token, urls| {
            let (http, id) = (http.clone(), id.clone());
            async move { webhooks_api::delete(&http, &urls, &token, &id).await }
        })
        .await;
        tracing::warn!(instance_id = inst.id, error = %e, undone = undone.is_ok(), "webhook created but not recorded");
        return Err(e.into());
    }
    Ok(Json(created))
}

fn webhook_id(created: &Value) -> Result<String, ApiError> {
    match &created["id"] {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(ApiError::BadGateway(
            "Box answered a webhook without an id".into(),
        )),
    }
}

/// `GET /hubs/documents/webhooks`: Box's webhooks of the instance's user and app.
pub async fn list(
    State(state): State<AppState>,
    auth: InstanceAuth,
) -> Result<Json<Value>, ApiError> {
    box_instance(&auth)?;
    let http = state.http.clone();
    let all = with_token(&state, &auth.instance, |token, urls| {
        let http = http.clone();
        async move { webhooks_api::list(&http, &urls, &token).await }
    })
    .await?;
    Ok(Json(Value::Array(all)))
}

/// `GET /hubs/documents/webhooks/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    box_instance(&auth)?;
    let http = state.http.clone();
    let one = with_token(&state, &auth.instance, |token, urls| {
        let (http, id) = (http.clone(), id.clone());
        async move { webhooks_api::get(&http, &urls, &token, &id).await }
    })
    .await?;
    Ok(Json(one))
}

/// `DELETE /hubs/documents/webhooks/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    box_instance(&auth)?;
    let inst = &auth.instance;
    let http = state.http.clone();
    with_token(&state, inst, |token, urls| {
        let (http, id) = (http.clone(), id.clone());
        async move { webhooks_api::delete(&http, &urls, &token, &id).await }
    })
    .await?;
    let mut conn = state.brokers.redis.clone();
    instances::remove_provider_webhook(&mut conn, &state.brokers.keys, inst, &id).await?;
    Ok(Json(json!({"id": id, "deleted": true})))
}
