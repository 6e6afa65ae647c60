//! Request extractors whose rejections speak the contract: 422 with a field list, 413.
//!
//! They also refuse text with a NUL character in a body or a query. PostgreSQL cannot
//! store or even compare one (`invalid byte sequence for encoding "UTF8": 0x00`, a 500),
//! and SQLite would answer the same request otherwise; a field that names nothing a
//! client could have been given is a field error on either backend.

use crate::{
    error::{AppError, FieldError},
    paths::SERVER_FN_PREFIX,
};
use axum::{
    body::{Body, Bytes},
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
    if !request.uri().path().starts_with(SERVER_FN_PREFIX) {
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
        // The body is read here (within `DefaultBodyLimit`), so that its text can be
        // looked at once `Json` has parsed it.
        let (parts, body) = req.into_parts();
        let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), state).await
        {
            Ok(bytes) => bytes,
            Err(rejection) => {
                // As `Json` answers: a body that is not JSON says so before its size does.
                let empty = Request::from_parts(parts, Body::empty());
                return Err(match Json::<T>::from_request(empty, state).await {
                    Err(wrong @ JsonRejection::MissingJsonContentType(_)) => json_rejection(wrong),
                    _ => json_rejection(rejection.into()),
                });
            }
        };
        let request = Request::from_parts(parts, Body::from(bytes.clone()));
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => match nul_in_json(&bytes) {
                Some(loc) => Err(AppError::Validation(vec![nul_error(loc)])),
                None => Ok(Self(value)),
            },
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

const NUL_MESSAGE: &str = "Text cannot contain NUL characters";

fn nul_error(loc: Vec<String>) -> FieldError {
    FieldError {
        loc,
        msg: NUL_MESSAGE.to_owned(),
        kind: "value_error".to_owned(),
        code: None,
    }
}

/// Where a string of this (valid) JSON holds a NUL: `["body", "token"]`, or `["body"]`
/// when it is not in a member's value. JSON spells a NUL inside a string only as the
/// escape `\u0000` (raw control characters are not JSON), so the bytes are scanned for
/// that first, and the document is parsed again only when it is there.
fn nul_in_json(body: &[u8]) -> Option<Vec<String>> {
    let mut escaped_nul = false;
    let mut rest = body;
    while let Some(at) = rest.iter().position(|b| *b == b'\\') {
        if rest[at + 1..].starts_with(b"u0000") {
            escaped_nul = true;
            break;
        }
        // Skips the escaped character, a backslash included.
        rest = rest.get(at + 2..)?;
    }
    if !escaped_nul {
        return None;
    }
    fn find(value: &serde_json::Value, loc: &mut Vec<String>) -> bool {
        match value {
            serde_json::Value::String(text) => text.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(|item| find(item, loc)),
            serde_json::Value::Object(members) => members.iter().any(|(key, value)| {
                if key.contains('\0') {
                    return true;
                }
                loc.push(key.clone());
                let found = find(value, loc);
                if !found {
                    loc.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut loc = vec!["body".to_owned()];
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    find(&value, &mut loc).then(|| {
        loc.truncate(2);
        loc
    })
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
        let value = Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| {
                AppError::Validation(vec![FieldError {
                    loc: vec!["query".to_owned()],
                    msg: rejection.body_text(),
                    kind: "type_error".to_owned(),
                    code: None,
                }])
            })?;
        match parts.uri.query().and_then(nul_in_query) {
            Some(loc) => Err(AppError::Validation(vec![nul_error(loc)])),
            None => Ok(value),
        }
    }
}

/// Which parameter of a query holds a NUL: `%00` is the only way a URL can carry one.
fn nul_in_query(query: &str) -> Option<Vec<String>> {
    query
        .split('&')
        .find(|pair| pair.contains("%00"))
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            vec!["query".to_owned(), name.replace("%00", "")]
        })
}

#[cfg(test)]
mod tests {
    use super::{nul_in_json, nul_in_query};

    #[test]
    fn a_nul_in_a_json_string_is_found_with_its_member() {
        let loc = nul_in_json(br#"{"title": "ok", "token": "a\u0000b"}"#);
        assert_eq!(loc, Some(vec!["body".to_owned(), "token".to_owned()]));
        let nested = nul_in_json(br#"{"filter": {"deep": ["\u0000"]}}"#);
        assert_eq!(nested, Some(vec!["body".to_owned(), "filter".to_owned()]));
        assert_eq!(nul_in_json(br#"["\u0000"]"#), Some(vec!["body".to_owned()]));
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_only_text() {
        assert_eq!(nul_in_json(br#"{"title": "C:\\u0000"}"#), None);
        assert_eq!(
            nul_in_json(br#"{"title": "\u00000 \n \\"}"#),
            Some(vec!["body".to_owned(), "title".to_owned()])
        );
        assert_eq!(nul_in_json(br#"{"title": "plain"}"#), None);
        assert_eq!(nul_in_json(br#"{"title": "ends with \\"}"#), None);
    }

    #[test]
    fn a_nul_in_a_query_names_its_parameter() {
        assert_eq!(
            nul_in_query("limit=5&searchValue=a%00b"),
            Some(vec!["query".to_owned(), "searchValue".to_owned()])
        );
        assert_eq!(nul_in_query("searchValue=100%25"), None);
        assert_eq!(nul_in_query("text=%2500"), None);
    }
}
