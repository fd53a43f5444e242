//! Box's side of webhook deliveries (`PROVIDERS.md` § Box).
//!
//! - v2: JSON `webhook_event` to the webhook's address with `BOX-DELIVERY-ID` (new on every
//!   attempt), `BOX-DELIVERY-TIMESTAMP` (RFC 3339, Box's offset form), `BOX-SIGNATURE-PRIMARY` /
//!   `-SECONDARY` = base64 HMAC-SHA256(key, body ‖ timestamp), `BOX-SIGNATURE-VERSION: 1`,
//!   `BOX-SIGNATURE-ALGORITHM: HmacSHA256`; signature headers only for keys the app has.
//!   A non-2xx answer, or none within 30 s, is retried with the same body (same event `id`).
//! - v1: form-encoded, unsigned, never retried.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{lock, FakeBox};
use crate::webhook_sender::{self, Attempt, Request, RetryPolicy};

/// Box fails a delivery not answered 2xx within 30 s.
pub const BOX_DEADLINE: Duration = Duration::from_secs(30);

/// What [`FakeBox::send_v2`] did.
#[derive(Debug, Clone)]
pub struct SentDelivery {
    /// The body's `id`, the same on every attempt.
    pub event_id: String,
    /// The body, byte for byte the same on every attempt.
    pub body: String,
    pub attempts: Vec<Attempt>,
}

impl SentDelivery {
    pub fn statuses(&self) -> Vec<u16> {
        webhook_sender::statuses(&self.attempts)
    }
    /// `BOX-DELIVERY-ID` of each attempt.
    pub fn delivery_ids(&self) -> Vec<String> {
        self.attempts
            .iter()
            .map(|a| a.header("BOX-DELIVERY-ID").unwrap_or_default().to_string())
            .collect()
    }
}

/// Box's v2 signature: base64 HMAC-SHA256(key as UTF-8, body bytes ‖ timestamp bytes).
pub fn v2_signature(key: &str, body: &[u8], timestamp: &str) -> String {
    STANDARD.encode(webhook_sender::hmac_sha256(
        key.as_bytes(),
        &[body, timestamp.as_bytes()],
    ))
}

/// A time as Box writes it: RFC 3339 to the second with a numeric offset (Box's examples use
/// Pacific time, `-07:00`), never `Z` — so a verifier must honour offsets.
pub fn box_time(t: DateTime<Utc>) -> String {
    let pacific = FixedOffset::west_opt(7 * 3600).expect("a valid offset");
    t.with_timezone(&pacific)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn v2_headers(
    timestamp: &str,
    primary: Option<String>,
    secondary: Option<String>,
) -> Vec<(String, String)> {
    let mut h = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("BOX-DELIVERY-ID".into(), webhook_sender::fresh_uuid()),
        ("BOX-DELIVERY-TIMESTAMP".into(), timestamp.to_string()),
    ];
    if let Some(sig) = primary {
        h.push(("BOX-SIGNATURE-PRIMARY".into(), sig));
    }
    if let Some(sig) = secondary {
        h.push(("BOX-SIGNATURE-SECONDARY".into(), sig));
    }
    if h.len() > 3 {
        h.push(("BOX-SIGNATURE-VERSION".into(), "1".into()));
        h.push(("BOX-SIGNATURE-ALGORITHM".into(), "HmacSHA256".into()));
    }
    h
}

impl FakeBox {
    /// The app's two signature keys (Box's console); deliveries carry both signatures.
    pub fn set_signature_keys(&self, primary: &str, secondary: &str) {
        let mut g = lock(&self.hooks);
        g.primary_key = Some(primary.into());
        g.secondary_key = Some(secondary.into());
    }

    /// No signature keys (the app never generated any): deliveries carry no signature headers.
    pub fn clear_signature_keys(&self) {
        let mut g = lock(&self.hooks);
        g.primary_key = None;
        g.secondary_key = None;
    }

    /// How v2 deliveries are retried (default: [`RetryPolicy::short`] with Box's 30 s deadline).
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        lock(&self.hooks).retry = policy;
    }

    /// Delivers a `trigger` event on `source` for webhook `webhook_id` to its address, retrying
    /// as Box does. Panics if the webhook does not exist or does not subscribe to `trigger`
    /// (Box would never send that).
    pub async fn send_v2(&self, webhook_id: &str, trigger: &str, source: Value) -> SentDelivery {
        let (address, primary, secondary, policy) = {
            let g = lock(&self.hooks);
            let hook = g
                .live
                .iter()
                .find(|h| h["id"] == webhook_id)
                .unwrap_or_else(|| panic!("no Box webhook {webhook_id}"));
            let subscribed = hook["triggers"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == trigger));
            assert!(subscribed, "webhook {webhook_id} has no trigger {trigger}");
            let address = hook["address"].as_str().unwrap_or_default().to_string();
            let keys = (g.primary_key.clone(), g.secondary_key.clone());
            (address, keys.0, keys.1, g.retry)
        };
        let event_id = webhook_sender::fresh_uuid();
        let body = json!({
            "type": "webhook_event",
            "id": event_id,
            "created_at": box_time(Utc::now()),
            "trigger": trigger,
            "webhook": {"id": webhook_id},
            "created_by": {"type": "user", "id": self.user_id, "name": "Box User", "login": "user@example.com"},
            "source": source,
            "additional_info": [],
        })
        .to_string();
        let attempts = webhook_sender::deliver(&self.http, &address, policy, |_| {
            let ts = box_time(Utc::now());
            let sign =
                |k: &Option<String>| k.as_deref().map(|k| v2_signature(k, body.as_bytes(), &ts));
            Request {
                headers: v2_headers(&ts, sign(&primary), sign(&secondary)),
                body: body.clone(),
            }
        })
        .await;
        SentDelivery {
            event_id,
            body,
            attempts,
        }
    }

    /// One v2 POST of `body` with `timestamp`, signed with the given keys (`None`: that header
    /// is left out). For stale, future, rotated or wrongly keyed deliveries; no retries.
    pub async fn post_v2_raw(
        &self,
        url: &str,
        body: &str,
        timestamp: &str,
        primary_key: Option<&str>,
        secondary_key: Option<&str>,
    ) -> StatusCode {
        let sign = |k: Option<&str>| k.map(|k| v2_signature(k, body.as_bytes(), timestamp));
        let headers = v2_headers(timestamp, sign(primary_key), sign(secondary_key));
        self.post_v2(url, body, headers).await
    }

    /// One v2 POST with the signature header values exactly as given (e.g. a signature of
    /// another body: tampering). No retries.
    pub async fn post_v2_signed(
        &self,
        url: &str,
        body: &str,
        timestamp: &str,
        primary_signature: Option<&str>,
        secondary_signature: Option<&str>,
    ) -> StatusCode {
        let own = |s: Option<&str>| s.map(str::to_string);
        let headers = v2_headers(timestamp, own(primary_signature), own(secondary_signature));
        self.post_v2(url, body, headers).await
    }

    async fn post_v2(&self, url: &str, body: &str, headers: Vec<(String, String)>) -> StatusCode {
        let request = Request {
            headers,
            body: body.to_string(),
        };
        let status = webhook_sender::post_once(&self.http, url, &request, BOX_DEADLINE).await;
        StatusCode::from_u16(status).expect("Box v2 delivery got no answer")
    }

    /// One v1 callback, form-encoded as given, unsigned; Box v1 never retries.
    pub async fn send_v1(&self, url: &str, form: &[(&str, &str)]) -> StatusCode {
        self.http
            .post(url)
            .timeout(BOX_DEADLINE)
            .form(form)
            .send()
            .await
            .expect("Box v1 callback got no answer")
            .status()
    }

    /// A v1 callback in the usual parameter set: `userId=["<this user>"]&event=<event>&itemId=
    /// <item_id>&itemType=<item_type>&newItemId=`.
    pub async fn send_v1_event(
        &self,
        url: &str,
        event: &str,
        item_id: &str,
        item_type: &str,
    ) -> StatusCode {
        let user = format!("[\"{}\"]", self.user_id);
        let form = [
            ("userId", user.as_str()),
            ("event", event),
            ("itemId", item_id),
            ("itemType", item_type),
            ("newItemId", ""),
        ];
        self.send_v1(url, &form).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"Test.txt"}}"#;
    const TIMESTAMP: &str = "2020-01-01T00:00:00-07:00";

    #[test]
    fn v2_signatures_match_the_box_documentation_vectors() {
        assert_eq!(
            v2_signature("SamplePrimaryKey", BODY.as_bytes(), TIMESTAMP),
            "6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI="
        );
        assert_eq!(
            v2_signature("SampleSecondaryKey", BODY.as_bytes(), TIMESTAMP),
            "v+1CD1Jdo3muIcbpv5lxxgPglOqMfsNHPV899xWYydo="
        );
    }

    #[test]
    fn box_times_carry_an_offset_and_parse_back_to_the_same_instant() {
        let now = Utc::now();
        let s = box_time(now);
        assert!(s.ends_with("-07:00"), "{s}");
        let back = DateTime::parse_from_rfc3339(&s).expect("rfc3339");
        assert_eq!(back.timestamp(), now.timestamp());
    }
}
