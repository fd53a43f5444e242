//! GETs against polled APIs with their errors mapped (401 token, 429 slow down, 5xx later).

use crate::http::Http;
use serde_json::Value;

use crate::ElementError;

/// GETs JSON; also returns the `Elements-Next-Page-Token` header when present.
pub async fn get_json(
    http: &Http,
    url: &str,
    token: &str,
) -> Result<(Value, Option<String>), ElementError> {
    let answer = http
        .answer(
            http.get(url)
                .bearer_auth(token)
                .header("Accept", "application/json"),
        )
        .await?;
    let v = answer.json(&format!("answer from {}", strip_query(url)))?;
    Ok((v, answer.next_page))
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
