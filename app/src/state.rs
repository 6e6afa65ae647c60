//! The state every request handler and server function shares.

use crate::{
    auth::{
        password::Passwords, rate_limit::RateLimiter, revocations::Revocations, token::TokenKeys,
    },
    client::TrustedProxies,
    clock::Clock,
    db::Pool,
    error::AppError,
    mail::Mailer,
};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// Cloned for every request (each layer that holds state does, and Leptos for each
/// server function): one `Arc`, so a clone is one count and a drop another.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: Pool,
    pub tokens: Arc<TokenKeys>,
    /// Ended sessions and changed accounts, known without asking the database.
    pub revocations: Arc<Revocations>,
    pub site: Arc<SiteSettings>,
    pub limits: Arc<RateLimiter>,
    pub passwords: Arc<Passwords>,
    pub mail: Arc<Mailer>,
    /// What time it is, for everything that decides by time.
    pub clock: Clock,
}

#[derive(Debug, Clone)]
pub struct SiteSettings {
    /// The origin people reach the site at, e.g. `http://127.0.0.1:3000`.
    pub public_origin: String,
    /// Cookies get `Secure` whenever the public URL is https.
    pub secure_cookies: bool,
    pub session_lifetime_secs: i64,
    /// A session used this long after its last extension is extended again.
    pub session_update_age_secs: i64,
    /// No session lives longer than this after it was created, however it slides.
    pub session_max_age_secs: i64,
    /// How long a just-rotated session token is still accepted (two tabs refreshing at
    /// once) before presenting it counts as reuse.
    pub refresh_reuse_interval_secs: i64,
    /// How soon after a rotation the previous token may ask once more, when the answer
    /// carrying its successor never arrived.
    pub lost_refresh_window_secs: i64,
    /// The most tasks one account may keep.
    pub max_tasks_per_user: i64,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// The session cookie's name: Better Auth's `better-auth.session_token`, with the
    /// configured prefix in place of `better-auth` and `__Secure-` before it over https.
    pub session_cookie: String,
    /// Origins other than the public one whose pages may call the API with credentials
    /// (`CORS_ALLOWED_ORIGINS`), normalised like the public origin.
    pub cors_allowed_origins: Vec<String>,
    /// Whether sign-in waits until the account's address is verified
    /// (`REQUIRE_EMAIL_VERIFICATION`).
    pub require_email_verification: bool,
    /// Whether the admin routes and page refuse a session begun without a second factor
    /// (`REQUIRE_MFA_FOR_ADMINS`).
    pub require_mfa_for_admins: bool,
    /// How long a password reset link works (`RESET_PASSWORD_EXPIRES_IN`).
    pub reset_link_lifetime_secs: i64,
    /// How long a link that verifies or changes an address works
    /// (`EMAIL_VERIFICATION_EXPIRES_IN`).
    pub verification_link_lifetime_secs: i64,
}

impl SiteSettings {
    /// The `known_browser` cookie's name (`__Host-` prefixed over https, as the access
    /// cookie's): a browser that signed in to an account before.
    pub fn known_browser_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-known_browser"
        } else {
            "known_browser"
        }
    }

    /// The access cookie's name. Over https it is `__Host-` prefixed, which browsers
    /// accept only with `Secure`, `Path=/` and no `Domain`: no subdomain and no plain-http
    /// page can set or overwrite it. (The session cookie keeps Better Auth's name, which
    /// its client and middleware look for: see `session_cookie`.)
    pub fn access_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-access_token"
        } else {
            "access_token"
        }
    }
}

impl SiteSettings {
    /// Better Auth's cookie name for a prefix (`better-auth` unless configured).
    pub fn session_cookie_name(prefix: &str, secure: bool) -> String {
        let secure_prefix = if secure { "__Secure-" } else { "" };
        format!("{secure_prefix}{prefix}.session_token")
    }
}

/// What Leptos's handlers take from the state (the pages and the file handler), cloned
/// only when they do.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// What `ClientInfo` is extracted with.
impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.site.trusted_proxies.clone()
    }
}

impl AppState {
    /// The state inside a server function, where the router provided it as context.
    pub fn from_context() -> Result<Self, AppError> {
        leptos::prelude::use_context::<Self>()
            .ok_or_else(|| AppError::internal("AppState was not provided to the server function"))
    }
}
