//! Administration: the users (disable, re-enable, change role) and the audit log.
//!
//! Only admins get in, and the check reads the role from the database, so a demoted
//! admin loses access at once. Disabling a user also revokes all their sessions; their
//! access tokens get `403 User disabled` from the API from that moment.

pub mod pages;
pub mod server_fns;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod service;
