//! Request extractors whose rejections speak the contract: 422 with a field list, 413.

use crate::error::{AppError, FieldError};
use axum::{
    body::Body,
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Query, Request},
    http::{header::CONTENT_LENGTH, request::Parts, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde::de::DeserializeOwned;

/// The largest request body the server reads; a task is a few KiB at most.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Server-function bodies over the limit get the API's 413. Leptos reads the body
/// itself and would report the cut-off body as a failure to deserialize (a 500 with
/// its internal text), so the body is read here first, within the limit. Form posts
/// and server-function calls are small; buffering them costs nothing.
pub async fn limit_server_fn_bodies(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(crate::SERVER_FN_PREFIX) {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT_BYTES as u64) {
        return AppError::PayloadTooLarge.into_response();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, BODY_LIMIT_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => AppError::PayloadTooLarge.into_response(),
    }
}

/// `Json<T>` whose failures are FastAPI-style 422s (or 413 for an oversized body).
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    let kind = match rejection {
        JsonRejection::MissingJsonContentType(_) => "content_type",
        JsonRejection::JsonSyntaxError(_) => "json_invalid",
        _ => "type_error",
    };
    AppError::Validation(vec![FieldError {
        loc: vec!["body".to_owned()],
        msg: rejection.body_text(),
        kind: kind.to_owned(),
        code: (kind == "content_type").then_some(crate::error::UNSUPPORTED_MEDIA_TYPE),
    }])
}

/// `Query<T>` whose failures are FastAPI-style 422s.
pub struct ValidQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| {
                AppError::Validation(vec![FieldError {
                    loc: vec!["query".to_owned()],
                    msg: rejection.body_text(),
                    kind: "type_error".to_owned(),
                    code: None,
                }])
            })
    }
}
