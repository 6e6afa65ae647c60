//! A running app per test and typed helpers to talk to it.

use app::auth::token::forge;
use leptos::config::LeptosOptions;
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};
use server::{
    config::{Config, Mode},
    Application,
};
use std::{
    collections::HashMap,
    net::TcpListener,
    process::{Child, Command},
    time::{Duration, Instant},
};

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

/// The `server` binary, started on a free port against a given database.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    workdir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts it with `RUST_LOG=log_level`, its output going to a log file of its own.
    pub async fn start(database_url: &str, log_level: &str) -> Self {
        Self::start_with(database_url, log_level, &[]).await
    }

    /// Like `start`, with extra configuration variables.
    pub async fn start_with(database_url: &str, log_level: &str, env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // Its own working directory, so a developer's `.env` is not read.
        let workdir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(workdir.path().join("server.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .current_dir(workdir.path())
            .env("DATABASE_URL", database_url)
            .env("JWT_SECRET_KEY", SECRET)
            .env("JWT_ISSUER", ISSUER)
            .env("JWT_AUDIENCE", AUDIENCE)
            .env("LEPTOS_OUTPUT_NAME", "taskboard")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", log_level)
            .envs(env.iter().copied())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("the server binary starts");
        let server = Self {
            child,
            port,
            workdir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(server.app().url("/health")).send().await {
                if response.status() == StatusCode::OK {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not answer /health within 30 s");
    }

    pub fn app(&self) -> TestApp {
        TestApp::remote(format!("http://127.0.0.1:{}", self.port), "")
    }

    /// Everything the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.workdir.path().join("server.log")).expect("log file")
    }

    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// Waits for the process to exit on its own and returns whether it exited cleanly.
    pub async fn exited_cleanly_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not exit within {limit:?}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new, empty database: on the PostgreSQL server of `TEST_DATABASE_URL` when it names
/// one (`scripts/with-postgres.sh` does), otherwise an SQLite file in a temporary directory.
pub struct TestDatabase {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub async fn fresh() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            url: fresh_database_url(&dir).await,
            _dir: dir,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }
}

/// A PostgreSQL test database is dropped with its test, even while the app under test
/// still holds connections to it (`with (force)`), so a long-lived `TEST_DATABASE_URL`
/// server does not fill up with them. (An SQLite one goes with its temporary directory.)
impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        if !self.is_postgres() {
            return;
        }
        let Some((_, name)) = self.url.rsplit_once('/') else {
            return;
        };
        let statement = format!("drop database if exists {name} with (force)");
        // Drop cannot await, and may run inside the test's runtime: a thread of its own.
        let dropped = std::thread::spawn(move || {
            use sqlx::{Connection, Executor};
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async {
                let mut admin = sqlx::AnyConnection::connect(&admin_url).await?;
                admin.execute(statement.as_str()).await.map(drop)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {name}: {dropped:?}");
        }
    }
}

async fn fresh_database_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            use sqlx::{Connection, Executor};
            sqlx::any::install_default_drivers();
            let name = format!("test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::AnyConnection::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute(format!("create database {name}").as_str())
                .await
                .expect("create the test database");
            let (server, _) = admin_url
                .rsplit_once('/')
                .expect("a database URL with a path");
            format!("{server}/{name}")
        }
        _ => format!("sqlite://{}/test.db?mode=rwc", dir.path().display()),
    }
}

/// Claims as this project issues them, for a user's session.
pub fn claims_for(user_id: &str, session_id: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": user_id, "email": "someone@example.com", "name": "Someone",
        "iat": now, "exp": now + 300, "iss": ISSUER, "aud": AUDIENCE,
        "jti": uuid::Uuid::new_v4().to_string(), "sid": session_id,
    })
}

/// Signs claims with the shared secret using an encoder independent of the app's.
pub fn mint(claims: &Value) -> String {
    forge::hs256(
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims,
        SECRET.as_bytes(),
    )
}

/// Better Auth's session cookie.
pub const SESSION_COOKIE: &str = "better-auth.session_token";

/// A session token signed as Better Auth signs its cookie, computed here apart from the
/// app's code: `token.<padded base64 HMAC-SHA256 of the token, keyed with the secret>`.
pub fn signed(token: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(token.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("{token}.{signature}")
}

/// A `Cookie` header carrying a session token as a browser holds it: signed, URL-encoded.
pub fn session_cookie(token: &str) -> String {
    let encoded: String =
        percent_encoding::utf8_percent_encode(&signed(token), percent_encoding::NON_ALPHANUMERIC)
            .collect();
    format!("{SESSION_COOKIE}={encoded}")
}

/// The session token a response's session cookie carries, once its signature is checked
/// to be Better Auth's.
pub fn session_token_set(response: &Response) -> Option<String> {
    let value = set_cookie(response, SESSION_COOKIE)?;
    let decoded = percent_encoding::percent_decode_str(&value)
        .decode_utf8()
        .expect("a URL-encoded cookie")
        .into_owned();
    let (token, _) = decoded.rsplit_once('.').expect("a signed session cookie");
    assert_eq!(
        decoded,
        signed(token),
        "the session cookie is signed as Better Auth signs it"
    );
    Some(token.to_owned())
}

/// The value a response sets for a cookie, if it sets it.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// Where a redirect sends the client.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `detail` of an error answer.
pub async fn detail(response: Response) -> Value {
    response.json::<Value>().await.expect("json error body")["detail"].clone()
}

pub fn www_authenticate(response: &Response) -> String {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The payload of a JWT, decoded without verification (to look at what was issued).
pub fn payload(jwt: &str) -> Value {
    segment(jwt, 1)
}

/// A time as the API sends it (RFC 3339), in Unix seconds, as JWT times are.
pub fn unix_secs(time: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp()
}

/// That an API token's `exp` is `lifetime_secs` from when its session began (a moment
/// before it was signed, perhaps in the second before), never past the session.
pub fn assert_lives_from_its_session(claims: &Value, session: &Value, lifetime_secs: i64) {
    let began = unix_secs(&session["createdAt"]);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp, began + lifetime_secs, "its session began at {began}");
    assert!(
        (began..=began + 1).contains(&iat),
        "signed at {iat}, its session began at {began}"
    );
}

/// The JSON of a JWT's segment `n` (0, the header; 1, the payload).
fn segment(jwt: &str, n: usize) -> Value {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let part = jwt.split('.').nth(n).expect("a JWT segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

/// Asserts that the tasks API refuses `token` with a 401 whose `detail` is `reason`.
pub async fn assert_refused(app: &TestApp, token: &str, reason: &str) {
    let response = app.get_tasks(token, "").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{reason}");
    assert_eq!(detail(response).await, reason);
}

/// The `kid` of a JWT's header.
pub fn kid(jwt: &str) -> String {
    segment(jwt, 0)["kid"].as_str().expect("a kid").to_owned()
}

/// The JWT with segment `n` (0, the header; 1, the payload) replaced by `json` and its
/// signature kept: what an attacker can make of a genuine token.
pub fn with_segment(jwt: &str, n: usize, json: &Value) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    parts[n] = URL_SAFE_NO_PAD.encode(json.to_string());
    parts.join(".")
}

/// The JWT with its `sub` claim changed and its signature kept.
pub fn with_other_subject(jwt: &str) -> String {
    let mut claims = payload(jwt);
    claims["sub"] = serde_json::json!("someone-else");
    with_segment(jwt, 1, &claims)
}

/// Asserts that a server function refused arguments it could not read as a client's
/// mistake: a 400 whose body is the error as server functions answer every error (the
/// page's client reads it back as an `AppError`), in words of the app's own, never the
/// deserializer's (`missing field`, `invalid digit`), which describe the request back.
pub async fn assert_unreadable_arguments_refused(response: Response) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.expect("a body");
    assert_eq!(
        serde_json::from_str::<app::error::AppError>(&body).ok(),
        Some(app::error::AppError::BadRequest),
        "{body}"
    );
    for deserializers_words in ["missing field", "invalid digit", "deserializ", "argument"] {
        assert!(!body.contains(deserializers_words), "{body}");
    }
}

/// The Better Auth `code` of an error answer.
pub async fn code(response: Response) -> String {
    let body: Value = response.json().await.expect("json");
    body["code"].as_str().unwrap_or_default().to_owned()
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
}

/// Where a test app's emails arrive: the SMTP server of the run (`TEST_SMTP_URL`, which
/// `scripts/with-smtp.sh` starts for the test command; its maildir is `TEST_SMTP_DIR`),
/// or, when the run has none, the app's own development outbox in a temporary directory.
pub struct Mailbox {
    dir: std::path::PathBuf,
    smtp_url: Option<String>,
    _outbox: Option<tempfile::TempDir>,
}

/// A message as it was delivered: its subject, its text part, its HTML part.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub from: String,
}

/// `request` with the cookies of a browser signed in as `user`, if anyone: its session
/// and its access token.
fn in_browser_of(
    request: reqwest::RequestBuilder,
    user: Option<&TestUser>,
) -> reqwest::RequestBuilder {
    match user {
        Some(user) => request.header(
            header::COOKIE,
            format!(
                "{}; access_token={}",
                session_cookie(&user.session_token),
                user.jwt
            ),
        ),
        None => request,
    }
}

/// The server function behind the button of an emailed link's page.
const CONFIRM_EMAIL: &str = "/fn/confirm-email";

/// The names and values of the inputs of the form in `html` that posts to `server_fn`,
/// as a browser sends them; `None` when the page has no such form.
fn form_fields(html: &str, server_fn: &str) -> Option<Vec<(String, String)>> {
    let action = html.find(&format!("action=\"{server_fn}\""))?;
    let form = &html[html[..action].rfind("<form")?..];
    let form = &form[..form.find("</form>")?];
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let value = &tag[start..start + tag[start..].find('"')?];
        Some(html_escape::decode_html_entities(value).into_owned())
    };
    Some(
        form.split("<input")
            .skip(1)
            .filter_map(|input| {
                let tag = &input[..input.find('>')?];
                Some((
                    attribute(tag, "name")?,
                    attribute(tag, "value").unwrap_or_default(),
                ))
            })
            .collect(),
    )
}

impl Delivered {
    /// The link the message carries: to the page that confirms a verification, an
    /// approval or a change of address, or a reset link into the API.
    pub fn link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|word| {
                word.starts_with("http")
                    && (word.contains("/confirm-email?")
                        || word.contains("/api/auth/reset-password/"))
            })
            .unwrap_or_else(|| panic!("no link in {:?}", self.text))
            .to_owned()
    }

    /// The token in the message's link: its last path segment, or its `token` query.
    pub fn token(&self) -> String {
        let link = url::Url::parse(&self.link()).expect("a URL");
        link.query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| {
                link.path_segments()
                    .and_then(|mut s| s.next_back())
                    .expect("a token")
                    .to_owned()
            })
    }
}

impl Mailbox {
    fn for_this_run() -> Self {
        match (
            std::env::var("TEST_SMTP_URL"),
            std::env::var("TEST_SMTP_DIR"),
        ) {
            (Ok(url), Ok(dir)) => Self {
                dir: std::path::Path::new(&dir).join("new"),
                smtp_url: Some(url),
                _outbox: None,
            },
            _ => {
                let outbox = tempfile::tempdir().expect("an outbox directory");
                Self {
                    dir: outbox.path().to_path_buf(),
                    smtp_url: None,
                    _outbox: Some(outbox),
                }
            }
        }
    }

    /// The development outbox in `dir`, as an app with no SMTP server writes it.
    pub fn outbox(dir: &std::path::Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            smtp_url: None,
            _outbox: None,
        }
    }

    /// The app's configuration for sending here.
    fn settings(&self) -> Vec<(&'static str, String)> {
        match &self.smtp_url {
            Some(url) => vec![
                ("SMTP_URL", url.clone()),
                (
                    "MAIL_FROM",
                    "Taskboard tests <tests@taskboard.test>".to_owned(),
                ),
            ],
            None => vec![("MAIL_OUTBOX_DIR", self.dir.display().to_string())],
        }
    }

    /// Whether the messages go through an SMTP server.
    pub fn is_smtp(&self) -> bool {
        self.smtp_url.is_some()
    }

    /// Every message delivered to `address` so far, oldest first.
    pub fn delivered_to(&self, address: &str) -> Vec<Delivered> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, Vec<u8>)> = entries
            .flatten()
            .filter_map(|entry| {
                let modified = entry.metadata().ok()?.modified().ok()?;
                Some((modified, std::fs::read(entry.path()).ok()?))
            })
            .collect();
        files.sort_by_key(|(modified, _)| *modified);
        files
            .iter()
            .filter_map(|(_, raw)| {
                let mail = mailparse::parse_mail(raw).ok()?;
                let header = |name: &str| {
                    use mailparse::MailHeaderMap;
                    mail.headers.get_first_value(name).unwrap_or_default()
                };
                // The maildir's envelope recipient, else (the outbox) the `To` header.
                let to = Some(header("X-RcptTo"))
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| header("To"));
                if !to.eq_ignore_ascii_case(address) {
                    return None;
                }
                let part = |kind: &str| {
                    mail.subparts
                        .iter()
                        .find(|p| p.ctype.mimetype == kind)
                        .and_then(|p| p.get_body().ok())
                        .unwrap_or_default()
                };
                Some(Delivered {
                    subject: header("Subject"),
                    text: part("text/plain"),
                    html: part("text/html"),
                    from: header("From"),
                })
            })
            .collect()
    }

    /// The newest message to `address`, waiting for it to arrive (sending happens after
    /// the answer).
    pub async fn message_to(&self, address: &str) -> Delivered {
        self.messages_to(address, 1).await.pop().expect("a message")
    }

    /// The messages to `address` once there are at least `count`, waiting for them.
    pub async fn messages_to(&self, address: &str, count: usize) -> Vec<Delivered> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let delivered = self.delivered_to(address);
            if delivered.len() >= count {
                return delivered;
            }
            assert!(
                Instant::now() < deadline,
                "{count} messages to {address} did not arrive in 15 s (got {})",
                delivered.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
