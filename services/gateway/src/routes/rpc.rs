//! Requests to provisioning over NATS request/reply.
//!
//! While no provisioning replica is subscribed (one is starting or restarting), a request is
//! retried for a short while instead of failing at once; after that the caller gets a 503.

use std::time::Duration;

use async_nats::RequestErrorKind;
use herald_core::model::{ProvisioningRequest, RpcReply};
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// How long to wait for a provisioning replica to appear.
const NO_RESPONDERS_PATIENCE: Duration = Duration::from_secs(10);

pub async fn call(
    state: &AppState,
    op: &str,
    req: &ProvisioningRequest,
) -> Result<Value, ApiError> {
    let payload: bytes::Bytes = serde_json::to_vec(req)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .into();
    let subject = state.brokers.topo.rpc_provisioning(op);
    let started = tokio::time::Instant::now();
    let msg = loop {
        let sent = tokio::time::timeout(
            state.rpc_timeout,
            state.brokers.nats.request(subject.clone(), payload.clone()),
        )
        .await;
        match sent {
            Err(_) => {
                return Err(ApiError::Unavailable(
                    "Provisioning did not answer in time".into(),
                ))
            }
            Ok(Ok(m)) => break m,
            Ok(Err(e))
                if e.kind() == RequestErrorKind::NoResponders
                    && started.elapsed() < NO_RESPONDERS_PATIENCE =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(Err(e)) => {
                return Err(ApiError::Unavailable(format!(
                    "Provisioning is unavailable ({}), try again",
                    e.kind()
                )))
            }
        }
    };
    match serde_json::from_slice::<RpcReply>(&msg.payload) {
        Ok(RpcReply::Ok(v)) => Ok(v),
        Ok(RpcReply::Error(e)) => Err(ApiError::Rpc(e)),
        Err(e) => Err(ApiError::Internal(format!(
            "unreadable provisioning reply: {e}"
        ))),
    }
}
