//! `server token decode|mint`: the binary, run with the configuration of a running app
//! (its database, secret, issuer and audience), and the app's answers to what it mints.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Command, Output};

/// Runs `server token <args>` as the app under test is configured, with `extra` over it,
/// off the test's thread, from a directory of its own (no developer's `.env`).
async fn server_token(database_url: &str, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let database_url = database_url.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let workdir = tempfile::tempdir().expect("temp dir");
        Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("token")
            .args(&args)
            .current_dir(workdir.path())
            .env("DATABASE_URL", &database_url)
            .env("JWT_SECRET_KEY", SECRET)
            .env("JWT_ISSUER", ISSUER)
            .env("JWT_AUDIENCE", AUDIENCE)
            .env("LEPTOS_OUTPUT_NAME", "taskboard")
            .env("RUST_LOG", "error")
            .envs(extra)
            .output()
            .expect("the server binary runs")
    })
    .await
    .expect("the command's thread")
}

async fn decode(database_url: &str, jwt: &str) -> Output {
    server_token(database_url, &["decode", jwt], &[]).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `output` has the line `line`, showing all of it when not.
fn assert_says(output: &Output, line: &str) {
    let printed = stdout(output);
    assert!(
        printed.lines().any(|l| l == line),
        "no line {line:?} in:\n{printed}\n{}",
        stderr(output)
    );
}

fn assert_says_starting(output: &Output, start: &str) {
    let printed = stdout(output);
    assert!(
        printed.lines().any(|l| l.starts_with(start)),
        "no line starting {start:?} in:\n{printed}\n{}",
        stderr(output)
    );
}

#[tokio::test]
async fn decode_says_every_check_passes_for_a_good_token_and_exits_zero() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let output = decode(&db.url, &user.jwt).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_says(&output, "signature: ok, HS256 with the shared secret");
    assert_says_starting(&output, "exp: ok, ");
    assert_says_starting(&output, "iat: ok, ");
    assert_says(&output, &format!("issuer: ok, '{ISSUER}' is JWT_ISSUER"));
    assert_says(
        &output,
        &format!("audience: ok, '{AUDIENCE}' names one of JWT_AUDIENCE '{AUDIENCE}'"),
    );
    assert_says_starting(&output, "session: ok, live until ");
    assert_says(&output, &format!("user: ok, enabled ({})", user.email));
    assert_says(&output, "verdict: accepted");
    assert!(stdout(&output).contains(&format!("\"sub\": \"{}\"", user.id)));
    assert!(!stdout(&output).contains(SECRET), "the secret never prints");
}

#[tokio::test]
async fn decode_says_how_long_ago_a_token_expired_and_exits_non_zero() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let sid = payload(&user.jwt)["sid"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();
    let mut claims = claims_for(&user.id, &sid);
    claims["iat"] = json!(now - 4 * 3600);
    claims["exp"] = json!(now - 3 * 3600 - 60);
    let output = decode(&db.url, &mint(&claims)).await;
    assert!(!output.status.success());
    assert_says_starting(&output, "exp: FAILS, ");
    assert!(
        stdout(&output).contains("(expired 3 hours ago)"),
        "{}",
        stdout(&output)
    );
    assert_says(
        &output,
        "verdict: refused, the API answers 401 \"Token has expired\"",
    );
    assert!(stderr(&output).contains("the API refuses this token: Token has expired"));
}

#[tokio::test]
async fn decode_names_the_issuer_check_that_fails() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let other = "https://other.example";
    let output = server_token(
        &db.url,
        &["decode", &user.jwt],
        &[("JWT_ISSUER", other), ("JWT_AUDIENCE", AUDIENCE)],
    )
    .await;
    assert!(!output.status.success());
    assert_says(
        &output,
        &format!("issuer: FAILS, '{ISSUER}' does not match JWT_ISSUER '{other}'"),
    );
    assert_says_starting(&output, "signature: ok");
    assert_says(
        &output,
        "verdict: refused, the API answers 401 \"Invalid token issuer\"",
    );
}

#[tokio::test]
async fn decode_says_the_session_of_a_signed_out_token_has_ended() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let signed_out = app
        .auth_post("/api/auth/sign-out", &user.session_token, &json!({}))
        .await;
    assert_eq!(signed_out.status(), StatusCode::OK);
    let output = decode(&db.url, &user.jwt).await;
    assert!(!output.status.success());
    assert_says_starting(&output, "session: FAILS, ended");
    assert_says(
        &output,
        "verdict: refused, the API answers 401 \"Session has ended\"",
    );
}

#[tokio::test]
async fn decode_says_a_disabled_users_token_is_refused() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let admin = app.admin(&db.url).await;
    let user = app.new_user().await;
    let banned = app
        .auth_post(
            "/api/auth/admin/ban-user",
            &admin.session_token,
            &json!({ "userId": user.id }),
        )
        .await;
    assert_eq!(banned.status(), StatusCode::OK);
    let output = decode(&db.url, &user.jwt).await;
    assert!(!output.status.success());
    assert_says(&output, &format!("user: FAILS, disabled ({})", user.email));
    assert_says(
        &output,
        "verdict: refused, the API answers 403 \"User disabled\"",
    );
}

#[tokio::test]
async fn decode_explains_that_garbage_is_not_a_jwt() {
    let db = TestDatabase::fresh().await;
    let output = decode(&db.url, "this-is-not-a-token").await;
    assert!(!output.status.success());
    assert_says_starting(&output, "format: FAILS, not a JWT (Malformed token)");
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}

#[tokio::test]
async fn a_minted_read_only_token_reads_refuses_writes_is_listed_and_ends_with_its_session() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let output = server_token(
        &db.url,
        &[
            "mint",
            "--email",
            &user.email,
            "--scope",
            "tasks:read",
            "--expires",
            "2d",
        ],
        &[],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let token = stdout(&output).trim().to_owned();
    let claims = payload(&token);
    assert_eq!(claims["scope"], "tasks:read");
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        2 * 86_400,
        "the token lives what was asked, not JWT_EXPIRES_IN"
    );

    assert_eq!(app.get_tasks(&token, "").await.status(), StatusCode::OK);
    let write = app
        .post_task(&token, &json!({"title": "not allowed"}))
        .await;
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&write).contains("insufficient_scope"));

    let sid = claims["sid"].as_str().unwrap();
    let listed: Vec<Value> = app
        .auth_get("/api/auth/list-sessions", &user.session_token)
        .await
        .json()
        .await
        .unwrap();
    let minted = listed
        .iter()
        .find(|s| s["id"] == sid)
        .expect("the minted token's session is listed");
    assert_eq!(minted["userAgent"], "API token (tasks:read)");

    let revoked = app
        .auth_post(
            "/api/auth/revoke-session",
            &user.session_token,
            &json!({ "token": minted["token"] }),
        )
        .await;
    assert_eq!(
        revoked.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    assert_refused(&app, &token, "Session has ended").await;
    assert_eq!(
        app.get_tasks(&user.jwt, "").await.status(),
        StatusCode::OK,
        "the user's own session is untouched"
    );
}

#[tokio::test]
async fn mint_for_an_unknown_email_fails_and_says_so() {
    let db = TestDatabase::fresh().await;
    let output = server_token(&db.url, &["mint", "--email", "nobody@example.com"], &[]).await;
    assert!(!output.status.success());
    assert!(stdout(&output).is_empty(), "no token");
    assert!(
        stderr(&output).contains("no user has the email nobody@example.com"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn mint_refuses_a_lifetime_past_the_session_max_age() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let output = server_token(
        &db.url,
        &["mint", "--email", &user.email, "--expires", "8d"],
        &[("SESSION_MAX_AGE", "7d")],
    )
    .await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("at most 7 days on this site (SESSION_MAX_AGE)"),
        "{}",
        stderr(&output)
    );
    let listed: Vec<Value> = app
        .auth_get("/api/auth/list-sessions", &user.session_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "no session was made");
}

#[tokio::test]
async fn a_minted_token_that_decode_explains_is_accepted_with_its_scope() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let minted = server_token(&db.url, &["mint", "--email", &user.email], &[]).await;
    assert!(minted.status.success(), "{}", stderr(&minted));
    let output = decode(&db.url, stdout(&minted).trim()).await;
    assert!(output.status.success(), "{}", stdout(&output));
    assert_says(&output, "scope: tasks:read tasks:write (reads and writes)");
    assert_says(&output, "verdict: accepted");
}
