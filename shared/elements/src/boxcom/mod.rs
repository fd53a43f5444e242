//! Box (`box` is a Rust keyword, hence the module name): the content API at `<API_URL>/2.0/…`.
//! Box addresses items by id; hub paths are resolved by walking folder listings from the root
//! folder `0`.

use serde_json::{json, Value};

use crate::oauth::provider_error;
use crate::urls::ProviderUrls;
use crate::ElementError;

pub const KEY: &str = "box";

async fn call(req: reqwest::RequestBuilder, token: &str) -> Result<Value, ElementError> {
    let resp = req.bearer_auth(token).send().await?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let text = resp.text().await?;
    match status {
        200..=299 => Ok(serde_json::from_str(&text).unwrap_or(Value::Null)),
        401 => Err(ElementError::Unauthorized(
            "Box refused the access token".into(),
        )),
        429 => Err(ElementError::RateLimited {
            retry_after_secs: retry_after,
        }),
        _ => {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match v.get("message").and_then(Value::as_str) {
                Some(m) if (400..500).contains(&status) => Err(ElementError::Rejected {
                    status,
                    message: m.to_string(),
                }),
                _ => Err(provider_error(status, &text)),
            }
        }
    }
}

/// The id of the folder at `path` (`/` is `0`).
pub async fn folder_id(
    http: &reqwest::Client,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<String, ElementError> {
    let mut id = "0".to_string();
    for name in path.split('/').filter(|s| !s.is_empty()) {
        let listing = call(
            http.get(format!("{}/2.0/folders/{id}/items?limit=1000", urls.api)),
            token,
        )
        .await?;
        let found = listing["entries"].as_array().and_then(|entries| {
            entries
                .iter()
                .find(|e| e["type"] == "folder" && e["name"].as_str() == Some(name))
                .and_then(|e| e["id"].as_str().map(str::to_string))
        });
        id = found.ok_or_else(|| ElementError::Rejected {
            status: 404,
            message: format!("No folder at {path}"),
        })?;
    }
    Ok(id)
}

/// Creates the folder at `path` (its parent must exist); returns Box's folder object.
pub async fn create_folder(
    http: &reqwest::Client,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<Value, ElementError> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let parent_id = folder_id(http, urls, token, parent).await?;
    call(
        http.post(format!("{}/2.0/folders", urls.api))
            .json(&json!({"name": name, "parent": {"id": parent_id}})),
        token,
    )
    .await
}
