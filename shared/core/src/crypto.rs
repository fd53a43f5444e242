//! Secrets at rest and secret lookups.
//!
//! Provider tokens and secret configuration entries are sealed with XChaCha20-Poly1305 under
//! `HERALD_SECRET_KEY` before they reach Redis; a sealed value reads
//! `enc:v3:<key id>:<base64(nonce‖ct)>`, the key id being the first 8 hex digits of the key's
//! SHA-256, and its owner ([`SealedFor`]: the instance and the field) bound in as associated
//! data — a sealed value copied to another instance or another field does not open. Values
//! from before owners (`enc:v2:`) and before key ids (`enc:v1:`) still open. To rotate, an operator sets the new
//! key as `HERALD_SECRET_KEY` and the old one as `HERALD_SECRET_KEY_PREVIOUS`: values open with
//! whichever key sealed them, and every value written from then on is sealed with the new one.
//! Tenant secrets and instance tokens are never stored: only their SHA-256, which is enough
//! because they are 256-bit random values (no dictionary to guess from).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const SEALED_V1: &str = "enc:v1:";
const SEALED_V2: &str = "enc:v2:";
const SEALED_V3: &str = "enc:v3:";

/// What a sealed value belongs to: the instance and the field it is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedFor<'a> {
    pub instance_id: u64,
    pub field: &'a str,
}

impl<'a> SealedFor<'a> {
    /// A secret configuration entry (`oauth.api.secret`, `event.notification.signature.key`, …).
    pub const fn entry(instance_id: u64, key: &'a str) -> Self {
        Self {
            instance_id,
            field: key,
        }
    }

    pub const fn access_token(instance_id: u64) -> Self {
        Self {
            instance_id,
            field: "provider.access_token",
        }
    }

    pub const fn refresh_token(instance_id: u64) -> Self {
        Self {
            instance_id,
            field: "provider.refresh_token",
        }
    }

    /// A copy of a webhook signing secret in the element's secrets index.
    pub const fn webhook_secret(instance_id: u64) -> Self {
        Self {
            instance_id,
            field: "webhook.secret",
        }
    }

    fn aad(&self) -> String {
        format!("herald:{}:{}", self.instance_id, self.field)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this HERALD_SECRET_KEY (or is not this field's)")]
    WrongKey,
}

/// One key: its id and cipher.
#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn from_config(raw: &SecretString) -> Result<Self, String> {
        let raw = raw.expose_secret().trim();
        let bytes = if raw.len() == 64 && raw.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(raw).map_err(|_| "not hex".to_string())?
        } else {
            STANDARD
                .decode(raw)
                .map_err(|_| "must be 32 bytes as base64 or 64 hex digits".to_string())?
        };
        if bytes.len() != 32 {
            return Err(format!("must be 32 bytes, got {}", bytes.len()));
        }
        let cipher =
            XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| "bad key".to_string())?;
        Ok(Self {
            id: hex::encode(&Sha256::digest(&bytes)[..4]),
            cipher,
        })
    }

    fn open(&self, raw: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if raw.len() < 24 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = raw.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::WrongKey)
    }
}

/// Seals with the process's `HERALD_SECRET_KEY`; opens with it or `HERALD_SECRET_KEY_PREVIOUS`.
#[derive(Clone)]
pub struct SecretBox {
    current: Key,
    previous: Option<Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Accepts 32 bytes as standard base64 or as 64 hex digits.
    pub fn from_config(raw: &SecretString) -> Result<Self, String> {
        Ok(Self {
            current: Key::from_config(raw)?,
            previous: None,
        })
    }

    /// Also opens values sealed with `raw` (the key being rotated away from).
    pub fn with_previous(mut self, raw: &SecretString) -> Result<Self, String> {
        self.previous = Some(Key::from_config(raw)?);
        Ok(self)
    }

    /// Seals `plaintext` for `owner` under the current key.
    pub fn seal(&self, plaintext: &str, owner: SealedFor<'_>) -> String {
        let mut nonce = [0u8; 24];
        fill_random(&mut nonce);
        let aad = owner.aad();
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: aad.as_bytes(),
        };
        let ct = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{SEALED_V3}{}:{}", self.current.id, STANDARD.encode(out))
    }

    /// A configuration entry of `rec` in plain: opened when it is one of the instance's secrets,
    /// as it is otherwise; `Ok(None)` when unset. `Err` only for a secret that does not open.
    pub fn entry(
        &self,
        rec: &crate::model::InstanceRecord,
        key: &str,
    ) -> Result<Option<SecretString>, CryptoError> {
        let Some(raw) = rec.config_str(key) else {
            return Ok(None);
        };
        if rec.secret_keys.iter().any(|k| k == key) {
            self.open(raw, SealedFor::entry(rec.id, key)).map(Some)
        } else {
            Ok(Some(SecretString::from(raw.to_string())))
        }
    }

    /// True when `sealed` is in the current form under the current key (nothing to re-seal).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed
            .strip_prefix(SEALED_V3)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.current.id)
    }

    /// Opens a value sealed for `owner` (or an older value, sealed before owners were bound).
    pub fn open(&self, sealed: &str, owner: SealedFor<'_>) -> Result<SecretString, CryptoError> {
        let keys = || std::iter::once(&self.current).chain(self.previous.as_ref());
        let by_id = |rest: &str| -> Result<(&Key, Vec<u8>), CryptoError> {
            let (id, b64) = rest.split_once(':').ok_or(CryptoError::Malformed)?;
            let raw = STANDARD.decode(b64).map_err(|_| CryptoError::Malformed)?;
            let key = keys().find(|k| k.id == id).ok_or(CryptoError::WrongKey)?;
            Ok((key, raw))
        };
        let pt = if let Some(rest) = sealed.strip_prefix(SEALED_V3) {
            let (key, raw) = by_id(rest)?;
            key.open(&raw, owner.aad().as_bytes())?
        } else if let Some(rest) = sealed.strip_prefix(SEALED_V2) {
            let (key, raw) = by_id(rest)?;
            key.open(&raw, b"")?
        } else {
            let b64 = sealed
                .strip_prefix(SEALED_V1)
                .ok_or(CryptoError::Malformed)?;
            let raw = STANDARD.decode(b64).map_err(|_| CryptoError::Malformed)?;
            keys()
                .find_map(|k| k.open(&raw, b"").ok())
                .ok_or(CryptoError::WrongKey)?
        };
        String::from_utf8(pt)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Malformed)
    }
}

pub fn fill_random(buf: &mut [u8]) {
    // The OS source failing is unrecoverable for a service that mints secrets.
    if getrandom::getrandom(buf).is_err() {
        panic!("operating system random source unavailable");
    }
}

/// A fresh 256-bit secret, URL-safe base64 without padding.
pub fn random_secret() -> String {
    let mut buf = [0u8; 32];
    fill_random(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The lookup hash of a tenant secret or instance token.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: SealedFor<'static> = SealedFor::entry(7, "oauth.api.secret");

    fn test_box(key: &str) -> SecretBox {
        SecretBox::from_config(&SecretString::from(key.to_string())).expect("key")
    }

    /// A v2 value (no owner bound), as sealed before owners existed.
    fn seal_v2(b: &SecretBox, plaintext: &str) -> String {
        let nonce = [9u8; 24];
        let ct = b
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encrypt");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{SEALED_V2}{}:{}", b.current.id, STANDARD.encode(out))
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_for_their_owner() {
        let a = test_box(crate::config::DEV_SECRET_KEY);
        let b = test_box(&"11".repeat(32));
        let sealed = a.seal("provider-token", OWNER);
        assert!(sealed.starts_with("enc:v3:"));
        assert!(!sealed.contains("provider-token"));
        assert_eq!(
            a.open(&sealed, OWNER).expect("opens").expose_secret(),
            "provider-token"
        );
        assert!(matches!(b.open(&sealed, OWNER), Err(CryptoError::WrongKey)));
        // Copied to another instance or another field, it does not open.
        for other in [
            SealedFor::entry(8, "oauth.api.secret"),
            SealedFor::entry(7, "event.notification.signature.key"),
            SealedFor::access_token(7),
        ] {
            assert!(matches!(a.open(&sealed, other), Err(CryptoError::WrongKey)));
        }
        assert!(matches!(
            a.open("plain", OWNER),
            Err(CryptoError::Malformed)
        ));
        assert_ne!(a.seal("x", OWNER), a.seal("x", OWNER), "nonces differ");
    }

    #[test]
    fn a_rotated_key_still_opens_what_it_sealed_and_new_values_use_the_new_key() {
        let old = test_box(crate::config::DEV_SECRET_KEY);
        let sealed_before = old.seal("token-before", OWNER);
        let new_key = SecretString::from("22".repeat(32));
        let rotated = SecretBox::from_config(&new_key)
            .expect("new")
            .with_previous(&SecretString::from(
                crate::config::DEV_SECRET_KEY.to_string(),
            ))
            .expect("previous");
        assert_eq!(
            rotated
                .open(&sealed_before, OWNER)
                .expect("old value")
                .expose_secret(),
            "token-before"
        );
        let sealed_after = rotated.seal("token-after", OWNER);
        assert!(matches!(
            old.open(&sealed_after, OWNER),
            Err(CryptoError::WrongKey)
        ));
        assert_eq!(
            test_box(&"22".repeat(32))
                .open(&sealed_after, OWNER)
                .expect("new key alone")
                .expose_secret(),
            "token-after"
        );
        // Values sealed before owners (v2) and before key ids (v1) open with either key.
        let v2 = seal_v2(&old, "token-v2");
        assert_eq!(
            rotated.open(&v2, OWNER).expect("v2").expose_secret(),
            "token-v2"
        );
        let v1 = format!("enc:v1:{}", v2.rsplit(':').next().expect("payload"));
        assert_eq!(
            rotated.open(&v1, OWNER).expect("v1").expose_secret(),
            "token-v2"
        );
    }

    #[test]
    fn an_entry_is_opened_when_secret_and_read_as_is_otherwise() {
        let b = test_box(crate::config::DEV_SECRET_KEY);
        let mut rec = crate::model::InstanceRecord {
            id: 7,
            name: "i".into(),
            user_id: 1,
            org_id: 1,
            element_key: "dropbox".into(),
            tags: vec![],
            created_date: String::new(),
            configuration: Default::default(),
            secret_keys: vec![],
            provider: Default::default(),
            valid: true,
            invalid_reason: None,
            disabled: false,
            events_enabled: true,
            token_hash: String::new(),
        };
        rec.configuration.insert(
            "oauth.api.secret".into(),
            serde_json::Value::String(b.seal("s3cret", OWNER)),
        );
        rec.configuration
            .insert("oauth.api.key".into(), serde_json::Value::from("key"));
        rec.secret_keys.push("oauth.api.secret".into());
        let plain = |r: &crate::model::InstanceRecord, k: &str| {
            b.entry(r, k)
                .map(|v| v.map(|s| s.expose_secret().to_string()))
        };
        assert_eq!(
            plain(&rec, "oauth.api.secret").ok(),
            Some(Some("s3cret".into()))
        );
        assert_eq!(plain(&rec, "oauth.api.key").ok(), Some(Some("key".into())));
        assert_eq!(plain(&rec, "docushare.domain").ok(), Some(None));
        // The same record under another id: its sealed entry is not this instance's.
        rec.id = 8;
        assert!(plain(&rec, "oauth.api.secret").is_err());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(SecretBox::from_config(&SecretString::from("c2hvcnQ=".to_string())).is_err());
    }
}
