//! The server functions behind the sign-up, sign-in and sign-out forms, the access
//! token refresh, and the account page's session list.
//!
//! The forms work as plain HTML form posts before the wasm has loaded: success redirects
//! with a 302, and an error comes back in the URL for the form to show.

use crate::{
    auth::types::{SessionInfo, Viewer},
    error::AppError,
};
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
    let signed_in = session::sign_up(&state, form, &ssr::client_info(&state)).await?;
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
    let signed_in = session::sign_in(&state, credentials, &ssr::client_info(&state)).await?;
    ssr::enter(&state, &signed_in, next.as_deref());
    Ok(())
}

#[server(prefix = "/fn", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::auth::session;
    let state = crate::state::AppState::from_context()?;
    if let Some(token) = ssr::session_token() {
        session::sign_out(&state, &token, &ssr::client_info(&state)).await?;
    }
    ssr::set_cookies(session::cleared_cookies(&state));
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// Who is signed in, if anyone. As a side effect it renews the access cookie when its
/// JWT is missing or expired, so a page load never leaves the API with a stale token.
#[server(prefix = "/fn", endpoint = "current-user")]
pub async fn current_user() -> Result<Option<Viewer>, AppError> {
    let state = crate::state::AppState::from_context()?;
    Ok(ssr::signed_in(&state).await?.map(|(_, user)| Viewer {
        id: user.id,
        name: user.name,
        role: user.role,
    }))
}

/// Exchanges the session cookie for a new one and a new access cookie; fails when the
/// session has ended.
#[server(prefix = "/fn", endpoint = "refresh")]
pub async fn refresh_access() -> Result<(), AppError> {
    let state = crate::state::AppState::from_context()?;
    let token = ssr::session_token().ok_or(AppError::Unauthenticated)?;
    ssr::refresh(&state, &token).await.map(drop)
}

/// The signed-in user's active sessions, this one marked.
#[server(prefix = "/fn", endpoint = "list-sessions")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let state = crate::state::AppState::from_context()?;
    let (current, user) = ssr::require_session(&state).await?;
    let sessions = crate::auth::repo::list_sessions(&state.db, &user.id).await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionInfo {
            current: s.id == current.id,
            id: s.id,
            ip_address: s.ip_address,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_used_at: s.updated_at,
        })
        .collect())
}

/// Signs one of the user's other devices out.
#[server(prefix = "/fn", endpoint = "revoke-session")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    let state = crate::state::AppState::from_context()?;
    let (_, user) = ssr::require_session(&state).await?;
    crate::auth::session::revoke_session(&state, &user, &id, &ssr::client_info(&state)).await?;
    Ok(())
}

/// Revokes every one of the user's sessions, this one included.
#[server(prefix = "/fn", endpoint = "sign-out-everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::auth::session;
    let state = crate::state::AppState::from_context()?;
    let (_, user) = ssr::require_session(&state).await?;
    session::revoke_sessions(&state, &user, None, &ssr::client_info(&state)).await?;
    ssr::set_cookies(session::cleared_cookies(&state));
    leptos_axum::redirect("/sign-in");
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Request and response access for code that runs inside a server function or SSR.

    use crate::{
        auth::{
            repo::Session,
            session::{self, SignedIn, SESSION_COOKIE},
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
        leptos_axum::redirect(RedirectTarget::or_default(next, &state.site.public_origin).as_str());
    }

    /// The live session of the current request's cookie and its user.
    pub async fn cookie_session(state: &AppState) -> Result<Option<(Session, User)>, AppError> {
        match session_token() {
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
            set_cookies([session::session_cookie(state, next)]);
        }
        set_cookies([session::access_cookie(state, &refreshed.access_token)]);
        Ok((refreshed.session, refreshed.user))
    }

    /// Like `cookie_session`, refreshing both cookies when the access JWT no longer
    /// verifies (or the session token was just rotated by another tab).
    pub async fn signed_in(state: &AppState) -> Result<Option<(Session, User)>, AppError> {
        let Some(token) = session_token() else {
            return Ok(None);
        };
        let access = parts()
            .and_then(|p| session::read_cookie(&p.headers, state.site.access_cookie()))
            .and_then(|jwt| state.tokens.verify(&jwt).ok());
        match session::resume(state, &token).await? {
            Some((session, user)) if access.is_some_and(|c| c.sid == session.id) => {
                Ok(Some((session, user)))
            }
            _ => match refresh(state, &token).await {
                Ok(found) => Ok(Some(found)),
                Err(e) if e.needs_sign_in() => Ok(None),
                Err(e) => Err(e),
            },
        }
    }
}
