//! Box (`box` is a Rust keyword, hence the module name): the content API at `<API_URL>/2.0/…`.
//! Box addresses items by id; hub paths are resolved by walking folder listings from the root
//! folder `0`.
//!
//! - [`webhook`]: v1 and v2 deliveries (verification, routing, events).
//! - [`webhooks_api`]: the v2 webhooks the documents hub creates, lists and deletes.
//! - [`docs`]: the documents hub (folders, files, copy, upload, download).

pub mod docs;
pub mod webhook;
pub mod webhooks_api;

use crate::http::Http;
use serde_json::{json, Value};

use crate::key::ElementKey;
use crate::urls::ProviderUrls;
use crate::ElementError;

pub const KEY: ElementKey = ElementKey::Box;

/// A Box call's JSON answer (`null` for an empty one).
pub async fn call(
    http: &Http,
    req: reqwest::RequestBuilder,
    token: &str,
) -> Result<Value, ElementError> {
    http.answer(req.bearer_auth(token))
        .await?
        .json("Box answer")
}

/// Fields asked for in listings, for the hub's entries.
const FIELDS: &str = "id,type,name,size,modified_at";

/// Every item of a folder (Box pages by offset).
pub async fn items(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    folder_id: &str,
) -> Result<Vec<Value>, ElementError> {
    const PAGE: usize = 1000;
    let mut out = Vec::new();
    // Bounded, in case a provider keeps saying there is more.
    for page in 0..1000 {
        let url = format!(
            "{}/2.0/folders/{folder_id}/items?fields={FIELDS}&limit={PAGE}&offset={}",
            urls.api,
            page * PAGE
        );
        let listing = call(http, http.get(url), token).await?;
        let entries = listing["entries"].as_array().cloned().unwrap_or_default();
        let total = listing["total_count"].as_u64().unwrap_or(0) as usize;
        let got = entries.len();
        out.extend(entries);
        if got < PAGE || out.len() >= total {
            break;
        }
    }
    Ok(out)
}

/// The item at a hub path (`/` is the root folder `0`), walking folder listings.
pub async fn item_at(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<Value, ElementError> {
    let mut item = json!({"type": "folder", "id": "0", "name": ""});
    for name in path.split('/').filter(|s| !s.is_empty()) {
        if item["type"] != "folder" {
            return Err(crate::documents::not_found(path));
        }
        let id = item["id"].as_str().unwrap_or("0").to_string();
        item = items(http, urls, token, &id)
            .await?
            .into_iter()
            .find(|e| e["name"].as_str() == Some(name))
            .ok_or_else(|| crate::documents::not_found(path))?;
    }
    Ok(item)
}

/// The id of the folder at `path`.
pub async fn folder_id(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<String, ElementError> {
    let item = item_at(http, urls, token, path).await?;
    match (item["type"].as_str(), item["id"].as_str()) {
        (Some("folder"), Some(id)) => Ok(id.to_string()),
        _ => Err(ElementError::Rejected {
            status: 400,
            message: format!("{path} is not a folder"),
        }),
    }
}
