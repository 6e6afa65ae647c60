//! Reading a token's segments: base64url, then JSON into the shapes the checks tell apart.

use super::{
    claims::{Audience, Profile},
    error::TokenError,
};
use base64_simd::URL_SAFE_NO_PAD;
use serde::Deserialize;
use std::borrow::Cow;

/// Header parameters that would let a token choose its own key, or demand processing
/// we do not implement. Their mere presence is a rejection.
pub(super) const FORBIDDEN_HEADER_KEYS: [&str; 5] = ["crit", "jku", "x5u", "jwk", "x5c"];

/// The bytes of a canonical base64url (unpadded) segment. Decoded with SIMD
/// (`base64_simd`): the payload's 650 characters were a sixth of verify through the
/// `base64` crate, which the rest of the app uses for its short values.
pub(super) fn base64url(segment: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode_to_vec(segment)
        .map_err(|_| TokenError::Malformed)
}

/// A decoded segment's JSON. Its UTF-8 is checked once, as a whole, rather than string
/// by string as `serde_json::from_slice` would.
pub(super) fn json<'a, T: Deserialize<'a>>(segment: &'a [u8]) -> Result<T, TokenError> {
    let text = std::str::from_utf8(segment).map_err(|_| TokenError::Malformed)?;
    serde_json::from_str(text).map_err(|_| TokenError::Malformed)
}

/// The claims as they arrived, strings borrowed from the payload where they can be:
/// each is checked for presence and type by the rule that reads it. A claim named twice
/// makes the payload malformed.
#[derive(Deserialize)]
pub(super) struct RawClaims<'a> {
    #[serde(borrow, default)]
    pub(super) sub: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) email: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) name: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) iat: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) exp: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) nbf: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) iss: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) aud: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) jti: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) sid: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) role: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) scope: RawClaim<'a>,
    #[serde(borrow, default)]
    pub(super) amr: RawClaim<'a>,
    #[serde(borrow, default)]
    id: RawClaim<'a>,
    #[serde(borrow, default, rename = "emailVerified")]
    pub(super) email_verified: RawClaim<'a>,
    #[serde(borrow, default)]
    banned: RawClaim<'a>,
    #[serde(borrow, default)]
    image: RawClaim<'a>,
    #[serde(borrow, default, rename = "createdAt")]
    created_at: RawClaim<'a>,
    #[serde(borrow, default, rename = "updatedAt")]
    updated_at: RawClaim<'a>,
}

impl RawClaims<'_> {
    /// Better Auth's user fields, when every one is there with its type (`image` may be
    /// `null`): the account as the token was minted from it.
    pub(super) fn profile(&mut self) -> Option<Profile> {
        let text = |claim: &mut RawClaim<'_>| match std::mem::take(claim) {
            RawClaim::Text(text) => Some(text.into_owned()),
            _ => None,
        };
        let flag = |claim: &RawClaim<'_>| match claim {
            RawClaim::Bool(flag) => Some(*flag),
            _ => None,
        };
        Some(Profile {
            email_verified: flag(&self.email_verified)?,
            banned: flag(&self.banned)?,
            id: text(&mut self.id)?,
            image: text(&mut self.image),
            created_at: text(&mut self.created_at)?,
            updated_at: text(&mut self.updated_at)?,
        })
    }
}

/// What the header check reads, straight from the JSON object (no intermediate tree):
/// `alg` (the last one, if named twice), and which of `FORBIDDEN_HEADER_KEYS` are present
/// with any value, `null` included.
pub(super) struct RawHeader<'a> {
    pub(super) alg: RawClaim<'a>,
    pub(super) kid: RawClaim<'a>,
    pub(super) forbidden: [bool; FORBIDDEN_HEADER_KEYS.len()],
}

impl<'de: 'a, 'a> Deserialize<'de> for RawHeader<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawHeaderVisitor(std::marker::PhantomData))
    }
}

struct RawHeaderVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for RawHeaderVisitor<'a> {
    type Value = RawHeader<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut header = RawHeader {
            alg: RawClaim::Missing,
            kid: RawClaim::Missing,
            forbidden: [false; FORBIDDEN_HEADER_KEYS.len()],
        };
        while let Some(key) = map.next_key::<HeaderKey>()? {
            match key {
                HeaderKey::Alg => header.alg = map.next_value()?,
                HeaderKey::Kid => header.kid = map.next_value()?,
                HeaderKey::Forbidden(n) => {
                    header.forbidden[n] = true;
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                HeaderKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

/// A header parameter's name, told apart as it is read (nothing is copied).
enum HeaderKey {
    Alg,
    Kid,
    /// The position in `FORBIDDEN_HEADER_KEYS`.
    Forbidden(usize),
    Other,
}

impl<'de> Deserialize<'de> for HeaderKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(HeaderKeyVisitor)
    }
}

struct HeaderKeyVisitor;

impl serde::de::Visitor<'_> for HeaderKeyVisitor {
    type Value = HeaderKey;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a header parameter's name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(match name {
            "alg" => HeaderKey::Alg,
            "kid" => HeaderKey::Kid,
            _ => FORBIDDEN_HEADER_KEYS
                .iter()
                .position(|key| *key == name)
                .map_or(HeaderKey::Other, HeaderKey::Forbidden),
        })
    }
}

/// One claim's value, by the shapes the checks tell apart. Read straight from the JSON
/// (no intermediate tree), borrowing strings without escapes. `null` is a value of the
/// wrong type, not an absent claim.
#[derive(Default)]
pub(super) enum RawClaim<'a> {
    #[default]
    Missing,
    Integer(i64),
    Number(f64),
    Bool(bool),
    Text(Cow<'a, str>),
    Texts(Vec<Cow<'a, str>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawClaim<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawClaimVisitor(std::marker::PhantomData))
    }
}

struct RawClaimVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for RawClaimVisitor<'a> {
    type Value = RawClaim<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(RawClaim::Integer(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(RawClaim::Number(v as f64), RawClaim::Integer))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(RawClaim::Number(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(RawClaim::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawClaim::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(RawClaim::Bool(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(RawClaim::Other)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (mut texts, mut only_texts) = (Vec::new(), true);
        while let Some(item) = seq.next_element::<RawClaim<'a>>()? {
            match item {
                RawClaim::Text(text) => texts.push(text),
                _ => only_texts = false,
            }
        }
        Ok(if only_texts {
            RawClaim::Texts(texts)
        } else {
            RawClaim::Other
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(RawClaim::Other)
    }
}

pub(super) fn numeric_date(
    claim: RawClaim<'_>,
    name: &'static str,
) -> Result<Option<i64>, TokenError> {
    match claim {
        RawClaim::Missing => Ok(None),
        RawClaim::Integer(seconds) => Ok(Some(seconds)),
        // Some encoders write fractional seconds; whole seconds are what matters.
        RawClaim::Number(seconds) if seconds.is_finite() => Ok(Some(seconds.floor() as i64)),
        _ => Err(TokenError::ClaimType(name)),
    }
}

pub(super) fn text(claim: RawClaim<'_>, name: &'static str) -> Result<Option<String>, TokenError> {
    match claim {
        RawClaim::Missing => Ok(None),
        RawClaim::Text(text) => Ok(Some(text.into_owned())),
        _ => Err(TokenError::ClaimType(name)),
    }
}

/// A list of strings (`amr`); one string counts as a list of one.
pub(super) fn texts(
    claim: RawClaim<'_>,
    name: &'static str,
) -> Result<Option<Vec<String>>, TokenError> {
    match claim {
        RawClaim::Missing => Ok(None),
        RawClaim::Text(one) => Ok(Some(vec![one.into_owned()])),
        RawClaim::Texts(many) => Ok(Some(many.into_iter().map(Cow::into_owned).collect())),
        _ => Err(TokenError::ClaimType(name)),
    }
}

pub(super) fn audience(claim: RawClaim<'_>) -> Result<Option<Audience>, TokenError> {
    match claim {
        RawClaim::Missing => Ok(None),
        RawClaim::Text(one) => Ok(Some(Audience::One(one.into_owned()))),
        RawClaim::Texts(many) => Ok(Some(Audience::Many(
            many.into_iter().map(Cow::into_owned).collect(),
        ))),
        _ => Err(TokenError::ClaimType("aud")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::{forge, test_support::*};
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use serde_json::{json, Value};

    #[test]
    fn a_refused_header_parameter_counts_when_its_name_is_written_with_escapes() {
        let claims = claims().to_string();
        let token = forge::hs256_bytes(
            br#"{"alg":"HS256","\u006a\u0077\u006b":{}}"#,
            claims.as_bytes(),
            SECRET,
        );
        assert_eq!(verify(&token), Err(TokenError::HeaderParameter("jwk")));
    }

    #[test]
    fn a_payload_that_is_not_utf8_is_malformed_even_in_a_claim_nobody_reads() {
        let claims = claims().to_string();
        let payload = [&claims.as_bytes()[..claims.len() - 1], b",\"x\":\"\xff\"}"].concat();
        assert_eq!(
            verify(&forge::hs256_bytes(
                header().to_string().as_bytes(),
                &payload,
                SECRET
            )),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn a_refused_header_parameter_counts_even_when_null_and_the_header_must_be_an_object() {
        let token = forge::hs256(&with(header(), "jwk", Value::Null), &claims(), SECRET);
        assert_eq!(verify(&token), Err(TokenError::HeaderParameter("jwk")));
        let token = forge::hs256(&json!(["HS256", "JWT"]), &claims(), SECRET);
        assert_eq!(verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn a_genuinely_signed_segment_that_is_not_canonical_base64url_is_malformed() {
        // Spaces after the JSON, which it allows, until the encoding's last symbol has
        // four unused bits, so that one of them can be set.
        let encoded = |json: Value| {
            let mut text = json.to_string();
            while text.len() % 3 != 1 {
                text.push(' ');
            }
            URL_SAFE_NO_PAD.encode(text)
        };
        let (header, payload) = (encoded(header()), encoded(claims()));
        let spoilt = |segment: &str| {
            let rest = &segment[1..];
            [
                format!("{segment}="),
                format!("{segment}=="),
                format!("+{rest}"),
                format!("/{rest}"),
                format!(" {rest}"),
                format!("{segment}\n"),
                format!("{segment}A"),
                with_unused_bits_set(segment),
            ]
        };
        let genuine = |header: &str, payload: &str| {
            verify(&forge::hs256_segments(
                &format!("{header}.{payload}"),
                SECRET,
            ))
        };
        assert!(genuine(&header, &payload).is_ok());
        for bad in spoilt(&header) {
            assert_eq!(genuine(&bad, &payload), Err(TokenError::Malformed), "{bad}");
        }
        for bad in spoilt(&payload) {
            assert_eq!(genuine(&header, &bad), Err(TokenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_null_claim_is_the_wrong_type_not_an_absent_one() {
        let token = signed(with(claims(), "nbf", Value::Null));
        assert_eq!(verify(&token), Err(TokenError::ClaimType("nbf")));
    }
}
