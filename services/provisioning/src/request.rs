//! Reading a `POST /instances` body in every form the seeds use, and validating it against the
//! element's catalog entry.
//!
//! Configuration entries come from the `configuration` object and, in the older form, from
//! dotted keys at the top level of the body. Booleans and numbers may arrive as strings.

use std::collections::BTreeMap;

use herald_elements::catalog::{self, ElementDef};
use serde_json::{Map, Value};

use crate::error::ProvisionError;

/// A validated instance request.
#[derive(Debug)]
pub struct InstanceRequest {
    pub element: &'static ElementDef,
    pub name: String,
    pub tags: Vec<String>,
    pub code: Option<String>,
    pub configuration: BTreeMap<String, Value>,
    pub events_enabled: bool,
}

impl InstanceRequest {
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.configuration
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// A value that should be a boolean and is not.
#[derive(Debug)]
pub struct NotABoolean;

/// Reads a boolean given as `true` or `"true"`.
pub fn flag(v: Option<&Value>) -> Result<Option<bool>, NotABoolean> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" | "" => Ok(Some(false)),
            _ => Err(NotABoolean),
        },
        Some(_) => Err(NotABoolean),
    }
}

fn is_absolute_http(raw: &str) -> bool {
    url::Url::parse(raw)
        .map(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
        .unwrap_or(false)
}

pub fn parse(body: &Map<String, Value>) -> Result<InstanceRequest, ProvisionError> {
    let key = body
        .get("element")
        .and_then(|e| e.get("key"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ProvisionError::Invalid("Missing required field: element.key".into()))?;
    let element = catalog::find(key)
        .ok_or_else(|| ProvisionError::UnknownElement(format!("No element with key {key}")))?;

    let mut configuration = BTreeMap::new();
    for (k, v) in body {
        if k.contains('.') {
            configuration.insert(k.clone(), v.clone());
        }
    }
    match body.get("configuration") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            configuration.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())))
        }
        Some(_) => {
            return Err(ProvisionError::Invalid(
                "configuration must be a JSON object".into(),
            ))
        }
    }
    for (k, v) in configuration.iter_mut() {
        if matches!(v, Value::Number(_) | Value::Bool(_))
            && !k.starts_with("event.notification.enabled")
        {
            *v = Value::String(v.to_string());
        }
        if !matches!(
            v,
            Value::String(_) | Value::Bool(_) | Value::Null | Value::Object(_)
        ) {
            return Err(ProvisionError::Invalid(format!(
                "configuration entry {k} must be a string"
            )));
        }
    }

    let missing: Vec<&str> = element
        .all_entries()
        .filter(|e| e.required)
        .filter(|e| match configuration.get(e.key) {
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(Value::Null) | None => true,
            Some(_) => false,
        })
        .map(|e| e.key)
        .collect();
    if !missing.is_empty() {
        return Err(ProvisionError::Invalid(format!(
            "Missing required configuration: {}",
            missing.join(", ")
        )));
    }

    let events_enabled = flag(configuration.get("event.notification.enabled"))
        .map_err(|_| {
            ProvisionError::Invalid("event.notification.enabled must be true or false".into())
        })?
        .unwrap_or(false);
    configuration.insert(
        "event.notification.enabled".into(),
        Value::Bool(events_enabled),
    );
    if let Some(Value::String(url)) = configuration.get("event.notification.callback.url") {
        if !url.trim().is_empty() && !is_absolute_http(url.trim()) {
            return Err(ProvisionError::Invalid(
                "event.notification.callback.url must be an absolute http(s) URL".into(),
            ));
        }
    }
    let has_callback = matches!(configuration.get("event.notification.callback.url"), Some(Value::String(s)) if !s.trim().is_empty());
    if events_enabled && !has_callback {
        return Err(ProvisionError::Invalid(
            "Missing required configuration: event.notification.callback.url (events are enabled)"
                .into(),
        ));
    }
    if let Some(vendor) = configuration
        .get("event.vendor.type")
        .and_then(Value::as_str)
    {
        let ok = match vendor {
            "webhook" | "webhooks" => element.events.webhooks,
            "polling" => element.events.polling,
            _ => false,
        };
        if !ok {
            return Err(ProvisionError::Invalid(format!(
                "event.vendor.type {vendor:?} is not supported by {}",
                element.key
            )));
        }
    }
    for e in element.all_entries() {
        if let (Some(default), false) = (e.default, configuration.contains_key(e.key)) {
            configuration.insert(e.key.to_string(), Value::String(default.to_string()));
        }
    }

    let code = body
        .get("providerData")
        .and_then(|p| p.get("code"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if element.type_oauth && code.is_none() {
        return Err(ProvisionError::Invalid(
            "Missing required field: providerData.code".into(),
        ));
    }
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(element.name)
        .to_string();
    let tags = match body.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ProvisionError::Invalid("tags must be an array of strings".into()))?,
        Some(_) => {
            return Err(ProvisionError::Invalid(
                "tags must be an array of strings".into(),
            ))
        }
    };
    Ok(InstanceRequest {
        element,
        name,
        tags,
        code,
        configuration,
        events_enabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn names_every_missing_entry() {
        let err = parse(&obj(
            json!({"element": {"key": "dropbox"}, "providerData": {"code": "c"}}),
        ))
        .expect_err("missing");
        assert_eq!(
            err.to_string(),
            "Missing required configuration: oauth.api.key, oauth.api.secret, oauth.callback.url"
        );
    }

    #[test]
    fn top_level_keys_and_string_booleans_are_accepted() {
        let r = parse(&obj(json!({
            "element": {"key": "dropbox"}, "providerData": {"code": "c"},
            "oauth.api.key": "k", "oauth.api.secret": "s", "oauth.callback.url": "https://a/b",
            "event.notification.enabled": "true",
            "event.notification.callback.url": "https://example.com/cb",
            "document.tagging": false
        })))
        .expect("valid");
        assert!(r.events_enabled);
        assert_eq!(r.config_str("oauth.api.key"), Some("k"));
        assert_eq!(r.config_str("document.tagging"), Some("false"));
    }

    #[test]
    fn rejects_bad_callback_and_unknown_element() {
        let base = json!({"element": {"key": "dropbox"}, "providerData": {"code": "c"},
            "configuration": {"oauth.api.key": "k", "oauth.api.secret": "s", "oauth.callback.url": "u",
            "event.notification.enabled": true, "event.notification.callback.url": "/relative"}});
        assert!(parse(&obj(base))
            .expect_err("bad")
            .to_string()
            .contains("event.notification.callback.url"));
        let unknown = parse(&obj(json!({"element": {"key": "nope"}}))).expect_err("unknown");
        assert!(matches!(unknown, ProvisionError::UnknownElement(_)));
    }
}
