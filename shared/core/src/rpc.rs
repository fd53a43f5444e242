//! Calling provisioning over NATS request/reply, for every service that needs it.
//!
//! While no provisioning replica is subscribed (one is starting or restarting), a request is
//! retried for a short while instead of failing at once.

use std::time::Duration;

use async_nats::RequestErrorKind;
use serde_json::Value;

use crate::brokers::Brokers;
use crate::model::{ProvisioningRequest, RpcError, RpcReply};

/// How long to wait for a provisioning replica to appear.
const NO_RESPONDERS_PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum RpcCallError {
    #[error("no answer from provisioning in time")]
    Timeout,
    #[error("provisioning is unavailable: {0}")]
    Unavailable(#[source] async_nats::RequestError),
    #[error("{}", .0.message)]
    Refused(RpcError),
    #[error("encoding the request: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("unreadable provisioning reply: {0}")]
    Reply(#[source] serde_json::Error),
}

/// Sends `req` to `herald.v1.rpc.provisioning.<op>` (its [`ProvisioningRequest::op`]) and
/// waits up to `timeout` for the answer.
pub async fn provisioning(
    brokers: &Brokers,
    req: &ProvisioningRequest,
    timeout: Duration,
) -> Result<Value, RpcCallError> {
    let payload: bytes::Bytes = serde_json::to_vec(req)
        .map_err(RpcCallError::Encode)?
        .into();
    let subject = brokers.topo.rpc_provisioning(req.op());
    let started = tokio::time::Instant::now();
    let msg = loop {
        match tokio::time::timeout(
            timeout,
            brokers.nats.request(subject.clone(), payload.clone()),
        )
        .await
        {
            Err(_) => return Err(RpcCallError::Timeout),
            Ok(Ok(m)) => break m,
            Ok(Err(e))
                if e.kind() == RequestErrorKind::NoResponders
                    && started.elapsed() < NO_RESPONDERS_PATIENCE =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(Err(e)) => return Err(RpcCallError::Unavailable(e)),
        }
    };
    match serde_json::from_slice::<RpcReply>(&msg.payload) {
        Ok(RpcReply::Ok(v)) => Ok(v),
        Ok(RpcReply::Error(e)) => Err(RpcCallError::Refused(e)),
        Err(e) => Err(RpcCallError::Reply(e)),
    }
}

/// Asks provisioning to refresh an instance's token unless it changed since `seen_version`
/// (single flight across replicas).
pub async fn refresh_token(
    brokers: &Brokers,
    instance_id: u64,
    seen_version: u64,
) -> Result<(), RpcCallError> {
    let req = ProvisioningRequest::RefreshV1 {
        instance_id,
        seen_version,
    };
    provisioning(brokers, &req, Duration::from_secs(45))
        .await
        .map(|_| ())
}
