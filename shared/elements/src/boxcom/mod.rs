//! Box (`box` is a Rust keyword, hence the module name): the content API at `<API_URL>/2.0/…`.
//! Box addresses items by id; hub paths are resolved by walking folder listings from the root
//! folder `0`.
//!
//! - [`webhook`]: v1 and v2 deliveries (verification, routing, events).
//! - [`webhooks_api`]: the v2 webhooks the documents hub creates, lists and deletes.

pub mod webhook;
pub mod webhooks_api;

use crate::http::Http;
use serde_json::{json, Value};

use crate::key::ElementKey;
use crate::urls::ProviderUrls;
use crate::ElementError;

pub const KEY: ElementKey = ElementKey::Box;

async fn call(
    http: &Http,
    req: reqwest::RequestBuilder,
    token: &str,
) -> Result<Value, ElementError> {
    http.answer(req.bearer_auth(token))
        .await?
        .json("Box answer")
}

/// The id of the folder at `path` (`/` is `0`).
pub async fn folder_id(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<String, ElementError> {
    let mut id = "0".to_string();
    for name in path.split('/').filter(|s| !s.is_empty()) {
        let listing = call(
            http,
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
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<Value, ElementError> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let parent_id = folder_id(http, urls, token, parent).await?;
    call(
        http,
        http.post(format!("{}/2.0/folders", urls.api))
            .json(&json!({"name": name, "parent": {"id": parent_id}})),
        token,
    )
    .await
}
