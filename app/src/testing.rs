//! Helpers shared by the server side's unit tests.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// Request headers from name and value pairs.
pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

/// A fresh in-memory SQLite database with every migration run.
pub async fn memory_pool() -> crate::db::Pool {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::migrate!("./migrations").run(&pool).await.unwrap();
    pool
}

/// The time now, by a clock of the test's own.
pub fn now() -> crate::clock::Timestamp {
    crate::clock::Clock::default().now()
}

/// Ada, a user whose password hashes to `password_hash`, inserted into `pool` now.
pub async fn ada(pool: &crate::db::Pool, password_hash: &str) -> crate::auth::types::User {
    crate::auth::store::users::insert_user(pool, "Ada", "ada@example.com", password_hash, now())
        .await
        .unwrap()
        .expect("a new address")
}

/// What a sign-in of the user `user_id` inserts: an hour-long session, no client details.
pub fn new_session(user_id: &str) -> crate::auth::store::sessions::NewSession<'_> {
    crate::auth::store::sessions::NewSession {
        user_id,
        token_hash: "hash",
        lifetime_secs: 3600,
        ip_address: None,
        user_agent: None,
        verified_hash: None,
        api_token: false,
        amr: "pwd",
    }
}
