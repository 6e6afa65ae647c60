//! API tests: the real app on a free port, a fresh SQLite database per test, HTTP only.

mod account;
mod admin;
mod api_tokens;
mod auth;
mod better_auth;
mod cluster;
mod connections;
mod docs;
mod email;
mod email_change;
mod faults;
mod hostile;
mod interop;
mod janitor;
mod key_pairs;
mod openapi;
mod remote_issuer;
mod revocation;
mod sessions;
mod support;
mod tasks;
mod token_command;
mod tokens;
mod two_factor;
