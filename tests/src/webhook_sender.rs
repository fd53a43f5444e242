//! The provider side of a webhook delivery, shared by the fakes that push to Herald's ingest
//! (Box v2, HubSpot, QuickBooks): one POST per attempt, each attempt rebuilt by the provider
//! (new delivery id, timestamp, attempt number, signature), retried on anything but a 2xx —
//! including no answer within the provider's deadline — with a doubling wait, a bounded number
//! of times. Every attempt is recorded exactly as sent, with the status Herald answered.
//!
//! Signing here is deliberately independent of Herald's code (`hmac`/`sha2` directly), so a
//! bug in Herald's verifier cannot be mirrored by the fake.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How a provider retries a delivery. Real providers wait minutes to hours; tests use
/// milliseconds, keeping the shape (a doubling wait, a bounded count, a per-attempt deadline).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Wait before the first retry; doubles after each.
    pub first_wait: Duration,
    /// Retries after the first attempt (0 = a single attempt).
    pub max_retries: u32,
    /// An attempt not answered within this counts as failed (status 0), as at the provider.
    pub timeout: Duration,
}

impl RetryPolicy {
    /// Short waits for tests (50 ms doubling, 4 retries) with the provider's answer deadline.
    pub fn short(timeout: Duration) -> Self {
        Self {
            first_wait: Duration::from_millis(50),
            max_retries: 4,
            timeout,
        }
    }
}

/// One request of a delivery, as the provider builds it for attempt `n`.
#[derive(Debug, Clone)]
pub struct Request {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    /// A header of this request (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One attempt as sent, and what Herald answered (0: no answer in time, or no connection).
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Attempt {
    /// A header this attempt carried (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The statuses of a delivery's attempts, in order.
pub fn statuses(attempts: &[Attempt]) -> Vec<u16> {
    attempts.iter().map(|a| a.status).collect()
}

/// POSTs `request` once; 0 when there is no answer within `timeout`.
pub async fn post_once(
    http: &reqwest::Client,
    url: &str,
    request: &Request,
    timeout: Duration,
) -> u16 {
    let mut rb = http.post(url).timeout(timeout).body(request.body.clone());
    for (k, v) in &request.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    rb.send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_default()
}

/// Sends attempts built by `build(n)` (n = 0, 1, …) until one is answered 2xx or the retries
/// are used up.
pub async fn deliver(
    http: &reqwest::Client,
    url: &str,
    policy: RetryPolicy,
    mut build: impl FnMut(u32) -> Request,
) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    let mut wait = policy.first_wait;
    for n in 0..=policy.max_retries {
        if n > 0 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let request = build(n);
        let status = post_once(http, url, &request, policy.timeout).await;
        let attempt = Attempt {
            status,
            headers: request.headers,
            body: request.body,
        };
        let done = attempt.is_success();
        attempts.push(attempt);
        if done {
            break;
        }
    }
    attempts
}

/// HMAC-SHA256 of the concatenated `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// A fresh id in UUID form (8-4-4-4-12 lowercase hex), unique within the process.
pub fn fresh_uuid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let digest = Sha256::new()
        .chain_update(n.to_be_bytes())
        .chain_update(nanos.to_be_bytes())
        .chain_update(std::process::id().to_be_bytes())
        .finalize();
    let h = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_uuids_are_uuid_shaped_and_distinct() {
        let (a, b) = (fresh_uuid(), fresh_uuid());
        assert_ne!(a, b);
        let lens: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(lens, [8, 4, 4, 4, 12]);
    }

    #[tokio::test]
    async fn a_delivery_nobody_answers_is_tried_once_plus_each_retry() {
        // A port nothing listens on: every attempt fails with no answer (status 0).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        drop(listener);
        let policy = RetryPolicy {
            first_wait: Duration::from_millis(1),
            max_retries: 2,
            timeout: Duration::from_secs(1),
        };
        let attempts = deliver(&reqwest::Client::new(), &url, policy, |n| Request {
            headers: vec![("X-Attempt".into(), n.to_string())],
            body: String::new(),
        })
        .await;
        assert_eq!(statuses(&attempts), [0, 0, 0]);
        assert_eq!(attempts[2].header("x-attempt"), Some("2"));
    }
}
