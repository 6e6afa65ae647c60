//! Revocations: the process that ends a session or changes an account refuses the old
//! tokens on the very next request; every other process on the database refuses them
//! within the bound (each reads the revocation log every 100 ms, and on PostgreSQL at
//! once when notified), and one that cannot tell it is current asks the database.

use crate::support::{
    assert_refused, mint, payload, session_token_set, ServerProcess, TestApp, TestDatabase,
    TestUser, PASSWORD,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long another process may take in these tests: well past the bound, so that a
/// loaded machine does not fail them (`scripts/bench-propagation.sh` measures the
/// distribution).
const DEADLINE: Duration = Duration::from_secs(2);

/// A user whose token has been used once, so the process has confirmed its session and
/// answers for it from memory.
async fn seen_user(app: &TestApp) -> TestUser {
    let user = app.new_user().await;
    assert_eq!(app.get_tasks(&user.jwt, "").await.status(), StatusCode::OK);
    user
}

async fn assert_works(app: &TestApp, jwt: &str) {
    assert_eq!(app.get_tasks(jwt, "").await.status(), StatusCode::OK);
}

/// Asks `app` with `jwt` until it answers `status`; panics past the deadline.
async fn answered_within(app: &TestApp, jwt: &str, status: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        if app.get_tasks(jwt, "").await.status() == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < DEADLINE,
            "still not {status} after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn signing_out_refuses_the_sessions_token_on_the_next_request() {
    let app = TestApp::spawn().await;
    let user = seen_user(&app).await;
    app.auth_post("/api/auth/sign-out", &user.session_token, &json!({}))
        .await;
    assert_refused(&app, &user.jwt, "Session has ended").await;
}

#[tokio::test]
async fn revoking_a_session_refuses_its_token_on_the_next_request() {
    let app = TestApp::spawn().await;
    let user = seen_user(&app).await;
    let revoked = app
        .auth_post(
            "/api/auth/revoke-session",
            &user.session_token,
            &json!({ "token": user.session_token }),
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_refused(&app, &user.jwt, "Session has ended").await;
}

#[tokio::test]
async fn revoking_the_other_sessions_refuses_theirs_and_keeps_this_one() {
    let app = TestApp::spawn().await;
    let user = seen_user(&app).await;
    let laptop: Value = app
        .sign_in(&user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let laptop_token = laptop["token"].as_str().unwrap();
    let laptop_jwt = app.jwt_for(laptop_token).await;
    assert_works(&app, &laptop_jwt).await;
    app.auth_post(
        "/api/auth/revoke-other-sessions",
        &user.session_token,
        &json!({}),
    )
    .await;
    assert_refused(&app, &laptop_jwt, "Session has ended").await;
    assert_works(&app, &user.jwt).await;
}

#[tokio::test]
async fn a_reused_session_token_refuses_the_sessions_access_token_on_the_next_request() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let user = seen_user(&app).await;
    let rotated = app.browser_refresh(&user.session_token).await;
    let current = session_token_set(&rotated).expect("rotated");
    let current_jwt = app.jwt_for(&current).await;
    assert_works(&app, &current_jwt).await;
    let replayed = app.browser_refresh(&user.session_token).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert_refused(&app, &current_jwt, "Session has ended").await;
}

#[tokio::test]
async fn disabling_a_user_refuses_their_tokens_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    let user = seen_user(&app).await;
    app.ban(&admin.session_token, &user.id).await;
    assert_eq!(
        app.get_tasks(&user.jwt, "").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_role_change_refuses_the_tokens_minted_before_it_and_not_the_next_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    let user = seen_user(&app).await;
    let promoted = app
        .auth_post(
            "/api/auth/admin/set-role",
            &admin.session_token,
            &json!({ "userId": user.id, "role": "admin" }),
        )
        .await;
    assert_eq!(promoted.status(), StatusCode::OK);
    assert_refused(
        &app,
        &user.jwt,
        "Account has changed since the token was issued",
    )
    .await;
    let next = app.jwt_for(&user.session_token).await;
    assert_works(&app, &next).await;
}

#[tokio::test]
async fn a_revocation_on_one_process_is_refused_by_another_within_the_bound() {
    let db = TestDatabase::fresh().await;
    let first = ServerProcess::start(&db.url, "warn").await;
    let second = ServerProcess::start(&db.url, "warn").await;
    let (one, two) = (first.app(), second.app());
    let admin = one.admin(&db.url).await;

    let signed_out = seen_user(&two).await;
    one.auth_post("/api/auth/sign-out", &signed_out.session_token, &json!({}))
        .await;
    answered_within(&two, &signed_out.jwt, StatusCode::UNAUTHORIZED).await;

    let disabled = seen_user(&two).await;
    one.ban(&admin.session_token, &disabled.id).await;
    answered_within(&two, &disabled.jwt, StatusCode::FORBIDDEN).await;

    let promoted = seen_user(&two).await;
    one.auth_post(
        "/api/auth/admin/set-role",
        &admin.session_token,
        &json!({ "userId": promoted.id, "role": "admin" }),
    )
    .await;
    answered_within(&two, &promoted.jwt, StatusCode::UNAUTHORIZED).await;
    assert_works(&two, &two.jwt_for(&promoted.session_token).await).await;
}

#[tokio::test]
async fn a_restarted_process_starts_with_the_revocations_still_relevant() {
    let db = TestDatabase::fresh().await;
    let mut server = ServerProcess::start(&db.url, "warn").await;
    let app = server.app();
    let admin = app.admin(&db.url).await;
    let user = seen_user(&app).await;
    app.auth_post(
        "/api/auth/admin/set-role",
        &admin.session_token,
        &json!({ "userId": user.id, "role": "admin" }),
    )
    .await;
    server.kill();

    let restarted = ServerProcess::start(&db.url, "warn").await;
    assert_refused(
        &restarted.app(),
        &user.jwt,
        "Account has changed since the token was issued",
    )
    .await;
}

/// PostgreSQL: the listeners' connections are terminated. Until a process has listened
/// and read the log again it asks the database, so a token revoked meanwhile is refused;
/// then it is back on the fast path. (SQLite has no listener: its poll failing is the
/// database failing, which `faults` covers.)
#[tokio::test]
async fn a_process_whose_listener_is_cut_off_asks_the_database_until_it_has_caught_up() {
    use sqlx::{Connection, Executor};
    let db = TestDatabase::fresh().await;
    if !db.is_postgres() {
        return;
    }
    let log_level = "warn,app::auth::revocations=info";
    let first = ServerProcess::start(&db.url, log_level).await;
    let second = ServerProcess::start(&db.url, log_level).await;
    let (one, two) = (first.app(), second.app());
    let during = seen_user(&two).await;
    let after = seen_user(&two).await;

    sqlx::any::install_default_drivers();
    let mut postgres = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    postgres
        .execute(
            format!(
                "select pg_terminate_backend(pid) from pg_stat_activity \
                 where application_name = '{}'",
                app::auth::revocations::LISTENER_NAME
            )
            .as_str(),
        )
        .await
        .unwrap();
    let started = Instant::now();
    while !second.logs().contains("revocation listener lost") {
        assert!(started.elapsed() < DEADLINE, "{}", second.logs());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    one.auth_post("/api/auth/sign-out", &during.session_token, &json!({}))
        .await;
    assert_refused(&two, &during.jwt, "Session has ended").await;
    assert!(
        second
            .logs()
            .contains("checking the database on every request"),
        "{}",
        second.logs()
    );

    let started = Instant::now();
    while !second.logs().contains("tokens are checked in memory") {
        assert!(started.elapsed() < 5 * DEADLINE, "{}", second.logs());
        assert_works(&two, &after.jwt).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    one.auth_post("/api/auth/sign-out", &after.session_token, &json!({}))
        .await;
    answered_within(&two, &after.jwt, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn me_from_a_token_vouched_for_in_memory_is_the_account_the_database_has() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    let user = app.new_user().await;
    let from_the_database = me(&app, &user.jwt).await;
    let from_memory = me(&app, &user.jwt).await;
    assert_eq!(from_memory, from_the_database);
    let listed = app
        .auth_get(
            &format!(
                "/api/auth/admin/list-users?filterField=email&filterValue={}",
                user.email
            ),
            &admin.session_token,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(from_memory, listed["users"][0], "as an admin sees it");
}

/// `/api/me` for a token, which must be answered.
async fn me(app: &TestApp, jwt: &str) -> Value {
    let response = app.auth_get("/api/me", jwt).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn me_is_the_account_the_database_has_whatever_a_token_signed_with_the_secret_says() {
    let app = TestApp::spawn().await;
    let user = seen_user(&app).await;
    let mut claims = payload(&user.jwt);
    for (claim, value) in [
        ("id", json!("someone-else")),
        ("email", json!("mallory@example.com")),
        ("name", json!("Mallory")),
        ("role", json!("admin")),
        ("emailVerified", json!(true)),
    ] {
        claims[claim] = value;
    }
    let forged = mint(&claims);
    for asked in ["first", "again, from memory"] {
        let account = me(&app, &forged).await;
        assert_eq!(account["id"], user.id.as_str(), "{asked}");
        assert_eq!(account["email"], user.email.as_str(), "{asked}");
        assert_eq!(account["role"], "user", "{asked}");
        assert_eq!(account["emailVerified"], false, "{asked}");
    }
}

#[tokio::test]
async fn a_token_dated_after_its_accounts_last_change_was_not_minted_from_it() {
    let app = TestApp::spawn().await;
    let user = seen_user(&app).await;
    let mut claims = payload(&user.jwt);
    claims["updatedAt"] = json!("9999-12-31T00:00:00.000Z");
    assert_refused(
        &app,
        &mint(&claims),
        "Account has changed since the token was issued",
    )
    .await;
}

#[tokio::test]
async fn after_a_role_change_me_shows_the_new_role_to_the_refreshed_token_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    let user = seen_user(&app).await;
    assert_eq!(me(&app, &user.jwt).await["role"], "user");
    app.auth_post(
        "/api/auth/admin/set-role",
        &admin.session_token,
        &json!({ "userId": user.id, "role": "admin" }),
    )
    .await;
    assert_eq!(
        app.auth_get("/api/me", &user.jwt).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refreshed = app.jwt_for(&user.session_token).await;
    for asked in ["first", "again, from memory"] {
        assert_eq!(me(&app, &refreshed).await["role"], "admin", "{asked}");
    }
}
