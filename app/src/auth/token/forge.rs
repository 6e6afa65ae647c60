//! A raw JWS encoder that shares no code with `jsonwebtoken`: HMAC-SHA over
//! `base64url(header).base64url(payload)`, exactly as RFC 7515 describes. Tests use it
//! to forge hostile tokens and to prove that a token from another library is accepted.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde_json::Value;

/// Encodes the two JSON values and signs them with HMAC-SHA256 over `key`.
pub fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    hs256_bytes(
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
        key,
    )
}

/// Encodes a header and a payload exactly as given, bytes that no JSON encoder would
/// write included, and signs them with HMAC-SHA256 over `key`.
pub fn hs256_bytes(header: &[u8], payload: &[u8], key: &[u8]) -> String {
    hs256_segments(
        &format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        ),
        key,
    )
}

/// Signs `header.payload` text exactly as given, encodings that no encoder would
/// write included, with HMAC-SHA256 over `key`.
pub fn hs256_segments(signing_input: &str, key: &[u8]) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// An unsigned token (`alg: none`), as an attacker would send it.
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}
