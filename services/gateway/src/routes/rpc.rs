//! Requests to provisioning over NATS request/reply.

use herald_core::model::{ProvisioningRequest, RpcReply};
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn call(
    state: &AppState,
    op: &str,
    req: &ProvisioningRequest,
) -> Result<Value, ApiError> {
    let payload = serde_json::to_vec(req).map_err(|e| ApiError::Internal(e.to_string()))?;
    let subject = state.brokers.topo.rpc_provisioning(op);
    let sent = tokio::time::timeout(
        state.rpc_timeout,
        state.brokers.nats.request(subject, payload.into()),
    )
    .await;
    let msg = match sent {
        Err(_) => {
            return Err(ApiError::Unavailable(
                "Provisioning did not answer in time".into(),
            ))
        }
        Ok(Err(e)) => {
            return Err(ApiError::Unavailable(format!(
                "Provisioning is unavailable ({}), try again",
                e.kind()
            )))
        }
        Ok(Ok(m)) => m,
    };
    match serde_json::from_slice::<RpcReply>(&msg.payload) {
        Ok(RpcReply::Ok(v)) => Ok(v),
        Ok(RpcReply::Error(e)) => Err(ApiError::Rpc(e)),
        Err(e) => Err(ApiError::Internal(format!(
            "unreadable provisioning reply: {e}"
        ))),
    }
}
