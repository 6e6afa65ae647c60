//! The server functions behind the sign-up, sign-in and sign-out forms.
//!
//! They work as plain HTML form posts before the wasm has loaded: success redirects with
//! a 302, and an error comes back in the URL for the form to show.

use crate::{auth::types::User, error::AppError};
use leptos::prelude::*;

#[server(prefix = "/fn", endpoint = "sign-up")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::auth::{session, types::Registration};
    let state = crate::state::AppState::from_context()?;
    let form = Registration::parse(&name, &email, &password)?;
    let signed_in = session::sign_up(&state, form, &ssr::client_info()).await?;
    ssr::enter(&state, &signed_in, next.as_deref());
    Ok(())
}

#[server(prefix = "/fn", endpoint = "sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::auth::{session, types::Credentials};
    let state = crate::state::AppState::from_context()?;
    let credentials = Credentials::parse(&email, &password)?;
    let signed_in = session::sign_in(&state, credentials, &ssr::client_info()).await?;
    ssr::enter(&state, &signed_in, next.as_deref());
    Ok(())
}

#[server(prefix = "/fn", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::auth::session;
    let state = crate::state::AppState::from_context()?;
    if let Some(token) = ssr::session_token() {
        session::sign_out(&state, &token).await?;
    }
    ssr::set_cookies(session::cleared_cookies(&state));
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// The signed-in user, if any. As a side effect it renews the access cookie when its JWT
/// is missing or expired, so a page load never leaves the API with a stale token.
#[server(prefix = "/fn", endpoint = "current-user")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    let state = crate::state::AppState::from_context()?;
    Ok(ssr::signed_in(&state).await?.map(|(_, user)| user))
}

/// Replaces an expired access cookie from the session; fails when the session has ended.
#[server(prefix = "/fn", endpoint = "refresh")]
pub async fn refresh_access() -> Result<(), AppError> {
    let state = crate::state::AppState::from_context()?;
    state
        .limits
        .refresh_attempt(ssr::client_info().ip_address.as_deref())?;
    ssr::signed_in(&state)
        .await?
        .map(|_| ())
        .ok_or(AppError::Unauthenticated)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Request and response access for code that runs inside a server function or SSR.

    use crate::{
        auth::{
            repo::Session,
            session::{self, ClientInfo, SignedIn, ACCESS_COOKIE, SESSION_COOKIE},
            types::{safe_next, User},
        },
        error::AppError,
        state::AppState,
    };
    use axum::http::{header::SET_COOKIE, request::Parts, HeaderValue};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    fn parts() -> Option<Parts> {
        use_context::<Parts>()
    }

    pub fn client_info() -> ClientInfo {
        parts()
            .map(|p| ClientInfo::from_request(&p.headers, &p.extensions))
            .unwrap_or_default()
    }

    pub fn session_token() -> Option<String> {
        parts().and_then(|p| session::read_cookie(&p.headers, SESSION_COOKIE))
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
        set_cookies(session::session_cookies(state, signed_in));
        leptos_axum::redirect(&safe_next(next));
    }

    /// The live session of the current request's cookie and its user.
    pub async fn cookie_session(state: &AppState) -> Result<Option<(Session, User)>, AppError> {
        match session_token() {
            Some(token) => session::resume(state, &token).await,
            None => Ok(None),
        }
    }

    /// Like `cookie_session`, renewing the access cookie when it no longer verifies.
    pub async fn signed_in(state: &AppState) -> Result<Option<(Session, User)>, AppError> {
        let Some((session, user)) = cookie_session(state).await? else {
            return Ok(None);
        };
        let access_ok = parts()
            .and_then(|p| session::read_cookie(&p.headers, ACCESS_COOKIE))
            .is_some_and(|jwt| state.tokens.verify(&jwt).is_ok_and(|c| c.sid == session.id));
        if !access_ok {
            let jwt = session::access_token(state, &user, &session.id);
            set_cookies([session::access_cookie(state, &jwt)]);
        }
        Ok(Some((session, user)))
    }
}
