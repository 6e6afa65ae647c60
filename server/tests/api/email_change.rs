//! A change of address, with Better Auth's `change-email`: approved from the current
//! address (or, for a never-verified one, with the password), moved only when the new
//! address opens its link, and cancelled with the session that asked for it.

use crate::{
    email::{
        ask_for_reset, change_email, change_email_from, fetched, new_address, open, open_as,
        send_verification, verified_user, NEW_PASSWORD,
    },
    support::{code, location, payload, TestApp, TestUser, PASSWORD},
};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn change_email_with(app: &TestApp, user: &TestUser, body: Value) -> reqwest::Response {
    app.auth_post("/api/auth/change-email", &user.session_token, &body)
        .await
}

#[tokio::test]
async fn one_client_naming_a_new_address_each_time_is_limited_too() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_EMAIL_REQUESTS", "2/1h")]).await;
    for _ in 0..2 {
        assert_eq!(
            ask_for_reset(&app, &new_address()).await.status(),
            StatusCode::OK
        );
    }
    let refused = ask_for_reset(&app, &new_address()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let resend = app
        .post_json(
            "/api/auth/send-verification-email",
            &json!({ "email": new_address() }),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn moves_nobody_approved_do_not_use_up_the_moves_to_an_address() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_EMAILS_PER_ADDRESS", "2/1h")]).await;
    let (mallory, ada) = (app.new_user().await, app.new_user().await);
    let wanted = new_address();
    for _ in 0..3 {
        let asked = change_email_with(&app, &mallory, json!({ "newEmail": wanted })).await;
        assert_eq!(asked.status(), StatusCode::OK);
    }
    let moved = change_email(&app, &ada, &wanted).await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(
        app.mail.message_to(&wanted).await.subject,
        "Confirm your new email address for Taskboard"
    );
}

#[tokio::test]
async fn a_change_of_address_happens_only_when_the_new_address_opens_its_link() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let new = new_address();
    let response = change_email(&app, &ada, &new).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    assert_eq!(app.user_of(&ada.session_token).await.email, ada.email);

    let mail = app.mail.message_to(&new).await;
    assert_eq!(mail.subject, "Confirm your new email address for Taskboard");
    let opened = open(&app, &mail.link()).await;
    assert_eq!(location(&opened), "/email-verified");
    let user = app.user_of(&ada.session_token).await;
    assert_eq!(user.email, new.as_str());
    assert!(user.email_verified, "the link reached the new address");
    assert_eq!(
        payload(&app.jwt_for(&ada.session_token).await)["email"],
        new.as_str()
    );

    let notice = app.mail.message_to(&ada.email).await;
    assert_eq!(notice.subject, "Your Taskboard email address was changed");
    assert!(notice.text.contains(&new));
    assert_eq!(
        app.sign_in(&ada.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.sign_in(&new, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_verified_address_approves_a_change_before_the_new_address_gets_its_link() {
    let app = TestApp::spawn().await;
    let ada = verified_user(&app).await;
    let new = new_address();
    let response = change_email(&app, &ada, &new).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    let approval = app.mail.messages_to(&ada.email, 2).await.pop().unwrap();
    assert_eq!(
        approval.subject,
        "Approve the new email address of your Taskboard account"
    );
    assert!(approval.text.contains(&new), "{}", approval.text);
    assert!(
        app.mail.delivered_to(&new).is_empty(),
        "nothing goes to the new address before the approval"
    );

    let scanned = open(&app, &approval.link()).await;
    assert_eq!(
        location(&scanned),
        "/email-verified?error=UNAUTHORIZED",
        "a mail gateway opening every link, signed in nowhere, approves nothing"
    );
    let by_a_program = app
        .get(&format!(
            "/api/auth/verify-email?token={}",
            approval.token()
        ))
        .await;
    assert_eq!(by_a_program.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(by_a_program).await, "UNAUTHORIZED");
    let bob = app.new_user().await;
    let elsewhere = open_as(&app, &bob, &approval.link()).await;
    assert_eq!(location(&elsewhere), "/email-verified?error=INVALID_USER");
    let opened = open_as(&app, &ada, &approval.link()).await;
    assert_eq!(location(&opened), "/email-verified?approved=true");
    assert_eq!(
        app.user_of(&ada.session_token).await.email,
        ada.email,
        "approving does not move the account yet"
    );
    let again = open_as(&app, &ada, &approval.link()).await;
    assert_eq!(location(&again), "/email-verified?error=INVALID_TOKEN");

    let mail = app.mail.message_to(&new).await;
    assert_eq!(mail.subject, "Confirm your new email address for Taskboard");
    assert_eq!(location(&open(&app, &mail.link()).await), "/email-verified");
    assert_eq!(app.user_of(&ada.session_token).await.email, new.as_str());
}

#[tokio::test]
async fn a_session_alone_moves_no_account_without_its_current_address_even_unverified() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let new = new_address();
    let response = change_email_with(&app, &ada, json!({ "newEmail": new })).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": true}),
        "Better Auth's client gets its usual answer"
    );
    let approval = app.mail.message_to(&ada.email).await;
    assert_eq!(
        approval.subject,
        "Approve the new email address of your Taskboard account"
    );
    assert!(
        app.mail.delivered_to(&new).is_empty(),
        "whoever holds only the session gets no link at an address of their choosing"
    );
    let scanned = open(&app, &approval.link()).await;
    assert_eq!(location(&scanned), "/email-verified?error=UNAUTHORIZED");
    let opened = open_as(&app, &ada, &approval.link()).await;
    assert_eq!(location(&opened), "/email-verified?approved=true");
    let mail = app.mail.message_to(&new).await;
    assert_eq!(location(&open(&app, &mail.link()).await), "/email-verified");
    assert_eq!(app.user_of(&ada.session_token).await.email, new.as_str());
}

#[tokio::test]
async fn a_move_asked_for_before_the_address_was_verified_needs_approval_after() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let new = new_address();
    change_email(&app, &ada, &new).await;
    let stale = app.mail.message_to(&new).await.link();
    assert_eq!(send_verification(&app, &ada).await.status(), StatusCode::OK);
    let verified = open(&app, &app.mail.message_to(&ada.email).await.link()).await;
    assert_eq!(location(&verified), "/email-verified");
    let opened = open(&app, &stale).await;
    assert_eq!(location(&opened), "/email-verified?error=INVALID_TOKEN");
    assert_eq!(app.user_of(&ada.session_token).await.email, ada.email);
}

#[tokio::test]
async fn an_address_another_account_has_gets_the_same_answer_and_no_email() {
    let app = TestApp::spawn().await;
    let (ada, bob) = (app.new_user().await, app.new_user().await);
    let taken = change_email(&app, &ada, &bob.email).await;
    let free_address = new_address();
    let free = change_email(&app, &ada, &free_address).await;
    assert_eq!(taken.status(), StatusCode::OK);
    assert_eq!(
        taken.json::<Value>().await.unwrap(),
        free.json::<Value>().await.unwrap()
    );
    // Sent after the taken one was asked for: once it is here, that one would be too.
    app.mail.message_to(&free_address).await;
    assert!(app.mail.delivered_to(&bob.email).is_empty());
    let same = change_email(&app, &ada, &ada.email).await;
    assert_eq!(same.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(same).await, "EMAIL_IS_THE_SAME");
}

#[tokio::test]
async fn an_address_taken_before_its_link_is_opened_is_not_moved_to() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let new = new_address();
    change_email(&app, &ada, &new).await;
    let link = app.mail.message_to(&new).await.link();
    app.user_with_email(&new).await;
    let opened = open(&app, &link).await;
    assert_eq!(
        location(&opened),
        "/email-verified?error=USER_ALREADY_EXISTS"
    );
    assert_eq!(app.user_of(&ada.session_token).await.email, ada.email);
}

#[tokio::test]
async fn a_verification_link_for_an_address_the_account_left_is_refused() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    send_verification(&app, &ada).await;
    let stale = app.mail.message_to(&ada.email).await.link();
    let new = new_address();
    change_email(&app, &ada, &new).await;
    open(&app, &app.mail.message_to(&new).await.link()).await;
    let opened = open(&app, &stale).await;
    assert_eq!(location(&opened), "/email-verified?error=INVALID_TOKEN");
}

#[tokio::test]
async fn a_password_change_or_ending_other_sessions_cancels_a_pending_change_of_address() {
    let app = TestApp::spawn().await;
    let cancels = [
        "change-password",
        "revoke-sessions",
        "revoke-session",
        "revoke-other-sessions",
    ];
    for cancel in cancels {
        let ada = app.new_user().await;
        let elsewhere = app.another_session(&ada).await;
        let new = new_address();
        // Revoking sessions cancels the links they asked for (and no others): here, the
        // session revoked is the one that asked.
        let asking = match cancel {
            "revoke-session" | "revoke-other-sessions" => &elsewhere,
            _ => &ada.session_token,
        };
        change_email_from(&app, asking, &new).await;
        let link = app.mail.message_to(&new).await.link();
        let body = match cancel {
            "change-password" => json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
            "revoke-session" => json!({"token": elsewhere}),
            _ => json!({}),
        };
        let cancelled = app
            .auth_post(&format!("/api/auth/{cancel}"), &ada.session_token, &body)
            .await;
        assert_eq!(cancelled.status(), StatusCode::OK, "{cancel}");
        assert_eq!(
            location(&open(&app, &link).await),
            "/email-verified?error=INVALID_TOKEN",
            "{cancel}"
        );
    }
}

#[tokio::test]
async fn a_change_of_address_survives_revoking_sessions_other_than_the_one_that_asked() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let (one, two) = (
        app.another_session(&ada).await,
        app.another_session(&ada).await,
    );
    let new = new_address();
    change_email(&app, &ada, &new).await;
    let link = app.mail.message_to(&new).await.link();
    for (revoke, body) in [
        ("revoke-session", json!({ "token": one })),
        ("revoke-other-sessions", json!({})),
    ] {
        let revoked = app
            .auth_post(&format!("/api/auth/{revoke}"), &ada.session_token, &body)
            .await;
        assert_eq!(revoked.status(), StatusCode::OK, "{revoke}");
    }
    assert!(app.session(&one).await.is_none());
    assert!(app.session(&two).await.is_none());
    assert_eq!(
        location(&open(&app, &link).await),
        "/email-verified",
        "the session that asked for it is still signed in"
    );
    assert_eq!(app.user_of(&ada.session_token).await.email, new.as_str());
}

#[tokio::test]
async fn signing_out_everywhere_cancels_a_move_a_signed_out_session_asked_for() {
    let app = TestApp::spawn().await;
    let ada = verified_user(&app).await;
    let thief = app.another_session(&ada).await;
    let theirs = new_address();
    let body = json!({ "newEmail": theirs });
    let asked = app.auth_post("/api/auth/change-email", &thief, &body).await;
    assert_eq!(asked.status(), StatusCode::OK);
    let approval = app.mail.messages_to(&ada.email, 2).await.pop().unwrap();
    let signed_out = app
        .auth_post("/api/auth/sign-out", &thief, &json!({}))
        .await;
    assert_eq!(signed_out.status(), StatusCode::OK);
    let everywhere = app
        .auth_post(
            "/api/auth/revoke-other-sessions",
            &ada.session_token,
            &json!({}),
        )
        .await;
    assert_eq!(everywhere.status(), StatusCode::OK);
    let opened = open_as(&app, &ada, &approval.link()).await;
    assert_eq!(
        location(&opened),
        "/email-verified?error=INVALID_TOKEN",
        "the move the thief asked for before signing out is cancelled"
    );
}

#[tokio::test]
async fn an_approved_moves_link_goes_with_the_session_that_asked_for_the_move() {
    let app = TestApp::spawn().await;
    let ada = verified_user(&app).await;
    let thief = app.another_session(&ada).await;
    let theirs = new_address();
    change_email_from(&app, &thief, &theirs).await;
    let approval = app.mail.messages_to(&ada.email, 2).await.pop().unwrap();
    // Ada approves it, in her own browser, without reading what she approves.
    let approved = open_as(&app, &ada, &approval.link()).await;
    assert_eq!(location(&approved), "/email-verified?approved=true");
    let link = app.mail.message_to(&theirs).await.link();
    let revoked = app
        .auth_post(
            "/api/auth/revoke-session",
            &ada.session_token,
            &json!({ "token": thief }),
        )
        .await;
    assert_eq!(
        revoked.json::<Value>().await.unwrap(),
        json!({"status": true})
    );
    assert_eq!(
        location(&open(&app, &link).await),
        "/email-verified?error=INVALID_TOKEN",
        "asked for by the revoked session, though approved from another"
    );
    assert_eq!(app.user_of(&ada.session_token).await.email, ada.email);
}

#[tokio::test]
async fn a_session_older_than_a_day_may_not_change_the_address() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let mut db = app.direct_connection().await;
    sqlx::query(
        "update sessions set created_at = '2000-01-01T00:00:00.000000Z' where user_id = $1",
    )
    .bind(&ada.id)
    .execute(&mut db)
    .await
    .unwrap();
    let refused = change_email(&app, &ada, &new_address()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(refused).await, "SESSION_NOT_FRESH");
}

#[tokio::test]
async fn fetching_a_new_address_link_moves_nothing_until_its_button_is_pressed() {
    let app = TestApp::spawn().await;
    let mallory = app.new_user().await;
    let victim = new_address();
    change_email(&app, &mallory, &victim).await;
    let link = app.mail.message_to(&victim).await.link();
    let says = format!("Move your Taskboard account to {victim}.");
    let page = fetched(&app, &link, &says).await;
    assert!(
        !page.contains(&mallory.email),
        "whoever reads the new address does not learn the account's current one"
    );
    assert_eq!(
        app.user_of(&mallory.session_token).await.email,
        mallory.email,
        "the victim's mail gateway fetching the link moves no account onto their address"
    );
    assert_eq!(
        app.sign_in(&victim, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(location(&open(&app, &link).await), "/email-verified");
    assert_eq!(app.user_of(&mallory.session_token).await.email, victim);
}

#[tokio::test]
async fn a_wrong_password_asks_nothing_of_either_address() {
    let app = TestApp::spawn().await;
    let ada = app.new_user().await;
    let new = new_address();
    let body = json!({ "newEmail": new, "password": "not the password at all" });
    let refused = change_email_with(&app, &ada, body).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(refused).await, "INVALID_PASSWORD");
    // Asked for after the refused one: once it is here, anything the first sent would be.
    let later = new_address();
    assert_eq!(
        change_email(&app, &ada, &later).await.status(),
        StatusCode::OK
    );
    app.mail.message_to(&later).await;
    assert!(app.mail.delivered_to(&new).is_empty());
    assert!(app.mail.delivered_to(&ada.email).is_empty());
}
