//! What the OpenAPI check (scripts/check-openapi.sh) and probing around it found: answers
//! the document did not list, or 5xx, kept as regressions. Each runs on SQLite and on
//! PostgreSQL (`scripts/with-postgres.sh`), where PostgreSQL cannot hold a NUL.

use crate::support::{detail, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_task_id_that_is_not_utf8_or_holds_a_nul_is_an_unknown_task() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    app.create_task(&user.jwt, "mine").await;
    for id in ["%FF", "%C3%28", "x%00y", "%00"] {
        let answers = [
            app.get_task(&user.jwt, id).await,
            app.patch_task(&user.jwt, id, &json!({"completed": true}))
                .await,
            app.delete_task(&user.jwt, id).await,
        ];
        for response in answers {
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
            assert_eq!(detail(response).await, "Task not found", "{id}");
        }
    }
}

/// The field error of an answer: its status and the `loc` of its first `detail` entry.
async fn field_error(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON error body");
    (status, body["detail"][0]["loc"].clone())
}

#[tokio::test]
async fn text_with_a_nul_in_a_body_is_a_field_error_not_a_database_failure() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let admin = app.admin(&app.database_url).await;
    let revoke = app
        .auth_post(
            "/api/auth/revoke-session",
            &user.session_token,
            &json!({"token": "a\u{0}b"}),
        )
        .await;
    assert_eq!(
        field_error(revoke).await,
        (StatusCode::BAD_REQUEST, json!(["body", "token"]))
    );
    let ban = app
        .auth_post(
            "/api/auth/admin/ban-user",
            &admin.session_token,
            &json!({"userId": user.id, "banReason": "spam\u{0}"}),
        )
        .await;
    assert_eq!(
        field_error(ban).await,
        (StatusCode::BAD_REQUEST, json!(["body", "banReason"]))
    );
    let unknown = app
        .auth_post(
            "/api/auth/admin/unban-user",
            &admin.session_token,
            &json!({"userId": "\u{0}"}),
        )
        .await;
    assert_eq!(
        field_error(unknown).await,
        (StatusCode::BAD_REQUEST, json!(["body", "userId"]))
    );
    let still_signed_in = app.auth_get("/api/me", &user.jwt).await;
    assert_eq!(
        still_signed_in.status(),
        StatusCode::OK,
        "nobody was banned"
    );
}

#[tokio::test]
async fn text_with_a_nul_in_a_query_is_a_field_error_not_a_database_failure() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    for (path, parameter) in [
        (
            "/api/auth/admin/list-users?searchValue=a%00b",
            "searchValue",
        ),
        (
            "/api/auth/admin/list-users?filterField=name&filterValue=%00",
            "filterValue",
        ),
        ("/api/auth/admin/audit-log?user=a%00", "user"),
    ] {
        let response = app.auth_get(path, &admin.session_token).await;
        assert_eq!(
            field_error(response).await,
            (StatusCode::BAD_REQUEST, json!(["query", parameter])),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_backslash_before_u0000_is_text_and_is_kept() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let task = app
        .post_task(&user.jwt, &json!({"title": "C:\\u0000 is not a NUL"}))
        .await;
    assert_eq!(task.status(), StatusCode::CREATED);
    let task: Value = task.json().await.expect("json");
    assert_eq!(task["title"], "C:\\u0000 is not a NUL");
}

#[tokio::test]
async fn a_method_a_route_does_not_have_is_a_json_405_that_says_which_it_has() {
    let app = TestApp::spawn().await;
    for (path, allowed) in [
        ("/api/tasks", "POST"),
        ("/api/tasks/some-id", "PATCH"),
        ("/api/auth/sign-up/email", "POST"),
    ] {
        let response = app.client.put(app.url(path)).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow = response.headers()[reqwest::header::ALLOW].to_str().unwrap();
        assert!(allow.contains(allowed), "{path}: {allow}");
        assert_eq!(detail(response).await, "Method Not Allowed", "{path}");
    }
}
