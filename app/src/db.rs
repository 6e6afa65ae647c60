//! Database helpers shared by the repositories: ids stored portably, secret tokens and
//! the hashes they are stored as, and which errors are conflicts. (Times:
//! `clock::Timestamp`.)
//!
//! Schema decision: ids are UUID strings, which mean the same on SQLite and PostgreSQL
//! through sqlx's `Any` driver (which has no portable UUID type).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use sqlx::AnyPool as Pool;

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// 32 random bytes, base64url: a session token, or the token of an emailed link.
pub(crate) fn new_secret_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a secret token is stored: its SHA-256, base64url.
pub(crate) fn hash_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Whether an error is a unique-constraint violation (a conflict, not a failure).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

/// A flag as the schema keeps it portably, a 0/1 integer, read as the `bool` it is
/// (`#[sqlx(try_from = "Flag")]`).
pub struct Flag(bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> Self {
        flag.0
    }
}

impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(
        value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(
            <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value)? != 0,
        ))
    }
}

/// Reads a text column as one of an enum's names (its `FromStr`), so that rows holding
/// it derive `FromRow`. A name the enum does not have is a decode error.
macro_rules! decoded_by_name {
    ($($name:ty),+) => {$(
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: <sqlx::Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                text.parse()
                    .map_err(|_| format!("no {} is named {text:?}", stringify!($name)).into())
            }
        }
    )+};
}

pub(crate) use decoded_by_name;
