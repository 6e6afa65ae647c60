//! Better Auth's email/password JSON routes (CONTRACT §5) for non-browser clients.

use crate::{
    auth::{
        extract::CurrentSession,
        session::{self, ClientInfo, SignedIn},
        types::{Credentials, Registration, User},
    },
    error::AppError,
    extract::ValidJson,
    state::AppState,
};
use axum::{
    extract::State,
    http::{header::SET_COOKIE, request::Parts, HeaderMap, HeaderName, HeaderValue},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-up/email", post(sign_up))
        .route("/sign-in/email", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/get-session", get(get_session))
        .route("/token", get(token))
        .route("/jwks", get(jwks))
}

#[derive(Deserialize)]
struct SignUpBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct SignInBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_up(
    State(state): State<AppState>,
    parts: Parts,
    ValidJson(body): ValidJson<SignUpBody>,
) -> Result<Response, AppError> {
    let form = Registration::parse(&body.name, &body.email, &body.password)?;
    let signed_in = session::sign_up(
        &state,
        form,
        &ClientInfo::from_request(&parts.headers, &parts.extensions),
    )
    .await?;
    let body = json!({ "token": signed_in.session_token, "user": signed_in.user });
    Ok(with_session_cookies(&state, &signed_in, body))
}

async fn sign_in(
    State(state): State<AppState>,
    parts: Parts,
    ValidJson(body): ValidJson<SignInBody>,
) -> Result<Response, AppError> {
    let credentials = Credentials::parse(&body.email, &body.password)?;
    let signed_in = session::sign_in(
        &state,
        credentials,
        &ClientInfo::from_request(&parts.headers, &parts.extensions),
    )
    .await?;
    let body =
        json!({ "redirect": false, "token": signed_in.session_token, "user": signed_in.user });
    Ok(with_session_cookies(&state, &signed_in, body))
}

fn with_session_cookies(
    state: &AppState,
    signed_in: &SignedIn,
    body: serde_json::Value,
) -> Response {
    let mut headers = HeaderMap::new();
    for cookie in session::session_cookies(state, signed_in) {
        headers.append(SET_COOKIE, cookie);
    }
    (headers, Json(body)).into_response()
}

async fn sign_out(
    State(state): State<AppState>,
    CurrentSession(current): CurrentSession,
) -> Result<Response, AppError> {
    if let Some((_, _, token)) = current {
        session::sign_out(&state, &token).await?;
    }
    let mut headers = HeaderMap::new();
    for cookie in session::cleared_cookies(&state) {
        headers.append(SET_COOKIE, cookie);
    }
    Ok((headers, Json(json!({ "success": true }))).into_response())
}

async fn get_session(
    State(state): State<AppState>,
    CurrentSession(current): CurrentSession,
) -> Response {
    match current {
        None => Json(serde_json::Value::Null).into_response(),
        Some((session, user, token)) => {
            let jwt = session::access_token(&state, &user, &session.id);
            let mut session_json = json!(session);
            session_json["token"] = json!(token);
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&jwt) {
                headers.insert(HeaderName::from_static("set-auth-jwt"), value);
            }
            (
                headers,
                Json(json!({ "session": session_json, "user": user })),
            )
                .into_response()
        }
    }
}

async fn token(
    State(state): State<AppState>,
    parts: Parts,
    CurrentSession(current): CurrentSession,
) -> Result<Json<serde_json::Value>, AppError> {
    let client = ClientInfo::from_request(&parts.headers, &parts.extensions);
    state.limits.refresh_attempt(client.ip_address.as_deref())?;
    let (session, user, _): (_, User, _) = current.ok_or(AppError::Unauthenticated)?;
    Ok(Json(
        json!({ "token": session::access_token(&state, &user, &session.id) }),
    ))
}

/// Only HMAC algorithms are configurable, and a shared secret is never published.
async fn jwks() -> Json<serde_json::Value> {
    Json(json!({ "keys": [] }))
}
