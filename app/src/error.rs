//! The one error type a client can see, shared by server functions, the API and the page.
//!
//! Every variant carries only what may be shown to the client. Causes of internal failures
//! are logged once, where they are converted (`AppError::internal`), and never serialized.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// One entry of a FastAPI-style validation error list: `{loc, msg, type}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Better Auth's code for this problem (`PASSWORD_TOO_SHORT`), when it has one; the
    /// answer's `code` is the first error's, else `VALIDATION_ERROR`.
    #[serde(skip)]
    pub code: Option<&'static str>,
}

impl FieldError {
    /// A problem with the named field of the request body.
    pub fn body(field: &str, msg: impl Into<String>) -> Self {
        Self {
            loc: vec!["body".to_owned(), field.to_owned()],
            msg: msg.into(),
            kind: "value_error".to_owned(),
            code: None,
        }
    }

    /// The same error about the body's field `field`, as the request names it.
    pub fn on_field(self, field: &str) -> Self {
        Self {
            loc: vec!["body".to_owned(), field.to_owned()],
            ..self
        }
    }

    /// The same error, with Better Auth's code for it.
    pub fn with_code(self, code: &'static str) -> Self {
        Self {
            code: Some(code),
            ..self
        }
    }

    /// A problem with the named query parameter.
    pub fn query(field: &str, msg: impl Into<String>) -> Self {
        Self {
            loc: vec!["query".to_owned(), field.to_owned()],
            msg: msg.into(),
            kind: "value_error".to_owned(),
            code: None,
        }
    }

    /// The field this error is about: the last element of `loc`.
    pub fn field(&self) -> &str {
        self.loc.last().map(String::as_str).unwrap_or_default()
    }
}

/// Every field's problem at once: each field is parsed, its error kept, and the request
/// is refused with all of them together, as FastAPI does.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// The parsed value; `None` when it failed, its error kept.
    pub fn check<T>(&mut self, parsed: Result<T, FieldError>) -> Option<T> {
        parsed.map_err(|e| self.0.push(e)).ok()
    }

    /// What `build` makes of the checked values when no field failed; otherwise one 422
    /// with every error.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, AppError> {
        match build() {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(AppError::Validation(self.0)),
        }
    }
}

/// The length rule of every bounded text field: at most `max` characters (not bytes).
pub fn at_most_chars(
    field: &str,
    text: &str,
    max: usize,
    too_long: impl FnOnce() -> String,
) -> Result<(), FieldError> {
    if text.chars().count() > max {
        Err(FieldError::body(field, too_long()))
    } else {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No credentials at all.
    #[error("Not authenticated")]
    Unauthenticated,
    /// Credentials were presented and failed a check; the text says which one.
    #[error("{0}")]
    InvalidToken(String),
    #[error("Invalid email or password")]
    InvalidCredentials,
    /// A second factor (a code, or the sign-in it completes) that did not hold: 401 with
    /// Better Auth's code (`INVALID_CODE`, `INVALID_TWO_FACTOR_COOKIE`, ...).
    #[error("{message}")]
    WrongFactor { code: String, message: String },
    #[error("{message}")]
    Forbidden { code: String, message: String },
    /// A valid token whose scope lacks the one named.
    #[error("Token scope does not allow this request: it needs {0}")]
    InsufficientScope(String),
    #[error("{message}")]
    NotFound { code: String, message: String },
    #[error("{}", summarize(.0))]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    Conflict { code: String, message: String },
    #[error("Request body is too large")]
    PayloadTooLarge,
    /// A server function's arguments could not be read from the request.
    #[error("The request could not be read. Reload the page and try again.")]
    BadRequest,
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    TooManyRequests { retry_after_secs: u64 },
    /// A dependency (the database) is down; retrying later can succeed.
    #[error("{0}")]
    Unavailable(String),
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request got no answer the app understands: the network or the server is down.
    #[error("{0}")]
    Transport(String),
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.msg.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `detail` of a 403 for a valid token whose user has been disabled (CONTRACT §3).
pub const USER_DISABLED: &str = "User disabled";

/// Better Auth's codes this project answers with in more than one place.
pub const BANNED_USER: &str = "BANNED_USER";
pub const USER_ALREADY_EXISTS: &str = "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL";
pub const YOU_CANNOT_BAN_YOURSELF: &str = "YOU_CANNOT_BAN_YOURSELF";
pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";

impl AppError {
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// Better Auth's 400 for a request it refuses on one field, with its `code`.
    pub fn refused(field: &str, code: &'static str, message: &str) -> Self {
        Self::Validation(vec![FieldError::body(field, message).with_code(code)])
    }

    pub fn wrong_factor(code: &str, message: impl Into<String>) -> Self {
        Self::WrongFactor {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn user_disabled() -> Self {
        Self::forbidden(BANNED_USER, USER_DISABLED)
    }

    pub fn is_user_disabled(&self) -> bool {
        matches!(self, Self::Forbidden { message, .. } if message == USER_DISABLED)
    }

    /// Better Auth's error code for this error (`INVALID_EMAIL_OR_PASSWORD`), which every
    /// error body carries beside `detail`, as Better Auth's client reads it.
    pub fn code(&self) -> &str {
        match self {
            Self::Unauthenticated => "UNAUTHORIZED",
            Self::InvalidToken(_) => "INVALID_TOKEN",
            Self::InvalidCredentials => "INVALID_EMAIL_OR_PASSWORD",
            Self::Forbidden { code, .. }
            | Self::WrongFactor { code, .. }
            | Self::Conflict { code, .. }
            | Self::NotFound { code, .. } => code,
            Self::InsufficientScope(_) => "INSUFFICIENT_SCOPE",

            Self::Validation(errors) => errors
                .iter()
                .find_map(|e| e.code)
                .unwrap_or("VALIDATION_ERROR"),
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::BadRequest => "BAD_REQUEST",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal | Self::Transport(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The status Better Auth answers the same case with, for the `/api/auth/*` routes:
    /// 415 for a body that is not JSON, 400 for one it cannot use (an admin banning
    /// themselves included) and 422 for an address already registered, where FastAPI
    /// (and the rest of this API) says 422, 403 and 409.
    pub fn better_auth_status(&self) -> u16 {
        match self {
            Self::Validation(errors)
                if errors
                    .iter()
                    .any(|e| e.code == Some(UNSUPPORTED_MEDIA_TYPE)) =>
            {
                415
            }
            Self::Validation(_) => 400,
            Self::Forbidden { code, .. } if code == YOU_CANNOT_BAN_YOURSELF => 400,
            Self::Conflict { code, .. } if code == USER_ALREADY_EXISTS => 422,
            _ => self.status(),
        }
    }

    pub fn task_not_found() -> Self {
        Self::not_found("TASK_NOT_FOUND", "Task not found")
    }

    /// A new task refused because its owner keeps the most tasks one account may.
    pub fn task_limit_reached(max_tasks: i64) -> Self {
        Self::Conflict {
            code: "TASK_LIMIT_REACHED".to_owned(),
            message: format!(
                "You have {max_tasks} tasks, the most one account can keep. \
                 Delete some to add new ones."
            ),
        }
    }

    /// A server function called with arguments it cannot read.
    fn bad_arguments() -> Self {
        #[cfg(feature = "ssr")]
        tracing::debug!("refused a server function call whose arguments could not be read");
        Self::BadRequest
    }

    pub fn unreachable_server() -> Self {
        Self::Transport("Can't reach the server. Check your connection and try again.".to_owned())
    }

    /// The message for one field, when this is a validation error about it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            Self::Validation(errors) => errors
                .iter()
                .find(|e| e.field() == field)
                .map(|e| e.msg.clone()),
            _ => None,
        }
    }

    /// Whether the caller has to sign in (again) before retrying.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, Self::Unauthenticated | Self::InvalidToken(_))
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthenticated
            | Self::InvalidToken(_)
            | Self::InvalidCredentials
            | Self::WrongFactor { .. } => 401,
            Self::Forbidden { .. } | Self::InsufficientScope(_) => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::PayloadTooLarge => 413,
            Self::Validation(_) => 422,
            Self::TooManyRequests { .. } => 429,
            Self::Internal | Self::Transport(_) => 500,
            Self::Unavailable(_) => 503,
        }
    }

    /// Rebuilds the error from an API answer: its status and its FastAPI-style body, read
    /// into the shapes `IntoResponse` writes (no general JSON value, which would cost the
    /// browser bundle a JSON tree and float parsing for three fields).
    pub fn from_api_response(status: u16, retry_after: Option<&str>, body: &str) -> Self {
        // Each member is read on its own, so one of an unexpected type spoils only itself.
        #[derive(Deserialize)]
        struct Detail<T> {
            detail: T,
        }
        #[derive(Deserialize)]
        struct Code {
            code: String,
        }
        if status == 422 {
            return serde_json::from_str::<Detail<Vec<FieldError>>>(body)
                .map_or(Self::Internal, |body| Self::Validation(body.detail));
        }
        let text = serde_json::from_str::<Detail<String>>(body)
            .map(|body| body.detail)
            .unwrap_or_default();
        match status {
            401 if text == "Not authenticated" || text.is_empty() => Self::Unauthenticated,
            401 => Self::InvalidToken(text),
            403 => Self::Forbidden {
                code: serde_json::from_str::<Code>(body)
                    .map(|body| body.code)
                    .unwrap_or_default(),
                message: text,
            },
            404 => Self::NotFound {
                code: serde_json::from_str::<Code>(body)
                    .map(|body| body.code)
                    .unwrap_or_default(),
                message: text,
            },
            409 => Self::Conflict {
                code: serde_json::from_str::<Code>(body)
                    .map(|body| body.code)
                    .unwrap_or_default(),
                message: text,
            },
            413 => Self::PayloadTooLarge,
            429 => Self::TooManyRequests {
                retry_after_secs: retry_after
                    .and_then(|secs| secs.trim().parse().ok())
                    .unwrap_or(1),
            },
            503 => Self::Unavailable(text),
            _ => Self::Internal,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// On the server, `Args` and `MissingArg` (and `Deserialization`, which there means
    /// a body that is not the JSON a function takes) say that a request's arguments
    /// could not be read: a missing field, a number that is none. That is the caller's
    /// mistake, not the server's, so it is a 400 and no error in the log; and the
    /// deserializer's words, which describe the request back to whoever sent it and tell
    /// a person nothing, are neither sent nor logged (they can quote what was sent). In
    /// the browser, `Deserialization` is an answer the page could not read, which stays a
    /// transport error.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => Self::unreachable_server(),
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => Self::bad_arguments(),
            ServerFnErrorErr::Deserialization(_) if cfg!(feature = "ssr") => Self::bad_arguments(),
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::{better_auth_statuses, server_fn_error_status, ErrorBody, ValidationErrorBody};

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use crate::paths::SERVER_FN_PREFIX;
    use axum::{
        body::Body,
        extract::Request,
        http::{
            header::{RETRY_AFTER, WWW_AUTHENTICATE},
            HeaderValue, StatusCode,
        },
        middleware::Next,
        response::{IntoResponse, Response},
        Json,
    };
    use serde::Serialize;

    /// The body of an error answer: FastAPI's `detail` (CONTRACT §3), with Better Auth's
    /// `code` and `message` beside it.
    #[derive(Serialize, utoipa::ToSchema)]
    #[schema(example = json!({
        "detail": "Token has expired",
        "code": "INVALID_TOKEN",
        "message": "Token has expired"
    }))]
    pub struct ErrorBody {
        // In the order the members always had (alphabetical): clients compare bodies.
        /// Better Auth's code for it (`INVALID_TOKEN`, `TASK_NOT_FOUND`, …).
        pub code: String,
        /// What went wrong, for people.
        pub detail: String,
        /// The same text as `detail`, where Better Auth's client reads it.
        pub message: String,
    }

    /// The body of a refused request body or query: every field's problem at once.
    #[derive(Serialize, utoipa::ToSchema)]
    #[schema(example = json!({
        "detail": [{"loc": ["body", "title"], "msg": "Title can't be empty", "type": "value_error"}],
        "code": "VALIDATION_ERROR",
        "message": "Title can't be empty"
    }))]
    pub struct ValidationErrorBody {
        /// Better Auth's code: the first field's (`PASSWORD_TOO_SHORT`), else
        /// `VALIDATION_ERROR`.
        pub code: String,
        pub detail: Vec<super::FieldError>,
        /// Every field's message, joined with `; `.
        pub message: String,
    }

    impl AppError {
        /// Logs the cause of an unexpected failure once and hides it from the client.
        pub fn internal(cause: impl std::fmt::Display) -> Self {
            tracing::error!(%cause, "request failed");
            Self::Internal
        }
    }

    /// How long a client should wait before retrying while the database is down.
    const UNAVAILABLE_RETRY_SECS: u64 = 5;

    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> Self {
            if is_unavailable(&e) {
                tracing::warn!(cause = %e, "database unavailable");
                Self::Unavailable(
                    "The database is unavailable. Try again in a few seconds.".to_owned(),
                )
            } else {
                Self::internal(format_args!("database: {e}"))
            }
        }
    }

    /// Failures that say the database cannot be reached or used right now, as opposed to
    /// a bad query: retrying later can succeed.
    fn is_unavailable(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLITE_BUSY or SQLITE_LOCKED (any extended form): another process
                    // held the lock past the busy timeout.
                    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
                } else {
                    // A PostgreSQL SQLSTATE: connection exceptions, and the server
                    // shutting down or starting up.
                    code.starts_with("08") || code.starts_with("57P")
                }
            }
            _ => false,
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (code, message) = (self.code().to_owned(), self.to_string());
            let mut response = match &self {
                Self::Validation(errors) => (
                    status,
                    Json(ValidationErrorBody {
                        code,
                        detail: errors.clone(),
                        message,
                    }),
                )
                    .into_response(),
                _ => (
                    status,
                    Json(ErrorBody {
                        code,
                        detail: message.clone(),
                        message,
                    }),
                )
                    .into_response(),
            };
            response
                .extensions_mut()
                .insert(BetterAuthStatus(self.better_auth_status()));
            let challenge = match &self {
                Self::Unauthenticated => Some("Bearer".to_owned()),
                Self::InvalidToken(reason) => Some(format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    reason.replace(['"', '\\'], "'")
                )),
                Self::InsufficientScope(scope) => Some(format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )),
                _ => None,
            };
            if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
            let retry_after = match &self {
                Self::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
                Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
                _ => None,
            };
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
    }

    /// The status Better Auth would answer an error with, kept on the response for the
    /// `/api/auth/*` routes' `better_auth_statuses`.
    #[derive(Clone, Copy)]
    struct BetterAuthStatus(u16);

    /// For the routes that speak Better Auth's dialect: each error answer gets the
    /// status Better Auth uses for it (`AppError::better_auth_status`).
    pub async fn better_auth_statuses(request: Request, next: Next) -> Response {
        let mut response = next.run(request).await;
        if let Some(status) = response
            .extensions()
            .get::<BetterAuthStatus>()
            .and_then(|s| StatusCode::from_u16(s.0).ok())
        {
            *response.status_mut() = status;
        }
        response
    }

    /// Server functions answer every error with a 500, the protocol's default. This puts
    /// the status the error means on the answer instead (401 for a wrong password, 429
    /// for a rate limit, …), so logs and clients see what happened; the Leptos client
    /// decodes the error from any 4xx or 5xx. Plain form posts are answered with a
    /// redirect by Leptos and pass through untouched.
    pub async fn server_fn_error_status(request: Request, next: Next) -> Response {
        let server_fn = request.uri().path().starts_with(SERVER_FN_PREFIX);
        let response = next.run(request).await;
        if !server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if let Some(status) = serde_json::from_slice::<AppError>(&bytes)
            .ok()
            .and_then(|error| StatusCode::from_u16(error.status()).ok())
        {
            parts.status = status;
        }
        Response::from_parts(parts, Body::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::{AppError, FieldError};

    #[test]
    fn an_api_validation_answer_becomes_its_field_errors() {
        let body = r#"{"detail":[{"loc":["body","title"],"msg":"Title is required","type":"value_error"}]}"#;
        let error = AppError::from_api_response(422, None, body);
        assert_eq!(
            error,
            AppError::Validation(vec![FieldError::body("title", "Title is required")])
        );
        assert_eq!(
            error.message_for("title").as_deref(),
            Some("Title is required")
        );
    }

    #[test]
    fn an_api_401_says_whether_credentials_were_missing_or_refused() {
        let missing = AppError::from_api_response(401, None, r#"{"detail":"Not authenticated"}"#);
        assert_eq!(missing, AppError::Unauthenticated);
        let expired = AppError::from_api_response(401, None, r#"{"detail":"Token has expired"}"#);
        assert_eq!(
            expired,
            AppError::InvalidToken("Token has expired".to_owned())
        );
        assert!(expired.needs_sign_in());
        let with_null_code =
            AppError::from_api_response(401, None, r#"{"detail":"Token has expired","code":null}"#);
        assert_eq!(with_null_code, expired);
    }

    #[test]
    fn an_api_conflict_keeps_its_code_and_message() {
        let body =
            r#"{"detail":"Already taken","code":"USER_ALREADY_EXISTS","message":"Already taken"}"#;
        assert_eq!(
            AppError::from_api_response(409, None, body),
            AppError::Conflict {
                code: "USER_ALREADY_EXISTS".to_owned(),
                message: "Already taken".to_owned()
            }
        );
    }

    #[test]
    fn an_unreadable_api_error_body_still_keeps_the_status_meaning() {
        assert_eq!(
            AppError::from_api_response(401, None, "<html>proxy error</html>"),
            AppError::Unauthenticated
        );
        assert_eq!(
            AppError::from_api_response(404, None, ""),
            AppError::not_found("", "")
        );
        assert_eq!(
            AppError::from_api_response(422, None, r#"{"detail":"not a list"}"#),
            AppError::Internal
        );
        assert_eq!(
            AppError::from_api_response(502, None, "{}"),
            AppError::Internal
        );
    }

    #[test]
    fn an_api_429_keeps_how_long_to_wait() {
        let body = r#"{"detail":"Too many attempts. Try again in 42 seconds."}"#;
        let error = AppError::from_api_response(429, Some("42"), body);
        assert_eq!(
            error,
            AppError::TooManyRequests {
                retry_after_secs: 42
            }
        );
        assert_eq!(
            error.to_string(),
            "Too many attempts. Try again in 42 seconds."
        );
    }
}
