//! All of the accounts' SQL: users, sessions, the tokens of emailed links and failed
//! sign-ins. Each function takes a pool or a connection, never the app's state. (The
//! revocation log's SQL is beside its entries, in `revocations::log`; signing keys are
//! read and written in `signing_keys`.)

pub mod email_tokens;
pub mod failed_sign_ins;
pub mod sessions;
pub mod two_factor;
pub mod user_changes;
pub mod users;
