//! The claim rules: each claim's verdict on a token, decided on its own.

use super::{
    claims::{Audience, Claims, Profile},
    error::TokenError,
    keys::TokenKeys,
    raw::{audience, numeric_date, text, texts, RawClaim, RawClaims},
};

/// The longest a trusted issuer's token may live (`exp` − `iat`): it names no session
/// here, so nothing but its expiry ends it.
const MAX_FOREIGN_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

impl TokenKeys {
    /// Every claim rule, each decided on its own (`ClaimChecks::into_claims` stops at the
    /// first failure). `sid` is required of tokens issued here, and ignored in another
    /// issuer's: a session it names is not one of ours.
    pub(super) fn check_claims(
        &self,
        mut raw: RawClaims<'_>,
        now: i64,
        issued_here: bool,
    ) -> ClaimChecks {
        let leeway = self.settings.leeway_secs;
        let judged = |passed: bool, failure: TokenError| if passed { Ok(()) } else { Err(failure) };
        // Only ours are checked against changes to their account; without all of it, any
        // change refuses the token.
        let (profile, issuer_email_verified) = if issued_here {
            (raw.profile(), None)
        } else {
            let stated = match raw.email_verified {
                RawClaim::Bool(flag) => Some(flag),
                _ => None,
            };
            (None, stated)
        };
        let exp = Checked::judge(numeric_date(raw.exp, "exp"), Some("exp"), |exp| {
            judged(exp.saturating_add(leeway) > now, TokenError::Expired)
        });
        let nbf = Checked::judge(numeric_date(raw.nbf, "nbf"), None, |nbf| {
            judged(*nbf <= now + leeway, TokenError::NotYetValid)
        });
        let iat = Checked::judge(numeric_date(raw.iat, "iat"), Some("iat"), |iat| {
            judged(*iat <= now + leeway, TokenError::IssuedInFuture)
        });
        let lifetime = match (exp.value, iat.value) {
            (Some(exp), Some(iat)) if !issued_here => judged(
                exp.saturating_sub(iat) <= MAX_FOREIGN_TOKEN_LIFETIME_SECS,
                TokenError::TooLongLived,
            ),
            _ => Ok(()),
        };
        let iss = Checked::judge(text(raw.iss, "iss"), Some("iss"), |iss| {
            judged(*iss == self.settings.issuer, TokenError::Issuer)
        });
        let aud = Checked::judge(audience(raw.aud), Some("aud"), |aud| {
            judged(
                aud.contains_any(&self.settings.audience),
                TokenError::Audience,
            )
        });
        let sub = Checked::judge(text(raw.sub, "sub"), Some("sub"), |_| Ok(()));
        let sid = if issued_here {
            Checked::judge(text(raw.sid, "sid"), Some("sid"), |_| Ok(()))
        } else {
            Checked::judge(Ok(None), None, |_| Ok(()))
        };
        let rest = (|| {
            Ok(Unchecked {
                email: text(raw.email, "email")?.unwrap_or_default(),
                name: text(raw.name, "name")?.unwrap_or_default(),
                jti: text(raw.jti, "jti")?.unwrap_or_default(),
                role: text(raw.role, "role")?,
                scope: text(raw.scope, "scope")?,
                amr: texts(raw.amr, "amr")?,
                profile,
                issuer_email_verified,
            })
        })();
        ClaimChecks {
            exp,
            nbf,
            iat,
            lifetime,
            iss,
            aud,
            sub,
            sid,
            rest,
        }
    }
}

/// A claim as the token states it (`None` when absent or of the wrong type) and its
/// rule's verdict.
#[derive(Debug, Clone)]
pub struct Checked<T> {
    pub value: Option<T>,
    pub verdict: Result<(), TokenError>,
}

impl<T> Checked<T> {
    /// The claim `read` found (`Ok(None)`: absent), judged by `rule`; when absent, a
    /// failure if it is `required` (by that name).
    fn judge(
        read: Result<Option<T>, TokenError>,
        required: Option<&'static str>,
        rule: impl FnOnce(&T) -> Result<(), TokenError>,
    ) -> Self {
        match read {
            Err(e) => Self {
                value: None,
                verdict: Err(e),
            },
            Ok(None) => Self {
                value: None,
                verdict: required.map_or(Ok(()), |name| Err(TokenError::MissingClaim(name))),
            },
            Ok(Some(value)) => Self {
                verdict: rule(&value),
                value: Some(value),
            },
        }
    }
}

/// Every claim rule's verdict on one token, each decided on its own: `verify_at` takes the
/// first failure (in this order, the contract's), `server token decode` shows them all.
#[derive(Debug, Clone)]
pub struct ClaimChecks {
    /// In the future, give or take the leeway.
    pub exp: Checked<i64>,
    /// If present, in the past, give or take the leeway.
    pub nbf: Checked<i64>,
    /// Present and not in the future.
    pub iat: Checked<i64>,
    /// Another issuer's token lives a day at most.
    pub lifetime: Result<(), TokenError>,
    /// The configured issuer.
    pub iss: Checked<String>,
    /// Names one of the configured audiences.
    pub aud: Checked<Audience>,
    /// A string.
    pub sub: Checked<String>,
    /// A string, in tokens issued here; never read in another issuer's.
    pub sid: Checked<String>,
    /// The claims only checked for their type.
    rest: Result<Unchecked, TokenError>,
}

/// The claims of a token whose only rule is their type.
#[derive(Debug, Clone)]
struct Unchecked {
    email: String,
    name: String,
    jti: String,
    role: Option<String>,
    scope: Option<String>,
    amr: Option<Vec<String>>,
    profile: Option<Profile>,
    issuer_email_verified: Option<bool>,
}

impl ClaimChecks {
    /// The first rule that fails, in the contract's order.
    pub fn verdict(&self) -> Result<(), TokenError> {
        let rules = [
            &self.exp.verdict,
            &self.nbf.verdict,
            &self.iat.verdict,
            &self.lifetime,
            &self.iss.verdict,
            &self.aud.verdict,
            &self.sub.verdict,
            &self.sid.verdict,
        ];
        if let Some(failure) = rules.into_iter().find_map(|rule| rule.as_ref().err()) {
            return Err(failure.clone());
        }
        self.rest.as_ref().map(drop).map_err(Clone::clone)
    }

    /// The claims as the token states them, whatever the rules say; `None` when one that
    /// `Claims` cannot do without is absent or of the wrong type. Private: whether the
    /// signature is genuine is not this type's to say (`Explanation::signed_claims`).
    pub(super) fn stated(self) -> Option<Claims> {
        let rest = self.rest.ok()?;
        Some(Claims {
            sub: self.sub.value?,
            email: rest.email,
            name: rest.name,
            iat: self.iat.value?,
            exp: self.exp.value?,
            iss: self.iss.value?,
            aud: self.aud.value?,
            jti: rest.jti,
            sid: self.sid.value,
            role: rest.role,
            scope: rest.scope,
            amr: rest.amr,
            profile: rest.profile,
            issuer_email_verified: rest.issuer_email_verified,
        })
    }

    /// The claims, when every rule passes.
    pub fn into_claims(self) -> Result<Claims, TokenError> {
        self.verdict()?;
        self.stated().ok_or(TokenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::test_support::{claims, signed, verify, with, NOW};
    use serde_json::{json, Value};

    #[test]
    fn audience_may_be_a_list_containing_ours() {
        let token = signed(with(claims(), "aud", json!(["other", "tasks-api"])));
        assert!(verify(&token).is_ok());
    }

    #[test]
    fn an_expired_token_is_rejected_beyond_the_leeway_only() {
        assert_eq!(
            verify(&signed(with(claims(), "exp", json!(NOW - 31)))),
            Err(TokenError::Expired)
        );
        assert!(verify(&signed(with(claims(), "exp", json!(NOW - 5)))).is_ok());
    }

    #[test]
    fn a_future_nbf_is_rejected() {
        let token = signed(with(claims(), "nbf", json!(NOW + 120)));
        assert_eq!(verify(&token), Err(TokenError::NotYetValid));
    }

    #[test]
    fn a_future_iat_is_rejected() {
        let token = signed(with(claims(), "iat", json!(NOW + 120)));
        assert_eq!(verify(&token), Err(TokenError::IssuedInFuture));
    }

    #[test]
    fn a_wrong_issuer_or_audience_is_rejected() {
        assert_eq!(
            verify(&signed(with(
                claims(),
                "iss",
                json!("https://evil.example")
            ))),
            Err(TokenError::Issuer)
        );
        assert_eq!(
            verify(&signed(with(claims(), "aud", json!("someone-else")))),
            Err(TokenError::Audience)
        );
        assert_eq!(
            verify(&signed(with(claims(), "aud", json!(["a", "b"])))),
            Err(TokenError::Audience)
        );
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().unwrap().remove(key);
        claims
    }

    #[test]
    fn each_required_claim_must_be_present() {
        for claim in ["exp", "iat", "iss", "aud", "sub", "sid"] {
            assert_eq!(
                verify(&signed(without(claims(), claim))),
                Err(TokenError::MissingClaim(claim)),
                "{claim}"
            );
        }
    }

    #[test]
    fn a_non_string_sub_is_rejected() {
        assert_eq!(
            verify(&signed(with(claims(), "sub", json!(42)))),
            Err(TokenError::ClaimType("sub"))
        );
        assert_eq!(
            verify(&signed(with(claims(), "exp", json!("soon")))),
            Err(TokenError::ClaimType("exp"))
        );
    }

    #[test]
    fn an_expiry_at_the_end_of_time_does_not_overflow() {
        assert!(verify(&signed(with(claims(), "exp", json!(1e300)))).is_ok());
        assert!(verify(&signed(with(claims(), "exp", json!(i64::MAX)))).is_ok());
    }
}
