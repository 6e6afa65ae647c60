//! `/openapi.json` and `/docs`: the document describes the routes that are served, and
//! Swagger UI is served from this origin under the site's Content-Security-Policy.

use crate::support::TestApp;
use reqwest::{header, StatusCode};
use serde_json::Value;

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_names_every_route_of_the_contract() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let operations = [
        ("get", "/api/tasks"),
        ("post", "/api/tasks"),
        ("get", "/api/tasks/{id}"),
        ("patch", "/api/tasks/{id}"),
        ("delete", "/api/tasks/{id}"),
        ("get", "/api/me"),
        ("post", "/api/auth/sign-up/email"),
        ("post", "/api/auth/sign-in/email"),
        ("post", "/api/auth/sign-out"),
        ("get", "/api/auth/get-session"),
        ("get", "/api/auth/token"),
        ("get", "/api/auth/jwks"),
        ("get", "/api/auth/list-sessions"),
        ("post", "/api/auth/revoke-session"),
        ("post", "/api/auth/revoke-sessions"),
        ("post", "/api/auth/revoke-other-sessions"),
        ("post", "/api/auth/update-user"),
        ("post", "/api/auth/change-password"),
        ("post", "/api/auth/delete-user"),
        ("post", "/api/auth/request-password-reset"),
        ("get", "/api/auth/reset-password/{token}"),
        ("post", "/api/auth/reset-password"),
        ("post", "/api/auth/send-verification-email"),
        ("get", "/api/auth/verify-email"),
        ("post", "/api/auth/change-email"),
        ("get", "/api/auth/admin/list-users"),
        ("post", "/api/auth/admin/ban-user"),
        ("post", "/api/auth/admin/unban-user"),
        ("post", "/api/auth/admin/set-role"),
        ("get", "/api/auth/admin/audit-log"),
        ("post", "/api/auth/two-factor/enable"),
        ("post", "/api/auth/two-factor/disable"),
        ("post", "/api/auth/two-factor/get-totp-uri"),
        ("post", "/api/auth/two-factor/verify-totp"),
        ("post", "/api/auth/two-factor/generate-backup-codes"),
        ("post", "/api/auth/two-factor/verify-backup-code"),
    ];
    for (method, path) in operations {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is not in the document"
        );
    }
    let documented: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, operations.len(), "an operation nobody listed");
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "no-such-task"));
            let request = match method.as_str() {
                "get" => app.client.get(url),
                "post" => app.client.post(url),
                "patch" => app.client.patch(url),
                "delete" => app.client.delete(url),
                other => panic!("{other} {path}"),
            };
            let status = request.send().await.unwrap().status();
            assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn the_tasks_api_documents_its_bearer_token_limits_and_error_answers() {
    let app = TestApp::spawn().await;
    let document = document(&app).await;
    let list = &document["paths"]["/api/tasks"]["get"];
    let limit = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit is documented");
    assert_eq!(limit["schema"]["maximum"], 500);
    assert_eq!(limit["schema"]["minimum"], 1);
    assert!(list["security"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.get("bearer_jwt").is_some()));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer_jwt"]["scheme"], "bearer");
    assert_eq!(schemes["bearer_jwt"]["bearerFormat"], "JWT");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    for status in ["401", "403", "422", "500", "503"] {
        assert!(list["responses"][status].is_object(), "{status}");
    }
    let unauthorized = &document["components"]["responses"]["NotAuthenticated"];
    assert_eq!(
        unauthorized["headers"]["WWW-Authenticate"]["required"],
        true
    );
    let limited = &document["components"]["responses"]["TooManyRequests"];
    assert_eq!(limited["headers"]["Retry-After"]["required"], true);
}

#[tokio::test]
async fn swagger_ui_is_served_from_this_origin_under_the_site_policy() {
    let app = TestApp::spawn().await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    assert!(
        !html.contains("https://"),
        "nothing from another origin: {html}"
    );
    let initializer = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status(), StatusCode::OK);
    assert!(initializer.text().await.unwrap().contains("/openapi.json"));
    assert_eq!(
        app.get("/docs/swagger-ui-bundle.js").await.status(),
        StatusCode::OK
    );
    let stylesheet = app.get("/docs/docs.css").await;
    assert_eq!(stylesheet.status(), StatusCode::OK);
    assert!(stylesheet.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(
        app.get("/docs/no-such-file.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn api_docs_false_serves_neither_the_document_nor_the_page() {
    let app = TestApp::spawn_with(&[("API_DOCS", "false")]).await;
    assert_eq!(
        app.get("/openapi.json").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/docs/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}
