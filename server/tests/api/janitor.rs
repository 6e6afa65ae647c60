//! State that stays bounded: the janitor deletes expired sessions (with the tokens they
//! retired), audit events past their retention, signing keys nothing verifies with,
//! revocations no unexpired token predates, and emailed links long expired.

use crate::support::*;
use app::janitor::{sweep, Retention, Swept};
use reqwest::StatusCode;
use sqlx::{Executor, Row};

async fn count(db: &mut sqlx::AnyConnection, query: &str) -> i64 {
    sqlx::query(query)
        .fetch_one(&mut *db)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

async fn pool_on(app: &TestApp) -> app::db::Pool {
    let database = server::database::Database::parse(&app.database_url).unwrap();
    server::database::connect(&database).await.unwrap()
}

const NINETY_DAYS: Retention = Retention {
    audit_secs: Some(90 * 24 * 3600),
    revocations_secs: 15 * 60 + 30,
};

#[tokio::test]
async fn expired_sessions_go_with_their_retired_tokens_and_live_ones_stay() {
    let app = TestApp::spawn().await;
    let staying = app.new_user().await;
    let leaving = app.new_user().await;
    let refreshed = app.browser_refresh(&leaving.session_token).await;
    assert!(session_token_set(&refreshed).is_some(), "a token retired");
    let mut db = app.direct_connection().await;
    db.execute(
        format!(
            "update sessions set expires_at = '2000-01-01T00:00:00.000000Z' where user_id = '{}'",
            leaving.id
        )
        .as_str(),
    )
    .await
    .unwrap();
    assert_eq!(
        count(&mut db, "select count(*) from retired_session_tokens").await,
        1
    );

    let swept = sweep(&pool_on(&app).await, NINETY_DAYS, app.now())
        .await
        .unwrap();
    assert_eq!((swept.sessions, swept.retired_tokens), (1, 1));
    assert_eq!(
        count(&mut db, "select count(*) from retired_session_tokens").await,
        0
    );
    let sessions = count(&mut db, "select count(*) from sessions").await;
    assert_eq!(sessions, 1, "the live session stays");
    assert_eq!(
        app.get_tasks(&staying.jwt, "").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.user_of(&staying.session_token).await.id, staying.id);
}

#[tokio::test]
async fn audit_events_past_their_retention_go_unless_it_is_forever() {
    let app = TestApp::spawn().await;
    app.new_user().await;
    app.new_user().await;
    let mut db = app.direct_connection().await;
    let recorded = count(&mut db, "select count(*) from audit_events").await;
    assert!(recorded >= 2);
    db.execute(
        "update audit_events set at = '2000-01-01T00:00:00.000000Z' where event = 'sign_up'",
    )
    .await
    .unwrap();
    let old = count(
        &mut db,
        "select count(*) from audit_events where event = 'sign_up'",
    )
    .await;

    let forever = sweep(
        &pool_on(&app).await,
        Retention {
            audit_secs: None,
            ..NINETY_DAYS
        },
        app.now(),
    )
    .await
    .unwrap();
    assert_eq!(forever, Swept::default());
    let swept = sweep(&pool_on(&app).await, NINETY_DAYS, app.now())
        .await
        .unwrap();
    assert_eq!(swept.audit_events.cast_signed(), old);
    assert_eq!(
        count(&mut db, "select count(*) from audit_events").await,
        recorded - old
    );
}

#[tokio::test]
async fn signing_keys_no_longer_published_go_and_the_current_one_stays() {
    let app = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let user = app.new_user().await;
    let mut db = app.direct_connection().await;
    db.execute(
        "insert into signing_keys (id, algorithm, public_jwk, private_key, created_at, retired_at, \
         published_until) values ('old', 'EdDSA', '{}', '', '1999-01-01T00:00:00.000000Z', \
         '1999-01-02T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z')",
    )
    .await
    .unwrap();
    let swept = sweep(&pool_on(&app).await, NINETY_DAYS, app.now())
        .await
        .unwrap();
    assert_eq!(swept.signing_keys, 1);
    assert_eq!(count(&mut db, "select count(*) from signing_keys").await, 1);
    assert_eq!(app.get_tasks(&user.jwt, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn emailed_links_a_day_past_their_expiry_go_and_newer_ones_stay() {
    let app = TestApp::spawn().await;
    let (ada, bob) = (app.new_user().await, app.new_user().await);
    for user in [&ada, &bob] {
        let asked = app
            .post_json(
                "/api/auth/request-password-reset",
                &serde_json::json!({ "email": user.email }),
            )
            .await;
        assert_eq!(asked.status(), StatusCode::OK);
        app.mail.message_to(&user.email).await;
    }
    let mut db = app.direct_connection().await;
    db.execute(
        format!(
            "update email_tokens set expires_at = '2000-01-01T00:00:00.000000Z' \
             where user_id = '{}'",
            ada.id
        )
        .as_str(),
    )
    .await
    .unwrap();
    let swept = sweep(&pool_on(&app).await, NINETY_DAYS, app.now())
        .await
        .unwrap();
    assert_eq!(swept.email_tokens, 1);
    let left = sqlx::query("select user_id from email_tokens")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].get::<String, _>("user_id"), bob.id);
}

#[tokio::test]
async fn counts_of_failed_sign_ins_go_once_their_window_has_ended() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let failed = app.sign_in(&user.email, "not the password").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    app.sign_in("grace@example.com", "not the password").await;
    let mut db = app.direct_connection().await;
    assert_eq!(
        count(&mut db, "select count(*) from failed_sign_ins").await,
        2
    );
    db.execute(
        format!(
            "update failed_sign_ins set window_ends = '2000-01-01T00:00:00.000000Z' \
             where account = '{}'",
            user.email
        )
        .as_str(),
    )
    .await
    .unwrap();
    let swept = sweep(&pool_on(&app).await, NINETY_DAYS, app.now())
        .await
        .unwrap();
    assert_eq!(swept.failed_sign_ins, 1);
    assert_eq!(
        count(&mut db, "select count(*) from failed_sign_ins").await,
        1
    );
}

#[tokio::test]
async fn revocations_older_than_a_token_lifetime_go_and_newer_ones_stay() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        let user = app.new_user().await;
        app.auth_post(
            "/api/auth/sign-out",
            &user.session_token,
            &serde_json::json!({}),
        )
        .await;
    }
    let mut db = app.direct_connection().await;
    assert_eq!(count(&mut db, "select count(*) from revocations").await, 2);
    db.execute(
        "update revocations set revoked_at = '2000-01-01T00:00:00.000000Z' \
         where id = (select min(id) from revocations)",
    )
    .await
    .unwrap();
    let swept = sweep(&pool_on(&app).await, NINETY_DAYS, app.now())
        .await
        .unwrap();
    assert_eq!(swept.revocations, 1);
    assert_eq!(count(&mut db, "select count(*) from revocations").await, 1);
}

#[tokio::test]
async fn expired_waiting_sign_ins_trusted_browsers_and_apps_never_confirmed_go() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let idle = app.new_user().await;
    for (who, password) in [(&user, PASSWORD), (&idle, PASSWORD)] {
        let started = app
            .auth_post(
                "/api/auth/two-factor/enable",
                &who.session_token,
                &serde_json::json!({ "password": password }),
            )
            .await;
        assert_eq!(started.status(), StatusCode::OK);
    }
    let mut db = app.direct_connection().await;
    db.execute(
        format!(
            "insert into two_factor_challenges \
             (token_hash, user_id, attempts, password_hash, expires_at, created_at) values \
             ('old', '{0}', 0, 'h', '2000-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z'), \
             ('live', '{0}', 0, 'h', '2999-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z')",
            user.id
        )
        .as_str(),
    )
    .await
    .unwrap();
    db.execute(
        format!(
            "insert into trusted_devices (id, token_hash, user_id, created_at, expires_at) values \
             ('d-old', 'old', '{0}', '2000-01-01T00:00:00.000000Z', '2000-01-01T00:00:00.000000Z'), \
             ('d-live', 'live', '{0}', '2000-01-01T00:00:00.000000Z', '2999-01-01T00:00:00.000000Z')",
            user.id
        )
        .as_str(),
    )
    .await
    .unwrap();
    // The idle user's app was added long ago and never confirmed; the other's just now.
    db.execute(
        format!(
            "update two_factors set created_at = '2000-01-01T00:00:00.000000Z' where user_id = '{}'",
            idle.id
        )
        .as_str(),
    )
    .await
    .unwrap();

    let swept = sweep(&pool_on(&app).await, NINETY_DAYS, app.now())
        .await
        .unwrap();
    assert_eq!(swept.second_factors, 1 + 1 + 10 + 1, "{swept:?}");
    let left = |table: &str| format!("select count(*) from {table}");
    assert_eq!(count(&mut db, &left("two_factor_challenges")).await, 1);
    assert_eq!(count(&mut db, &left("trusted_devices")).await, 1);
    assert_eq!(count(&mut db, &left("two_factors")).await, 1);
    assert_eq!(
        count(
            &mut db,
            &format!(
                "select count(*) from backup_codes where user_id = '{}'",
                user.id
            )
        )
        .await,
        10,
        "the fresh app's codes stay"
    );
    assert_eq!(count(&mut db, &left("backup_codes")).await, 10);
}
