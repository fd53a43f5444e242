//! Calling a provider on an instance's behalf: refused for a disabled or invalid instance, else
//! run with a live token (`herald_core::live_token`) against the instance's hosts
//! (`ElementUrls::for_record`).

use std::future::Future;

use herald_core::live_token::{call_with_token, CallError, TokenError};
use herald_core::model::InstanceRecord;
use herald_elements::urls::ProviderUrls;
use herald_elements::ElementError;

use crate::error::ApiError;
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
    let urls = state.urls.for_record(inst)?;
    call_with_token(&state.brokers, &state.secret_box, inst, |token| {
        call(token, urls.clone())
    })
    .await
    .map_err(|e| match e {
        CallError::Provider(e) => ApiError::from(e),
        CallError::Token(e) => ApiError::from(e),
    })
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Refused(r) => ApiError::Rpc(r),
            TokenError::Gone(id) => ApiError::NotFound(format!("No instance {id}")),
            TokenError::Missing(id) => {
                ApiError::Conflict(format!("Instance {id} has no provider token"))
            }
            TokenError::Unavailable(_) => {
                ApiError::Unavailable("Provisioning is unavailable, try again".into())
            }
            TokenError::Store(e) => ApiError::from(e),
            e @ TokenError::Sealed(..) => ApiError::Internal(format!("{e:?}")),
        }
    }
}
