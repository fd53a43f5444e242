//! Provisioning failures, each with the HTTP status and stable code the gateway answers.

use herald_core::model::RpcError;
use herald_core::store::StoreError;
use herald_elements::ElementError;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    UnknownElement(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InstanceInvalid(String),
    #[error("Provider rejected the authorization code: {0}")]
    CodeRejected(String),
    #[error("Provider is unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("The provider did not answer in time")]
    ProviderTimeout,
    #[error("Storage is unavailable, try again")]
    Unavailable(String),
    /// A lifecycle fact could not be stored in JetStream.
    #[error("Storage is unavailable, try again")]
    Publish(#[source] herald_core::bus::PublishError),
    #[error("internal error")]
    Encode(#[source] serde_json::Error),
    #[error("internal error")]
    Internal(String),
}

impl ProvisionError {
    pub fn to_rpc(&self) -> RpcError {
        let (status, code) = match self {
            Self::Invalid(_) => (400, "invalid_instance"),
            Self::UnknownElement(_) => (404, "unknown_element"),
            Self::NotFound(_) => (404, "not_found"),
            Self::InstanceInvalid(_) => (409, "instance_invalid"),
            Self::CodeRejected(_) => (400, "provider_rejected_code"),
            Self::ProviderUnavailable(_) => (502, "provider_unavailable"),
            Self::ProviderTimeout => (504, "provider_timeout"),
            Self::Unavailable(_) | Self::Publish(_) => (503, "unavailable"),
            Self::Encode(_) => (500, "internal"),
            Self::Internal(_) => (500, "internal"),
        };
        RpcError {
            status,
            code: code.to_string(),
            message: self.to_string(),
        }
    }

    /// Maps a provider failure during the code exchange or the first listing.
    pub fn from_provider(e: ElementError, exchanging_code: bool) -> Self {
        match e {
            ElementError::Rejected { message, .. } if exchanging_code => {
                Self::CodeRejected(message)
            }
            ElementError::Unauthorized(m) if exchanging_code => Self::CodeRejected(m),
            ElementError::Invalid(m) | ElementError::Unsupported(m) => Self::Invalid(m),
            e @ ElementError::Blocked { .. } => Self::Invalid(e.to_string()),
            ElementError::Timeout => Self::ProviderTimeout,
            other => Self::ProviderUnavailable(other.to_string()),
        }
    }
}

impl From<StoreError> for ProvisionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e.to_string()),
            StoreError::Corrupt { .. } => Self::Internal(e.to_string()),
        }
    }
}
