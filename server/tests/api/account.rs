//! A person managing their own account with Better Auth's routes: `update-user`,
//! `change-password` and `delete-user`.

use crate::support::{code, TestApp, PASSWORD};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a brand new passphrase for ada";

/// The access JWT in an answer's `Set-Cookie`.
fn access_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("access_token="))
        .and_then(|rest| rest.split(';').next())
        .expect("an access cookie")
        .to_owned()
}

#[tokio::test]
async fn a_new_name_is_the_accounts_and_the_old_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let response = app
        .auth_post(
            "/api/auth/update-user",
            &ada.session_token,
            &json!({"name": "Ada Lovelace", "image": "https://example.com/ada.png"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let fresh = access_cookie(&response);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    let user = app.user_of(&ada.session_token).await;
    assert_eq!(user.name, "Ada Lovelace");
    assert_eq!(user.image.as_deref(), Some("https://example.com/ada.png"));
    assert_eq!(
        app.auth_get("/api/me", &ada.jwt).await.status(),
        StatusCode::UNAUTHORIZED,
        "a token that carries the old name"
    );
    let me: Value = app.auth_get("/api/me", &fresh).await.json().await.unwrap();
    assert_eq!(me["name"], "Ada Lovelace");
}

#[tokio::test]
async fn a_profile_change_refuses_an_email_nothing_to_change_and_a_script_url() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    for (body, expected) in [
        (
            json!({"email": "other@example.com"}),
            "EMAIL_CAN_NOT_BE_UPDATED",
        ),
        (json!({}), "VALIDATION_ERROR"),
        (json!({"image": "javascript:alert(1)"}), "VALIDATION_ERROR"),
        (json!({"name": ""}), "VALIDATION_ERROR"),
    ] {
        let response = app
            .auth_post("/api/auth/update-user", &ada.session_token, &body)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(response).await, expected, "{body}");
    }
    let unchanged = app.user_of(&ada.session_token).await;
    assert_eq!(unchanged.name, "Test User");
    assert_eq!(unchanged.email, ada.email);
}

#[tokio::test]
async fn profile_changes_are_limited_per_user() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PROFILE_UPDATES", "2/1h")]).await;
    let ada = app.new_user().await;
    let grace = app.new_user().await;
    let rename = |token: String| {
        let app = &app;
        async move {
            app.auth_post("/api/auth/update-user", &token, &json!({"name": "Someone"}))
                .await
                .status()
        }
    };
    for _ in 0..2 {
        assert_eq!(rename(ada.session_token.clone()).await, StatusCode::OK);
    }
    assert_eq!(
        rename(ada.session_token.clone()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(rename(grace.session_token.clone()).await, StatusCode::OK);
}

#[tokio::test]
async fn a_changed_password_signs_in_ends_the_other_sessions_and_refuses_every_older_token() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let other: Value = app
        .sign_in(&ada.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let other_session = other["token"].as_str().unwrap().to_owned();
    let response = app
        .auth_post(
            "/api/auth/change-password",
            &ada.session_token,
            &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let fresh = access_cookie(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"], ada.session_token.as_str());
    assert_eq!(body["user"]["email"], ada.email.as_str());

    assert!(
        app.session(&other_session).await.is_none(),
        "the other session ended"
    );
    assert!(
        app.session(&ada.session_token).await.is_some(),
        "this one stays"
    );
    assert_eq!(
        app.get_tasks(&ada.jwt, "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get_tasks(&fresh, "").await.status(), StatusCode::OK);
    assert_eq!(
        app.sign_in(&ada.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in(&ada.email, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_other_sessions_stay_when_the_caller_asks_to_keep_them() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let other: Value = app
        .sign_in(&ada.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .auth_post(
            "/api/auth/change-password",
            &ada.session_token,
            &json!({
                "currentPassword": PASSWORD,
                "newPassword": NEW_PASSWORD,
                "revokeOtherSessions": false
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.json::<Value>().await.unwrap()["token"].is_null());
    let other_session = other["token"].as_str().unwrap();
    assert!(app.session(other_session).await.is_some());
}

#[tokio::test]
async fn a_wrong_current_password_or_a_weak_new_one_changes_nothing() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    for (body, expected) in [
        (
            json!({"currentPassword": "not my password", "newPassword": NEW_PASSWORD}),
            "INVALID_PASSWORD",
        ),
        (
            json!({"currentPassword": PASSWORD, "newPassword": "short"}),
            "PASSWORD_TOO_SHORT",
        ),
        (
            json!({"currentPassword": PASSWORD, "newPassword": "password123"}),
            "PASSWORD_COMPROMISED",
        ),
    ] {
        let response = app
            .auth_post("/api/auth/change-password", &ada.session_token, &body)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(response).await, expected, "{body}");
    }
    assert_eq!(
        app.sign_in(&ada.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.get_tasks(&ada.jwt, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_sign_ins_on_every_process_and_are_audited() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "3/5m")]).await;
    let admin = app.admin(&app.database_url).await;
    let ada = app.new_user().await;
    let guess = json!({"currentPassword": "a guess", "newPassword": NEW_PASSWORD});
    for _ in 0..3 {
        let response = app
            .auth_post("/api/auth/change-password", &ada.session_token, &guess)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let limited = app
        .auth_post("/api/auth/change-password", &ada.session_token, &guess)
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another process on the same database counts the same failures: the session that
    // guessed is refused there too, even with the right password. (They count against
    // the session, not its address, so that a neighbour's guesses cannot refuse a
    // signed-in owner: `hostile::a_neighbours_guesses_do_not_refuse_...`.)
    let other =
        TestApp::spawn_on_with(&app.database_url, &[("RATE_LIMIT_FAILED_SIGN_IN", "3/5m")]).await;
    let right = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD});
    assert_eq!(
        other
            .auth_post("/api/auth/change-password", &ada.session_token, &right)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let refused = app
        .audit_events(
            &admin.session_token,
            &format!("event=password_changed&outcome=failure&user={}", ada.id),
        )
        .await;
    assert!(refused.len() >= 3, "{refused:?}");
}

#[tokio::test]
async fn a_deleted_account_takes_its_tasks_and_sessions_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let grace = app.new_user().await;
    app.create_task(&ada.jwt, "Ada's").await;
    let kept = app.create_task(&grace.jwt, "Grace's").await;

    let wrong = app
        .auth_post(
            "/api/auth/delete-user",
            &ada.session_token,
            &json!({"password": "nope"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(wrong).await, "INVALID_PASSWORD");

    let response = app
        .auth_post(
            "/api/auth/delete-user",
            &ada.session_token,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"success": true, "message": "User deleted"})
    );
    assert!(app.session(&ada.session_token).await.is_none());
    assert_eq!(
        app.get_tasks(&ada.jwt, "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in(&ada.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mut db = app.direct_connection().await;
    let left: i64 = sqlx::query_scalar("select count(*) from tasks where user_id = $1")
        .bind(&ada.id)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let graces: Vec<Value> = app.get_tasks(&grace.jwt, "").await.json().await.unwrap();
    assert_eq!(graces, vec![kept]);
}

#[tokio::test]
async fn the_audit_log_keeps_a_deleted_accounts_events_and_names_each_change() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    let ada = app.new_user().await;
    app.auth_post(
        "/api/auth/update-user",
        &ada.session_token,
        &json!({"name": "Ada"}),
    )
    .await;
    app.auth_post(
        "/api/auth/change-password",
        &ada.session_token,
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    app.auth_post(
        "/api/auth/delete-user",
        &ada.session_token,
        &json!({"password": NEW_PASSWORD}),
    )
    .await;
    let events = app
        .audit_events(&admin.session_token, &format!("user={}", ada.id))
        .await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in [
        "sign_up",
        "profile_updated",
        "password_changed",
        "user_deleted",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn an_account_is_changed_from_a_cookie_only_by_a_page_of_this_site() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let cookie = crate::support::session_cookie(&ada.session_token);
    let forged = app
        .client
        .post(app.url("/api/auth/delete-user"))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "https://evil.example")
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(app.session(&ada.session_token).await.is_some());
}
