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
            other => ApiError::Provisioning(other),
        })
}
