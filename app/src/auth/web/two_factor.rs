//! Better Auth's `twoFactor` routes under `/api/auth/two-factor/`, with its bodies,
//! answers and error codes, so its `twoFactorClient` works unchanged. The rules are in
//! `service::two_factor`.

use crate::{
    auth::{
        service::{
            credentials,
            session::SignedIn,
            two_factor::{self, Factor, Passed},
        },
        types::{Password, User},
        web::{account::Updated, answers::with_session_cookies, extract::CurrentSession},
    },
    client::ClientInfo,
    error::{AppError, ErrorBody, FieldError, ValidationErrorBody},
    extract::ValidJson,
    openapi::{
        Internal, NotAuthenticated, PayloadTooLarge, TooManyRequests, Unavailable,
        UnsupportedMediaType, AUTH_TAG,
    },
    state::AppState,
};
use axum::{
    extract::State,
    http::{header::SET_COOKIE, HeaderMap},
    response::Response,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enable))
        .routes(routes!(disable))
        .routes(routes!(get_totp_uri))
        .routes(routes!(verify_totp))
        .routes(routes!(generate_backup_codes))
        .routes(routes!(verify_backup_code))
}

fn password(raw: &str) -> Result<Password, AppError> {
    Password::presented("password", raw).map_err(|e| AppError::Validation(vec![e]))
}

#[derive(Deserialize, ToSchema)]
struct PasswordBody {
    #[serde(default)]
    #[schema(required = true)]
    password: String,
}

#[derive(Deserialize, ToSchema)]
struct EnableBody {
    #[serde(default)]
    #[schema(required = true)]
    password: String,
    /// The name authenticator apps show for the account (`Taskboard` by default).
    #[schema(max_length = 100)]
    issuer: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EnableAnswer {
    /// Always `totp`.
    method: &'static str,
    #[serde(rename = "totpURI")]
    totp_uri: String,
    /// Ten single-use codes, shown this once.
    backup_codes: Vec<String>,
}

/// Adds an authenticator app to the caller's account, after their password: answers its
/// `otpauth://` URI and ten backup codes. Second factors are on once `verify-totp`
/// accepts a first code from the app.
#[utoipa::path(
    post,
    path = "/two-factor/enable",
    tag = AUTH_TAG,
    request_body = EnableBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The app's URI and the backup codes", body = EnableAnswer),
        (status = 400, description = "Wrong password (`INVALID_PASSWORD`), or an app is on already (`TOTP_ALREADY_ENABLED`)", body = ValidationErrorBody),
        (status = 401, response = NotAuthenticated),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn enable(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<EnableBody>,
) -> Result<Json<EnableAnswer>, AppError> {
    let (session, user) = current.signed_in()?;
    let issuer = body
        .issuer
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty());
    if issuer.is_some_and(|i| i.chars().count() > 100) {
        return Err(AppError::Validation(vec![FieldError::body(
            "issuer",
            "Use at most 100 characters",
        )]));
    }
    let enabled = two_factor::enable(
        &state,
        &user,
        &session,
        password(&body.password)?,
        issuer,
        &client,
    )
    .await?;
    Ok(Json(EnableAnswer {
        method: "totp",
        totp_uri: enabled.totp_uri,
        backup_codes: enabled.backup_codes,
    }))
}

/// Turns second factors off, after the password: the app, the backup codes and every
/// trusted browser go.
#[utoipa::path(
    post,
    path = "/two-factor/disable",
    tag = AUTH_TAG,
    request_body = PasswordBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Off", body = Updated),
        (status = 400, description = "Wrong password (`INVALID_PASSWORD`), or nothing to turn off (`TWO_FACTOR_NOT_ENABLED`)", body = ValidationErrorBody),
        (status = 401, response = NotAuthenticated),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn disable(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<PasswordBody>,
) -> Result<Response, AppError> {
    let (session, user) = current.signed_in()?;
    two_factor::disable(&state, &user, &session, password(&body.password)?, &client).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        credentials::auth_cookie(&state, credentials::TRUST_DEVICE, "", 0),
    );
    Ok(axum::response::IntoResponse::into_response((
        headers,
        Json(Updated { status: true }),
    )))
}

#[derive(Serialize, ToSchema)]
struct TotpUri {
    #[serde(rename = "totpURI")]
    totp_uri: String,
}

/// The `otpauth://` URI of the caller's authenticator app again, after the password.
#[utoipa::path(
    post,
    path = "/two-factor/get-totp-uri",
    tag = AUTH_TAG,
    request_body = PasswordBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The URI", body = TotpUri),
        (status = 400, description = "Wrong password (`INVALID_PASSWORD`), or no app (`TOTP_NOT_ENABLED`)", body = ValidationErrorBody),
        (status = 401, response = NotAuthenticated),
        (status = 403, description = "The app is confirmed and this session was begun without it (`SECOND_FACTOR_REQUIRED`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn get_totp_uri(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<PasswordBody>,
) -> Result<Json<TotpUri>, AppError> {
    let (session, user) = current.signed_in()?;
    let totp_uri =
        two_factor::totp_uri(&state, &user, &session, password(&body.password)?, &client).await?;
    Ok(Json(TotpUri { totp_uri }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CodeBody {
    #[serde(default)]
    #[schema(required = true)]
    code: String,
    /// Trust this browser for 30 days: its sign-ins then need the password alone.
    #[serde(default)]
    trust_device: bool,
}

/// A session, started: Better Auth's `{token, user}`.
#[derive(Serialize, ToSchema)]
struct SessionAnswer {
    token: String,
    user: User,
}

/// Takes a code from the authenticator app. With the `two_factor` cookie of a sign-in,
/// finishes it; in a session, confirms the app (the first code turns second factors on)
/// and replaces the session, ending the account's others. A code is accepted once.
#[utoipa::path(
    post,
    path = "/two-factor/verify-totp",
    tag = AUTH_TAG,
    request_body = CodeBody,
    security(("session_cookie" = []), ("session_token" = []), ()),
    responses(
        (status = 200, description = "Signed in", body = SessionAnswer, headers(
            ("Set-Cookie" = String, description = "The session cookie and the access cookie; `trust_device` when asked for"),
        )),
        (status = 400, description = "Too many wrong codes for this sign-in (`TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`), or no app (`TOTP_NOT_ENABLED`)", body = ValidationErrorBody),
        (status = 401, description = "A wrong or used code (`INVALID_CODE`), or no sign-in waiting (`INVALID_TWO_FACTOR_COOKIE`)", body = ErrorBody),
        (status = 403, description = "The user is disabled (`BANNED_USER`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn verify_totp(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    current: CurrentSession,
    ValidJson(body): ValidJson<CodeBody>,
) -> Result<Response, AppError> {
    // A sign-in waiting for its code comes first: the browser may still hold another
    // account's session.
    let waiting = credentials::auth_cookie_token(&headers, &state, credentials::TWO_FACTOR);
    let passed = match (waiting, current) {
        (Some(challenge), current) => {
            let factor = Factor::Totp(body.code.clone());
            match two_factor::pass(&state, &challenge, factor, body.trust_device, &client).await {
                // A sign-in that waited here once and is over: the session, if any, asks.
                Err(e) if e.code() == "INVALID_TWO_FACTOR_COOKIE" && current.0.is_some() => {
                    Err(current)
                }
                passed => Ok(passed?),
            }
        }
        (None, current) => Err(current),
    };
    match passed {
        Ok(passed) => Ok(passed_answer(&state, passed)),
        Err(CurrentSession(Some((session, user, _)))) => {
            let signed_in =
                two_factor::confirm(&state, &user, &session, &body.code, &client).await?;
            Ok(signed_in_answer(&state, signed_in, None))
        }
        Err(CurrentSession(None)) => Err(no_challenge()),
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BackupCodes {
    status: bool,
    backup_codes: Vec<String>,
}

/// Ten new backup codes, after the password; the old ones stop working.
#[utoipa::path(
    post,
    path = "/two-factor/generate-backup-codes",
    tag = AUTH_TAG,
    request_body = PasswordBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The new codes, shown this once", body = BackupCodes),
        (status = 400, description = "Wrong password (`INVALID_PASSWORD`), or second factors are off (`TWO_FACTOR_NOT_ENABLED`)", body = ValidationErrorBody),
        (status = 401, response = NotAuthenticated),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn generate_backup_codes(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<PasswordBody>,
) -> Result<Json<BackupCodes>, AppError> {
    let (session, user) = current.signed_in()?;
    let backup_codes = two_factor::regenerate_backup_codes(
        &state,
        &user,
        &session,
        password(&body.password)?,
        &client,
    )
    .await?;
    Ok(Json(BackupCodes {
        status: true,
        backup_codes,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BackupCodeBody {
    #[serde(default)]
    #[schema(required = true)]
    code: String,
    /// Trust this browser for 30 days.
    #[serde(default)]
    trust_device: bool,
}

/// Finishes the sign-in the `two_factor` cookie names with a backup code, which is used
/// up.
#[utoipa::path(
    post,
    path = "/two-factor/verify-backup-code",
    tag = AUTH_TAG,
    request_body = BackupCodeBody,
    security(()),
    responses(
        (status = 200, description = "Signed in", body = SessionAnswer, headers(
            ("Set-Cookie" = String, description = "The session cookie and the access cookie; `trust_device` when asked for"),
        )),
        (status = 400, description = "Too many wrong codes for this sign-in (`TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`)", body = ValidationErrorBody),
        (status = 401, description = "A wrong or used code (`INVALID_CODE`), or no sign-in waiting (`INVALID_TWO_FACTOR_COOKIE`)", body = ErrorBody),
        (status = 403, description = "The user is disabled (`BANNED_USER`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn verify_backup_code(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    ValidJson(body): ValidJson<BackupCodeBody>,
) -> Result<Response, AppError> {
    let challenge = challenge(&headers, &state)?;
    let passed = two_factor::pass(
        &state,
        &challenge,
        Factor::BackupCode(body.code),
        body.trust_device,
        &client,
    )
    .await?;
    Ok(passed_answer(&state, passed))
}

/// The sign-in the request's `two_factor` cookie names, or Better Auth's 401.
fn challenge(headers: &HeaderMap, state: &AppState) -> Result<String, AppError> {
    credentials::auth_cookie_token(headers, state, credentials::TWO_FACTOR).ok_or_else(no_challenge)
}

fn no_challenge() -> AppError {
    AppError::wrong_factor("INVALID_TWO_FACTOR_COOKIE", "Invalid two factor cookie")
}

fn passed_answer(state: &AppState, passed: Passed) -> Response {
    signed_in_answer(state, passed.signed_in, passed.trusted_device.as_deref())
}

/// The session's cookies and `{token, user}`, with the `two_factor` cookie deleted and,
/// when the browser is now trusted, its `trust_device` cookie.
fn signed_in_answer(state: &AppState, signed_in: SignedIn, trusted: Option<&str>) -> Response {
    let body = SessionAnswer {
        token: signed_in.session_token.clone(),
        user: signed_in.user.clone(),
    };
    let mut response = with_session_cookies(state, &signed_in, body);
    for cookie in two_factor::second_factor_cookies(state, trusted) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}
