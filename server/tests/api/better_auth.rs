//! Better Auth's wire details, which its client, `getSessionCookie()` and its users' code
//! rely on: the signed session cookie, `set-auth-token`, codes on every error, the JWT
//! payload's user fields, and CORS for a frontend on another origin.

use crate::support::*;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn sign_in_sets_better_auths_signed_cookie_and_the_set_auth_token_header() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app.sign_in(&user.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(SESSION_COOKIE))
        .expect("a session cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let from_cookie = session_token_set(&response).expect("a signed session cookie");
    let header_value = response
        .headers()
        .get("set-auth-token")
        .and_then(|v| v.to_str().ok())
        .expect("the bearer plugin's header")
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["token"],
        from_cookie.as_str(),
        "the body has the bare token"
    );
    assert_eq!(
        header_value,
        signed(&from_cookie),
        "the header has it signed, not encoded"
    );

    let session = app.auth_get("/api/auth/get-session", &header_value).await;
    let session: Value = session.json().await.unwrap();
    assert_eq!(
        session["user"]["id"],
        user.id.as_str(),
        "the signed token is a bearer token"
    );
}

#[tokio::test]
async fn a_session_token_whose_signature_does_not_match_is_no_session() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let forged = format!("{}.{}", user.session_token, "A".repeat(43) + "=");
    let by_bearer = app.auth_get("/api/auth/get-session", &forged).await;
    assert_eq!(by_bearer.json::<Value>().await.unwrap(), Value::Null);

    let bare_cookie = app
        .client
        .get(app.url("/api/auth/get-session"))
        .header(
            header::COOKIE,
            format!("{SESSION_COOKIE}={}", user.session_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare_cookie.json::<Value>().await.unwrap(),
        Value::Null,
        "an unsigned cookie is not Better Auth's cookie"
    );
    let signed_cookie = app
        .client
        .get(app.url("/api/auth/get-session"))
        .header(header::COOKIE, session_cookie(&user.session_token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_cookie.json::<Value>().await.unwrap()["user"]["id"],
        user.id.as_str()
    );
}

#[tokio::test]
async fn over_https_the_session_cookie_is_secure_prefixed_and_the_prefix_is_configurable() {
    let app = TestApp::spawn_with(&[
        ("BETTER_AUTH_URL", "https://tasks.example.com"),
        ("BETTER_AUTH_COOKIE_PREFIX", "taskboard"),
    ])
    .await;
    let response = app
        .client
        .post(app.url("/api/auth/sign-up/email"))
        .json(&json!({"name": "Ada", "email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(
        set_cookie(&response, "__Secure-taskboard.session_token").is_some(),
        "{:?}",
        response.headers().get_all(header::SET_COOKIE)
    );
}

#[tokio::test]
async fn every_auth_error_carries_better_auths_code_and_message_beside_detail() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let cases = [
        (
            app.get("/api/auth/list-sessions").await,
            401,
            "UNAUTHORIZED",
        ),
        (
            app.sign_in(&user.email, "not the password").await,
            401,
            "INVALID_EMAIL_OR_PASSWORD",
        ),
        (
            app.sign_up("Ada", "ada@example.com", "short").await,
            400,
            "PASSWORD_TOO_SHORT",
        ),
        (
            app.sign_up("Ada", "ada@example.com", &"long".repeat(40))
                .await,
            400,
            "PASSWORD_TOO_LONG",
        ),
        (
            app.sign_up("Ada", &user.email, PASSWORD).await,
            422,
            "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        ),
        (
            app.post_json("/api/auth/sign-in/email", &json!({"email": 5}))
                .await,
            400,
            "VALIDATION_ERROR",
        ),
        (
            app.client
                .post(app.url("/api/auth/sign-in/email"))
                .header(reqwest::header::CONTENT_TYPE, "text/plain")
                .body(r#"{"email":"a@example.com","password":"x"}"#)
                .send()
                .await
                .unwrap(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            app.auth_get("/api/auth/admin/list-users", &user.session_token)
                .await,
            403,
            "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
        ),
        (
            app.auth_post(
                "/api/auth/admin/set-role",
                &user.session_token,
                &json!({"userId": user.id, "role": "admin"}),
            )
            .await,
            403,
            "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
        ),
    ];
    for (response, status, code) in cases {
        assert_eq!(response.status().as_u16(), status, "{code}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code);
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert!(!body["detail"].is_null(), "{body}");
    }
}

#[tokio::test]
async fn the_jwt_carries_better_auths_user_fields_beside_the_contracts_claims() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let claims = payload(&user.jwt);
    assert_eq!(claims["id"], claims["sub"]);
    assert_eq!(claims["id"], user.id.as_str());
    assert_eq!(claims["emailVerified"], false);
    assert_eq!(claims["banned"], false);
    assert_eq!(claims["role"], "user");
    let signed_up: Value = app
        .sign_up("Ada", "ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    for at in [
        &claims["createdAt"],
        &claims["updatedAt"],
        &signed_up["user"]["createdAt"],
    ] {
        let at = at.as_str().expect("a time");
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        assert_eq!(
            at.len(),
            "2026-12-01T10:00:00.123Z".len(),
            "milliseconds, as Better Auth's client reads them: {at}"
        );
    }
    for claim in [
        "sub", "email", "name", "iat", "exp", "iss", "aud", "jti", "sid",
    ] {
        assert!(!claims[claim].is_null(), "{claim}");
    }
}

const FRONTEND: &str = "http://localhost:3000";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/tasks"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap()
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_listed_origin_is_answered_with_cors_and_credentials_and_may_write_with_cookies() {
    let app = TestApp::spawn_with(&[(
        "CORS_ALLOWED_ORIGINS",
        "http://localhost:3000/, https://other.example",
    )])
    .await;
    let answer = preflight(&app, FRONTEND).await;
    assert!(answer.status().is_success());
    assert_eq!(
        header_of(&answer, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        FRONTEND
    );
    assert_eq!(
        header_of(&answer, header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        "true"
    );
    assert!(header_of(&answer, header::ACCESS_CONTROL_ALLOW_METHODS).contains("POST"));

    let user = app.new_user().await;
    let signed_in = app
        .client
        .post(app.url("/api/auth/sign-in/email"))
        .header(header::ORIGIN, FRONTEND)
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header_of(&signed_in, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        FRONTEND
    );
    let exposed = header_of(&signed_in, header::ACCESS_CONTROL_EXPOSE_HEADERS).to_owned();
    for name in ["set-auth-token", "set-auth-jwt"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    let token = session_token_set(&signed_in).unwrap();

    let created = app
        .client
        .post(app.url("/api/auth/revoke-other-sessions"))
        .header(header::ORIGIN, FRONTEND)
        .header("sec-fetch-site", "same-site")
        .header(header::COOKIE, session_cookie(&token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status(),
        StatusCode::OK,
        "a listed origin passes the CSRF check"
    );
}

#[tokio::test]
async fn an_unlisted_origin_gets_no_cors_headers_and_its_cookie_writes_are_refused() {
    let app = TestApp::spawn_with(&[("CORS_ALLOWED_ORIGINS", FRONTEND)]).await;
    let answer = preflight(&app, "http://localhost:3001").await;
    assert_eq!(header_of(&answer, header::ACCESS_CONTROL_ALLOW_ORIGIN), "");
    assert_eq!(
        header_of(&answer, header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        ""
    );

    let user = app.new_user().await;
    let refused = app
        .client
        .post(app.url("/api/auth/revoke-other-sessions"))
        .header(header::ORIGIN, "http://localhost:3001")
        .header(header::COOKIE, session_cookie(&user.session_token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(header_of(&refused, header::ACCESS_CONTROL_ALLOW_ORIGIN), "");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "INVALID_ORIGIN"
    );
}

#[tokio::test]
async fn without_a_list_no_origin_gets_cors_headers() {
    let app = TestApp::spawn().await;
    let answer = preflight(&app, FRONTEND).await;
    assert_eq!(header_of(&answer, header::ACCESS_CONTROL_ALLOW_ORIGIN), "");
}
