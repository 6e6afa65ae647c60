//! Time-based one-time passwords (RFC 6238), as authenticator apps and Better Auth's
//! `twoFactor` plugin make them: HMAC-SHA1, 6 digits, a new code every 30 seconds, and
//! the step before and after accepted for clocks that drift. The codes come from
//! `totp-rs`; what is added here is that a code is accepted once: a step is accepted
//! only if it is later than the last one accepted.

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Seconds per code.
pub const PERIOD_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;

/// An account's TOTP secret: the raw bytes the authenticator app holds (base32 in the
/// `otpauth://` URI).
pub struct TotpSecret(TOTP);

impl TotpSecret {
    /// A new random secret of 160 bits, the length RFC 4226 recommends.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 20];
        SystemRandom::new()
            .fill(&mut bytes)
            .unwrap_or_else(|e| unreachable!("the system's random source failed: {e}"));
        Self::from_bytes(bytes.to_vec()).unwrap_or_else(|| unreachable!("20 bytes is enough"))
    }

    /// A secret of at least 128 bits (`None` when shorter).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        TOTP::new(Algorithm::SHA1, DIGITS, 1, PERIOD_SECS, bytes)
            .ok()
            .map(Self)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0.secret
    }

    /// The secret in base32 without padding, as an authenticator app asks for it typed.
    pub fn base32(&self) -> String {
        self.0.get_secret_base32()
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code, in Better Auth's
    /// form: `otpauth://totp/{issuer}:{account}?secret=…&issuer=…&digits=6&period=30`.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let label = |text: &str| {
            url::form_urlencoded::byte_serialize(text.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("secret", &self.base32())
            .append_pair("issuer", issuer)
            .append_pair("digits", &DIGITS.to_string())
            .append_pair("period", &PERIOD_SECS.to_string())
            .finish();
        format!(
            "otpauth://totp/{}:{}?{query}",
            label(issuer),
            label(account)
        )
    }

    /// The code of time step `step`.
    pub fn code_at_step(&self, step: i64) -> String {
        let step = u64::try_from(step).unwrap_or(0);
        self.0.generate(step * PERIOD_SECS)
    }

    /// The step whose code `code` is, among the step of `unix_secs` and the one before and
    /// after, if it is later than `last_step` (the last one accepted): a code is accepted
    /// once, and a code older than one accepted never is. Compared in constant time.
    pub fn accepted_step(&self, code: &str, unix_secs: i64, last_step: i64) -> Option<i64> {
        let now = step_of(unix_secs);
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut accepted = None;
        for step in (now - 1)..=(now + 1) {
            let expected = self.code_at_step(step);
            let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if equal && step > last_step && accepted.is_none() {
                accepted = Some(step);
            }
        }
        accepted
    }
}

/// The 30-second step `unix_secs` falls in.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(PERIOD_SECS as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 secret.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn codes_are_rfc_6238s() {
        // Appendix B, SHA-1, truncated to 6 digits.
        let secret = rfc_secret();
        assert_eq!(secret.code_at_step(step_of(59)), "287082");
        assert_eq!(secret.code_at_step(step_of(1_111_111_109)), "081804");
        assert_eq!(secret.code_at_step(step_of(2_000_000_000)), "279037");
    }

    #[test]
    fn a_code_is_accepted_once_and_never_one_older_than_the_last_accepted() {
        let secret = rfc_secret();
        let now = 1_111_111_109;
        let step = step_of(now);
        let code = secret.code_at_step(step);
        assert_eq!(secret.accepted_step(&code, now, 0), Some(step));
        assert_eq!(secret.accepted_step(&code, now, step), None, "replayed");
        let before = secret.code_at_step(step - 1);
        assert_eq!(secret.accepted_step(&before, now, step), None, "older");
        let next = secret.code_at_step(step + 1);
        assert_eq!(
            secret.accepted_step(&next, now, step),
            Some(step + 1),
            "drift"
        );
    }

    #[test]
    fn codes_outside_the_window_or_of_the_wrong_shape_are_refused() {
        let secret = rfc_secret();
        let now = 1_111_111_109;
        let step = step_of(now);
        assert_eq!(
            secret.accepted_step(&secret.code_at_step(step - 2), now, 0),
            None
        );
        assert_eq!(
            secret.accepted_step(&secret.code_at_step(step + 2), now, 0),
            None
        );
        for bad in ["", "12345", "1234567", "08180a", "０８１８０４"] {
            assert_eq!(secret.accepted_step(bad, now, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_is_better_auths() {
        let secret = rfc_secret();
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret.uri("Task board", "ada@example.com"),
            "otpauth://totp/Task%20board:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Task+board&digits=6&period=30"
        );
    }

    #[test]
    fn a_secret_shorter_than_128_bits_is_refused_and_new_ones_differ() {
        assert!(TotpSecret::from_bytes(vec![1; 15]).is_none());
        assert_ne!(
            TotpSecret::generate().bytes(),
            TotpSecret::generate().bytes()
        );
    }
}
