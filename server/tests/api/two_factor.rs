//! Second factors on Better Auth's `twoFactor` routes: turning them on with a first code,
//! every sign-in path waiting for a code, codes accepted once, backup codes, the attempt
//! limit, trusted browsers, and `amr` in the tokens. Codes are computed here from the
//! secret in the `otpauth://` URI, as an authenticator app computes them.

use crate::support::{code, location, payload, set_cookie, TestApp, TestUser, PASSWORD};
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const TWO_FACTOR_COOKIE: &str = "better-auth.two_factor";
const TRUST_COOKIE: &str = "better-auth.trust_device";

/// A user's authenticator app: the secret from the URI it was given.
struct App {
    secret: Vec<u8>,
}

impl App {
    fn from_uri(uri: &str) -> Self {
        let url = url::Url::parse(uri).expect("an otpauth URI");
        assert_eq!(url.scheme(), "otpauth");
        let secret = url
            .query_pairs()
            .find(|(k, _)| k == "secret")
            .map(|(_, v)| v.into_owned())
            .expect("a secret");
        let secret = totp_rs::Secret::Encoded(secret).to_bytes().expect("base32");
        Self { secret }
    }

    /// The code the app shows at the app's time, `steps` periods from now.
    fn code(&self, app: &TestApp, steps: i64) -> String {
        let totp =
            totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, self.secret.clone()).unwrap();
        let at = app.now().unix_secs() + steps * 30;
        totp.generate(u64::try_from(at).unwrap())
    }
}

/// A post from a page of the site, as a browser sends it: its cookies and its `Origin`.
async fn post_with_cookie(app: &TestApp, path: &str, cookie: &str, body: &Value) -> Response {
    reqwest::Client::new()
        .post(app.url(path))
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, app.url(""))
        .json(body)
        .send()
        .await
        .expect("request")
}

/// Turns second factors on for `user` with a first code: the app and the backup codes,
/// and the new session the confirmation started.
async fn enabled(app: &TestApp, user: &TestUser) -> (App, Vec<String>, String) {
    let response = app
        .auth_post(
            "/api/auth/two-factor/enable",
            &user.session_token,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let authenticator = App::from_uri(body["totpURI"].as_str().unwrap());
    let codes: Vec<String> = serde_json::from_value(body["backupCodes"].clone()).unwrap();
    let confirmed = app
        .auth_post(
            "/api/auth/two-factor/verify-totp",
            &user.session_token,
            &json!({"code": authenticator.code(app, 0)}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body: Value = confirmed.json().await.unwrap();
    assert_eq!(body["user"]["twoFactorEnabled"], true);
    let session = body["token"].as_str().unwrap().to_owned();
    (authenticator, codes, session)
}

/// Signs in with the password: the `two_factor` cookie of the sign-in that waits.
async fn waiting_sign_in(app: &TestApp, user: &TestUser) -> String {
    let response = app.sign_in(&user.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        set_cookie(&response, "better-auth.session_token").is_none(),
        "no session before the second factor"
    );
    assert!(set_cookie(&response, "access_token").is_none());
    let cookie = set_cookie(&response, TWO_FACTOR_COOKIE).expect("the two_factor cookie");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"twoFactorRedirect": true, "twoFactorMethods": ["totp"]})
    );
    format!("{TWO_FACTOR_COOKIE}={cookie}")
}

#[tokio::test]
async fn turning_it_on_takes_the_password_and_a_first_code_and_then_sign_in_waits_for_one() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let wrong = app
        .auth_post(
            "/api/auth/two-factor/enable",
            &user.session_token,
            &json!({"password": "not the password"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(wrong).await, "INVALID_PASSWORD");

    let started = app
        .auth_post(
            "/api/auth/two-factor/enable",
            &user.session_token,
            &json!({"password": PASSWORD, "issuer": "Acme tasks"}),
        )
        .await;
    assert_eq!(started.status(), StatusCode::OK);
    let body: Value = started.json().await.unwrap();
    let uri = body["totpURI"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Acme%20tasks:"), "{uri}");
    assert_eq!(body["backupCodes"].as_array().unwrap().len(), 10);
    // Not on until a code from the app was accepted: a sign-in still gets a session.
    assert_eq!(
        app.user_of(&user.session_token).await.two_factor_enabled,
        Some(false)
    );
    assert_eq!(
        app.sign_in(&user.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let authenticator = App::from_uri(uri);
    let confirmed = app
        .auth_post(
            "/api/auth/two-factor/verify-totp",
            &user.session_token,
            &json!({"code": authenticator.code(&app, 0)}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body: Value = confirmed.json().await.unwrap();
    let new_session = body["token"].as_str().unwrap();
    assert!(app.session(&user.session_token).await.is_none(), "replaced");
    assert_eq!(
        app.sessions_of(new_session).await.len(),
        1,
        "the password-only sessions are over"
    );
    let again = app
        .auth_post(
            "/api/auth/two-factor/enable",
            new_session,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(code(again).await, "TOTP_ALREADY_ENABLED");
    let notice = app.mail.message_to(&user.email).await;
    assert_eq!(
        notice.subject,
        "Two-factor sign-in is on for your Taskboard account"
    );
    assert!(
        notice.text.contains("someone has your password"),
        "{}",
        notice.text
    );

    let waiting = waiting_sign_in(&app, &user).await;
    app.advance(Duration::from_secs(30));
    let passed = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &waiting,
        &json!({"code": authenticator.code(&app, 0)}),
    )
    .await;
    assert_eq!(passed.status(), StatusCode::OK);
    assert_eq!(
        set_cookie(&passed, TWO_FACTOR_COOKIE).as_deref(),
        Some(""),
        "the waiting sign-in's cookie is deleted"
    );
    let body: Value = passed.json().await.unwrap();
    let session = body["token"].as_str().unwrap();
    let jwt = app.jwt_for(session).await;
    assert_eq!(payload(&jwt)["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(app.get_tasks(&jwt, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_code_is_accepted_once_even_inside_its_window() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (authenticator, _, _) = enabled(&app, &user).await;
    // The first code confirmed the app; the next step's code signs in once.
    let next = authenticator.code(&app, 1);
    let first = waiting_sign_in(&app, &user).await;
    let passed = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &first,
        &json!({"code": next}),
    )
    .await;
    assert_eq!(passed.status(), StatusCode::OK);
    let second = waiting_sign_in(&app, &user).await;
    let replayed = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &second,
        &json!({"code": next}),
    )
    .await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(replayed).await, "INVALID_CODE");
    let older = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &second,
        &json!({"code": authenticator.code(&app, 0)}),
    )
    .await;
    assert_eq!(
        code(older).await,
        "INVALID_CODE",
        "older than the last accepted"
    );
}

#[tokio::test]
async fn a_backup_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (_, codes, _) = enabled(&app, &user).await;
    let waiting = waiting_sign_in(&app, &user).await;
    let passed = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-backup-code",
        &waiting,
        &json!({"code": codes[3]}),
    )
    .await;
    assert_eq!(passed.status(), StatusCode::OK);
    let waiting = waiting_sign_in(&app, &user).await;
    let reused = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-backup-code",
        &waiting,
        &json!({"code": codes[3]}),
    )
    .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(reused).await, "INVALID_CODE");
    let another = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-backup-code",
        &waiting,
        &json!({"code": codes[4]}),
    )
    .await;
    assert_eq!(another.status(), StatusCode::OK);
}

#[tokio::test]
async fn new_backup_codes_replace_the_old_ones() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (_, old, session) = enabled(&app, &user).await;
    let response = app
        .auth_post(
            "/api/auth/two-factor/generate-backup-codes",
            &session,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let new: Vec<String> = serde_json::from_value(body["backupCodes"].clone()).unwrap();
    let waiting = waiting_sign_in(&app, &user).await;
    let stale = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-backup-code",
        &waiting,
        &json!({"code": old[0]}),
    )
    .await;
    assert_eq!(code(stale).await, "INVALID_CODE");
    let fresh = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-backup-code",
        &waiting,
        &json!({"code": new[0]}),
    )
    .await;
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[tokio::test]
async fn five_wrong_codes_end_the_sign_in() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "100/1m")]).await;
    let user = app.new_user().await;
    let (authenticator, _, _) = enabled(&app, &user).await;
    let waiting = waiting_sign_in(&app, &user).await;
    for attempt in 1..=4 {
        let wrong = post_with_cookie(
            &app,
            "/api/auth/two-factor/verify-totp",
            &waiting,
            &json!({"code": "000000"}),
        )
        .await;
        assert_eq!(
            wrong.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let fifth = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &waiting,
        &json!({"code": "000000"}),
    )
    .await;
    assert_eq!(fifth.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(fifth).await, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE");
    let right_too_late = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &waiting,
        &json!({"code": authenticator.code(&app, 1)}),
    )
    .await;
    assert_eq!(right_too_late.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(right_too_late).await, "INVALID_TWO_FACTOR_COOKIE");
}

#[tokio::test]
async fn a_stranger_guessing_codes_is_refused_and_the_owner_is_not() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (authenticator, _, _) = enabled(&app, &user).await;
    // Someone who has the password guesses codes from another address, sign-in after
    // sign-in, until that address is refused the account.
    let mut refused = false;
    for _ in 0..6 {
        let response = app
            .sign_in_from([127, 0, 0, 2], &user.email, PASSWORD)
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        let cookie = set_cookie(&response, TWO_FACTOR_COOKIE).expect("waiting");
        for _ in 0..5 {
            let guess = post_with_cookie(
                &app,
                "/api/auth/two-factor/verify-totp",
                &format!("{TWO_FACTOR_COOKIE}={cookie}"),
                &json!({"code": "123456"}),
            )
            .await;
            if guess.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = true;
            }
        }
    }
    assert!(refused, "the guessing address is refused the account");
    // The owner, elsewhere, signs in with the password and a code.
    let response = app
        .sign_in_from([127, 0, 0, 3], &user.email, PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, TWO_FACTOR_COOKIE).expect("waiting");
    let passed = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 3]))
        .build()
        .unwrap()
        .post(app.url("/api/auth/two-factor/verify-totp"))
        .header(header::COOKIE, format!("{TWO_FACTOR_COOKIE}={cookie}"))
        .json(&json!({"code": authenticator.code(&app, 1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_trusted_browser_skips_the_code_until_the_password_changes() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (authenticator, _, session) = enabled(&app, &user).await;
    let waiting = waiting_sign_in(&app, &user).await;
    let passed = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &waiting,
        &json!({"code": authenticator.code(&app, 1), "trustDevice": true}),
    )
    .await;
    assert_eq!(passed.status(), StatusCode::OK);
    let trust = set_cookie(&passed, TRUST_COOKIE).expect("the trust_device cookie");
    let trusted = |app: &TestApp| {
        let cookie = format!("{TRUST_COOKIE}={trust}");
        let url = app.url("/api/auth/sign-in/email");
        let email = user.email.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .header(header::COOKIE, cookie)
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
        }
    };
    let direct = trusted(&app).await;
    assert!(set_cookie(&direct, "better-auth.session_token").is_some());
    let body: Value = direct.json().await.unwrap();
    assert!(body["token"].is_string(), "{body}");
    let jwt = app.jwt_for(body["token"].as_str().unwrap()).await;
    assert_eq!(payload(&jwt)["amr"], json!(["pwd"]), "the password alone");

    let changed = app
        .auth_post(
            "/api/auth/change-password",
            &session,
            &json!({"currentPassword": PASSWORD, "newPassword": "another long passphrase"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let after = reqwest::Client::new()
        .post(app.url("/api/auth/sign-in/email"))
        .header(header::COOKIE, format!("{TRUST_COOKIE}={trust}"))
        .json(&json!({"email": user.email, "password": "another long passphrase"}))
        .send()
        .await
        .unwrap();
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["twoFactorRedirect"], true, "no longer trusted");
}

#[tokio::test]
async fn turning_it_off_takes_the_password_and_sign_in_needs_the_password_alone_again() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (_, _, session) = enabled(&app, &user).await;
    let wrong = app
        .auth_post(
            "/api/auth/two-factor/disable",
            &session,
            &json!({"password": "nope"}),
        )
        .await;
    assert_eq!(code(wrong).await, "INVALID_PASSWORD");
    let off = app
        .auth_post(
            "/api/auth/two-factor/disable",
            &session,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(off.status(), StatusCode::OK);
    assert_eq!(off.json::<Value>().await.unwrap(), json!({"status": true}));
    let notices = app.mail.messages_to(&user.email, 2).await;
    assert_eq!(
        notices[1].subject,
        "Two-factor sign-in is off for your Taskboard account"
    );
    let response = app.sign_in(&user.email, PASSWORD).await;
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].is_string(), "{body}");
    assert_eq!(body["user"]["twoFactorEnabled"], false);
}

#[tokio::test]
async fn the_sign_in_form_waits_for_a_code_with_and_without_wasm() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (authenticator, _, _) = enabled(&app, &user).await;
    let response = app
        .post_form(
            "/fn/sign-in",
            "/sign-in",
            &[
                ("email", &user.email),
                ("password", PASSWORD),
                ("next", "/tasks"),
            ],
        )
        .await;
    assert!(response.status().is_redirection());
    assert_eq!(location(&response), "/two-factor?next=%2Ftasks");
    assert!(set_cookie(&response, "better-auth.session_token").is_none());
    let waiting = set_cookie(&response, TWO_FACTOR_COOKIE).expect("waiting");
    let passed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/fn/verify-two-factor"))
        .header(header::COOKIE, format!("{TWO_FACTOR_COOKIE}={waiting}"))
        .header(header::ORIGIN, app.url(""))
        .header(header::REFERER, app.url("/two-factor?next=%2Ftasks"))
        .header(header::ACCEPT, "text/html")
        .form(&[
            ("code", authenticator.code(&app, 1).as_str()),
            ("method", "totp"),
            ("next", "/tasks"),
        ])
        .send()
        .await
        .unwrap();
    assert!(passed.status().is_redirection(), "{}", passed.status());
    assert_eq!(location(&passed), "/tasks");
    assert!(set_cookie(&passed, "better-auth.session_token").is_some());
}

#[tokio::test]
async fn a_password_only_session_says_so_in_its_tokens() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    assert_eq!(payload(&user.jwt)["amr"], json!(["pwd"]));
}

#[tokio::test]
async fn with_require_mfa_for_admins_an_admin_needs_a_session_begun_with_a_second_factor() {
    let app = TestApp::spawn_with(&[("REQUIRE_MFA_FOR_ADMINS", "true")]).await;
    let admin = app.admin(&app.database_url).await;
    let refused = app
        .auth_get("/api/auth/admin/list-users", &admin.session_token)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "SECOND_FACTOR_REQUIRED");
    assert!(
        body["message"].as_str().unwrap().contains("two-factor"),
        "says what to do: {body}"
    );
    let (_, _, session) = enabled(&app, &admin).await;
    let allowed = app.auth_get("/api/auth/admin/list-users", &session).await;
    assert_eq!(allowed.status(), StatusCode::OK);

    // Without the setting, a password-only admin session is enough.
    let relaxed = TestApp::spawn().await;
    let admin = relaxed.admin(&relaxed.database_url).await;
    let allowed = relaxed
        .auth_get("/api/auth/admin/list-users", &admin.session_token)
        .await;
    assert_eq!(allowed.status(), StatusCode::OK);
}

#[tokio::test]
async fn codes_sent_at_once_get_no_more_than_five_tries() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "100/1m")]).await;
    let user = app.new_user().await;
    enabled(&app, &user).await;
    let waiting = waiting_sign_in(&app, &user).await;
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (url, cookie) = (app.url("/api/auth/two-factor/verify-totp"), waiting.clone());
        guesses.spawn(async move {
            let response = reqwest::Client::new()
                .post(url)
                .header(header::COOKIE, cookie)
                .json(&json!({"code": format!("{:06}", 100_000 + n)}))
                .send()
                .await
                .unwrap();
            code(response).await
        });
    }
    let codes = guesses.join_all().await;
    let tried = codes
        .iter()
        .filter(|c| *c == "INVALID_CODE" || *c == "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE")
        .count();
    assert_eq!(tried, 5, "{codes:?}");
    assert!(
        codes.iter().all(|c| c != "INTERNAL_SERVER_ERROR"),
        "{codes:?}"
    );
}

#[tokio::test]
async fn wrong_codes_in_a_session_are_limited_like_sign_ins() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (_, _, session) = enabled(&app, &user).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let response = app
            .auth_post(
                "/api/auth/two-factor/verify-totp",
                &session,
                &json!({"code": "000000"}),
            )
            .await;
        statuses.push(response.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_apps_key_is_shown_again_only_to_a_session_begun_with_it() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (authenticator, _, session) = enabled(&app, &user).await;
    let shown = app
        .auth_post(
            "/api/auth/two-factor/get-totp-uri",
            &session,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(shown.status(), StatusCode::OK);
    // A browser trusted to skip the code has a session begun with the password alone.
    let waiting = waiting_sign_in(&app, &user).await;
    let passed = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &waiting,
        &json!({"code": authenticator.code(&app, 1), "trustDevice": true}),
    )
    .await;
    let trust = set_cookie(&passed, TRUST_COOKIE).unwrap();
    let signed_in = reqwest::Client::new()
        .post(app.url("/api/auth/sign-in/email"))
        .header(header::COOKIE, format!("{TRUST_COOKIE}={trust}"))
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: Value = signed_in.json().await.unwrap();
    let password_only = body["token"].as_str().unwrap();
    let refused = app
        .auth_post(
            "/api/auth/two-factor/get-totp-uri",
            password_only,
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(refused).await, "SECOND_FACTOR_REQUIRED");
}

#[tokio::test]
async fn a_waiting_sign_in_finishes_in_a_browser_signed_in_as_someone_else() {
    let app = TestApp::spawn().await;
    let someone = app.new_user().await;
    let user = app.new_user().await;
    let (authenticator, _, _) = enabled(&app, &user).await;
    let waiting = waiting_sign_in(&app, &user).await;
    let cookies = format!(
        "{waiting}; {}",
        crate::support::session_cookie(&someone.session_token)
    );
    let passed = post_with_cookie(
        &app,
        "/api/auth/two-factor/verify-totp",
        &cookies,
        &json!({"code": authenticator.code(&app, 1)}),
    )
    .await;
    assert_eq!(passed.status(), StatusCode::OK);
    let body: Value = passed.json().await.unwrap();
    assert_eq!(body["user"]["id"], user.id.as_str());
}

#[tokio::test]
async fn strangers_failing_on_the_account_do_not_keep_its_owner_from_the_code_step() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "3/1m")]).await;
    let user = app.new_user().await;
    let (authenticator, _, _) = enabled(&app, &user).await;
    // Wrong passwords from two addresses, past the allowance: the account is soft-locked
    // for every client that has been failing on it.
    for address in [[127, 0, 0, 4], [127, 0, 0, 5]] {
        for _ in 0..4 {
            app.sign_in_from(address, &user.email, "a wrong guess")
                .await;
        }
    }
    let owner = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 6]))
        .build()
        .unwrap();
    let response = owner
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, TWO_FACTOR_COOKIE).expect("waiting");
    let passed = owner
        .post(app.url("/api/auth/two-factor/verify-totp"))
        .header(header::COOKIE, format!("{TWO_FACTOR_COOKIE}={cookie}"))
        .json(&json!({"code": authenticator.code(&app, 1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), StatusCode::OK);
}
