//! Helpers shared by the token module's tests: keys, claims, and tokens signed with them.

use super::{
    claims::{Claims, Scope, Subject},
    error::TokenError,
    forge,
    keys::TokenKeys,
};
use crate::{
    auth::token_settings::{Secret, TokenSettings},
    clock::Clock,
};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

pub(super) const SECRET: &[u8] = b"a-test-secret-that-is-long-enough-for-hs256";
const BASE64URL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub(super) const NOW: i64 = 1_800_000_000;

pub(in crate::auth) fn keys() -> TokenKeys {
    TokenKeys::new(
        TokenSettings {
            secret: Secret::new(SECRET).unwrap(),
            algorithm: Algorithm::HS256,
            issuer: "http://localhost:3000".into(),
            audience: vec!["http://localhost:3000".into(), "tasks-api".into()],
            lifetime_secs: 900,
            api_token_max_secs: 30 * 86_400,
            leeway_secs: 30,
            key_rotation_secs: None,
            key_grace_secs: 3600,
            jwks_url: None,
        },
        Clock::default(),
    )
}

pub(super) fn claims() -> Value {
    json!({
        "sub": "user-1", "email": "ada@example.com", "name": "Ada",
        "iat": NOW - 10, "exp": NOW + 600, "iss": "http://localhost:3000",
        "aud": "tasks-api", "jti": "j-1", "sid": "session-1",
    })
}

pub(super) fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

pub(super) fn header() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

pub(super) fn verify(token: &str) -> Result<Claims, TokenError> {
    keys().verify_at(token, NOW)
}

pub(super) fn signed(claims: Value) -> String {
    forge::hs256(&header(), &claims, SECRET)
}

/// `segment` with the unused low bit of its last symbol set (the segment must end in
/// a symbol with unused bits whose lowest is clear).
pub(super) fn with_unused_bits_set(segment: &str) -> String {
    let last = BASE64URL_ALPHABET
        .iter()
        .position(|symbol| *symbol == segment.as_bytes()[segment.len() - 1])
        .unwrap();
    assert!(
        !segment.len().is_multiple_of(4) && last.is_multiple_of(2),
        "{segment}"
    );
    format!(
        "{}{}",
        &segment[..segment.len() - 1],
        BASE64URL_ALPHABET[last + 1] as char
    )
}

pub(super) fn settings(algorithm: Algorithm) -> TokenSettings {
    TokenSettings {
        algorithm,
        ..keys().settings().clone()
    }
}

pub(super) fn subject() -> Subject<'static> {
    static SCOPE: std::sync::LazyLock<Scope> = std::sync::LazyLock::new(Scope::full);
    Subject {
        user_id: "u",
        email: "e@x.io",
        name: "N",
        session_id: "s",
        role: "user",
        scope: &SCOPE,
        amr: "pwd",
        email_verified: true,
        banned: false,
        image: None,
        created_at: "2026-01-01T00:00:00.000Z",
        updated_at: "2026-01-01T00:00:00.000Z",
        expires_by: i64::MAX,
    }
}
