//! QuickBooks Online change data capture: `GET /v3/company/{realm}/cdc?entities=…&changedSince=…`,
//! at most 30 days back and at most 1000 objects per answer; deleted objects come back with
//! `"status": "Deleted"`; CREATED when `MetaData.CreateTime == MetaData.LastUpdatedTime`.

use serde_json::Value;

use super::dates;
use super::fetch::{Context, Record};
use super::http::get_json;
use crate::ElementError;

/// Entities polled when the instance names none.
pub const DEFAULT_ENTITIES: &[&str] = &["Customer", "Invoice", "Payment", "Item", "Vendor"];
const MAX_BACK_MS: i64 = 30 * 86_400_000;
/// The most objects one CDC answer holds.
pub const MAX_OBJECTS: usize = 1000;

/// Changed records since `since_ms`, and whether the answer was cut at 1000 objects.
pub async fn fetch(
    cx: &Context<'_>,
    realm: &str,
    entities: &[String],
    since_ms: i64,
    now_ms: i64,
) -> Result<(Vec<Record>, bool), ElementError> {
    let since = since_ms.max(now_ms - MAX_BACK_MS + 60_000);
    let changed_since =
        dates::format(since, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", Some("UTC")).unwrap_or_default();
    let url = format!(
        "{}/v3/company/{realm}/cdc?entities={}&changedSince={}",
        cx.api_base,
        entities.join(","),
        url::form_urlencoded::byte_serialize(changed_since.as_bytes()).collect::<String>()
    );
    let (body, _) = get_json(cx.http, &url, cx.token).await?;
    let mut out = Vec::new();
    for cdc in body["CDCResponse"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        for qr in cdc["QueryResponse"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let Some(map) = qr.as_object() else { continue };
            for (entity, objects) in map {
                let Some(objects) = objects.as_array() else {
                    continue;
                };
                for o in objects {
                    let Some(id) = o["Id"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| o["Id"].as_u64().map(|n| n.to_string()))
                    else {
                        continue;
                    };
                    let meta = &o["MetaData"];
                    out.push(Record {
                        object_type: entity.clone(),
                        object_id: id,
                        updated_ms: dates::parse(&meta["LastUpdatedTime"], None, None),
                        created_ms: dates::parse(&meta["CreateTime"], None, None),
                        deleted: o["status"].as_str() == Some("Deleted"),
                    });
                }
            }
        }
    }
    let truncated = out.len() >= MAX_OBJECTS;
    Ok((out, truncated))
}

/// The entity names an instance polls (configuration keys, else the defaults).
pub fn entities(config: Option<&Value>) -> Vec<String> {
    match config.and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m.keys().cloned().collect(),
        _ => DEFAULT_ENTITIES.iter().map(|s| s.to_string()).collect(),
    }
}
