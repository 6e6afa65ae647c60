//! Proving an address, with Better Auth's routes and shapes: (re)sending the link that
//! verifies an account's address (`send-verification-email`), asking to move the
//! account to a new address (`change-email`), and opening the links (`verify-email`).
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
        account::Updated,
        emails::{self, send_verification},
        extract::CurrentSession,
        password_reset::callback_target,
        session,
        store::{
            email_tokens::{self, Lookup, Purpose},
            sessions::Session,
            user_changes::{self, LinkOutcome},
            users,
        },
        types::{Email, EmailLink, Password, User},
    },
    client::ClientInfo,
    error::{AppError, FieldError},
    extract::{ValidJson, ValidQuery},
    mail::letters::{self, Recipient},
    openapi::{
        BadRequest, Internal, NotAuthenticated, PayloadTooLarge, TooManyRequests, Unavailable,
        UnsupportedMediaType, AUTH_TAG,
    },
    paths::VERIFIED_PAGE,
    redirect::RedirectTarget,
    state::AppState,
};
use axum::{
    extract::State,
    http::{header::SET_COOKIE, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_verification_email))
        .routes(routes!(verify_email))
        .routes(routes!(change_email))
}

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
fn refusal_message(code: &str) -> &'static str {
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

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SendVerificationBody {
    #[serde(default)]
    #[schema(required = true, format = Email, max_length = 254)]
    email: String,
    /// The page of this site the link leads to once opened; the site's own page when
    /// absent.
    #[serde(rename = "callbackURL")]
    #[schema(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// (Re)sends the link that verifies an address. With a session, for the caller's own
/// unverified address; without one, answered the same whether or not the address has an
/// account waiting for it.
#[utoipa::path(
    post,
    path = "/send-verification-email",
    tag = AUTH_TAG,
    request_body = SendVerificationBody,
    security((), ("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Sent, or (without a session) nothing to send", body = Updated),
        (status = 400, description = "Not the caller's address (`EMAIL_MISMATCH`), already verified (`EMAIL_ALREADY_VERIFIED`), or not an address", body = crate::error::ValidationErrorBody),
        (status = 403, description = "`callbackURL` is another site (`INVALID_CALLBACK_URL`), or the request came from another origin", body = crate::error::ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn send_verification_email(
    State(state): State<AppState>,
    client: ClientInfo,
    CurrentSession(current): CurrentSession,
    ValidJson(body): ValidJson<SendVerificationBody>,
) -> Result<Json<Updated>, AppError> {
    let email = Email::parse(&body.email).map_err(|e| AppError::Validation(vec![e]))?;
    let callback = callback_target(
        &state,
        body.callback_url.as_deref(),
        VERIFIED_PAGE,
        "INVALID_CALLBACK_URL",
    )?;
    match current {
        None => request_verification(&state, email, callback, &client)?,
        Some((session, user, _)) => {
            if email.as_str() != user.email {
                return Err(refused("email", "EMAIL_MISMATCH", "Email mismatch"));
            }
            if user.email_verified {
                return Err(refused(
                    "email",
                    "EMAIL_ALREADY_VERIFIED",
                    "Email is already verified",
                ));
            }
            send_verification(&state, &user, Some(&session.id), &callback, &client).await?;
        }
    }
    Ok(Json(Updated { status: true }))
}

fn refused(field: &str, code: &'static str, message: &str) -> AppError {
    AppError::Validation(vec![FieldError::body(field, message).with_code(code)])
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VerifyEmailQuery {
    /// The token of the emailed link.
    #[serde(default)]
    #[param(required = true)]
    token: String,
    /// Where to go afterwards: with `?error=` when the link was refused.
    #[serde(rename = "callbackURL")]
    #[param(rename = "callbackURL")]
    callback_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Verified {
    status: bool,
    /// The account as it is now; absent when the link approved a move, which changes
    /// nothing yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User>,
}

/// Opens a verification, approval or change-of-address link with its token, as Better
/// Auth's client does (`verifyEmail`). The emailed link itself leads to the site's
/// `/confirm-email` page, which opens it only when a person presses its button: mail
/// gateways fetch the links they pass on. With `callbackURL`, redirects there: with `?error=INVALID_TOKEN`,
/// `TOKEN_EXPIRED` or `USER_ALREADY_EXISTS` when the link was refused, with
/// `?approved=true` when it approved a move (whose link is then sent to the new
/// address); without, answers JSON. A session of the account in the request gets its
/// access cookie minted again.
#[utoipa::path(
    get,
    path = "/verify-email",
    tag = AUTH_TAG,
    params(VerifyEmailQuery),
    security(()),
    responses(
        (status = 200, description = "Verified, moved to the new address, or the move approved", body = Verified),
        (status = 302, description = "To `callbackURL`", headers(
            ("Location" = String, description = "`callbackURL`, with `error` in its query when the link was refused"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, description = "`callbackURL` is another site (`INVALID_CALLBACK_URL`)", body = crate::error::ErrorBody),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    client: ClientInfo,
    CurrentSession(current): CurrentSession,
    ValidQuery(query): ValidQuery<VerifyEmailQuery>,
) -> Result<Response, AppError> {
    let callback = query
        .callback_url
        .as_deref()
        .map(|raw| callback_target(&state, Some(raw), VERIFIED_PAGE, "INVALID_CALLBACK_URL"))
        .transpose()?;
    let next = callback.clone().unwrap_or_else(|| {
        RedirectTarget::or_default(Some(VERIFIED_PAGE), &state.site.public_origin)
    });
    let session = current.as_ref().map(|(session, _, _)| session);
    let (opened, cookie) = follow_link(&state, &query.token, session, &next, &client).await?;
    let mut response = match (callback, opened) {
        (Some(callback), opened) => landing(&callback, &opened).found(),
        (None, Opened::Done(user)) => Json(Verified {
            status: true,
            user: Some(user),
        })
        .into_response(),
        (None, Opened::Approved) => Json(Verified {
            status: true,
            user: None,
        })
        .into_response(),
        (None, Opened::Refused("UNAUTHORIZED")) => AppError::Unauthenticated.into_response(),
        (None, Opened::Refused(code)) => {
            AppError::InvalidToken(refusal_message(code).to_owned()).into_response()
        }
    };
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// How long after signing in a session may move its account to another address, as
/// Better Auth's `freshAge` (a day): a session found later in a forgotten browser may not.
const FRESH_AGE_SECS: i64 = 24 * 3600;

fn is_fresh(state: &AppState, session: &Session) -> bool {
    session.created_at.plus_secs(FRESH_AGE_SECS) > state.clock.now()
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChangeEmailBody {
    #[serde(default)]
    #[schema(required = true, format = Email, max_length = 254)]
    new_email: String,
    /// The page of this site the link leads to once opened; the site's own page when
    /// absent.
    #[serde(rename = "callbackURL")]
    #[schema(rename = "callbackURL")]
    callback_url: Option<String>,
    /// The account's password. Without it the current address approves the move first,
    /// as it always does when it is verified.
    #[schema(min_length = 1)]
    password: Option<String>,
}

/// Mails a link to a new address once the current address has approved the move (asked
/// for by email first, unless the body carries the password and the current address
/// was never verified); the caller's account moves to it when the link is opened. An
/// address that has an account is answered the same, and gets no email.
#[utoipa::path(
    post,
    path = "/change-email",
    tag = AUTH_TAG,
    request_body = ChangeEmailBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Asked; the link is on its way", body = Updated),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, description = "The session began more than a day ago (`SESSION_NOT_FRESH`), `callbackURL` is another site (`INVALID_CALLBACK_URL`), or the request came from another origin", body = crate::error::ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn change_email(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<ChangeEmailBody>,
) -> Result<Json<Updated>, AppError> {
    let (session, user) = current.signed_in()?;
    if !is_fresh(&state, &session) {
        return Err(AppError::forbidden(
            "SESSION_NOT_FRESH",
            "Session is not fresh: sign in again to change your email",
        ));
    }
    let new = Email::parse(&body.new_email)
        .map_err(|e| AppError::Validation(vec![e.on_field("newEmail")]))?;
    let callback = callback_target(
        &state,
        body.callback_url.as_deref(),
        VERIFIED_PAGE,
        "INVALID_CALLBACK_URL",
    )?;
    let proof = match body.password.as_deref() {
        None => Proof::SessionOnly,
        Some(password) => {
            let password = Password::presented("password", password)
                .map_err(|e| AppError::Validation(vec![e]))?;
            let event = EventKind::EmailChangeRequested;
            session::check_password(&state, &client, &user, event, "password", password).await?;
            Proof::Password
        }
    };
    request_email_change(&state, &user, &session.id, new, proof, &callback, &client).await?;
    Ok(Json(Updated { status: true }))
}
