//! The state every request handler and server function shares.

use crate::{
    auth::{rate_limit::RateLimiter, token::TokenKeys},
    db::Pool,
    error::AppError,
};
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Pool,
    pub tokens: Arc<TokenKeys>,
    pub site: Arc<SiteSettings>,
    pub limits: Arc<RateLimiter>,
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
    /// How long a just-rotated session token is still accepted (two tabs refreshing at
    /// once) before presenting it counts as reuse.
    pub refresh_reuse_interval_secs: i64,
    /// Lower-cased emails that get the admin role when they sign up.
    pub admin_emails: Vec<String>,
}

impl AppState {
    /// The state inside a server function, where the router provided it as context.
    pub fn from_context() -> Result<Self, AppError> {
        leptos::prelude::use_context::<Self>()
            .ok_or_else(|| AppError::internal("AppState was not provided to the server function"))
    }
}
