//! Where credentials travel (CONTRACT §2): the session and access cookies, both
//! HttpOnly, and the `Authorization: Bearer` header.
//!
//! The session cookie is Better Auth's, name and value, so its client and
//! `getSessionCookie()` in a Next.js middleware recognise it:
//! `better-auth.session_token` (`__Secure-` prefixed over https) holding
//! `token.<base64 HMAC-SHA256 of the token under the secret>`, URL-encoded. A value whose
//! signature does not match is no session at all. The bearer plugin's header may carry
//! the token signed the same way, or bare.

use crate::{auth::token::Secret, state::AppState};
use axum::http::{header, HeaderMap, HeaderValue};
use base64::{engine::general_purpose::STANDARD, Engine};
use cookie::{Cookie, SameSite};

/// The session token from the `Authorization: Bearer` header (Better Auth's bearer
/// plugin) or, failing that, from the session cookie; `None` when there is neither or
/// its signature does not match.
pub fn presented_session_token(headers: &HeaderMap, state: &AppState) -> Option<String> {
    presented_in(
        headers,
        &state.site.session_cookie,
        &state.tokens.settings().secret,
    )
}

/// The session token of the session cookie, when its signature matches.
pub fn session_cookie_token(headers: &HeaderMap, state: &AppState) -> Option<String> {
    cookie_token(
        headers,
        &state.site.session_cookie,
        &state.tokens.settings().secret,
    )
}

fn presented_in(headers: &HeaderMap, cookie_name: &str, secret: &Secret) -> Option<String> {
    match bearer_token(headers) {
        Some(token) if token.contains('.') => unsign(&token, secret),
        Some(token) => Some(token),
        None => cookie_token(headers, cookie_name, secret),
    }
}

fn cookie_token(headers: &HeaderMap, cookie_name: &str, secret: &Secret) -> Option<String> {
    unsign(&read_cookie(headers, cookie_name)?, secret)
}

/// `token.<signature>`, the signed form Better Auth puts in its cookie and in the
/// `set-auth-token` header (not yet URL-encoded). Only for session tokens, which this
/// server makes at random: the signature is an HMAC under the bare secret, as HS256 JWTs
/// are, so signing values anyone may choose would hand out JWT signatures.
pub fn sign(token: &str, secret: &Secret) -> String {
    format!(
        "{token}.{}",
        STANDARD.encode(secret.sign_cookie_value(token))
    )
}

/// The token of a signed value (URL-encoded or not), when the signature is its own.
fn unsign(value: &str, secret: &Secret) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?;
    let (token, signature) = decoded.rsplit_once('.')?;
    let signature = STANDARD.decode(signature).ok()?;
    secret
        .cookie_value_signed_by(token, &signature)
        .then(|| token.to_owned())
}

/// What JavaScript's `encodeURIComponent` makes of a signed value: of its characters
/// (base64url, `.`, and the signature's base64), only `+`, `/` and `=` change.
fn url_encoded(signed: &str) -> String {
    signed
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// The token of an `Authorization: Bearer …` header; the scheme is case-insensitive.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// `Set-Cookie` values for both credentials of a new session: its session token and
/// its access JWT.
pub fn session_cookies(
    state: &AppState,
    session_token: &str,
    access_token: &str,
) -> [HeaderValue; 2] {
    [
        session_cookie(state, session_token),
        access_cookie(state, access_token),
    ]
}

/// The `Set-Cookie` value carrying a session token, signed.
pub fn session_cookie(state: &AppState, session_token: &str) -> HeaderValue {
    cookie_header(
        state,
        &state.site.session_cookie,
        &url_encoded(&sign(session_token, &state.tokens.settings().secret)),
        state.site.session_lifetime_secs,
    )
}

/// The `Set-Cookie` value carrying an access JWT.
pub fn access_cookie(state: &AppState, access_token: &str) -> HeaderValue {
    // The cookie outlives the JWT inside it: an expired JWT gets a clear 401 and is
    // replaced from the session, instead of silently vanishing from the request.
    cookie_header(
        state,
        state.site.access_cookie(),
        access_token,
        state.site.session_lifetime_secs,
    )
}

/// The `set-auth-token` header's value: the session token signed as in the cookie, not
/// URL-encoded (Better Auth's bearer plugin sends the cookie's value decoded).
pub fn bearer_session_token(state: &AppState, session_token: &str) -> HeaderValue {
    let signed = sign(session_token, &state.tokens.settings().secret);
    // base64url, '.', and standard base64: always valid header bytes.
    HeaderValue::from_str(&signed)
        .unwrap_or_else(|e| unreachable!("signed token is not a header value: {e}"))
}

/// Better Auth's `two_factor` cookie: the sign-in waiting for a second factor.
pub const TWO_FACTOR: &str = "two_factor";
/// Better Auth's `trust_device` cookie: a browser trusted to skip the second factor.
pub const TRUST_DEVICE: &str = "trust_device";

/// The name Better Auth gives its cookie `name`: as the session cookie's, with the
/// configured prefix and `__Secure-` over https (`better-auth.two_factor`).
fn auth_cookie_name(state: &AppState, name: &str) -> String {
    let prefix = state
        .site
        .session_cookie
        .strip_suffix("session_token")
        .unwrap_or_else(|| unreachable!("the session cookie's name ends in session_token"));
    format!("{prefix}{name}")
}

/// The `Set-Cookie` value of Better Auth's cookie `name` holding `token`, signed as the
/// session cookie is, for `max_age_secs` (0 deletes it).
pub fn auth_cookie(state: &AppState, name: &str, token: &str, max_age_secs: i64) -> HeaderValue {
    let value = if token.is_empty() {
        String::new()
    } else {
        url_encoded(&sign(token, &state.tokens.settings().secret))
    };
    cookie_header(state, &auth_cookie_name(state, name), &value, max_age_secs)
}

/// The token of Better Auth's cookie `name`, when its signature matches.
pub fn auth_cookie_token(headers: &HeaderMap, state: &AppState, name: &str) -> Option<String> {
    cookie_token(
        headers,
        &auth_cookie_name(state, name),
        &state.tokens.settings().secret,
    )
}

/// How long a browser stays known to the accounts it signed in to: a year.
const KNOWN_BROWSER_SECS: i64 = 365 * 24 * 3600;

/// The `Set-Cookie` value of the `known_browser` cookie (`session::counted_as`).
pub fn known_browser_cookie(state: &AppState, value: &str) -> HeaderValue {
    cookie_header(
        state,
        state.site.known_browser_cookie(),
        value,
        KNOWN_BROWSER_SECS,
    )
}

/// The `known_browser` cookie the request brings, as it was set.
pub fn known_browser(headers: &HeaderMap, state: &AppState) -> Option<String> {
    read_cookie(headers, state.site.known_browser_cookie())
}

/// `Set-Cookie` values that delete both credentials.
pub fn cleared_cookies(state: &AppState) -> [HeaderValue; 2] {
    [
        cookie_header(state, &state.site.session_cookie, "", 0),
        cookie_header(state, state.site.access_cookie(), "", 0),
    ]
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(state.site.secure_cookies)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    // Names are configured tokens (checked at start-up) and values are URL-encoded or
    // JWTs: always valid header bytes.
    HeaderValue::from_str(&cookie.to_string())
        .unwrap_or_else(|e| unreachable!("cookie header is not valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::headers;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert_eq!(
                bearer_token(&headers(&[("authorization", value)])).as_deref(),
                Some("abc")
            );
        }
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Basic abc")])),
            None
        );
    }

    const COOKIE: &str = "better-auth.session_token";

    fn secret() -> Secret {
        Secret::new("0123456789abcdef0123456789abcdef-test").unwrap()
    }

    /// Better Auth's own signature, computed apart from `sign`: HMAC-SHA256 keyed with
    /// the secret's bytes over the token, in padded standard base64.
    fn better_auth_signed(token: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(b"0123456789abcdef0123456789abcdef-test").unwrap();
        mac.update(token.as_bytes());
        format!("{token}.{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn the_session_cookie_is_what_better_auth_itself_sets() {
        // better-auth 1.7.25, secret "0123456789abcdef0123456789abcdef", token "abc":
        // Set-Cookie: better-auth.session_token=abc.pgyFmmgnxepXakjY02hnL7%2FkZnxqknQoKEoMs4WcwdY%3D
        let secret = Secret::new("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            url_encoded(&sign("abc", &secret)),
            "abc.pgyFmmgnxepXakjY02hnL7%2FkZnxqknQoKEoMs4WcwdY%3D"
        );
    }

    #[test]
    fn the_session_cookie_is_signed_as_better_auth_signs_it() {
        let signed = sign("abc", &secret());
        assert_eq!(signed, better_auth_signed("abc"));
        assert_eq!(signed.rsplit_once('.').unwrap().1.len(), 44);
        let encoded = url_encoded(&signed);
        assert!(!encoded.contains(['+', '/', '=']), "{encoded}");
        let h = headers(&[(
            "cookie",
            &format!("theme=dark; {COOKIE}={encoded}; other=1"),
        )]);
        assert_eq!(cookie_token(&h, COOKIE, &secret()).as_deref(), Some("abc"));
    }

    #[test]
    fn a_cookie_whose_signature_does_not_match_is_no_session() {
        let forged = better_auth_signed("abc").replace("abc.", "abd.");
        let other_secret = Secret::new("another-secret-that-is-long-enough-9876").unwrap();
        for value in [
            "abc".to_owned(),
            forged,
            sign("abc", &other_secret),
            "abc.".to_owned(),
            "abc.!!!".to_owned(),
        ] {
            let h = headers(&[("cookie", &format!("{COOKIE}={}", url_encoded(&value)))]);
            assert_eq!(cookie_token(&h, COOKIE, &secret()), None, "{value}");
        }
    }

    #[test]
    fn a_bearer_session_token_may_be_signed_or_bare_but_never_wrongly_signed() {
        let presented = |value: &str| {
            presented_in(
                &headers(&[("authorization", &format!("Bearer {value}"))]),
                COOKIE,
                &secret(),
            )
        };
        assert_eq!(presented("abc").as_deref(), Some("abc"));
        assert_eq!(presented(&sign("abc", &secret())).as_deref(), Some("abc"));
        assert_eq!(
            presented(&url_encoded(&sign("abc", &secret()))).as_deref(),
            Some("abc")
        );
        assert_eq!(presented("abc.c2lnbmF0dXJl"), None);
    }

    #[test]
    fn the_bearer_header_wins_over_the_cookie() {
        let cookie = format!("{COOKIE}={}", url_encoded(&sign("from-cookie", &secret())));
        let h = headers(&[("authorization", "Bearer from-header"), ("cookie", &cookie)]);
        assert_eq!(
            presented_in(&h, COOKIE, &secret()).as_deref(),
            Some("from-header")
        );
    }
}
