//! HubSpot webhook batches: a JSON array of events (`eventId, subscriptionId, portalId,
//! occurredAt, subscriptionType, objectId, attemptNumber, …`), unordered, possibly repeated,
//! retried with a higher `attemptNumber`. Routed by `portalId`.
//!
//! Signatures, key = the app's client secret:
//! - v3 `X-HubSpot-Signature-v3` = base64 HMAC-SHA256(`method + URL + body + timestamp`), with
//!   `X-HubSpot-Request-Timestamp` in epoch ms, refused when over 5 minutes old (or ahead); the
//!   URL is the one HubSpot called, with a few percent-escapes decoded first.
//! - v1 `X-HubSpot-Signature` = hex SHA-256(`secret + body`) (v2, when
//!   `X-HubSpot-Signature-Version: v2`: SHA-256(`secret + method + URL + body`)).

use base64::Engine;
use herald_core::model::InstanceRecord;
use herald_core::signing::{constant_time_eq, hmac_sha256};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::KEY;
use crate::webhooks::{digest, Inbound, Pushed, Read, Rejection, Routing};

const V3: &str = "x-hubspot-signature-v3";
const V3_TIMESTAMP: &str = "x-hubspot-request-timestamp";
const V1: &str = "x-hubspot-signature";
const VERSION: &str = "x-hubspot-signature-version";
/// How old (or far ahead) a v3 timestamp may be.
const WINDOW_MS: i64 = 5 * 60 * 1000;

fn parse(body: &[u8]) -> Option<Vec<Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Array(items) if items.iter().all(Value::is_object) => Some(items),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// What makes two events the same change, whatever their `attemptNumber`.
fn identity(e: &Value) -> String {
    let f = |k: &str| text(&e[k]);
    digest(&[
        "hubspot",
        &f("portalId"),
        &f("eventId"),
        &f("subscriptionId"),
        &f("subscriptionType"),
        &f("objectId"),
        &f("occurredAt"),
    ])
}

pub fn read(inbound: &Inbound<'_>) -> Result<Read, Rejection> {
    if inbound.header(V3).is_some() {
        let at: i64 = inbound
            .header(V3_TIMESTAMP)
            .and_then(|t| t.parse().ok())
            .ok_or(Rejection::BadSignature)?;
        if (inbound.now_ms - at).abs() > WINDOW_MS {
            return Err(Rejection::BadSignature);
        }
    } else if inbound.header(V1).is_none() {
        return Err(Rejection::BadSignature);
    }
    let events = parse(inbound.body).ok_or(Rejection::Malformed)?;
    let mut portals: Vec<String> = events.iter().map(|e| text(&e["portalId"])).collect();
    portals.sort();
    portals.dedup();
    let mut ids: Vec<String> = events.iter().map(identity).collect();
    ids.sort();
    let parts: Vec<&str> = ids.iter().map(String::as_str).collect();
    Ok(Read {
        routing: Routing::All(portals),
        dedupe_id: (!ids.is_empty()).then(|| digest(&parts)),
    })
}

/// HubSpot v3 decodes these escapes in the URL before signing.
fn decode_v3_url(url: &str) -> String {
    const ESCAPES: [(&str, &str); 12] = [
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ];
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    'scan: while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        for (esc, ch) in ESCAPES {
            if tail.len() >= 3 && tail[..3].eq_ignore_ascii_case(esc) {
                out.push_str(ch);
                rest = &tail[3..];
                continue 'scan;
            }
        }
        out.push('%');
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

pub fn verify(inbound: &Inbound<'_>, secret: &str) -> bool {
    let body = inbound.body;
    if let Some(given) = inbound.header(V3) {
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(given) else {
            return false;
        };
        let ts = inbound.header(V3_TIMESTAMP).unwrap_or_default();
        return inbound.urls.iter().any(|url| {
            let url = decode_v3_url(url);
            let mac = hmac_sha256(
                secret.as_bytes(),
                &[
                    inbound.method.as_bytes(),
                    url.as_bytes(),
                    body,
                    ts.as_bytes(),
                ],
            );
            constant_time_eq(&mac, &given)
        });
    }
    let Some(Ok(given)) = inbound.header(V1).map(hex::decode) else {
        return false;
    };
    let sha = |parts: &[&[u8]]| {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize()
    };
    if inbound
        .header(VERSION)
        .is_some_and(|v| v.eq_ignore_ascii_case("v2"))
    {
        return inbound.urls.iter().any(|url| {
            let d = sha(&[
                secret.as_bytes(),
                inbound.method.as_bytes(),
                url.as_bytes(),
                body,
            ]);
            constant_time_eq(&d, &given)
        });
    }
    constant_time_eq(&sha(&[secret.as_bytes(), body]), &given)
}

/// `<object>.creation|propertyChange|deletion` → `eventType`.
pub fn event_type(subscription_type: &str) -> &'static str {
    let action = subscription_type.rsplit('.').next().unwrap_or_default();
    crate::webhooks::event_type(
        action == "creation",
        action == "propertyChange",
        action == "deletion",
    )
}

/// The batch's events for the instance's portal, in the order received.
pub fn events(body: &[u8], inst: &InstanceRecord) -> Vec<Pushed> {
    let portal = inst.provider.account_id.as_deref().unwrap_or_default();
    parse(body)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| text(&e["portalId"]) == portal)
        .map(|e| {
            let sub = e["subscriptionType"].as_str().unwrap_or_default();
            let object = sub.split('.').next().unwrap_or_default();
            let mut event = json!({
                "eventType": event_type(sub),
                "objectType": object,
                "objectId": e["objectId"],
                "date": e["occurredAt"]
                    .as_i64()
                    .map(herald_core::time::ms_to_rfc3339),
                "elementKey": KEY,
                "subscriptionType": sub,
                "portalId": e["portalId"],
                "eventId": e["eventId"],
                "occurredAt": e["occurredAt"],
            });
            for k in ["propertyName", "propertyValue", "changeSource"] {
                if let Some(v) = e.get(k) {
                    event[k] = v.clone();
                }
            }
            Pushed {
                key: Some(identity(&e)),
                event,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::testing::{inbound, Headers};
    use std::collections::HashMap;

    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const BODY: &str = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;

    #[test]
    fn provider_vectors_verify() {
        let v1 = Headers::from(HashMap::from([(
            V1,
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de".to_string(),
        )]));
        assert!(verify(&inbound(&v1, &[], BODY.as_bytes(), 0), SECRET));
        assert!(!verify(&inbound(&v1, &[], BODY.as_bytes(), 0), "other"));
        let v3 = Headers::from(HashMap::from([
            (
                V3,
                "DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw=".to_string(),
            ),
            (V3_TIMESTAMP, "1564113600000".to_string()),
        ]));
        let urls = ["https://www.example.com/webhook_uri".to_string()];
        let now = 1_564_113_600_000 + 60_000;
        let i = inbound(&v3, &urls, BODY.as_bytes(), now);
        assert!(verify(&i, SECRET));
        assert!(read(&i).is_ok());
        let other = ["https://www.example.com/other".to_string()];
        assert!(!verify(&inbound(&v3, &other, BODY.as_bytes(), now), SECRET));
        let stale = inbound(&v3, &urls, BODY.as_bytes(), now + 5 * 60_000);
        assert_eq!(read(&stale).err(), Some(Rejection::BadSignature));
        let none = Headers::from(HashMap::new());
        assert_eq!(
            read(&inbound(&none, &urls, BODY.as_bytes(), now)).err(),
            Some(Rejection::BadSignature)
        );
    }

    #[test]
    fn retries_share_identity_and_urls_decode() {
        let retry = BODY.replace("\"attemptNumber\":0", "\"attemptNumber\":3");
        let h = Headers::from(HashMap::from([(V1, "00".to_string())]));
        let a = read(&inbound(&h, &[], BODY.as_bytes(), 0)).expect("a");
        let b = read(&inbound(&h, &[], retry.as_bytes(), 0)).expect("b");
        assert_eq!(a.dedupe_id, b.dedupe_id);
        assert_eq!(a.routing, Routing::All(vec!["62515".to_string()]));
        assert_eq!(
            decode_v3_url("https://h/p%3Fa%3db%2C%zz%2f"),
            "https://h/p?a%3db,%zz/"
        );
        assert_eq!(event_type("company.deletion"), "DELETED");
        assert_eq!(event_type("contact.merge"), "UNKNOWN");
    }
}
