//! Better Auth's routes for a person managing their own account: their profile
//! (`update-user`), their password (`change-password`) and leaving (`delete-user`).
//! Each answers the session's caller only; the caller's own access cookie is replaced
//! in the answer, since the change revoked the old one.

use crate::auth::service::account::{
    change_password, delete_account, new_password, update_profile, ImageUrl, ProfileChange,
};
use crate::{
    auth::{
        service::{credentials, session},
        store::sessions::Session,
        types::{Password, User, UserName},
        web::extract::CurrentSession,
    },
    client::ClientInfo,
    error::{AppError, FieldError, FieldErrors},
    extract::ValidJson,
    openapi::{
        BadRequest, Forbidden, Internal, NotAuthenticated, PayloadTooLarge, TooManyRequests,
        Unavailable, UnsupportedMediaType, AUTH_TAG,
    },
    state::AppState,
};
use axum::{
    extract::State,
    http::{header::SET_COOKIE, HeaderMap},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes, under `/api/auth` beside Better Auth's others.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_user))
        .routes(routes!(change_password_route))
        .routes(routes!(delete_user))
}

/// Tells a member sent as `null` (`Some(None)`) from one not sent (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
struct UpdateUserBody {
    /// 1 to 100 characters.
    #[schema(max_length = 100)]
    name: Option<String>,
    /// An http(s) URL, or `null` to remove the picture.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1024)]
    image: Option<Option<String>>,
    /// Refused: an email is changed with `change-email`, which checks the new address.
    #[schema(value_type = Option<String>)]
    email: Option<serde_json::Value>,
}

impl UpdateUserBody {
    fn parse(&self) -> Result<ProfileChange, AppError> {
        if self.email.is_some() {
            return Err(AppError::Validation(vec![FieldError::body(
                "email",
                "Email can not be updated",
            )
            .with_code("EMAIL_CAN_NOT_BE_UPDATED")]));
        }
        if self.name.is_none() && self.image.is_none() {
            return Err(AppError::Validation(vec![FieldError::body(
                "name",
                "No fields to update",
            )]));
        }
        let name = self.name.as_deref().map(UserName::parse).transpose();
        let image = self
            .image
            .as_ref()
            .map(|image| image.as_deref().map(ImageUrl::parse).transpose())
            .transpose();
        let mut fields = FieldErrors::default();
        let (name, image) = (fields.check(name), fields.check(image));
        fields.finish(|| {
            Some(ProfileChange {
                name: name?,
                image: image?,
            })
        })
    }
}

/// `{"status": true}`.
#[derive(Serialize, ToSchema)]
pub struct Updated {
    pub status: bool,
}

/// The answer to a change of the caller's account: their session's access cookie again,
/// minted from the account as it is now (the old one was revoked with the change).
fn with_fresh_access_cookie(
    state: &AppState,
    session: &Session,
    user: &User,
    body: impl Serialize,
) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, session::access_cookie(state, user, session));
    (headers, Json(body)).into_response()
}

/// Changes the caller's name or picture.
#[utoipa::path(
    post,
    path = "/update-user",
    tag = AUTH_TAG,
    request_body = UpdateUserBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Changed", body = Updated, headers(
            ("Set-Cookie" = String, description = "The access cookie, minted from the changed account"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn update_user(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<UpdateUserBody>,
) -> Result<Response, AppError> {
    let (session, user) = current.signed_in()?;
    let user = update_profile(&state, &user, body.parse()?, &client).await?;
    Ok(with_fresh_access_cookie(
        &state,
        &session,
        &user,
        Updated { status: true },
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordBody {
    #[serde(default)]
    #[schema(required = true)]
    current_password: String,
    /// 8 to 128 characters, not a commonly used password.
    #[serde(default)]
    #[schema(required = true, min_length = 8, max_length = 128)]
    new_password: String,
    /// End every other session of the caller's (the default: a changed password is
    /// usually a lost one).
    revoke_other_sessions: Option<bool>,
}

#[derive(Serialize, ToSchema)]
struct PasswordChanged {
    /// The caller's session token when the other sessions were ended, else `null`.
    token: Option<String>,
    user: User,
}

/// Changes the caller's password. Every access token from before is refused; the other
/// sessions end unless `revokeOtherSessions` is `false`.
#[utoipa::path(
    post,
    path = "/change-password",
    operation_id = "change_password",
    tag = AUTH_TAG,
    request_body = ChangePasswordBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Changed", body = PasswordChanged, headers(
            ("Set-Cookie" = String, description = "The access cookie, minted from the changed account"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn change_password_route(
    State(state): State<AppState>,
    client: ClientInfo,
    CurrentSession(current): CurrentSession,
    ValidJson(body): ValidJson<ChangePasswordBody>,
) -> Result<Response, AppError> {
    let (session, user, session_token) = current.ok_or(AppError::Unauthenticated)?;
    let mut fields = FieldErrors::default();
    let current_password = fields.check(Password::presented(
        "currentPassword",
        &body.current_password,
    ));
    let new_password = fields.check(new_password("newPassword", &body.new_password));
    let (current_password, new_password) =
        fields.finish(|| Some((current_password?, new_password?)))?;
    let end_others = body.revoke_other_sessions.unwrap_or(true);
    let user = change_password(
        &state,
        &session,
        &user,
        current_password,
        new_password,
        end_others,
        &client,
    )
    .await?;
    let body = PasswordChanged {
        token: end_others.then_some(session_token),
        user: user.clone(),
    };
    Ok(with_fresh_access_cookie(&state, &session, &user, body))
}

#[derive(Deserialize, ToSchema)]
struct DeleteUserBody {
    /// The caller's password.
    #[serde(default)]
    #[schema(required = true)]
    password: String,
}

#[derive(Serialize, ToSchema)]
struct Deleted {
    success: bool,
    /// `User deleted`.
    message: String,
}

/// Deletes the caller's account, with every session and task of theirs. The audit log
/// keeps its events, under the account's id.
#[utoipa::path(
    post,
    path = "/delete-user",
    tag = AUTH_TAG,
    request_body = DeleteUserBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "Deleted", body = Deleted, headers(
            ("Set-Cookie" = String, description = "Both cookies, cleared"),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<DeleteUserBody>,
) -> Result<Response, AppError> {
    let (session, user) = current.signed_in()?;
    let password = Password::presented("password", &body.password)
        .map_err(|e| AppError::Validation(vec![e]))?;
    delete_account(&state, &user, &session, password, &client).await?;
    let mut headers = HeaderMap::new();
    for cookie in credentials::cleared_cookies(&state) {
        headers.append(SET_COOKIE, cookie);
    }
    let body = Deleted {
        success: true,
        message: "User deleted".to_owned(),
    };
    Ok((headers, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> UpdateUserBody {
        serde_json::from_str(json).unwrap()
    }

    fn fields(error: AppError) -> Vec<String> {
        match error {
            AppError::Validation(errors) => errors.iter().map(|e| e.field().to_owned()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_profile_change_names_something_to_change_and_never_the_email() {
        assert!(body(r#"{"name":"Ada"}"#).parse().is_ok());
        assert!(body(r#"{"image":null}"#).parse().is_ok());
        let nothing = body("{}").parse().err().unwrap();
        assert_eq!(nothing.code(), "VALIDATION_ERROR");
        let email = body(r#"{"name":"Ada","email":"x@example.com"}"#)
            .parse()
            .err()
            .unwrap();
        assert_eq!(email.code(), "EMAIL_CAN_NOT_BE_UPDATED");
    }

    #[test]
    fn a_picture_is_at_most_1024_bytes_once_encoded() {
        let fits = format!("https://example.com/{}", "a".repeat(1000));
        assert!(body(&format!(r#"{{"image":"{fits}"}}"#)).parse().is_ok());
        // 300 characters of two bytes each, six once percent-encoded.
        let grows = format!("https://example.com/{}", "é".repeat(300));
        let refused = body(&format!(r#"{{"image":"{grows}"}}"#))
            .parse()
            .err()
            .unwrap();
        assert_eq!(fields(refused), ["image"]);
    }

    #[test]
    fn a_picture_is_an_http_url_and_a_name_follows_the_sign_up_rules() {
        assert!(body(r#"{"image":"https://example.com/ada.png"}"#)
            .parse()
            .is_ok());
        let refused = body(r#"{"name":"  ","image":"javascript:alert(1)"}"#)
            .parse()
            .err()
            .unwrap();
        assert_eq!(fields(refused), ["name", "image"]);
    }
}
