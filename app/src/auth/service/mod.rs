//! The accounts' rules: signing up and in, sessions and their refresh, where
//! credentials travel, a person changing their own account, password resets and
//! proving an address. They may take `&AppState`; they know no extractor, handler or
//! router (cookies are plain `http` header values). The routes that call them are in
//! `web`, the pages' server functions in `server_fns`.

pub mod account;
pub mod api_tokens;
pub mod attempts;
pub mod credentials;
pub mod email_verification;
pub mod emails;
pub mod password_reset;
pub mod session;
pub mod two_factor;
