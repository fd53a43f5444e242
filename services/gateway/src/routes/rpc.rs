//! Requests to provisioning, with its failures as API errors.

use herald_core::model::ProvisioningRequest;
use herald_core::rpc::{self, RpcCallError};
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn call(state: &AppState, req: &ProvisioningRequest) -> Result<Value, ApiError> {
    rpc::provisioning(&state.brokers, req, state.rpc_timeout)
        .await
        .map_err(|e| match e {
            RpcCallError::Refused(e) => ApiError::Rpc(e),
            RpcCallError::Timeout => ApiError::Unavailable(
                "Provisioning is unavailable (no answer in time), try again".into(),
            ),
            RpcCallError::Unavailable(e) => ApiError::Unavailable(format!(
                "Provisioning is unavailable ({}), try again",
                e.kind()
            )),
            e @ (RpcCallError::Encode(_) | RpcCallError::Reply(_)) => {
                ApiError::Internal(e.to_string())
            }
        })
}
