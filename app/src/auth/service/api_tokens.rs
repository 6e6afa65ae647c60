//! Issuing API tokens: each is the access token of a session of its own, limited to a
//! scope and to the sign-in it came from. Their scopes and lifetimes are
//! `auth::api_tokens`.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        api_tokens::{self, ApiTokenLifetime},
        service::{
            attempts::rate_limited,
            session::{sign_in_ends_at, subject},
        },
        store::sessions::{self, NewSession, Session},
        token::Scope,
        types::User,
    },
    client::ClientInfo,
    db::{self, hash_token, new_secret_token},
    error::AppError,
    state::AppState,
};

/// Who asked for an API token: where (`via`, for the audit log) and how the person
/// behind it signed in (`amr`: as the session it was issued from did, or nothing for
/// `server token mint`).
pub struct AskedBy<'a> {
    pub via: &'a str,
    pub amr: &'a str,
}

/// An API token and the session it belongs to.
pub struct ApiToken {
    pub token: String,
    pub session: Session,
}

/// The account page's API token for `user`, issued from their session `issuing`:
/// `issue_api_token`, counted against their `RATE_LIMIT_API_TOKENS`, and living no
/// longer than the sign-in behind `issuing` may (`sign_in_ends_at`), so a stolen session
/// cookie cannot stretch that sign-in into a token that outlasts it. Refusals are
/// audited, as refused sign-ins are.
pub async fn issue_api_token_from(
    state: &AppState,
    issuing: &Session,
    user: &User,
    scope: &Scope,
    lifetime: ApiTokenLifetime,
    client: &ClientInfo,
) -> Result<ApiToken, AppError> {
    if let Err(limited) = state.limits.api_token_issued(&user.id) {
        let entry = Entry::new(EventKind::ApiTokenIssued, Outcome::Failure, client)
            .user(&user.id, &user.email)
            .detail("rate limited");
        return Err(rate_limited(state, client, entry, limited).await);
    }
    // A second short: the session's row is written a moment from now.
    let secs_left = state
        .clock
        .now()
        .secs_until(sign_in_ends_at(state, issuing))
        - 1;
    let lifetime = lifetime.within(secs_left).ok_or_else(|| {
        AppError::Validation(vec![crate::error::FieldError::body(
            "lifetime_secs",
            "Your sign-in ends in less than a minute: sign in again to issue a token",
        )])
    })?;
    issue_api_token(
        &state.db,
        &state.tokens,
        user,
        scope,
        lifetime,
        client,
        AskedBy {
            via: "on the account page",
            amr: &issuing.amr,
        },
    )
    .await?
    .ok_or_else(AppError::user_disabled)
}

/// A new session for `user` that carries one access JWT of `scope`, the session and the
/// token living `lifetime` alike: what `server token mint` and the account page's "Use the
/// API" hand out (`via` says which, in the audit log). `None` when the user is disabled
/// (audited as a refusal).
///
/// The session is marked as an API token's (`NewSession::api_token`), which the account
/// page lists apart from the browsers signed in, and is revoked like any other session:
/// its JWT stops working the moment it is. Signing out the session it was issued from
/// does not end it (it is a session of its own); signing out everywhere does. Its session token is never handed
/// out (only its hash is stored, as for every session): nothing can refresh or slide it,
/// so it ends when its token does. A token that lives longer than `JWT_EXPIRES_IN` is
/// still checked for revocation: the revocation set vouches for a session one token
/// lifetime at most, then asks the database again, where an ended session is gone.
pub async fn issue_api_token(
    db: &db::Pool,
    tokens: &crate::auth::token::TokenKeys,
    user: &User,
    scope: &Scope,
    lifetime: ApiTokenLifetime,
    client: &ClientInfo,
    asked: AskedBy<'_>,
) -> Result<Option<ApiToken>, AppError> {
    let AskedBy { via, amr } = asked;
    let label = api_token_label(scope);
    let Some(session) = sessions::insert_session(
        db,
        NewSession {
            user_id: &user.id,
            token_hash: &hash_token(&new_secret_token()),
            lifetime_secs: lifetime.secs(),
            ip_address: client.ip_address.as_deref(),
            user_agent: Some(&label),
            verified_hash: None,
            api_token: true,
            amr,
        },
        tokens.clock().now(),
    )
    .await?
    else {
        let entry = Entry::new(EventKind::ApiTokenIssued, Outcome::Failure, client)
            .user(&user.id, &user.email)
            .detail(format!("user disabled, {via}"));
        record(db, entry).await;
        return Ok(None);
    };
    let token = tokens.issue_lasting(&subject(user, &session, scope), lifetime.secs());
    let entry = Entry::new(EventKind::ApiTokenIssued, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail(format!(
            "session {}: {}, for {}, {via}",
            session.id,
            scope.as_str(),
            api_tokens::in_words(lifetime.secs())
        ));
    record(db, entry).await;
    Ok(Some(ApiToken { token, session }))
}

/// How an API token's session is named (its `user_agent`) where it is listed: `API token
/// (tasks:read)`.
pub fn api_token_label(scope: &Scope) -> String {
    format!("API token ({})", scope.as_str())
}
