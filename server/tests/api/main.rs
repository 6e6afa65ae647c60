//! API tests: the real app on a free port, a fresh SQLite database per test, HTTP only.

mod auth;
mod faults;
mod hostile;
mod interop;
mod support;
mod tasks;
mod tokens;
