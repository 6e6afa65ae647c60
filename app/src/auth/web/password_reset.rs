//! Better Auth's routes for a forgotten password: asking for a reset link
//! (`request-password-reset`), opening it (`GET reset-password/{token}`, which sends
//! the browser to the page that sets a new password) and setting the new password
//! (`POST reset-password`).

use crate::auth::service::password_reset::{
    callback_target, request_reset, reset_password, REQUESTED_MESSAGE, RESET_PAGE,
};
use crate::auth::web::account::Updated;
use crate::{
    auth::{
        service::account::new_password,
        store::email_tokens::{self, Lookup, Purpose},
        types::Email,
    },
    client::ClientInfo,
    error::AppError,
    extract::{ValidJson, ValidQuery},
    openapi::{
        BadRequest, Internal, PayloadTooLarge, TooManyRequests, Unavailable, UnsupportedMediaType,
        AUTH_TAG,
    },
    state::AppState,
};
use axum::{
    extract::{Path, State},
    response::Response,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password_callback))
        .routes(routes!(reset_password_route))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RequestPasswordResetBody {
    #[serde(default)]
    #[schema(required = true, format = Email, max_length = 254)]
    email: String,
    /// The page of this site the link leads to (with `?token=` or `?error=INVALID_TOKEN`);
    /// the site's own page when absent.
    redirect_to: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ResetRequested {
    status: bool,
    message: &'static str,
}

/// Emails a reset link when the address has an account. The answer is the same, and as
/// quick, either way.
#[utoipa::path(
    post,
    path = "/request-password-reset",
    tag = AUTH_TAG,
    request_body = RequestPasswordResetBody,
    security(()),
    responses(
        (status = 200, description = "Asked; a link is on its way if the account exists", body = ResetRequested),
        (status = 400, response = BadRequest),
        (status = 403, description = "`redirectTo` is another site (`INVALID_REDIRECT_URL`)", body = crate::error::ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn request_password_reset(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidJson(body): ValidJson<RequestPasswordResetBody>,
) -> Result<Json<ResetRequested>, AppError> {
    let email = Email::parse(&body.email).map_err(|e| AppError::Validation(vec![e]))?;
    let callback = callback_target(
        &state,
        body.redirect_to.as_deref(),
        RESET_PAGE,
        "INVALID_REDIRECT_URL",
    )?;
    request_reset(&state, email, callback, &client)?;
    Ok(Json(ResetRequested {
        status: true,
        message: REQUESTED_MESSAGE,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct CallbackQuery {
    /// The page of this site to go to; the site's own page when absent.
    #[serde(rename = "callbackURL")]
    #[param(rename = "callbackURL")]
    callback_url: Option<String>,
}

/// The link in the email: sends the browser to the new-password page with `?token=`,
/// or with `?error=INVALID_TOKEN` when the link is unknown, used or expired.
#[utoipa::path(
    get,
    path = "/reset-password/{token}",
    operation_id = "reset_password_callback",
    tag = AUTH_TAG,
    params(("token" = String, Path, description = "The token of the emailed link"), CallbackQuery),
    security(()),
    responses(
        (status = 302, description = "To the new-password page", headers(
            ("Location" = String, description = "The page, with `token` or `error` in its query"),
        )),
        (status = 400, response = BadRequest),
        (status = 403, description = "`callbackURL` is another site (`INVALID_CALLBACK_URL`)", body = crate::error::ErrorBody),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn reset_password_callback(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ValidQuery(query): ValidQuery<CallbackQuery>,
) -> Result<Response, AppError> {
    let callback = callback_target(
        &state,
        query.callback_url.as_deref(),
        RESET_PAGE,
        "INVALID_CALLBACK_URL",
    )?;
    let target =
        match email_tokens::look_up(&state.db, Purpose::ResetPassword, &token, state.clock.now())
            .await?
        {
            Lookup::Valid(_) => callback.with_query("token", &token),
            Lookup::Expired | Lookup::Unknown => callback.with_query("error", "INVALID_TOKEN"),
        };
    Ok(target.found())
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ResetPasswordBody {
    /// 8 to 128 characters, not a commonly used password.
    #[serde(default)]
    #[schema(required = true, min_length = 8, max_length = 128)]
    new_password: String,
    /// The token of the emailed link.
    #[serde(default)]
    #[schema(required = true)]
    token: String,
}

/// Sets a new password with the token of a reset link, and ends every session of the
/// account.
#[utoipa::path(
    post,
    path = "/reset-password",
    operation_id = "reset_password",
    tag = AUTH_TAG,
    request_body = ResetPasswordBody,
    security(()),
    responses(
        (status = 200, description = "Set; every session of the account has ended", body = Updated),
        (status = 400, description = "The token is unknown, used or expired (`INVALID_TOKEN`), or the password breaks a rule", body = crate::error::ValidationErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn reset_password_route(
    State(state): State<AppState>,
    client: ClientInfo,
    ValidJson(body): ValidJson<ResetPasswordBody>,
) -> Result<Json<Updated>, AppError> {
    let password = new_password("newPassword", &body.new_password)
        .map_err(|e| AppError::Validation(vec![e]))?;
    reset_password(&state, &body.token, password, &client).await?;
    Ok(Json(Updated { status: true }))
}
