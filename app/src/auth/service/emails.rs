//! The emails the account services send: a link (that verifies an address, approves or
//! makes a move to another, or resets a password) made and mailed, asked for with a
//! session or without one, and the word to an address's owner that someone tried to
//! sign up with it. The links' tokens are stored by `email_tokens`.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        store::{
            email_tokens::{issue, Purpose},
            users,
        },
        types::{Email, User},
    },
    client::ClientInfo,
    error::AppError,
    mail::letters::{self, Recipient},
    redirect::RedirectTarget,
    state::AppState,
};

/// Makes a link for `purpose` about `user` and `address`, asked for by the session
/// `asked_by` (`None`: signed out), that leads to `callback` once opened, and mails it
/// to `address` (an approval to move to `address`, to the account's own): a reset link
/// to the page that sets a new password, the others to the page that confirms them
/// (`/confirm-email`).
pub async fn mail_link(
    state: &AppState,
    user: &User,
    purpose: Purpose,
    address: &str,
    asked_by: Option<&str>,
    callback: &RedirectTarget,
) -> Result<(), sqlx::Error> {
    let lifetime = match purpose {
        Purpose::ResetPassword => state.site.reset_link_lifetime_secs,
        Purpose::VerifyEmail | Purpose::ApproveEmailChange | Purpose::ChangeEmail => {
            state.site.verification_link_lifetime_secs
        }
    };
    let token = issue(
        &state.db,
        purpose,
        &user.id,
        address,
        asked_by,
        lifetime,
        state.clock.now(),
    )
    .await?;
    let origin = &state.site.public_origin;
    let callback: String =
        url::form_urlencoded::byte_serialize(callback.as_str().as_bytes()).collect();
    let link = match purpose {
        Purpose::ResetPassword => {
            format!("{origin}/api/auth/reset-password/{token}?callbackURL={callback}")
        }
        Purpose::VerifyEmail | Purpose::ApproveEmailChange | Purpose::ChangeEmail => {
            // A page that asks before it acts: mail gateways fetch every link they pass on.
            format!("{origin}/confirm-email?token={token}&callbackURL={callback}")
        }
    };
    let to = Recipient {
        user_id: &user.id,
        address: match purpose {
            Purpose::ApproveEmailChange => &user.email,
            _ => address,
        },
    };
    let words = letters::duration_in_words(lifetime);
    let letter = match purpose {
        Purpose::ResetPassword => letters::password_reset(to, origin, &link, &words),
        Purpose::VerifyEmail => letters::verify_email(to, origin, &link, &words),
        Purpose::ApproveEmailChange => {
            letters::approve_email_change(to, origin, &link, &words, address)
        }
        Purpose::ChangeEmail => letters::confirm_new_email(to, origin, &link, &words),
    };
    state.mail.send(letter);
    Ok(())
}

/// Answers a request for a link of `purpose` to `email` that nobody signed in made (a
/// reset, a verification link asked for from the sign-in page): no session asked for
/// it, so revoking sessions never cancels it. It is counted against the client and the
/// address; the rest happens in a task of its own, so the answer is the same, and as
/// quick, whether or not the address has an account: the link goes, within the
/// account's limit and audited as `event`, when the address has an account that `wants`
/// one (given the account and its password hash).
pub fn mail_on_request(
    state: &AppState,
    email: Email,
    purpose: Purpose,
    callback: RedirectTarget,
    client: &ClientInfo,
    event: EventKind,
    wants: fn(&User, &str) -> bool,
) -> Result<(), AppError> {
    state
        .limits
        .email_requested(client.address(), email.as_str())?;
    let (state, client) = (state.clone(), client.clone());
    tokio::spawn(async move {
        let found = users::find_user_with_hash_by_email(&state.db, email.as_str()).await;
        let user = match found {
            Ok(Some((user, hash))) if wants(&user, &hash) => user,
            Ok(_) => return,
            Err(cause) => {
                tracing::error!(%cause, ?purpose, "could not look up an account for an email");
                return;
            }
        };
        if state.limits.email_about_account(&user.id).is_err() {
            tracing::warn!(user_id = %user.id, ?purpose, "too many emails about this account: none sent");
            return;
        }
        let mailed = mail_link(&state, &user, purpose, &user.email, None, &callback).await;
        if let Err(cause) = mailed {
            tracing::error!(%cause, ?purpose, "could not prepare an email");
            return;
        }
        let entry = Entry::new(event, Outcome::Success, &client).user(&user.id, &user.email);
        record(&state.db, entry).await;
    });
    Ok(())
}

/// Emails `user` a link that verifies their address, leading to `callback`. Counted
/// against the account and against the verifications its address gets
/// (`RATE_LIMIT_EMAILS_PER_*`): only a signed-in person, or a sign-up (under its own
/// limits), asks for it; `asked_by` is the session that asks, if any.
pub async fn send_verification(
    state: &AppState,
    user: &User,
    asked_by: Option<&str>,
    callback: &RedirectTarget,
    client: &ClientInfo,
) -> Result<(), AppError> {
    state.limits.email_about_account(&user.id)?;
    state.limits.verification_to_address(&user.email)?;
    mail_link(
        state,
        user,
        Purpose::VerifyEmail,
        &user.email,
        asked_by,
        callback,
    )
    .await?;
    let entry = Entry::new(EventKind::VerificationEmailSent, Outcome::Success, client)
        .user(&user.id, &user.email);
    record(&state.db, entry).await;
    Ok(())
}

/// Tells the owner of `email` that someone tried to sign up with it, under
/// `REQUIRE_EMAIL_VERIFICATION` (whose answer to that sign-up keeps the account secret):
/// if it was them, how to get in; if not, that someone tried. Counted against the
/// address as the new account's link would be.
pub async fn tell_owner_of_sign_up(
    state: &AppState,
    email: &Email,
    client: &ClientInfo,
) -> Result<(), AppError> {
    state
        .limits
        .email_to_address(client.address(), email.as_str())?;
    let found = users::find_user_with_hash_by_email(&state.db, email.as_str()).await?;
    if let Some((owner, _)) = found {
        let to = Recipient {
            user_id: &owner.id,
            address: &owner.email,
        };
        let origin = &state.site.public_origin;
        state
            .mail
            .send(letters::sign_up_with_your_address(to, origin));
    }
    Ok(())
}
