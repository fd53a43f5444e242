//! Provider webhook deliveries, dispatched per element: the verification challenge, what a
//! delivery names (so ingest can find the candidate instances), the signature check against one
//! instance's secrets, and — for elements whose deliveries carry the changes themselves — the
//! normalized events for one instance.
//!
//! Ingest reads a delivery ([`read`]) before any secret is touched: a body that does not parse,
//! lacks its signature headers or carries a timestamp outside the provider's window is refused
//! there, cheaply. It then verifies ([`verify`]) against each candidate instance's own secrets
//! (entries [`signing_entries`]), and routes the delivery only to the instances that verified it.

use herald_core::model::InstanceRecord;
use serde_json::Value;

use crate::key::ElementKey;
use crate::{boxcom, dropbox, hubspot, quickbooks};

/// Header access (lower-case names), so this crate needs no HTTP framework.
pub trait HeaderLookup: Sync {
    fn header(&self, name: &str) -> Option<&str>;
}

/// Why a delivery is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// 401: missing or wrong signature, or a timestamp outside the provider's window.
    BadSignature,
    /// 400: the body does not parse as this provider's notification.
    Malformed,
    /// 404: the element takes no webhooks.
    NotSupported,
}

/// One provider request, as ingest received it.
pub struct Inbound<'a> {
    pub method: &'a str,
    /// The URLs the provider may have signed (HubSpot v2/v3): `HERALD_PUBLIC_URL` + path and
    /// query first, then the same path on the `Host` the request came to.
    pub urls: &'a [String],
    pub headers: &'a dyn HeaderLookup,
    pub body: &'a [u8],
    pub now_ms: i64,
}

impl Inbound<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .header(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// Where a delivery's candidate instances are found (route-index keys, see `store::instances`).
#[derive(Debug, PartialEq, Eq)]
pub enum Routing {
    /// Every instance behind any of these provider accounts.
    All(Vec<String>),
    /// The instances behind the first of these routes that has any (Box v2: its webhook, then
    /// the user who caused the event).
    First(Vec<String>),
}

/// What [`read`] learned of a delivery.
#[derive(Debug)]
pub struct Read {
    pub routing: Routing,
    /// Identifies the delivery's changes (not its attempt), where the provider gives the means:
    /// a retry of an accepted delivery has the same id (`Nats-Msg-Id`).
    pub dedupe_id: Option<String>,
}

/// One normalized event of a delivery, and the key that identifies its change across provider
/// retries (`None`: the delivery itself is the identity, e.g. Box v1).
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    pub key: Option<String>,
    pub event: Value,
}

/// The largest body ingest reads for the element before anything is verified, so an unsigned
/// flood costs little. Generous for each provider's real deliveries.
pub fn body_limit(element: ElementKey) -> usize {
    match element {
        ElementKey::Box => 64 * 1024,
        ElementKey::Dropbox | ElementKey::HubSpot | ElementKey::QuickBooks => 512 * 1024,
        ElementKey::DocuShareFlex | ElementKey::Sfdc => 16 * 1024,
    }
}

/// The answer to a provider's verification `GET`, if the element has one.
pub fn challenge(element: ElementKey, query_challenge: Option<&str>) -> Option<String> {
    match element {
        ElementKey::Dropbox => query_challenge.map(str::to_string),
        _ => None,
    }
}

/// Parses a delivery and checks what needs no secret (signature headers present, timestamps).
pub fn read(element: ElementKey, inbound: &Inbound<'_>) -> Result<Read, Rejection> {
    match element {
        ElementKey::Dropbox => dropbox::webhook::read(inbound),
        ElementKey::Box => boxcom::webhook::read(inbound),
        ElementKey::HubSpot => hubspot::webhook::read(inbound),
        ElementKey::QuickBooks => quickbooks::webhook::read(inbound),
        ElementKey::DocuShareFlex | ElementKey::Sfdc => Err(Rejection::NotSupported),
    }
}

/// The configuration entries holding the secrets an element's deliveries are verified with.
pub fn signing_entries(element: ElementKey) -> &'static [&'static str] {
    match element {
        ElementKey::Dropbox | ElementKey::HubSpot => &["oauth.api.secret"],
        ElementKey::QuickBooks => &["quickbooks.webhook.verifier.token"],
        ElementKey::Box => &[
            "box.webhook.signature.primary.key",
            "box.webhook.signature.secondary.key",
        ],
        ElementKey::DocuShareFlex | ElementKey::Sfdc => &[],
    }
}

/// True when the delivery verifies with one instance's secrets, given in the order of
/// [`signing_entries`] (`None` for an entry the instance does not have).
pub fn verify(element: ElementKey, inbound: &Inbound<'_>, secrets: &[Option<&str>]) -> bool {
    let first = secrets.first().copied().flatten();
    match element {
        ElementKey::Dropbox => first.is_some_and(|s| dropbox::webhook::verify(inbound, s)),
        ElementKey::Box => {
            boxcom::webhook::verify(inbound, first, secrets.get(1).copied().flatten())
        }
        ElementKey::HubSpot => first.is_some_and(|s| hubspot::webhook::verify(inbound, s)),
        ElementKey::QuickBooks => first.is_some_and(|s| quickbooks::webhook::verify(inbound, s)),
        ElementKey::DocuShareFlex | ElementKey::Sfdc => false,
    }
}

/// The events of a delivery that concern one instance, in the order received (for elements
/// whose deliveries carry the changes; the others keep a change feed, see `changes::has_feed`).
pub fn events(element: ElementKey, body: &[u8], inst: &InstanceRecord, now: &str) -> Vec<Pushed> {
    match element {
        ElementKey::Box => boxcom::webhook::events(body, inst, now),
        ElementKey::HubSpot => hubspot::webhook::events(body, inst),
        ElementKey::QuickBooks => quickbooks::webhook::events(body, inst, now),
        ElementKey::Dropbox | ElementKey::DocuShareFlex | ElementKey::Sfdc => Vec::new(),
    }
}

/// A short, stable digest of identity parts (dedupe keys and message ids).
pub fn digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Maps a provider's action word to the normalized `eventType`.
pub fn event_type(created: bool, updated: bool, deleted: bool) -> &'static str {
    if created {
        "CREATED"
    } else if updated {
        "UPDATED"
    } else if deleted {
        "DELETED"
    } else {
        "UNKNOWN"
    }
}

/// A provider timestamp (RFC 3339 with any offset) as RFC 3339 UTC; `fallback` if unreadable.
pub fn utc_date(raw: Option<&str>, fallback: &str) -> String {
    raw.and_then(herald_core::time::parse_rfc3339_ms)
        .map(herald_core::time::ms_to_rfc3339)
        .unwrap_or_else(|| fallback.to_string())
}

/// Requests for the adapters' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::HashMap;

    use super::{HeaderLookup, Inbound};

    pub struct Headers(HashMap<String, String>);

    impl Headers {
        pub fn new(pairs: &[(&str, &str)]) -> Self {
            Self(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        }
    }

    impl From<HashMap<&str, String>> for Headers {
        fn from(m: HashMap<&str, String>) -> Self {
            Self(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
        }
    }

    impl HeaderLookup for Headers {
        fn header(&self, name: &str) -> Option<&str> {
            self.0.get(name).map(String::as_str)
        }
    }

    /// A POST of `body` to `urls` with `headers`, received at `now_ms`.
    pub fn inbound<'a>(
        headers: &'a Headers,
        urls: &'a [String],
        body: &'a [u8],
        now_ms: i64,
    ) -> Inbound<'a> {
        Inbound {
            method: "POST",
            urls,
            headers,
            body,
            now_ms,
        }
    }
}
