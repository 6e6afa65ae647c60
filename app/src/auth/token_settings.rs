//! What tokens are made and checked with: the shared secret and the settings. Below
//! `auth::token` and the key stores (`auth::signing_keys`), which both take them.

use jsonwebtoken::Algorithm;

/// The shared secret. It never prints.
#[derive(Clone)]
pub struct Secret(pub(super) Vec<u8>);

impl Secret {
    pub const MIN_LEN: usize = 32;

    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, String> {
        let bytes = bytes.into();
        if looks_like_a_placeholder(&bytes) {
            return Err("the JWT secret is a placeholder from an example, not a secret".to_owned());
        }
        if bytes.len() < Self::MIN_LEN {
            return Err(format!(
                "the JWT secret must be at least {} bytes long (it has {})",
                Self::MIN_LEN,
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }
}

/// Whether a secret is one of the stand-ins that setup guides show (such as
/// `your-32-character-secret-key`) or too repetitive to be random.
fn looks_like_a_placeholder(secret: &[u8]) -> bool {
    const STAND_INS: [&str; 12] = [
        "yoursecret",
        "your32",
        "secretkey",
        "supersecret",
        "mysecret",
        "changeme",
        "changethis",
        "replaceme",
        "replacethis",
        "placeholder",
        "example",
        "insertyour",
    ];
    let letters: String = String::from_utf8_lossy(secret)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let distinct = secret
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    STAND_INS.iter().any(|s| letters.contains(s)) || distinct < 8
}

impl Secret {
    /// HMAC-SHA256 under this secret of `message`, for `purpose`: one secret, a separate
    /// key for each thing the server signs.
    pub fn mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = self.hmac();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

impl Secret {
    fn hmac(&self) -> hmac::Hmac<sha2::Sha256> {
        use hmac::Mac;
        hmac::Hmac::new_from_slice(&self.0)
            .unwrap_or_else(|e| unreachable!("HMAC takes keys of any length: {e}"))
    }

    /// Better Auth's signature of a cookie value: HMAC-SHA256 keyed with the secret
    /// itself over the value, with no purpose of ours mixed in, so that Better Auth's own
    /// code (and `getSessionCookie()` beside it) and this server sign alike.
    pub fn sign_cookie_value(&self, value: &str) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = self.hmac();
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `signature` is `sign_cookie_value(value)`, compared in constant time.
    pub fn cookie_value_signed_by(&self, value: &str, signature: &[u8]) -> bool {
        use hmac::Mac;
        let mut mac = self.hmac();
        mac.update(value.as_bytes());
        mac.verify_slice(signature).is_ok()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Everything configurable about tokens.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub secret: Secret,
    pub algorithm: Algorithm,
    pub issuer: String,
    /// Tokens are issued for all of these and accepted when they name any one of them.
    pub audience: Vec<String>,
    pub lifetime_secs: i64,
    /// The longest an API token (`server token mint`, the account page's "Use the API")
    /// may live: `SESSION_MAX_AGE`. A retired key pair stays published that long too.
    pub api_token_max_secs: i64,
    pub leeway_secs: i64,
    /// With an asymmetric algorithm: make a new key pair when the current one is this
    /// old (`JWT_KEY_ROTATION`); `None`, never.
    pub key_rotation_secs: Option<i64>,
    /// How long a retired key stays published after the last token it signed expired.
    pub key_grace_secs: i64,
    /// A trusted issuer's JWKS (`JWT_JWKS_URL`), whose tokens the API accepts too.
    pub jwks_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::test_support::keys;

    #[test]
    fn a_short_secret_is_refused() {
        assert!(Secret::new(b"too-short".to_vec()).is_err());
    }

    #[test]
    fn placeholder_secrets_from_setup_guides_are_refused() {
        for placeholder in [
            "your-32-character-secret-key",
            "your-super-secret-jwt-key-of-at-least-32-chars",
            "CHANGE_ME_CHANGE_ME_CHANGE_ME_CHANGE_ME",
            "replace-this-with-a-long-random-value-please",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "0101010101010101010101010101010101010101",
        ] {
            let error = Secret::new(placeholder).unwrap_err();
            assert!(error.contains("placeholder"), "{placeholder}: {error}");
        }
        assert!(Secret::new("kQ3v9ZxT1mW8pL2rB7nY4cF6hJ0sD5gA").is_ok());
    }

    #[test]
    fn the_secret_never_prints() {
        assert!(!format!("{:?}", keys().settings()).contains("a-test-secret"));
    }
}
