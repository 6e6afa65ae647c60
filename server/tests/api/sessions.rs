//! Sessions: refresh with rotation and reuse detection, sliding expiry, listing and
//! revoking, and read-only tokens.

use crate::support::{detail, payload, session_token_set, set_cookie, www_authenticate, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_the_session_token_rotates() {
    let app = TestApp::spawn_with(&[("JWT_EXPIRES_IN", "15m"), ("JWT_LEEWAY_SECONDS", "0")]).await;
    let user = app.new_user().await;
    app.advance(Duration::from_secs(15 * 60 + 1));
    let expired = app.get_tasks(&user.jwt, "").await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(detail(expired).await, "Token has expired");

    let refreshed = app.browser_refresh(&user.session_token).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let jwt = set_cookie(&refreshed, "access_token").expect("a new access cookie");
    let next = session_token_set(&refreshed).expect("a rotated session cookie");
    assert_ne!(next, user.session_token);
    assert_eq!(app.get_tasks(&jwt, "").await.status(), StatusCode::OK);
    assert!(app.session(&next).await.is_some());
}

#[tokio::test]
async fn a_used_session_token_presented_again_revokes_the_whole_session() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let admin = app.admin(&app.database_url).await;
    let victim = app.new_user().await;
    let refreshed = app.browser_refresh(&victim.session_token).await;
    let current = session_token_set(&refreshed).unwrap();
    let current_jwt = set_cookie(&refreshed, "access_token").unwrap();
    assert!(app.session(&current).await.is_some());

    // The old token, presented again by whoever copied it.
    let replayed = app.browser_refresh(&victim.session_token).await;
    assert_ne!(replayed.status(), StatusCode::OK);
    assert_eq!(set_cookie(&replayed, "access_token"), None);

    assert!(app.session(&current).await.is_none());
    let rejected = app.get_tasks(&current_jwt, "").await;
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(detail(rejected).await, "Session has ended");
    let reuse = app
        .audit_events(&admin.session_token, "event=refresh_reuse_detected")
        .await;
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0]["userId"], json!(victim.id));
}

#[tokio::test]
async fn an_older_retired_token_presented_again_still_revokes_the_session() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let victim = app.new_user().await;
    let stolen = victim.session_token.clone();
    let mut current = stolen.clone();
    // The browser goes on refreshing, each time with the token it was given last.
    for _ in 0..5 {
        let refreshed = app.browser_refresh(&current).await;
        assert_eq!(refreshed.status(), StatusCode::OK);
        current = session_token_set(&refreshed).unwrap();
    }
    assert!(app.session(&current).await.is_some());

    let replayed = app.browser_refresh(&stolen).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        app.session(&current).await.is_none(),
        "a token five rotations old still gives the theft away"
    );
}

#[tokio::test]
async fn a_refresh_whose_answer_never_arrived_can_be_asked_again() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let user = app.new_user().await;
    let lost = app.browser_refresh(&user.session_token).await;
    let undelivered = session_token_set(&lost).unwrap();

    let again = app.browser_refresh(&user.session_token).await;
    assert_eq!(again.status(), StatusCode::OK, "not taken for reuse");
    let delivered = session_token_set(&again).expect("a token issued again");
    let jwt = set_cookie(&again, "access_token").unwrap();
    assert_eq!(app.get_tasks(&jwt, "").await.status(), StatusCode::OK);
    assert!(app.session(&delivered).await.is_some());

    let copied = app.browser_refresh(&undelivered).await;
    assert_ne!(
        copied.status(),
        StatusCode::OK,
        "the undelivered token is retired"
    );
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_both_keep_working() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let first = app.browser_refresh(&user.session_token).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = app.browser_refresh(&user.session_token).await;
    assert_eq!(second.status(), StatusCode::OK, "within the reuse interval");
    let jwt = set_cookie(&second, "access_token").unwrap();
    assert_eq!(session_token_set(&second), None);
    assert_eq!(app.get_tasks(&jwt, "").await.status(), StatusCode::OK);
    let rotated = session_token_set(&first).unwrap();
    assert!(app.session(&rotated).await.is_some());
}

#[tokio::test]
async fn a_session_used_after_the_update_age_slides_forward() {
    let app = TestApp::spawn_with(&[("SESSION_UPDATE_AGE", "1s")]).await;
    let user = app.new_user().await;
    let expiry = || async {
        app.session(&user.session_token)
            .await
            .unwrap()
            .session
            .expires_at
    };
    let before = expiry().await;
    app.advance(Duration::from_millis(1100));
    let after = expiry().await;
    assert!(after > before, "{after} should be later than {before}");
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_by_one_or_all_at_once() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let laptop = app.sign_in(&user.email, crate::support::PASSWORD).await;
    let laptop: Value = laptop.json().await.unwrap();
    let laptop_token = laptop["token"].as_str().unwrap().to_owned();
    let laptop_jwt = app.jwt_for(&laptop_token).await;
    let phone = app.sign_in(&user.email, crate::support::PASSWORD).await;
    let phone_token = phone.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = app
        .auth_get("/api/auth/list-sessions", &user.session_token)
        .await;
    let listed: Vec<Value> = listed.json().await.unwrap();
    assert_eq!(listed.len(), 3);
    let laptop_id = payload(&laptop_jwt)["sid"].as_str().unwrap().to_owned();
    let laptop = listed
        .iter()
        .find(|s| s["id"] == laptop_id.as_str())
        .unwrap();
    let listed_token = laptop["token"].as_str().expect("a token to revoke it by");
    assert!(
        app.session(listed_token).await.is_none(),
        "a listed token names the session but signs nobody in"
    );
    let revoked = app
        .auth_post(
            "/api/auth/revoke-session",
            &user.session_token,
            &json!({ "token": listed_token }),
        )
        .await;
    assert_eq!(
        revoked.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    assert_eq!(
        app.get_tasks(&laptop_jwt, "").await.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked session's token stops working at once"
    );

    let others = app
        .auth_post(
            "/api/auth/revoke-other-sessions",
            &user.session_token,
            &json!({}),
        )
        .await;
    assert_eq!(others.status(), StatusCode::OK);
    assert!(app.session(&phone_token).await.is_none());
    assert_eq!(app.get_tasks(&user.jwt, "").await.status(), StatusCode::OK);

    let everywhere = app
        .auth_post("/api/auth/revoke-sessions", &user.session_token, &json!({}))
        .await;
    assert_eq!(everywhere.status(), StatusCode::OK);
    assert_eq!(
        app.get_tasks(&user.jwt, "").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_read_only_token_reads_but_is_refused_on_writes() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let task = app.create_task(&user.jwt, "readable").await;
    let response = app
        .auth_get("/api/auth/token?scope=tasks:read", &user.session_token)
        .await;
    let read_only = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(payload(&read_only)["scope"], "tasks:read");
    assert_eq!(payload(&user.jwt)["scope"], "tasks:read tasks:write");
    assert_eq!(payload(&user.jwt)["role"], "user");

    assert_eq!(app.get_tasks(&read_only, "").await.status(), StatusCode::OK);
    let id = task["id"].as_str().unwrap();
    for refused in [
        app.post_task(&read_only, &json!({"title": "no"})).await,
        app.patch_task(&read_only, id, &json!({"completed": true}))
            .await,
        app.delete_task(&read_only, id).await,
    ] {
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            www_authenticate(&refused),
            "Bearer error=\"insufficient_scope\", scope=\"tasks:write\""
        );
    }

    let unknown = app
        .auth_get("/api/auth/token?scope=tasks:admin", &user.session_token)
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(detail(unknown).await[0]["loc"], json!(["query", "scope"]));
}

#[tokio::test]
async fn a_lost_refresh_answer_is_forgiven_once_and_a_second_replay_revokes_the_session() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let user = app.new_user().await;
    let lost = app.browser_refresh(&user.session_token).await;
    assert_eq!(lost.status(), StatusCode::OK);
    let again = app.browser_refresh(&user.session_token).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the answer was lost: issued again"
    );
    let current = session_token_set(&again).unwrap();
    let current_jwt = set_cookie(&again, "access_token").unwrap();

    for _ in 0..3 {
        let replayed = app.browser_refresh(&user.session_token).await;
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(set_cookie(&replayed, "access_token"), None);
    }
    assert!(app.session(&current).await.is_none());
    let rejected = app.get_tasks(&current_jwt, "").await;
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_previous_token_presented_after_the_lost_answer_window_revokes_the_session() {
    let app = TestApp::spawn_with(&[
        ("REFRESH_REUSE_INTERVAL", "0"),
        ("REFRESH_LOST_ANSWER_WINDOW", "1s"),
    ])
    .await;
    let user = app.new_user().await;
    let rotated = app.browser_refresh(&user.session_token).await;
    let next = session_token_set(&rotated).unwrap();
    app.advance(Duration::from_millis(1100));
    let late = app.browser_refresh(&user.session_token).await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED);
    assert!(app.session(&next).await.is_none());
}

#[tokio::test]
async fn sliding_stops_at_the_absolute_session_lifetime() {
    use sqlx::Executor;
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let hour = chrono::Duration::hours(1);
    let created = chrono::Utc::now() - chrono::Duration::days(30) + hour;
    let stored = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    // A session created 30 days less an hour ago, due to slide.
    let mut db = app.direct_connection().await;
    db.execute(
        format!(
            "update sessions set created_at = '{}', expires_at = '{}'",
            stored(created),
            stored(chrono::Utc::now() + chrono::Duration::minutes(1)),
        )
        .as_str(),
    )
    .await
    .unwrap();

    let expires_at = app
        .session(&user.session_token)
        .await
        .unwrap()
        .session
        .expires_at;
    let sent = (created + chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M:%S%.3fZ");
    assert_eq!(
        expires_at,
        sent.to_string(),
        "slid to the 30-day limit, not a full 7 days from now (sent with milliseconds)"
    );
}

#[tokio::test]
async fn two_replays_of_a_lost_answer_at_once_are_forgiven_once_and_never_fail() {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let user = app.new_user().await;
    app.browser_refresh(&user.session_token).await;
    let (a, b) = tokio::join!(
        app.browser_refresh(&user.session_token),
        app.browser_refresh(&user.session_token)
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert!(
        statuses.iter().all(|s| !s.is_server_error()),
        "{statuses:?}"
    );
    assert_ne!(
        statuses,
        [StatusCode::OK, StatusCode::OK],
        "only one replay is forgiven"
    );
}

#[tokio::test]
async fn an_access_token_never_outlives_its_session() {
    use sqlx::Executor;
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    // A session 90 s short of its absolute lifetime (SESSION_MAX_AGE, 30 days): using it
    // cannot slide it further, so it ends in 90 s.
    let ends = chrono::Utc::now() + chrono::Duration::seconds(90);
    let stored = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let mut db = app.direct_connection().await;
    db.execute(
        format!(
            "update sessions set created_at = '{}', expires_at = '{}'",
            stored(ends - chrono::Duration::days(30)),
            stored(ends)
        )
        .as_str(),
    )
    .await
    .unwrap();
    let jwt = app.jwt_for(&user.session_token).await;
    assert_eq!(
        payload(&jwt)["exp"],
        ends.timestamp(),
        "not the 15 minutes tokens otherwise live"
    );
}
