//! HubSpot's side of webhook deliveries (`PROVIDERS.md` § HubSpot): a JSON array of at most 100
//! events (`eventId, subscriptionId, portalId, occurredAt` in epoch ms, `subscriptionType`,
//! `attemptNumber`, `objectId`, `propertyName?`, `propertyValue?`, `changeSource`, `appId`),
//! signed either v1 (`X-HubSpot-Signature` = hex SHA-256 of `secret + body`, plain, not HMAC) or
//! v3 (`X-HubSpot-Signature-v3` = base64 HMAC-SHA256(secret, `POST` + URL + body + timestamp),
//! with `X-HubSpot-Request-Timestamp` in epoch ms, the URL as called with HubSpot's listed escapes
//! decoded). A delivery not answered 2xx within 5 s is retried with every event's
//! `attemptNumber` one higher, re-signed and (v3) re-timestamped. Knobs: the wrong secret, a
//! stale v3 timestamp, no signature at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::webhook_sender::{self, Attempt, Request, RetryPolicy};

/// HubSpot fails a delivery not answered within 5 s.
pub const HUBSPOT_DEADLINE: Duration = Duration::from_secs(5);
/// The app id the fake's events carry (as in HubSpot's documented example).
pub const HUBSPOT_APP_ID: u64 = 54321;
/// How old a stale v3 timestamp is: past HubSpot's 5-minute window.
pub const STALE_BY: Duration = Duration::from_secs(6 * 60);

/// One event of a delivery. Fields serialize in camelCase, in the order of HubSpot's example.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_id: u64,
    pub subscription_id: u64,
    pub portal_id: u64,
    pub occurred_at: u64,
    pub subscription_type: String,
    pub attempt_number: u32,
    pub object_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_value: Option<String>,
    pub change_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_flag: Option<String>,
    pub app_id: u64,
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default()
}

impl Event {
    /// A `subscription_type` event (e.g. `contact.creation`) on `object_id` in `portal_id`,
    /// occurring now, with a fresh `eventId` and the subscription id HubSpot would give that
    /// type. Creations carry `changeFlag: NEW` and deletions `DELETED`, as HubSpot's do.
    pub fn new(portal_id: u64, subscription_type: &str, object_id: u64) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let occurred_at = now_ms();
        let digest = Sha256::digest(subscription_type.as_bytes());
        let subscription_id = 100_000
            + u64::from(u32::from_be_bytes([
                digest[0], digest[1], digest[2], digest[3],
            ])) % 900_000;
        let change_flag = match subscription_type.rsplit('.').next() {
            Some("creation") => Some("NEW".to_string()),
            Some("deletion") => Some("DELETED".to_string()),
            _ => None,
        };
        Self {
            // Unique within the process and unlike any earlier run's ids.
            event_id: occurred_at * 1000 + NEXT.fetch_add(1, Ordering::Relaxed) % 1000,
            subscription_id,
            portal_id,
            occurred_at,
            subscription_type: subscription_type.to_string(),
            attempt_number: 0,
            object_id,
            property_name: None,
            property_value: None,
            change_source: "CRM".to_string(),
            change_flag,
            app_id: HUBSPOT_APP_ID,
        }
    }

    /// A `propertyChange`'s property and new value.
    pub fn property(mut self, name: &str, value: &str) -> Self {
        self.property_name = Some(name.to_string());
        self.property_value = Some(value.to_string());
        self
    }
}

/// The body of a delivery: the events as a JSON array.
pub fn batch_body(events: &[Event]) -> String {
    serde_json::to_string(events).expect("events serialize")
}

/// v1: lowercase hex SHA-256 (plain, not HMAC) of `secret + body`.
pub fn sign_v1(secret: &str, body: &str) -> String {
    hex::encode(
        Sha256::new()
            .chain_update(secret.as_bytes())
            .chain_update(body.as_bytes())
            .finalize(),
    )
}

/// v3: base64 HMAC-SHA256(secret, `method + url + body + timestamp`), `url` used exactly as
/// given (see [`v3_uri`] for the decoding HubSpot applies to the URL it calls).
pub fn sign_v3(secret: &str, method: &str, url: &str, body: &str, timestamp_ms: u64) -> String {
    let ts = timestamp_ms.to_string();
    STANDARD.encode(webhook_sender::hmac_sha256(
        secret.as_bytes(),
        &[
            method.as_bytes(),
            url.as_bytes(),
            body.as_bytes(),
            ts.as_bytes(),
        ],
    ))
}

/// The URL as HubSpot signs it: the called URL with `%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A
/// %2C %3B` decoded (and nothing else).
pub fn v3_uri(url: &str) -> String {
    const DECODED: &[(&str, &str)] = &[
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
    while !rest.is_empty() {
        match DECODED.iter().find(|(enc, _)| rest.starts_with(enc)) {
            Some((enc, dec)) => {
                out.push_str(dec);
                rest = &rest[enc.len()..];
            }
            None => {
                let c = rest.chars().next().expect("rest is not empty");
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// Which signature headers a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signing {
    V1,
    V3,
    /// No signature header at all.
    Unsigned,
}

/// Posts deliveries as a HubSpot app with client secret `secret` would.
#[derive(Clone)]
pub struct HubSpotSender {
    /// The app's client secret (what Herald knows as `oauth.api.secret`).
    pub secret: String,
    pub signing: Signing,
    /// Sign with a secret other than [`HubSpotSender::secret`].
    pub wrong_secret: bool,
    /// v3 timestamps [`STALE_BY`] in the past.
    pub stale_timestamp: bool,
    /// Retries (default: [`RetryPolicy::short`] with HubSpot's 5 s deadline).
    pub retry: RetryPolicy,
    http: reqwest::Client,
}

impl HubSpotSender {
    pub fn new(secret: &str, signing: Signing) -> Self {
        Self {
            secret: secret.to_string(),
            signing,
            wrong_secret: false,
            stale_timestamp: false,
            retry: RetryPolicy::short(HUBSPOT_DEADLINE),
            http: reqwest::Client::new(),
        }
    }

    /// The request HubSpot would send now for `body` to `url`, per the knobs.
    pub fn request(&self, url: &str, body: &str) -> Request {
        let secret = if self.wrong_secret {
            format!("not-{}", self.secret)
        } else {
            self.secret.clone()
        };
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "User-Agent".into(),
                "HubSpot Connect 2.0 (http://dev.hubspot.com/)".into(),
            ),
        ];
        match self.signing {
            Signing::V1 => {
                headers.push(("X-HubSpot-Signature".into(), sign_v1(&secret, body)));
                headers.push(("X-HubSpot-Signature-Version".into(), "v1".into()));
            }
            Signing::V3 => {
                let stale = if self.stale_timestamp {
                    u64::try_from(STALE_BY.as_millis()).unwrap_or_default()
                } else {
                    0
                };
                let ts = now_ms().saturating_sub(stale);
                let sig = sign_v3(&secret, "POST", &v3_uri(url), body, ts);
                headers.push(("X-HubSpot-Signature-v3".into(), sig));
                headers.push(("X-HubSpot-Request-Timestamp".into(), ts.to_string()));
            }
            Signing::Unsigned => {}
        }
        Request {
            headers,
            body: body.to_string(),
        }
    }

    /// Delivers `events` (at most 100) to `url`, retrying as HubSpot does: attempt `n` carries
    /// each event's `attemptNumber` plus `n`.
    pub async fn send(&self, url: &str, events: &[Event]) -> Vec<Attempt> {
        assert!(
            events.len() <= 100,
            "HubSpot sends at most 100 events a request"
        );
        webhook_sender::deliver(&self.http, url, self.retry, |n| {
            let retried: Vec<Event> = events
                .iter()
                .cloned()
                .map(|mut e| {
                    e.attempt_number += n;
                    e
                })
                .collect();
            self.request(url, &batch_body(&retried))
        })
        .await
    }

    /// One POST of `body` exactly as given (signed per the knobs), no retries; 0 if unanswered.
    pub async fn post_once(&self, url: &str, body: &str) -> u16 {
        let request = self.request(url, body);
        webhook_sender::post_once(&self.http, url, &request, self.retry.timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const BODY: &str = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;

    #[test]
    fn v1_signature_matches_the_hubspot_documentation_vector() {
        assert_eq!(
            sign_v1(SECRET, BODY),
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
        );
    }

    #[test]
    fn v3_signature_matches_the_computed_vector() {
        assert_eq!(
            sign_v3(
                SECRET,
                "POST",
                "https://www.example.com/webhook_uri",
                BODY,
                1_564_113_600_000
            ),
            "DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw="
        );
    }

    #[test]
    fn events_serialize_exactly_as_hubspot_writes_them() {
        let mut e = Event::new(62515, "contact.creation", 123);
        (e.event_id, e.subscription_id, e.occurred_at) = (1, 12345, 1_564_113_600_000);
        assert_eq!(batch_body(&[e]), BODY);
    }

    #[test]
    fn the_signed_uri_decodes_only_hubspots_listed_escapes() {
        assert_eq!(
            v3_uri("http://h/p%3Fa%2Fb?x=%2C%3b%20"),
            "http://h/p?a/b?x=,%3b%20"
        );
    }

    #[tokio::test]
    async fn a_refused_batch_is_resent_with_attempt_numbers_one_higher_and_a_fresh_v3_signature() {
        let receiver = crate::receiver::Receiver::start().await;
        receiver.script(&[500, 502]);
        let mut sender = HubSpotSender::new("s3cret", Signing::V3);
        sender.retry.first_wait = Duration::from_millis(1);
        let events = [
            Event::new(62515, "contact.creation", 1),
            Event::new(62515, "contact.propertyChange", 1).property("email", "a@example.com"),
        ];
        let attempts = sender.send(&receiver.url, &events).await;
        assert_eq!(webhook_sender::statuses(&attempts), [500, 502, 200]);
        for (n, r) in receiver.received().iter().enumerate() {
            let body = std::str::from_utf8(&r.body).expect("utf-8");
            let v = r.json();
            assert!(v.as_array().is_some_and(|a| a.len() == 2), "{v}");
            assert!(v
                .as_array()
                .into_iter()
                .flatten()
                .all(|e| e["attemptNumber"] == n));
            let ts = r.header("X-HubSpot-Request-Timestamp").expect("timestamp");
            let ts: u64 = ts.parse().expect("epoch ms");
            let expected = sign_v3("s3cret", "POST", &receiver.url, body, ts);
            assert_eq!(r.header("X-HubSpot-Signature-v3"), Some(expected));
        }
    }

    #[test]
    fn the_knobs_spoil_exactly_what_they_name() {
        let url = "http://127.0.0.1:1/elements/api-v2/events/hubspot";
        let mut s = HubSpotSender::new("s3cret", Signing::V1);
        let v1 = sign_v1("s3cret", BODY);
        let r = s.request(url, BODY);
        assert_eq!(r.header("X-HubSpot-Signature"), Some(v1.as_str()));
        assert_eq!(r.header("X-HubSpot-Signature-Version"), Some("v1"));
        s.wrong_secret = true;
        let r = s.request(url, BODY);
        assert!(r.header("X-HubSpot-Signature").is_some_and(|sig| sig != v1));
        s.signing = Signing::V3;
        s.wrong_secret = false;
        s.stale_timestamp = true;
        let r = s.request(url, BODY);
        let ts: u64 = r
            .header("X-HubSpot-Request-Timestamp")
            .and_then(|t| t.parse().ok())
            .expect("epoch ms");
        assert!(now_ms() - ts > 5 * 60 * 1000);
        let v3 = sign_v3("s3cret", "POST", url, BODY, ts);
        assert_eq!(r.header("X-HubSpot-Signature-v3"), Some(v3.as_str()));
        s.signing = Signing::Unsigned;
        let r = s.request(url, BODY);
        assert!(r.headers.iter().all(|(k, _)| !k.starts_with("X-HubSpot")));
    }
}
