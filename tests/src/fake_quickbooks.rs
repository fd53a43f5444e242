//! QuickBooks Online's side of webhook deliveries (`PROVIDERS.md` § QuickBooks): bodies in the
//! legacy `eventNotifications` form and in the CloudEvents array form (`type`
//! `qbo.<entity>.<action>.v1`, `intuitaccountid` = realm), signed with `intuit-signature` =
//! base64 HMAC-SHA256(verifier token, raw body) — no timestamp — and retried, byte for byte the
//! same, on anything but a 2xx within 3 s. Knobs: the wrong verifier token, no signature.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use crate::webhook_sender::{self, Attempt, Request, RetryPolicy};

/// Intuit fails a delivery not answered within 3 s.
pub const QUICKBOOKS_DEADLINE: Duration = Duration::from_secs(3);

/// `intuit-signature`: base64 HMAC-SHA256(verifier token, raw body).
pub fn sign(verifier_token: &str, body: &str) -> String {
    STANDARD.encode(webhook_sender::hmac_sha256(
        verifier_token.as_bytes(),
        &[body.as_bytes()],
    ))
}

/// A time as Intuit writes it: UTC, milliseconds, `Z`.
pub fn intuit_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One changed entity of a legacy notification, fields in Intuit's order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub id: String,
    /// `Create|Update|Delete|Merge|Void|Emailed`.
    pub operation: String,
    /// The entity name, e.g. `Customer`.
    pub name: String,
    pub last_updated: String,
}

impl Entity {
    /// `operation` on entity `name` `id`, updated now.
    pub fn new(name: &str, id: &str, operation: &str) -> Self {
        Self {
            id: id.to_string(),
            operation: operation.to_string(),
            name: name.to_string(),
            last_updated: intuit_time(chrono::Utc::now()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    realm_id: &'a str,
    data_change_event: DataChangeEvent<'a>,
}

#[derive(Serialize)]
struct DataChangeEvent<'a> {
    entities: &'a [Entity],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Legacy<'a> {
    event_notifications: Vec<Notification<'a>>,
}

/// The legacy body for one realm:
/// `{"eventNotifications":[{"realmId","dataChangeEvent":{"entities":[…]}}]}`.
pub fn legacy_body(realm_id: &str, entities: &[Entity]) -> String {
    legacy_body_multi(&[(realm_id, entities)])
}

/// A legacy body with one notification per realm (Intuit may batch several companies).
pub fn legacy_body_multi(realms: &[(&str, &[Entity])]) -> String {
    let body = Legacy {
        event_notifications: realms
            .iter()
            .map(|(realm_id, entities)| Notification {
                realm_id,
                data_change_event: DataChangeEvent { entities },
            })
            .collect(),
    };
    serde_json::to_string(&body).expect("legacy body serializes")
}

/// One CloudEvent, fields in Intuit's order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    pub source: String,
    /// `qbo.<entity lower case>.<action>.v1`.
    #[serde(rename = "type")]
    pub kind: String,
    pub datacontenttype: String,
    pub time: String,
    pub intuitentityid: String,
    /// The realm id.
    pub intuitaccountid: String,
    pub data: serde_json::Value,
}

impl CloudEvent {
    /// `action` (`created|updated|deleted|…`) on `entity` (e.g. `Customer`) `id` in `realm_id`,
    /// now, with a fresh event id.
    pub fn new(realm_id: &str, entity: &str, id: &str, action: &str) -> Self {
        Self {
            specversion: "1.0".to_string(),
            id: webhook_sender::fresh_uuid(),
            source: format!("intuit.{}", STANDARD.encode(realm_id.as_bytes())),
            kind: format!("qbo.{}.{action}.v1", entity.to_lowercase()),
            datacontenttype: "application/json".to_string(),
            time: intuit_time(chrono::Utc::now()),
            intuitentityid: id.to_string(),
            intuitaccountid: realm_id.to_string(),
            data: serde_json::json!({}),
        }
    }
}

/// The CloudEvents body: a JSON array of events.
pub fn cloud_events_body(events: &[CloudEvent]) -> String {
    serde_json::to_string(events).expect("cloud events serialize")
}

/// Posts deliveries as Intuit would for an app with verifier token `verifier_token`.
#[derive(Clone)]
pub struct QuickBooksSender {
    /// The app's webhook verifier token (Herald's `quickbooks.webhook.verifier.token`).
    pub verifier_token: String,
    /// Sign with a token other than [`QuickBooksSender::verifier_token`].
    pub wrong_token: bool,
    /// Send no `intuit-signature` header.
    pub unsigned: bool,
    /// Retries (default: [`RetryPolicy::short`] with Intuit's 3 s deadline).
    pub retry: RetryPolicy,
    http: reqwest::Client,
}

impl QuickBooksSender {
    pub fn new(verifier_token: &str) -> Self {
        Self {
            verifier_token: verifier_token.to_string(),
            wrong_token: false,
            unsigned: false,
            retry: RetryPolicy::short(QUICKBOOKS_DEADLINE),
            http: reqwest::Client::new(),
        }
    }

    /// The request Intuit would send for `body`, per the knobs.
    pub fn request(&self, body: &str) -> Request {
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        if !self.unsigned {
            let token = if self.wrong_token {
                format!("not-{}", self.verifier_token)
            } else {
                self.verifier_token.clone()
            };
            headers.push(("intuit-signature".into(), sign(&token, body)));
        }
        Request {
            headers,
            body: body.to_string(),
        }
    }

    /// Delivers `body` to `url`, retrying the same bytes until a 2xx or the retries run out.
    pub async fn send(&self, url: &str, body: &str) -> Vec<Attempt> {
        webhook_sender::deliver(&self.http, url, self.retry, |_| self.request(body)).await
    }

    /// One POST, no retries; 0 if unanswered in time.
    pub async fn post_once(&self, url: &str, body: &str) -> u16 {
        let request = self.request(body);
        webhook_sender::post_once(&self.http, url, &request, self.retry.timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"eventNotifications":[{"realmId":"310687","dataChangeEvent":{"entities":[{"id":"1234","operation":"Create","name":"Account","lastUpdated":"2025-09-08T20:52:31.657Z"}]}}]}"#;

    #[test]
    fn signature_matches_the_computed_vector() {
        assert_eq!(
            sign("qbo-verifier-token-example", BODY),
            "S50hAnPI9/3v3uw9+jMXdmBTsvzc2IfFbBsnEZqgTgE="
        );
    }

    #[test]
    fn the_legacy_body_is_written_exactly_as_intuit_writes_it() {
        let mut e = Entity::new("Account", "1234", "Create");
        e.last_updated = "2025-09-08T20:52:31.657Z".into();
        assert_eq!(legacy_body("310687", &[e]), BODY);
    }

    #[test]
    fn cloud_events_name_entity_action_and_realm() {
        let e = CloudEvent::new("310687", "Customer", "1234", "created");
        let v: serde_json::Value =
            serde_json::from_str(&cloud_events_body(&[e])).expect("json array");
        assert_eq!(v[0]["type"], "qbo.customer.created.v1");
        assert_eq!(v[0]["intuitaccountid"], "310687");
        assert_eq!(v[0]["specversion"], "1.0");
        assert!(v[0]["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("intuit.")));
    }

    #[tokio::test]
    async fn a_refused_delivery_is_resent_byte_for_byte() {
        let receiver = crate::receiver::Receiver::start().await;
        receiver.script(&[500]);
        let mut sender = QuickBooksSender::new("token");
        sender.retry.first_wait = Duration::from_millis(1);
        let body = cloud_events_body(&[CloudEvent::new("310687", "Invoice", "9", "updated")]);
        let attempts = sender.send(&receiver.url, &body).await;
        assert_eq!(webhook_sender::statuses(&attempts), [500, 200]);
        for r in receiver.received() {
            assert_eq!(r.body, body.as_bytes());
            assert_eq!(r.header("intuit-signature"), Some(sign("token", &body)));
        }
        sender.wrong_token = true;
        let wrong = sender.request(&body);
        assert!(wrong
            .header("intuit-signature")
            .is_some_and(|sig| sig != sign("token", &body)));
        sender.unsigned = true;
        assert!(sender.request(&body).header("intuit-signature").is_none());
    }
}
