//! Better Auth's JSON routes for non-browser clients: email/password (CONTRACT §5) and
//! sessions (§6), and `/api/me`. The admin routes are in `admin::api`.

use crate::{
    auth::{
        service::{
            credentials,
            session::{self, BrowserCookies, SignIn, SignedUp},
        },
        signing_keys,
        store::{
            sessions::{self, Session},
            users,
        },
        token::Scope,
        types::{Credentials, Registration, User},
        web::{
            answers::with_session_cookies,
            extract::{Caller, CurrentSession},
        },
    },
    client::ClientInfo,
    error::{AppError, ErrorBody, FieldError},
    extract::{ValidJson, ValidQuery},
    openapi::{
        BadRequest, Forbidden, Internal, NotAuthenticated, PayloadTooLarge, TooManyRequests,
        Unavailable, UnsupportedMediaType, AUTH_TAG, SESSIONS_TAG,
    },
    state::AppState,
};
use axum::{
    extract::State,
    http::{
        header::{CACHE_CONTROL, SET_COOKIE},
        HeaderMap, HeaderName, HeaderValue,
    },
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(get_session))
        .routes(routes!(token))
        .routes(routes!(jwks))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_sessions))
        .routes(routes!(revoke_other_sessions))
        .merge(super::account::router())
        .merge(super::password_reset::router())
        .merge(super::email_verification::router())
        .merge(super::two_factor::router())
        .layer(axum::middleware::from_fn(
            crate::error::better_auth_statuses,
        ))
}

/// Who the access token's user is: their account as the database has it.
///
/// From memory when this process confirmed the token's session and the token was minted
/// from the account as it is (`Revocations::account`: the database's record, never the
/// token's words); otherwise from the database.
#[utoipa::path(
    get,
    path = "/me",
    tag = AUTH_TAG,
    security(("bearer_jwt" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The caller's account", body = User),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<User>, AppError> {
    if let Some(account) = state.revocations.account(&caller.claims) {
        return Ok(Json(account));
    }
    users::find_user(&state.db, &caller.user_id)
        .await?
        .map(Json)
        .ok_or(AppError::Unauthenticated)
}

#[derive(Deserialize, ToSchema)]
struct SignUpBody {
    /// 1 to 100 characters after trimming, no control characters.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 100)]
    name: String,
    #[serde(default)]
    #[schema(required = true, format = Email, max_length = 254)]
    email: String,
    /// 8 to 128 characters, not a commonly used password.
    #[serde(default)]
    #[schema(required = true, min_length = 8, max_length = 128)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
struct SignInBody {
    #[serde(default)]
    #[schema(required = true, format = Email)]
    email: String,
    /// Any non-empty text: a wrong password is not told apart from a malformed one.
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    password: String,
}

/// A new session: its token (opaque, Better Auth's), and the user.
#[derive(Serialize, ToSchema)]
struct SignedUpAnswer {
    /// `null` when the address must be verified before the account may sign in
    /// (`REQUIRE_EMAIL_VERIFICATION`): then no session was started, and a link is on its
    /// way.
    token: Option<String>,
    user: User,
}

/// A sign-in's answer: signed in, or (with second factors on) waiting for one.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum SignInAnswer {
    SignedIn(SignedInAnswer),
    SecondFactor(TwoFactorRedirect),
}

/// Better Auth's answer to a right password on an account with second factors on: no
/// session yet; the `two_factor` cookie names the sign-in that waits for a code.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorRedirect {
    /// Always `true`.
    pub two_factor_redirect: bool,
    /// The second factors the account can give (`totp`).
    pub two_factor_methods: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
struct SignedInAnswer {
    /// Always `false`: this route never redirects.
    redirect: bool,
    token: String,
    user: User,
}

/// Makes an account and signs it in. Answers with the session cookies and, in
/// `set-auth-token`, the signed session token for clients that keep it themselves.
#[utoipa::path(
    post,
    path = "/sign-up/email",
    tag = AUTH_TAG,
    request_body = SignUpBody,
    security(()),
    responses(
        (status = 200, description = "Signed up and in", body = SignedUpAnswer, headers(
            ("set-auth-token" = String, description = "The signed session token, for `Authorization: Bearer` on `/api/auth/*`"),
            ("Set-Cookie" = String, description = "The session cookie and the access cookie (HttpOnly)"),
        )),
        (status = 400, response = BadRequest),
        (status = 403, description = "The request came from another origin (`INVALID_ORIGIN`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "The email is already registered (`USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`)", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn sign_up(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidJson(body): ValidJson<SignUpBody>,
) -> Result<Response, AppError> {
    let form = Registration::parse(&body.name, &body.email, &body.password)?;
    let signed_in = match session::sign_up(&state, form, &client).await? {
        SignedUp::In(signed_in) => signed_in,
        SignedUp::AwaitingVerification(user) => {
            return Ok(Json(SignedUpAnswer { token: None, user }).into_response())
        }
    };
    let body = SignedUpAnswer {
        token: Some(signed_in.session_token.clone()),
        user: signed_in.user.clone(),
    };
    Ok(with_session_cookies(&state, &signed_in, body))
}

/// Signs in with an email and a password. Answers like sign-up; for an account with
/// second factors on, `{"twoFactorRedirect": true}` and the `two_factor` cookie instead,
/// and the session starts at `/two-factor/verify-totp` or `verify-backup-code`. A browser
/// whose `trust_device` cookie the account trusts signs in with the password alone.
#[utoipa::path(
    post,
    path = "/sign-in/email",
    tag = AUTH_TAG,
    request_body = SignInBody,
    security(()),
    responses(
        (status = 200, description = "Signed in, or waiting for a second factor", body = SignInAnswer, headers(
            ("set-auth-token" = String, description = "The signed session token, for `Authorization: Bearer` on `/api/auth/*`"),
            ("Set-Cookie" = String, description = "The session cookie and the access cookie (HttpOnly); or the `two_factor` cookie"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, description = "Wrong email or password (`INVALID_EMAIL_OR_PASSWORD`)", body = ErrorBody),
        (status = 403, description = "The user is disabled (`BANNED_USER`), or the request came from another origin (`INVALID_ORIGIN`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn sign_in(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    ValidJson(body): ValidJson<SignInBody>,
) -> Result<Response, AppError> {
    let credentials = Credentials::parse(&body.email, &body.password)?;
    let trusted = credentials::auth_cookie_token(&headers, &state, credentials::TRUST_DEVICE);
    let known = credentials::known_browser(&headers, &state);
    let cookies = BrowserCookies {
        trusted_device: trusted.as_deref(),
        known_browser: known.as_deref(),
    };
    match session::sign_in(&state, credentials, cookies, &client).await? {
        SignIn::Done(signed_in) => {
            let body = SignInAnswer::SignedIn(SignedInAnswer {
                redirect: false,
                token: signed_in.session_token.clone(),
                user: signed_in.user.clone(),
            });
            Ok(with_session_cookies(&state, &signed_in, body))
        }
        SignIn::SecondFactor { challenge, methods } => {
            let mut headers = HeaderMap::new();
            headers.insert(
                SET_COOKIE,
                credentials::auth_cookie(
                    &state,
                    credentials::TWO_FACTOR,
                    &challenge,
                    session::CHALLENGE_SECS,
                ),
            );
            let body = SignInAnswer::SecondFactor(TwoFactorRedirect {
                two_factor_redirect: true,
                two_factor_methods: methods,
            });
            Ok((headers, Json(body)).into_response())
        }
    }
}

/// `{"success": true}`.
#[derive(Serialize, ToSchema)]
struct Success {
    success: bool,
}

/// `{"status": …}`: whether a session was revoked.
#[derive(Serialize, ToSchema)]
struct Status {
    status: bool,
}

/// Ends the caller's session, if there is one, and clears its cookies.
#[utoipa::path(
    post,
    path = "/sign-out",
    tag = AUTH_TAG,
    security(("session_cookie" = []), ("session_token" = []), ()),
    responses(
        (status = 200, description = "Signed out", body = Success, headers(
            ("Set-Cookie" = String, description = "Both cookies, cleared"),
        )),
        (status = 403, description = "The request came from another origin (`INVALID_ORIGIN`)", body = ErrorBody),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
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
    Ok((headers, Json(Success { success: true })).into_response())
}

/// The caller's session and user.
#[derive(Serialize, ToSchema)]
struct SessionAnswer {
    session: ListedSession,
    user: User,
}

/// The caller's session and user, or `null` without one. With a session, the
/// `set-auth-jwt` header carries a fresh access JWT.
#[utoipa::path(
    get,
    path = "/get-session",
    tag = SESSIONS_TAG,
    security(("session_cookie" = []), ("session_token" = []), ()),
    responses(
        (status = 200, description = "The session and its user (with `set-auth-jwt: <jwt>`), or `null`", body = Option<SessionAnswer>),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn get_session(
    State(state): State<AppState>,
    CurrentSession(current): CurrentSession,
) -> Response {
    match current {
        None => Json(serde_json::Value::Null).into_response(),
        Some((session, user, token)) => {
            let jwt = session::access_token(&state, &user, &session);
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&jwt) {
                headers.insert(HeaderName::from_static("set-auth-jwt"), value);
            }
            let session = ListedSession { session, token };
            (headers, Json(SessionAnswer { session, user })).into_response()
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TokenQuery {
    /// Space-separated: `tasks:read` and/or `tasks:write` (default both).
    #[param(pattern = "^tasks:(read|write)( tasks:(read|write))*$")]
    scope: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TokenAnswer {
    /// An access JWT.
    token: String,
}

/// A JWT for the session: every scope, or the narrower `?scope=` asked for.
#[utoipa::path(
    get,
    path = "/token",
    tag = SESSIONS_TAG,
    params(TokenQuery),
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "An access JWT", body = TokenAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidQuery(query): ValidQuery<TokenQuery>,
    current: CurrentSession,
) -> Result<Json<TokenAnswer>, AppError> {
    state.limits.refresh_attempt(client.address())?;
    let scope = match query.scope.as_deref() {
        None => Scope::full(),
        Some(requested) => Scope::parse(requested)
            .map_err(|msg| AppError::Validation(vec![FieldError::query("scope", msg)]))?,
    };
    let (session, user) = current.signed_in()?;
    Ok(Json(TokenAnswer {
        token: session::scoped_access_token(&state, &user, &session, &scope),
    }))
}

/// A `list-sessions` item: Better Auth's session with the `token` its client hands to
/// `revoke-session`. Session tokens are stored only as hashes, so this `token` is the
/// session's id: it names the session to revoke and signs nobody in.
#[derive(Serialize, ToSchema)]
struct ListedSession {
    #[serde(flatten)]
    session: Session,
    token: String,
}

/// The caller's live sessions.
#[utoipa::path(
    get,
    path = "/list-sessions",
    tag = SESSIONS_TAG,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The caller's sessions; each `token` is the session's id, which `revoke-session` takes", body = Vec<ListedSession>),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn list_sessions(
    State(state): State<AppState>,
    current: CurrentSession,
) -> Result<Json<Vec<ListedSession>>, AppError> {
    let (_, user) = current.signed_in()?;
    let sessions = sessions::list_sessions(&state.db, &user.id, state.clock.now()).await?;
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

#[derive(Deserialize, ToSchema)]
struct RevokeSessionBody {
    /// The session's token, or its id (the `token` of its `list-sessions` item).
    #[serde(default)]
    #[schema(required = true)]
    token: String,
}

/// Revokes one of the caller's sessions.
#[utoipa::path(
    post,
    path = "/revoke-session",
    tag = SESSIONS_TAG,
    request_body = RevokeSessionBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Whether a session of the caller's was revoked", body = Status),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn revoke_session(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<RevokeSessionBody>,
) -> Result<Json<Status>, AppError> {
    let (_, user) = current.signed_in()?;
    let revoked = session::revoke_session(&state, &user, &body.token, &client).await?;
    Ok(Json(Status { status: revoked }))
}

/// Revokes every session of the caller's, this one too.
#[utoipa::path(
    post,
    path = "/revoke-sessions",
    tag = SESSIONS_TAG,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Revoked", body = Status),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn revoke_sessions(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
) -> Result<Json<Status>, AppError> {
    let (_, user) = current.signed_in()?;
    session::revoke_sessions(&state, &user, None, &client).await?;
    Ok(Json(Status { status: true }))
}

/// Revokes every session of the caller's but this one.
#[utoipa::path(
    post,
    path = "/revoke-other-sessions",
    tag = SESSIONS_TAG,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Revoked", body = Status),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn revoke_other_sessions(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
) -> Result<Json<Status>, AppError> {
    let (session, user) = current.signed_in()?;
    session::revoke_sessions(&state, &user, Some(&session.id), &client).await?;
    Ok(Json(Status { status: true }))
}

/// How long a verifier may keep the JWKS. A rotation signs with the new key at once;
/// verifiers that meet its `kid` before their copy expires look the set up again
/// (PyJWT's `PyJWKClient` and jose's `createRemoteJWKSet` both do).
const JWKS_MAX_AGE_SECS: u32 = 300;

/// `{"keys": […]}`: JSON Web Keys (RFC 7517), each with `kty`, `kid`, `alg`, `use` and
/// its curve or modulus fields.
#[derive(Serialize, ToSchema)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

/// The public keys of an asymmetric `JWT_ALGORITHM`; none with the shared secret, which
/// is never published.
#[utoipa::path(
    get,
    path = "/jwks",
    tag = AUTH_TAG,
    security(()),
    responses(
        (status = 200, description = "The public keys tokens are signed with", body = Jwks, headers(
            ("Cache-Control" = String, description = "`public, max-age=300`"),
        )),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    let algorithm = state.tokens.settings().algorithm;
    let keys = if signing_keys::is_asymmetric(algorithm) {
        signing_keys::published(&state.db, algorithm, state.clock.now())
            .await
            .map_err(AppError::internal)?
    } else {
        Vec::new()
    };
    let cache = HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
        .unwrap_or_else(|e| unreachable!("a constant header value: {e}"));
    Ok(([(CACHE_CONTROL, cache)], Json(Jwks { keys })).into_response())
}
