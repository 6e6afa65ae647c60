//! The server functions behind the admin page; the same checks and actions as the
//! JSON admin routes.

use crate::{
    audit::{AuditEvent, AuditFilter},
    auth::types::User,
    error::AppError,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
async fn signed_in_admin() -> Result<(crate::state::AppState, User), AppError> {
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    crate::admin::service::require_admin_session(
        &user,
        &session,
        crate::admin::service::NOT_ALLOWED_TO_LIST_USERS,
        state.site.require_mfa_for_admins,
    )?;
    Ok((state, user))
}

#[server(prefix = "/fn", endpoint = "admin/users")]
pub async fn admin_users() -> Result<Vec<User>, AppError> {
    let (state, _) = signed_in_admin().await?;
    let (users, _) = crate::auth::store::users::list_users(
        &state.db,
        &crate::auth::store::users::UserListing::default(),
    )
    .await?;
    Ok(users)
}

#[server(prefix = "/fn", endpoint = "admin/set-disabled")]
pub async fn admin_set_disabled(user_id: String, disabled: bool) -> Result<User, AppError> {
    let (state, admin) = signed_in_admin().await?;
    let client = crate::context::client_info(&state);
    crate::admin::service::set_disabled(
        &state.db,
        &state.revocations,
        &admin,
        &user_id,
        disabled,
        None,
        &client,
    )
    .await
}

#[server(prefix = "/fn", endpoint = "admin/set-role")]
pub async fn admin_set_role(user_id: String, role: String) -> Result<User, AppError> {
    use crate::auth::types::Role;
    let (state, admin) = signed_in_admin().await?;
    let role = Role::parse(&role).map_err(|e| AppError::Validation(vec![e]))?;
    let client = crate::context::client_info(&state);
    crate::admin::service::set_role(
        &state.db,
        &state.revocations,
        Some(&admin),
        &user_id,
        role,
        &client,
    )
    .await
}

#[server(prefix = "/fn", endpoint = "admin/audit-log", input = leptos::server_fn::codec::Json)]
pub async fn admin_audit_log(filter: AuditFilter) -> Result<Vec<AuditEvent>, AppError> {
    let (state, _) = signed_in_admin().await?;
    Ok(crate::audit::repo::list(&state.db, &filter).await?)
}
