//! Configuration from the environment (and `.env`), validated once at start.
//!
//! Each section reads its own variables: `site`, `tokens`, `connections`, `mail` and
//! `limits`, through `vars`, which names the variable and the form it takes in every
//! error.

mod connections;
mod limits;
mod mail;
mod site;
#[cfg(test)]
mod tests;
mod tokens;
mod vars;

pub use connections::ConnectionLimits;
pub use vars::parse_duration;

use crate::database::Database;
use anyhow::{bail, Context};
use app::{
    auth::{rate_limit::RateLimits, token::TokenSettings},
    janitor::Retention,
    mail::MailSettings,
    state::SiteSettings,
};
use leptos::config::LeptosOptions;
use std::time::Duration;
use vars::Vars;

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
        let vars = Vars::new(&lookup);
        let database = Database::parse(
            &vars
                .get("DATABASE_URL")
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
        )?;
        let site_url_is_explicit = vars.get("BETTER_AUTH_URL").is_some();
        let site_url = vars
            .get("BETTER_AUTH_URL")
            .unwrap_or_else(|| format!("http://{}", leptos_options.site_addr));
        let site = site::read(&vars, &site_url, mode)?;
        let tokens = tokens::read(&vars, &site_url, &database, mode, site.session_max_age_secs)?;
        let retention = Retention {
            audit_secs: vars.parsed(
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
            revocations_secs: app::auth::revocations::keep_secs(
                tokens.lifetime_secs,
                tokens.leeway_secs,
            ),
        };
        if vars.get("ADMIN_EMAILS").is_some() {
            tracing::warn!(
                "ADMIN_EMAILS no longer makes anyone an admin at sign-up (whoever registered a \
                 listed address first became admin); run `server make-admin <email>` instead"
            );
        }
        let janitor_every = vars.seconds("JANITOR_INTERVAL", app::janitor::SWEEP_EVERY)?;
        if janitor_every.is_zero() {
            bail!("JANITOR_INTERVAL must be longer than 0 s");
        }
        Ok(Self {
            leptos_options,
            connections: ConnectionLimits::read(&vars)?,
            api_docs: vars.flag("API_DOCS", true)?,
            mail: mail::read(&vars, &database, mode)?,
            rate_limits: limits::read(&vars)?,
            database,
            tokens,
            site,
            site_url_is_explicit,
            retention,
            janitor_every,
            clock: app::clock::Clock::default(),
        })
    }
}
