//! Better Auth's routes for proving an address: (re)sending the link that verifies an
//! account's address (`send-verification-email`), asking to move the account to a new
//! address (`change-email`), and opening the links (`verify-email`). The rules are in
//! `service::email_verification`.

use crate::auth::service::email_verification::{
    follow_link, landing, refusal_message, request_email_change, request_verification, Opened,
    Proof,
};
use crate::auth::web::account::Updated;
use crate::{
    audit::EventKind,
    auth::{
        service::{emails::send_verification, password_reset::callback_target, session},
        store::sessions::Session,
        types::{Email, Password, User},
        web::extract::CurrentSession,
    },
    client::ClientInfo,
    error::AppError,
    extract::{ValidJson, ValidQuery},
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
    http::header::SET_COOKIE,
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
                return Err(AppError::refused(
                    "email",
                    "EMAIL_MISMATCH",
                    "Email mismatch",
                ));
            }
            if user.email_verified {
                return Err(AppError::refused(
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
            session::check_password(
                &state,
                &client,
                (&user, &session),
                event,
                "password",
                password,
            )
            .await?;
            Proof::Password
        }
    };
    request_email_change(&state, &user, &session.id, new, proof, &callback, &client).await?;
    Ok(Json(Updated { status: true }))
}
