//! Several server processes behind a load balancer, sharing one database: sessions,
//! refresh rotation, revocation and disabled users all live in the database, so what
//! happens on one process holds on every other at once.

use crate::support::{session_token_set, ServerProcess, TestDatabase, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn two_server_processes_on_one_database_act_as_one() {
    let db = TestDatabase::fresh().await;
    let settings = [("REFRESH_REUSE_INTERVAL", "0")];
    let first = ServerProcess::start_with(&db.url, "warn", &settings).await;
    let second = ServerProcess::start_with(&db.url, "warn", &settings).await;
    let (one, two) = (first.app(), second.app());

    let user = one.new_user().await;
    two.create_task(&user.jwt, "made on the second").await;
    let listed: Vec<Value> = one.get_tasks(&user.jwt, "").await.json().await.unwrap();
    assert_eq!(
        listed.len(),
        1,
        "a token from one process works on the other"
    );
    assert_eq!(two.user_of(&user.session_token).await.id, user.id);

    let rotated = one.browser_refresh(&user.session_token).await;
    let current = session_token_set(&rotated).expect("rotated on the first");
    one.auth_get("/api/auth/get-session", &current).await;
    let replayed = two.browser_refresh(&user.session_token).await;
    assert_ne!(
        replayed.status(),
        StatusCode::OK,
        "reuse is seen by the second"
    );
    assert!(one.session(&current).await.is_none());

    let laptop: Value = two
        .sign_in(&user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let laptop_token = laptop["token"].as_str().unwrap().to_owned();
    let laptop_jwt = one.jwt_for(&laptop_token).await;
    two.auth_post("/api/auth/sign-out", &laptop_token, &json!({}))
        .await;
    assert_eq!(
        one.get_tasks(&laptop_jwt, "").await.status(),
        StatusCode::UNAUTHORIZED,
        "signed out on the second, refused on the first"
    );

    let admin = one.admin(&db.url).await;
    let phone: Value = one
        .sign_in(&user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let phone_jwt = two.jwt_for(phone["token"].as_str().unwrap()).await;
    one.ban(&admin.session_token, &user.id).await;
    let refused = two.get_tasks(&phone_jwt, "").await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "disabled on the first, refused on the second"
    );
}

#[tokio::test]
async fn failures_spread_over_two_servers_refuse_the_client_that_account_on_both() {
    let db = TestDatabase::fresh().await;
    let first = ServerProcess::start(&db.url, "warn").await;
    let second = ServerProcess::start(&db.url, "warn").await;
    let (one, two) = (first.app(), second.app());
    let user = one.new_user().await;

    // The default allows five failures per account and client in five minutes: three on
    // one server and two on the other are five in all.
    for server in [&one, &one, &one, &two, &two] {
        let failed = server.sign_in(&user.email, "not the password").await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    for server in [&one, &two] {
        let refused = server.sign_in(&user.email, PASSWORD).await;
        assert_eq!(
            refused.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "each server sees all five"
        );
        assert!(refused.headers().contains_key(reqwest::header::RETRY_AFTER));
    }
    let from_elsewhere = one
        .sign_in_from([127, 0, 0, 2], &user.email, PASSWORD)
        .await;
    assert_eq!(
        from_elsewhere.status(),
        StatusCode::OK,
        "the owner still gets in from a client that has not been failing"
    );
}
