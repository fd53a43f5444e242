//! The outbound HTTP client adapters share: bounded connect and total timeouts, no redirects.

use std::time::Duration;

/// A client for provider APIs.
pub fn provider_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("herald/0.1")
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
