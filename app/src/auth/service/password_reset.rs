//! A forgotten password (Better Auth's routes for it are in `web::password_reset`):
//! asking for a reset link (`request-password-reset`), opening it
//! (`GET reset-password/{token}`, which sends the browser to the page that sets a new
//! password) and setting the new password (`POST reset-password`).
//!
//! Asking answers the same, at once, whether or not the address has an account: the
//! lookup, the token and the email happen in a task of their own. A reset ends every
//! session of the account and deletes its other links: whoever knew the old password
//! is signed out everywhere.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        service::emails,
        store::{
            email_tokens::{self, Lookup, Purpose},
            user_changes::{self, LinkOutcome},
        },
        types::{Email, Password},
    },
    client::ClientInfo,
    error::{AppError, FieldError},
    redirect::RedirectTarget,
    state::AppState,
};

/// The page that sets a new password, where a reset link leads unless asked otherwise.
pub const RESET_PAGE: &str = "/reset-password";

/// What every request for a reset link is answered, account or not.
pub const REQUESTED_MESSAGE: &str =
    "If this email exists in our system, check your email for the reset link";

/// Where a link's browser goes: `raw` when it stays on this site, `default` when none was
/// asked for; another site is Better Auth's 403 with `code` (which names the parameter:
/// `INVALID_CALLBACK_URL`, `INVALID_REDIRECT_URL`).
pub fn callback_target(
    state: &AppState,
    raw: Option<&str>,
    default: &str,
    code: &str,
) -> Result<RedirectTarget, AppError> {
    let origin = &state.site.public_origin;
    match raw {
        None => Ok(RedirectTarget::or_default(Some(default), origin)),
        Some(raw) => RedirectTarget::parse(raw, origin)
            .ok_or_else(|| AppError::forbidden(code, "The callback must be a page of this site")),
    }
}

/// Asks for a reset link for `email`. At most `RATE_LIMIT_EMAILS_PER_ADDRESS` a window
/// per address, counted whether or not it has an account, so the limit says nothing
/// about which addresses do, and `RATE_LIMIT_EMAIL_REQUESTS` per client. Nothing is sent
/// for an unknown address, a disabled account or one without a password (a trusted
/// issuer's user, who signs in there).
pub fn request_reset(
    state: &AppState,
    email: Email,
    callback: RedirectTarget,
    client: &ClientInfo,
) -> Result<(), AppError> {
    emails::mail_on_request(
        state,
        email,
        Purpose::ResetPassword,
        callback,
        client,
        EventKind::PasswordResetRequested,
        |user, hash| !user.banned && !hash.is_empty(),
    )
}

/// Sets `new` as the password of the account whose reset link holds `token`, which it
/// uses up: every session of the account ends and its tokens are refused.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new: Password,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let Lookup::Valid(found) =
        email_tokens::look_up(&state.db, Purpose::ResetPassword, token, state.clock.now()).await?
    else {
        return Err(invalid_token());
    };
    let hash = state.passwords.hash(new).await?;
    let LinkOutcome::Done((user, ended)) =
        user_changes::reset_password(&state.db, &state.revocations, &found, token, &hash).await?
    else {
        // Used by a request that got there first, or the account went meanwhile.
        return Err(invalid_token());
    };
    let entry = Entry::new(EventKind::PasswordReset, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail(format!("{ended} sessions ended"));
    record(&state.db, entry).await;
    Ok(())
}

/// Better Auth's 400 for a reset token that is unknown, used or expired.
pub fn invalid_token() -> AppError {
    AppError::Validation(vec![
        FieldError::body("token", "Invalid token").with_code("INVALID_TOKEN")
    ])
}
