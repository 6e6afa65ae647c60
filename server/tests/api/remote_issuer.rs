//! The API accepts another issuer's tokens (`JWT_JWKS_URL`), so a team can move its
//! backend here first and keep its Better Auth frontend: checked against another
//! instance of this server signing EdDSA, and against the real `better-auth` server.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// An issuer signing EdDSA, and an API that trusts its JWKS (and keeps its own shared
/// secret for its own sign-ins).
async fn issuer_and_api() -> (TestApp, TestApp) {
    let issuer = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let jwks = issuer.url("/api/auth/jwks");
    let api = TestApp::spawn_with(&[("JWT_JWKS_URL", &jwks)]).await;
    (issuer, api)
}

#[tokio::test]
async fn the_issuers_tokens_are_accepted_and_their_tasks_are_that_persons_alone() {
    let (issuer, api) = issuer_and_api().await;
    let ada = issuer.new_user().await;
    let created = api
        .auth_post(
            "/api/tasks",
            &ada.jwt,
            &json!({"title": "Moved backend first"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let me: Value = api
        .auth_get("/api/me", &ada.jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], ada.id.as_str(), "the token's sub is the user");
    assert_eq!(me["email"], ada.email.as_str());
    let again = issuer.jwt_for(&ada.session_token).await;
    let tasks: Vec<Value> = api.get_tasks(&again, "").await.json().await.unwrap();
    assert_eq!(
        tasks.len(),
        1,
        "the same person keeps their tasks on a later token"
    );

    let grace = issuer.new_user().await;
    let theirs: Vec<Value> = api.get_tasks(&grace.jwt, "").await.json().await.unwrap();
    assert!(
        theirs.is_empty(),
        "another person of the issuer sees none of them"
    );
    let local = api.new_user().await;
    let locals: Vec<Value> = api.get_tasks(&local.jwt, "").await.json().await.unwrap();
    assert!(locals.is_empty(), "nor does a person who signs in here");
}

#[tokio::test]
async fn a_tampered_or_foreign_token_is_a_401() {
    let (issuer, api) = issuer_and_api().await;
    let ada = issuer.new_user().await;
    let mut claims = payload(&ada.jwt);
    claims["sub"] = json!("someone-else");
    let (header, rest) = ada.jwt.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let tampered = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let elsewhere = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let foreign = elsewhere.new_user().await.jwt;
    for (token, reason) in [
        (tampered, "Invalid token signature"),
        (foreign, "Token signed by an unknown or retired key"),
    ] {
        let response = api.get_tasks(&token, "").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{reason}");
        assert_eq!(detail(response).await, reason);
    }
}

#[tokio::test]
async fn an_issuer_that_cannot_be_reached_is_a_prompt_401_not_a_hang() {
    let issuer = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}/api/auth/jwks", closed.local_addr().unwrap());
    drop(closed);
    let api = TestApp::spawn_with(&[("JWT_JWKS_URL", &unreachable)]).await;
    let token = issuer.new_user().await.jwt;
    let started = Instant::now();
    let response = api.get_tasks(&token, "").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        detail(response).await,
        "Token signed by an unknown or retired key"
    );
}

#[tokio::test]
async fn a_disabled_account_of_the_issuers_users_is_refused_here() {
    let (issuer, api) = issuer_and_api().await;
    let ada = issuer.new_user().await;
    assert_eq!(api.get_tasks(&ada.jwt, "").await.status(), StatusCode::OK);
    let admin = api.admin(&api.database_url).await;
    let banned = api
        .auth_post(
            "/api/auth/admin/ban-user",
            &admin.session_token,
            &json!({"userId": ada.id}),
        )
        .await;
    assert_eq!(banned.status(), StatusCode::OK);
    let refused = api.get_tasks(&ada.jwt, "").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(detail(refused).await, "User disabled");
}
