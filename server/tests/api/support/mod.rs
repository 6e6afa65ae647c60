//! A running app per test and typed helpers to talk to it.

use leptos::config::LeptosOptions;
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};
use server::{
    config::{Config, Mode},
    Application,
};
use std::{collections::HashMap, time::Duration};

mod mail;
mod process;
mod tokens;

pub use mail::*;
pub use process::*;
pub use tokens::*;

pub const SECRET: &str = "api-test-secret-0123456789-abcdefghijklmnop";
pub const ISSUER: &str = "https://auth.test.example";
pub const AUDIENCE: &str = "tasks-api";
pub const PASSWORD: &str = "correct horse battery staple";
/// The address the admin of a test signs up with before being made admin.
pub const ADMIN_EMAIL: &str = "admin@example.com";

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub client: reqwest::Client,
    /// Where the app's emails arrive.
    pub mail: Mailbox,
    /// The app's clock, when it runs in this process; `advance` moves it.
    clock: Option<app::clock::Clock>,
    _db: Option<TestDatabase>,
}

pub struct TestUser {
    pub id: String,
    pub email: String,
    pub session_token: String,
    pub jwt: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// An app with extra configuration variables on top of the test defaults.
    pub async fn spawn_with(extra: &[(&'static str, &str)]) -> Self {
        let db = TestDatabase::fresh().await;
        let mut app = Self::start(&db.url, extra).await;
        app._db = Some(db);
        app
    }

    /// An app on a database that the caller owns.
    pub async fn spawn_on(database_url: &str) -> Self {
        Self::start(database_url, &[]).await
    }

    /// An app on a database that the caller owns, with extra configuration variables.
    pub async fn spawn_on_with(database_url: &str, extra: &[(&'static str, &str)]) -> Self {
        Self::start(database_url, extra).await
    }

    async fn start(database_url: &str, extra: &[(&'static str, &str)]) -> Self {
        let mail = Mailbox::for_this_run();
        let vars: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", database_url.to_owned()),
            ("JWT_SECRET_KEY", SECRET.to_owned()),
            ("JWT_ISSUER", ISSUER.to_owned()),
            ("JWT_AUDIENCE", AUDIENCE.to_owned()),
        ]);
        let vars: HashMap<&str, String> = vars
            .into_iter()
            .chain(mail.settings())
            .chain(extra.iter().map(|(k, v)| (*k, (*v).to_owned())))
            .collect();
        let leptos_options = LeptosOptions::builder()
            .output_name("taskboard")
            .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .build();
        let config = Config::from_lookup(
            |name| vars.get(name).cloned(),
            leptos_options,
            Mode::Release,
        )
        .expect("test configuration");
        let clock = config.clock.clone();
        let app = Application::build(config).await.expect("app builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        Self {
            mail,
            clock: Some(clock),
            ..Self::remote(base, database_url)
        }
    }

    /// A client for an app that runs elsewhere, such as a server process of its own.
    pub fn remote(base: String, database_url: &str) -> Self {
        Self {
            base,
            database_url: database_url.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            mail: Mailbox::for_this_run(),
            clock: None,
            _db: None,
        }
    }

    /// The sessions `list-sessions` answers for the user of this session.
    pub async fn sessions_of(&self, session_token: &str) -> Vec<Value> {
        self.auth_get("/api/auth/list-sessions", session_token)
            .await
            .json()
            .await
            .expect("a list of sessions")
    }

    /// The time now, for the app.
    pub fn now(&self) -> app::clock::Timestamp {
        self.clock.clone().unwrap_or_default().now()
    }

    /// The session of a session token, as `get-session` answers it; `None` when it has
    /// ended (the answer is `null`).
    pub async fn session(&self, session_token: &str) -> Option<LiveSession> {
        let response = self.auth_get("/api/auth/get-session", session_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("get-session's shape")
    }

    /// The user of a live session, as `get-session` answers it.
    pub async fn user_of(&self, session_token: &str) -> UserBody {
        self.session(session_token)
            .await
            .expect("a live session")
            .user
    }

    /// Lets `by` pass for the app, instead of sleeping: its clock moves forward, and
    /// with it every expiry, window and grace period it judges.
    pub fn advance(&self, by: Duration) {
        self.clock
            .as_ref()
            .expect("the clock of an app that runs in this process")
            .advance(by);
    }

    /// A connection of its own to the app's database, for tests that go behind its back.
    pub async fn direct_connection(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.database_url)
            .await
            .expect("a direct connection to the test database")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` the app listens on, for tests that speak TCP themselves.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Signs in from another loopback address (the whole of 127.0.0.0/8 reaches the app),
    /// so the app sees another client.
    pub async fn sign_in_from(&self, address: [u8; 4], email: &str, password: &str) -> Response {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(address))
            .build()
            .expect("client")
            .post(self.url("/api/auth/sign-in/email"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// Posts a form to a server function as a browser without wasm does: urlencoded,
    /// from a page of this site, asking for HTML (so errors come back as a redirect).
    pub async fn post_form(
        &self,
        server_fn: &str,
        page: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        self.post_form_from(server_fn, &self.url(page), fields, None)
            .await
    }

    /// `post_form` from the page at `page_url`, in a browser signed in as `user` if
    /// anyone.
    pub async fn post_form_from(
        &self,
        server_fn: &str,
        page_url: &str,
        fields: &[(&str, &str)],
        user: Option<&TestUser>,
    ) -> Response {
        in_browser_of(self.client.post(self.url(server_fn)), user)
            .header(header::ORIGIN, &self.base)
            .header(header::REFERER, page_url)
            .header(header::ACCEPT, "text/html")
            .form(fields)
            .send()
            .await
            .expect("request")
    }

    /// Follows an emailed link as a person does, in a browser signed in as `user` if
    /// anyone, without following the redirect it ends in. A reset link is an API route
    /// that redirects to the page with the form: that answer. The other links lead to a
    /// page that says what the link does; the person presses its button, which posts
    /// its form (as a browser without wasm does): that answer. A link that cannot be
    /// used has a page that says why, and no button; what its form would have posted is
    /// posted anyway, to show the server refuses it too.
    pub async fn follow_link(&self, link: &str, user: Option<&TestUser>) -> Response {
        let opened = in_browser_of(self.client.get(link), user)
            .send()
            .await
            .expect("request");
        if !link.contains("/confirm-email?") {
            return opened;
        }
        assert_eq!(opened.status(), StatusCode::OK, "{link}");
        let page = opened.text().await.expect("the page");
        let fields = match form_fields(&page, CONFIRM_EMAIL) {
            Some(fields) => {
                assert!(
                    page.contains("your Taskboard account"),
                    "the page says what confirming does: {page}"
                );
                fields
            }
            None => {
                assert!(
                    page.contains("That link did not work"),
                    "neither a button nor why not: {page}"
                );
                let link = url::Url::parse(link).expect("a URL");
                let query = |key: &str| {
                    link.query_pairs()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                vec![
                    ("token".to_owned(), query("token")),
                    ("callback_url".to_owned(), query("callbackURL")),
                ]
            }
        };
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        self.post_form_from(CONFIRM_EMAIL, link, &fields, user)
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn sign_up(&self, name: &str, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/sign-up/email",
            &json!({"name": name, "email": email, "password": password}),
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/sign-in/email",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Signs `user` in again, with `PASSWORD`: the token of their new session.
    pub async fn another_session(&self, user: &TestUser) -> String {
        let response = self.sign_in(&user.email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("session token").to_owned()
    }

    /// Signs up a new user with a unique email and fetches a JWT for them.
    pub async fn new_user(&self) -> TestUser {
        self.user_with_email(&format!("user-{}@example.com", uuid::Uuid::new_v4()))
            .await
    }

    /// Signs up a user with this email and fetches a JWT for them.
    pub async fn user_with_email(&self, email: &str) -> TestUser {
        let email = email.to_owned();
        let response = self.sign_up("Test User", &email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        let session_token = body["token"].as_str().expect("session token").to_owned();
        let id = body["user"]["id"].as_str().expect("user id").to_owned();
        let jwt = self.jwt_for(&session_token).await;
        TestUser {
            id,
            email,
            session_token,
            jwt,
        }
    }

    /// Signs up a user and makes them an admin the way `server make-admin` does (nobody
    /// is made admin at sign-up); their JWT is fetched after, so it carries the role.
    pub async fn admin(&self, database_url: &str) -> TestUser {
        let mut admin = self.user_with_email(ADMIN_EMAIL).await;
        make_admin(database_url, ADMIN_EMAIL).await;
        admin.jwt = self.jwt_for(&admin.session_token).await;
        admin
    }

    /// The audit log's events that match `query` (`event=…`, `outcome=…`), read through
    /// the admin API.
    pub async fn audit_events(&self, admin_session: &str, query: &str) -> Vec<Value> {
        let response = self
            .auth_get(&format!("/api/auth/admin/audit-log?{query}"), admin_session)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["events"].as_array().expect("an events list").clone()
    }

    /// Disables a user as `admin_session`'s admin, through the admin API.
    pub async fn ban(&self, admin_session: &str, user_id: &str) {
        let banned = self
            .auth_post(
                "/api/auth/admin/ban-user",
                admin_session,
                &json!({ "userId": user_id }),
            )
            .await;
        assert_eq!(banned.status(), StatusCode::OK);
    }

    /// A plain GET, with no credentials.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn jwt_for(&self, session_token: &str) -> String {
        let response = self.auth_get("/api/auth/token", session_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("jwt").to_owned()
    }

    pub async fn auth_get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// What the browser does when an access token has expired: the session cookie is
    /// exchanged at the `refresh` server function for new cookies.
    pub async fn browser_refresh(&self, session_token: &str) -> Response {
        self.client
            .post(self.url("/fn/refresh"))
            .header(header::COOKIE, session_cookie(session_token))
            .header(header::ORIGIN, &self.base)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .send()
            .await
            .expect("request")
    }

    pub async fn auth_post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_tasks(&self, token: &str, query: &str) -> Response {
        self.auth_get(&format!("/api/tasks{query}"), token).await
    }

    pub async fn get_task(&self, token: &str, id: &str) -> Response {
        self.auth_get(&format!("/api/tasks/{id}"), token).await
    }

    /// Fetches the task with `id` and returns its JSON.
    pub async fn fetch_task(&self, token: &str, id: &str) -> Value {
        let response = self.get_task(token, id).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    pub async fn post_task(&self, token: &str, body: &Value) -> Response {
        self.auth_post("/api/tasks", token, body).await
    }

    /// Creates a task and returns its JSON.
    pub async fn create_task(&self, token: &str, title: &str) -> Value {
        let response = self.post_task(token, &json!({ "title": title })).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("json")
    }

    pub async fn patch_task(&self, token: &str, id: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(&format!("/api/tasks/{id}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete_task(&self, token: &str, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/api/tasks/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }
}

/// Gives the user with this email the admin role, through the code `server make-admin`
/// runs, as `--unverified` does: the test admin's address is not verified.
pub async fn make_admin(database_url: &str, email: &str) {
    let database = server::database::Database::parse(database_url).expect("a database URL");
    let db = server::database::connect(&database)
        .await
        .expect("a pool on the test database");
    app::admin::service::make_admin(&db, email, app::admin::service::Unverified::Allow)
        .await
        .expect("the user is made admin");
    db.close().await;
}

/// What `get-session` answers while a session is live: Better Auth's `{session, user}`.
#[derive(Debug, serde::Deserialize)]
pub struct LiveSession {
    pub session: SessionBody,
    pub user: UserBody,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    pub id: String,
    pub expires_at: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    pub id: String,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub two_factor_enabled: Option<bool>,
}
