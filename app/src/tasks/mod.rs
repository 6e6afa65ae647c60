//! Tasks: each user's own list, served by the API and shown on the task page.

pub mod client;
pub mod pages;
pub mod types;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod repo;
