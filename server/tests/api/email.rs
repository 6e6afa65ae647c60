//! The emailed links, with Better Auth's routes: a password reset, the verification of
//! an address (and `REQUIRE_EMAIL_VERIFICATION`), and a change of address. Each test
//! reads the message the app sent (through the run's SMTP server, under the test
//! command) and follows its link as the person would.

use crate::support::{
    code, location, payload, set_cookie, Delivered, Mailbox, TestApp, TestUser, PASSWORD,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub const NEW_PASSWORD: &str = "a brand new passphrase for ada";

pub async fn ask_for_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/request-password-reset",
        &json!({ "email": email }),
    )
    .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/reset-password",
        &json!({ "token": token, "newPassword": password }),
    )
    .await
}

/// Opens a link as a person does, in a browser signed in nowhere: its page, then its
/// button. Answers where that leads, without following the redirect.
pub async fn open(app: &TestApp, link: &str) -> reqwest::Response {
    app.follow_link(link, None).await
}

/// Opens `link` in a browser signed in as `user`.
pub async fn open_as(app: &TestApp, user: &TestUser, link: &str) -> reqwest::Response {
    app.follow_link(link, Some(user)).await
}

/// What fetching `link` answers, as a mail gateway fetches every link it passes on,
/// signed in nowhere: the page, which must change nothing, and say `says`.
pub async fn fetched(app: &TestApp, link: &str, says: &str) -> String {
    let page = app.client.get(link).send().await.expect("request");
    assert_eq!(page.status(), StatusCode::OK, "{link}");
    let page = page.text().await.expect("the page");
    assert!(page.contains(says), "{says:?} in {page}");
    page
}

/// The reset link mailed to `user` after asking for one.
async fn reset_email(app: &TestApp, user: &TestUser) -> Delivered {
    assert_eq!(
        ask_for_reset(app, &user.email).await.status(),
        StatusCode::OK
    );
    app.mail.message_to(&user.email).await
}

pub async fn send_verification(app: &TestApp, user: &TestUser) -> reqwest::Response {
    app.auth_post(
        "/api/auth/send-verification-email",
        &user.session_token,
        &json!({ "email": user.email }),
    )
    .await
}

/// Asks to move `user`'s account to `new`, with the account's password.
pub async fn change_email(app: &TestApp, user: &TestUser, new: &str) -> reqwest::Response {
    change_email_from(app, &user.session_token, new).await
}

/// Asks, with the account's password, for a change of address from the session of
/// `session_token`.
pub async fn change_email_from(app: &TestApp, session_token: &str, new: &str) -> reqwest::Response {
    let body = json!({ "newEmail": new, "password": PASSWORD });
    app.auth_post("/api/auth/change-email", session_token, &body)
        .await
}

/// Asks for a reset of `email` through a proxy that says the client is `forwarded_for`.
async fn ask_for_reset_from(app: &TestApp, forwarded_for: &str, email: &str) -> StatusCode {
    app.client
        .post(app.url("/api/auth/request-password-reset"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
        .status()
}

/// A new user whose address is verified: the verification link was sent and opened.
pub async fn verified_user(app: &TestApp) -> TestUser {
    let user = app.new_user().await;
    assert_eq!(send_verification(app, &user).await.status(), StatusCode::OK);
    let opened = open(app, &app.mail.message_to(&user.email).await.link()).await;
    assert_eq!(location(&opened), "/email-verified");
    user
}

pub fn new_address() -> String {
    format!("moved-{}@example.com", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_ends_every_session_and_token() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let laptop = app.sign_in(&ada.email, PASSWORD).await;
    assert_eq!(laptop.status(), StatusCode::OK);
    let laptop: Value = laptop.json().await.unwrap();
    let laptop = laptop["token"].as_str().unwrap().to_owned();
    let mail = reset_email(&app, &ada).await;
    assert_eq!(mail.subject, "Reset your Taskboard password");
    assert!(
        mail.text.contains(&app.base),
        "the site's address: {}",
        mail.text
    );
    assert!(mail.html.contains("Choose a new password"), "{}", mail.html);

    let opened = open(&app, &mail.link()).await;
    assert_eq!(opened.status(), StatusCode::FOUND);
    let token = mail.token();
    assert_eq!(location(&opened), format!("/reset-password?token={token}"));

    let response = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    assert!(app.session(&ada.session_token).await.is_none());
    assert!(app.session(&laptop).await.is_none(), "every session");
    assert_eq!(
        app.auth_get("/api/me", &ada.jwt).await.status(),
        StatusCode::UNAUTHORIZED,
        "an access token from before the reset"
    );
    assert_eq!(
        app.sign_in(&ada.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in(&ada.email, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_takes_back_an_account_someone_registered_with_your_address_first() {
    let app = TestApp::spawn_with(&[("REQUIRE_EMAIL_VERIFICATION", "true")]).await;
    let address = new_address();
    let squatter = app.sign_up("Not Ada", &address, PASSWORD).await;
    assert_eq!(squatter.status(), StatusCode::OK);
    let verification = app.mail.message_to(&address).await;
    assert_eq!(ask_for_reset(&app, &address).await.status(), StatusCode::OK);
    let mail = app.mail.messages_to(&address, 2).await.pop().unwrap();
    assert_ne!(mail.subject, verification.subject, "the reset link");
    assert_eq!(
        reset(&app, &mail.token(), NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let signed_in = app.sign_in(&address, NEW_PASSWORD).await;
    assert_eq!(
        signed_in.status(),
        StatusCode::OK,
        "the address is verified"
    );
    assert_eq!(
        signed_in.json::<Value>().await.unwrap()["user"]["emailVerified"],
        true
    );
    assert_eq!(
        app.sign_in(&address, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_reset_link_works_once() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let mail = reset_email(&app, &ada).await;
    assert_eq!(
        reset(&app, &mail.token(), NEW_PASSWORD).await.status(),
        StatusCode::OK
    );

    let again = reset(&app, &mail.token(), "yet another passphrase").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(again).await, "INVALID_TOKEN");
    let opened = open(&app, &mail.link()).await;
    assert_eq!(location(&opened), "/reset-password?error=INVALID_TOKEN");
}

#[tokio::test]
async fn an_expired_or_tampered_reset_link_is_refused_and_changes_nothing() {
    let app = TestApp::spawn_with(&[("RESET_PASSWORD_EXPIRES_IN", "1s")]).await;
    let ada = app.new_user().await;
    let mail = reset_email(&app, &ada).await;
    let token = mail.token();
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [tampered.as_str(), "", "../../etc/passwd"] {
        let response = reset(&app, bad, NEW_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(code(response).await, "INVALID_TOKEN");
    }
    app.advance(Duration::from_millis(1100));
    let opened = open(&app, &mail.link()).await;
    assert_eq!(location(&opened), "/reset-password?error=INVALID_TOKEN");
    assert_eq!(
        code(reset(&app, &token, NEW_PASSWORD).await).await,
        "INVALID_TOKEN"
    );
    assert_eq!(
        app.sign_in(&ada.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_email() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let stranger = new_address();
    let unknown = ask_for_reset(&app, &stranger).await;
    let known = ask_for_reset(&app, &ada.email).await;
    assert_eq!(unknown.status(), known.status());
    let (unknown, known): (Value, Value) =
        (unknown.json().await.unwrap(), known.json().await.unwrap());
    assert_eq!(unknown, known);
    assert_eq!(
        known,
        json!({"status": true, "message": "If this email exists in our system, check your email for the reset link"})
    );
    app.mail.message_to(&ada.email).await;
    assert!(app.mail.delivered_to(&stranger).is_empty());
}

#[tokio::test]
async fn reset_emails_are_limited_per_address_whether_or_not_it_has_an_account() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_EMAILS_PER_ADDRESS", "2/1h")]).await;
    let ada = app.new_user().await;
    for address in [ada.email.clone(), new_address()] {
        for _ in 0..2 {
            assert_eq!(ask_for_reset(&app, &address).await.status(), StatusCode::OK);
        }
        let refused = ask_for_reset(&app, &address).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{address}");
        assert!(refused.headers().contains_key("retry-after"));
    }
    assert_eq!(app.mail.messages_to(&ada.email, 2).await.len(), 2);
}

#[tokio::test]
async fn one_client_asking_for_someones_resets_does_not_use_up_theirs_but_everyone_together_is_limited(
) {
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_EMAILS_PER_ADDRESS", "2/1h"),
    ])
    .await;
    let ada = app.new_user().await;
    for _ in 0..2 {
        assert_eq!(
            ask_for_reset_from(&app, "203.0.113.66", &ada.email).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        ask_for_reset_from(&app, "203.0.113.66", &ada.email).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        ask_for_reset_from(&app, "198.51.100.7", &ada.email).await,
        StatusCode::OK,
        "the owner, from another client"
    );
    let mut from_others = Vec::new();
    for n in 1..=8 {
        from_others.push(ask_for_reset_from(&app, &format!("192.0.2.{n}"), &ada.email).await);
    }
    let sent = 3 + from_others.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(sent, 8, "four times the limit from every client together");
    assert_eq!(app.mail.messages_to(&ada.email, 8).await.len(), 8);
}

#[tokio::test]
async fn naming_someones_address_as_a_new_one_does_not_use_up_their_resets() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_EMAILS_PER_ADDRESS", "2/1h")]).await;
    let (victim, mallory) = (app.new_user().await, app.new_user().await);
    for _ in 0..3 {
        change_email(&app, &mallory, &victim.email).await;
    }
    assert_eq!(
        ask_for_reset(&app, &victim.email).await.status(),
        StatusCode::OK
    );
    app.mail.message_to(&victim.email).await;
}

#[tokio::test]
async fn a_link_may_only_lead_to_a_page_of_this_site() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let response = app
        .post_json(
            "/api/auth/request-password-reset",
            &json!({"email": ada.email, "redirectTo": "https://evil.example/steal"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(response).await, "INVALID_REDIRECT_URL");

    let mail = reset_email(&app, &ada).await;
    let elsewhere = format!(
        "{}/api/auth/reset-password/{}?callbackURL=https://evil.example/",
        app.base,
        mail.token()
    );
    let opened = open(&app, &elsewhere).await;
    assert_eq!(opened.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(opened).await, "INVALID_CALLBACK_URL");
}

#[tokio::test]
async fn a_verified_address_is_verified_in_the_user_the_session_and_new_tokens() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    assert!(!app.user_of(&ada.session_token).await.email_verified);
    let response = send_verification(&app, &ada).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    let mail = app.mail.message_to(&ada.email).await;
    assert_eq!(mail.subject, "Confirm your email address for Taskboard");

    let opened = open(&app, &mail.link()).await;
    assert_eq!(opened.status(), StatusCode::FOUND);
    assert_eq!(location(&opened), "/email-verified");
    assert!(app.user_of(&ada.session_token).await.email_verified);
    assert_eq!(
        payload(&app.jwt_for(&ada.session_token).await)["emailVerified"],
        true
    );
    assert_eq!(
        app.auth_get("/api/me", &ada.jwt).await.status(),
        StatusCode::UNAUTHORIZED,
        "a token that says the address is unverified"
    );
    let again = open(&app, &mail.link()).await;
    assert_eq!(location(&again), "/email-verified?error=INVALID_TOKEN");
}

#[tokio::test]
async fn a_verification_link_without_a_callback_answers_json() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    send_verification(&app, &ada).await;
    let token = app.mail.message_to(&ada.email).await.token();
    let url = app.url(&format!("/api/auth/verify-email?token={token}"));
    let response = open(&app, &url).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], true);
    assert_eq!(body["user"]["emailVerified"], true);
    let used = open(&app, &url).await;
    assert_eq!(used.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(used).await, "INVALID_TOKEN");
}

#[tokio::test]
async fn only_the_callers_own_unverified_address_gets_a_link() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let other = app
        .auth_post(
            "/api/auth/send-verification-email",
            &ada.session_token,
            &json!({ "email": new_address() }),
        )
        .await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(other).await, "EMAIL_MISMATCH");
    send_verification(&app, &ada).await;
    open(&app, &app.mail.message_to(&ada.email).await.link()).await;
    let verified = send_verification(&app, &ada).await;
    assert_eq!(verified.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(verified).await, "EMAIL_ALREADY_VERIFIED");
}

#[tokio::test]
async fn an_expired_verification_link_says_so() {
    let app = TestApp::spawn_with(&[("EMAIL_VERIFICATION_EXPIRES_IN", "1s")]).await;
    let ada = app.new_user().await;
    send_verification(&app, &ada).await;
    let mail = app.mail.message_to(&ada.email).await;
    app.advance(Duration::from_millis(1100));
    let opened = open(&app, &mail.link()).await;
    assert_eq!(location(&opened), "/email-verified?error=TOKEN_EXPIRED");
    assert!(!app.user_of(&ada.session_token).await.email_verified);
}

#[tokio::test]
async fn with_verification_required_sign_in_waits_for_the_link() {
    let app = TestApp::spawn_with(&[("REQUIRE_EMAIL_VERIFICATION", "true")]).await;
    let email = new_address();
    let signed_up = app.sign_up("Ada", &email, PASSWORD).await;
    assert_eq!(signed_up.status(), StatusCode::OK);
    assert!(
        signed_up.headers().get("set-cookie").is_none(),
        "no session yet"
    );
    let body: Value = signed_up.json().await.unwrap();
    assert_eq!(body["token"], Value::Null);
    assert_eq!(body["user"]["emailVerified"], false);

    let refused = app.sign_in(&email, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(refused).await, "EMAIL_NOT_VERIFIED");
    let wrong = app.sign_in(&email, "not the password at all").await;
    assert_eq!(
        wrong.status(),
        StatusCode::UNAUTHORIZED,
        "no hint without the password"
    );

    let resent = app
        .post_json(
            "/api/auth/send-verification-email",
            &json!({ "email": email }),
        )
        .await;
    assert_eq!(resent.status(), StatusCode::OK);
    // The second link replaced the first: one of the two works, whichever order the
    // files were written in, and the other is refused.
    let mut opened = Vec::new();
    for mail in app.mail.messages_to(&email, 2).await {
        opened.push(location(&open(&app, &mail.link()).await));
    }
    opened.sort();
    assert_eq!(
        opened,
        ["/email-verified", "/email-verified?error=INVALID_TOKEN"]
    );
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn emails_about_one_account_are_limited_whatever_the_addresses() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_EMAILS_PER_ACCOUNT", "2/1h")]).await;
    let ada = app.new_user().await;
    for _ in 0..2 {
        assert_eq!(
            change_email(&app, &ada, &new_address()).await.status(),
            StatusCode::OK
        );
    }
    let refused = change_email(&app, &ada, &new_address()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn messages_come_from_mail_from_or_go_to_the_outbox_with_nothing_configured() {
    let parent = tempfile::tempdir().unwrap();
    let outbox = parent.path().join("outbox");
    let dir = outbox.display().to_string();
    let app = TestApp::spawn_with(&[("SMTP_URL", ""), ("MAIL_OUTBOX_DIR", &dir)]).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&outbox).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "its links are for this user alone");
    let ada = app.new_user().await;
    assert_eq!(
        ask_for_reset(&app, &ada.email).await.status(),
        StatusCode::OK
    );
    let mail = Mailbox::outbox(&outbox).message_to(&ada.email).await;
    assert!(mail
        .link()
        .starts_with(&format!("{}/api/auth/reset-password/", app.base)));
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().flatten().collect();
    assert!(files
        .iter()
        .all(|f| f.path().extension().is_some_and(|e| e == "eml")));

    if app.mail.is_smtp() {
        let smtp = TestApp::spawn().await;
        let bob = smtp.new_user().await;
        let delivered = reset_email(&smtp, &bob).await;
        assert_eq!(delivered.from, "\"Taskboard tests\" <tests@taskboard.test>");
    }
}

#[tokio::test]
async fn the_audit_log_tells_each_step() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    let ada = app.new_user().await;
    let mail = reset_email(&app, &ada).await;
    reset(&app, &mail.token(), NEW_PASSWORD).await;
    for (event, detail) in [
        ("password_reset_requested", None),
        ("password_reset", Some("1 sessions ended")),
    ] {
        let events = app
            .audit_events(
                &admin.session_token,
                &format!("event={event}&user={}", ada.id),
            )
            .await;
        assert_eq!(events.len(), 1, "{event}: {events:?}");
        if let Some(detail) = detail {
            assert_eq!(events[0]["detail"], detail);
        }
    }
}

#[tokio::test]
async fn a_registered_address_signs_up_like_any_other_while_verification_is_required() {
    let app = TestApp::spawn_with(&[("REQUIRE_EMAIL_VERIFICATION", "true")]).await;
    let email = new_address();
    let first = app.sign_up("Ada", &email, PASSWORD).await;
    let again = app
        .sign_up("Mallory", &email, "another passphrase entirely")
        .await;
    assert_eq!(again.status(), first.status());
    let (first, again): (Value, Value) = (first.json().await.unwrap(), again.json().await.unwrap());
    assert_eq!(again["token"], Value::Null);
    assert_eq!(again["user"]["email"], first["user"]["email"]);
    assert_ne!(
        again["user"]["id"], first["user"]["id"],
        "no id of the real account"
    );
    let mails = app.mail.messages_to(&email, 2).await;
    let (verification, notice): (Vec<_>, Vec<_>) = mails
        .into_iter()
        .partition(|mail| mail.subject.starts_with("Confirm your email address"));
    assert_eq!(
        notice[0].subject, "Someone tried to sign up to Taskboard with your address",
        "the owner is told, as the answer cannot"
    );
    open(&app, &verification[0].link()).await;
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_link_sent_before_a_change_of_address_no_longer_works() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let reset_link = reset_email(&app, &ada).await;
    let new = new_address();
    change_email(&app, &ada, &new).await;
    open(&app, &app.mail.message_to(&new).await.link()).await;
    let refused = reset(&app, &reset_link.token(), NEW_PASSWORD).await;
    assert_eq!(code(refused).await, "INVALID_TOKEN");
    assert_eq!(app.sign_in(&new, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_thief_ending_sessions_cannot_cancel_the_owners_reset() {
    let app = TestApp::spawn().await;
    for attack in ["revoke-session", "revoke-other-sessions"] {
        let ada = app.new_user().await;
        let thief = app.another_session(&ada).await;
        // Ada, signed out, asks for a reset to take her account back.
        let mail = reset_email(&app, &ada).await;
        let calls = if attack == "revoke-session" { 5 } else { 1 };
        for _ in 0..calls {
            let body = json!({"token": "anything"});
            let response = app
                .auth_post(&format!("/api/auth/{attack}"), &thief, &body)
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{attack}");
        }
        let response = reset(&app, &mail.token(), NEW_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "{attack}");
        assert!(
            app.session(&thief).await.is_none(),
            "{attack}: the reset ends the thief's session"
        );
        assert_eq!(
            app.sign_in(&ada.email, NEW_PASSWORD).await.status(),
            StatusCode::OK,
            "{attack}"
        );
    }
}

#[tokio::test]
async fn a_disabled_accounts_links_stop_working() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&app.database_url).await;
    let ada = app.new_user().await;
    let mail = reset_email(&app, &ada).await;
    app.ban(&admin.session_token, &ada.id).await;
    assert_eq!(
        code(reset(&app, &mail.token(), NEW_PASSWORD).await).await,
        "INVALID_TOKEN"
    );
}

#[tokio::test]
async fn a_link_opened_while_signed_in_as_someone_else_is_refused() {
    let app = TestApp::spawn().await;
    let (ada, bob) = (app.new_user().await, app.new_user().await);
    send_verification(&app, &ada).await;
    let mail = app.mail.message_to(&ada.email).await;
    let link = mail.link();
    let response = open_as(&app, &bob, &link).await;
    assert_eq!(location(&response), "/email-verified?error=INVALID_USER");
    let by_a_client = app
        .client
        .get(app.url(&format!(
            "/api/auth/verify-email?token={}&callbackURL=/email-verified",
            mail.token()
        )))
        .bearer_auth(&bob.session_token)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&by_a_client), "/email-verified?error=INVALID_USER");
    assert!(!app.user_of(&ada.session_token).await.email_verified);
    assert_eq!(location(&open(&app, &link).await), "/email-verified");
}

#[tokio::test]
async fn turning_verification_on_ends_the_sessions_of_unverified_accounts_and_no_others() {
    let before = TestApp::spawn().await;
    let (ada, grace) = (before.new_user().await, before.new_user().await);
    assert_eq!(
        send_verification(&before, &grace).await.status(),
        StatusCode::OK
    );
    open(&before, &before.mail.message_to(&grace.email).await.link()).await;
    let app = TestApp::spawn_on_with(
        &before.database_url,
        &[("REQUIRE_EMAIL_VERIFICATION", "true")],
    )
    .await;
    assert!(app.session(&ada.session_token).await.is_none());
    assert_eq!(
        app.browser_refresh(&ada.session_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_tasks(&ada.jwt, "").await.status(),
        StatusCode::UNAUTHORIZED,
        "the access token of the ended session is revoked"
    );
    assert!(
        app.user_of(&grace.session_token).await.email_verified,
        "a verified account keeps its session"
    );
    let asked = app
        .post_json(
            "/api/auth/send-verification-email",
            &json!({ "email": ada.email }),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    open(&app, &app.mail.message_to(&ada.email).await.link()).await;
    assert!(
        app.session(&ada.session_token).await.is_none(),
        "verifying the address does not bring the ended session back"
    );
    assert_eq!(
        app.sign_in(&ada.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn fetching_a_verification_link_verifies_nothing_until_its_button_is_pressed() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    send_verification(&app, &ada).await;
    let link = app.mail.message_to(&ada.email).await.link();
    let says = format!(
        "Verify the address {} for your Taskboard account.",
        ada.email
    );
    for _ in 0..2 {
        fetched(&app, &link, &says).await;
    }
    assert!(
        !app.user_of(&ada.session_token).await.email_verified,
        "a mail gateway fetching the link verifies nobody's account"
    );

    let confirmed = open_as(&app, &ada, &link).await;
    assert_eq!(location(&confirmed), "/email-verified");
    let jwt = set_cookie(&confirmed, "access_token").expect("a new access cookie");
    assert_eq!(payload(&jwt)["emailVerified"], true);
    assert!(app.user_of(&ada.session_token).await.email_verified);
}

#[tokio::test]
async fn a_links_page_names_the_addresses_and_one_that_cannot_be_used_has_no_button() {
    let app = TestApp::spawn_with(&[("EMAIL_VERIFICATION_EXPIRES_IN", "1s")]).await;
    let ada = verified_user(&app).await;
    let new = new_address();
    change_email(&app, &ada, &new).await;
    let approval = app.mail.messages_to(&ada.email, 2).await.pop().unwrap();
    let says = format!(
        "Approve moving your Taskboard account from {} to {new}.",
        ada.email
    );
    let page = fetched(&app, &approval.link(), &says).await;
    assert!(page.contains("action=\"/fn/confirm-email\""), "{page}");

    let unknown = format!("{}/confirm-email?token=not-a-token", app.base);
    let page = fetched(&app, &unknown, "This link has been used or is not valid.").await;
    assert!(!page.contains("/fn/confirm-email"), "no button: {page}");

    app.advance(Duration::from_millis(1100));
    let page = fetched(&app, &approval.link(), "This link has expired.").await;
    assert!(!page.contains("/fn/confirm-email"), "no button: {page}");
    assert_eq!(app.user_of(&ada.session_token).await.email, ada.email);
}

#[tokio::test]
async fn a_confirmed_link_leads_only_to_a_page_of_this_site() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    send_verification(&app, &ada).await;
    let mail = app.mail.message_to(&ada.email).await;
    let token = mail.token();
    let page = format!("/confirm-email?token={token}&callbackURL=https://evil.example/");
    let response = app
        .post_form(
            "/fn/confirm-email",
            &page,
            &[("token", &token), ("callback_url", "https://evil.example/")],
        )
        .await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let site = url::Url::parse(&app.base).unwrap();
    let went = site.join(&location(&response)).unwrap();
    assert_eq!(went.origin(), site.origin(), "{went}");
    assert_eq!(
        went.path(),
        "/confirm-email",
        "back to the page, saying why: {went}"
    );
    assert!(!app.user_of(&ada.session_token).await.email_verified);
    assert_eq!(location(&open(&app, &mail.link()).await), "/email-verified");
}
