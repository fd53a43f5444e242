//! Provider webhook handling, dispatched per element: the verification challenge, signature
//! check, and the routing keys (provider accounts) a delivery names.

use crate::dropbox;

/// Header access (lower-case names), so this crate needs no HTTP framework.
pub trait HeaderLookup {
    fn header(&self, name: &str) -> Option<&str>;
}

/// Why a delivery is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// 401: missing or wrong signature.
    BadSignature,
    /// 400: the body does not parse as this provider's notification.
    Malformed,
    /// 404: the element takes no webhooks.
    NotSupported,
}

/// The answer to a provider's verification `GET`, if the element has one.
pub fn challenge(element: &str, query_challenge: Option<&str>) -> Option<String> {
    match element {
        dropbox::KEY => query_challenge.map(str::to_string),
        _ => None,
    }
}

/// Verifies a delivery against the app secrets registered for the element.
pub fn verify(
    element: &str,
    headers: &dyn HeaderLookup,
    body: &[u8],
    secrets: &[String],
) -> Result<(), Rejection> {
    match element {
        dropbox::KEY => {
            let sig = headers
                .header(dropbox::webhook::SIGNATURE_HEADER)
                .ok_or(Rejection::BadSignature)?;
            if !dropbox::webhook::verify(secrets, body, sig) {
                return Err(Rejection::BadSignature);
            }
            dropbox::webhook::accounts(body)
                .map(|_| ())
                .ok_or(Rejection::Malformed)
        }
        _ => Err(Rejection::NotSupported),
    }
}

/// The provider accounts a verified delivery concerns.
pub fn routing_keys(element: &str, body: &[u8]) -> Vec<String> {
    match element {
        dropbox::KEY => dropbox::webhook::accounts(body).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The configuration entry holding the secret an element's webhooks are signed with.
pub fn signing_secret_entry(element: &str) -> Option<&'static str> {
    match element {
        "dropbox" | "hubspot" => Some("oauth.api.secret"),
        "quickbooks" => Some("quickbooks.webhook.verifier.token"),
        _ => None,
    }
}
