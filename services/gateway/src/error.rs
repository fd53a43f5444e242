//! The gateway's one error type: each variant maps to a status and a stable `code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_core::http::error_response;
use herald_core::model::RpcError;
use herald_core::rpc::RpcCallError;
use herald_core::store::StoreError;
use herald_elements::ElementError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The provider refused the call (its status, its message).
    #[error("{message}")]
    Provider { status: u16, message: String },
    /// The provider is unreachable or failing.
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    GatewayTimeout(String),
    /// Passed through from provisioning.
    #[error("{}", .0.message)]
    Rpc(RpcError),
    /// A message for a worker could not be stored in JetStream (`what`: the poll, the request…).
    #[error("Could not queue {what}, try again")]
    NotQueued {
        what: &'static str,
        #[source]
        cause: async_nats::Error,
    },
    #[error("internal error")]
    Encode(#[source] serde_json::Error),
    /// Provisioning could not be asked (no answer, no connection) or answered unreadably.
    #[error("Provisioning is unavailable, try again")]
    Provisioning(#[source] RpcCallError),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &str) {
        match self {
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Provider { status, .. } => (
                StatusCode::from_u16(*status)
                    .ok()
                    .filter(|s| s.is_client_error())
                    .unwrap_or(StatusCode::BAD_GATEWAY),
                "provider_rejected",
            ),
            Self::BadGateway(_) => (StatusCode::BAD_GATEWAY, "provider_unavailable"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::GatewayTimeout(_) => (StatusCode::GATEWAY_TIMEOUT, "provider_timeout"),
            Self::Rpc(e) => (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                e.code.as_str(),
            ),
            Self::NotQueued { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Provisioning(RpcCallError::Encode(_) | RpcCallError::Reply(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            Self::Provisioning(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) | Self::Encode(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = herald_core::http::current_request_id();
        // Our own faults: the cause goes to the log, not to the client.
        let internal = match &self {
            Self::Internal(cause) => Some(cause.clone()),
            Self::Encode(cause) => Some(cause.to_string()),
            Self::Provisioning(cause @ (RpcCallError::Encode(_) | RpcCallError::Reply(_))) => {
                Some(cause.to_string())
            }
            _ => None,
        };
        if let Some(cause) = internal {
            tracing::error!(%request_id, %cause, "internal error");
            return error_response(status, code, "Internal error");
        }
        match &self {
            Self::NotQueued { what, cause } => {
                tracing::warn!(%request_id, what, %cause, "could not queue");
            }
            Self::Provisioning(cause) => {
                tracing::warn!(%request_id, %cause, "provisioning unavailable");
            }
            _ => {}
        }
        error_response(status, code, self.to_string())
    }
}

impl ApiError {
    /// `what` could not be stored in JetStream for a worker.
    pub fn not_queued(what: &'static str, cause: impl Into<async_nats::Error>) -> Self {
        Self::NotQueued {
            what,
            cause: cause.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                Self::Unavailable("Storage is unavailable, try again".into())
            }
            StoreError::Corrupt { .. } => Self::Internal(e.to_string()),
        }
    }
}

impl From<ElementError> for ApiError {
    fn from(e: ElementError) -> Self {
        match e {
            ElementError::Rejected {
                status: 409,
                message,
            } => Self::Conflict(message),
            ElementError::Rejected {
                status: 404,
                message,
            } => Self::NotFound(message),
            ElementError::Rejected { status, message } => Self::Provider { status, message },
            ElementError::Invalid(m) => Self::BadRequest(m),
            e @ ElementError::Blocked { .. } => Self::BadRequest(e.to_string()),
            ElementError::Unsupported(m) => Self::BadRequest(m),
            ElementError::Unauthorized(m) => {
                Self::BadGateway(format!("The provider rejected the instance's token: {m}"))
            }
            ElementError::Timeout => {
                Self::GatewayTimeout("The provider did not answer in time".into())
            }
            other => Self::BadGateway(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[tokio::test]
    async fn a_message_not_queued_is_a_503_that_keeps_its_cause_out_of_the_body() {
        let cause = std::io::Error::other("nats: connection reset by peer");
        let e = ApiError::not_queued("the poll", cause);
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("nats: connection reset by peer"),
            "the cause is kept for the log"
        );
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(r.into_body(), 4096)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["code"], "unavailable");
        assert_eq!(v["message"], "Could not queue the poll, try again");
    }

    #[tokio::test]
    async fn an_encoding_failure_is_an_internal_error_with_its_cause_kept() {
        let cause = serde_json::from_str::<u8>("x").expect_err("not a number");
        let e = ApiError::Encode(cause);
        assert!(e.source().is_some());
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn provisioning_not_answering_is_a_503_keeping_its_cause() {
        let e = ApiError::Provisioning(RpcCallError::Timeout);
        assert!(matches!(e.source(), Some(c) if c.to_string().contains("in time")));
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let unreadable = serde_json::from_str::<u8>("x").expect_err("not a number");
        let r = ApiError::Provisioning(RpcCallError::Reply(unreadable)).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
