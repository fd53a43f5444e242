//! Reading a `POST /instances` body in every form the seeds use, and validating it against the
//! element's catalog entry.
//!
//! Configuration entries come from the `configuration` object and, in the older form, from
//! dotted keys at the top level of the body. Booleans and numbers may arrive as strings.

use std::collections::BTreeMap;

use herald_core::model::{ORDERED, RATE_LIMIT};
use herald_elements::catalog::{self, ElementDef};
use herald_elements::{connect, polling, ElementKey};
use serde_json::{Map, Value};

use crate::error::ProvisionError;

/// A validated instance request.
#[derive(Debug)]
pub struct InstanceRequest {
    pub element: &'static ElementDef,
    pub name: String,
    pub tags: Vec<String>,
    pub code: Option<String>,
    pub provider_data: Map<String, Value>,
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

/// Limits provisioning enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The smallest `event.poller.refresh_interval`, in minutes.
    pub min_interval_minutes: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            min_interval_minutes: 1.0,
        }
    }
}

pub fn parse(body: &Map<String, Value>, limits: Limits) -> Result<InstanceRequest, ProvisionError> {
    let key = body
        .get("element")
        .and_then(|e| e.get("key"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ProvisionError::Invalid("Missing required field: element.key".into()))?;
    let element = catalog::find(key)
        .ok_or_else(|| ProvisionError::UnknownElement(format!("No element with key {key}")))?;

    let mut configuration = collect_configuration(body)?;
    let events_enabled = validate_configuration(element, &mut configuration, limits)?;

    let provider_data = match body.get("providerData") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ProvisionError::Invalid(
                "providerData must be a JSON object".into(),
            ))
        }
    };
    let code = match provider_data.get("code") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) => Some(c.trim().to_string()).filter(|c| !c.is_empty()),
        Some(_) => {
            return Err(ProvisionError::Invalid(
                "providerData.code must be a string".into(),
            ))
        }
    };
    let mut missing: Vec<String> = Vec::new();
    if element.type_oauth && code.is_none() && !connect::code_optional(element.key) {
        missing.push("providerData.code".into());
    }
    for k in connect::required_provider_data(element.key) {
        let present = match provider_data.get(*k) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Number(_)) => true,
            _ => false,
        };
        if !present {
            missing.push(format!("providerData.{k}"));
        }
    }
    if !missing.is_empty() {
        return Err(ProvisionError::Invalid(format!(
            "Missing required field: {}",
            missing.join(", ")
        )));
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
        provider_data,
        configuration,
        events_enabled,
    })
}

/// The configuration entries of a body: the `configuration` object and, in the older form,
/// dotted keys at the top level. Numbers and booleans become strings (except the events flag).
pub fn collect_configuration(
    body: &Map<String, Value>,
) -> Result<BTreeMap<String, Value>, ProvisionError> {
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

    Ok(configuration)
}

/// Checks a whole configuration against the element and fills defaults; returns whether events
/// are enabled.
pub fn validate_configuration(
    element: &ElementDef,
    configuration: &mut BTreeMap<String, Value>,
    limits: Limits,
) -> Result<bool, ProvisionError> {
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
    delivery_options(configuration)?;
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

    let vendor = configuration
        .get("event.vendor.type")
        .and_then(Value::as_str)
        .unwrap_or(element.default_vendor_type)
        .to_string();
    if vendor == "polling" {
        validate_polling(element.key, configuration, limits)?;
    }

    Ok(events_enabled)
}

/// The delivery options, stored normalized: `event.notification.rate.limit` a positive integer
/// (notifications per second), `event.notification.ordered` a boolean.
fn delivery_options(configuration: &mut BTreeMap<String, Value>) -> Result<(), ProvisionError> {
    let key = RATE_LIMIT;
    match configuration.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {
            configuration.remove(key);
        }
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            }
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| {
                ProvisionError::Invalid(format!(
                    "{key} must be a positive whole number of notifications per second"
                ))
            })?;
            configuration.insert(key.into(), Value::from(n));
        }
    }
    let key = ORDERED;
    if configuration.contains_key(key) {
        let ordered = flag(configuration.get(key))
            .map_err(|_| ProvisionError::Invalid(format!("{key} must be true or false")))?
            .unwrap_or(false);
        configuration.insert(key.into(), Value::Bool(ordered));
    }
    Ok(())
}

/// Checks the interval floor and that the poller configuration parses; stores the parsed
/// configuration as an object (it may have arrived as JSON text).
fn validate_polling(
    element: ElementKey,
    configuration: &mut BTreeMap<String, Value>,
    limits: Limits,
) -> Result<(), ProvisionError> {
    let key = "event.poller.refresh_interval";
    if let Some(v) = configuration.get(key) {
        let minutes = match v {
            Value::String(s) => s.trim().parse::<f64>().ok(),
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
        .filter(|m| m.is_finite())
        .ok_or_else(|| ProvisionError::Invalid(format!("{key} must be a number of minutes")))?;
        if minutes < limits.min_interval_minutes {
            return Err(ProvisionError::Invalid(format!(
                "{key} must be at least {} minute(s)",
                limits.min_interval_minutes
            )));
        }
    }
    if let Some(raw) = configuration.get("event.poller.configuration").cloned() {
        if !matches!(&raw, Value::String(s) if s.trim().is_empty()) && !raw.is_null() {
            polling::config::parse_with(&raw, !polling::config::url_optional(element))
                .map_err(ProvisionError::Invalid)?;
            if let Value::String(text) = &raw {
                if let Ok(v) = serde_json::from_str::<Value>(text) {
                    configuration.insert("event.poller.configuration".into(), v);
                }
            }
        }
    }
    if let Some(Value::String(text)) = configuration.get("event.poller.urls") {
        if !text.trim().is_empty() {
            polling::config::parse_legacy_urls(text).map_err(ProvisionError::Invalid)?;
        }
    }
    Ok(())
}

/// Checks the callback URL against the address rules (see `herald_core::callback_url`).
pub async fn check_callback(
    configuration: &BTreeMap<String, Value>,
    allow_private: bool,
) -> Result<(), ProvisionError> {
    let key = "event.notification.callback.url";
    match configuration.get(key) {
        Some(Value::String(url)) if !url.trim().is_empty() => {
            herald_core::callback_url::check(url, allow_private)
                .await
                .map_err(|why| ProvisionError::Invalid(format!("{key} {why}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_default(body: &Map<String, Value>) -> Result<InstanceRequest, ProvisionError> {
        parse(body, Limits::default())
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn names_every_missing_entry() {
        let err = parse_default(&obj(
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
        let r = parse_default(&obj(json!({
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
        assert!(parse_default(&obj(base))
            .expect_err("bad")
            .to_string()
            .contains("event.notification.callback.url"));
        let unknown =
            parse_default(&obj(json!({"element": {"key": "nope"}}))).expect_err("unknown");
        assert!(matches!(unknown, ProvisionError::UnknownElement(_)));
    }

    #[test]
    fn polling_and_provider_data_rules() {
        let ds = |extra: Value| {
            let mut c = json!({"oauth.api.key": "k", "oauth.api.secret": "s", "oauth.callback.url": "https://a",
                "docushare.domain": "acme.docushareflex.com", "event.vendor.type": "polling"});
            if let (Some(c), Value::Object(e)) = (c.as_object_mut(), extra) {
                c.extend(e);
            }
            parse_default(&obj(
                json!({"element": {"key": "docushareflex"}, "providerData": {"code": ""}, "configuration": c}),
            ))
        };
        assert!(
            ds(json!({})).is_ok(),
            "the seed's empty code is accepted for DocuShare Flex"
        );
        let low = ds(json!({"event.poller.refresh_interval": "0.5"})).expect_err("too low");
        assert!(low.to_string().contains("event.poller.refresh_interval"));
        let bad = ds(json!({"event.poller.configuration": "{nope"})).expect_err("bad json");
        assert!(bad.to_string().contains("not valid JSON"));
        let parsed =
            ds(json!({"event.poller.configuration": "{\"events\": {\"url\": \"/events\"}}"}))
                .expect("ok");
        assert!(parsed.configuration["event.poller.configuration"].is_object());
        let qb = parse_default(&obj(json!({"element": {"key": "quickbooks"}, "providerData": {"code": "c"},
            "configuration": {"oauth.api.key": "k", "oauth.api.secret": "s", "oauth.callback.url": "https://a"}})))
        .expect_err("realm");
        assert_eq!(
            qb.to_string(),
            "Missing required field: providerData.realmId"
        );
        let hub = parse_default(&obj(json!({"element": {"key": "hubspot"}, "providerData": {"code": "c"},
            "configuration": {"oauth.api.key": "k", "oauth.api.secret": "s", "oauth.callback.url": "https://a",
            "event.vendor.type": "polling"}})))
        .expect_err("no polling");
        assert!(hub.to_string().contains("event.vendor.type"));
    }
}
