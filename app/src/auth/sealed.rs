//! Secrets the server keeps in the database and must read back: the private halves of
//! signing keys and the accounts' TOTP secrets. Each is sealed with ChaCha20-Poly1305
//! under a key derived from the server's secret for its purpose, and bound to the row
//! it belongs to, so a copy of the table alone opens nothing and a sealed value moved to
//! another row does not open there. A new server secret leaves them unreadable.

use crate::auth::token_settings::Secret;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::{
    aead,
    rand::{SecureRandom, SystemRandom},
};

/// The key that seals what is kept for `purpose`: derived from the secret, used for
/// nothing else.
fn storage_key(secret: &Secret, purpose: &str) -> aead::LessSafeKey {
    let key = secret.mac(purpose, b"");
    aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &key)
            .unwrap_or_else(|e| unreachable!("a 32-byte ChaCha20 key: {e}")),
    )
}

/// `base64url(nonce ‖ ciphertext ‖ tag)` of `plaintext`, kept for `purpose` in the row
/// `row` names.
pub fn seal(secret: &Secret, purpose: &str, row: &str, plaintext: &[u8]) -> String {
    let mut nonce = [0u8; aead::NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .unwrap_or_else(|e| unreachable!("the system's random source failed: {e}"));
    let mut sealed = plaintext.to_vec();
    storage_key(secret, purpose)
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(row.as_bytes()),
            &mut sealed,
        )
        .unwrap_or_else(|e| unreachable!("sealing a short secret cannot fail: {e}"));
    URL_SAFE_NO_PAD.encode([nonce.as_slice(), &sealed].concat())
}

/// What `seal` sealed, or `None` when `stored` was sealed for another purpose, row or
/// secret, or altered.
pub fn open(secret: &Secret, purpose: &str, row: &str, stored: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(stored).ok()?;
    let (nonce, sealed) = bytes.split_at_checked(aead::NONCE_LEN)?;
    let mut sealed = sealed.to_vec();
    let plaintext = storage_key(secret, purpose)
        .open_in_place(
            aead::Nonce::try_assume_unique_for_key(nonce).ok()?,
            aead::Aad::from(row.as_bytes()),
            &mut sealed,
        )
        .ok()?;
    Some(plaintext.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("a-test-secret-that-is-long-enough-for-keys").unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_purpose_row_and_secret() {
        let stored = seal(&secret(), "keys", "kid-1", b"private key bytes");
        assert!(!stored.contains("private"));
        assert_eq!(
            open(&secret(), "keys", "kid-1", &stored).as_deref(),
            Some(&b"private key bytes"[..])
        );
        assert_eq!(
            open(&secret(), "keys", "kid-2", &stored),
            None,
            "moved to another row"
        );
        assert_eq!(
            open(&secret(), "totp", "kid-1", &stored),
            None,
            "read for another purpose"
        );
        let other = Secret::new("another-secret-that-is-long-enough-too").unwrap();
        assert_eq!(open(&other, "keys", "kid-1", &stored), None);
        assert_ne!(
            stored,
            seal(&secret(), "keys", "kid-1", b"private key bytes"),
            "a fresh nonce"
        );
    }
}
