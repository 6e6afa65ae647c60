//! Proving an address (Better Auth's routes for it are in `web::email_verification`):
//! (re)sending the link that verifies an account's address (`send-verification-email`),
//! asking to move the account to a new address (`change-email`), and opening the links
//! (`verify-email`).
//!
//! A link is for the address it was sent to: it verifies the account only while that
//! is still the account's address, and a change of address happens only when the new
//! address's link is opened, so nobody can claim an address they cannot read. A move
//! must first be approved from the account's current address (as Better Auth does with
//! `sendChangeEmailConfirmation`), in a browser signed in to the account, unless the
//! request carries the account's password and that address was never verified: a
//! session alone, left open or stolen, cannot move the account to an address of
//! someone else's choosing and reset its password there, verified or not. The address
//! the account left is told. Every change revokes the tokens minted before it, which
//! carry the old `email` and `emailVerified`.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        service::{
            emails::{self},
            session,
        },
        store::{
            email_tokens::{self, Lookup, Purpose},
            sessions::Session,
            user_changes::{self, LinkOutcome},
            users,
        },
        types::{Email, EmailLink, User},
    },
    client::ClientInfo,
    error::{AppError, FieldError},
    mail::letters::{self, Recipient},
    redirect::RedirectTarget,
    state::AppState,
};
use axum::http::HeaderValue;

/// Asks for a verification link for `email` without a session (the sign-in page of an
/// unverified account): answered the same whether or not the address has an account
/// that waits for one.
pub fn request_verification(
    state: &AppState,
    email: Email,
    callback: RedirectTarget,
    client: &ClientInfo,
) -> Result<(), AppError> {
    emails::mail_on_request(
        state,
        email,
        Purpose::VerifyEmail,
        callback,
        client,
        EventKind::VerificationEmailSent,
        |user, _| !user.email_verified && !user.banned,
    )
}

/// What the person asking to move an account showed besides its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The account's password, checked in this request.
    Password,
    /// Nothing: a session may be a browser left signed in, or a token lifted from a
    /// script.
    SessionOnly,
}

/// Asks to move `user`'s account to `new`. The current address approves it first when
/// it is verified, or when nothing but the session vouches for the request; otherwise
/// (and once approved) a link goes to `new`, and the account moves when it is opened.
/// An address another account has gets the same answer and no email. `asked_by` is the
/// session that asks.
pub async fn request_email_change(
    state: &AppState,
    user: &User,
    asked_by: &str,
    new: Email,
    proof: Proof,
    callback: &RedirectTarget,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if new.as_str() == user.email {
        return Err(AppError::Validation(vec![FieldError::body(
            "newEmail",
            "This is already your email",
        )
        .with_code("EMAIL_IS_THE_SAME")]));
    }
    // The approval and the new address's link both count against the account; the new
    // address counts when its link goes (`link_new_address`), so that approvals nobody
    // opens cannot use up the moves to someone's address.
    state.limits.email_about_account(&user.id)?;
    let entry = Entry::new(EventKind::EmailChangeRequested, Outcome::Success, client)
        .user(&user.id, &user.email);
    if user.email_verified || proof == Proof::SessionOnly {
        let purpose = Purpose::ApproveEmailChange;
        emails::mail_link(state, user, purpose, new.as_str(), Some(asked_by), callback).await?;
        let entry = entry.detail("to be approved from the current address");
        record(&state.db, entry).await;
        return Ok(());
    }
    link_new_address(state, user, Some(asked_by), new, callback, entry).await
}

/// Mails `new` the link that moves `user`'s account to it, asked for by the session
/// `asked_by`, and audits `entry`; an address another account has gets no email, after
/// the same work.
async fn link_new_address(
    state: &AppState,
    user: &User,
    asked_by: Option<&str>,
    new: Email,
    callback: &RedirectTarget,
    entry: Entry<'_>,
) -> Result<(), AppError> {
    state.limits.email_to_new_address(new.as_str())?;
    let taken = users::find_user_with_hash_by_email(&state.db, new.as_str())
        .await?
        .is_some();
    if taken {
        // The same work as for a free address, so the answer takes as long; the token
        // is never sent, and could not move the account to a taken address anyway.
        let lifetime = state.site.verification_link_lifetime_secs;
        email_tokens::issue(
            &state.db,
            Purpose::ChangeEmail,
            &user.id,
            new.as_str(),
            asked_by,
            lifetime,
            state.clock.now(),
        )
        .await?;
        record(
            &state.db,
            entry.detail("the new address has an account: no email sent"),
        )
        .await;
        return Ok(());
    }
    let purpose = Purpose::ChangeEmail;
    emails::mail_link(state, user, purpose, new.as_str(), asked_by, callback).await?;
    record(&state.db, entry).await;
    Ok(())
}

/// What opening a link did.
pub enum Opened {
    /// The account as it is now: verified, or moved to the link's address.
    Done(User),
    /// The move to another address was approved, and that address's link sent.
    Approved,
    /// Better Auth's code for why not: `INVALID_TOKEN`, `TOKEN_EXPIRED`, `INVALID_USER`
    /// (the browser is signed in as someone else), `USER_ALREADY_EXISTS` when another
    /// account took the address meanwhile, or `UNAUTHORIZED` for an approval opened
    /// where nobody is signed in.
    Refused(&'static str),
}

/// Opens the verification, approval or change-of-address link that holds `token`, in a
/// browser signed in as `signed_in_as` if anyone: a link of another account than that
/// is refused (`INVALID_USER`), as Better Auth does, so that nobody verifies or moves
/// someone else's account from a browser they think holds their own. An approved move's
/// link to the new address leads to `callback`.
pub async fn open_link(
    state: &AppState,
    token: &str,
    signed_in_as: Option<&str>,
    callback: &RedirectTarget,
    client: &ClientInfo,
) -> Result<Opened, AppError> {
    let (purpose, found) = match find_link(state, token).await? {
        Ok(link) => link,
        Err(code) => return Ok(Opened::Refused(code)),
    };
    if signed_in_as.is_some_and(|id| id != found.user_id) {
        return Ok(Opened::Refused("INVALID_USER"));
    }
    let (db, known) = (&state.db, &state.revocations);
    let outcome = match purpose {
        Purpose::ApproveEmailChange => {
            // Only from a browser signed in to the account: a mail gateway that opens
            // every link it passes on (to scan it) cannot approve a move that a stolen
            // session asked for.
            if signed_in_as.is_none() {
                return Ok(Opened::Refused("UNAUTHORIZED"));
            }
            let mut tx = db.begin().await?;
            let approved =
                email_tokens::consume(&mut tx, purpose, token, state.clock.now()).await?;
            tx.commit().await?;
            let user = users::find_user(db, &found.user_id).await?;
            let approved = approved.zip(user.filter(|user| !user.banned));
            let Some((approved, user)) = approved else {
                return Ok(Opened::Refused("INVALID_TOKEN"));
            };
            let Ok(new) = Email::parse(&approved.email) else {
                return Ok(Opened::Refused("INVALID_TOKEN"));
            };
            let entry = Entry::new(EventKind::EmailChangeRequested, Outcome::Success, client)
                .user(&user.id, &user.email)
                .detail("approved from the current address");
            // Still the move the asking session asked for: revoking it cancels the link.
            link_new_address(
                state,
                &user,
                approved.session_id.as_deref(),
                new,
                callback,
                entry,
            )
            .await?;
            return Ok(Opened::Approved);
        }
        Purpose::ChangeEmail => {
            let before = users::find_user(db, &found.user_id).await?;
            let moved = user_changes::move_email(db, known, &found, token).await?;
            if let (LinkOutcome::Done(user), Some(before)) = (&moved, before) {
                let entry = Entry::new(EventKind::EmailChanged, Outcome::Success, client)
                    .user(&user.id, &user.email)
                    .detail(format!("from {}", before.email));
                record(db, entry).await;
                let to = Recipient {
                    user_id: &user.id,
                    address: &before.email,
                };
                let origin = &state.site.public_origin;
                state
                    .mail
                    .send(letters::email_changed(to, origin, &user.email));
            }
            moved
        }
        Purpose::VerifyEmail | Purpose::ResetPassword => {
            let verified = user_changes::verify_email(db, known, &found, token).await?;
            if let LinkOutcome::Done(user) = &verified {
                let entry = Entry::new(EventKind::EmailVerified, Outcome::Success, client)
                    .user(&user.id, &user.email);
                record(db, entry).await;
            }
            verified
        }
    };
    Ok(match outcome {
        LinkOutcome::Done(user) => Opened::Done(user),
        LinkOutcome::Refused => Opened::Refused("INVALID_TOKEN"),
        LinkOutcome::AddressTaken => Opened::Refused("USER_ALREADY_EXISTS"),
    })
}

/// Opens the link that holds `token` as `open_link` does, in the browser's `session` if
/// any, with the access cookie that session needs once its account changed.
pub async fn follow_link(
    state: &AppState,
    token: &str,
    session: Option<&Session>,
    callback: &RedirectTarget,
    client: &ClientInfo,
) -> Result<(Opened, Option<HeaderValue>), AppError> {
    let signed_in_as = session.map(|session| session.user_id.as_str());
    let opened = open_link(state, token, signed_in_as, callback, client).await?;
    let cookie = match (&opened, session) {
        (Opened::Done(user), Some(session)) if session.user_id == user.id => {
            Some(session::access_cookie(state, user, session))
        }
        _ => None,
    };
    Ok((opened, cookie))
}

/// Where a browser goes once a link was opened: `callback`, with `?error=` when it was
/// refused, `?approved=true` when it approved a move.
pub fn landing(callback: &RedirectTarget, opened: &Opened) -> RedirectTarget {
    match opened {
        Opened::Done(_) => callback.clone(),
        Opened::Approved => callback.with_query("approved", "true"),
        Opened::Refused(code) => callback.with_query("error", code),
    }
}

/// What opening the link that holds `token` would do, found without using it: the page
/// an emailed link leads to says it, and opens the link only when its button is pressed,
/// so a mail gateway that fetches every link it passes on does nothing.
pub async fn describe_link(state: &AppState, token: &str) -> Result<EmailLink, AppError> {
    let refused = |code: &str| EmailLink::Refused {
        code: code.to_owned(),
    };
    let (purpose, found) = match find_link(state, token).await? {
        Ok(link) => link,
        Err(code) => return Ok(refused(code)),
    };
    let (from, to) = match users::find_user(&state.db, &found.user_id).await? {
        Some(user) => (user.email, found.email),
        None => return Ok(refused("INVALID_TOKEN")),
    };
    Ok(match purpose {
        Purpose::ApproveEmailChange => EmailLink::ApproveMove { from, to },
        Purpose::ChangeEmail => EmailLink::Move { to },
        // A link to an address the account has left verifies nothing.
        _ if from != to => refused("INVALID_TOKEN"),
        _ => EmailLink::Verify { email: to },
    })
}

/// What Better Auth says for each refusal of a link.
pub fn refusal_message(code: &str) -> &'static str {
    match code {
        "TOKEN_EXPIRED" => "Token expired",
        "USER_ALREADY_EXISTS" => "User already exists",
        "INVALID_USER" => "Invalid user",
        _ => "Invalid token",
    }
}

/// The link `token` belongs to, of the kinds `verify-email` opens, without using it; or
/// why it cannot be used: `TOKEN_EXPIRED`, `INVALID_TOKEN`.
async fn find_link(
    state: &AppState,
    token: &str,
) -> Result<Result<(Purpose, email_tokens::Found), &'static str>, sqlx::Error> {
    let kinds = [
        Purpose::VerifyEmail,
        Purpose::ApproveEmailChange,
        Purpose::ChangeEmail,
    ];
    for purpose in kinds {
        match email_tokens::look_up(&state.db, purpose, token, state.clock.now()).await? {
            Lookup::Unknown => {}
            Lookup::Expired => return Ok(Err("TOKEN_EXPIRED")),
            Lookup::Valid(found) => return Ok(Ok((purpose, found))),
        }
    }
    Ok(Err("INVALID_TOKEN"))
}
