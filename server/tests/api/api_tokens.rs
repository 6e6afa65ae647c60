//! The account page's API tokens: the `issue-api-token` server function, called as the
//! hydrated page calls it (the session cookie, this site's origin).

use crate::support::*;
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};

/// Calls the account page's server function `endpoint` (`/fn/…`) with `fields` and
/// `cookie`, as the hydrated page does.
async fn call(
    app: &TestApp,
    endpoint: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> Response {
    let mut request = app
        .client
        .post(app.url(endpoint))
        .header(header::ORIGIN, &app.base)
        .header(header::ACCEPT, "application/json")
        .form(fields);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.expect("request")
}

/// Posts the page's form to `/fn/issue-api-token` with `cookie`, as the wasm does.
async fn issue(app: &TestApp, cookie: Option<&str>, scope: &str, lifetime_secs: &str) -> Response {
    let fields = [("scope", scope), ("lifetime_secs", lifetime_secs)];
    call(app, "/fn/issue-api-token", cookie, &fields).await
}

/// The token of an API token issued with `cookie`: read-only, for an hour.
async fn issued_token(app: &TestApp, cookie: &str) -> String {
    let issued = issue(app, Some(cookie), "tasks:read", "3600").await;
    assert_eq!(issued.status(), StatusCode::OK);
    let issued: Value = issued.json().await.unwrap();
    issued["token"].as_str().expect("the token").to_owned()
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

/// The session token of a sign-in to `email` by a client that names itself `user_agent`.
/// Whoever signs in chooses their User-Agent: one who took the password may name their
/// browser as the owner's API token is named, to pass for it in the owner's list.
async fn sign_in_calling_itself(app: &TestApp, email: &str, user_agent: &str) -> String {
    let signed_in = app
        .client
        .post(app.url("/api/auth/sign-in/email"))
        .header(header::USER_AGENT, user_agent)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(signed_in.status(), StatusCode::OK);
    let signed_in: Value = signed_in.json().await.unwrap();
    signed_in["token"]
        .as_str()
        .expect("a session token")
        .to_owned()
}

/// The sessions the account page lists (`/fn/list-sessions`) to the holder of `cookie`.
async fn listed_on_the_account_page(app: &TestApp, cookie: &str) -> Vec<Value> {
    sessions_in(call(app, "/fn/list-sessions", Some(cookie), &[]).await).await
}

/// The sessions a list answers: a 200 with a JSON array.
async fn sessions_in(listed: Response) -> Vec<Value> {
    assert_eq!(listed.status(), StatusCode::OK);
    listed.json().await.unwrap()
}

#[tokio::test]
async fn an_api_tokens_session_is_marked_as_one_and_a_browser_calling_itself_one_is_not() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let cookie = session_cookie(&user.session_token);
    let token = issued_token(&app, &cookie).await;
    let disguised = sign_in_calling_itself(&app, &user.email, "API token (tasks:read)").await;
    let disguised = app.jwt_for(&disguised).await;

    let listed = listed_on_the_account_page(&app, &cookie).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let marked = |jwt: &str| {
        let sid = payload(jwt)["sid"].clone();
        let session = listed.iter().find(|s| s["id"] == sid).expect("listed");
        session["apiToken"].clone()
    };
    assert_eq!(marked(&token), json!(true), "the token's session");
    assert_eq!(marked(&user.jwt), json!(false), "a sign-up's session");
    assert_eq!(
        marked(&disguised),
        json!(false),
        "a browser is a session whatever it calls itself"
    );

    let contract = app.sessions_of(&user.session_token).await;
    assert_eq!(contract.len(), 3, "Better Auth's list keeps every session");
    assert!(contract.iter().all(|s| s.get("apiToken").is_none()));
}

#[tokio::test]
async fn the_account_page_lists_api_tokens_apart_from_the_browsers_signed_in() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let cookie = session_cookie(&user.session_token);
    issued_token(&app, &cookie).await;
    sign_in_calling_itself(&app, &user.email, "API token (tasks:read)").await;
    let page = app
        .client
        .get(app.url("/account"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    // The items of the list named `name`, as the server renders the page.
    let items = |name: &str| {
        let list = html
            .split(&format!(r#"aria-label="{name}""#))
            .nth(1)
            .and_then(|rest| rest.split("</ul>").next())
            .unwrap_or_else(|| panic!("no list {name} in {html}"));
        list.split("<li")
            .skip(1)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let tokens = items("API tokens");
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(tokens[0].contains("API token (tasks:read)"), "{tokens:?}");
    assert!(html.contains("Your API tokens"));
    let sessions = items("Sessions");
    assert_eq!(
        sessions.len(),
        2,
        "this browser, and the one calling itself a token: {sessions:?}"
    );
    assert!(sessions.iter().any(|s| s.contains("This browser")));
    assert!(sessions
        .iter()
        .any(|s| s.contains("API token (tasks:read)")));
}

#[tokio::test]
async fn an_api_token_outlives_signing_out_the_browser_that_issued_it_but_not_signing_out_everywhere(
) {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let laptop = app.sign_in(&user.email, PASSWORD).await;
    let laptop: Value = laptop.json().await.unwrap();
    let laptop = session_cookie(laptop["token"].as_str().unwrap());
    let token = issued_token(&app, &laptop).await;

    let signed_out = call(&app, "/fn/sign-out", Some(&laptop), &[]).await;
    assert!(signed_out.status().is_success(), "{}", signed_out.status());
    assert_eq!(
        call(&app, "/fn/list-sessions", Some(&laptop), &[])
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the laptop is signed out"
    );
    assert_eq!(
        app.get_tasks(&token, "").await.status(),
        StatusCode::OK,
        "the token has a session of its own"
    );

    let phone = session_cookie(&user.session_token);
    let everywhere = call(&app, "/fn/sign-out-everywhere", Some(&phone), &[]).await;
    assert!(everywhere.status().is_success(), "{}", everywhere.status());
    assert_refused(&app, &token, "Session has ended").await;
}
