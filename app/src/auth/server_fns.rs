//! The server functions behind the sign-up, sign-in and sign-out forms, the access
//! token refresh, and the account page: its session list, API tokens, profile, password
//! and account deletion.
//!
//! The forms work as plain HTML form posts before the wasm has loaded: success redirects
//! with a 302, and an error comes back in the URL for the form to show.

use crate::{
    auth::{
        api_tokens::{ApiAccess, IssuedApiToken},
        types::{EmailLink, SecondFactors, SessionInfo, TwoFactorSetup, Viewer},
    },
    error::AppError,
};
use leptos::prelude::*;

/// Where sign-up leads when the address must be verified before signing in.
pub const CHECK_YOUR_EMAIL: &str = "/sign-in?verify=sent";

/// Where asking for a reset link leads: the same page, saying a link is on its way.
pub const RESET_REQUESTED: &str = "/forgot-password?sent=1";

/// Where a new password leads: sign-in, saying every session was ended.
pub const PASSWORD_WAS_RESET: &str = "/sign-in?reason=reset";

#[server(prefix = "/fn", endpoint = "sign-up")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::auth::{service::session, types::Registration};
    let state = crate::state::AppState::from_context()?;
    let form = Registration::parse(&name, &email, &password)?;
    match session::sign_up(&state, form, &crate::context::client_info(&state)).await? {
        session::SignedUp::In(signed_in) => {
            crate::context::enter(&state, &signed_in, next.as_deref());
        }
        session::SignedUp::AwaitingVerification(_) => {
            leptos_axum::redirect(CHECK_YOUR_EMAIL);
        }
    }
    Ok(())
}

#[server(prefix = "/fn", endpoint = "sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        auth::{
            service::{
                credentials::{self, TRUST_DEVICE, TWO_FACTOR},
                session::{self, SignIn},
            },
            types::Credentials,
        },
        context,
        paths::TWO_FACTOR_PAGE,
        redirect::RedirectTarget,
    };
    let state = crate::state::AppState::from_context()?;
    let credentials = Credentials::parse(&email, &password)?;
    let trusted = context::auth_cookie_token(&state, TRUST_DEVICE);
    let known = context::known_browser(&state);
    let cookies = session::BrowserCookies {
        trusted_device: trusted.as_deref(),
        known_browser: known.as_deref(),
    };
    let client = context::client_info(&state);
    match session::sign_in(&state, credentials, cookies, &client).await? {
        SignIn::Done(signed_in) => context::enter(&state, &signed_in, next.as_deref()),
        SignIn::SecondFactor { challenge, .. } => {
            context::set_cookies([credentials::auth_cookie(
                &state,
                TWO_FACTOR,
                &challenge,
                session::CHALLENGE_SECS,
            )]);
            let next = RedirectTarget::or_default(next.as_deref(), &state.site.public_origin);
            let page = RedirectTarget::or_default(Some(TWO_FACTOR_PAGE), &state.site.public_origin)
                .with_query("next", next.as_str());
            leptos_axum::redirect(page.as_str());
        }
    }
    Ok(())
}

/// Finishes a sign-in that waits for its second factor (the `two_factor` cookie) with a
/// code from the authenticator app, trusts the browser for 30 days when `trust_device`
/// is sent, and goes to `next`.
#[server(prefix = "/fn", endpoint = "verify-two-factor")]
pub async fn verify_two_factor(
    code: String,
    trust_device: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    pass_second_factor(
        crate::auth::service::two_factor::Factor::Totp(code),
        trust_device.is_some(),
        next,
    )
    .await
}

/// As `verify_two_factor`, with one of the account's backup codes, which is used up.
#[server(prefix = "/fn", endpoint = "use-backup-code")]
pub async fn use_backup_code(
    backup_code: String,
    trust_device: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    pass_second_factor(
        crate::auth::service::two_factor::Factor::BackupCode(backup_code),
        trust_device.is_some(),
        next,
    )
    .await
}

#[cfg(feature = "ssr")]
async fn pass_second_factor(
    factor: crate::auth::service::two_factor::Factor,
    trust_device: bool,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        auth::service::{credentials::TWO_FACTOR, two_factor},
        context,
    };
    let state = crate::state::AppState::from_context()?;
    let challenge = context::auth_cookie_token(&state, TWO_FACTOR).ok_or_else(|| {
        AppError::wrong_factor(
            "INVALID_TWO_FACTOR_COOKIE",
            "This sign-in has expired. Sign in again.",
        )
    })?;
    let client = context::client_info(&state);
    let passed = two_factor::pass(&state, &challenge, factor, trust_device, &client).await?;
    context::set_cookies(two_factor::second_factor_cookies(
        &state,
        passed.trusted_device.as_deref(),
    ));
    context::enter(&state, &passed.signed_in, next.as_deref());
    Ok(())
}

/// Where the signed-in user's second factors stand, for the account page.
#[server(prefix = "/fn", endpoint = "two-factor-status")]
pub async fn two_factor_status() -> Result<SecondFactors, AppError> {
    use crate::auth::{service::two_factor, store::two_factor as store};
    let state = crate::state::AppState::from_context()?;
    let (_, user) = crate::context::require_session(&state).await?;
    let backup_codes_left = store::count_backup_codes(&state.db, &user.id).await?;
    let trusted_devices = two_factor::trusted_devices(&state, &user).await?;
    Ok(SecondFactors {
        enabled: user.two_factor_enabled,
        backup_codes_left,
        trusted_devices,
    })
}

/// Starts turning second factors on, after the password: the secret for the
/// authenticator app (as a URI and as text to type) and the backup codes.
#[server(prefix = "/fn", endpoint = "start-two-factor")]
pub async fn start_two_factor(two_factor_password: String) -> Result<TwoFactorSetup, AppError> {
    use crate::auth::{service::two_factor, types::Password};
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    let password = Password::presented("two_factor_password", &two_factor_password)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let client = crate::context::client_info(&state);
    let enabled = two_factor::enable(&state, &user, &session, password, None, &client)
        .await
        .map_err(|e| on_field(e, "two_factor_password"))?;
    Ok(TwoFactorSetup {
        qr_svg: two_factor::qr_svg(&enabled.totp_uri),
        uri: enabled.totp_uri,
        secret: enabled.secret_base32,
        backup_codes: enabled.backup_codes,
    })
}

/// Takes the first code from the authenticator app: second factors are on. The session
/// is replaced by one that gave a second factor, and the account's others end.
#[server(prefix = "/fn", endpoint = "confirm-two-factor")]
pub async fn confirm_two_factor(first_code: String) -> Result<(), AppError> {
    use crate::auth::service::{credentials, two_factor};
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    let client = crate::context::client_info(&state);
    let signed_in = two_factor::confirm(&state, &user, &session, &first_code, &client)
        .await
        .map_err(|e| on_field(e, "first_code"))?;
    crate::context::set_cookies(credentials::session_cookies(
        &state,
        &signed_in.session_token,
        &signed_in.access_token,
    ));
    Ok(())
}

/// Turns second factors off, after the password.
#[server(prefix = "/fn", endpoint = "disable-two-factor")]
pub async fn disable_two_factor(disable_password: String) -> Result<(), AppError> {
    use crate::auth::{
        service::{credentials, two_factor},
        types::Password,
    };
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    let password = Password::presented("disable_password", &disable_password)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let client = crate::context::client_info(&state);
    two_factor::disable(&state, &user, &session, password, &client)
        .await
        .map_err(|e| on_field(e, "disable_password"))?;
    crate::context::set_cookies([credentials::auth_cookie(
        &state,
        credentials::TRUST_DEVICE,
        "",
        0,
    )]);
    Ok(())
}

/// Ten new backup codes, after the password; the old ones stop working.
#[server(prefix = "/fn", endpoint = "new-backup-codes")]
pub async fn new_backup_codes(codes_password: String) -> Result<Vec<String>, AppError> {
    use crate::auth::{service::two_factor, types::Password};
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    let password = Password::presented("codes_password", &codes_password)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let client = crate::context::client_info(&state);
    two_factor::regenerate_backup_codes(&state, &user, &session, password, &client)
        .await
        .map_err(|e| on_field(e, "codes_password"))
}

/// Stops trusting one of the user's browsers to skip the second factor.
#[server(prefix = "/fn", endpoint = "forget-device")]
pub async fn forget_device(id: String) -> Result<(), AppError> {
    let state = crate::state::AppState::from_context()?;
    let (_, user) = crate::context::require_session(&state).await?;
    let client = crate::context::client_info(&state);
    crate::auth::service::two_factor::forget_device(&state, &user, &id, &client).await?;
    Ok(())
}

/// A field error of the service (`password`, `code`) moved to the form's field `field`,
/// so the page shows it beside the right input.
#[cfg(feature = "ssr")]
fn on_field(error: AppError, field: &str) -> AppError {
    match error {
        AppError::Validation(errors) => {
            AppError::Validation(errors.into_iter().map(|e| e.on_field(field)).collect())
        }
        AppError::WrongFactor { message, .. } => {
            AppError::Validation(vec![crate::error::FieldError::body(field, message)])
        }
        other => other,
    }
}

#[server(prefix = "/fn", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::auth::service::session;
    let state = crate::state::AppState::from_context()?;
    if let Some(token) = crate::context::session_token(&state) {
        session::sign_out(&state, &token, &crate::context::client_info(&state)).await?;
    }
    crate::context::set_cookies(crate::auth::service::credentials::cleared_cookies(&state));
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
            email: user.email,
            email_verified: user.email_verified,
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

/// The signed-in user's active sessions, this one marked, and those of API tokens.
#[server(prefix = "/fn", endpoint = "list-sessions")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let state = crate::state::AppState::from_context()?;
    let (current, user) = crate::context::require_session(&state).await?;
    let sessions =
        crate::auth::store::sessions::list_sessions(&state.db, &user.id, state.clock.now()).await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionInfo {
            current: s.id == current.id,
            id: s.id,
            api_token: s.api_token,
            ip_address: s.ip_address,
            user_agent: s.user_agent,
            created_at: s.created_at.to_string(),
            last_used_at: s.updated_at.to_string(),
            expires_at: s.expires_at.to_string(),
        })
        .collect())
}

/// Signs one of the user's other devices out.
#[server(prefix = "/fn", endpoint = "revoke-session")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    let state = crate::state::AppState::from_context()?;
    let (_, user) = crate::context::require_session(&state).await?;
    crate::auth::service::session::revoke_session(
        &state,
        &user,
        &id,
        &crate::context::client_info(&state),
    )
    .await?;
    Ok(())
}

/// Revokes every one of the user's sessions, this one included.
#[server(prefix = "/fn", endpoint = "sign-out-everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::auth::service::session;
    let state = crate::state::AppState::from_context()?;
    let (_, user) = crate::context::require_session(&state).await?;
    session::revoke_sessions(&state, &user, None, &crate::context::client_info(&state)).await?;
    crate::context::set_cookies(crate::auth::service::credentials::cleared_cookies(&state));
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// What the account page's "Use the API" section shows: this site's public URL for the
/// curl lines, who is signed in, and the longest token it may issue.
#[server(prefix = "/fn", endpoint = "api-access")]
pub async fn load_api_access() -> Result<ApiAccess, AppError> {
    let state = crate::state::AppState::from_context()?;
    let (_, user) = crate::context::require_session(&state).await?;
    Ok(ApiAccess {
        origin: state.site.public_origin.clone(),
        email: user.email,
        max_lifetime_secs: state.tokens.settings().api_token_max_secs,
    })
}

/// Issues the signed-in user an API token of `scope` (`tasks:read`, or `tasks:read
/// tasks:write`) for `lifetime_secs`, in a session of its own that ends, at the latest,
/// when the sign-in it is issued from must (`service::api_tokens::issue_api_token_from`). The token
/// is in the answer only: shown once, never stored.
#[server(prefix = "/fn", endpoint = "issue-api-token")]
pub async fn issue_api_token(
    scope: String,
    lifetime_secs: i64,
) -> Result<IssuedApiToken, AppError> {
    use crate::{
        auth::{api_tokens::ApiTokenLifetime, service::api_tokens, token::Scope},
        error::{FieldError, FieldErrors},
    };
    let state = crate::state::AppState::from_context()?;
    let (issuing, user) = crate::context::require_session(&state).await?;
    let mut fields = FieldErrors::default();
    let scope = fields.check(Scope::parse(&scope).map_err(|e| FieldError::body("scope", e)));
    let max_secs = state.tokens.settings().api_token_max_secs;
    let lifetime = fields.check(
        ApiTokenLifetime::parse(lifetime_secs, max_secs)
            .map_err(|e| FieldError::body("lifetime_secs", e)),
    );
    let (scope, lifetime) = fields.finish(|| Some((scope?, lifetime?)))?;
    let client = crate::context::client_info(&state);
    let issued =
        api_tokens::issue_api_token_from(&state, &issuing, &user, &scope, lifetime, &client)
            .await?;
    Ok(IssuedApiToken {
        token: issued.token,
        scope: scope.as_str().to_owned(),
        expires_at: issued.session.expires_at.to_string(),
    })
}

/// Renames the signed-in user; their access cookie is minted again from the account as
/// it now is (the old one was revoked with the change).
#[server(prefix = "/fn", endpoint = "update-profile")]
pub async fn update_profile(name: String) -> Result<(), AppError> {
    use crate::auth::{
        service::{
            account::{self, ProfileChange},
            session,
        },
        types::UserName,
    };
    let state = crate::state::AppState::from_context()?;
    let (current, user) = crate::context::require_session(&state).await?;
    let name = UserName::parse(&name).map_err(|e| AppError::Validation(vec![e]))?;
    let change = ProfileChange {
        name: Some(name),
        image: None,
    };
    let client = crate::context::client_info(&state);
    let user = account::update_profile(&state, &user, change, &client).await?;
    crate::context::set_cookies([session::access_cookie(&state, &user, &current)]);
    Ok(())
}

/// Changes the signed-in user's password once `current_password` is theirs, signing out
/// their other sessions when `sign_out_others` is sent (a checked box).
#[server(prefix = "/fn", endpoint = "change-password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    sign_out_others: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        auth::{
            service::{account, session},
            types::Password,
        },
        error::FieldErrors,
    };
    let state = crate::state::AppState::from_context()?;
    let (current, user) = crate::context::require_session(&state).await?;
    let mut fields = FieldErrors::default();
    let current_password = fields.check(Password::presented("currentPassword", &current_password));
    let new_password = fields.check(account::new_password("newPassword", &new_password));
    let (current_password, new_password) =
        fields.finish(|| Some((current_password?, new_password?)))?;
    let client = crate::context::client_info(&state);
    let user = account::change_password(
        &state,
        &current,
        &user,
        current_password,
        new_password,
        sign_out_others.is_some(),
        &client,
    )
    .await?;
    crate::context::set_cookies([session::access_cookie(&state, &user, &current)]);
    Ok(())
}

/// Deletes the signed-in user's account, with their tasks and sessions, once
/// `password` is theirs, and goes to the sign-in page.
#[server(prefix = "/fn", endpoint = "delete-account")]
pub async fn delete_account(password: String) -> Result<(), AppError> {
    use crate::auth::{
        service::{account, credentials},
        types::Password,
    };
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    let password =
        Password::presented("password", &password).map_err(|e| AppError::Validation(vec![e]))?;
    account::delete_account(
        &state,
        &user,
        &session,
        password,
        &crate::context::client_info(&state),
    )
    .await?;
    crate::context::set_cookies(credentials::cleared_cookies(&state));
    leptos_axum::redirect("/sign-in?reason=deleted");
    Ok(())
}

/// Emails a password reset link to `email` if it has an account, and says so either way
/// (`RESET_REQUESTED`).
#[server(prefix = "/fn", endpoint = "request-password-reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use crate::{
        auth::{service::password_reset, types::Email},
        redirect::RedirectTarget,
    };
    let state = crate::state::AppState::from_context()?;
    let email = Email::parse(&email).map_err(|e| AppError::Validation(vec![e]))?;
    let callback =
        RedirectTarget::or_default(Some(password_reset::RESET_PAGE), &state.site.public_origin);
    let client = crate::context::client_info(&state);
    password_reset::request_reset(&state, email, callback, &client)?;
    leptos_axum::redirect(RESET_REQUESTED);
    Ok(())
}

/// Sets a new password with the token of a reset link, then goes to sign-in: every
/// session of the account has ended, this browser's too.
///
/// It does not sign the person in. The link proves only that someone could read the
/// mailbox; signing in with the new password, as anyone else would, also lets the
/// browser's password manager store it, and keeps a reset from being a way around
/// `REQUIRE_EMAIL_VERIFICATION` or a disabled account's refusal.
#[server(prefix = "/fn", endpoint = "reset-password")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use crate::auth::service::{account, credentials, password_reset};
    let state = crate::state::AppState::from_context()?;
    let password = account::new_password("newPassword", &new_password)
        .map_err(|e| AppError::Validation(vec![e]))?;
    let client = crate::context::client_info(&state);
    password_reset::reset_password(&state, &token, password, &client).await?;
    crate::context::set_cookies(credentials::cleared_cookies(&state));
    leptos_axum::redirect(PASSWORD_WAS_RESET);
    Ok(())
}

/// Emails the signed-in user a new link that verifies their address, and goes back to
/// `next` (the page the banner was on) saying so.
#[server(prefix = "/fn", endpoint = "send-verification-email")]
pub async fn send_verification_email(next: Option<String>) -> Result<(), AppError> {
    use crate::{auth::service::emails, paths::VERIFIED_PAGE, redirect::RedirectTarget};
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    let origin = &state.site.public_origin;
    if !user.email_verified {
        let callback = RedirectTarget::or_default(Some(VERIFIED_PAGE), origin);
        let client = crate::context::client_info(&state);
        let asked_by = Some(session.id.as_str());
        emails::send_verification(&state, &user, asked_by, &callback, &client).await?;
    }
    let back = RedirectTarget::or_default(next.as_deref(), origin);
    leptos_axum::redirect(back.with_query("verification", "sent").as_str());
    Ok(())
}

/// What the emailed link that holds `token` will do once confirmed, for its page to say:
/// found without using the link.
#[server(prefix = "/fn", endpoint = "describe-email-link")]
pub async fn describe_email_link(token: String) -> Result<EmailLink, AppError> {
    let state = crate::state::AppState::from_context()?;
    crate::auth::service::email_verification::describe_link(&state, &token).await
}

/// Opens the emailed link that holds `token` (verifies the address, approves a move, or
/// moves the account), in this browser's session if any, and goes where `verify-email`
/// sends a browser: to `callback_url` (`/email-verified` when absent), with `?error=`
/// when the link was refused, `?approved=true` when it approved a move. The link's page
/// posts it when its button is pressed, so that fetching the link does nothing.
#[server(prefix = "/fn", endpoint = "confirm-email")]
pub async fn confirm_email(token: String, callback_url: Option<String>) -> Result<(), AppError> {
    use crate::auth::service::{email_verification, password_reset::callback_target};
    let state = crate::state::AppState::from_context()?;
    let callback = callback_target(
        &state,
        callback_url.as_deref().filter(|raw| !raw.is_empty()),
        crate::paths::VERIFIED_PAGE,
        "INVALID_CALLBACK_URL",
    )?;
    let current = crate::context::cookie_session(&state).await?;
    let session = current.as_ref().map(|(session, _)| session);
    let client = crate::context::client_info(&state);
    let (opened, cookie) =
        email_verification::follow_link(&state, &token, session, &callback, &client).await?;
    crate::context::set_cookies(cookie);
    leptos_axum::redirect(email_verification::landing(&callback, &opened).as_str());
    Ok(())
}

/// Emails a link that verifies `email` when it has an account waiting for one: the
/// sign-in page offers it when sign-in was refused for that reason. Says the same either
/// way (`CHECK_YOUR_EMAIL`).
#[server(prefix = "/fn", endpoint = "resend-verification")]
pub async fn resend_verification(email: String) -> Result<(), AppError> {
    use crate::{
        auth::{service::email_verification, types::Email},
        redirect::RedirectTarget,
    };
    let state = crate::state::AppState::from_context()?;
    let email = Email::parse(&email).map_err(|e| AppError::Validation(vec![e]))?;
    let callback =
        RedirectTarget::or_default(Some(crate::paths::VERIFIED_PAGE), &state.site.public_origin);
    let client = crate::context::client_info(&state);
    email_verification::request_verification(&state, email, callback, &client)?;
    leptos_axum::redirect(CHECK_YOUR_EMAIL);
    Ok(())
}

/// Where asking for a change of address leads: the account page, saying where the link
/// went.
pub const EMAIL_CHANGE_REQUESTED: &str = "/account?email=sent";

/// Emails a link to `new_email` once `email_password` is the signed-in user's; their
/// account moves to it when the link is opened. The password, as for a new password:
/// whoever has only the session (a browser left signed in) must not be able to move the
/// account to an address they read, and then reset its password from there.
#[server(prefix = "/fn", endpoint = "change-email")]
pub async fn change_email(new_email: String, email_password: String) -> Result<(), AppError> {
    use crate::{
        audit::EventKind,
        auth::{
            service::{email_verification, session},
            types::{Email, Password},
        },
        error::FieldErrors,
        redirect::RedirectTarget,
    };
    let state = crate::state::AppState::from_context()?;
    let (session, user) = crate::context::require_session(&state).await?;
    let mut fields = FieldErrors::default();
    let new = fields.check(Email::parse(&new_email).map_err(|e| e.on_field("newEmail")));
    let password = fields.check(Password::presented("emailPassword", &email_password));
    let (new, password) = fields.finish(|| Some((new?, password?)))?;
    let client = crate::context::client_info(&state);
    session::check_password(
        &state,
        &client,
        (&user, &session),
        EventKind::EmailChangeRequested,
        "emailPassword",
        password,
    )
    .await?;
    let callback =
        RedirectTarget::or_default(Some(crate::paths::VERIFIED_PAGE), &state.site.public_origin);
    let (asked_by, proof) = (&session.id, email_verification::Proof::Password);
    email_verification::request_email_change(
        &state, &user, asked_by, new, proof, &callback, &client,
    )
    .await?;
    leptos_axum::redirect(EMAIL_CHANGE_REQUESTED);
    Ok(())
}
