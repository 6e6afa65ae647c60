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
    let signed_in = session::sign_up(&state, form, &crate::context::client_info(&state)).await?;
    crate::context::enter(&state, &signed_in, next.as_deref());
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
    let signed_in =
        session::sign_in(&state, credentials, &crate::context::client_info(&state)).await?;
    crate::context::enter(&state, &signed_in, next.as_deref());
    Ok(())
}

#[server(prefix = "/fn", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::auth::session;
    let state = crate::state::AppState::from_context()?;
    if let Some(token) = crate::context::session_token(&state) {
        session::sign_out(&state, &token, &crate::context::client_info(&state)).await?;
    }
    crate::context::set_cookies(crate::auth::credentials::cleared_cookies(&state));
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// Who is signed in, if anyone. As a side effect it renews the access cookie when its
/// JWT is missing or expired, so a page load never leaves the API with a stale token.
#[server(prefix = "/fn", endpoint = "current-user")]
pub async fn current_user() -> Result<Option<Viewer>, AppError> {
    let state = crate::state::AppState::from_context()?;
    Ok(crate::context::signed_in(&state)
        .await?
        .map(|(_, user)| Viewer {
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
    let token = crate::context::session_token(&state).ok_or(AppError::Unauthenticated)?;
    crate::context::refresh(&state, &token).await.map(drop)
}

/// The signed-in user's active sessions, this one marked.
#[server(prefix = "/fn", endpoint = "list-sessions")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let state = crate::state::AppState::from_context()?;
    let (current, user) = crate::context::require_session(&state).await?;
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
    let (_, user) = crate::context::require_session(&state).await?;
    crate::auth::session::revoke_session(&state, &user, &id, &crate::context::client_info(&state))
        .await?;
    Ok(())
}

/// Revokes every one of the user's sessions, this one included.
#[server(prefix = "/fn", endpoint = "sign-out-everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::auth::session;
    let state = crate::state::AppState::from_context()?;
    let (_, user) = crate::context::require_session(&state).await?;
    session::revoke_sessions(&state, &user, None, &crate::context::client_info(&state)).await?;
    crate::context::set_cookies(crate::auth::credentials::cleared_cookies(&state));
    leptos_axum::redirect("/sign-in");
    Ok(())
}
