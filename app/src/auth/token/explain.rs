//! What each check says of one token, for `server token decode` (`TokenKeys::explain_at`).

use super::{claim_checks::ClaimChecks, claims::Claims, error::TokenError};
use jsonwebtoken::Algorithm;

/// Which key checks a token: `verify_at`'s choice, named for `explain_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The shared secret.
    Secret,
    /// One of this server's key pairs, by `kid`.
    Own(String),
    /// The trusted issuer's key (`JWT_JWKS_URL`), by `kid`.
    Remote(String),
}

/// What each check says of one token (`TokenKeys::explain_at`).
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The algorithm and the key the header leads to, or why it leads to none.
    pub key: Result<(Algorithm, KeySource), TokenError>,
    /// Whether the signature is genuine under that key; `None` when there is no key.
    pub signature: Option<Result<(), TokenError>>,
    /// The claim rules' verdicts, or why the payload holds no claims to judge.
    pub claims: Result<ClaimChecks, TokenError>,
}

impl Explanation {
    /// What `verify_at` says: the verified claims, or the first failure.
    pub fn verdict(self) -> Result<Claims, TokenError> {
        self.key?;
        self.signature.unwrap_or(Err(TokenError::UnknownKey))?;
        self.claims?.into_claims()
    }

    /// The claims as the token states them when its signature is genuine, whatever the
    /// claim rules say (an expired token of ours still names its session); `None` when
    /// no key of ours or of the trusted issuer signed it, or it lacks a claim `Claims`
    /// cannot do without. The only way to `Claims` beside `verdict`: a forged token's
    /// claims are never taken for a signed one's (and never looked up).
    pub fn signed_claims(self) -> Option<Claims> {
        self.key.ok()?;
        self.signature?.ok()?;
        self.claims.ok()?.stated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::{forge, test_support::*, verify::MAX_TOKEN_LEN};
    use serde_json::json;

    fn explain(token: &str) -> Explanation {
        keys().explain_at(token, NOW).expect("a JWT")
    }

    #[test]
    fn explaining_a_token_names_every_failing_check_not_only_the_first() {
        let token = signed(with(
            with(
                with(claims(), "exp", json!(NOW - 3600)),
                "iss",
                json!("https://evil.example"),
            ),
            "aud",
            json!("someone-else"),
        ));
        let explained = explain(&token);
        assert_eq!(explained.key, Ok((Algorithm::HS256, KeySource::Secret)));
        assert_eq!(explained.signature, Some(Ok(())));
        let claims = explained.claims.clone().unwrap();
        assert_eq!(claims.exp.value, Some(NOW - 3600));
        assert_eq!(claims.exp.verdict, Err(TokenError::Expired));
        assert_eq!(claims.iat.verdict, Ok(()));
        assert_eq!(claims.iss.value.as_deref(), Some("https://evil.example"));
        assert_eq!(claims.iss.verdict, Err(TokenError::Issuer));
        assert_eq!(claims.aud.verdict, Err(TokenError::Audience));
        assert_eq!(claims.sub.verdict, Ok(()));
        assert_eq!(
            explained.clone().signed_claims().map(|c| c.sub).as_deref(),
            Some("user-1"),
            "a genuine token's claims, though they fail their rules"
        );
        assert_eq!(
            explained.verdict(),
            Err(TokenError::Expired),
            "verify's first failure"
        );
    }

    #[test]
    fn explaining_a_token_with_a_bad_signature_still_reads_its_claims() {
        let token = forge::hs256(
            &header(),
            &claims(),
            b"another-secret-that-is-also-long-enough",
        );
        let explained = explain(&token);
        assert_eq!(explained.signature, Some(Err(TokenError::Signature)));
        let claims = explained.claims.clone().unwrap();
        assert_eq!(claims.verdict(), Ok(()));
        assert_eq!(claims.stated().unwrap().sub, "user-1");
        assert_eq!(
            explained.clone().signed_claims(),
            None,
            "a forged token's claims are never taken for signed ones"
        );
        assert_eq!(explained.verdict(), Err(TokenError::Signature));
    }

    #[test]
    fn explaining_a_header_that_leads_to_no_key_says_why_and_checks_no_signature() {
        let token = forge::hs256(&json!({"alg": "HS512"}), &claims(), SECRET);
        let explained = explain(&token);
        assert_eq!(explained.key, Err(TokenError::Algorithm));
        assert_eq!(explained.signature, None);
        assert!(explained.claims.is_ok());
    }

    #[test]
    fn only_a_token_that_is_not_a_jwt_has_no_explanation() {
        for garbage in ["", "garbage", "a.b", &"x".repeat(MAX_TOKEN_LEN + 1)] {
            assert_eq!(
                keys().explain_at(garbage, NOW).map(drop),
                Err(TokenError::Malformed),
                "{garbage:.20}"
            );
        }
        let explained = explain("!!!.%%%.sig");
        assert_eq!(explained.key, Err(TokenError::Malformed));
        assert_eq!(explained.claims.map(drop), Err(TokenError::Malformed));
    }
}
