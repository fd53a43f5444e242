//! Box webhook deliveries, both versions.
//!
//! - v1 (configured in Box's console, account-wide): form-encoded, unsigned, never retried;
//!   `userId` (`["12345"]` as text, or a bare id), `event`, `itemId`, `itemType`, `newItemId`.
//!   Routed by the Box user; `events.list.ids` on the instance narrows it to listed items.
//! - v2 (created through the webhooks hub): JSON with `BOX-*` headers. Signed twice:
//!   `BOX-SIGNATURE-PRIMARY` = base64 HMAC-SHA256(primary key, body ‖ `BOX-DELIVERY-TIMESTAMP`),
//!   `-SECONDARY` likewise with the secondary key; either matching is enough (key rotation).
//!   A timestamp older than 10 minutes or more than 5 minutes ahead is refused. The body's `id`
//!   is the event's, stable across Box's retries (each with a new `BOX-DELIVERY-ID`).

use base64::Engine;
use herald_core::model::InstanceRecord;
use herald_core::signing::{constant_time_eq, hmac_sha256};
use serde_json::{json, Map, Value};

use super::KEY;
use crate::webhooks::{digest, utc_date, Inbound, Pushed, Read, Rejection, Routing};

const TIMESTAMP: &str = "box-delivery-timestamp";
const PRIMARY: &str = "box-signature-primary";
const SECONDARY: &str = "box-signature-secondary";
/// Oldest and furthest-ahead delivery timestamps accepted.
const MAX_AGE_MS: i64 = 10 * 60 * 1000;
const MAX_AHEAD_MS: i64 = 5 * 60 * 1000;

/// The configuration entry listing the item ids a v1 instance watches.
pub const WATCHED_IDS: &str = "events.list.ids";

fn is_v2(inbound: &Inbound<'_>) -> bool {
    [TIMESTAMP, PRIMARY, SECONDARY]
        .iter()
        .any(|h| inbound.header(h).is_some())
        || inbound.body.trim_ascii_start().first() == Some(&b'{')
}

pub fn read(inbound: &Inbound<'_>) -> Result<Read, Rejection> {
    if is_v2(inbound) {
        read_v2(inbound)
    } else {
        let form = V1::parse(inbound.body).ok_or(Rejection::Malformed)?;
        Ok(Read {
            routing: Routing::All(vec![form.user]),
            dedupe_id: None,
        })
    }
}

fn read_v2(inbound: &Inbound<'_>) -> Result<Read, Rejection> {
    let at = inbound
        .header(TIMESTAMP)
        .and_then(herald_core::time::parse_rfc3339_ms)
        .ok_or(Rejection::BadSignature)?;
    if at < inbound.now_ms - MAX_AGE_MS || at > inbound.now_ms + MAX_AHEAD_MS {
        return Err(Rejection::BadSignature);
    }
    if inbound.header(PRIMARY).is_none() && inbound.header(SECONDARY).is_none() {
        return Err(Rejection::BadSignature);
    }
    let body: Map<String, Value> =
        serde_json::from_slice(inbound.body).map_err(|_| Rejection::Malformed)?;
    let text = |v: Option<&Value>| {
        v.and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        })
    };
    let mut routes = Vec::new();
    if let Some(w) = text(body.get("webhook").and_then(|w| w.get("id"))) {
        routes.push(herald_core::keys::webhook_account(&w));
    }
    if let Some(user) = text(body.get("created_by").and_then(|u| u.get("id"))) {
        routes.push(user);
    }
    Ok(Read {
        routing: Routing::First(routes),
        dedupe_id: text(body.get("id")).map(|id| digest(&["box", &id])),
    })
}

/// v1 is unsigned: any well-formed delivery verifies. v2 needs one of its two signatures to
/// match the instance's key of the same rank.
pub fn verify(inbound: &Inbound<'_>, primary: Option<&str>, secondary: Option<&str>) -> bool {
    if !is_v2(inbound) {
        return true;
    }
    let Some(ts) = inbound.header(TIMESTAMP) else {
        return false;
    };
    let matches = |header: &str, key: Option<&str>| {
        let (Some(given), Some(key)) = (inbound.header(header), key) else {
            return false;
        };
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given) else {
            return false;
        };
        constant_time_eq(&sign(key, inbound.body, ts), &given)
    };
    matches(PRIMARY, primary) || matches(SECONDARY, secondary)
}

fn sign(key: &str, body: &[u8], timestamp: &str) -> [u8; 32] {
    hmac_sha256(key.as_bytes(), &[body, timestamp.as_bytes()])
}

/// Box's action word (`uploaded`, the part of a v2 trigger after the dot) → `eventType`.
pub fn event_type(action: &str) -> &'static str {
    let a = action
        .rsplit('.')
        .next()
        .unwrap_or(action)
        .to_ascii_uppercase();
    crate::webhooks::event_type(
        matches!(a.as_str(), "UPLOADED" | "CREATED" | "COPIED" | "RESTORED"),
        matches!(
            a.as_str(),
            "RENAMED" | "MOVED" | "UPDATED" | "LOCKED" | "UNLOCKED"
        ),
        matches!(a.as_str(), "TRASHED" | "DELETED"),
    )
}

/// A v1 callback's parameters.
struct V1 {
    user: String,
    event: String,
    item_id: String,
    item_type: String,
    new_item_id: String,
}

impl V1 {
    fn parse(body: &[u8]) -> Option<Self> {
        let mut v = V1 {
            user: String::new(),
            event: String::new(),
            item_id: String::new(),
            item_type: String::new(),
            new_item_id: String::new(),
        };
        for (k, val) in url::form_urlencoded::parse(body) {
            let val = val.trim().to_string();
            match k.as_ref() {
                "userId" => v.user = user_id(&val)?,
                "event" => v.event = val,
                "itemId" => v.item_id = val,
                "itemType" => v.item_type = val,
                "newItemId" => v.new_item_id = val,
                _ => {}
            }
        }
        (!v.user.is_empty()).then_some(v)
    }
}

/// `["12345"]`, `[12345]` or `12345`.
fn user_id(raw: &str) -> Option<String> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Array(items)) => items.first().and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        }),
        _ => Some(
            raw.trim_matches(|c| c == '"' || c == '[' || c == ']')
                .to_string(),
        )
        .filter(|s| !s.is_empty()),
    }
}

/// The events of a delivery for one instance (at most one: Box sends one event a delivery).
pub fn events(body: &[u8], inst: &InstanceRecord, now: &str) -> Vec<Pushed> {
    if body.trim_ascii_start().first() == Some(&b'{') {
        return event_v2(body, now).into_iter().collect();
    }
    let Some(v1) = V1::parse(body) else {
        return Vec::new();
    };
    if inst
        .provider
        .account_id
        .as_deref()
        .is_some_and(|a| a != v1.user)
    {
        return Vec::new();
    }
    let watched: Vec<&str> = inst
        .config_str(WATCHED_IDS)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let listed = |id: &str| !id.is_empty() && watched.contains(&id);
    if !watched.is_empty() && !listed(&v1.item_id) && !listed(&v1.new_item_id) {
        return Vec::new();
    }
    let mut event = json!({
        "eventType": event_type(&v1.event),
        "objectType": v1.item_type,
        "objectId": v1.item_id,
        "date": now,
        "elementKey": KEY,
        "event": v1.event,
        "userId": v1.user,
    });
    if !v1.new_item_id.is_empty() {
        event["newItemId"] = json!(v1.new_item_id);
    }
    vec![Pushed { key: None, event }]
}

fn event_v2(body: &[u8], now: &str) -> Option<Pushed> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let trigger = v["trigger"].as_str().unwrap_or_default();
    let source = &v["source"];
    let mut event = json!({
        "eventType": event_type(trigger),
        "objectType": source["type"],
        "objectId": source["id"],
        "date": utc_date(v["created_at"].as_str(), now),
        "elementKey": KEY,
        "trigger": trigger,
        "webhookId": v["webhook"]["id"],
    });
    if let Some(name) = source.get("name") {
        event["name"] = name.clone();
    }
    let key = v["id"].as_str().map(|id| digest(&["box", id]));
    Some(Pushed { key, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::testing::Headers as H;
    use std::collections::HashMap;

    const VECTOR: &str = r#"{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"Test.txt"}}"#;
    const TS: &str = "2020-01-01T00:00:00-07:00";

    fn headers(primary: &str, secondary: &str) -> H {
        H::from(HashMap::from([
            (TIMESTAMP, TS.to_string()),
            (PRIMARY, primary.to_string()),
            (SECONDARY, secondary.to_string()),
        ]))
    }

    fn inbound<'a>(h: &'a H, body: &'a [u8], now_ms: i64) -> Inbound<'a> {
        crate::webhooks::testing::inbound(h, &[], body, now_ms)
    }

    #[test]
    fn provider_vectors_verify_with_either_key() {
        let h = headers(
            "6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI=",
            "v+1CD1Jdo3muIcbpv5lxxgPglOqMfsNHPV899xWYydo=",
        );
        let i = inbound(&h, VECTOR.as_bytes(), 0);
        assert!(verify(
            &i,
            Some("SamplePrimaryKey"),
            Some("SampleSecondaryKey")
        ));
        assert!(verify(&i, Some("rotated-away"), Some("SampleSecondaryKey")));
        assert!(verify(&i, Some("SamplePrimaryKey"), None));
        assert!(!verify(
            &i,
            Some("SampleSecondaryKey"),
            Some("SamplePrimaryKey")
        ));
        assert!(!verify(&i, None, None));
        let tampered = inbound(&h, b"{}", 0);
        assert!(!verify(
            &tampered,
            Some("SamplePrimaryKey"),
            Some("SampleSecondaryKey")
        ));
    }

    #[test]
    fn v2_timestamps_outside_the_window_are_refused() {
        let h = headers("x", "y");
        let at = herald_core::time::parse_rfc3339_ms(TS).expect("ts");
        let ok = read(&inbound(&h, VECTOR.as_bytes(), at + 9 * 60_000)).expect("fresh");
        assert_eq!(
            ok.routing,
            Routing::First(vec!["webhook:1234567890".to_string()])
        );
        for now in [at + 11 * 60_000, at - 6 * 60_000] {
            assert_eq!(
                read(&inbound(&h, VECTOR.as_bytes(), now)).err(),
                Some(Rejection::BadSignature)
            );
        }
        let unsigned = H::from(HashMap::from([(TIMESTAMP, TS.to_string())]));
        assert_eq!(
            read(&inbound(&unsigned, VECTOR.as_bytes(), at)).err(),
            Some(Rejection::BadSignature)
        );
    }

    #[test]
    fn v1_reads_both_user_forms_and_maps_actions() {
        let h = H::from(HashMap::new());
        for body in [
            &b"userId=%5B%2212345%22%5D&event=uploaded&itemId=77&itemType=file&newItemId="[..],
            &b"userId=12345&event=uploaded&itemId=77&itemType=file"[..],
        ] {
            let r = read(&inbound(&h, body, 0)).expect("v1");
            assert_eq!(r.routing, Routing::All(vec!["12345".to_string()]));
            assert!(verify(&inbound(&h, body, 0), None, None));
        }
        assert_eq!(
            read(&inbound(&h, b"event=uploaded", 0)).err(),
            Some(Rejection::Malformed)
        );
        assert_eq!(event_type("uploaded"), "CREATED");
        assert_eq!(event_type("FOLDER.RENAMED"), "UPDATED");
        assert_eq!(event_type("FILE.TRASHED"), "DELETED");
        assert_eq!(event_type("FILE.PREVIEWED"), "UNKNOWN");
    }
}
