//! Calling a provider on an instance's behalf with a live access token.
//!
//! A token that expires within a minute is refreshed first; a provider 401 triggers one refresh
//! and one retry. Refreshes go through provisioning (single flight per instance), passing the
//! token version this call used, so a burst of calls that all meet an expired token causes
//! exactly one refresh at the provider.

use std::future::Future;

use herald_core::model::{InstanceRecord, ProvisioningRequest};
use herald_core::store::instances;
use herald_core::time::now_ms;
use herald_elements::urls::ProviderUrls;
use herald_elements::ElementError;
use secrecy::ExposeSecret;

use crate::error::ApiError;
use crate::routes::rpc;
use crate::state::AppState;

fn usable(inst: &InstanceRecord) -> Result<(), ApiError> {
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
    Ok(())
}

fn token_of(state: &AppState, inst: &InstanceRecord) -> Result<String, ApiError> {
    let sealed =
        inst.provider.access_token.as_deref().ok_or_else(|| {
            ApiError::Conflict(format!("Instance {} has no provider token", inst.id))
        })?;
    state
        .secret_box
        .open(sealed)
        .map(|t| t.expose_secret().to_string())
        .map_err(|e| ApiError::Internal(format!("instance {} token: {e}", inst.id)))
}

async fn refreshed(state: &AppState, inst: &InstanceRecord) -> Result<InstanceRecord, ApiError> {
    let req = ProvisioningRequest::RefreshV1 {
        instance_id: inst.id,
        seen_version: inst.provider.token_version,
    };
    rpc::call(state, "refresh", &req).await?;
    let mut conn = state.brokers.redis.clone();
    instances::get(&mut conn, &state.brokers.keys, inst.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No instance {}", inst.id)))
}

/// Runs `call` with the instance's token and provider URLs, refreshing the token as needed.
pub async fn with_token<T, F, Fut>(
    state: &AppState,
    inst: &InstanceRecord,
    call: F,
) -> Result<T, ApiError>
where
    F: Fn(String, ProviderUrls) -> Fut,
    Fut: Future<Output = Result<T, ElementError>>,
{
    usable(inst)?;
    let urls = state
        .urls
        .get(&inst.element_key)
        .ok_or_else(|| ApiError::BadRequest(format!("{} has no API here", inst.element_key)))?
        .for_instance(|k| inst.config_str(k));
    let mut current = inst.clone();
    if current.token_expiring(now_ms()) {
        current = refreshed(state, &current).await?;
    }
    match call(token_of(state, &current)?, urls.clone()).await {
        Err(ElementError::Unauthorized(_)) => {
            let current = refreshed(state, &current).await?;
            call(token_of(state, &current)?, urls)
                .await
                .map_err(ApiError::from)
        }
        other => other.map_err(ApiError::from),
    }
}
