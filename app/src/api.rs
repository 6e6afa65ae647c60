//! The JSON API under `/api`, composed in one place: the tasks (CONTRACT §4), who the
//! caller is, and Better Auth's routes (§5, §6) with its admin routes. Each route comes
//! with its OpenAPI operation (`openapi`).

use crate::{admin, auth, error::AppError, state::AppState, state::SiteSettings, tasks};
use axum::{
    extract::Request,
    http::{header, HeaderName, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router(site: &SiteSettings) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new()
        .merge(tasks::api::router())
        .routes(routes!(auth::web::api::me))
        .nest("/auth/admin", admin::api::router())
        .nest("/auth", auth::web::api::router())
        .fallback(|| async { AppError::not_found("NOT_FOUND", "Not found") })
        .layer(axum::middleware::from_fn(method_not_allowed_in_json));
    match cors(site) {
        Some(cors) => {
            let listed = std::sync::Arc::new(site.cors_allowed_origins.clone());
            router
                .layer(cors)
                .layer(axum::middleware::from_fn(move |request, next| {
                    only_listed_origins(std::sync::Arc::clone(&listed), request, next)
                }))
        }
        None => router,
    }
}

/// axum answers a method a route does not have (`PUT /api/tasks`) with an empty 405;
/// every error body of the API is JSON with a `detail` (CONTRACT §3), FastAPI's
/// `{"detail": "Method Not Allowed"}` here. The `Allow` header stays.
async fn method_not_allowed_in_json(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != axum::http::StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let message = "Method Not Allowed";
    let body = crate::error::ErrorBody {
        detail: message.to_owned(),
        code: "METHOD_NOT_ALLOWED".to_owned(),
        message: message.to_owned(),
    };
    let json = axum::Json(body).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    let (json_parts, json_body) = json.into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, json_body)
}

/// tower-http's CORS answers every origin's preflight and marks every answer with
/// `Access-Control-Allow-Credentials`; a page of an unlisted origin gets no CORS header
/// at all, so nothing in the answer reads as an invitation.
async fn only_listed_origins(
    listed: std::sync::Arc<Vec<String>>,
    request: Request,
    next: Next,
) -> Response {
    let unlisted = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| !listed.iter().any(|o| o == origin));
    let mut response = next.run(request).await;
    if unlisted {
        let headers = response.headers_mut();
        let cors: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    response
}

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// CORS for a frontend on another origin (the seed's `:3000` page calling the `:8000`
/// API), only for the origins in `CORS_ALLOWED_ORIGINS`: they may send credentials and
/// read Better Auth's token headers. An unlisted origin gets no CORS headers at all, so
/// its browser hides every answer from it; `None` when nothing is listed.
fn cors(site: &SiteSettings) -> Option<CorsLayer> {
    if site.cors_allowed_origins.is_empty() {
        return None;
    }
    let listed: Vec<HeaderValue> = site
        .cors_allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(listed))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([
                HeaderName::from_static("set-auth-jwt"),
                HeaderName::from_static("set-auth-token"),
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
            ])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}
