//! `server token decode|mint`: the binary, run with the configuration of a running app
//! (its database, secret, issuer and audience), and the app's answers to what it mints.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

/// Runs `server token <args>` as the app under test is configured, with `extra` over it,
/// off the test's thread, from a directory of its own (no developer's `.env`).
async fn server_token(database_url: &str, args: &[&str], extra: &[(&str, &str)]) -> Output {
    server_token_reading(database_url, args, extra, None).await
}

/// `server_token`, with `stdin` piped to the command (none when `None`).
async fn server_token_reading(
    database_url: &str,
    args: &[&str],
    extra: &[(&str, &str)],
    stdin: Option<&str>,
) -> Output {
    let database_url = database_url.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let workdir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
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
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary runs");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("stdin written");
        }
        child.wait_with_output().expect("the command ends")
    })
    .await
    .expect("the command's thread")
}

async fn decode(database_url: &str, jwt: &str) -> Output {
    server_token(database_url, &["decode", jwt], &[]).await
}

/// The exit status: 0 done, 1 the API refuses the token, 2 the command failed.
fn status(output: &Output) -> Option<i32> {
    output.status.code()
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
    assert_eq!(status(&output), Some(1), "the API would refuse it");
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
    app.ban(&admin.session_token, &user.id).await;
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

    assert_eq!(app.get_tasks(&token, "").await.status(), StatusCode::OK);
    let write = app
        .post_task(&token, &json!({"title": "not allowed"}))
        .await;
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&write).contains("insufficient_scope"));

    let sid = claims["sid"].as_str().unwrap();
    let listed = app.sessions_of(&user.session_token).await;
    let minted = listed
        .iter()
        .find(|s| s["id"] == sid)
        .expect("the minted token's session is listed");
    assert_eq!(minted["userAgent"], "API token (tasks:read)");
    // What was asked, not JWT_EXPIRES_IN.
    assert_lives_from_its_session(&claims, minted, 2 * 86_400);

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
    assert_eq!(status(&output), Some(2), "a failure, not a verdict");
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
    let listed = app.sessions_of(&user.session_token).await;
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

#[tokio::test]
async fn decode_reads_the_token_from_stdin_given_a_dash() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let piped = format!("{}\n", user.jwt);
    let output = server_token_reading(&db.url, &["decode", "-"], &[], Some(&piped)).await;
    assert_eq!(status(&output), Some(0), "{}", stderr(&output));
    assert_says(&output, "signature: ok, HS256 with the shared secret");
    assert_says(&output, &format!("user: ok, enabled ({})", user.email));
    assert_says(&output, "verdict: accepted");
}

#[tokio::test]
async fn decode_exits_two_when_it_cannot_tell_and_one_only_when_the_api_refuses() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let misconfigured = server_token(
        &db.url,
        &["decode", &user.jwt],
        &[("JWT_SECRET_KEY", "short")],
    )
    .await;
    assert_eq!(
        status(&misconfigured),
        Some(2),
        "{}",
        stderr(&misconfigured)
    );
    assert!(stdout(&misconfigured).is_empty(), "no verdict");
    let unusable = server_token(&db.url, &["decode"], &[]).await;
    assert_eq!(status(&unusable), Some(2), "{}", stderr(&unusable));
    let forged = with_other_subject(&user.jwt);
    assert_eq!(status(&decode(&db.url, &forged).await), Some(1));
}

#[tokio::test]
async fn decode_makes_no_signing_key_and_rotates_none_that_is_due() {
    let db = TestDatabase::fresh().await;
    let key_pairs = [("JWT_ALGORITHM", "EdDSA"), ("JWT_KEY_ROTATION", "1h")];
    let token = mint(&claims_for("someone", "a-session"));
    let keyless = server_token(&db.url, &["decode", &token], &key_pairs).await;
    assert_eq!(status(&keyless), Some(2), "{}", stderr(&keyless));
    assert!(
        stderr(&keyless).contains("there is no current EdDSA signing key"),
        "{}",
        stderr(&keyless)
    );
    let mut connection = TestApp::remote(String::new(), &db.url)
        .direct_connection()
        .await;
    assert!(
        signing_key_ids(&mut connection).await.is_empty(),
        "none made"
    );

    let app = TestApp::spawn_on_with(&db.url, &[("JWT_ALGORITHM", "EdDSA")]).await;
    let user = app.new_user().await;
    sqlx::query("update signing_keys set created_at = '2000-01-01T00:00:00.000000Z'")
        .execute(&mut connection)
        .await
        .unwrap();
    let output = server_token(&db.url, &["decode", &user.jwt], &key_pairs).await;
    assert_eq!(status(&output), Some(0), "{}", stdout(&output));
    assert_eq!(
        signing_key_ids(&mut connection).await,
        [kid(&user.jwt)],
        "the key, due for rotation, is untouched"
    );
}

async fn signing_key_ids(connection: &mut sqlx::AnyConnection) -> Vec<String> {
    sqlx::query("select id from signing_keys order by created_at")
        .fetch_all(connection)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("id"))
        .collect()
}

#[tokio::test]
async fn decode_prints_a_claim_that_tries_to_write_its_own_verdict_escaped() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let sid = payload(&user.jwt)["sid"].as_str().unwrap().to_owned();
    let mut claims = claims_for(&user.id, &sid);
    claims["iss"] = json!(format!("{ISSUER}\nverdict: accepted\u{1b}[2K"));
    let output = decode(&db.url, &mint(&claims)).await;
    assert_eq!(status(&output), Some(1));
    assert_says(
        &output,
        &format!(
            "issuer: FAILS, '{ISSUER}\\nverdict: accepted\\u{{1b}}[2K' does not match \
             JWT_ISSUER '{ISSUER}'"
        ),
    );
    let printed = stdout(&output);
    let verdicts: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("verdict:"))
        .collect();
    assert_eq!(
        verdicts,
        ["verdict: refused, the API answers 401 \"Invalid token issuer\""]
    );
    assert!(!printed.contains('\u{1b}'), "no terminal escape: {printed}");
}

#[tokio::test]
async fn decode_looks_up_no_session_or_user_for_a_token_whose_signature_fails() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let sid = payload(&user.jwt)["sid"].as_str().unwrap().to_owned();
    let forged = app::auth::token::forge::hs256(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims_for(&user.id, &sid),
        b"a-secret-that-is-not-the-servers-own-secret",
    );
    let output = decode(&db.url, &forged).await;
    assert_eq!(status(&output), Some(1));
    assert_says_starting(&output, "signature: FAILS, Invalid token signature");
    assert_says_starting(&output, "session: not checked, the signature fails");
    assert_says(&output, "user: not checked, the signature fails");
    assert!(
        !stdout(&output).contains(&user.email),
        "the user's email is not given away:\n{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn minting_for_a_disabled_user_fails_and_is_audited_as_refused() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let admin = app.admin(&db.url).await;
    let user = app.new_user().await;
    app.ban(&admin.session_token, &user.id).await;
    let output = server_token(&db.url, &["mint", "--email", &user.email], &[]).await;
    assert_eq!(status(&output), Some(2));
    assert!(stdout(&output).is_empty(), "no token");
    assert!(
        stderr(&output).contains("is disabled"),
        "{}",
        stderr(&output)
    );
    let refused = app
        .audit_events(
            &admin.session_token,
            "event=api_token_issued&outcome=failure",
        )
        .await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["userId"], user.id.as_str());
    assert_eq!(
        refused[0]["detail"],
        "user disabled, by `server token mint`"
    );
}
