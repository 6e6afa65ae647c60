//! CONTRACT §4: the tasks API, scoped to the caller in every query.

use crate::support::*;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn creating_a_task_answers_201_with_the_contract_shape() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app
        .post_task(
            &user.jwt,
            &json!({"title": "  Buy milk ", "description": "2 litres"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let task: Value = response.json().await.unwrap();
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["description"], "2 litres");
    assert_eq!(task["completed"], false);
    assert!(task["id"].is_string());
    for key in ["created_at", "updated_at"] {
        let stamp = task[key].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{key}={stamp}"
        );
    }
    let fetched = app
        .fetch_task(&user.jwt, task["id"].as_str().unwrap())
        .await;
    assert_eq!(fetched, task);
}

#[tokio::test]
async fn list_tasks_returns_only_the_callers_tasks() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.new_user().await, app.new_user().await);
    app.create_task(&alice.jwt, "alice 1").await;
    app.create_task(&alice.jwt, "alice 2").await;
    app.create_task(&bob.jwt, "bob 1").await;
    let titles = |v: Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let alices: Value = app.get_tasks(&alice.jwt, "").await.json().await.unwrap();
    let bobs: Value = app.get_tasks(&bob.jwt, "").await.json().await.unwrap();
    assert_eq!(titles(alices), ["alice 1", "alice 2"]);
    assert_eq!(titles(bobs), ["bob 1"]);
}

#[tokio::test]
async fn another_users_task_is_not_found_on_get_patch_and_delete() {
    let app = TestApp::spawn().await;
    let (alice, mallory) = (app.new_user().await, app.new_user().await);
    let task = app.create_task(&alice.jwt, "private").await;
    let id = task["id"].as_str().unwrap();
    let responses = [
        app.get_task(&mallory.jwt, id).await,
        app.patch_task(&mallory.jwt, id, &json!({"title": "pwned"}))
            .await,
        app.delete_task(&mallory.jwt, id).await,
    ];
    for response in responses {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(detail(response).await, "Task not found");
    }
    let unchanged = app.fetch_task(&alice.jwt, id).await;
    assert_eq!(unchanged, task);
}

#[tokio::test]
async fn list_filters_by_completed_and_pages_with_limit_and_offset() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    for i in 0..5 {
        app.post_task(
            &user.jwt,
            &json!({"title": format!("task {i}"), "completed": i % 2 == 0}),
        )
        .await;
    }
    let count = |v: Value| v.as_array().unwrap().len();
    assert_eq!(
        count(
            app.get_tasks(&user.jwt, "?completed=true")
                .await
                .json()
                .await
                .unwrap()
        ),
        3
    );
    assert_eq!(
        count(
            app.get_tasks(&user.jwt, "?completed=false")
                .await
                .json()
                .await
                .unwrap()
        ),
        2
    );
    let page: Value = app
        .get_tasks(&user.jwt, "?limit=2&offset=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page[0]["title"], "task 3");
    assert_eq!(count(page), 2);
    assert_eq!(
        app.get_tasks(&user.jwt, "/").await.status(),
        StatusCode::OK,
        "trailing slash"
    );
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_null_clears_the_description() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let created: Value = app
        .post_task(
            &user.jwt,
            &json!({"title": "draft", "description": "notes"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let done: Value = app
        .patch_task(&user.jwt, id, &json!({"completed": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            done["title"].as_str(),
            done["description"].as_str(),
            done["completed"].as_bool()
        ),
        (Some("draft"), Some("notes"), Some(true))
    );
    assert!(done["updated_at"].as_str() > created["updated_at"].as_str());
    let cleared: Value = app
        .patch_task(
            &user.jwt,
            id,
            &json!({"title": "final", "description": null}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            cleared["title"].as_str(),
            cleared["description"].is_null(),
            cleared["completed"].as_bool()
        ),
        (Some("final"), true, Some(true))
    );
}

#[tokio::test]
async fn delete_answers_204_and_the_task_is_gone() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let id = app.create_task(&user.jwt, "temporary").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app.delete_task(&user.jwt, &id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_task(&user.jwt, &id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete_task(&user.jwt, &id).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn invalid_input_gets_422_with_a_field_list() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let cases = [
        (json!({"title": "   "}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (
            json!({"title": "ok", "description": "d".repeat(2001)}),
            "description",
        ),
    ];
    for (body, field) in cases {
        let response = app.post_task(&user.jwt, &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let detail = detail(response).await;
        assert_eq!(detail[0]["loc"], json!(["body", field]));
        assert!(detail[0]["msg"].is_string());
    }
    let wrong_type = app.post_task(&user.jwt, &json!({"title": 42})).await;
    assert_eq!(wrong_type.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(detail(wrong_type).await.is_array());
    let malformed = app
        .client
        .post(app.url("/api/tasks"))
        .bearer_auth(&user.jwt)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for query in [
        "?limit=1000",
        "?limit=0",
        "?offset=-1",
        "?completed=maybe",
        "?limit=ten",
    ] {
        let response = app.get_tasks(&user.jwt, query).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        assert!(detail(response).await.is_array());
    }
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app
        .post_task(
            &user.jwt,
            &json!({"title": "big", "description": "x".repeat(200_000)}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(detail(response).await.is_string());
}

#[tokio::test]
async fn unicode_and_sql_metacharacters_are_stored_exactly() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let titles = [
        "Grüße, 世界 🌍 — \u{202e}rtl",
        "'; drop table tasks; --",
        "100% of _under_scores_ \\ \"",
    ];
    for title in titles {
        let created = app.create_task(&user.jwt, title).await;
        let fetched = app
            .fetch_task(&user.jwt, created["id"].as_str().unwrap())
            .await;
        assert_eq!(fetched["title"], title);
    }
    let all: Value = app.get_tasks(&user.jwt, "").await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_list_gives_each_task_exactly_as_creating_and_fetching_it_do() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let list = |query: &'static str| {
        let (app, jwt) = (&app, &user.jwt);
        async move {
            app.get_tasks(jwt, query)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(list("").await, json!([]), "no tasks yet");
    let bodies = [
        json!({"title": "Grüße, 世界 🌍 — \u{202e}rtl", "description": "line one\nline two\tend"}),
        json!({"title": "quotes \" and \\ backslashes", "description": ""}),
        json!({"title": "done", "completed": true}),
        json!({"title": "</script><b>not html</b>", "description": "{\"json\": [1, null]}"}),
    ];
    let mut created = Vec::new();
    for body in &bodies {
        let response = app.post_task(&user.jwt, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let task: Value = response.json().await.unwrap();
        let fetched = app
            .fetch_task(&user.jwt, task["id"].as_str().unwrap())
            .await;
        assert_eq!(fetched, task);
        created.push(task);
    }
    assert_eq!(list("").await, Value::Array(created.clone()));
    assert_eq!(list("?completed=true").await, json!([created[2]]));
    assert_eq!(list("?completed=true&offset=1").await, json!([]));
    assert_eq!(
        list("?completed=false&limit=2&offset=1").await,
        json!([created[1], created[3]])
    );
}

#[tokio::test]
async fn ids_that_are_not_ids_are_404() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    for id in ["nope", "1%20or%201=1", "%27", &"9".repeat(300)] {
        assert_eq!(
            app.get_task(&user.jwt, id).await.status(),
            StatusCode::NOT_FOUND,
            "{id}"
        );
    }
}

#[tokio::test]
async fn me_is_who_the_token_says() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let me: Value = app
        .auth_get("/api/me", &user.jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["email"], user.email.as_str());
}

#[tokio::test]
async fn an_unknown_api_route_is_a_json_404() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(detail(response).await, "Not found");
}

#[tokio::test]
async fn an_unexpected_failure_is_a_500_with_a_generic_detail_and_no_cause() {
    use sqlx::Executor;
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let mut db = app.direct_connection().await;
    db.execute("drop table tasks").await.unwrap();
    let response = app.get_tasks(&user.jwt, "").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.text().await.unwrap();
    assert_eq!(
        body,
        r#"{"code":"INTERNAL_SERVER_ERROR","detail":"Something went wrong on our side. Please try again.","message":"Something went wrong on our side. Please try again."}"#
    );
}

#[tokio::test]
async fn pages_and_api_answers_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.client.get(app.url(path));
    let answers = [
        ("a page", get("/"), StatusCode::OK),
        (
            "the API, unauthenticated",
            get("/api/tasks"),
            StatusCode::UNAUTHORIZED,
        ),
        ("a page of the auth flow", get("/sign-in"), StatusCode::OK),
        (
            "an unknown API path",
            get("/api/nowhere"),
            StatusCode::NOT_FOUND,
        ),
        ("an unknown page", get("/nowhere"), StatusCode::NOT_FOUND),
        (
            "a missing static file",
            get("/pkg/nowhere.js"),
            StatusCode::NOT_FOUND,
        ),
        (
            "a method the API path lacks",
            app.client.put(app.url("/api/tasks")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "a server function called from another origin",
            app.client
                .post(app.url("/fn/sign-out"))
                .header(header::ORIGIN, "https://evil.example"),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, request, status) in answers {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{what}"
        );
        assert_eq!(headers["x-frame-options"], "DENY", "{what}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS over plain http: {what}"
        );
    }
}

#[tokio::test]
async fn a_site_served_over_https_sends_hsts_and_secure_cookies() {
    let app = TestApp::spawn_with(&[("BETTER_AUTH_URL", "https://tasks.example.com")]).await;
    let response = app.sign_up("Ada", "ada@example.com", PASSWORD).await;
    assert!(response.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    for cookie in response.headers().get_all(header::SET_COOKIE) {
        assert!(cookie.to_str().unwrap().contains("Secure"), "{cookie:?}");
    }
}

#[tokio::test]
async fn an_account_at_its_task_limit_is_told_so_and_others_are_not_affected() {
    let app = TestApp::spawn_with(&[("MAX_TASKS_PER_USER", "3")]).await;
    let (ada, grace) = (app.new_user().await, app.new_user().await);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(app.create_task(&ada.jwt, &format!("task {n}")).await["id"].clone());
    }
    let refused = app
        .post_task(&ada.jwt, &json!({ "title": "one too many" }))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "TASK_LIMIT_REACHED");
    assert!(
        body["detail"].as_str().unwrap().contains("3 tasks"),
        "{body}"
    );
    app.create_task(&grace.jwt, "someone else's").await;
    let removed = app.delete_task(&ada.jwt, ids[0].as_str().unwrap()).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    app.create_task(&ada.jwt, "room again").await;
}

#[tokio::test]
async fn task_writes_past_the_per_user_rate_get_429_with_retry_after() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_TASK_WRITES", "3/1m")]).await;
    let (ada, grace) = (app.new_user().await, app.new_user().await);
    let task = app.create_task(&ada.jwt, "first").await;
    let id = task["id"].as_str().unwrap();
    app.patch_task(&ada.jwt, id, &json!({ "completed": true }))
        .await;
    app.create_task(&ada.jwt, "third write").await;
    for refused in [
        app.post_task(&ada.jwt, &json!({ "title": "fourth" })).await,
        app.patch_task(&ada.jwt, id, &json!({ "completed": false }))
            .await,
        app.delete_task(&ada.jwt, id).await,
    ] {
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    assert_eq!(
        app.get_tasks(&ada.jwt, "").await.status(),
        StatusCode::OK,
        "reads go on"
    );
    app.create_task(&grace.jwt, "another user writes as usual")
        .await;
}

#[tokio::test]
async fn task_text_with_control_characters_is_422_not_500() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    for body in [
        json!({ "title": "nul\u{0}byte" }),
        json!({ "title": "ok", "description": "bell\u{7}" }),
    ] {
        let response = app.post_task(&user.jwt, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    let multiline = app
        .post_task(
            &user.jwt,
            &json!({ "title": "ok", "description": "line one\nline two\tend" }),
        )
        .await;
    assert_eq!(multiline.status(), StatusCode::CREATED);
}
