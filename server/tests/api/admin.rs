//! Roles, disabled users and the audit log, through Better Auth's admin routes.

use crate::{
    email::verified_user,
    support::{claims_for, detail, mint, payload, TestApp, TestDatabase, ADMIN_EMAIL, PASSWORD},
};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn app_with_admin() -> (TestApp, crate::support::TestUser) {
    let app = TestApp::spawn_with(&[("REFRESH_REUSE_INTERVAL", "0")]).await;
    let admin = app.admin(&app.database_url).await;
    (app, admin)
}

async fn admin_post(app: &TestApp, session: &str, route: &str, body: Value) -> reqwest::Response {
    app.auth_post(&format!("/api/auth/admin/{route}"), session, &body)
        .await
}

#[tokio::test]
async fn admins_list_users_and_everyone_else_is_refused_admin_routes() {
    let (app, admin) = app_with_admin().await;
    assert_eq!(payload(&admin.jwt)["role"], "admin");
    let user = app.new_user().await;
    assert_eq!(payload(&user.jwt)["role"], "user");

    let listed = app
        .auth_get("/api/auth/admin/list-users", &admin.session_token)
        .await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["users"][0]["role"], "admin");
    assert_eq!(listed["users"][1]["banned"], false);

    let target = json!({ "userId": admin.id });
    for response in [
        app.auth_get("/api/auth/admin/list-users", &user.session_token)
            .await,
        app.auth_get("/api/auth/admin/audit-log", &user.session_token)
            .await,
        admin_post(&app, &user.session_token, "ban-user", target.clone()).await,
        admin_post(&app, &user.session_token, "unban-user", target.clone()).await,
        admin_post(
            &app,
            &user.session_token,
            "set-role",
            json!({ "userId": user.id, "role": "admin" }),
        )
        .await,
    ] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(detail(response).await, "Admins only");
    }
    let anonymous = app
        .client
        .get(app.url("/api/auth/admin/list-users"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_disabled_user_gets_403_from_the_api_at_once_and_cannot_sign_in() {
    let (app, admin) = app_with_admin().await;
    let user = app.new_user().await;
    app.create_task(&user.jwt, "before").await;

    let banned = admin_post(
        &app,
        &admin.session_token,
        "ban-user",
        json!({ "userId": user.id, "banReason": "spam" }),
    )
    .await;
    assert_eq!(banned.status(), StatusCode::OK);
    let banned: Value = banned.json().await.unwrap();
    assert_eq!(banned["user"]["banned"], true);
    assert_eq!(banned["user"]["banReason"], "spam");

    let refused = app.get_tasks(&user.jwt, "").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({"detail": "User disabled", "code": "BANNED_USER", "message": "User disabled"})
    );
    assert!(
        app.session(&user.session_token).await.is_none(),
        "sessions revoked"
    );
    let sign_in = app.sign_in(&user.email, PASSWORD).await;
    assert_eq!(sign_in.status(), StatusCode::FORBIDDEN);
    assert_eq!(detail(sign_in).await, "This account has been disabled");

    let unbanned = admin_post(
        &app,
        &admin.session_token,
        "unban-user",
        json!({ "userId": user.id }),
    )
    .await;
    assert_eq!(
        unbanned.json::<Value>().await.unwrap()["user"]["banned"],
        false
    );
    assert_eq!(
        app.sign_in(&user.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_admin_changes_roles_but_not_their_own() {
    let (app, admin) = app_with_admin().await;
    let user = app.new_user().await;
    let promoted = admin_post(
        &app,
        &admin.session_token,
        "set-role",
        json!({ "userId": user.id, "role": "admin" }),
    )
    .await;
    assert_eq!(
        promoted.json::<Value>().await.unwrap()["user"]["role"],
        "admin"
    );
    assert_eq!(
        payload(&app.jwt_for(&user.session_token).await)["role"],
        "admin"
    );
    let now_allowed = app
        .auth_get("/api/auth/admin/list-users", &user.session_token)
        .await;
    assert_eq!(now_allowed.status(), StatusCode::OK);

    let own = admin_post(
        &app,
        &admin.session_token,
        "set-role",
        json!({ "userId": admin.id, "role": "user" }),
    )
    .await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let own_ban = admin_post(
        &app,
        &admin.session_token,
        "ban-user",
        json!({ "userId": admin.id }),
    )
    .await;
    assert_eq!(
        own_ban.status(),
        StatusCode::BAD_REQUEST,
        "as Better Auth answers it"
    );
    assert_eq!(
        own_ban.json::<Value>().await.unwrap()["code"],
        "YOU_CANNOT_BAN_YOURSELF"
    );
    let bad_role = admin_post(
        &app,
        &admin.session_token,
        "set-role",
        json!({ "userId": user.id, "role": "root" }),
    )
    .await;
    assert_eq!(bad_role.status(), StatusCode::BAD_REQUEST);
    let nobody = admin_post(
        &app,
        &admin.session_token,
        "ban-user",
        json!({ "userId": "nobody" }),
    )
    .await;
    assert_eq!(nobody.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_authentication_event_is_in_the_audit_log() {
    let (app, admin) = app_with_admin().await;
    let user = app.new_user().await;
    app.sign_in(&user.email, "not the password").await;
    let second_session = app.another_session(&user).await;
    let rotated = app.browser_refresh(&second_session).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let current = crate::support::session_token_set(&rotated).unwrap();
    app.auth_get("/api/auth/get-session", &current).await;
    app.browser_refresh(&second_session).await;
    let mut forged = claims_for(&user.id, "no-such-session");
    forged["iss"] = json!("https://someone-else.example");
    app.get_tasks(&mint(&forged), "").await;
    app.get_tasks(&format!("{}x", user.jwt), "").await;
    let third: Value = app
        .sign_in(&user.email, PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    app.auth_post(
        "/api/auth/sign-out",
        third["token"].as_str().unwrap(),
        &json!({}),
    )
    .await;
    app.auth_post(
        "/api/auth/revoke-other-sessions",
        &user.session_token,
        &json!({}),
    )
    .await;
    admin_post(
        &app,
        &admin.session_token,
        "set-role",
        json!({ "userId": user.id, "role": "admin" }),
    )
    .await;
    admin_post(
        &app,
        &admin.session_token,
        "ban-user",
        json!({ "userId": user.id }),
    )
    .await;
    admin_post(
        &app,
        &admin.session_token,
        "unban-user",
        json!({ "userId": user.id }),
    )
    .await;

    let all = app
        .audit_events(
            &admin.session_token,
            &format!("user={}&limit=1000", user.email),
        )
        .await;
    let seen = |event: &str, outcome: &str| {
        all.iter()
            .filter(|e| e["event"] == event && e["outcome"] == outcome)
            .cloned()
            .collect::<Vec<_>>()
    };
    for (event, outcome) in [
        ("sign_up", "success"),
        ("sign_in", "success"),
        ("sign_in", "failure"),
        ("sign_out", "success"),
        ("session_revoked", "success"),
        ("role_changed", "success"),
        ("user_disabled", "success"),
        ("user_enabled", "success"),
    ] {
        assert!(
            !seen(event, outcome).is_empty(),
            "no {outcome} {event} event"
        );
    }
    // A routine refresh (one a minute per client at most) is not audited: the reuse
    // it gives away is, below.
    assert_eq!(
        seen("refresh", "success"),
        Vec::<Value>::new(),
        "a routine refresh writes no audit row"
    );
    let failure = &seen("sign_in", "failure")[0];
    assert_eq!(failure["detail"], "wrong password");
    assert_eq!(failure["ipAddress"], "127.0.0.1");
    assert!(all
        .iter()
        .all(|e| !e.to_string().contains(PASSWORD) && !e.to_string().contains("not the password")));

    let reuse = app
        .audit_events(&admin.session_token, "event=refresh_reuse_detected")
        .await;
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0]["userId"], json!(user.id));
    let rejected = app
        .audit_events(&admin.session_token, "event=token_rejected")
        .await;
    let details: Vec<&str> = rejected
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        details.iter().any(|d| d.ends_with("Invalid token issuer")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.ends_with("Invalid token signature")),
        "{details:?}"
    );
    let failures = app
        .audit_events(&admin.session_token, "outcome=failure")
        .await;
    assert!(failures.iter().all(|e| e["outcome"] == "failure"));
    let bad_filter = app
        .auth_get(
            "/api/auth/admin/audit-log?event=nonsense",
            &admin.session_token,
        )
        .await;
    assert_eq!(bad_filter.status(), StatusCode::BAD_REQUEST);
}

/// `server make-admin` with these arguments, on this database.
fn make_admin_command(database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("make-admin")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the server binary runs")
}

#[tokio::test]
async fn the_make_admin_command_promotes_an_existing_user() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let user = verified_user(&app).await;
    let made = make_admin_command(&db.url, &[&user.email.to_uppercase()]);
    assert!(made.status.success(), "{made:?}");
    let listed = app
        .auth_get("/api/auth/admin/list-users", &user.session_token)
        .await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(
        payload(&app.jwt_for(&user.session_token).await)["role"],
        "admin"
    );

    let unknown = make_admin_command(&db.url, &["nobody@example.com"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("User not found"));
}

#[tokio::test]
async fn the_make_admin_command_refuses_an_unverified_address_unless_told() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    // Signed up with an address nobody has shown they own: the operator's, say.
    let squatter = app.new_user().await;
    let refused = make_admin_command(&db.url, &[&squatter.email]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("not verified") && said.contains("--unverified"),
        "{said}"
    );
    let listed = app
        .auth_get("/api/auth/admin/list-users", &squatter.session_token)
        .await;
    assert_eq!(listed.status(), StatusCode::FORBIDDEN, "not an admin");

    let known = app.new_user().await;
    for (user, args) in [
        (&squatter, ["--unverified", squatter.email.as_str()]),
        (&known, [known.email.as_str(), "--unverified"]),
    ] {
        let made = make_admin_command(&db.url, &args);
        assert!(made.status.success(), "{args:?}: {made:?}");
        let listed = app
            .auth_get("/api/auth/admin/list-users", &user.session_token)
            .await;
        assert_eq!(listed.status(), StatusCode::OK, "{args:?}");
    }

    let usage = make_admin_command(&db.url, &["--unverified"]);
    assert!(!usage.status.success());
    assert!(String::from_utf8_lossy(&usage.stderr).contains("make-admin [--unverified] <email>"));
}

#[tokio::test]
async fn an_address_listed_in_admin_emails_signs_up_as_a_plain_user() {
    // Whoever registers a listed address first would otherwise own the site.
    let app = TestApp::spawn_with(&[("ADMIN_EMAILS", ADMIN_EMAIL)]).await;
    let response = app.sign_up("Boss?", ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["role"], "user");
    let session = body["token"].as_str().unwrap();
    assert_eq!(payload(&app.jwt_for(session).await)["role"], "user");
    let listed = app.auth_get("/api/auth/admin/list-users", session).await;
    assert_eq!(listed.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admins_search_filter_sort_and_page_the_user_list_as_better_auths_client_asks() {
    let (app, admin) = app_with_admin().await;
    for email in ["bea@example.com", "bob@example.org", "cy_100%@example.com"] {
        app.user_with_email(email).await;
    }
    let list = |query: &'static str| {
        let app = &app;
        let session = admin.session_token.clone();
        async move {
            let response = app
                .auth_get(&format!("/api/auth/admin/list-users?{query}"), &session)
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{query}");
            let body: Value = response.json().await.unwrap();
            let emails: Vec<String> = body["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned())
                .collect();
            (emails, body)
        }
    };
    let (found, body) = list("searchValue=B&searchField=email&searchOperator=starts_with").await;
    assert_eq!(found, ["bea@example.com", "bob@example.org"]);
    assert_eq!(body["total"], 2);
    let (found, _) = list("searchValue=.org&searchOperator=ends_with").await;
    assert_eq!(found, ["bob@example.org"]);
    let (found, _) = list("searchValue=_100%25").await;
    assert_eq!(found, ["cy_100%@example.com"], "% and _ match themselves");
    let (found, _) = list("filterField=role&filterValue=admin").await;
    assert_eq!(found, [ADMIN_EMAIL]);
    let (found, _) = list(
        "filterField=role&filterValue=admin&filterOperator=ne&sortBy=email&sortDirection=desc",
    )
    .await;
    assert_eq!(
        found,
        ["cy_100%@example.com", "bob@example.org", "bea@example.com"]
    );
    let (found, body) = list("sortBy=email&limit=2&offset=1").await;
    assert_eq!(found, ["bea@example.com", "bob@example.org"]);
    assert_eq!(
        (
            body["total"].clone(),
            body["limit"].clone(),
            body["offset"].clone()
        ),
        (json!(4), json!(2), json!(1))
    );
    let (_, unpaged) = list("").await;
    assert!(unpaged.get("limit").is_none() && unpaged.get("offset").is_none());

    let refused = app
        .auth_get(
            "/api/auth/admin/list-users?sortBy=password_hash",
            &admin.session_token,
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(detail(refused).await[0]["loc"], json!(["query", "sortBy"]));
}
