//! The instance as the API shows it: the original platform's shape, secrets masked.

use herald_core::model::InstanceRecord;
use serde_json::{json, Value};

use crate::catalog;

pub const MASK: &str = "********";

/// The instance JSON; `token` only in the creation answer.
pub fn instance_json(rec: &InstanceRecord, token: Option<&str>) -> Value {
    let element = catalog::find(&rec.element_key)
        .map(|d| d.summary_json())
        .unwrap_or_else(|| json!({"key": rec.element_key}));
    let configuration: serde_json::Map<String, Value> = rec
        .configuration
        .iter()
        .map(|(k, v)| {
            let shown = if rec.secret_keys.iter().any(|s| s == k) {
                Value::String(MASK.into())
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect();
    let mut v = json!({
        "id": rec.id,
        "name": rec.name,
        "element": element,
        "provisionInteractions": [],
        "valid": rec.valid,
        "disabled": rec.disabled,
        "maxCacheSize": 0,
        "cacheTimeToLive": 0,
        "eventsEnabled": rec.events_enabled,
        "cachingEnabled": false,
        "tags": rec.tags,
        "createdDate": rec.created_date,
        "configuration": configuration,
    });
    if let Some(reason) = &rec.invalid_reason {
        v["invalidReason"] = json!(reason);
    }
    if let Some(t) = token {
        v["token"] = json!(t);
    }
    v
}
