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
    let tampered = with_other_subject(&ada.jwt);
    let elsewhere = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let foreign = elsewhere.new_user().await.jwt;
    for (token, reason) in [
        (tampered, "Invalid token signature"),
        (foreign, "Token signed by an unknown or retired key"),
    ] {
        assert_refused(&api, &token, reason).await;
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
    api.ban(&admin.session_token, &ada.id).await;
    let refused = api.get_tasks(&ada.jwt, "").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(detail(refused).await, "User disabled");
}

#[tokio::test]
async fn an_address_the_issuer_never_verified_is_not_held_by_its_user() {
    let (issuer, api) = issuer_and_api().await;
    // Mallory signs up at the issuer with Ada's address, which nobody there verifies, and
    // her first request here makes an account under it.
    let ada_address = format!("ada-{}@example.com", uuid::Uuid::new_v4());
    let mallory = issuer.user_with_email(&ada_address).await;
    assert_eq!(payload(&mallory.jwt)["emailVerified"], false);
    let planted = api
        .auth_post("/api/tasks", &mallory.jwt, &json!({"title": "planted"}))
        .await;
    assert_eq!(planted.status(), StatusCode::CREATED);

    // Ada signs up here with her address all the same, and sees none of Mallory's tasks.
    let signed_up = api.sign_up("Ada", &ada_address, PASSWORD).await;
    assert_eq!(signed_up.status(), StatusCode::OK);
    let ada = api.sign_in(&ada_address, PASSWORD).await;
    assert_eq!(ada.status(), StatusCode::OK);
    let ada: Value = ada.json().await.unwrap();
    let ada_jwt = api.jwt_for(ada["token"].as_str().unwrap()).await;
    let hers: Vec<Value> = api.get_tasks(&ada_jwt, "").await.json().await.unwrap();
    assert!(hers.is_empty(), "{hers:?}");

    // Mallory keeps her own account, its id and its tasks, but not the address.
    let kept: Vec<Value> = api.get_tasks(&mallory.jwt, "").await.json().await.unwrap();
    assert_eq!(kept.len(), 1);
    let admin = api.admin(&api.database_url).await;
    let listed: Value = api
        .auth_get("/api/auth/admin/list-users", &admin.session_token)
        .await
        .json()
        .await
        .unwrap();
    let users = listed["users"].as_array().unwrap();
    let theirs = users
        .iter()
        .find(|u| u["id"] == mallory.id.as_str())
        .unwrap();
    let address = theirs["email"].as_str().unwrap();
    assert!(
        address.ends_with("@unverified.invalid"),
        "the issuer's user no longer holds Ada's address: {address}"
    );
}

#[tokio::test]
async fn an_address_the_issuer_verified_stays_its_users_and_gets_no_reset_here() {
    let (issuer, api) = issuer_and_api().await;
    let grace = issuer.new_user().await;
    let asked = issuer
        .auth_post(
            "/api/auth/send-verification-email",
            &grace.session_token,
            &json!({ "email": grace.email }),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let link = issuer.mail.message_to(&grace.email).await.link();
    issuer.follow_link(&link, None).await;
    let verified = issuer.jwt_for(&grace.session_token).await;
    assert_eq!(payload(&verified)["emailVerified"], true);
    assert_eq!(api.get_tasks(&verified, "").await.status(), StatusCode::OK);

    let asked = api
        .post_json(
            "/api/auth/request-password-reset",
            &json!({ "email": grace.email }),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    // A verification for another address, asked for after the reset, arrives; had the
    // reset been sent, it would have arrived first.
    let later = api.new_user().await;
    let resend = api
        .auth_post(
            "/api/auth/send-verification-email",
            &later.session_token,
            &json!({ "email": later.email }),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::OK);
    api.mail.message_to(&later.email).await;
    let resets = api
        .mail
        .delivered_to(&grace.email)
        .into_iter()
        .filter(|mail| mail.subject == "Reset your Taskboard password")
        .count();
    assert_eq!(resets, 0, "the issuer's user signs in there: no reset here");
    assert_eq!(api.get_tasks(&verified, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn under_required_verification_the_issuers_unverified_users_are_refused_until_verified() {
    let issuer = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let jwks = issuer.url("/api/auth/jwks");
    let api = TestApp::spawn_with(&[
        ("JWT_JWKS_URL", &jwks),
        ("REQUIRE_EMAIL_VERIFICATION", "true"),
    ])
    .await;
    let ada = issuer.new_user().await;
    let refused = api.get_tasks(&ada.jwt, "").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(refused).await, "EMAIL_NOT_VERIFIED");

    let asked = issuer
        .auth_post(
            "/api/auth/send-verification-email",
            &ada.session_token,
            &json!({ "email": ada.email }),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let link = issuer.mail.message_to(&ada.email).await.link();
    issuer.follow_link(&link, None).await;
    let verified = issuer.jwt_for(&ada.session_token).await;
    assert_eq!(api.get_tasks(&verified, "").await.status(), StatusCode::OK);
}

/// The real `better-auth` server (`end2end/better-auth/server.mjs`: its memory adapter,
/// the `jwt` and `bearer` plugins), on a free port, for as long as this lives.
struct BetterAuth {
    child: std::process::Child,
    base: String,
}

impl BetterAuth {
    async fn start(jwt_expiration: &str) -> Self {
        use std::io::{BufRead, BufReader};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut child = std::process::Command::new("node")
            .arg("better-auth/server.mjs")
            .current_dir(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end"))
            .env("BA_PORT", port.to_string())
            .env("BA_SECRET", "better-auth-test-secret-0123456789abcdef")
            .env("BA_JWT_EXPIRATION_TIME", jwt_expiration)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node runs (scripts/setup.sh --test installs better-auth in end2end/)");
        let stdout = child.stdout.take().unwrap();
        tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            assert!(
                lines.any(|line| line.is_ok_and(|l| l.starts_with("listening"))),
                "the Better Auth server did not start"
            );
        })
        .await
        .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// An API that trusts this Better Auth, as a team moving its backend first runs it.
    async fn trusted_by_an_api(&self) -> TestApp {
        let jwks = format!("{}/api/auth/jwks", self.base);
        TestApp::spawn_with(&[
            ("JWT_JWKS_URL", &jwks),
            ("JWT_ISSUER", &self.base),
            ("JWT_AUDIENCE", &self.base),
            ("JWT_LEEWAY_SECONDS", "0"),
        ])
        .await
    }

    /// Signs a person up and answers their id and Better Auth's JWT for them.
    async fn person(&self, client: &reqwest::Client, email: &str) -> (String, String) {
        let signed_up = client
            .post(format!("{}/api/auth/sign-up/email", self.base))
            .json(&json!({"name": "Ada", "email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_up.status(), StatusCode::OK);
        let session = signed_up.headers()["set-auth-token"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = signed_up.json().await.unwrap();
        let id = body["user"]["id"].as_str().unwrap().to_owned();
        (id, self.jwt(client, &session).await)
    }

    async fn jwt(&self, client: &reqwest::Client, session: &str) -> String {
        let token: Value = client
            .get(format!("{}/api/auth/token", self.base))
            .bearer_auth(session)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["token"]
            .as_str()
            .expect("Better Auth's JWT")
            .to_owned()
    }

    async fn rotate_key(&self, client: &reqwest::Client) {
        let rotated = client
            .post(format!("{}/test/rotate-key", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(rotated.status(), StatusCode::OK);
    }
}

impl Drop for BetterAuth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_real_better_auth_servers_tokens_are_accepted_scoped_and_survive_its_key_rotation() {
    let better_auth = BetterAuth::start("15m").await;
    let api = better_auth.trusted_by_an_api().await;
    let client = reqwest::Client::new();
    let (ada, ada_jwt) = better_auth.person(&client, "ada@example.com").await;
    assert_eq!(payload(&ada_jwt)["sub"], ada.as_str());

    let created = api
        .auth_post(
            "/api/tasks",
            &ada_jwt,
            &json!({"title": "From Better Auth"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let me: Value = api
        .auth_get("/api/me", &ada_jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["id"].as_str(), me["email"].as_str()),
        (Some(ada.as_str()), Some("ada@example.com"))
    );
    let (_, grace_jwt) = better_auth.person(&client, "grace@example.com").await;
    let graces: Vec<Value> = api.get_tasks(&grace_jwt, "").await.json().await.unwrap();
    assert!(graces.is_empty(), "Ada's task is hers alone");

    better_auth.rotate_key(&client).await;
    let (_, rotated_jwt) = better_auth.person(&client, "alan@example.com").await;
    assert_ne!(
        kid(&rotated_jwt),
        kid(&ada_jwt),
        "Better Auth signs with its new key"
    );
    // An unknown kid refetches the JWKS, at most every few seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = api.get_tasks(&rotated_jwt, "").await.status();
        if status == StatusCode::OK || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        status,
        StatusCode::OK,
        "a token of the rotated key is accepted"
    );
    let adas: Vec<Value> = api.get_tasks(&ada_jwt, "").await.json().await.unwrap();
    assert_eq!(adas.len(), 1, "and the old key's tokens still are");
}

#[tokio::test]
async fn a_tampered_another_issuers_or_an_expired_better_auth_token_is_a_401() {
    let better_auth = BetterAuth::start("15m").await;
    let api = better_auth.trusted_by_an_api().await;
    let client = reqwest::Client::new();
    let (_, jwt) = better_auth.person(&client, "ada@example.com").await;
    assert_eq!(api.get_tasks(&jwt, "").await.status(), StatusCode::OK);

    let tampered = with_other_subject(&jwt);
    let other = BetterAuth::start("15m").await;
    let (_, others) = other.person(&client, "ada@example.com").await;
    for (token, reason) in [
        (tampered, "Invalid token signature"),
        (others, "Token signed by an unknown or retired key"),
    ] {
        assert_refused(&api, &token, reason).await;
    }

    // Until just past its `exp` (whole seconds; the API's leeway is 0 here).
    let exp = payload(&jwt)["exp"].as_i64().unwrap();
    let left_ms = (exp + 1) * 1000 - chrono::Utc::now().timestamp_millis();
    api.advance(Duration::from_millis(left_ms.max(0).unsigned_abs()));
    let expired = api.get_tasks(&jwt, "").await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(detail(expired).await, "Token has expired");
}
