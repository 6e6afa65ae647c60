//! Where tokens are issued: the claims of a new token, signed with the current key.

use super::{
    claims::{Audience, Claims, Profile, Subject},
    keys::TokenKeys,
};
use jsonwebtoken::Header;

impl TokenKeys {
    pub fn issue(&self, subject: &Subject<'_>) -> String {
        self.issue_at(subject, self.clock.unix_secs())
    }

    /// `issue`, for an API token: see `issue_lasting_at`.
    pub fn issue_lasting(&self, subject: &Subject<'_>, lifetime_secs: i64) -> String {
        self.issue_lasting_at(subject, lifetime_secs, self.clock.unix_secs())
    }

    pub fn issue_at(&self, subject: &Subject<'_>, now: i64) -> String {
        self.issue_lasting_at(subject, self.settings.lifetime_secs, now)
    }

    /// A token that lives `lifetime_secs` rather than `JWT_EXPIRES_IN` (an API token's
    /// chosen lifetime), and never past `subject.expires_by` either.
    pub fn issue_lasting_at(&self, subject: &Subject<'_>, lifetime_secs: i64, now: i64) -> String {
        let audience = match self.settings.audience.as_slice() {
            [one] => Audience::One(one.clone()),
            many => Audience::Many(many.to_vec()),
        };
        let claims = Claims {
            sub: subject.user_id.to_owned(),
            email: subject.email.to_owned(),
            name: subject.name.to_owned(),
            iat: now,
            exp: now.saturating_add(lifetime_secs).min(subject.expires_by),
            iss: self.settings.issuer.clone(),
            aud: audience,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: Some(subject.session_id.to_owned()),
            role: Some(subject.role.to_owned()),
            scope: Some(subject.scope.as_str().to_owned()),
            amr: Some(subject.amr.split_whitespace().map(str::to_owned).collect()),
            profile: Some(Profile {
                id: subject.user_id.to_owned(),
                email_verified: subject.email_verified,
                banned: subject.banned,
                image: subject.image.map(str::to_owned),
                created_at: subject.created_at.to_owned(),
                updated_at: subject.updated_at.to_owned(),
            }),
            issuer_email_verified: None,
        };
        // Plain strings and integers, with a secret or a key pair that signed a probe
        // when it was loaded: signing cannot fail.
        let signed = match self.key_ring() {
            Some(ring) => {
                let mut header = Header::new(ring.current.algorithm);
                header.kid = Some(ring.current.kid.clone());
                jsonwebtoken::encode(&header, &claims, &ring.current.encoding)
            }
            None => jsonwebtoken::encode(
                &Header::new(self.settings.algorithm),
                &claims,
                &self.secret_encoding,
            ),
        };
        signed.unwrap_or_else(|e| unreachable!("signing failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::{
            signing_keys,
            token::{test_support::*, Scope},
        },
        clock::Clock,
    };
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use jsonwebtoken::Algorithm;
    use serde_json::{Map, Value};

    #[test]
    fn an_issued_token_verifies_with_every_contract_claim() {
        let keys = keys();
        let subject = Subject {
            user_id: "u",
            email: "e@x.io",
            name: "N",
            session_id: "s",
            role: "admin",
            scope: &Scope::full(),
            amr: "pwd",
            email_verified: false,
            banned: false,
            image: None,
            created_at: "2026-01-01T00:00:00.000Z",
            updated_at: "2026-01-02T00:00:00.000Z",
            expires_by: i64::MAX,
        };
        let token = keys.issue_at(&subject, NOW);
        let claims = keys.verify_at(&token, NOW + 1).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_deref()),
            ("u", Some("s"))
        );
        assert_eq!(claims.role.as_deref(), Some("admin"));
        assert_eq!(claims.scope.as_deref(), Some("tasks:read tasks:write"));
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(
            claims.aud,
            Audience::Many(vec!["http://localhost:3000".into(), "tasks-api".into()])
        );
        let payload = token.split('.').nth(1).unwrap();
        let raw: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        for claim in [
            "sub", "email", "name", "iat", "exp", "iss", "aud", "jti", "sid", "role", "scope",
        ] {
            assert!(raw.contains_key(claim), "issued token lacks {claim}");
        }
        assert_eq!(
            raw["id"], "u",
            "Better Auth's payload names the user `id` too"
        );
        assert_eq!(raw["emailVerified"], false);
        assert_eq!(raw["banned"], false);
        assert_eq!(raw["createdAt"], "2026-01-01T00:00:00.000Z");
        assert_eq!(raw["updatedAt"], "2026-01-02T00:00:00.000Z");
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let keys = keys();
        let ending_soon = Subject {
            expires_by: NOW + 60,
            ..subject()
        };
        let token = keys.issue_at(&ending_soon, NOW);
        assert_eq!(keys.verify_at(&token, NOW).unwrap().exp, NOW + 60);
        let token = keys.issue_at(&subject(), NOW);
        assert_eq!(keys.verify_at(&token, NOW).unwrap().exp, NOW + 900);
    }

    fn header_of(token: &str) -> Value {
        let segment = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn key_pair_tokens_carry_the_current_kid_and_verify_by_it() {
        for algorithm in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
            let keys = TokenKeys::new(settings(algorithm), Clock::default())
                .with_key_ring(signing_keys::fresh_ring(algorithm, &["new", "old"]));
            let token = keys.issue_at(&subject(), NOW);
            let header = header_of(&token);
            assert_eq!(header["alg"], signing_keys::algorithm_name(algorithm));
            assert_eq!(header["kid"], "new");
            let claims = keys.verify_at(&token, NOW + 1).unwrap();
            assert_eq!(claims.sid.as_deref(), Some("s"));
        }
    }

    #[test]
    fn an_api_token_lives_its_own_lifetime_but_never_past_its_session() {
        let keys = keys();
        let month = 30 * 86_400;
        let token = keys.issue_lasting_at(&subject(), month, NOW);
        assert_eq!(
            keys.verify_at(&token, NOW + month - 60).unwrap().exp,
            NOW + month
        );
        let session_ends = Subject {
            expires_by: NOW + 3600,
            ..subject()
        };
        let token = keys.issue_lasting_at(&session_ends, month, NOW);
        assert_eq!(keys.verify_at(&token, NOW).unwrap().exp, NOW + 3600);
    }
}
