//! Where tokens are verified: the header (which picks the key), the signature, every claim.

use super::{
    algorithms::{header_algorithm, hmac_algorithm},
    claims::Claims,
    error::TokenError,
    explain::{Explanation, KeySource},
    keys::TokenKeys,
    raw::{base64url, json, RawClaim, RawHeader, FORBIDDEN_HEADER_KEYS},
};
use crate::auth::{remote_keys::KeySet, signing_keys::KeyRing};
use base64_simd::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use std::sync::Arc;

/// Tokens longer than this are refused before any parsing: no legitimate token is near it.
pub(super) const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The key a token is checked with, and whether it was issued here.
enum CheckingKey<'a> {
    Secret(&'a ring::hmac::Key),
    Own(Arc<KeyRing>, String),
    Remote(Arc<KeySet>, String),
}

impl CheckingKey<'_> {
    /// A key pair's public key; `None` for the secret, and for a `kid` no longer there.
    fn decoding(&self) -> Option<&DecodingKey> {
        match self {
            Self::Secret(_) => None,
            Self::Own(ring, kid) => ring.published.get(kid).map(|k| &k.decoding),
            Self::Remote(set, kid) => set.get(kid).map(|k| &k.decoding),
        }
    }

    fn issued_here(&self) -> bool {
        !matches!(self, Self::Remote(..))
    }

    fn source(&self) -> KeySource {
        match self {
            Self::Secret(_) => KeySource::Secret,
            Self::Own(_, kid) => KeySource::Own(kid.clone()),
            Self::Remote(_, kid) => KeySource::Remote(kid.clone()),
        }
    }
}

impl TokenKeys {
    /// `verify`, with the keys looked up again first when the trusted issuer's are
    /// stale, and after a `kid` that no key has: a rotation elsewhere is picked up on
    /// the first token that needs it.
    pub async fn verify_current(
        &self,
        pool: &crate::db::Pool,
        token: &str,
    ) -> Result<Claims, TokenError> {
        if let Some(remote) = self.remote.as_ref().filter(|r| r.is_stale()) {
            remote.refresh().await;
        }
        match self.verify(token) {
            Err(TokenError::UnknownKey) if self.refresh_keys(pool).await => self.verify(token),
            verified => verified,
        }
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, self.clock.unix_secs())
    }

    /// Each part is decoded once: the header is checked here and picks the key (never
    /// the algorithm: each key has its own, pinned), `check_signature` checks only the
    /// signature, and every claim is checked in `check_claims` against an explicit clock.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let parts = Segments::of(token)?;
        let (algorithm, key) = self.check_header(parts.header, now)?;
        check_signature(&parts, algorithm, &key)?;
        let bytes = base64url(parts.payload)?;
        self.check_claims(json(&bytes)?, now, key.issued_here())
            .into_claims()
    }

    /// What every check of `verify_at` says of `token`, for `server token decode`: the
    /// same checks, only each one is asked even after another has failed (the claims are
    /// read even when the signature is not genuine, to say what else is wrong). `Err`
    /// for a token that is not a JWT at all.
    pub fn explain_at(&self, token: &str, now: i64) -> Result<Explanation, TokenError> {
        let parts = Segments::of(token)?;
        let header = self.check_header(parts.header, now);
        let signature = header
            .as_ref()
            .ok()
            .map(|(algorithm, key)| check_signature(&parts, *algorithm, key));
        let issued_here = header.as_ref().map_or(true, |(_, key)| key.issued_here());
        let claims = base64url(parts.payload)
            .and_then(|bytes| Ok(self.check_claims(json(&bytes)?, now, issued_here)));
        Ok(Explanation {
            key: header.map(|(algorithm, key)| (algorithm, key.source())),
            signature,
            claims,
        })
    }

    /// Refuses key-carrying and critical parameters, then finds the key: the secret for
    /// the configured HMAC algorithm; otherwise the key the `kid` names, which must be
    /// for exactly the algorithm the header states.
    fn check_header(
        &self,
        segment: &str,
        now: i64,
    ) -> Result<(Algorithm, CheckingKey<'_>), TokenError> {
        let bytes = base64url(segment)?;
        let header: RawHeader<'_> = json(&bytes)?;
        if let Some(key) = FORBIDDEN_HEADER_KEYS
            .into_iter()
            .zip(header.forbidden)
            .find_map(|(key, present)| present.then_some(key))
        {
            return Err(TokenError::HeaderParameter(key));
        }
        let RawClaim::Text(alg) = header.alg else {
            return Err(TokenError::Algorithm);
        };
        let algorithm = header_algorithm(&alg).ok_or(TokenError::Algorithm)?;
        if hmac_algorithm(algorithm).is_some() {
            // Only the configured one, and never beside key pairs of our own.
            return match &self.secret_mac {
                Some(mac) if algorithm == self.settings.algorithm => {
                    Ok((algorithm, CheckingKey::Secret(mac)))
                }
                _ => Err(TokenError::Algorithm),
            };
        }
        if self.own.is_none() && self.remote.is_none() {
            return Err(TokenError::Algorithm);
        }
        let kid = match header.kid {
            RawClaim::Text(kid) => kid.into_owned(),
            RawClaim::Missing => return Err(TokenError::MissingKeyId),
            _ => return Err(TokenError::Malformed),
        };
        if let Some(ring) = self.key_ring() {
            if let Some(key) = ring.published.get(&kid) {
                if key.published_until.is_some_and(|until| until <= now) {
                    return Err(TokenError::UnknownKey);
                }
                return if key.algorithm == algorithm {
                    Ok((algorithm, CheckingKey::Own(ring, kid)))
                } else {
                    Err(TokenError::Algorithm)
                };
            }
        }
        if let Some(remote) = &self.remote {
            let set = remote.keys();
            if let Some(key) = set.get(&kid) {
                return if key.algorithm == algorithm {
                    Ok((algorithm, CheckingKey::Remote(set, kid)))
                } else {
                    Err(TokenError::Algorithm)
                };
            }
        }
        Err(TokenError::UnknownKey)
    }
}

/// A token's three segments: `header.payload.signature`.
struct Segments<'a> {
    /// `header.payload`, what the signature is over.
    signed: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

impl<'a> Segments<'a> {
    fn of(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        Ok(Self {
            signed,
            header,
            payload,
            signature,
        })
    }
}

/// Whether the signature is genuine under `key`, for `algorithm`. An HMAC tag is
/// compared in constant time by ring (the library `jsonwebtoken` signs it with), against
/// the key whose pads were hashed once; a key pair's signature is checked by
/// `jsonwebtoken`.
fn check_signature(
    parts: &Segments<'_>,
    algorithm: Algorithm,
    key: &CheckingKey<'_>,
) -> Result<(), TokenError> {
    let genuine = match key {
        CheckingKey::Secret(mac) => hmac_tag_matches(mac, parts),
        _ => {
            let decoding = key.decoding().ok_or(TokenError::UnknownKey)?;
            jsonwebtoken::crypto::verify(
                parts.signature,
                parts.signed.as_bytes(),
                decoding,
                algorithm,
            )
            .map_err(|_| TokenError::Malformed)?
        }
    };
    if genuine {
        Ok(())
    } else {
        Err(TokenError::Signature)
    }
}

/// Whether the signature segment is the HMAC tag of the signed part under `mac`. A
/// segment that is not the canonical base64url of at most the longest tag (HS512's) is
/// a wrong signature, as it is when `jsonwebtoken` compares the encoded tags.
fn hmac_tag_matches(mac: &ring::hmac::Key, parts: &Segments<'_>) -> bool {
    let mut tag = [0u8; ring::digest::MAX_OUTPUT_LEN];
    let encoded = parts.signature.as_bytes();
    URL_SAFE_NO_PAD
        .decoded_length(encoded)
        .is_ok_and(|len| len <= tag.len())
        && URL_SAFE_NO_PAD
            .decode(encoded, base64_simd::Out::from_slice(&mut tag))
            .is_ok_and(|tag| ring::hmac::verify(mac, parts.signed.as_bytes(), tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::{
            signing_keys,
            token::{forge, test_support::*},
        },
        clock::Clock,
    };
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use serde_json::{json, Value};

    #[test]
    fn a_token_from_an_independent_encoder_is_accepted() {
        assert_eq!(verify(&signed(claims())).unwrap().sub, "user-1");
    }

    #[test]
    fn alg_none_is_rejected() {
        assert_eq!(
            verify(&forge::unsigned(&claims())),
            Err(TokenError::Algorithm)
        );
    }

    #[test]
    fn other_algorithms_in_the_header_are_rejected() {
        for alg in ["HS384", "HS512", "RS256", "ES256", "EdDSA", "none", "hs256"] {
            let token = forge::hs256(&json!({"alg": alg, "typ": "JWT"}), &claims(), SECRET);
            assert_eq!(verify(&token), Err(TokenError::Algorithm), "{alg}");
        }
    }

    #[test]
    fn key_carrying_and_critical_header_parameters_are_rejected() {
        for key in ["crit", "jku", "x5u", "jwk", "x5c"] {
            let token = forge::hs256(&with(header(), key, json!(["x"])), &claims(), SECRET);
            assert_eq!(
                verify(&token),
                Err(TokenError::HeaderParameter(key)),
                "{key}"
            );
        }
    }

    #[test]
    fn each_hmac_size_verifies_its_own_tokens_and_refuses_the_others() {
        let sizes = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        for configured in sizes {
            let keys = TokenKeys::new(settings(configured), Clock::default());
            let token = keys.issue_at(&subject(), NOW);
            assert_eq!(
                keys.verify_at(&token, NOW).unwrap().sub,
                "u",
                "{configured:?}"
            );
            let (signed_part, tag) = token.rsplit_once('.').unwrap();
            let mut tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
            tag[0] ^= 1;
            let tampered = format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode(&tag));
            assert_eq!(
                keys.verify_at(&tampered, NOW),
                Err(TokenError::Signature),
                "{configured:?}"
            );
            for other in sizes.into_iter().filter(|other| *other != configured) {
                let theirs = TokenKeys::new(settings(other), Clock::default());
                assert_eq!(
                    keys.verify_at(&theirs.issue_at(&subject(), NOW), NOW),
                    Err(TokenError::Algorithm),
                    "{configured:?} refuses {other:?}"
                );
            }
        }
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let token = forge::hs256(
            &header(),
            &claims(),
            b"another-secret-that-is-also-long-enough",
        );
        assert_eq!(verify(&token), Err(TokenError::Signature));
    }

    #[test]
    fn a_signature_segment_that_is_not_the_tag_is_a_wrong_signature() {
        let token = signed(claims());
        let (signed_part, tag) = token.rsplit_once('.').unwrap();
        let tag_bytes = URL_SAFE_NO_PAD.decode(tag).unwrap();
        // The same 32 bytes with the last symbol's two unused bits set: a lenient decoder
        // reads the very tag from it, so only refusing non-canonical base64 refuses it.
        let other_trailing_bits = with_unused_bits_set(tag);
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::general_purpose::NO_PAD.with_decode_allow_trailing_bits(true),
        );
        assert_eq!(lenient.decode(&other_trailing_bits).unwrap(), tag_bytes);
        let signatures = [
            String::new(),
            "!!!".to_owned(),
            tag[..tag.len() - 1].to_owned(),
            URL_SAFE_NO_PAD.encode(&tag_bytes[..31]),
            format!("{tag}="),
            format!("{tag}{tag}"),
            URL_SAFE_NO_PAD.encode([tag_bytes.as_slice(), &[0; 32]].concat()),
            URL_SAFE_NO_PAD.encode([0u8; 65]),
            other_trailing_bits,
        ];
        for signature in signatures {
            assert_eq!(
                verify(&format!("{signed_part}.{signature}")),
                Err(TokenError::Signature),
                "{signature}"
            );
        }
        assert!(verify(&format!("{signed_part}.{tag}")).is_ok());
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let token = signed(claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(with(claims(), "sub", json!("admin")).to_string());
        assert_eq!(verify(&parts.join(".")), Err(TokenError::Signature));
    }

    #[test]
    fn malformed_segments_are_rejected() {
        let good = signed(claims());
        let (head, rest) = good.split_once('.').unwrap();
        let cases = [
            String::new(),
            "garbage".into(),
            "a.b".into(),
            "a.b.c.d".into(),
            format!("{head}.{rest}.extra"),
            format!("!!!.{rest}"),
            format!("{}.{rest}", URL_SAFE_NO_PAD.encode("not json")),
            format!("{head}.%%%.sig"),
            "x".repeat(MAX_TOKEN_LEN + 1),
        ];
        for token in cases {
            let result = verify(&token);
            assert!(
                matches!(result, Err(TokenError::Malformed | TokenError::Signature)),
                "{token:.40}: {result:?}"
            );
        }
    }

    #[test]
    fn a_retired_keys_tokens_are_refused_from_its_end_even_before_the_ring_is_reloaded() {
        let mut ring = signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]);
        ring.published.get_mut("k").unwrap().published_until = Some(NOW + 60);
        let keys = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default()).with_key_ring(ring);
        let token = keys.issue_at(&subject(), NOW);
        assert!(keys.verify_at(&token, NOW + 59).is_ok());
        assert_eq!(
            keys.verify_at(&token, NOW + 60),
            Err(TokenError::UnknownKey)
        );
    }

    /// A token whose header is replaced, its signature kept: what an attacker can make
    /// of one genuine token.
    fn with_header(token: &str, header: &Value) -> String {
        let (_, rest) = token.split_once('.').unwrap();
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
    }

    #[test]
    fn a_key_pair_deployment_pins_its_algorithm_and_wants_a_kid() {
        let keys = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default())
            .with_key_ring(signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]));
        let token = keys.issue_at(&subject(), NOW);
        let verify = |t: &str| keys.verify_at(t, NOW + 1);
        assert_eq!(
            verify(&with_header(&token, &json!({"alg": "ES256", "kid": "k"}))),
            Err(TokenError::Algorithm),
            "an EdDSA key checks EdDSA only"
        );
        assert_eq!(
            verify(&signed(claims())),
            Err(TokenError::Algorithm),
            "the shared secret signs nothing beside key pairs"
        );
        assert_eq!(
            verify(&with_header(&token, &json!({"alg": "EdDSA"}))),
            Err(TokenError::MissingKeyId)
        );
        assert_eq!(
            verify(&with_header(
                &token,
                &json!({"alg": "EdDSA", "kid": "other"})
            )),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(
            verify(&with_header(
                &token,
                &json!({"alg": "EdDSA", "kid": "k", "jwk": {}})
            )),
            Err(TokenError::HeaderParameter("jwk"))
        );
        let other = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default())
            .with_key_ring(signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]));
        assert_eq!(
            verify(&other.issue_at(&subject(), NOW)),
            Err(TokenError::Signature),
            "another key under the same kid"
        );
    }

    #[test]
    fn a_shared_secret_deployment_refuses_key_pair_headers() {
        let ring_keys = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default())
            .with_key_ring(signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]));
        assert_eq!(
            verify(&ring_keys.issue_at(&subject(), NOW)),
            Err(TokenError::Algorithm)
        );
    }

    /// Whatever arrives as a token, verification answers without panicking, and accepts
    /// only what passes every check.
    mod properties {
        use super::*;
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                (NOW - 100..NOW + 100).prop_map(Value::from),
                any::<f64>().prop_map(|f| json!(f)),
                "\\PC{0,12}".prop_map(Value::from),
                prop_oneof![
                    Just("tasks-api"),
                    Just("http://localhost:3000"),
                    Just("HS256")
                ]
                .prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Valid claims with any of their members replaced by values of any shape.
        fn mangled_claims() -> impl Strategy<Value = Value> {
            let name = prop::sample::select(vec![
                "sub", "email", "name", "iat", "exp", "nbf", "iss", "aud", "jti", "sid", "x",
            ]);
            prop::collection::btree_map(name, any_json(), 0..5).prop_map(|changes| {
                let mut claims = claims();
                for (name, value) in changes {
                    claims[name] = value;
                }
                claims
            })
        }

        proptest! {
            #[test]
            fn arbitrary_text_is_refused(token in "\\PC{0,600}") {
                prop_assert!(verify(&token).is_err());
            }

            #[test]
            fn arbitrary_bytes_in_each_segment_are_refused(
                head in prop::collection::vec(any::<u8>(), 0..200),
                body in prop::collection::vec(any::<u8>(), 0..400),
                signature in prop::collection::vec(any::<u8>(), 0..64),
            ) {
                let token = [head, body, signature].map(|b| URL_SAFE_NO_PAD.encode(b)).join(".");
                prop_assert!(verify(&token).is_err());
            }

            #[test]
            fn signed_headers_of_any_shape_pass_only_when_they_name_hs256(header in any_json()) {
                let accepted = verify(&forge::hs256(&header, &claims(), SECRET)).is_ok();
                prop_assert!(!accepted || header["alg"] == "HS256", "{header}");
            }

            #[test]
            fn explaining_a_token_comes_to_what_verifying_it_does(
                header in prop_oneof![Just(header()), any_json()],
                claims in mangled_claims(),
            ) {
                let token = forge::hs256(&header, &claims, SECRET);
                let explained = keys().explain_at(&token, NOW).map(Explanation::verdict);
                prop_assert_eq!(explained.and_then(|verdict| verdict), verify(&token));
            }

            #[test]
            fn signed_claims_pass_only_when_every_check_does(claims in mangled_claims()) {
                if let Ok(verified) = verify(&signed(claims.clone())) {
                    prop_assert!(verified.exp > NOW - 30, "{claims}");
                    prop_assert!(verified.iat <= NOW + 30, "{claims}");
                    prop_assert!(claims.get("nbf").and_then(Value::as_i64).is_none_or(|nbf| nbf <= NOW + 30), "{claims}");
                    prop_assert_eq!(verified.iss.as_str(), "http://localhost:3000");
                    prop_assert!(verified.aud.contains_any(&["http://localhost:3000".into(), "tasks-api".into()]));
                    prop_assert_eq!(&json!(verified.sub), &claims["sub"]);
                }
            }
        }
    }
}
