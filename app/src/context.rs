//! What a server function (or a page rendered on the server) gets from its request: the
//! state, the client, the session cookie, and a way to set cookies and redirect in the
//! answer. Auth, admin and the task page all use it; it depends on none of them but auth's
//! session steps.

use crate::{
    auth::{
        service::{
            credentials,
            session::{self, SignedIn},
        },
        store::sessions::Session,
        types::User,
    },
    client::ClientInfo,
    error::AppError,
    redirect::RedirectTarget,
    state::AppState,
};
use axum::http::{header::SET_COOKIE, request::Parts, HeaderValue};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

pub fn client_info(state: &AppState) -> ClientInfo {
    parts()
        .map(|p| ClientInfo::of(&p, &state.site.trusted_proxies))
        .unwrap_or_default()
}

/// The token of the session cookie, when its signature matches.
pub fn session_token(state: &AppState) -> Option<String> {
    parts().and_then(|p| credentials::session_cookie_token(&p.headers, state))
}

/// The token of Better Auth's cookie `name` on the current request, when its signature
/// matches (`credentials::auth_cookie_token`).
pub fn auth_cookie_token(state: &AppState, name: &str) -> Option<String> {
    parts().and_then(|p| credentials::auth_cookie_token(&p.headers, state, name))
}

/// The `known_browser` cookie on the current request.
pub fn known_browser(state: &AppState) -> Option<String> {
    parts().and_then(|p| credentials::known_browser(&p.headers, state))
}

pub fn set_cookies(cookies: impl IntoIterator<Item = HeaderValue>) {
    if let Some(response) = use_context::<ResponseOptions>() {
        for cookie in cookies {
            response.append_header(SET_COOKIE, cookie);
        }
    }
}

/// Hands the browser a new session's cookies and sends it on to `next`.
pub fn enter(state: &AppState, signed_in: &SignedIn, next: Option<&str>) {
    set_cookies(credentials::session_cookies(
        state,
        &signed_in.session_token,
        &signed_in.access_token,
    ));
    if let Some(known) = &signed_in.known_browser {
        set_cookies([credentials::known_browser_cookie(state, known)]);
    }
    leptos_axum::redirect(RedirectTarget::or_default(next, &state.site.public_origin).as_str());
}

/// The live session of the current request's cookie and its user.
pub async fn cookie_session(state: &AppState) -> Result<Option<(Session, User)>, AppError> {
    match session_token(state) {
        Some(token) => session::resume(state, &token).await,
        None => Ok(None),
    }
}

/// The cookie's session, or `Unauthenticated`.
pub async fn require_session(state: &AppState) -> Result<(Session, User), AppError> {
    cookie_session(state)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Rotates the session cookie and renews the access cookie.
pub async fn refresh(state: &AppState, token: &str) -> Result<(Session, User), AppError> {
    let refreshed = session::refresh(state, token, &client_info(state)).await?;
    if let Some(next) = &refreshed.session_token {
        set_cookies([credentials::session_cookie(state, next)]);
    }
    set_cookies([credentials::access_cookie(state, &refreshed.access_token)]);
    Ok((refreshed.session, refreshed.user))
}

/// Like `cookie_session`, refreshing both cookies when the access JWT no longer
/// verifies (or the session token was just rotated by another tab).
pub async fn signed_in(state: &AppState) -> Result<Option<(Session, User)>, AppError> {
    let Some(token) = session_token(state) else {
        return Ok(None);
    };
    let access = parts()
        .and_then(|p| credentials::read_cookie(&p.headers, state.site.access_cookie()))
        .and_then(|jwt| state.tokens.verify(&jwt).ok());
    match session::resume(state, &token).await? {
        Some((session, user))
            if access.is_some_and(|c| c.sid.as_deref() == Some(session.id.as_str())) =>
        {
            Ok(Some((session, user)))
        }
        _ => match refresh(state, &token).await {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.needs_sign_in() => Ok(None),
            Err(e) => Err(e),
        },
    }
}
