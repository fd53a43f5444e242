//! GETs against polled APIs with their errors mapped (401 token, 429 slow down, 5xx later).

use serde_json::Value;

use crate::oauth::provider_error;
use crate::ElementError;

/// GETs JSON; also returns the `Elements-Next-Page-Token` header when present.
pub async fn get_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<(Value, Option<String>), ElementError> {
    let resp = http
        .get(url)
        .bearer_auth(token)
        .header("Accept", "application/json")
        .send()
        .await?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after").and_then(|v| v.trim().parse().ok());
    let next = header("elements-next-page-token");
    let text = resp.text().await?;
    match status {
        200..=299 => {
            serde_json::from_str(&text)
                .map(|v| (v, next))
                .map_err(|_| ElementError::Provider {
                    status: 502,
                    message: format!("unreadable answer from {}", strip_query(url)),
                })
        }
        401 => Err(ElementError::Unauthorized(
            "the provider refused the access token".into(),
        )),
        429 => Err(ElementError::RateLimited {
            retry_after_secs: retry_after,
        }),
        _ => Err(provider_error(status, &text)),
    }
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
