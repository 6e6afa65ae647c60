//! Database helpers shared by the repositories: ids stored portably, and which errors
//! are conflicts. (Times: `clock::Timestamp`.)
//!
//! Schema decision: ids are UUID strings, which mean the same on SQLite and PostgreSQL
//! through sqlx's `Any` driver (which has no portable UUID type).

pub use sqlx::AnyPool as Pool;

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether an error is a unique-constraint violation (a conflict, not a failure).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}
