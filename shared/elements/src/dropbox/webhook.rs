//! Dropbox webhook deliveries: `X-Dropbox-Signature` = lowercase hex HMAC-SHA256(app secret,
//! raw body); the body names the accounts that changed, never the changes.

use herald_core::signing::{constant_time_eq, hmac_sha256};
use serde::Deserialize;

pub const SIGNATURE_HEADER: &str = "x-dropbox-signature";

/// True when `signature` matches the body under any of the app secrets.
pub fn verify(secrets: &[String], body: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    secrets
        .iter()
        .any(|s| constant_time_eq(&hmac_sha256(s.as_bytes(), &[body]), &given))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_test_vector_verifies() {
        let body = br#"{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}, "delta": {"users": [12345678]}}"#;
        let sig = "a82630e9eddfc89411185211df80ef41d6082db2fffc1be63e8f2c4aa4d25b37";
        let secrets = vec!["other".to_string(), "dbx_app_secret_example".to_string()];
        assert!(verify(&secrets, body, sig));
        assert!(!verify(&secrets[..1], body, sig));
        assert!(!verify(&secrets, b"{}", sig));
        assert!(!verify(&secrets, body, "zz"));
        assert_eq!(
            accounts(body).expect("parses"),
            vec!["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc".to_string()]
        );
        assert!(accounts(b"not json").is_none());
    }
}
