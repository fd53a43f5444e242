//! Dropbox webhook deliveries: `X-Dropbox-Signature` = lowercase hex HMAC-SHA256(app secret,
//! raw body); the body names the accounts that changed, never the changes.

use herald_core::signing::{constant_time_eq, hmac_sha256};
use serde::Deserialize;

use crate::webhooks::{Inbound, Read, Rejection, Routing};

pub const SIGNATURE_HEADER: &str = "x-dropbox-signature";

#[derive(Deserialize)]
struct Notification {
    list_folder: Option<ListFolder>,
}

#[derive(Deserialize)]
struct ListFolder {
    #[serde(default)]
    accounts: Vec<String>,
}

/// The accounts a notification names; `None` when the body is not a Dropbox notification.
pub fn accounts(body: &[u8]) -> Option<Vec<String>> {
    let n: Notification = serde_json::from_slice(body).ok()?;
    Some(n.list_folder.map(|l| l.accounts).unwrap_or_default())
}

/// Every account the body names is a route. Dropbox sends the same body for every change of an
/// account, so a delivery has no identity of its own (the change feed deduplicates).
pub fn read(inbound: &Inbound<'_>) -> Result<Read, Rejection> {
    if inbound.header(SIGNATURE_HEADER).is_none() {
        return Err(Rejection::BadSignature);
    }
    let accounts = accounts(inbound.body).ok_or(Rejection::Malformed)?;
    Ok(Read {
        routing: Routing::All(accounts),
        dedupe_id: None,
    })
}

/// True when the signature matches the body under the app secret.
pub fn verify(inbound: &Inbound<'_>, secret: &str) -> bool {
    let Some(Ok(given)) = inbound.header(SIGNATURE_HEADER).map(hex::decode) else {
        return false;
    };
    constant_time_eq(&hmac_sha256(secret.as_bytes(), &[inbound.body]), &given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::testing::Headers;

    fn sig(s: &str) -> Headers {
        Headers::new(&[(SIGNATURE_HEADER, s)])
    }

    fn inbound<'a>(h: &'a Headers, body: &'a [u8]) -> Inbound<'a> {
        crate::webhooks::testing::inbound(h, &[], body, 0)
    }

    #[test]
    fn provider_test_vector_verifies() {
        let body = br#"{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}, "delta": {"users": [12345678]}}"#;
        let good = sig("a82630e9eddfc89411185211df80ef41d6082db2fffc1be63e8f2c4aa4d25b37");
        assert!(verify(&inbound(&good, body), "dbx_app_secret_example"));
        assert!(!verify(&inbound(&good, body), "other"));
        assert!(!verify(&inbound(&good, b"{}"), "dbx_app_secret_example"));
        assert!(!verify(
            &inbound(&sig("zz"), body),
            "dbx_app_secret_example"
        ));
        let read = read(&inbound(&good, body)).expect("reads");
        assert_eq!(
            read.routing,
            Routing::All(vec!["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc".to_string()])
        );
        assert_eq!(
            super::read(&inbound(&good, b"not json")).err(),
            Some(Rejection::Malformed)
        );
    }
}
