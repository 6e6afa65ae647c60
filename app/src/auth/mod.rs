//! Accounts, sessions and tokens: sign-up, sign-in, sign-out, who the caller is, and
//! a person managing their own account (`account`).

pub mod api_tokens;
pub mod email_pages;
pub mod pages;
pub mod second_factor_pages;
pub mod server_fns;
pub mod types;

#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub mod remote_keys;
#[cfg(feature = "ssr")]
pub mod revocations;
#[cfg(feature = "ssr")]
pub mod sealed;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod signing_keys;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod token;
#[cfg(feature = "ssr")]
pub mod token_report;
#[cfg(feature = "ssr")]
pub mod token_settings;
#[cfg(feature = "ssr")]
pub mod totp;
#[cfg(feature = "ssr")]
pub mod web;
