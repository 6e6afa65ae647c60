//! CONTRACT §1-§3 at the API: every bad token is a 401 that says why, never a 5xx.

use crate::support::*;
use app::auth::token::forge;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

async fn session_id(app: &TestApp, user: &TestUser) -> String {
    app.session(&user.session_token).await.unwrap().session.id
}

#[tokio::test]
async fn a_request_without_credentials_gets_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/api/tasks")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&response), "Bearer");
    assert_eq!(detail(response).await, "Not authenticated");
}

#[tokio::test]
async fn a_token_minted_by_an_independent_encoder_with_the_shared_secret_is_accepted() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let token = mint(&claims_for(&user.id, &session_id(&app, &user).await));
    let response = app.auth_get("/api/me", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap()["id"],
        user.id.as_str()
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = app
            .client
            .get(app.url("/api/tasks"))
            .header(header::AUTHORIZATION, format!("{scheme} {}", user.jwt))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn malformed_tokens_of_any_shape_get_401_never_5xx() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(20_000);
    let cases = [
        "",
        ".",
        "..",
        "a.b.c",
        "not-a-jwt",
        "Bearer",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJ.eyJ.sig",
        "\u{7f}\u{1}",
        long.as_str(),
        "a.b.c.d.e",
    ];
    for token in cases {
        let response = app
            .client
            .get(app.url("/api/tasks"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await;
        let Ok(response) = response else { continue };
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "token {token:.30?}"
        );
    }
}

#[tokio::test]
async fn each_failed_check_is_a_401_invalid_token_that_names_it() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let sid = session_id(&app, &user).await;
    let good = claims_for(&user.id, &sid);
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (mint(&with("exp", json!(now - 3600))), "Token has expired"),
        (
            mint(&with("iss", json!("https://evil.example"))),
            "Invalid token issuer",
        ),
        (
            mint(&with("aud", json!("another-api"))),
            "Invalid token audience",
        ),
        (
            mint(&with("sub", json!(12345))),
            "Token claim 'sub' has the wrong type",
        ),
        (
            mint(&with("nbf", json!(now + 3600))),
            "Token is not valid yet",
        ),
        (
            forge::hs256(
                &json!({"alg": "HS256"}),
                &good,
                b"a-different-secret-of-enough-length!!",
            ),
            "Invalid token signature",
        ),
        (forge::unsigned(&good), "Token algorithm not allowed"),
        (
            forge::hs256(&json!({"alg": "HS512"}), &good, SECRET.as_bytes()),
            "Token algorithm not allowed",
        ),
        (
            forge::hs256(
                &json!({"alg": "HS256", "jku": "https://evil.example/keys"}),
                &good,
                SECRET.as_bytes(),
            ),
            "Token header parameter 'jku' is not allowed",
        ),
    ];
    for (token, expected) in cases {
        let response = app.get_tasks(&token, "").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{expected}");
        let challenge = www_authenticate(&response);
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        assert!(challenge.contains(expected), "{challenge}");
        assert_eq!(detail(response).await, expected);
    }
}

#[tokio::test]
async fn a_signed_token_for_a_session_that_does_not_exist_is_rejected() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app
        .get_tasks(&mint(&claims_for(&user.id, "no-such-session")), "")
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_cannot_be_borrowed_for_another_user() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.new_user().await, app.new_user().await);
    let token = mint(&claims_for(&bob.id, &session_id(&app, &alice).await));
    assert_eq!(
        app.get_tasks(&token, "").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_access_cookie_authenticates_and_the_header_wins_over_it() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.new_user().await, app.new_user().await);
    app.create_task(&alice.jwt, "alice's").await;
    let by_cookie = app
        .client
        .get(app.url("/api/tasks"))
        .header(header::COOKIE, format!("access_token={}", alice.jwt))
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_cookie
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let both = app
        .client
        .get(app.url("/api/tasks"))
        .header(header::COOKIE, format!("access_token={}", alice.jwt))
        .bearer_auth(&bob.jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(
        both.json::<Value>().await.unwrap(),
        json!([]),
        "bob's header wins"
    );
}

#[tokio::test]
async fn cookie_authenticated_writes_must_come_from_the_same_origin() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let cookie = format!("access_token={}", user.jwt);
    let post = |origin: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/api/tasks"))
            .header(header::COOKIE, cookie.clone())
            .json(&json!({"title": "via cookie"}));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send()
    };
    let cross = post(Some("https://evil.example")).await.unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(post(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post(Some(&app.base)).await.unwrap().status(),
        StatusCode::CREATED
    );
    let bearer = app
        .post_task(&user.jwt, &json!({"title": "via bearer, no origin"}))
        .await;
    assert_eq!(bearer.status(), StatusCode::CREATED);
}
