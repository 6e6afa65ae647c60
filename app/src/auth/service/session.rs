//! Signing up, in and out, refreshing, and revoking: the steps shared by the server
//! functions and the JSON routes.
//!
//! A sign-in creates a session row and hands out two credentials, both in HttpOnly
//! cookies: the opaque session token (Better Auth's session cookie, stored only as a
//! SHA-256 hash) and a short-lived access JWT for the tasks API. Page scripts see neither.
//!
//! The session token is also the browser's refresh credential: every refresh exchanges
//! it for a new one and a new JWT. Old tokens are kept (hashed). One presented again
//! after a short grace period (for two tabs refreshing at once) means it was copied, so
//! the whole session is revoked, unless it is the token just before the current one
//! and the current one has never been presented: then the answer that carried the new
//! token was lost on the way, and the token is issued again. Sessions slide: used after `update_age`, they are
//! extended to a full lifetime again.

use super::attempts::{
    admit_password_attempt, counted_as, in_session, known_browser_cookie, password_failed,
    password_matched,
};
use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        service::emails,
        store::{
            sessions::{self, NewSession, Session, SessionEnd},
            two_factor, user_changes, users,
        },
        token::{Scope, Subject},
        types::{Credentials, Email, Password, Registration, User, UserName},
    },
    client::ClientInfo,
    clock::Timestamp,
    db::{self, hash_token, new_secret_token},
    error::{AppError, FieldError},
    paths::VERIFIED_PAGE,
    redirect::RedirectTarget,
    state::AppState,
};

pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub session_token: String,
    pub access_token: String,
    /// The `known_browser` cookie's new value, when the sign-in proved the password:
    /// this browser signed in to this account.
    pub known_browser: Option<String>,
}

/// The cookies a browser brings to a sign-in that speak for it.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserCookies<'a> {
    /// The `trust_device` cookie's token: a browser trusted to skip the second factor.
    pub trusted_device: Option<&'a str>,
    /// The `known_browser` cookie: a browser that signed in to an account before.
    pub known_browser: Option<&'a str>,
}

/// How long a sign-in waits for its second factor (Better Auth's `two_factor` cookie
/// lives as long).
pub const CHALLENGE_SECS: i64 = 10 * 60;

/// How a sign-in with the right password ended.
pub enum SignIn {
    Done(Box<SignedIn>),
    /// The account asks for a second factor: no session and no token exist yet.
    /// `challenge` names the wait (the `two_factor` cookie); `methods` are Better Auth's
    /// `twoFactorMethods`.
    SecondFactor {
        challenge: String,
        methods: Vec<&'static str>,
    },
}

/// How a password sign-in proves who the person is (RFC 8176), as sessions store it.
pub const PASSWORD_ONLY: &str = "pwd";

/// A new account: signed in, or, with `REQUIRE_EMAIL_VERIFICATION`, waiting for its
/// address to be verified (a link is on its way) before it may sign in.
pub enum SignedUp {
    In(Box<SignedIn>),
    AwaitingVerification(User),
}

pub async fn sign_up(
    state: &AppState,
    form: Registration,
    client: &ClientInfo,
) -> Result<SignedUp, AppError> {
    state.limits.sign_up_attempt(client.address())?;
    let hash = state.passwords.hash(form.password).await?;
    // Everyone signs up as a plain user. Nothing proves that whoever types an address owns
    // it, so granting a role by address at sign-up (`ADMIN_EMAILS` did) hands it to
    // whoever registers that address first. Admins are made by `server make-admin` or by
    // another admin.
    let Some(user) = users::insert_user(
        &state.db,
        form.name.as_str(),
        form.email.as_str(),
        &hash,
        state.clock.now(),
    )
    .await?
    else {
        let entry = Entry::new(EventKind::SignUp, Outcome::Failure, client)
            .email(form.email.as_str())
            .detail("email already registered");
        record(&state.db, entry).await;
        if state.site.require_email_verification {
            // Answered as a new account waiting for its link, as Better Auth does: the
            // sign-up tells nobody which addresses have accounts, as the reset and
            // verification requests do not. The owner is told instead.
            if let Err(e) = emails::tell_owner_of_sign_up(state, &form.email, client).await {
                tracing::debug!(cause = %e, "the owner of the address is not told of the sign-up");
            }
            return Ok(SignedUp::AwaitingVerification(unsaved_user(
                &form.name,
                &form.email,
                state.clock.now(),
            )));
        }
        return Err(AppError::Conflict {
            code: crate::error::USER_ALREADY_EXISTS.to_owned(),
            message: "An account with this email already exists".to_owned(),
        });
    };
    let entry = Entry::new(EventKind::SignUp, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail(format!("role {}", user.role.as_str()));
    record(&state.db, entry).await;
    if state.site.require_email_verification {
        let callback = RedirectTarget::or_default(Some(VERIFIED_PAGE), &state.site.public_origin);
        // The account exists either way: a refused email is sent again from sign-in.
        // Counted against the address as the owner's notice of a second sign-up is, so
        // the limit tells no more than the answer.
        let sent = match state.limits.email_to_address(client.address(), &user.email) {
            // No session asks: the account may sign in once the link is opened.
            Ok(()) => emails::send_verification(state, &user, None, &callback, client).await,
            Err(limited) => Err(limited),
        };
        if let Err(e) = sent {
            tracing::warn!(user_id = %user.id, cause = %e, "no verification email at sign-up");
        }
        return Ok(SignedUp::AwaitingVerification(user));
    }
    start_session(state, user, client, None, PASSWORD_ONLY)
        .await?
        .map(|signed_in| SignedUp::In(Box::new(signed_in)))
        .ok_or_else(account_disabled)
}

/// The account a sign-up would have made, never stored: the answer to a sign-up for an
/// address that has one, while `REQUIRE_EMAIL_VERIFICATION` keeps that secret.
fn unsaved_user(name: &UserName, email: &Email, now: Timestamp) -> User {
    let now = now.to_string();
    User {
        id: db::new_id(),
        email: email.as_str().to_owned(),
        name: name.as_str().to_owned(),
        email_verified: false,
        image: None,
        created_at: now.clone(),
        updated_at: now,
        role: Default::default(),
        banned: false,
        ban_reason: None,
        two_factor_enabled: false,
    }
}

/// Better Auth's 403 for a sign-in to an account whose address is not verified yet,
/// under `REQUIRE_EMAIL_VERIFICATION`.
pub fn email_not_verified() -> AppError {
    AppError::forbidden(EMAIL_NOT_VERIFIED, "Email not verified")
}

pub const EMAIL_NOT_VERIFIED: &str = "EMAIL_NOT_VERIFIED";

/// Signs in with an email and a password. An account with second factors on waits for
/// one (`SignIn::SecondFactor`) unless the browser's `trust_device` cookie names a
/// browser it trusts. Failures count against the browser when it signed in to the
/// account before (`counted_as`), else against the client's address.
pub async fn sign_in(
    state: &AppState,
    credentials: Credentials,
    cookies: BrowserCookies<'_>,
    client: &ClientInfo,
) -> Result<SignIn, AppError> {
    let refused = |reason: &'static str| {
        Entry::new(EventKind::SignIn, Outcome::Failure, client)
            .email(credentials.email.as_str())
            .detail(reason)
    };
    let found = users::find_user_with_hash_by_email(&state.db, credentials.email.as_str()).await?;
    let account = found
        .as_ref()
        .map(|(user, hash)| (user.id.as_str(), hash.as_str()));
    let counted_as = counted_as(state, client, cookies.known_browser, account);
    let counted_as = counted_as.as_deref();
    let standing = admit_password_attempt(
        state,
        client,
        counted_as,
        credentials.email.as_str(),
        refused("rate limited"),
    )
    .await?;
    // An account made for a trusted issuer's user has no password (an empty hash): it is
    // checked against the dummy hash like an unknown email, so it takes as long.
    let (user, stored) = match found {
        Some((user, hash)) => (Some(user), Some(hash).filter(|h| !h.is_empty())),
        None => (None, None),
    };
    let matches = state
        .passwords
        .verify(credentials.password.clone(), stored.clone())
        .await?;
    // Hashing can take a while under load: an admin may have disabled the user meanwhile.
    let user = match user {
        Some(user) if matches => users::find_user(&state.db, &user.id).await?,
        other => other,
    };
    match user {
        Some(user) if matches && user.banned => {
            record(&state.db, refused("user disabled").user_id(&user.id)).await;
            Err(account_disabled())
        }
        Some(user) if matches && state.site.require_email_verification && !user.email_verified => {
            password_matched(state, counted_as, credentials.email.as_str(), standing).await?;
            record(&state.db, refused("email not verified").user_id(&user.id)).await;
            Err(email_not_verified())
        }
        Some(user) if matches => {
            let (id, email) = (user.id.clone(), user.email.clone());
            // The client's failures on the account are cleared by a sign-in that is done,
            // not by a right password that still waits for its second factor: wrong
            // codes count as failures too, and a guesser who has the password must not
            // wipe them by signing in again.
            if user.two_factor_enabled && !is_trusted(state, &user, cookies.trusted_device).await? {
                return ask_second_factor(state, &user, stored.as_deref(), counted_as, client)
                    .await;
            }
            password_matched(state, counted_as, credentials.email.as_str(), standing).await?;
            let Some(signed_in) =
                start_session(state, user, client, stored.as_deref(), PASSWORD_ONLY).await?
            else {
                // Disabled, or given a new password, after the check: the session the
                // check allowed must not start.
                let disabled = users::find_user(&state.db, &id)
                    .await?
                    .is_some_and(|user| user.banned);
                let reason = if disabled {
                    "user disabled"
                } else {
                    "password changed"
                };
                record(&state.db, refused(reason).user_id(&id)).await;
                return Err(if disabled {
                    account_disabled()
                } else {
                    AppError::InvalidCredentials
                });
            };
            let entry = Entry::new(EventKind::SignIn, Outcome::Success, client).user(&id, &email);
            record(&state.db, entry).await;
            Ok(SignIn::Done(Box::new(signed_in)))
        }
        user => {
            password_failed(state, counted_as, credentials.email.as_str()).await?;
            let reason = match &user {
                Some(_) => "wrong password",
                None => "unknown email",
            };
            let entry = match &user {
                Some(user) => refused(reason).user_id(&user.id),
                None => refused(reason),
            };
            record(&state.db, entry).await;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Checks a password `user` typed again in their `session` before a change to their
/// account (`event`), under the limits of signing in: the attempt counts against the
/// session and the account as a sign-in does, in every process, and a wrong one is
/// audited. Against the session, not the address (`in_session`): a neighbour guessing
/// the password from the same network does not get the signed-in owner refused. A wrong
/// password is Better Auth's 400 `INVALID_PASSWORD` on `field`.
pub async fn check_password(
    state: &AppState,
    client: &ClientInfo,
    (user, session): (&User, &Session),
    event: EventKind,
    field: &str,
    password: Password,
) -> Result<(), AppError> {
    let counted_as = in_session(session);
    let counted_as = Some(counted_as.as_str());
    let refused = |reason: &'static str| {
        Entry::new(event, Outcome::Failure, client)
            .user(&user.id, &user.email)
            .detail(reason)
    };
    let standing = admit_password_attempt(
        state,
        client,
        counted_as,
        &user.email,
        refused("rate limited"),
    )
    .await?;
    let stored = user_changes::password_hash(&state.db, &user.id)
        .await?
        .filter(|hash| !hash.is_empty());
    if state.passwords.verify(password, stored).await? {
        return password_matched(state, counted_as, &user.email, standing).await;
    }
    password_failed(state, counted_as, &user.email).await?;
    record(&state.db, refused("wrong password")).await;
    Err(AppError::Validation(vec![FieldError::body(
        field,
        "Invalid password",
    )
    .with_code("INVALID_PASSWORD")]))
}

/// What a disabled user is told when they try to sign in.
pub const ACCOUNT_DISABLED: &str = "This account has been disabled";

fn account_disabled() -> AppError {
    AppError::forbidden(crate::error::BANNED_USER, ACCOUNT_DISABLED)
}

/// Whether `token` (the `trust_device` cookie's) names a browser `user` trusts.
async fn is_trusted(state: &AppState, user: &User, token: Option<&str>) -> Result<bool, AppError> {
    let Some(token) = token else {
        return Ok(false);
    };
    let now = state.clock.now();
    Ok(two_factor::is_trusted_device(&state.db, &user.id, &hash_token(token), now).await?)
}

/// Starts the wait for `user`'s second factor, the password having matched
/// `verified_hash`: refused as a disabled account or a wrong password when either
/// changed meanwhile, as a session would be.
///
/// The wait remembers whom the password attempt counted against (`counted_as`), so the
/// codes count against the same.
async fn ask_second_factor(
    state: &AppState,
    user: &User,
    verified_hash: Option<&str>,
    counted_as: Option<&str>,
    client: &ClientInfo,
) -> Result<SignIn, AppError> {
    let challenge = new_secret_token();
    let now = state.clock.now();
    let started = two_factor::insert_challenge(
        &state.db,
        &hash_token(&challenge),
        &user.id,
        verified_hash.unwrap_or_default(),
        counted_as,
        now.plus_secs(CHALLENGE_SECS),
        now,
    )
    .await?;
    if !started {
        let entry = Entry::new(EventKind::SignIn, Outcome::Failure, client)
            .user(&user.id, &user.email)
            .detail("disabled or given a new password during the sign-in");
        record(&state.db, entry).await;
        return Err(AppError::InvalidCredentials);
    }
    let entry = Entry::new(EventKind::SignIn, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail("password accepted: waiting for a second factor");
    record(&state.db, entry).await;
    Ok(SignIn::SecondFactor {
        challenge,
        methods: vec!["totp"],
    })
}

/// A session for `user`, who signed in by `amr` (`Session::amr`); `None` when they were
/// disabled before it could start (or, with `verified_hash`, given another password).
pub(super) async fn start_session(
    state: &AppState,
    user: User,
    client: &ClientInfo,
    verified_hash: Option<&str>,
    amr: &str,
) -> Result<Option<SignedIn>, AppError> {
    let session_token = new_secret_token();
    let Some(session) = sessions::insert_session(
        &state.db,
        NewSession {
            user_id: &user.id,
            token_hash: &hash_token(&session_token),
            lifetime_secs: state.site.session_lifetime_secs,
            ip_address: client.ip_address.as_deref(),
            user_agent: client.user_agent.as_deref(),
            verified_hash,
            api_token: false,
            amr,
        },
        state.clock.now(),
    )
    .await?
    else {
        return Ok(None);
    };
    let access_token = access_token(state, &user, &session);
    let known_browser = verified_hash.map(|hash| known_browser_cookie(state, &user.id, hash));
    Ok(Some(SignedIn {
        user,
        session,
        session_token,
        access_token,
        known_browser,
    }))
}

/// Revokes the session behind an opaque session token (no-op when there is none).
pub async fn sign_out(
    state: &AppState,
    session_token: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if let Some((session, user)) = resume(state, session_token).await? {
        sessions::delete_session_of(
            &state.db,
            &state.revocations,
            &user.id,
            &session.id,
            SessionEnd::SignedOut,
        )
        .await?;
        let entry = Entry::new(EventKind::SignOut, Outcome::Success, client)
            .user(&user.id, &user.email)
            .detail(format!("session {}", session.id));
        record(&state.db, entry).await;
    }
    Ok(())
}

/// The live session behind an opaque session token, with its user. A token rotated
/// away within the reuse interval still names its session (the rest of the request that
/// rotated it, or another tab, may still carry it). Using a session after `update_age`
/// extends it to a full lifetime again.
pub async fn resume(
    state: &AppState,
    session_token: &str,
) -> Result<Option<(Session, User)>, AppError> {
    let token_hash = hash_token(session_token);
    let found = match sessions::find_active_session_by_token_hash(
        &state.db,
        &token_hash,
        state.clock.now(),
    )
    .await?
    {
        Some((session, user)) => {
            if session.token_unseen {
                sessions::mark_token_seen(&state.db, &session.id).await?;
            }
            Some((session, user))
        }
        None => match sessions::find_retired_token(&state.db, &token_hash).await? {
            Some(retired) if within_reuse_interval(state, &retired) => {
                sessions::find_active_session_by_id(
                    &state.db,
                    &retired.session_id,
                    state.clock.now(),
                )
                .await?
            }
            _ => None,
        },
    };
    let Some((mut session, user)) = found.filter(|(_, user)| may_stay_signed_in(state, user))
    else {
        return Ok(None);
    };
    if let Some(expires_at) = slid_expiry(state, &session) {
        sessions::extend_session(&state.db, &session.id, expires_at, state.clock.now()).await?;
        session.expires_at = expires_at;
    }
    Ok(Some((session, user)))
}

/// Whether `user`'s sessions are live: with `REQUIRE_EMAIL_VERIFICATION`, not until
/// their address is verified (they neither resume, refresh, nor mint API tokens). The
/// sessions begun before the setting was turned on are ended when the server starts
/// (`sessions::end_unverified_sessions`); this holds any that another process, still without
/// the setting, begins after that.
fn may_stay_signed_in(state: &AppState, user: &User) -> bool {
    user.email_verified || !state.site.require_email_verification
}

/// Whether a token was rotated away less than the reuse interval ago.
fn within_reuse_interval(state: &AppState, retired: &sessions::RetiredToken) -> bool {
    retired.retired_at
        >= state
            .clock
            .now()
            .plus_secs(-state.site.refresh_reuse_interval_secs)
}

/// The new expiry of a session that is due to slide, `None` when it is not. Sliding
/// never goes past the session's absolute lifetime (`SESSION_MAX_AGE` after it was
/// created): from then on the person signs in again, however active they are.
fn slid_expiry(state: &AppState, session: &Session) -> Option<Timestamp> {
    let (site, now) = (&state.site, state.clock.now());
    let due_before = now.plus_secs(site.session_lifetime_secs - site.session_update_age_secs);
    if session.expires_at > due_before {
        return None;
    }
    let full = now.plus_secs(site.session_lifetime_secs);
    let next = full.min(sign_in_ends_at(state, session));
    (next > session.expires_at).then_some(next)
}

/// When the sign-in behind `session` ends however it is used: `SESSION_MAX_AGE` after it
/// began. Neither sliding nor an API token issued from it goes past it.
pub(super) fn sign_in_ends_at(state: &AppState, session: &Session) -> Timestamp {
    session
        .created_at
        .plus_secs(state.site.session_max_age_secs)
}

/// A refresh: the session token exchanged for a new one and a new access JWT.
pub struct Refreshed {
    pub user: User,
    pub session: Session,
    /// The session's next token; `None` when another refresh of the same token won the
    /// race a moment ago, and the client already holds (or is about to receive) it.
    pub session_token: Option<String>,
    pub access_token: String,
}

pub async fn refresh(
    state: &AppState,
    presented: &str,
    client: &ClientInfo,
) -> Result<Refreshed, AppError> {
    state.limits.refresh_attempt(client.address())?;
    let presented_hash = hash_token(presented);
    if let Some((mut session, user)) =
        sessions::find_active_session_by_token_hash(&state.db, &presented_hash, state.clock.now())
            .await?
            .filter(|(_, user)| may_stay_signed_in(state, user))
    {
        let next = new_secret_token();
        let slid = slid_expiry(state, &session);
        let rotated = sessions::rotate_session_token(
            &state.db,
            &session.id,
            &presented_hash,
            &hash_token(&next),
            slid,
            state.clock.now(),
        )
        .await?;
        if !rotated
            && sessions::find_active_session_by_id(&state.db, &session.id, state.clock.now())
                .await?
                .is_none()
        {
            // Revoked (or its user disabled) between the lookup and the rotation.
            return Err(AppError::Unauthenticated);
        }
        // The token may live as long as the session now does, slid or not.
        if let Some(expires_at) = slid.filter(|_| rotated) {
            session.expires_at = expires_at;
        }
        // Not audited: routine refreshes (`RATE_LIMIT_REFRESH`, 60 a minute per client by
        // default) would each write a row, kept for the audit log's retention. What a
        // refresh gives away, a reused token or a lost answer's token issued again, is
        // audited below.
        return Ok(Refreshed {
            access_token: access_token(state, &user, &session),
            session_token: rotated.then_some(next),
            user,
            session,
        });
    }
    let Some(retired) = sessions::find_retired_token(&state.db, &presented_hash).await? else {
        return Err(AppError::Unauthenticated);
    };
    if let Some((session, user)) =
        sessions::find_active_session_by_id(&state.db, &retired.session_id, state.clock.now())
            .await?
    {
        if !may_stay_signed_in(state, &user) {
            return Err(AppError::Unauthenticated);
        }
        if within_reuse_interval(state, &retired) {
            return Ok(Refreshed {
                access_token: access_token(state, &user, &session),
                session_token: None,
                user,
                session,
            });
        }
        // A lost answer is forgiven once, and only soon after the rotation: the re-issue
        // forgets the previous token, so presenting it again is reuse.
        let answer_was_lost = session.token_unseen
            && session.previous_token_hash.as_deref() == Some(presented_hash.as_str())
            && retired.retired_at
                >= state
                    .clock
                    .now()
                    .plus_secs(-state.site.lost_refresh_window_secs);
        let next = new_secret_token();
        if answer_was_lost
            && sessions::replace_lost_token(
                &state.db,
                &session.id,
                &presented_hash,
                &hash_token(&next),
                state.clock.now(),
            )
            .await?
        {
            let entry = Entry::new(EventKind::Refresh, Outcome::Success, client)
                .user(&user.id, &user.email)
                .detail(format!(
                    "session {}: the previous refresh's answer never arrived; token issued again",
                    session.id
                ));
            record(&state.db, entry).await;
            return Ok(Refreshed {
                access_token: access_token(state, &user, &session),
                session_token: Some(next),
                user,
                session,
            });
        }
    }
    sessions::delete_session_of(
        &state.db,
        &state.revocations,
        &retired.user_id,
        &retired.session_id,
        SessionEnd::Revoked,
    )
    .await?;
    tracing::warn!(
        user_id = %retired.user_id,
        session_id = %retired.session_id,
        "a used session token was presented again: session revoked"
    );
    let entry = Entry::new(EventKind::RefreshReuseDetected, Outcome::Failure, client)
        .user_id(&retired.user_id)
        .detail(format!(
            "session {} revoked: a retired session token was presented again",
            retired.session_id
        ));
    record(&state.db, entry).await;
    Err(AppError::InvalidToken(
        "Session token was already used; the session has been revoked".to_owned(),
    ))
}

/// The `Set-Cookie` value of a fresh access JWT for a user's session: after a change to
/// their account, which revoked the one the browser holds.
pub fn access_cookie(state: &AppState, user: &User, session: &Session) -> axum::http::HeaderValue {
    crate::auth::service::credentials::access_cookie(state, &access_token(state, user, session))
}

/// A fresh access JWT with every scope, for a user's session.
pub fn access_token(state: &AppState, user: &User, session: &Session) -> String {
    scoped_access_token(state, user, session, &Scope::full())
}

/// A fresh access JWT limited to `scope`.
pub fn scoped_access_token(
    state: &AppState,
    user: &User,
    session: &Session,
    scope: &Scope,
) -> String {
    state.tokens.issue(&subject(user, session, scope))
}

/// Who a token of `user`'s `session` is for.
pub(super) fn subject<'a>(user: &'a User, session: &'a Session, scope: &'a Scope) -> Subject<'a> {
    let expires_by = session.expires_at.unix_secs();
    Subject {
        user_id: &user.id,
        email: &user.email,
        name: &user.name,
        session_id: &session.id,
        role: user.role.as_str(),
        scope,
        amr: &session.amr,
        email_verified: user.email_verified,
        banned: user.banned,
        image: user.image.as_deref(),
        created_at: &user.created_at,
        updated_at: &user.updated_at,
        expires_by,
    }
}

/// Revokes one of `user`'s sessions, named by id or by session token.
pub async fn revoke_session(
    state: &AppState,
    user: &User,
    id_or_token: &str,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    let by_token = sessions::find_active_session_by_token_hash(
        &state.db,
        &hash_token(id_or_token),
        state.clock.now(),
    )
    .await?
    .map(|(session, _)| session.id);
    let session_id = by_token.as_deref().unwrap_or(id_or_token);
    let revoked = sessions::delete_session_of(
        &state.db,
        &state.revocations,
        &user.id,
        session_id,
        SessionEnd::Revoked,
    )
    .await?;
    if revoked {
        let entry = Entry::new(EventKind::SessionRevoked, Outcome::Success, client)
            .user(&user.id, &user.email)
            .detail("one session revoked by its owner");
        record(&state.db, entry).await;
    }
    Ok(revoked)
}

/// Revokes all of `user`'s sessions but `except`; answers how many went.
pub async fn revoke_sessions(
    state: &AppState,
    user: &User,
    except: Option<&str>,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let revoked =
        sessions::delete_sessions_of(&state.db, &state.revocations, &user.id, except).await?;
    let entry = Entry::new(EventKind::SessionRevoked, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail(match except {
            Some(_) => format!("{revoked} other sessions revoked by their owner"),
            None => format!("all {revoked} sessions revoked by their owner"),
        });
    record(&state.db, entry).await;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_secret_token(), new_secret_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes of base64url");
        assert_ne!(hash_token(&a), a);
        assert_eq!(hash_token(&a), hash_token(&a));
    }
}
