//! Random identifiers and secrets.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new random id with a readable prefix, e.g. `org_3f9c…` (128 random bits).
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// A new 256-bit secret as unpadded base64url (43 characters).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Lowercase hex SHA-256: how secrets (session ids, tokens) are stored and compared.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Compares two secrets in time independent of where they differ.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // Hash first so the comparison is over equal lengths and leaks nothing about the length.
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_unique() {
        let a = new_id("org");
        let b = new_id("org");
        assert!(a.starts_with("org_"));
        assert_eq!(a.len(), 4 + 32);
        assert_ne!(a, b);
    }

    #[test]
    fn secrets_have_256_bits() {
        let s = new_secret();
        assert_eq!(s.len(), 43);
        assert_ne!(s, new_secret());
    }

    #[test]
    fn sha256_of_a_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal(b"token", b"token"));
        assert!(!secrets_equal(b"token", b"tokem"));
        assert!(!secrets_equal(b"token", b"token2"));
    }
}
