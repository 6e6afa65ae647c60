//! Signing up, in and out: the steps shared by the server functions and the JSON routes.
//!
//! A sign-in creates a session row and hands out two credentials, both in HttpOnly
//! cookies: the opaque session token (Better Auth's session cookie, stored only as a
//! SHA-256 hash) and a short-lived access JWT for the tasks API. Page scripts see neither.

use crate::{
    auth::{
        password,
        repo::{self, NewSession, Session},
        token::Subject,
        types::{Credentials, Registration, User},
    },
    error::AppError,
    state::AppState,
};
use axum::{
    extract::ConnectInfo,
    http::{header, HeaderMap, HeaderValue},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use cookie::{Cookie, SameSite};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "session_token";
pub const ACCESS_COOKIE: &str = "access_token";

/// Where a request came from, recorded on the session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn from_request(headers: &HeaderMap, extensions: &axum::http::Extensions) -> Self {
        Self {
            ip_address: extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(512).collect()),
        }
    }
}

pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub session_token: String,
    pub access_token: String,
}

pub async fn sign_up(
    state: &AppState,
    form: Registration,
    client: &ClientInfo,
) -> Result<SignedIn, AppError> {
    state.limits.sign_up_attempt(client.ip_address.as_deref())?;
    let hash = password::hash(form.password).await?;
    let user = repo::insert_user(&state.db, form.name.as_str(), form.email.as_str(), &hash)
        .await?
        .ok_or_else(|| AppError::Conflict {
            code: "USER_ALREADY_EXISTS".to_owned(),
            message: "An account with this email already exists".to_owned(),
        })?;
    tracing::info!(user_id = %user.id, "user signed up");
    start_session(state, user, client).await
}

pub async fn sign_in(
    state: &AppState,
    credentials: Credentials,
    client: &ClientInfo,
) -> Result<SignedIn, AppError> {
    state
        .limits
        .sign_in_attempt(client.ip_address.as_deref(), &credentials.email)?;
    let found = repo::find_user_with_hash_by_email(&state.db, &credentials.email).await?;
    let (user, stored) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let matches = password::verify(credentials.password, stored).await?;
    match user {
        Some(user) if matches => {
            tracing::info!(user_id = %user.id, "user signed in");
            start_session(state, user, client).await
        }
        _ => {
            tracing::info!("sign-in refused: invalid email or password");
            state.limits.sign_in_failed(&credentials.email);
            Err(AppError::InvalidCredentials)
        }
    }
}

async fn start_session(
    state: &AppState,
    user: User,
    client: &ClientInfo,
) -> Result<SignedIn, AppError> {
    let session_token = new_session_token();
    let session = repo::insert_session(
        &state.db,
        NewSession {
            user_id: &user.id,
            token_hash: &hash_token(&session_token),
            lifetime_secs: state.site.session_lifetime_secs,
            ip_address: client.ip_address.as_deref(),
            user_agent: client.user_agent.as_deref(),
        },
    )
    .await?;
    let access_token = access_token(state, &user, &session.id);
    Ok(SignedIn {
        user,
        session,
        session_token,
        access_token,
    })
}

/// Revokes the session behind an opaque session token (no-op when there is none).
pub async fn sign_out(state: &AppState, session_token: &str) -> Result<(), AppError> {
    repo::delete_session_by_token_hash(&state.db, &hash_token(session_token)).await?;
    tracing::info!("session signed out");
    Ok(())
}

/// The live session behind an opaque session token, with its user.
pub async fn resume(
    state: &AppState,
    session_token: &str,
) -> Result<Option<(Session, User)>, AppError> {
    Ok(repo::find_active_session_by_token_hash(&state.db, &hash_token(session_token)).await?)
}

/// A fresh access JWT for a user's session.
pub fn access_token(state: &AppState, user: &User, session_id: &str) -> String {
    state.tokens.issue(&Subject {
        user_id: &user.id,
        email: &user.email,
        name: &user.name,
        session_id,
    })
}

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
    let lifetime = state.site.session_lifetime_secs;
    [
        cookie_header(state, SESSION_COOKIE, &signed_in.session_token, lifetime),
        access_cookie(state, &signed_in.access_token),
    ]
}

/// The `Set-Cookie` value carrying an access JWT.
pub fn access_cookie(state: &AppState, access_token: &str) -> HeaderValue {
    // The cookie outlives the JWT inside it: an expired JWT gets a clear 401 and is
    // replaced from the session, instead of silently vanishing from the request.
    cookie_header(
        state,
        ACCESS_COOKIE,
        access_token,
        state.site.session_lifetime_secs,
    )
}

/// `Set-Cookie` values that delete both credentials.
pub fn cleared_cookies(state: &AppState) -> [HeaderValue; 2] {
    [
        cookie_header(state, SESSION_COOKIE, "", 0),
        cookie_header(state, ACCESS_COOKIE, "", 0),
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

fn new_session_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hash_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

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
        assert_eq!(read_cookie(&h, ACCESS_COOKIE), None);
    }

    #[test]
    fn the_bearer_header_wins_over_the_cookie() {
        let h = headers(&[
            ("authorization", "Bearer from-header"),
            ("cookie", "session_token=from-cookie"),
        ]);
        assert_eq!(presented_session_token(&h).as_deref(), Some("from-header"));
    }

    #[test]
    fn session_tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_session_token(), new_session_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes of base64url");
        assert_ne!(hash_token(&a), a);
        assert_eq!(hash_token(&a), hash_token(&a));
    }
}
