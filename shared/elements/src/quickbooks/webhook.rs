//! QuickBooks webhook deliveries, `intuit-signature` = base64 HMAC-SHA256(the app's verifier
//! token, raw body), no timestamp. Two body forms, both routed by realm:
//! - legacy `{"eventNotifications":[{"realmId","dataChangeEvent":{"entities":[{"name","id",
//!   "operation","lastUpdated"}]}}]}`;
//! - CloudEvents, a JSON array of `{"id","type":"qbo.<entity>.<action>.v1","time",
//!   "intuitentityid","intuitaccountid":<realm>}`.

use base64::Engine;
use herald_core::model::InstanceRecord;
use herald_core::signing::{constant_time_eq, hmac_sha256};
use serde_json::{json, Value};

use super::KEY;
use crate::webhooks::{digest, utc_date, Inbound, Pushed, Read, Rejection, Routing};

const SIGNATURE: &str = "intuit-signature";

/// One entity change, from either form.
struct Change {
    realm: String,
    entity: String,
    id: String,
    action: String,
    date: Option<String>,
    key: String,
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| match v {
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn parse(body: &[u8]) -> Option<Vec<Change>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(o) => {
            let mut out = Vec::new();
            for n in o.get("eventNotifications")?.as_array()? {
                let realm = text(&n["realmId"]);
                let entities = n["dataChangeEvent"]["entities"].as_array();
                for e in entities.into_iter().flatten() {
                    let (entity, id, op, at) = (
                        text(&e["name"]),
                        text(&e["id"]),
                        text(&e["operation"]),
                        text(&e["lastUpdated"]),
                    );
                    out.push(Change {
                        key: digest(&["quickbooks", &realm, &entity, &id, &op, &at]),
                        realm: realm.clone(),
                        entity,
                        id,
                        action: op,
                        date: Some(at).filter(|d| !d.is_empty()),
                    });
                }
            }
            Some(out)
        }
        Value::Array(items) => items
            .iter()
            .map(|e| {
                let kind = e.get("type")?.as_str()?;
                let mut parts = kind.split('.');
                let (_qbo, entity, action) = (parts.next()?, parts.next()?, parts.next()?);
                let realm = text(&e["intuitaccountid"]);
                Some(Change {
                    key: digest(&["quickbooks", &realm, &text(&e["id"])]),
                    realm,
                    entity: entity.to_string(),
                    id: text(&e["intuitentityid"]),
                    action: action.to_string(),
                    date: e["time"].as_str().map(str::to_string),
                })
            })
            .collect(),
        _ => None,
    }
}

pub fn read(inbound: &Inbound<'_>) -> Result<Read, Rejection> {
    if inbound.header(SIGNATURE).is_none() {
        return Err(Rejection::BadSignature);
    }
    let changes = parse(inbound.body).ok_or(Rejection::Malformed)?;
    let mut realms: Vec<String> = changes.iter().map(|c| c.realm.clone()).collect();
    realms.sort();
    realms.dedup();
    let mut keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
    keys.sort_unstable();
    Ok(Read {
        routing: Routing::All(realms),
        dedupe_id: (!keys.is_empty()).then(|| digest(&keys)),
    })
}

pub fn verify(inbound: &Inbound<'_>, verifier_token: &str) -> bool {
    let Some(Ok(given)) = inbound
        .header(SIGNATURE)
        .map(|s| base64::engine::general_purpose::STANDARD.decode(s))
    else {
        return false;
    };
    constant_time_eq(
        &hmac_sha256(verifier_token.as_bytes(), &[inbound.body]),
        &given,
    )
}

/// `Create|created` → CREATED, `Update|updated` → UPDATED, `Delete|deleted` → DELETED.
pub fn event_type(action: &str) -> &'static str {
    let a = action.to_ascii_lowercase();
    crate::webhooks::event_type(
        matches!(a.as_str(), "create" | "created"),
        matches!(a.as_str(), "update" | "updated"),
        matches!(a.as_str(), "delete" | "deleted"),
    )
}

/// The delivery's changes in the instance's realm, in the order received.
pub fn events(body: &[u8], inst: &InstanceRecord, now: &str) -> Vec<Pushed> {
    let realm = inst.provider.account_id.as_deref().unwrap_or_default();
    parse(body)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.realm == realm)
        .map(|c| Pushed {
            event: json!({
                "eventType": event_type(&c.action),
                "objectType": c.entity,
                "objectId": c.id,
                "date": utc_date(c.date.as_deref(), now),
                "elementKey": KEY,
                "operation": c.action,
                "realmId": c.realm,
            }),
            key: Some(c.key),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::testing::Headers;

    fn inbound<'a>(h: &'a Headers, body: &'a [u8]) -> Inbound<'a> {
        crate::webhooks::testing::inbound(h, &[], body, 0)
    }

    const LEGACY: &str = r#"{"eventNotifications":[{"realmId":"310687","dataChangeEvent":{"entities":[{"id":"1234","operation":"Create","name":"Account","lastUpdated":"2025-09-08T20:52:31.657Z"}]}}]}"#;

    #[test]
    fn provider_vector_verifies_and_routes_by_realm() {
        let h = Headers::new(&[(SIGNATURE, "S50hAnPI9/3v3uw9+jMXdmBTsvzc2IfFbBsnEZqgTgE=")]);
        let i = inbound(&h, LEGACY.as_bytes());
        assert!(verify(&i, "qbo-verifier-token-example"));
        assert!(!verify(&i, "other"));
        let r = read(&i).expect("reads");
        assert_eq!(r.routing, Routing::All(vec!["310687".to_string()]));
        assert_eq!(
            read(&inbound(&h, b"{\"x\":1}")).err(),
            Some(Rejection::Malformed)
        );
    }

    #[test]
    fn cloud_events_name_entity_and_action() {
        let body = br#"[{"specversion":"1.0","id":"e1","source":"intuit","type":"qbo.customer.updated.v1","time":"2026-01-02T03:04:05Z","intuitentityid":"77","intuitaccountid":"310687"}]"#;
        let changes = parse(body).expect("parses");
        assert_eq!(
            (changes[0].entity.as_str(), changes[0].id.as_str()),
            ("customer", "77")
        );
        assert_eq!(event_type(&changes[0].action), "UPDATED");
        assert_eq!(event_type("Merge"), "UNKNOWN");
    }
}
