//! Where credentials travel (CONTRACT §2): the session and access cookies, both
//! HttpOnly, and the `Authorization: Bearer` header.

use crate::{auth::session::SignedIn, state::AppState};
use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

pub const SESSION_COOKIE: &str = "session_token";

/// The session token from the `Authorization: Bearer` header (Better Auth's bearer
/// plugin) or, failing that, from the session cookie.
pub fn presented_session_token(headers: &HeaderMap) -> Option<String> {
    bearer_token(headers).or_else(|| read_cookie(headers, SESSION_COOKIE))
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

/// `Set-Cookie` values for both credentials of a new session.
pub fn session_cookies(state: &AppState, signed_in: &SignedIn) -> [HeaderValue; 2] {
    [
        session_cookie(state, &signed_in.session_token),
        access_cookie(state, &signed_in.access_token),
    ]
}

/// The `Set-Cookie` value carrying a session token.
pub fn session_cookie(state: &AppState, session_token: &str) -> HeaderValue {
    cookie_header(
        state,
        SESSION_COOKIE,
        session_token,
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

/// `Set-Cookie` values that delete both credentials.
pub fn cleared_cookies(state: &AppState) -> [HeaderValue; 2] {
    [
        cookie_header(state, SESSION_COOKIE, "", 0),
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
    // Names are constants and values are base64url or JWTs: always valid header bytes.
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

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let h = headers(&[("cookie", "theme=dark; session_token=s3cr3t; other=1")]);
        assert_eq!(read_cookie(&h, SESSION_COOKIE).as_deref(), Some("s3cr3t"));
        assert_eq!(read_cookie(&h, "access_token"), None);
    }

    #[test]
    fn the_bearer_header_wins_over_the_cookie() {
        let h = headers(&[
            ("authorization", "Bearer from-header"),
            ("cookie", "session_token=from-cookie"),
        ]);
        assert_eq!(presented_session_token(&h).as_deref(), Some("from-header"));
    }
}
