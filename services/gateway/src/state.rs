//! What every handler shares.

use herald_elements::http::Http;
use std::time::Duration;

use herald_core::brokers::Brokers;
use herald_core::crypto::SecretBox;
use herald_core::metrics::Metrics;
use herald_elements::urls::ElementUrls;
use secrecy::SecretString;

#[derive(Clone)]
pub struct AppState {
    pub brokers: Brokers,
    pub secret_box: SecretBox,
    pub urls: ElementUrls,
    pub http: Http,
    pub admin_token: Option<SecretString>,
    pub metrics: Metrics,
    pub rpc_timeout: Duration,
    /// `HERALD_PUBLIC_URL`, without a trailing slash.
    pub public_url: String,
    /// `HERALD_ALLOW_PRIVATE_CALLBACKS`: `Elements-Async-Callback-Url` may be private.
    pub allow_private_callbacks: bool,
    /// Request rate limits per client IP and tenant.
    pub rate_limits: herald_core::rate_limit::Limits,
}
