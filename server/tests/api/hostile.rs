//! What attackers try: password guessing, floods, oversized and random input.

use crate::support::{
    detail, location, session_cookie, set_cookie, ServerProcess, TestApp, TestDatabase, PASSWORD,
    SECRET,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use reqwest::{header, Response, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds")
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_gets_429_and_the_owner_gets_back_in_after_the_window() {
    // The window must outlast the four attempts even when the whole suite shares the
    // hashing thread: with 2 s, a busy run let the window end before the fourth.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "3/6s")]).await;
    let owner = app.new_user().await;
    for _ in 0..3 {
        let guess = app.sign_in(&owner.email, "not the password").await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }

    let locked = app.sign_in(&owner.email, PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&locked);
    assert!((1..=6).contains(&wait), "Retry-After: {wait}");
    assert!(detail(locked)
        .await
        .as_str()
        .unwrap()
        .starts_with("Too many attempts"));

    app.advance(Duration::from_secs(wait));
    let back = app.sign_in(&owner.email, PASSWORD).await;
    assert_eq!(back.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_limited() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_SIGN_IN", "4/1m")]).await;
    for i in 0..4 {
        let guess = app
            .sign_in(&format!("victim-{i}@example.com"), "password guess")
            .await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = app.sign_in("victim-5@example.com", "password guess").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=60).contains(&retry_after(&refused)));
}

#[tokio::test]
async fn sign_ups_and_refreshes_from_one_address_are_limited() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_SIGN_UP", "2/1m"),
        ("RATE_LIMIT_REFRESH", "2/1m"),
    ])
    .await;
    let user = app.new_user().await;
    app.new_user().await;
    let third = app.sign_up("Third", "third@example.com", PASSWORD).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);

    let refresh = app.auth_get("/api/auth/token", &user.session_token).await;
    assert_eq!(
        refresh.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "each new user fetched one JWT already"
    );
    assert!(retry_after(&refresh) >= 1);
}

#[tokio::test]
async fn an_unknown_email_costs_about_as_much_time_as_a_wrong_password() {
    // A bound that a loaded machine cannot break: load only ever adds time, so the
    // fastest of several tries is each path's own cost. Both verify an argon2 hash
    // (about 10 ms here), so their fastest are close; an unknown email that skipped the
    // dummy hash would take well under a millisecond, a ratio near 0.03. The upper side
    // is not checked: two equal hashes can differ by anything under load.
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let (mut wrong_password, mut unknown_email) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let started = Instant::now();
        let response = app.sign_in(&user.email, "wrong password").await;
        wrong_password.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let started = Instant::now();
        let response = app.sign_in("nobody@example.com", "wrong password").await;
        unknown_email.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let fastest = |times: &[Duration]| times.iter().min().copied().unwrap_or_default();
    let (known, unknown) = (fastest(&wrong_password), fastest(&unknown_email));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    eprintln!("fastest sign-in: wrong password {known:?}, unknown email {unknown:?} ({ratio:.2})");
    assert!(
        ratio >= 0.25,
        "an unknown email ({unknown:?}) is answered far faster than a wrong password \
         ({known:?}): does it still verify the dummy hash?"
    );
}

#[tokio::test]
async fn common_passwords_are_refused_at_sign_up_with_a_reason() {
    let app = TestApp::spawn().await;
    let response = app.sign_up("Ada", "ada@example.com", "iloveyou").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = detail(response).await;
    assert_eq!(errors[0]["loc"], json!(["body", "password"]));
    assert!(errors[0]["msg"]
        .as_str()
        .unwrap()
        .contains("most common passwords"));
}

#[tokio::test]
async fn oversized_headers_and_tokens_are_refused_cleanly() {
    let app = TestApp::spawn().await;
    // hyper refuses a request whose head does not fit its ~400 KiB read buffer.
    let huge_header = app
        .client
        .get(app.url("/api/tasks"))
        .header("x-padding", "a".repeat(1024 * 1024))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(
        huge_header.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );

    let huge_token = app.auth_get("/api/tasks", &"a".repeat(16 * 1024)).await;
    assert_eq!(huge_token.status(), StatusCode::UNAUTHORIZED);

    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK, "the server still answers");
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_with_the_nonce_of_their_scripts() {
    let app = TestApp::spawn().await;
    let page = app.get("/sign-in").await;
    let csp = page
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .expect("a Content-Security-Policy header")
        .to_owned();
    let html = page.text().await.unwrap();
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an inline script with a nonce");
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    let again = app.get("/sign-in").await;
    let next_csp = again.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(csp, next_csp, "every response gets a new nonce");
}

/// Random bytes where the API expects a token, an id, a query or a JSON body: whatever
/// arrives, the answer is a 4xx (or a success), never a 5xx and never a dropped connection.
#[tokio::test]
async fn random_requests_never_get_a_5xx() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let task = app.create_task(&user.jwt, "target").await;
    let mut rng = StdRng::seed_from_u64(0x7a5c);
    let printable = |rng: &mut StdRng, max: usize| -> String {
        let len = rng.gen_range(0..max);
        (0..len).map(|_| rng.gen_range(' '..='~')).collect()
    };
    for round in 0..300 {
        let bytes: Vec<u8> = (0..rng.gen_range(0..512)).map(|_| rng.gen()).collect();
        let request = match round % 5 {
            0 => app.client.get(app.url("/api/tasks")).header(
                header::AUTHORIZATION,
                format!("Bearer {}", printable(&mut rng, 600)),
            ),
            1 => app
                .client
                .post(app.url("/api/tasks"))
                .bearer_auth(&user.jwt)
                .header(header::CONTENT_TYPE, "application/json")
                .body(bytes),
            2 => app
                .client
                .patch(app.url(&format!("/api/tasks/{}", task["id"].as_str().unwrap())))
                .bearer_auth(&user.jwt)
                .header(header::CONTENT_TYPE, "application/json")
                .body(bytes),
            3 => {
                let id: String = printable(&mut rng, 80)
                    .chars()
                    .filter(|c| !"/?#%".contains(*c))
                    .collect();
                app.client
                    .get(app.url(&format!("/api/tasks/{}", urlencode(&id))))
                    .bearer_auth(&user.jwt)
            }
            _ => app
                .client
                .get(app.url(&format!(
                    "/api/tasks?{}",
                    urlencode(&printable(&mut rng, 80))
                )))
                .bearer_auth(&user.jwt),
        };
        let response = request.send().await.expect("an answer");
        assert!(
            !response.status().is_server_error(),
            "round {round}: {}",
            response.status()
        );
    }
}

/// Every server function that takes arguments, with the fields its form (or, for the
/// audit log, its JSON) sends.
const SERVER_FUNCTIONS: [(&str, &[&str]); 15] = [
    ("sign-up", &["name", "email", "password", "next"]),
    ("sign-in", &["email", "password", "next"]),
    ("revoke-session", &["id"]),
    ("issue-api-token", &["scope", "lifetime_secs"]),
    ("update-profile", &["name"]),
    (
        "change-password",
        &["current_password", "new_password", "sign_out_others"],
    ),
    ("delete-account", &["password"]),
    ("request-password-reset", &["email"]),
    ("reset-password", &["token", "new_password"]),
    ("send-verification-email", &["next"]),
    ("resend-verification", &["email"]),
    ("change-email", &["new_email", "email_password"]),
    ("admin/set-disabled", &["user_id", "disabled"]),
    ("admin/set-role", &["user_id", "role"]),
    ("admin/audit-log", &["filter"]),
];

/// Server functions called as the page calls them (this site's origin, an admin's
/// session), with arguments that cannot be read: each field left out, doubled, nested or
/// of the wrong type, random bytes, a JSON body where a form is expected and the other
/// way round. Whatever arrives, the answer is a 4xx (or a success), never a 5xx.
#[tokio::test]
async fn random_server_function_calls_never_get_a_5xx() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on(&db.url).await;
    let admin = app.admin(&db.url).await;
    let cookie = session_cookie(&admin.session_token);
    let mut rng = StdRng::seed_from_u64(0x5e7f);
    for round in 0..300 {
        let (function, fields) = SERVER_FUNCTIONS[rng.gen_range(0..SERVER_FUNCTIONS.len())];
        let (content_type, body) = match round % 3 {
            0 => (
                "application/x-www-form-urlencoded",
                random_form(&mut rng, fields).into_bytes(),
            ),
            1 => {
                let content_type = if rng.gen() {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                };
                let bytes: Vec<u8> = (0..rng.gen_range(0..512)).map(|_| rng.gen()).collect();
                (content_type, bytes)
            }
            _ => (
                "application/json",
                random_json(&mut rng, fields).to_string().into_bytes(),
            ),
        };
        let response = app
            .client
            .post(app.url(&format!("/fn/{function}")))
            .header(header::ORIGIN, &app.base)
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("an answer");
        assert!(
            !response.status().is_server_error(),
            "round {round}: /fn/{function}: {}",
            response.status()
        );
    }
}

/// A form body of these fields, each left out, doubled, nested, listed or given a value
/// of random characters (raw `%`, `&`, `=` and brackets among them), with an unknown
/// field now and then.
fn random_form(rng: &mut StdRng, fields: &[&str]) -> String {
    let mut pairs = Vec::new();
    for field in fields {
        match rng.gen_range(0..6) {
            0 => {}
            1 => pairs.push(format!(
                "{field}={}&{field}={}",
                random_text(rng),
                random_text(rng)
            )),
            2 => pairs.push(format!(
                "{field}[{}]={}",
                random_text(rng),
                random_text(rng)
            )),
            3 => pairs.push(format!("{field}[]={}", random_text(rng))),
            _ => pairs.push(format!("{field}={}", random_text(rng))),
        }
    }
    if rng.gen_bool(0.3) {
        pairs.push(format!("{}={}", random_text(rng), random_text(rng)));
    }
    pairs.join("&")
}

/// A JSON object of these fields, each left out or given a value of a random type.
fn random_json(rng: &mut StdRng, fields: &[&str]) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for field in fields {
        let value = match rng.gen_range(0..7) {
            0 => continue,
            1 => json!(null),
            2 => json!(rng.gen::<i64>()),
            3 => json!(-1e300),
            4 => json!([random_text(rng)]),
            5 => json!({ "event": random_text(rng), "limit": rng.gen::<i64>() }),
            _ => json!(random_text(rng)),
        };
        object.insert((*field).to_owned(), value);
    }
    serde_json::Value::Object(object)
}

/// Up to 40 printable ASCII characters, or now and then a few that are not ASCII.
fn random_text(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.1) {
        return "\u{e9}\u{202e}\u{0}".to_owned();
    }
    let len = rng.gen_range(0..40);
    (0..len).map(|_| rng.gen_range(' '..='~')).collect()
}

/// Percent-encodes everything but unreserved characters and `=`/`&` (to keep query shapes).
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'=' | b'&' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn secrets_passwords_and_tokens_never_reach_the_logs() {
    let db = TestDatabase::fresh().await;
    let server = ServerProcess::start(&db.url, "debug").await;
    let app = server.app();
    let user = app.new_user().await;
    app.create_task(&user.jwt, "logged request").await;
    app.sign_in(&user.email, "a wrong password").await;
    app.get_tasks(&format!("{}x", user.jwt), "").await;
    app.auth_get("/api/auth/get-session", &user.session_token)
        .await;

    let logs = server.logs();
    assert!(
        logs.contains("audit event") && logs.contains("sign_up"),
        "{logs}"
    );
    for (what, secret) in [
        ("the JWT secret", SECRET),
        ("a password", PASSWORD),
        ("a wrong password", "a wrong password"),
        ("a session token", user.session_token.as_str()),
        ("a JWT", user.jwt.as_str()),
    ] {
        assert!(!logs.contains(secret), "{what} was logged");
    }
}

#[tokio::test]
async fn a_stranger_guessing_cannot_lock_the_owner_out() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "3/1m")]).await;
    let owner = app.new_user().await;
    let attacker = [127, 0, 0, 2];
    for _ in 0..3 {
        let guess = app
            .sign_in_from(attacker, &owner.email, "wrong password!")
            .await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = app.sign_in_from(attacker, &owner.email, PASSWORD).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing client is refused the account, right password or not"
    );

    let owner_in = app.sign_in(&owner.email, PASSWORD).await;
    assert_eq!(
        owner_in.status(),
        StatusCode::OK,
        "the owner's own client gets in"
    );

    // A second guessing address gets its one try; past the allowance, the account is
    // soft-locked for every client that has been failing on it.
    let second = [127, 0, 0, 3];
    let first_try = app
        .sign_in_from(second, &owner.email, "another guess")
        .await;
    assert_eq!(first_try.status(), StatusCode::UNAUTHORIZED);
    let slowed = app.sign_in_from(second, &owner.email, "and another").await;
    assert_eq!(slowed.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&slowed) >= 1);

    let owner_again = app.sign_in(&owner.email, PASSWORD).await;
    assert_eq!(owner_again.status(), StatusCode::OK, "still not locked out");
}

/// Signs in to `email` from `address`, sending `cookie` (a `known_browser` cookie) if any.
async fn sign_in_with_cookie(
    app: &TestApp,
    address: [u8; 4],
    cookie: Option<&str>,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let request = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
        .post(app.url("/api/auth/sign-in/email"))
        .json(&json!({"email": email, "password": password}));
    match cookie {
        Some(cookie) => request.header(reqwest::header::COOKIE, format!("known_browser={cookie}")),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_browser_that_signed_in_before_is_not_refused_for_its_neighbours_guesses() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "3/1m")]).await;
    let owner = app.new_user().await;
    let office = [127, 0, 0, 7];
    let signed_in = sign_in_with_cookie(&app, office, None, &owner.email, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let known = set_cookie(&signed_in, "known_browser").expect("a known_browser cookie");
    // Someone else on the same address guesses until the address is refused the account.
    for _ in 0..3 {
        let guess = sign_in_with_cookie(&app, office, None, &owner.email, "a guess!").await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let neighbour = sign_in_with_cookie(&app, office, None, &owner.email, PASSWORD).await;
    assert_eq!(neighbour.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner's browser on that address is not.
    let owner_in = sign_in_with_cookie(&app, office, Some(&known), &owner.email, PASSWORD).await;
    assert_eq!(owner_in.status(), StatusCode::OK);
    // A cookie made before the password changed no longer speaks for the browser.
    let changed = app
        .auth_post(
            "/api/auth/change-password",
            &owner.session_token,
            &json!({"currentPassword": PASSWORD, "newPassword": "a new long passphrase", "revokeOtherSessions": false}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let stale = sign_in_with_cookie(
        &app,
        office,
        Some(&known),
        &owner.email,
        "a new long passphrase",
    )
    .await;
    assert_eq!(stale.status(), StatusCode::TOO_MANY_REQUESTS);
    // A known browser's own failures still count against it.
    let solo = app.new_user().await;
    let home = [127, 0, 0, 8];
    let first = sign_in_with_cookie(&app, home, None, &solo.email, PASSWORD).await;
    let mine = set_cookie(&first, "known_browser").unwrap();
    for _ in 0..3 {
        let typo = sign_in_with_cookie(&app, home, Some(&mine), &solo.email, "typo!").await;
        assert_eq!(typo.status(), StatusCode::UNAUTHORIZED);
    }
    let after_typos = sign_in_with_cookie(&app, home, Some(&mine), &solo.email, PASSWORD).await;
    assert_eq!(after_typos.status(), StatusCode::TOO_MANY_REQUESTS);
    // The neighbour's own known_browser cookie, from their account, or an altered one,
    // does not speak for the owner's account.
    let other = app.new_user().await;
    let theirs = sign_in_with_cookie(&app, office, None, &other.email, PASSWORD).await;
    let theirs = set_cookie(&theirs, "known_browser").unwrap();
    let borrowed = sign_in_with_cookie(&app, office, Some(&theirs), &owner.email, PASSWORD).await;
    assert_eq!(borrowed.status(), StatusCode::TOO_MANY_REQUESTS);
    let (id, _) = known.split_once('.').unwrap();
    let altered = format!("{id}.AAAA");
    let refused = sign_in_with_cookie(&app, office, Some(&altered), &owner.email, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_error_message_nobody_signed_is_not_shown_on_the_sign_in_page() {
    use base64::{engine::general_purpose::URL_SAFE, Engine};
    let app = TestApp::spawn().await;
    let forged = URL_SAFE.encode(
        r#"{"Forbidden":"Security alert: your account is at risk. Visit https://evil.example"}"#,
    );
    let phishing = app
        .client
        .get(app.url(&format!(
            "/sign-in?next=%2Ftasks&__path=%2Ffn%2Fsign-in&__err={forged}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(phishing.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&phishing), "/sign-in?next=%2Ftasks");

    // The app's own error, from a form posted without wasm, is still shown.
    let user = app.new_user().await;
    let wrong = app
        .post_form(
            "/fn/sign-in",
            "/sign-in?next=%2Ftasks",
            &[("email", &user.email), ("password", "not the password")],
        )
        .await;
    let back = location(&wrong);
    assert!(back.contains("__err=") && back.contains("__sig="), "{back}");
    let page = app.client.get(&back).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Invalid email or password"));
}

#[tokio::test]
async fn a_cookie_write_from_a_rebound_name_is_refused() {
    // DNS rebinding: evil.example now points here, so the browser calls the page
    // same-origin and Origin matches Host; only the public origin may pass.
    let app = TestApp::spawn().await;
    let port = app.address().rsplit(':').next().unwrap().to_owned();
    let rebound = format!("evil.example:{port}");
    let response = app
        .client
        .post(app.url("/fn/sign-up"))
        .header(header::HOST, &rebound)
        .header(header::ORIGIN, format!("http://{rebound}"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("name", "Mallory"),
            ("email", "m@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let created = app.sign_in("m@example.com", PASSWORD).await;
    assert_eq!(
        created.status(),
        StatusCode::UNAUTHORIZED,
        "no account was made"
    );
}

#[tokio::test]
async fn an_oversized_server_function_body_is_a_413_like_the_api() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/fn/sign-in"))
        .header(header::ORIGIN, &app.base)
        .form(&[
            ("email", "ada@example.com"),
            ("password", &"x".repeat(100 * 1024)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(detail(response).await, "Request body is too large");
}

#[tokio::test]
async fn taking_an_unsigned_error_out_of_an_address_never_leaves_the_site() {
    let app = TestApp::spawn().await;
    for path in ["/.//evil.example?__err=x", "/%2e//evil.example?__err=x"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/", "{path}");
    }
}

#[tokio::test]
async fn an_error_planted_in_the_referer_or_in_next_is_never_signed() {
    use base64::{engine::general_purpose::URL_SAFE, Engine};
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let forged = URL_SAFE.encode(r#"{"Forbidden":"Call +1 555 0100 to unlock your account"}"#);
    let planted = format!("/sign-in?__path=%2Ffn%2Fsign-in&__err={forged}");
    let through_referer = app
        .post_form(
            "/fn/sign-in",
            &planted,
            &[("email", &user.email), ("password", "not the password")],
        )
        .await;
    let back = location(&through_referer);
    assert!(
        back.contains("__sig="),
        "the real error is still signed: {back}"
    );
    assert!(!back.contains(forged.trim_end_matches('=')), "{back}");
    let through_next = app
        .post_form(
            "/fn/sign-in",
            "/sign-in",
            &[
                ("email", &user.email),
                ("password", PASSWORD),
                ("next", &planted),
            ],
        )
        .await;
    assert_eq!(location(&through_next), "/tasks");
}

/// Signs in through a proxy that says the client is `forwarded_for`.
async fn sign_in_via_proxy(
    app: &TestApp,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> Response {
    app.client
        .post(app.url("/api/auth/sign-in/email"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

/// The address recorded on the session a sign-in answer started.
async fn recorded_address(app: &TestApp, signed_in: Response) -> String {
    let token = signed_in.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions: serde_json::Value = app
        .auth_get("/api/auth/list-sessions", &token)
        .await
        .json()
        .await
        .unwrap();
    sessions[0]["ipAddress"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_recorded_and_limited_on_its_own() {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_FAILED_SIGN_IN", "3/1m"),
    ])
    .await;
    let owner = app.new_user().await;
    for _ in 0..3 {
        let guess = sign_in_via_proxy(&app, "203.0.113.66", &owner.email, "wrong password!").await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = sign_in_via_proxy(&app, "203.0.113.66", &owner.email, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let owner_in = sign_in_via_proxy(&app, "198.51.100.7", &owner.email, PASSWORD).await;
    assert_eq!(
        owner_in.status(),
        StatusCode::OK,
        "another client behind the same proxy"
    );
    assert_eq!(recorded_address(&app, owner_in).await, "198.51.100.7");
}

#[tokio::test]
async fn a_forwarding_header_from_a_peer_that_is_not_trusted_is_ignored() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let spoofed = sign_in_via_proxy(&app, "203.0.113.66", &user.email, PASSWORD).await;
    assert_eq!(spoofed.status(), StatusCode::OK);
    assert_eq!(recorded_address(&app, spoofed).await, "127.0.0.1");
}

#[tokio::test]
async fn a_relative_or_foreign_referer_cannot_carry_words_into_a_signed_error() {
    use base64::{engine::general_purpose::URL_SAFE, Engine};
    let app = TestApp::spawn().await;
    let forged = URL_SAFE.encode(r#"{"Forbidden":"Call +1 555 0100 to unlock your account"}"#);
    for referer in [
        format!("/sign-in?__path=%2Ffn%2Fsign-in&__err={forged}"),
        format!("//evil.example/sign-in?__path=%2Ffn%2Fsign-in&__err={forged}"),
    ] {
        let response = app
            .client
            .post(app.url("/fn/current-user"))
            .header(header::ORIGIN, &app.base)
            .header(header::REFERER, &referer)
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        let back = location(&response);
        assert!(
            !back.contains(forged.trim_end_matches('=')),
            "{referer} -> {back}"
        );
        assert!(!back.contains("evil.example"), "{referer} -> {back}");
    }
}

#[tokio::test]
async fn a_page_posted_to_with_an_unsigned_error_is_cleaned_too() {
    use base64::{engine::general_purpose::URL_SAFE, Engine};
    let app = TestApp::spawn().await;
    let forged = URL_SAFE.encode(r#"{"Forbidden":"Security alert: visit https://evil.example"}"#);
    let response = app
        .client
        .post(app.url(&format!("/sign-in/?__path=%2Ffn%2Fsign-in&__err={forged}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        !location(&response).contains("__err"),
        "{}",
        location(&response)
    );
}

#[tokio::test]
async fn a_neighbours_guesses_do_not_refuse_a_signed_in_owners_password_checks() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_FAILED_SIGN_IN", "3/1m")]).await;
    let owner = app.new_user().await;
    // Someone on the owner's own address guesses until the address is refused.
    for _ in 0..4 {
        app.sign_in_from([127, 0, 0, 1], &owner.email, "a guess!")
            .await;
    }
    let refused = app
        .sign_in_from([127, 0, 0, 1], &owner.email, PASSWORD)
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner, signed in from that address, still changes the password: typing it
    // again counts against the session, not the address.
    let changed = app
        .auth_post(
            "/api/auth/change-password",
            &owner.session_token,
            &json!({
                "currentPassword": PASSWORD,
                "newPassword": "a different long passphrase",
                "revokeOtherSessions": false
            }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
}
