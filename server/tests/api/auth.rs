//! CONTRACT §5: Better Auth's email/password routes for non-browser clients.

use crate::support::*;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn sign_up_answers_a_session_token_and_the_user_and_sets_httponly_cookies() {
    let app = TestApp::spawn().await;
    let response = app
        .sign_up("Ada Lovelace", "Ada@Example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let names: Vec<&str> = cookies
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["better-auth.session_token", "access_token"],
        "the session and its access token"
    );
    for cookie in &cookies {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http site: {cookie}");
    }
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].as_str().is_some_and(|t| t.len() >= 32));
    let user = &body["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["image"], Value::Null);
    for key in ["id", "createdAt", "updatedAt"] {
        assert!(user[key].is_string(), "user lacks {key}");
    }
    assert!(user.get("passwordHash").is_none() && user.get("password_hash").is_none());
}

#[tokio::test]
async fn signing_up_twice_with_the_same_email_is_refused_as_better_auth_refuses_it() {
    let app = TestApp::spawn().await;
    app.sign_up("Ada", "ada@example.com", PASSWORD).await;
    let response = app.sign_up("Other Ada", "ADA@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
    assert!(body["detail"].is_string() && body["message"] == body["detail"]);
}

#[tokio::test]
async fn sign_up_with_bad_input_lists_every_bad_field() {
    let app = TestApp::spawn().await;
    let response = app.sign_up("", "not-an-email", "short").await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "as Better Auth answers it"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["code"], "INVALID_EMAIL",
        "the first bad field with a code of its own"
    );
    assert!(body["message"]
        .as_str()
        .is_some_and(|m| m.contains("valid email")));
    let detail = body["detail"].clone();
    let fields: Vec<&str> = detail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"][1].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email", "password"]);
    assert!(detail[0]["msg"].is_string() && detail[0]["type"].is_string());
}

#[tokio::test]
async fn sign_in_answers_redirect_false_a_session_token_and_the_user() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app.sign_in(&user.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::SET_COOKIE).is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["redirect"], false);
    assert_eq!(body["user"]["id"], user.id.as_str());
    assert_ne!(
        body["token"],
        user.session_token.as_str(),
        "each sign-in is a new session"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let wrong_password = app.sign_in(&user.email, "not the password").await;
    let unknown_email = app.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    let (a, b): (Value, Value) = (
        wrong_password.json().await.unwrap(),
        unknown_email.json().await.unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(a["code"], "INVALID_EMAIL_OR_PASSWORD");
    assert!(a["message"].is_string() && a["detail"].is_string());
}

#[tokio::test]
async fn get_session_returns_the_session_and_user_with_a_jwt_header() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app
        .auth_get("/api/auth/get-session", &user.session_token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let jwt = response.headers()["set-auth-jwt"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["id"], user.id.as_str());
    assert_eq!(body["session"]["userId"], user.id.as_str());
    assert_eq!(payload(&jwt)["sid"], body["session"]["id"]);
    assert_eq!(app.get_tasks(&jwt, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn get_session_without_a_session_is_null() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/auth/get-session"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), Value::Null);
}

#[tokio::test]
async fn the_session_cookie_works_like_the_bearer_session_token() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app
        .client
        .get(app.url("/api/auth/token"))
        .header(header::COOKIE, session_cookie(&user.session_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_token_route_issues_a_jwt_with_every_contract_claim() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let claims = payload(&user.jwt);
    for claim in [
        "sub", "email", "name", "iat", "exp", "iss", "aud", "jti", "sid",
    ] {
        assert!(claims.get(claim).is_some(), "missing {claim}");
    }
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    let header = user.jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
}

#[tokio::test]
async fn the_token_route_without_a_session_is_401() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/auth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&response), "Bearer");
}

#[tokio::test]
async fn sign_out_revokes_the_session_and_its_jwts_at_once() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let response = app
        .client
        .post(app.url("/api/auth/sign-out"))
        .bearer_auth(&user.session_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"success": true})
    );
    assert!(app.session(&user.session_token).await.is_none());
    let tasks = app.get_tasks(&user.jwt, "").await;
    assert_eq!(tasks.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(detail(tasks).await, "Session has ended");
}

#[tokio::test]
async fn jwks_has_no_keys_for_a_shared_secret() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/auth/jwks"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"keys": []}));
}

#[tokio::test]
async fn server_functions_refuse_calls_from_another_origin() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let sign_out = |origin: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/fn/sign-out"))
            .header(header::COOKIE, session_cookie(&user.session_token))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send()
    };
    for (origin, reason) in [
        (Some("https://evil.example"), "Cross-site request refused"),
        (Some("null"), "Missing or null Origin"),
        (None, "Missing or null Origin"),
    ] {
        let refused = sign_out(origin).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert_eq!(detail(refused).await, reason);
    }
    assert!(app.session(&user.session_token).await.is_some());

    let accepted = sign_out(Some(&app.base)).await.unwrap();
    assert!(accepted.status().is_success(), "{}", accepted.status());
    assert!(app.session(&user.session_token).await.is_none());
}

#[tokio::test]
async fn server_function_errors_carry_the_status_they_mean() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let sign_in = |accept: &'static str| {
        app.client
            .post(app.url("/fn/sign-in"))
            .header(header::ORIGIN, &app.base)
            .header(header::ACCEPT, accept)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!(
                "email={}&password=wrong+password",
                user.email.replace('@', "%40")
            ))
            .send()
    };
    let from_the_page = sign_in("application/json").await.unwrap();
    assert_eq!(from_the_page.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        from_the_page.text().await.unwrap(),
        "\"InvalidCredentials\""
    );

    let plain_form = sign_in("text/html").await.unwrap();
    assert_eq!(
        plain_form.status(),
        StatusCode::FOUND,
        "redirected back to the form"
    );
}

#[tokio::test]
async fn a_server_function_call_missing_an_argument_is_a_400_and_no_error_in_the_log() {
    let db = TestDatabase::fresh().await;
    let server = ServerProcess::start(&db.url, "info").await;
    let app = server.app();
    let without_password = app
        .client
        .post(app.url("/fn/sign-in"))
        .header(header::ORIGIN, &app.base)
        .header(header::ACCEPT, "application/json")
        .form(&[("email", "ada@example.com")])
        .send()
        .await
        .unwrap();
    assert_unreadable_arguments_refused(without_password).await;
    let logs = server.logs();
    assert!(!logs.contains("ERROR"), "{logs}");
    assert!(!logs.contains("missing field"), "{logs}");
}

#[tokio::test]
async fn signing_in_never_redirects_off_the_site_whatever_next_says() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/\r\nSet-Cookie: planted=1",
        "/tasks\x7f",
    ] {
        let response = app
            .post_form(
                "/fn/sign-in",
                "/sign-in",
                &[
                    ("email", &user.email),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert!(
            response.status().is_redirection(),
            "{next:?}: {}",
            response.status()
        );
        assert_eq!(location(&response), "/tasks", "{next:?}");
    }
    let kept = app
        .post_form(
            "/fn/sign-in",
            "/sign-in",
            &[
                ("email", &user.email),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(location(&kept), "/account");
}

#[tokio::test]
async fn emails_that_look_the_same_are_one_account() {
    let app = TestApp::spawn().await;
    let composed = app.sign_up("José", "jos\u{e9}@example.com", PASSWORD).await;
    assert_eq!(composed.status(), StatusCode::OK);
    let decomposed = app
        .sign_up("José", "JOSE\u{301}@Example.com", PASSWORD)
        .await;
    assert_eq!(decomposed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let signed_in = app.sign_in("jose\u{301}@example.com", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let punycode = app
        .sign_up("Ada", "ada@xn--bcher-kva.example", PASSWORD)
        .await;
    assert_eq!(punycode.status(), StatusCode::OK);
    let unicode = app
        .sign_up("Ada", "ada@b\u{fc}cher.example", PASSWORD)
        .await;
    assert_eq!(unicode.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn emails_and_names_with_control_or_invisible_characters_are_422_not_500() {
    let app = TestApp::spawn().await;
    for email in [
        "ada\0@example.com",
        "ada\u{1b}@example.com",
        "ada\u{202e}@example.com",
        "ad\u{200b}a@example.com",
    ] {
        for response in [
            app.sign_up("Ada", email, PASSWORD).await,
            app.sign_in(email, PASSWORD).await,
        ] {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{email:?}");
            assert_eq!(detail(response).await[0]["loc"][1], "email");
        }
    }
    let name = app.sign_up("Ada\0", "ada@example.com", PASSWORD).await;
    assert_eq!(name.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn answers_that_carry_a_token_are_never_cached() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    for response in [
        app.sign_up("Ada", "ada@example.com", PASSWORD).await,
        app.sign_in(&user.email, PASSWORD).await,
        app.auth_get("/api/auth/get-session", &user.session_token)
            .await,
        app.auth_get("/api/auth/token", &user.session_token).await,
        app.browser_refresh(&user.session_token).await,
    ] {
        assert_eq!(
            response
                .headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{}",
            response.url()
        );
    }
}

#[tokio::test]
async fn pages_are_never_cached_for_the_next_person_at_the_machine() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    for path in [
        "/account",
        "/tasks",
        "/reset-password?token=an-emailed-token",
        "/confirm-email?token=an-emailed-token",
        "/email-verified",
        "/sign-in",
    ] {
        let page = app
            .client
            .get(app.url(path))
            .header(header::COOKIE, session_cookie(&user.session_token))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store", "{path}");
        if path == "/account" {
            let html = page.text().await.unwrap();
            assert!(html.contains(&user.email), "made for this person: {path}");
        }
    }
}

#[tokio::test]
async fn over_https_the_access_cookie_is_host_prefixed() {
    let app = TestApp::spawn_with(&[("BETTER_AUTH_URL", "https://tasks.example.com")]).await;
    let response = app.sign_up("Ada", "ada@example.com", PASSWORD).await;
    let cookies: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let access = cookies
        .iter()
        .find(|c| c.starts_with("__Host-access_token="))
        .unwrap_or_else(|| panic!("no __Host- access cookie in {cookies:?}"));
    assert!(
        access.contains("Secure") && access.contains("Path=/"),
        "{access}"
    );
    assert!(!access.to_lowercase().contains("domain="), "{access}");
    let jwt = set_cookie(&response, "__Host-access_token").unwrap();
    let with = |cookie: String| {
        app.client
            .get(app.url("/api/tasks"))
            .header(header::COOKIE, cookie)
            .send()
    };
    assert_eq!(
        with(format!("__Host-access_token={jwt}"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        with(format!("access_token={jwt}")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "over https only the prefixed name is read"
    );
}
