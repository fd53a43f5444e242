//! The error adapters return, classified so callers can map it without reading text.

/// What went wrong talking to a provider.
#[derive(Debug, thiserror::Error)]
pub enum ElementError {
    /// The provider could not be reached: try again later.
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    /// The provider did not answer within the timeout.
    #[error("provider did not answer in time")]
    Timeout,
    /// The provider refused the request (4xx); `status` is the provider's.
    #[error("provider rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The provider failed (5xx or an answer we cannot read): try again later.
    #[error("provider error ({status}): {message}")]
    Provider { status: u16, message: String },
    /// The access token is no longer accepted (401).
    #[error("provider token rejected: {0}")]
    Unauthorized(String),
    /// The provider asks us to slow down (429), for this long if it said.
    #[error("provider rate limit")]
    RateLimited { retry_after_secs: Option<u64> },
    /// A stored change cursor is no longer valid; start over from a full listing.
    #[error("change cursor reset by provider")]
    CursorReset,
    /// The element does not offer this operation.
    #[error("{0}")]
    Unsupported(String),
    /// The caller's input is invalid for this element.
    #[error("{0}")]
    Invalid(String),
    /// The URL's host is neither a configured provider address nor public: nothing was sent.
    #[error("{host} is not a configured provider address nor a public one; not called")]
    Blocked { host: String },
}

impl ElementError {
    /// Worth retrying later without any change on our side.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_) | Self::Timeout | Self::Provider { .. } | Self::RateLimited { .. }
        )
    }
}

impl From<reqwest::Error> for ElementError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_decode() {
            Self::Provider {
                status: 502,
                message: "unreadable provider answer".into(),
            }
        } else {
            Self::Unreachable(e.without_url().to_string())
        }
    }
}

impl herald_core::live_token::ProviderFailure for ElementError {
    fn token_refused(&self) -> bool {
        matches!(self, Self::Unauthorized(_))
    }
}
