//! The documents hub, mapped onto each documents element.

use crate::http::Http;
use serde_json::{json, Value};

use crate::key::ElementKey;
use crate::urls::ProviderUrls;
use crate::ElementError;
use crate::{boxcom, dropbox};

/// Creates a folder at `path`; answers the hub's folder object.
pub async fn create_folder(
    http: &Http,
    element: ElementKey,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<Value, ElementError> {
    if !path.starts_with('/') || path.len() < 2 {
        return Err(ElementError::Invalid(
            "path must name a folder below the root, e.g. /reports".into(),
        ));
    }
    match element {
        dropbox::KEY => {
            let e = dropbox::api::create_folder(http, urls, token, path).await?;
            let display = e.path_display.clone().unwrap_or_else(|| path.to_string());
            Ok(json!({
                "id": e.id,
                "path": display,
                "name": e.name,
                "directory": true,
                "size": 0,
                "tags": [],
                "createdDate": e.server_modified,
            }))
        }
        boxcom::KEY => {
            let f = boxcom::create_folder(http, urls, token, path).await?;
            Ok(json!({
                "id": f["id"],
                "path": path,
                "name": f["name"],
                "directory": true,
                "size": 0,
                "tags": [],
                "createdDate": f.get("created_at"),
            }))
        }
        other => Err(ElementError::Unsupported(format!(
            "{other} is not a documents element"
        ))),
    }
}
