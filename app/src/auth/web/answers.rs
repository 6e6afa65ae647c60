//! The answer every route that starts a session gives: sign-up, sign-in and a second
//! factor.

use crate::{
    auth::service::{credentials, session::SignedIn},
    state::AppState,
};
use axum::{
    http::{header::SET_COOKIE, HeaderMap, HeaderName},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// The answer to a sign-in or sign-up: the session's cookies, and its signed token in
/// `set-auth-token` as Better Auth's bearer plugin sends it, for clients that keep the
/// token themselves.
pub fn with_session_cookies(
    state: &AppState,
    signed_in: &SignedIn,
    body: impl Serialize,
) -> Response {
    let mut headers = HeaderMap::new();
    for cookie in
        credentials::session_cookies(state, &signed_in.session_token, &signed_in.access_token)
    {
        headers.append(SET_COOKIE, cookie);
    }
    if let Some(known) = &signed_in.known_browser {
        headers.append(SET_COOKIE, credentials::known_browser_cookie(state, known));
    }
    headers.insert(
        HeaderName::from_static("set-auth-token"),
        credentials::bearer_session_token(state, &signed_in.session_token),
    );
    (headers, Json(body)).into_response()
}
