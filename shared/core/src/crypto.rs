//! Secrets at rest and secret lookups.
//!
//! Provider tokens and secret configuration entries are sealed with XChaCha20-Poly1305 under
//! `HERALD_SECRET_KEY` before they reach Redis; a sealed value reads `enc:v1:<base64(nonce‖ct)>`.
//! Tenant secrets and instance tokens are never stored: only their SHA-256, which is enough
//! because they are 256-bit random values (no dictionary to guess from).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const SEALED_PREFIX: &str = "enc:v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this HERALD_SECRET_KEY")]
    WrongKey,
}

/// Seals and opens secrets with the process's `HERALD_SECRET_KEY`.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Accepts 32 bytes as standard base64 or as 64 hex digits.
    pub fn from_config(raw: &SecretString) -> Result<Self, String> {
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
        Ok(Self { cipher })
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 24];
        fill_random(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<SecretString, CryptoError> {
        let b64 = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(CryptoError::Malformed)?;
        let raw = STANDARD.decode(b64).map_err(|_| CryptoError::Malformed)?;
        if raw.len() < 24 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = raw.split_at(24);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::WrongKey)?;
        String::from_utf8(pt)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Malformed)
    }
}

/// Fills `buf` from the OS random source.
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

    fn test_box(key: &str) -> SecretBox {
        SecretBox::from_config(&SecretString::from(key.to_string())).expect("key")
    }

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let a = test_box(crate::config::DEV_SECRET_KEY);
        let b = test_box(&"11".repeat(32));
        let sealed = a.seal("provider-token");
        assert!(!sealed.contains("provider-token"));
        assert_eq!(
            a.open(&sealed).expect("opens").expose_secret(),
            "provider-token"
        );
        assert!(matches!(b.open(&sealed), Err(CryptoError::WrongKey)));
        assert!(matches!(a.open("plain"), Err(CryptoError::Malformed)));
        assert_ne!(a.seal("x"), a.seal("x"), "nonces differ");
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(SecretBox::from_config(&SecretString::from("c2hvcnQ=".to_string())).is_err());
    }
}
