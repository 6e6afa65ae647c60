//! The database: which one a URL names, decided once, and the pool opened on it.
//!
//! Every difference between SQLite and PostgreSQL that the server cares about is a method
//! of `Backend`: the pool's size, whether connections are pinged before use, the
//! pragmas a new connection gets, and where an SQLite file lives. The SQL itself is the
//! same on both (sqlx's `Any` driver, portable schema).

use anyhow::Context;
use app::private_files::{create_private, make_private, private_dir};
use sqlx::{any::AnyPoolOptions, sqlite::SqliteConnectOptions, AnyPool, Executor};
use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

/// A database URL and what it names. Its `Debug` hides the URL's password.
#[derive(Clone, PartialEq, Eq)]
pub struct Database {
    pub url: String,
    pub backend: Backend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `file` is `None` for an in-memory database.
    Sqlite {
        file: Option<PathBuf>,
    },
    Postgres,
}

impl Database {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("DATABASE_URL={url} is not an SQLite URL"))?;
            let file = options.get_filename();
            // In-memory databases are named `file:…` and have no file on disk.
            let on_disk =
                !file.as_os_str().is_empty() && !file.to_string_lossy().starts_with("file:");
            Backend::Sqlite {
                file: on_disk.then(|| file.to_path_buf()),
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            anyhow::bail!(
                "DATABASE_URL={} names neither SQLite (sqlite://path) nor PostgreSQL \
                 (postgres://…)",
                redact_url(url)
            )
        };
        Ok(Self {
            url: url.to_owned(),
            backend,
        })
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &redact_url(&self.url))
            .field("backend", &self.backend)
            .finish()
    }
}

impl Backend {
    /// The directory an SQLite file lives in.
    pub fn data_dir(&self) -> Option<&Path> {
        match self {
            Self::Sqlite { file: Some(file) } => file.parent(),
            _ => None,
        }
    }

    /// How many connections the pool opens at most.
    ///
    /// sqlx gives every SQLite connection an OS thread of its own, and SQLite writes one at
    /// a time, so past two connections per core more of them only add threads fighting over
    /// the cores. Measured on 2 cores (`scripts/bench-load.sh`): 16 connections and 4
    /// served `GET /api/tasks` equally fast alone, but during 20 concurrent sign-ins its
    /// p99 was 20 to 24 ms with 16 and 14 to 17 ms with 4. PostgreSQL connections are
    /// processes of a server that usually has cores of its own.
    fn max_connections(&self) -> u32 {
        match self {
            Self::Sqlite { .. } => {
                let cores =
                    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
                u32::try_from(2 * cores).unwrap_or(u32::MAX)
            }
            Self::Postgres => 16,
        }
    }

    /// sqlx pings every connection as it leaves the pool and again as it comes back.
    /// Each ping is a round trip to the thread that owns a SQLite connection, and those
    /// thread hand-offs, not SQL, were most of an API request's cost. An embedded database
    /// has no network link that could have died while the connection sat idle, so SQLite
    /// keeps only the ping on return; PostgreSQL keeps both, so a connection the server
    /// closed is found before a request uses it.
    fn test_before_acquire(&self) -> bool {
        matches!(self, Self::Postgres)
    }

    /// What every new connection runs first. For SQLite: WAL lets readers work during a
    /// write, and the busy timeout makes concurrent writers wait instead of failing with
    /// SQLITE_BUSY.
    fn connection_setup(&self) -> Option<&'static str> {
        match self {
            Self::Sqlite { .. } => Some(
                "pragma journal_mode = wal; pragma busy_timeout = 5000; \
                 pragma foreign_keys = on; pragma synchronous = normal;",
            ),
            Self::Postgres => None,
        }
    }
}

/// Opens the pool and runs the embedded migrations; fails loudly if either fails.
pub async fn connect(database: &Database) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    if let Backend::Sqlite { file: Some(file) } = &database.backend {
        keep_private(file, creates_missing_file(&database.url))?;
    }
    let pool = open(database, database.backend.max_connections()).await?;
    sqlx::migrate!("../app/migrations")
        .run(&pool)
        .await
        .context("database migrations failed")?;
    Ok(pool)
}

/// The SQLite file and the `-wal` and `-shm` files beside it hold every password hash,
/// session and key of the server: they are for this user alone, as the secret file and
/// the outbox are. The directory, when the server makes it, is 0700; a new database file
/// is made here, 0600, before SQLite opens it (when the URL lets SQLite create one,
/// `?mode=rwc`), because SQLite gives the `-wal` and `-shm` files it makes the
/// permissions of the main file. Files that others could read already (a database made
/// before) lose those permissions, said once in the log; where that is not allowed (a
/// file of another owner, shared on purpose) the server says so and starts.
fn keep_private(file: &Path, create: bool) -> anyhow::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)
            .with_context(|| format!("cannot create the database directory {}", dir.display()))?;
    }
    if create {
        create_private(file)
            .with_context(|| format!("cannot create the database file {}", file.display()))?;
    }
    let mut tightened = Vec::new();
    for path in database_files(file) {
        match make_private(&path) {
            Ok(Some(mode)) => tightened.push(format!("{} (was {mode:o})", path.display())),
            Ok(None) => {}
            Err(cause) => tracing::warn!(
                path = %path.display(),
                %cause,
                "cannot check or narrow the permissions of a database file"
            ),
        }
    }
    if !tightened.is_empty() {
        tracing::warn!(
            files = %tightened.join(", "),
            "the database files could be read by other users: made them readable by this \
             user alone"
        );
    }
    Ok(())
}

/// An SQLite database file and the `-wal` and `-shm` files SQLite keeps beside it.
fn database_files(file: &Path) -> [PathBuf; 3] {
    ["", "-wal", "-shm"].map(|suffix| {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        PathBuf::from(path)
    })
}

/// Whether the URL lets SQLite create a missing file (`?mode=rwc`), read as sqlx reads it.
fn creates_missing_file(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        url::form_urlencoded::parse(query.as_bytes())
            .any(|(key, value)| key == "mode" && value == "rwc")
    })
}

/// A pool of its own for reading the revocation log (`auth::revocations::follow`): with
/// the request pool saturated, a read that waited for one of its connections would leave
/// the process behind the log, and send every request to the database when it is
/// busiest. An in-memory database exists only in its pool, which the reads then share.
pub async fn log_reader(database: &Database, pool: &AnyPool) -> anyhow::Result<AnyPool> {
    if database.backend == (Backend::Sqlite { file: None }) {
        return Ok(pool.clone());
    }
    open(database, 1).await
}

async fn open(database: &Database, max_connections: u32) -> anyhow::Result<AnyPool> {
    let setup = database.backend.connection_setup();
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(database.backend.test_before_acquire())
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(setup) = setup {
                    conn.execute(setup).await?;
                }
                Ok(())
            })
        })
        .connect(&database.url)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(&database.url)))
}

/// A database URL without its user, password or query (which may hold a password too),
/// for messages.
fn redact_url(url: &str) -> String {
    // The last `@` first: a password may itself hold `?`.
    let (scheme, after_userinfo) = match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => (Some(scheme), &url[at + 1..]),
        _ => (None, url),
    };
    let host_and_path = after_userinfo.split('?').next().unwrap_or_default();
    match scheme {
        Some(scheme) => format!("{scheme}://…@{host_and_path}"),
        None => host_and_path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_its_backend_and_sqlite_its_file() {
        assert_eq!(
            Database::parse("sqlite://data/taskboard.db?mode=rwc")
                .unwrap()
                .backend,
            Backend::Sqlite {
                file: Some(PathBuf::from("data/taskboard.db"))
            }
        );
        assert_eq!(
            Database::parse("sqlite::memory:").unwrap().backend,
            Backend::Sqlite { file: None }
        );
        assert_eq!(
            Database::parse("postgres://u:p@db/tasks").unwrap().backend,
            Backend::Postgres
        );
        let error = Database::parse("mysql://u:secret@db/tasks")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("DATABASE_URL") && !error.contains("secret"),
            "{error}"
        );
    }

    #[test]
    fn a_database_never_prints_its_password() {
        for url in [
            "postgres://u:secret@db/tasks",
            "postgres://db/tasks?user=u&password=secret",
            "postgres://u:pa?secret@db/tasks",
        ] {
            let printed = format!("{:?}", Database::parse(url).unwrap());
            assert!(!printed.contains("secret"), "{printed}");
        }
    }

    /// The permission bits of a file or directory, in octal.
    #[cfg(unix)]
    fn mode(path: &Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| format!("{:o}", m.permissions().mode() & 0o777))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_its_log_and_its_directory_are_readable_by_this_user_alone() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        let file = dir.join("app.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let pool = connect(&Database::parse(&url).unwrap()).await.unwrap();
        // A write after the migrations': the write-ahead log and its index are on disk.
        pool.execute("create table written (x)").await.unwrap();
        assert_eq!(mode(&dir), "700", "the directory the server made");
        for path in database_files(&file) {
            assert_eq!(mode(&path), "600", "{}", path.display());
        }
        pool.close().await;
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_database_others_could_read_is_made_private_at_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.db");
        for path in database_files(&file).iter().take(2) {
            std::fs::write(path, "").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let pool = connect(&Database::parse(&url).unwrap()).await.unwrap();
        pool.execute("create table written (x)").await.unwrap();
        for path in database_files(&file) {
            assert_eq!(mode(&path), "600", "{}", path.display());
        }
        pool.close().await;
    }

    #[test]
    fn a_database_file_is_made_only_where_the_url_lets_sqlite_make_one() {
        assert!(creates_missing_file("sqlite://data/app.db?mode=rwc"));
        assert!(creates_missing_file(
            "sqlite://data/app.db?cache=shared&mode=rwc"
        ));
        assert!(!creates_missing_file("sqlite://data/app.db?mode=rw"));
        assert!(!creates_missing_file("sqlite://data/app.db"));
    }

    #[test]
    fn the_data_directory_is_the_sqlite_files() {
        let database = Database::parse("sqlite:///var/lib/taskboard/tasks.db").unwrap();
        assert_eq!(
            database.backend.data_dir(),
            Some(Path::new("/var/lib/taskboard"))
        );
        assert_eq!(
            Database::parse("postgres://db/x")
                .unwrap()
                .backend
                .data_dir(),
            None
        );
    }
}
