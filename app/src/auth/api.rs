//! Better Auth's JSON routes for non-browser clients: email/password (CONTRACT §5) and
//! sessions (§6), and `/api/me`. The admin routes are in `admin::api`.

use crate::{
    auth::{
        credentials,
        extract::{Caller, CurrentSession},
        repo::{self, Session},
        session::{self, SignedIn},
        signing_keys,
        token::Scope,
        types::{Credentials, Registration, User},
    },
    client::ClientInfo,
    error::{AppError, FieldError},
    extract::{ValidJson, ValidQuery},
    state::AppState,
};
use axum::{
    extract::State,
    http::{
        header::{CACHE_CONTROL, SET_COOKIE},
        HeaderMap, HeaderName, HeaderValue,
    },
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-up/email", post(sign_up))
        .route("/sign-in/email", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/get-session", get(get_session))
        .route("/token", get(token))
        .route("/jwks", get(jwks))
        .route("/list-sessions", get(list_sessions))
        .route("/revoke-session", post(revoke_session))
        .route("/revoke-sessions", post(revoke_sessions))
        .route("/revoke-other-sessions", post(revoke_other_sessions))
        .layer(axum::middleware::from_fn(
            crate::error::better_auth_statuses,
        ))
}

/// `GET /api/me`: the account of the access token's user. From memory when this
/// process confirmed the token's session and the token was minted from the account as
/// it is (`Revocations::account`: the database's record, never the token's words);
/// otherwise from the database.
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<User>, AppError> {
    if let Some(account) = state.revocations.account(&caller.claims) {
        return Ok(Json(account));
    }
    repo::find_user(&state.db, &caller.user_id)
        .await?
        .map(Json)
        .ok_or(AppError::Unauthenticated)
}

#[derive(Deserialize)]
struct SignUpBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct SignInBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_up(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidJson(body): ValidJson<SignUpBody>,
) -> Result<Response, AppError> {
    let form = Registration::parse(&body.name, &body.email, &body.password)?;
    let signed_in = session::sign_up(&state, form, &client).await?;
    let body = json!({ "token": signed_in.session_token, "user": signed_in.user });
    Ok(with_session_cookies(&state, &signed_in, body))
}

async fn sign_in(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidJson(body): ValidJson<SignInBody>,
) -> Result<Response, AppError> {
    let credentials = Credentials::parse(&body.email, &body.password)?;
    let signed_in = session::sign_in(&state, credentials, &client).await?;
    let body =
        json!({ "redirect": false, "token": signed_in.session_token, "user": signed_in.user });
    Ok(with_session_cookies(&state, &signed_in, body))
}

/// The answer to a sign-in or sign-up: the session's cookies, and its signed token in
/// `set-auth-token` as Better Auth's bearer plugin sends it, for clients that keep the
/// token themselves.
fn with_session_cookies(
    state: &AppState,
    signed_in: &SignedIn,
    body: serde_json::Value,
) -> Response {
    let mut headers = HeaderMap::new();
    for cookie in credentials::session_cookies(state, signed_in) {
        headers.append(SET_COOKIE, cookie);
    }
    headers.insert(
        HeaderName::from_static("set-auth-token"),
        credentials::bearer_session_token(state, &signed_in.session_token),
    );
    (headers, Json(body)).into_response()
}

async fn sign_out(
    State(state): State<AppState>,
    client: ClientInfo,
    CurrentSession(current): CurrentSession,
) -> Result<Response, AppError> {
    if let Some((_, _, token)) = current {
        session::sign_out(&state, &token, &client).await?;
    }
    let mut headers = HeaderMap::new();
    for cookie in credentials::cleared_cookies(&state) {
        headers.append(SET_COOKIE, cookie);
    }
    Ok((headers, Json(json!({ "success": true }))).into_response())
}

async fn get_session(
    State(state): State<AppState>,
    CurrentSession(current): CurrentSession,
) -> Response {
    match current {
        None => Json(serde_json::Value::Null).into_response(),
        Some((session, user, token)) => {
            let jwt = session::access_token(&state, &user, &session);
            let mut session_json = json!(session);
            session_json["token"] = json!(token);
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&jwt) {
                headers.insert(HeaderName::from_static("set-auth-jwt"), value);
            }
            (
                headers,
                Json(json!({ "session": session_json, "user": user })),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    scope: Option<String>,
}

/// A JWT for the session: every scope, or the narrower `?scope=` asked for.
async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidQuery(query): ValidQuery<TokenQuery>,
    current: CurrentSession,
) -> Result<Json<serde_json::Value>, AppError> {
    state.limits.refresh_attempt(client.address())?;
    let scope = match query.scope.as_deref() {
        None => Scope::full(),
        Some(requested) => Scope::parse(requested)
            .map_err(|msg| AppError::Validation(vec![FieldError::query("scope", msg)]))?,
    };
    let (session, user) = current.signed_in()?;
    Ok(Json(
        json!({ "token": session::scoped_access_token(&state, &user, &session, &scope) }),
    ))
}

/// A `list-sessions` item: Better Auth's session with the `token` its client hands to
/// `revoke-session`. Session tokens are stored only as hashes, so this `token` is the
/// session's id: it names the session to revoke and signs nobody in.
#[derive(Serialize)]
struct ListedSession {
    #[serde(flatten)]
    session: Session,
    token: String,
}

async fn list_sessions(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<Json<Vec<ListedSession>>, AppError> {
    let (_, user) = current.signed_in()?;
    let sessions = repo::list_sessions(&state.db, &user.id).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|session| ListedSession {
                token: session.id.clone(),
                session,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct RevokeSessionBody {
    /// The session's token, or its id (the `token` of its `list-sessions` item).
    #[serde(default)]
    token: String,
}

async fn revoke_session(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<RevokeSessionBody>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (_, user) = current.signed_in()?;
    let revoked = session::revoke_session(&state, &user, &body.token, &client).await?;
    Ok(Json(json!({ "status": revoked })))
}

async fn revoke_sessions(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
) -> Result<Json<serde_json::Value>, AppError> {
    let (_, user) = current.signed_in()?;
    session::revoke_sessions(&state, &user, None, &client).await?;
    Ok(Json(json!({ "status": true })))
}

async fn revoke_other_sessions(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
) -> Result<Json<serde_json::Value>, AppError> {
    let (session, user) = current.signed_in()?;
    session::revoke_sessions(&state, &user, Some(&session.id), &client).await?;
    Ok(Json(json!({ "status": true })))
}

/// How long a verifier may keep the JWKS. A rotation signs with the new key at once;
/// verifiers that meet its `kid` before their copy expires look the set up again
/// (PyJWT's `PyJWKClient` and jose's `createRemoteJWKSet` both do).
const JWKS_MAX_AGE_SECS: u32 = 300;

/// The public keys of an asymmetric `JWT_ALGORITHM`; none with the shared secret, which
/// is never published.
async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    let algorithm = state.tokens.settings().algorithm;
    let keys = if signing_keys::is_asymmetric(algorithm) {
        signing_keys::published(&state.db, algorithm)
            .await
            .map_err(AppError::internal)?
    } else {
        Vec::new()
    };
    let cache = HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
        .unwrap_or_else(|e| unreachable!("a constant header value: {e}"));
    Ok(([(CACHE_CONTROL, cache)], Json(json!({ "keys": keys }))).into_response())
}
