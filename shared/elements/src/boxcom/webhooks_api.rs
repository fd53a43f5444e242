//! Box webhooks v2 (`<API_URL>/2.0/webhooks`), as the documents hub offers them: Herald sets the
//! address to its own ingest URL for the instance, so Box's deliveries come back to it. Box's own
//! refusals (409 on a second webhook for a target, 400 on folder `0`, 404) pass through.

use crate::http::Http;
use serde_json::{json, Value};

use crate::urls::ProviderUrls;
use crate::ElementError;

/// The hub body `{"target":{"id","type"},"triggers":[…]}`, checked before Box is called.
pub fn request(body: &Value, address: &str) -> Result<Value, ElementError> {
    let target = &body["target"];
    let id = match &target["id"] {
        Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err(ElementError::Invalid("target.id is required".into())),
    };
    let kind = target["type"].as_str().unwrap_or_default();
    if !matches!(kind, "file" | "folder") {
        return Err(ElementError::Invalid(
            "target.type must be file or folder".into(),
        ));
    }
    let triggers: Vec<&str> = body["triggers"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if triggers.is_empty() {
        return Err(ElementError::Invalid(
            "triggers must list at least one trigger, e.g. FILE.UPLOADED".into(),
        ));
    }
    Ok(json!({"target": {"id": id, "type": kind}, "address": address, "triggers": triggers}))
}

pub async fn create(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    request: &Value,
) -> Result<Value, ElementError> {
    let req = http
        .post(format!("{}/2.0/webhooks", urls.api))
        .bearer_auth(token)
        .json(request);
    http.answer(req).await?.json("Box webhook")
}

/// Every webhook of the app and user (Box pages with `marker`).
pub async fn list(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
) -> Result<Vec<Value>, ElementError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    // Bounded, in case a provider keeps answering with a marker.
    for _ in 0..100 {
        let mut req = http
            .get(format!("{}/2.0/webhooks", urls.api))
            .query(&[("limit", "200")]);
        if let Some(m) = &marker {
            req = req.query(&[("marker", m)]);
        }
        let page = http
            .answer(req.bearer_auth(token))
            .await?
            .json("Box webhooks")?;
        out.extend(page["entries"].as_array().cloned().unwrap_or_default());
        marker = page["next_marker"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(out)
}

pub async fn get(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    id: &str,
) -> Result<Value, ElementError> {
    let url = format!("{}/2.0/webhooks/{}", urls.api, encode(id));
    http.answer(http.get(url).bearer_auth(token))
        .await?
        .json("Box webhook")
}

pub async fn delete(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    id: &str,
) -> Result<(), ElementError> {
    let url = format!("{}/2.0/webhooks/{}", urls.api, encode(id));
    http.answer(http.delete(url).bearer_auth(token)).await?;
    Ok(())
}

fn encode(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_bodies_are_checked_and_get_herald_as_address() {
        let ok = request(
            &json!({"target": {"id": "5", "type": "folder"}, "triggers": ["FILE.UPLOADED"]}),
            "https://herald.example/elements/api-v2/events/box/7",
        )
        .expect("valid");
        assert_eq!(
            ok["address"],
            "https://herald.example/elements/api-v2/events/box/7"
        );
        for bad in [
            json!({"triggers": ["FILE.UPLOADED"]}),
            json!({"target": {"id": "5", "type": "web_link"}, "triggers": ["FILE.UPLOADED"]}),
            json!({"target": {"id": "5", "type": "file"}, "triggers": []}),
        ] {
            assert!(matches!(request(&bad, "x"), Err(ElementError::Invalid(_))));
        }
    }
}
