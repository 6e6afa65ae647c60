//! The rules of administration over the user repository: who may disable whom, who may
//! change whose role, and what is audited.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        revocations::Revocations,
        service::{session::EMAIL_NOT_VERIFIED, two_factor},
        store::{sessions::Session, user_changes, users},
        types::{Role, User},
    },
    client::ClientInfo,
    db::Pool,
    error::AppError,
};

/// Better Auth's admin plugin codes for a non-admin asking to do each thing.
pub const NOT_ALLOWED_TO_LIST_USERS: &str = "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS";
pub const NOT_ALLOWED_TO_BAN_USERS: &str = "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS";
pub const NOT_ALLOWED_TO_CHANGE_ROLES: &str = "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE";

/// Nothing but an enabled admin passes; everyone else gets a 403 with `refusal`, the
/// code for what they asked to do.
pub fn require_admin(user: &User, refusal: &str) -> Result<(), AppError> {
    match user.role {
        Role::Admin if !user.banned => Ok(()),
        _ => Err(AppError::forbidden(refusal, "Admins only")),
    }
}

/// `require_admin`, and, when `require_second_factor` (`REQUIRE_MFA_FOR_ADMINS`), that
/// the admin's `session` began with a second factor (`amr` holds `mfa`): a stolen
/// password alone does not reach the admin routes of an admin who has second factors.
pub fn require_admin_session(
    user: &User,
    session: &Session,
    refusal: &str,
    require_second_factor: bool,
) -> Result<(), AppError> {
    require_admin(user, refusal)?;
    if require_second_factor && !two_factor::gave_second_factor(session) {
        return Err(two_factor::second_factor_required(
            "Admins sign in with a second factor here: turn on two-factor sign-in on your \
             account page, then sign out and in again",
        ));
    }
    Ok(())
}

fn user_not_found() -> AppError {
    AppError::not_found("USER_NOT_FOUND", "User not found")
}

/// Disables (revoking every session) or re-enables a user.
pub async fn set_disabled(
    pool: &Pool,
    known: &Revocations,
    admin: &User,
    user_id: &str,
    disabled: bool,
    reason: Option<&str>,
    client: &ClientInfo,
) -> Result<User, AppError> {
    require_admin(admin, NOT_ALLOWED_TO_BAN_USERS)?;
    if user_id == admin.id {
        return Err(AppError::forbidden(
            crate::error::YOU_CANNOT_BAN_YOURSELF,
            "You cannot disable your own account",
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let (user, revoked) = user_changes::set_banned(pool, known, user_id, disabled, reason)
        .await?
        .ok_or_else(user_not_found)?;
    let kind = if disabled {
        tracing::info!(user_id = %user.id, revoked, "user disabled, sessions revoked");
        EventKind::UserDisabled
    } else {
        EventKind::UserEnabled
    };
    let detail = match reason {
        Some(reason) => format!("by {}: {reason}", admin.email),
        None => format!("by {}", admin.email),
    };
    let entry = Entry::new(kind, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail(detail);
    record(pool, entry).await;
    Ok(user)
}

/// Gives a user a role. `admin` is whoever does it, or `None` for the server's
/// `make-admin` command.
pub async fn set_role(
    pool: &Pool,
    known: &Revocations,
    admin: Option<&User>,
    id_or_email: &str,
    role: Role,
    client: &ClientInfo,
) -> Result<User, AppError> {
    if let Some(admin) = admin {
        require_admin(admin, NOT_ALLOWED_TO_CHANGE_ROLES)?;
        if id_or_email == admin.id || id_or_email == admin.email {
            return Err(AppError::forbidden(
                "YOU_CANNOT_CHANGE_YOUR_OWN_ROLE",
                "You cannot change your own role",
            ));
        }
    }
    let user = user_changes::set_role(pool, known, id_or_email, role)
        .await?
        .ok_or_else(user_not_found)?;
    let by = admin.map_or("the server's make-admin command", |a| a.email.as_str());
    let entry = Entry::new(EventKind::RoleChanged, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail(format!("now {} (by {by})", role.as_str()));
    record(pool, entry).await;
    Ok(user)
}

/// Whether `make-admin` may promote an account whose address was never verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    Refuse,
    /// `server make-admin --unverified`: the operator says they know who owns it.
    Allow,
}

/// Makes the user with this email an admin: what `server make-admin` does, in a process
/// that serves no requests. The running servers learn of the change from the revocation
/// log, so the set it is applied to here is this process's own, and then dropped.
///
/// Anyone can sign up with an address that is not theirs, the operator's own among them
/// (`admin@`, a colleague's), before its owner does; an unverified account with it is
/// refused (`EMAIL_NOT_VERIFIED`) unless `unverified` allows it. The account is then
/// changed by its id, so it is the one that was checked: nothing makes a verified
/// address unverified again, while a check by email, then a change by email, could
/// change an account that took the address in between.
pub async fn make_admin(
    pool: &Pool,
    email: &str,
    unverified: Unverified,
) -> Result<User, AppError> {
    let user = users::find_user_by_email(pool, email)
        .await?
        .ok_or_else(user_not_found)?;
    if !user.email_verified && unverified == Unverified::Refuse {
        return Err(AppError::forbidden(
            EMAIL_NOT_VERIFIED,
            "The account's address has not been verified",
        ));
    }
    let known = Revocations::new(0, 0, crate::clock::Clock::default());
    set_role(
        pool,
        &known,
        None,
        &user.id,
        Role::Admin,
        &ClientInfo::default(),
    )
    .await
}
