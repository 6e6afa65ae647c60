//! Configuration from the environment (and `.env`), validated once at start.

use crate::database::Database;
use anyhow::{bail, Context};
use app::{
    auth::{
        rate_limit::{Limit, RateLimits},
        token::{parse_algorithm, Secret, TokenSettings},
    },
    client::{ForwardingHeader, TrustedProxies},
    janitor::Retention,
    mail::MailSettings,
    private_files::{private_dir, write_private},
    state::SiteSettings,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use leptos::config::LeptosOptions;
use rand::RngCore;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/taskboard.db?mode=rwc";

/// Leptos's settings from the environment, where the build's own settings fill in what
/// the environment leaves out. cargo-leptos builds the site with hashed file names
/// (`hash-files` in Cargo.toml) and tells the compiler so; a release binary started
/// without `LEPTOS_HASH_FILES` would otherwise link `/pkg/taskboard.js` while the site
/// holds `taskboard.<hash>.js`, and serve every page unstyled and never hydrated.
pub fn site_options() -> anyhow::Result<LeptosOptions> {
    let mut options = leptos::config::get_configuration(None)?.leptos_options;
    options.hash_files = hash_files(
        std::env::var("LEPTOS_HASH_FILES").ok().as_deref(),
        option_env!("LEPTOS_HASH_FILES"),
    )?;
    Ok(options)
}

/// Whether page links name hashed files: as the environment says, else as the build did.
fn hash_files(run: Option<&str>, build: Option<&str>) -> anyhow::Result<bool> {
    match run.or(build) {
        None => Ok(false),
        Some(value) => value
            .trim()
            .parse()
            .with_context(|| format!("LEPTOS_HASH_FILES is {value:?}: write true or false")),
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub leptos_options: LeptosOptions,
    pub database: Database,
    pub tokens: TokenSettings,
    pub site: SiteSettings,
    /// Whether `BETTER_AUTH_URL` named the public URL. When it did not, the public origin
    /// is the address the server ends up listening on (port 0 is only known then).
    pub site_url_is_explicit: bool,
    pub rate_limits: RateLimits,
    pub connections: ConnectionLimits,
    pub retention: Retention,
    /// Whether `/openapi.json` and `/docs` are served (`API_DOCS`, default on: the
    /// document holds nothing secret).
    pub api_docs: bool,
    /// How often the janitor sweeps (`JANITOR_INTERVAL`).
    pub janitor_every: Duration,
    pub mail: MailSettings,
    /// What time it is: the system's, unless a test moves it forward.
    pub clock: app::clock::Clock,
}

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the start of a request (or of a kept-alive connection's wait for the next
    /// one) until its headers have arrived.
    pub header_read_timeout: Duration,
    /// A connection on which nothing has been read or written for this long is closed.
    pub idle_timeout: Duration,
    /// From a request's headers until its answer has started: 408 past it.
    pub request_timeout: Duration,
    /// Open connections at most; when reached, new ones wait in the kernel's queue.
    /// `None`: derived from the open-file limit at start.
    pub max_connections: Option<usize>,
    /// Open connections one client address may hold (trusted proxies excepted); more are
    /// closed at once.
    pub max_connections_per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: None,
            max_connections_per_client: 256,
        }
    }
}

/// Whether this is a development build: only then may a secret be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Release,
}

impl Mode {
    pub fn of_this_build() -> Self {
        if cfg!(debug_assertions) {
            Self::Development
        } else {
            Self::Release
        }
    }
}

impl Config {
    pub fn from_env(leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        Self::from_lookup(
            |name| std::env::var(name).ok(),
            leptos_options,
            Mode::of_this_build(),
        )
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        leptos_options: LeptosOptions,
        mode: Mode,
    ) -> anyhow::Result<Self> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let database = Database::parse(
            &var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
        )?;
        let site_url_is_explicit = var("BETTER_AUTH_URL").is_some();
        let site_url = var("BETTER_AUTH_URL")
            .unwrap_or_else(|| format!("http://{}", leptos_options.site_addr));
        let public_origin = origin_of("BETTER_AUTH_URL", &site_url)?;
        let issuer = var("JWT_ISSUER").unwrap_or_else(|| site_url.clone());
        let audience = match var("JWT_AUDIENCE") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            None => vec![issuer.clone()],
        };
        let secret = match (var("JWT_SECRET_KEY"), var("BETTER_AUTH_SECRET")) {
            (Some(a), Some(b)) if a != b => bail!(
                "JWT_SECRET_KEY and BETTER_AUTH_SECRET are both set and differ: \
                 set one of them, or both to the same value"
            ),
            (Some(secret), _) | (None, Some(secret)) => Secret::new(secret.into_bytes())
                .map_err(|e| anyhow::anyhow!("{e}: set JWT_SECRET_KEY to a random value of at least 32 bytes, e.g. `openssl rand -base64 48`"))?,
            (None, None) if mode == Mode::Development => development_secret(&database)?,
            (None, None) => bail!(
                "no JWT secret: set JWT_SECRET_KEY (or BETTER_AUTH_SECRET) to a random value of \
                 at least 32 bytes, e.g. `openssl rand -base64 48`"
            ),
        };
        let algorithm = parse_algorithm(&var("JWT_ALGORITHM").unwrap_or_else(|| "HS256".into()))
            .map_err(anyhow::Error::msg)?;
        let leeway_secs = parsed_var(
            &var,
            "JWT_LEEWAY_SECONDS",
            30,
            |v| v.parse().ok().filter(|l| (0..=300).contains(l)),
            "a number of seconds from 0 to 300",
        )?;
        let duration =
            |name, default| parsed_var(&var, name, default, parse_duration, DURATION_FORM);
        let lifetime_secs = duration("JWT_EXPIRES_IN", 15 * 60)?;
        let key_rotation_secs = var("JWT_KEY_ROTATION")
            .map(|v| {
                parse_duration(&v)
                    .with_context(|| format!("JWT_KEY_ROTATION={v} is not {DURATION_FORM}"))
            })
            .transpose()?;
        if key_rotation_secs.is_some() && !app::auth::signing_keys::is_asymmetric(algorithm) {
            bail!(
                "JWT_KEY_ROTATION rotates key pairs, and JWT_ALGORITHM={algorithm:?} signs with \
                 the shared secret: set JWT_ALGORITHM=EdDSA (or ES256, RS256), or unset it"
            );
        }
        let key_grace_secs = duration("JWT_KEY_GRACE_PERIOD", 24 * 3600)?;
        let jwks_url = var("JWT_JWKS_URL")
            .map(|url| {
                let origin = origin_of("JWT_JWKS_URL", &url)?;
                if origin.starts_with("http://") && !is_loopback(&origin) {
                    bail!(
                        "JWT_JWKS_URL={url}: whoever can change a JWKS fetched over plain \
                         http can sign tokens for anyone; use https"
                    );
                }
                Ok(url)
            })
            .transpose()?;
        let session_lifetime_secs = duration("SESSION_EXPIRES_IN", 7 * 24 * 3600)?;
        let session_update_age_secs = duration("SESSION_UPDATE_AGE", 24 * 3600)?;
        let refresh_reuse_interval_secs = parsed_var(
            &var,
            "REFRESH_REUSE_INTERVAL",
            10,
            |v| parse_duration(v).or_else(|| (v.trim() == "0").then_some(0)),
            DURATION_FORM,
        )?;
        let session_max_age_secs = duration("SESSION_MAX_AGE", 30 * 24 * 3600)?;
        if session_max_age_secs < session_lifetime_secs {
            bail!(
                "SESSION_MAX_AGE ({session_max_age_secs} s) is shorter than SESSION_EXPIRES_IN \
                 ({session_lifetime_secs} s): make it at least as long"
            );
        }
        let lost_refresh_window_secs = duration("REFRESH_LOST_ANSWER_WINDOW", 2 * 60)?;
        let max_tasks_per_user = parsed_var(
            &var,
            "MAX_TASKS_PER_USER",
            10_000,
            |v| v.parse().ok().filter(|n| *n > 0),
            "a positive number of tasks",
        )?;
        let forwarding_header = match var("TRUSTED_PROXY_HEADER") {
            Some(name) => ForwardingHeader::parse(&name)
                .map_err(|e| anyhow::anyhow!("TRUSTED_PROXY_HEADER={e}"))?,
            None => ForwardingHeader::default(),
        };
        let trusted_proxies = TrustedProxies::parse(
            &var("TRUSTED_PROXIES").unwrap_or_default(),
            forwarding_header,
        )
        .map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))?;
        let retention = Retention {
            audit_secs: parsed_var(
                &var,
                "AUDIT_RETENTION",
                Some(90 * 24 * 3600),
                // A bare number would be seconds: `90` meant as days would empty the log.
                |v| match v.trim() {
                    "0" => Some(None),
                    bare if bare.parse::<u64>().is_ok() => None,
                    other => parse_duration(other).map(Some),
                },
                "a duration with a unit (90d, 1y), or 0 to keep the audit log forever",
            )?,
            revocations_secs: app::auth::revocations::keep_secs(lifetime_secs, leeway_secs),
        };
        let cookie_prefix =
            var("BETTER_AUTH_COOKIE_PREFIX").unwrap_or_else(|| "better-auth".into());
        if !cookie_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!(
                "BETTER_AUTH_COOKIE_PREFIX={cookie_prefix} cannot start a cookie name: use \
                 letters, digits, '-', '_' and '.'"
            );
        }
        let cors_allowed_origins = var("CORS_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| allowed_origin(o, site_url.starts_with("https://"), mode))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if var("ADMIN_EMAILS").is_some() {
            tracing::warn!(
                "ADMIN_EMAILS no longer makes anyone an admin at sign-up (whoever registered a \
                 listed address first became admin); run `server make-admin <email>` instead"
            );
        }
        let seconds = |name, default: Duration| {
            parsed_var(
                &var,
                name,
                default,
                |v| Some(Duration::from_secs(parse_duration(v)?.try_into().ok()?)),
                DURATION_FORM,
            )
        };
        let connection_defaults = ConnectionLimits::default();
        let connections = ConnectionLimits {
            header_read_timeout: seconds(
                "HTTP_HEADER_READ_TIMEOUT",
                connection_defaults.header_read_timeout,
            )?,
            idle_timeout: seconds("HTTP_IDLE_TIMEOUT", connection_defaults.idle_timeout)?,
            request_timeout: seconds("HTTP_REQUEST_TIMEOUT", connection_defaults.request_timeout)?,
            max_connections: var("MAX_CONNECTIONS")
                .map(|v| {
                    v.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| format!("MAX_CONNECTIONS={v} is not a positive number"))
                })
                .transpose()?,
            max_connections_per_client: parsed_var(
                &var,
                "MAX_CONNECTIONS_PER_CLIENT",
                connection_defaults.max_connections_per_client,
                |v| v.parse().ok().filter(|n| *n > 0),
                "a positive number",
            )?,
        };
        if connections.request_timeout >= connections.idle_timeout {
            bail!(
                "HTTP_REQUEST_TIMEOUT must be shorter than HTTP_IDLE_TIMEOUT: a request still \
                 being worked on would be cut off as idle"
            );
        }
        let api_docs = parsed_var(&var, "API_DOCS", true, parse_flag, FLAG_FORM)?;
        let require_email_verification = parsed_var(
            &var,
            "REQUIRE_EMAIL_VERIFICATION",
            false,
            parse_flag,
            FLAG_FORM,
        )?;
        let mail = mail_settings(&var, &database, mode)?;
        let janitor_every = seconds("JANITOR_INTERVAL", app::janitor::SWEEP_EVERY)?;
        if janitor_every.is_zero() {
            bail!("JANITOR_INTERVAL must be longer than 0 s");
        }
        let limit = |name, default| parsed_var(&var, name, default, parse_limit, LIMIT_FORM);
        let defaults = RateLimits::default();
        let rate_limits = RateLimits {
            sign_in_per_address: limit("RATE_LIMIT_SIGN_IN", defaults.sign_in_per_address)?,
            failed_sign_ins_per_account: limit(
                "RATE_LIMIT_FAILED_SIGN_IN",
                defaults.failed_sign_ins_per_account,
            )?,
            sign_ups_per_address: limit("RATE_LIMIT_SIGN_UP", defaults.sign_ups_per_address)?,
            refreshes_per_address: limit("RATE_LIMIT_REFRESH", defaults.refreshes_per_address)?,
            task_writes_per_user: limit("RATE_LIMIT_TASK_WRITES", defaults.task_writes_per_user)?,
            api_tokens_per_user: limit("RATE_LIMIT_API_TOKENS", defaults.api_tokens_per_user)?,
            profile_updates_per_user: limit(
                "RATE_LIMIT_PROFILE_UPDATES",
                defaults.profile_updates_per_user,
            )?,
            emails_per_address: limit(
                "RATE_LIMIT_EMAILS_PER_ADDRESS",
                defaults.emails_per_address,
            )?,
            emails_per_account: limit(
                "RATE_LIMIT_EMAILS_PER_ACCOUNT",
                defaults.emails_per_account,
            )?,
            email_requests_per_client: limit(
                "RATE_LIMIT_EMAIL_REQUESTS",
                defaults.email_requests_per_client,
            )?,
            ..defaults
        };
        Ok(Self {
            leptos_options,
            database,
            tokens: TokenSettings {
                secret,
                algorithm,
                issuer,
                audience,
                lifetime_secs,
                // API tokens live as long as a session may: one that should outlive that
                // is a sign-in it never had.
                api_token_max_secs: session_max_age_secs,
                leeway_secs,
                key_rotation_secs,
                key_grace_secs,
                jwks_url,
            },
            site: SiteSettings {
                secure_cookies: site_url.starts_with("https://"),
                session_cookie: SiteSettings::session_cookie_name(
                    &cookie_prefix,
                    site_url.starts_with("https://"),
                ),
                cors_allowed_origins,
                public_origin,
                require_email_verification,
                reset_link_lifetime_secs: duration("RESET_PASSWORD_EXPIRES_IN", 3600)?,
                verification_link_lifetime_secs: duration(
                    "EMAIL_VERIFICATION_EXPIRES_IN",
                    24 * 3600,
                )?,
                session_lifetime_secs,
                session_update_age_secs,
                session_max_age_secs,
                refresh_reuse_interval_secs,
                lost_refresh_window_secs,
                max_tasks_per_user,
                trusted_proxies,
            },
            site_url_is_explicit,
            rate_limits,
            connections,
            retention,
            api_docs,
            janitor_every,
            mail,
            clock: app::clock::Clock::default(),
        })
    }
}

const FLAG_FORM: &str = "true or false";

fn parse_flag(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Where emails go: the SMTP server of `SMTP_URL` (which then needs `MAIL_FROM`), or the
/// outbox, `MAIL_OUTBOX_DIR` or `outbox/` beside the SQLite database. Only a development
/// build's outbox logs the links.
fn mail_settings(
    var: &impl Fn(&str) -> Option<String>,
    database: &Database,
    mode: Mode,
) -> anyhow::Result<MailSettings> {
    let smtp_url = var("SMTP_URL");
    if let Some(url) = &smtp_url {
        refuse_plaintext_smtp(url)?;
    }
    let from = match (var("MAIL_FROM"), &smtp_url) {
        (Some(from), _) => from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM={from} is not an address ({e}): use \"Taskboard <tasks@example.com>\" or tasks@example.com"))?,
        (None, Some(_)) => bail!(
            "SMTP_URL is set but MAIL_FROM is not: set MAIL_FROM to the address the emails \
             come from, e.g. \"Taskboard <tasks@example.com>\""
        ),
        (None, None) => "Taskboard <taskboard@localhost>"
            .parse()
            .expect("the outbox's sender is an address"),
    };
    let outbox_dir = var("MAIL_OUTBOX_DIR").map_or_else(
        || {
            database
                .backend
                .data_dir()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("data"), Path::to_path_buf)
                .join("outbox")
        },
        PathBuf::from,
    );
    Ok(MailSettings {
        smtp_url,
        from,
        outbox_dir,
        log_links: mode == Mode::Development,
    })
}

/// Refuses an SMTP server reached without TLS, unless it is on this machine: the password
/// (`AUTH PLAIN`) and every reset link would cross the network readable, and
/// `tls=opportunistic` is stripped by whoever sits in between. The error never repeats
/// the URL, which holds the password.
fn refuse_plaintext_smtp(smtp_url: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(smtp_url).map_err(|_| {
        anyhow::anyhow!("SMTP_URL is not a URL: use smtps://user:password@host:465 or smtp://user:password@host:587?tls=required")
    })?;
    let tls = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let encrypted = url.scheme() == "smtps" || tls.as_deref() == Some("required");
    if !encrypted && !is_loopback(smtp_url) {
        bail!(
            "SMTP_URL reaches {} without TLS: the SMTP password and every emailed link would \
             be readable on the way; use smtps://…:465 or smtp://…:587?tls=required (plain \
             smtp:// is for a relay on this machine)",
            url.host_str().unwrap_or("its host")
        );
    }
    Ok(())
}

/// The variable `name` parsed with `parse`, or `default` when unset; `form` says what
/// a valid value looks like.
fn parsed_var<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
    form: &str,
) -> anyhow::Result<T> {
    match var(name) {
        Some(v) => parse(&v).with_context(|| format!("{name}={v} is not {form}")),
        None => Ok(default),
    }
}

const DURATION_FORM: &str = "a duration: seconds, or a number with a unit (15m, 1h, 7d, 1h 30m)";
const LIMIT_FORM: &str = "a rate limit: use attempts/window, e.g. 10/1m";

/// Parses `10/1m` (ten attempts per minute) into a limit.
pub fn parse_limit(text: &str) -> Option<Limit> {
    let (attempts, window) = text.split_once('/')?;
    Some(Limit {
        attempts: attempts.trim().parse().ok().filter(|n| *n > 0)?,
        window: std::time::Duration::from_secs(parse_duration(window)?.try_into().ok()?),
    })
}

/// Parses a positive duration into whole seconds: bare seconds (`900`), or humantime's
/// forms (`90s`, `15m`, `1h`, `7d`, `2w`, `1h 30m`).
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let secs = match text.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => humantime::parse_duration(text).ok()?.as_secs(),
    };
    // Ten years at most: far past any sensible setting, and far from overflowing a clock.
    i64::try_from(secs)
        .ok()
        .filter(|secs| (1..=10 * 365 * 86_400).contains(secs))
}

/// `scheme://host[:port]` of a URL, which is what browsers send as `Origin`.
/// Normalised as browsers send it: lower-case host, no default port, no user-info.
fn origin_of(name: &str, url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .with_context(|| format!("{name}={url} is not an absolute http(s) URL"))?;
    Ok(parsed.origin().ascii_serialization())
}

/// One entry of `CORS_ALLOWED_ORIGINS`, normalised as browsers send it. A listed origin
/// may read answers that carry session tokens, so it must be one exact origin (no
/// wildcard), and beside an https site it must be https too (or, in development, this
/// machine): a page served over plain http can be rewritten by whoever is on the
/// network, and in production any local process may serve one.
fn allowed_origin(entry: &str, site_is_https: bool, mode: Mode) -> anyhow::Result<String> {
    if entry.contains('*') {
        bail!(
            "CORS_ALLOWED_ORIGINS={entry}: list each origin exactly; wildcards are not supported"
        );
    }
    let origin = origin_of("CORS_ALLOWED_ORIGINS", entry)?;
    let local_development = mode == Mode::Development && is_loopback(&origin);
    if site_is_https && origin.starts_with("http://") && !local_development {
        bail!(
            "CORS_ALLOWED_ORIGINS={entry}: the site is served over https, so a plain-http \
             origin may not read its answers; use https"
        );
    }
    Ok(origin)
}

/// Whether an origin is this machine: `localhost` or a loopback address.
fn is_loopback(origin: &str) -> bool {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|host| {
            host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        })
}

/// In development with no secret configured: a strong random secret, made once and kept
/// beside the SQLite file so sessions survive restarts.
fn development_secret(database: &Database) -> anyhow::Result<Secret> {
    let dir = database
        .backend
        .data_dir()
        .map(Path::to_path_buf)
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("data"));
    let file = dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        if let Ok(secret) = Secret::new(existing.trim().as_bytes().to_vec()) {
            tracing::info!(path = %file.display(), "using the development JWT secret");
            return Ok(secret);
        }
    }
    // Most often the database's directory, made here before the database is opened.
    private_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    write_private(&file, &secret).with_context(|| format!("cannot write {}", file.display()))?;
    tracing::warn!(
        path = %file.display(),
        "no JWT_SECRET_KEY set: generated a development secret; set JWT_SECRET_KEY in production"
    );
    Secret::new(secret.into_bytes()).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-long";

    #[test]
    fn a_binary_built_with_hashed_files_links_them_unless_told_otherwise() {
        assert!(hash_files(None, Some("true")).unwrap());
        assert!(!hash_files(Some("false"), Some("true")).unwrap());
        assert!(hash_files(Some("true"), None).unwrap());
        assert!(!hash_files(None, None).unwrap());
        assert!(!hash_files(None, Some("false")).unwrap());
        let error = hash_files(Some("yes"), Some("true")).unwrap_err();
        assert!(error.to_string().contains("LEPTOS_HASH_FILES"), "{error}");
    }

    fn config(vars: &[(&str, &str)], mode: Mode) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(
            |name| vars.get(name).cloned(),
            LeptosOptions::builder().output_name("taskboard").build(),
            mode,
        )
    }

    fn config_error(vars: &[(&str, &str)]) -> String {
        config(vars, Mode::Release).unwrap_err().to_string()
    }

    #[test]
    fn release_mode_refuses_to_start_without_a_secret() {
        let error = config(&[], Mode::Release).unwrap_err().to_string();
        assert!(error.contains("JWT_SECRET_KEY"), "{error}");
    }

    #[test]
    fn a_short_secret_is_refused_with_the_fix() {
        let error = config(&[("JWT_SECRET_KEY", "short")], Mode::Release)
            .unwrap_err()
            .to_string();
        assert!(error.contains("at least 32 bytes"), "{error}");
    }

    #[test]
    fn two_different_secrets_are_refused() {
        let vars = [
            ("JWT_SECRET_KEY", SECRET),
            ("BETTER_AUTH_SECRET", "another-secret-of-enough-length-000"),
        ];
        let error = config(&vars, Mode::Release).unwrap_err().to_string();
        assert!(error.contains("differ"), "{error}");
        assert!(
            !error.contains(SECRET),
            "the secret itself must not be printed"
        );
    }

    #[test]
    fn better_auth_names_are_accepted() {
        let config = config(
            &[
                ("BETTER_AUTH_SECRET", SECRET),
                ("BETTER_AUTH_URL", "https://tasks.example.com/app"),
            ],
            Mode::Release,
        )
        .unwrap();
        assert_eq!(config.tokens.issuer, "https://tasks.example.com/app");
        assert_eq!(config.tokens.audience, ["https://tasks.example.com/app"]);
        assert_eq!(config.site.public_origin, "https://tasks.example.com");
        assert!(config.site.secure_cookies);
    }

    #[test]
    fn the_public_origin_is_normalised_as_browsers_send_it() {
        let config = config(
            &[
                ("JWT_SECRET_KEY", SECRET),
                (
                    "BETTER_AUTH_URL",
                    "https://user:pw@Tasks.Example.com:443/app",
                ),
            ],
            Mode::Release,
        )
        .unwrap();
        assert_eq!(config.site.public_origin, "https://tasks.example.com");
        let error = config_error(&[
            ("JWT_SECRET_KEY", SECRET),
            ("BETTER_AUTH_URL", "tasks.example.com"),
        ]);
        assert!(error.contains("BETTER_AUTH_URL"), "{error}");
    }

    #[test]
    fn a_request_timeout_past_the_idle_timeout_is_refused() {
        let error = config_error(&[
            ("JWT_SECRET_KEY", SECRET),
            ("HTTP_REQUEST_TIMEOUT", "2m"),
            ("HTTP_IDLE_TIMEOUT", "1m"),
        ]);
        assert!(error.contains("HTTP_REQUEST_TIMEOUT"), "{error}");
    }

    #[test]
    fn the_janitor_sweeps_every_ten_minutes_unless_told_otherwise() {
        let default = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
        assert_eq!(default.janitor_every, Duration::from_secs(600));
        let often = config(
            &[("JWT_SECRET_KEY", SECRET), ("JANITOR_INTERVAL", "5s")],
            Mode::Release,
        )
        .unwrap();
        assert_eq!(often.janitor_every, Duration::from_secs(5));
        let error = config_error(&[("JWT_SECRET_KEY", SECRET), ("JANITOR_INTERVAL", "0")]);
        assert!(error.contains("JANITOR_INTERVAL"), "{error}");
    }

    #[test]
    fn smtp_without_tls_is_refused_unless_it_is_on_this_machine() {
        for refused in [
            "smtp://user:hunter2@mail.example.com:587",
            "smtp://user:hunter2@mail.example.com:587?tls=opportunistic",
        ] {
            let error = config_error(&[
                ("JWT_SECRET_KEY", SECRET),
                ("SMTP_URL", refused),
                ("MAIL_FROM", "tasks@example.com"),
            ]);
            assert!(error.contains("without TLS"), "{error}");
            assert!(
                !error.contains("hunter2"),
                "the password is not repeated: {error}"
            );
        }
        for accepted in [
            "smtps://user:hunter2@mail.example.com:465",
            "smtp://user:hunter2@mail.example.com:587?tls=required",
            "smtp://127.0.0.1:2525",
        ] {
            let config = config(
                &[
                    ("JWT_SECRET_KEY", SECRET),
                    ("SMTP_URL", accepted),
                    ("MAIL_FROM", "tasks@example.com"),
                ],
                Mode::Release,
            )
            .unwrap();
            assert!(
                !format!("{config:?}").contains("hunter2"),
                "Debug redacts it"
            );
        }
    }

    #[test]
    fn the_email_limits_are_read_from_their_variables() {
        let config = config(
            &[
                ("JWT_SECRET_KEY", SECRET),
                ("RATE_LIMIT_EMAILS_PER_ADDRESS", "1/1m"),
                ("RATE_LIMIT_EMAILS_PER_ACCOUNT", "2/1m"),
                ("RATE_LIMIT_EMAIL_REQUESTS", "3/1m"),
            ],
            Mode::Release,
        )
        .unwrap();
        let limits = config.rate_limits;
        let attempts = [
            limits.emails_per_address.attempts,
            limits.emails_per_account.attempts,
            limits.email_requests_per_client.attempts,
        ];
        assert_eq!(attempts, [1, 2, 3]);
    }

    #[test]
    fn smtp_needs_a_sender_and_nothing_configured_means_the_outbox() {
        let error = config_error(&[
            ("JWT_SECRET_KEY", SECRET),
            ("SMTP_URL", "smtp://127.0.0.1:25"),
        ]);
        assert!(error.contains("MAIL_FROM"), "{error}");
        let config = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
        assert_eq!(config.mail.smtp_url, None);
        assert!(!config.mail.log_links, "a release build never logs links");
        assert!(config.mail.outbox_dir.ends_with("outbox"));
    }

    #[test]
    fn api_docs_are_on_unless_turned_off() {
        let on = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
        assert!(on.api_docs);
        let off = config(
            &[("JWT_SECRET_KEY", SECRET), ("API_DOCS", "false")],
            Mode::Release,
        )
        .unwrap();
        assert!(!off.api_docs);
        let error = config_error(&[("JWT_SECRET_KEY", SECRET), ("API_DOCS", "maybe")]);
        assert!(error.contains("API_DOCS=maybe"), "{error}");
    }

    #[test]
    fn issuer_and_audience_can_be_set_explicitly() {
        let vars = [
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_ISSUER", "iss"),
            ("JWT_AUDIENCE", "a, b"),
        ];
        let config = config(&vars, Mode::Release).unwrap();
        assert_eq!(config.tokens.issuer, "iss");
        assert_eq!(config.tokens.audience, ["a", "b"]);
        assert!(!config.site.secure_cookies);
    }

    #[test]
    fn key_pair_algorithms_are_accepted_and_others_refused_with_the_choices() {
        for algorithm in ["EdDSA", "ES256", "RS256", "HS256"] {
            let config = config(
                &[("JWT_SECRET_KEY", SECRET), ("JWT_ALGORITHM", algorithm)],
                Mode::Release,
            )
            .unwrap();
            assert_eq!(
                app::auth::signing_keys::algorithm_name(config.tokens.algorithm),
                algorithm
            );
        }
        for refused in ["ES512", "none", "PS256"] {
            let error = config(
                &[("JWT_SECRET_KEY", SECRET), ("JWT_ALGORITHM", refused)],
                Mode::Release,
            )
            .unwrap_err();
            assert!(error.to_string().contains("EdDSA"), "{error}");
        }
    }

    #[test]
    fn cors_origins_are_exact_normalised_and_https_beside_an_https_site() {
        let listed = |list: &str, site: &str| {
            config(
                &[
                    ("JWT_SECRET_KEY", SECRET),
                    ("BETTER_AUTH_URL", site),
                    ("CORS_ALLOWED_ORIGINS", list),
                ],
                Mode::Release,
            )
            .map(|c| c.site.cors_allowed_origins)
        };
        assert_eq!(
            listed(
                "HTTP://LocalHost:3000/, https://App.example.com:443/",
                "http://api.example.com"
            )
            .unwrap(),
            ["http://localhost:3000", "https://app.example.com"]
        );
        assert!(listed("https://*.example.com", "https://api.example.com").is_err());
        assert!(listed("http://app.example.com", "https://api.example.com").is_err());
        assert!(listed("http://app.example.com", "http://api.example.com").is_ok());
        assert!(
            listed("http://localhost:3000", "https://api.example.com").is_err(),
            "in production no local page reads an https site's answers"
        );
        assert!(listed("not a url", "http://api.example.com").is_err());
    }

    #[test]
    fn a_jwks_url_must_be_https_unless_it_is_this_machine() {
        let with = |url: &str| {
            config(
                &[("JWT_SECRET_KEY", SECRET), ("JWT_JWKS_URL", url)],
                Mode::Release,
            )
        };
        assert!(with("http://auth.example.com/api/auth/jwks").is_err());
        assert!(with("https://auth.example.com/api/auth/jwks").is_ok());
        assert!(with("http://127.0.0.1:3000/api/auth/jwks").is_ok());
    }

    #[test]
    fn the_audit_log_is_kept_90_days_unless_told_otherwise() {
        let retention = |value: Option<&str>| {
            let mut vars = vec![("JWT_SECRET_KEY", SECRET)];
            vars.extend(value.map(|v| ("AUDIT_RETENTION", v)));
            config(&vars, Mode::Release).map(|c| c.retention.audit_secs)
        };
        assert_eq!(retention(None).unwrap(), Some(90 * 24 * 3600));
        assert_eq!(retention(Some("1y")).unwrap(), Some(31_557_600));
        assert_eq!(retention(Some("0")).unwrap(), None, "0 keeps it forever");
        assert!(retention(Some("forever")).is_err());
        assert!(
            retention(Some("90")).is_err(),
            "90 seconds is not what anyone means"
        );
    }

    #[test]
    fn key_rotation_needs_key_pairs() {
        let error = config(
            &[("JWT_SECRET_KEY", SECRET), ("JWT_KEY_ROTATION", "30d")],
            Mode::Release,
        )
        .unwrap_err();
        assert!(error.to_string().contains("JWT_ALGORITHM=EdDSA"), "{error}");
        let config = config(
            &[
                ("JWT_SECRET_KEY", SECRET),
                ("JWT_ALGORITHM", "EdDSA"),
                ("JWT_KEY_ROTATION", "30d"),
            ],
            Mode::Release,
        )
        .unwrap();
        assert_eq!(config.tokens.key_rotation_secs, Some(30 * 24 * 3600));
    }

    #[test]
    fn a_placeholder_secret_is_refused_with_the_fix() {
        let error = config(
            &[("JWT_SECRET_KEY", "your-32-character-secret-key-here")],
            Mode::Release,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("placeholder"), "{error}");
        assert!(error.contains("openssl rand"), "{error}");
    }

    #[test]
    fn rate_limits_are_attempts_per_window() {
        assert_eq!(
            parse_limit("10/1m"),
            Some(Limit {
                attempts: 10,
                window: std::time::Duration::from_secs(60)
            })
        );
        assert_eq!(parse_limit("0/1m"), None);
        assert_eq!(parse_limit("10"), None);
        assert_eq!(parse_limit("ten/1m"), None);
        let error = config(
            &[("JWT_SECRET_KEY", SECRET), ("RATE_LIMIT_SIGN_IN", "lots")],
            Mode::Release,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("RATE_LIMIT_SIGN_IN"), "{error}");
    }

    #[test]
    fn a_session_max_age_shorter_than_a_session_is_refused() {
        let error = config(
            &[
                ("JWT_SECRET_KEY", SECRET),
                ("SESSION_EXPIRES_IN", "7d"),
                ("SESSION_MAX_AGE", "1d"),
            ],
            Mode::Release,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("SESSION_MAX_AGE"), "{error}");
    }

    #[test]
    fn connection_limits_have_defaults_and_can_be_set() {
        let defaults = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
        assert_eq!(defaults.connections, ConnectionLimits::default());
        let set = config(
            &[
                ("JWT_SECRET_KEY", SECRET),
                ("HTTP_HEADER_READ_TIMEOUT", "2s"),
                ("HTTP_IDLE_TIMEOUT", "1m"),
                ("HTTP_REQUEST_TIMEOUT", "5"),
                ("MAX_CONNECTIONS", "64"),
            ],
            Mode::Release,
        )
        .unwrap();
        assert_eq!(
            set.connections,
            ConnectionLimits {
                header_read_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(60),
                request_timeout: Duration::from_secs(5),
                max_connections: Some(64),
                max_connections_per_client: 256,
            }
        );
        let error = config(
            &[("JWT_SECRET_KEY", SECRET), ("MAX_CONNECTIONS", "none")],
            Mode::Release,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("MAX_CONNECTIONS"), "{error}");
    }

    #[test]
    fn durations_take_the_usual_forms() {
        assert_eq!(parse_duration("900"), Some(900));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("1h 30m"), Some(5400));
        assert_eq!(parse_duration("2w"), Some(1_209_600));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("-5m"), None);
        assert_eq!(parse_duration("99999999999d"), None);
    }

    #[test]
    fn development_mode_generates_and_keeps_a_secret_beside_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
        let first = config(&[("DATABASE_URL", &url)], Mode::Development).unwrap();
        let second = config(&[("DATABASE_URL", &url)], Mode::Development).unwrap();
        let stored = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
        assert!(stored.len() >= 32);
        let token_of = |c: &Config| {
            app::auth::token::TokenKeys::new(c.tokens.clone(), app::clock::Clock::default()).issue(
                &app::auth::token::Subject {
                    user_id: "u",
                    email: "e",
                    name: "n",
                    session_id: "s",
                    role: "user",
                    scope: &app::auth::token::Scope::full(),
                    email_verified: false,
                    banned: false,
                    image: None,
                    created_at: "2026-01-01T00:00:00.000Z",
                    updated_at: "2026-01-01T00:00:00.000Z",
                    expires_by: i64::MAX,
                },
            )
        };
        let keys =
            app::auth::token::TokenKeys::new(second.tokens.clone(), app::clock::Clock::default());
        assert!(
            keys.verify(&token_of(&first)).is_ok(),
            "a restart keeps the same secret"
        );
    }
}
