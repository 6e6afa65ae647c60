//! Better Auth's JSON routes under `/api/auth` and `/api/me`: their handlers, request
//! and answer bodies, routers and extractors (the caller's token or session, CSRF).
//! Only this layer and the pages above it know axum's request types.

pub mod account;
pub mod answers;
pub mod api;
pub mod email_verification;
pub mod extract;
pub mod password_reset;
pub mod two_factor;
