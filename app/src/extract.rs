//! Request extractors whose rejections speak the contract: 422 with a field list, 413.

use crate::error::{AppError, FieldError};
use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Query, Request},
    http::{request::Parts, StatusCode},
    Json,
};
use serde::de::DeserializeOwned;

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
                }])
            })
    }
}
