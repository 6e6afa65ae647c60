//! The `server` binary as a process of its own, and the databases tests run on.

use super::{TestApp, AUDIENCE, ISSUER, SECRET};
use reqwest::StatusCode;
use std::{
    net::TcpListener,
    process::{Child, Command},
    time::{Duration, Instant},
};

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
