//! The OpenAPI 3.1 document of the JSON API, served at `/openapi.json` and shown at
//! `/docs`.
//!
//! Each operation is described by the `#[utoipa::path]` on its handler, and
//! `utoipa_axum` builds the router from those same attributes (`api::router`), so the
//! document lists exactly the routes that are served. This module holds what the
//! operations share: the ways to authenticate, and the error answers with their
//! headers.

use crate::error::{ErrorBody, ValidationErrorBody};
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        OpenApi as Document,
    },
    Modify, OpenApi, ToResponse,
};

/// The security scheme of an access JWT in `Authorization: Bearer` (the tasks API).
pub const BEARER_JWT: &str = "bearer_jwt";
/// The access JWT in its `HttpOnly` cookie, as the browser sends it.
pub const ACCESS_COOKIE: &str = "access_cookie";
/// Better Auth's session cookie (`/api/auth/*`).
pub const SESSION_COOKIE: &str = "session_cookie";
/// A session token in `Authorization: Bearer` (Better Auth's bearer plugin).
pub const SESSION_TOKEN: &str = "session_token";

pub const TASKS_TAG: &str = "tasks";
pub const AUTH_TAG: &str = "auth";
pub const SESSIONS_TAG: &str = "sessions";
pub const ADMIN_TAG: &str = "admin";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Taskboard API",
        description = "Each user's tasks, behind the token contract of the Better Auth + \
FastAPI setup this replaces: an HS256 JWT (or EdDSA/ES256/RS256 with `JWT_ALGORITHM`) in \
`Authorization: Bearer`, checked for signature, `exp`, `nbf`, `iat`, issuer and audience. \
Get one by signing in (`POST /api/auth/sign-in/email`), then `GET /api/auth/token` with \
the session cookie or the `set-auth-token` header as a bearer token. Every error body has \
FastAPI's `detail`; those of `/api/auth/*` also carry Better Auth's `code` and `message`, \
with Better Auth's statuses. No text in a request body or query may hold a NUL (U+0000): \
such a request is refused like any invalid field (422, or 400 on `/api/auth/*`). A method \
a path does not have is a 405 with `Allow` and a JSON body.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(
        schemas(ErrorBody, ValidationErrorBody, BadRequestBody),
        responses(
            NotAuthenticated,
            Forbidden,
            TaskNotFound,
            InvalidRequest,
            BadRequest,
            BadRequestOrRefused,
            UnsupportedMediaType,
            PayloadTooLarge,
            TooManyRequests,
            Unavailable,
            Internal,
        )
    ),
    modifiers(&SecuritySchemes, &SentHeadersAreRequired),
    tags(
        (name = TASKS_TAG, description = "The caller's own tasks (CONTRACT §4)."),
        (name = AUTH_TAG, description = "Better Auth's email and password routes, and who the caller is."),
        (name = SESSIONS_TAG, description = "The caller's sessions, and JWTs for them."),
        (name = ADMIN_TAG, description = "Better Auth's admin routes, for admins only."),
    )
)]
pub struct ApiDoc;

/// The ways a request can carry its credentials.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access JWT: from `GET /api/auth/token`, the `set-auth-jwt` \
                         header of `GET /api/auth/get-session`, or `server token mint`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ACCESS_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "access_token",
                "The access JWT in the HttpOnly cookie a browser sign-in sets \
                 (`__Host-access_token` over https).",
            ))),
        );
        components.add_security_scheme(
            SESSION_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "better-auth.session_token",
                "Better Auth's session cookie (`__Secure-` prefixed over https).",
            ))),
        );
        components.add_security_scheme(
            SESSION_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token (the `set-auth-token` header of a sign-in), as \
                         Better Auth's bearer plugin sends it.",
                    ))
                    .build(),
            ),
        );
    }
}

/// utoipa has no `required` for response headers; every header this document names is
/// sent on every answer it is listed for, so each is marked required (what clients and
/// Schemathesis check).
struct SentHeadersAreRequired;

impl Modify for SentHeadersAreRequired {
    fn modify(&self, document: &mut Document) {
        let shared = document
            .components
            .iter_mut()
            .flat_map(|components| components.responses.values_mut());
        let of_operations = document.paths.paths.values_mut().flat_map(|item| {
            [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            .flat_map(|operation| operation.responses.responses.values_mut())
        });
        for response in shared.chain(of_operations) {
            if let utoipa::openapi::RefOr::T(response) = response {
                for header in response.headers.values_mut() {
                    let utoipa::openapi::RefOr::T(header) = header else {
                        continue;
                    };
                    header
                        .extensions
                        .get_or_insert_with(Default::default)
                        .insert("required".to_owned(), true.into());
                }
            }
        }
    }
}

/// No credentials, or credentials that failed a check: `detail` says which.
#[derive(ToResponse)]
#[response(headers((
    "WWW-Authenticate" = String,
    description = "`Bearer`, or `Bearer error=\"invalid_token\", error_description=\"…\"`"
)))]
pub struct NotAuthenticated(pub ErrorBody);

/// Not allowed: the user is disabled (`detail: "User disabled"`, code `BANNED_USER`),
/// the token's scope is too small (code `INSUFFICIENT_SCOPE`, with
/// `WWW-Authenticate: Bearer error="insufficient_scope"`), or the caller is not an admin
/// (Better Auth's `YOU_ARE_NOT_ALLOWED_TO_…` codes).
#[derive(ToResponse)]
pub struct Forbidden(pub ErrorBody);

/// No such task among the caller's (another user's task is not found either).
#[derive(ToResponse)]
pub struct TaskNotFound(pub ErrorBody);

/// The body or the query is not valid: `detail` lists every field's problem.
#[derive(ToResponse)]
pub struct InvalidRequest(pub ValidationErrorBody);

/// The body or the query is not valid (Better Auth's status for it): `detail` lists every
/// field's problem, and `code` is Better Auth's (`PASSWORD_TOO_SHORT`, `INVALID_EMAIL`, …).
#[derive(ToResponse)]
pub struct BadRequest(pub ValidationErrorBody);

/// The body of a 400 from a route that refuses some requests with Better Auth's 400: a
/// field list for a body it cannot use, or one message for a refusal (an admin banning
/// or unbanning themselves: `YOU_CANNOT_BAN_YOURSELF`).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BadRequestBody {
    Invalid(ValidationErrorBody),
    Refused(ErrorBody),
}

/// The body or the query is not valid (`detail` lists every field's problem), or the
/// request is refused (`detail` is one message, `code` says why: `YOU_CANNOT_BAN_YOURSELF`).
#[derive(ToResponse)]
pub struct BadRequestOrRefused(pub BadRequestBody);

/// The body is not JSON (`Content-Type` is not `application/json`).
#[derive(ToResponse)]
pub struct UnsupportedMediaType(pub ValidationErrorBody);

/// The body is larger than the server accepts.
#[derive(ToResponse)]
pub struct PayloadTooLarge(pub ErrorBody);

/// Too many attempts from this address or account: wait as long as `Retry-After` says.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = String, description = "Seconds to wait before retrying")))]
pub struct TooManyRequests(pub ErrorBody);

/// The database is unavailable: retrying later can succeed.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = String, description = "Seconds to wait before retrying")))]
pub struct Unavailable(pub ErrorBody);

/// Something went wrong on the server; the cause is only in its log.
#[derive(ToResponse)]
pub struct Internal(pub ErrorBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_security_scheme_is_defined() {
        let document = ApiDoc::openapi();
        let schemes = &document.components.unwrap().security_schemes;
        for name in [BEARER_JWT, ACCESS_COOKIE, SESSION_COOKIE, SESSION_TOKEN] {
            assert!(schemes.contains_key(name), "{name}");
        }
    }

    #[test]
    fn a_400_that_may_be_a_refusal_admits_one_message_as_well_as_a_field_list() {
        let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &json["components"]["schemas"];
        let alternatives = schemas["BadRequestBody"]["oneOf"].as_array().unwrap();
        let named: Vec<&str> = alternatives
            .iter()
            .filter_map(|a| a["$ref"].as_str())
            .collect();
        assert_eq!(
            named,
            [
                "#/components/schemas/ValidationErrorBody",
                "#/components/schemas/ErrorBody"
            ]
        );
        assert_eq!(
            schemas["ErrorBody"]["properties"]["detail"]["type"],
            "string"
        );
    }

    #[test]
    fn the_headers_of_error_answers_are_required() {
        let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let header = &json["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"];
        assert_eq!(header["required"], true, "{header}");
    }
}
