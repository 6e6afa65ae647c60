//! The account page's API tokens: the `issue-api-token` server function, called as the
//! hydrated page calls it (the session cookie, this site's origin).

use crate::support::*;
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};

/// Posts the page's form to `/fn/issue-api-token` with `cookie`, as the wasm does.
async fn issue(app: &TestApp, cookie: Option<&str>, scope: &str, lifetime_secs: &str) -> Response {
    let mut request = app
        .client
        .post(app.url("/fn/issue-api-token"))
        .header(header::ORIGIN, &app.base)
        .header(header::ACCEPT, "application/json")
        .form(&[("scope", scope), ("lifetime_secs", lifetime_secs)]);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn a_lifetime_that_is_not_a_number_is_a_400_not_a_server_error() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let cookie = session_cookie(&user.session_token);
    for lifetime in ["an hour", "3600s", "", "99999999999999999999"] {
        let issued = issue(&app, Some(&cookie), "tasks:read", lifetime).await;
        assert_unreadable_arguments_refused(issued).await;
    }
    let listed = app.sessions_of(&user.session_token).await;
    assert_eq!(listed.len(), 1, "no token was issued: {listed:?}");
}

#[tokio::test]
async fn the_account_page_issues_a_read_only_token_whose_session_is_listed_and_revocable() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let admin = app.admin(&db.url).await;
    let user = app.new_user().await;
    let issued = issue(
        &app,
        Some(&session_cookie(&user.session_token)),
        "tasks:read",
        "3600",
    )
    .await;
    assert_eq!(issued.status(), StatusCode::OK);
    assert_eq!(
        issued.headers()[header::CACHE_CONTROL],
        "no-store",
        "an answer carrying a token is never cached"
    );
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["scope"], "tasks:read");
    let token = issued["token"].as_str().expect("the token").to_owned();
    let claims = payload(&token);

    assert_eq!(app.get_tasks(&token, "").await.status(), StatusCode::OK);
    let write = app
        .post_task(&token, &json!({"title": "not allowed"}))
        .await;
    assert_eq!(write.status(), StatusCode::FORBIDDEN);

    let listed = app.sessions_of(&user.session_token).await;
    let session = listed
        .iter()
        .find(|s| s["id"] == claims["sid"])
        .expect("the token's session is listed");
    assert_eq!(session["userAgent"], "API token (tasks:read)");
    assert_lives_from_its_session(&claims, session, 3600);
    let events = app
        .audit_events(&admin.session_token, "event=api_token_issued")
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["userId"], user.id.as_str());

    let revoked = app
        .auth_post(
            "/api/auth/revoke-session",
            &user.session_token,
            &json!({ "token": session["token"] }),
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_refused(&app, &token, "Session has ended").await;
}

#[tokio::test]
async fn issuing_an_api_token_needs_a_signed_in_user() {
    let app = TestApp::spawn().await;
    let refused = issue(&app, None, "tasks:read", "3600").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let forged = issue(
        &app,
        Some(&session_cookie("not-a-session")),
        "tasks:read",
        "3600",
    )
    .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn issuing_an_api_token_refuses_unknown_scopes_and_lifetimes_past_the_maximum() {
    let app = TestApp::spawn_with(&[("SESSION_MAX_AGE", "7d")]).await;
    let user = app.new_user().await;
    let cookie = session_cookie(&user.session_token);
    let too_long = issue(
        &app,
        Some(&cookie),
        "tasks:read",
        &(30 * 86_400).to_string(),
    )
    .await;
    assert!(too_long.status().is_client_error(), "{}", too_long.status());
    assert!(too_long
        .text()
        .await
        .unwrap()
        .contains("at most 7 days on this site"));
    let unknown = issue(&app, Some(&cookie), "admin", "3600").await;
    assert!(unknown.status().is_client_error(), "{}", unknown.status());
    let listed = app.sessions_of(&user.session_token).await;
    assert_eq!(listed.len(), 1, "no session was made");
}

#[tokio::test]
async fn a_user_issues_a_limited_number_of_api_tokens() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_API_TOKENS", "2/1h")]).await;
    let user = app.new_user().await;
    let cookie = session_cookie(&user.session_token);
    for _ in 0..2 {
        let issued = issue(&app, Some(&cookie), "tasks:read tasks:write", "86400").await;
        assert_eq!(issued.status(), StatusCode::OK);
    }
    let limited = issue(&app, Some(&cookie), "tasks:read", "86400").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_api_token_ends_no_later_than_the_sign_in_it_was_issued_from() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = app.new_user().await;
    let max_age = chrono::Duration::days(30);
    let began = chrono::Utc::now() - max_age + chrono::Duration::days(2);
    let mut connection = app.direct_connection().await;
    sqlx::query("update sessions set created_at = $1 where user_id = $2")
        .bind(began.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .bind(&user.id)
        .execute(&mut connection)
        .await
        .unwrap();
    let issued = issue(
        &app,
        Some(&session_cookie(&user.session_token)),
        "tasks:read",
        &(30 * 86_400).to_string(),
    )
    .await;
    assert_eq!(issued.status(), StatusCode::OK);
    let issued: Value = issued.json().await.unwrap();
    let ends = (began + max_age).timestamp();
    let exp = payload(issued["token"].as_str().unwrap())["exp"]
        .as_i64()
        .unwrap();
    assert!(
        exp <= ends,
        "the token ends {} s after the sign-in",
        exp - ends
    );
    assert!(exp > ends - 60, "and not much before it: {} s", ends - exp);
    assert!(unix_secs(&issued["expires_at"]) <= ends, "its session too");
}

#[tokio::test]
async fn refused_api_token_issuances_are_audited() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on_with(&db.url, &[("RATE_LIMIT_API_TOKENS", "1/1h")]).await;
    let admin = app.admin(&db.url).await;
    let user = app.new_user().await;
    let cookie = session_cookie(&user.session_token);
    assert_eq!(
        issue(&app, Some(&cookie), "tasks:read", "3600")
            .await
            .status(),
        StatusCode::OK
    );
    let limited = issue(&app, Some(&cookie), "tasks:read", "3600").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let refused = app
        .audit_events(
            &admin.session_token,
            "event=api_token_issued&outcome=failure",
        )
        .await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["userId"], user.id.as_str());
    assert_eq!(refused[0]["detail"], "rate limited");
}
