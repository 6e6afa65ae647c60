//! Paths of the site that code on the server names, kept in one place.

/// Where the `#[server(prefix = "/fn", …)]` functions are mounted.
pub const SERVER_FN_PREFIX: &str = "/fn/";

/// The page an opened link leads to unless asked otherwise: it says what happened.
pub const VERIFIED_PAGE: &str = "/email-verified";

/// The page where a sign-in waits for its second factor.
pub const TWO_FACTOR_PAGE: &str = "/two-factor";
