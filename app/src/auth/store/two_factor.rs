//! Second factors in the database: an account's authenticator app (its sealed secret and
//! the last time step accepted), its backup codes (keyed hashes), the sign-ins waiting
//! for a second factor, and the browsers trusted to skip it.

use crate::{
    auth::types::TrustedDeviceInfo,
    clock::Timestamp,
    db::{self, Pool},
};
use sqlx::Row;

/// An account's authenticator app as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The TOTP secret, sealed (`auth::sealed`) to the user's id.
    pub sealed_secret: String,
    /// Whether a first code was accepted: only then does sign-in ask for codes.
    pub verified: bool,
    /// The newest time step whose code was accepted.
    pub last_step: i64,
}

pub async fn find_enrolment(pool: &Pool, user_id: &str) -> Result<Option<Enrolment>, sqlx::Error> {
    let row = sqlx::query("select secret, verified, last_step from two_factors where user_id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| {
        Ok(Enrolment {
            sealed_secret: row.try_get("secret")?,
            verified: row.try_get::<i64, _>("verified")? != 0,
            last_step: row.try_get("last_step")?,
        })
    })
    .transpose()
}

/// Stores a new, unverified authenticator app for `user_id` with its backup codes,
/// replacing an unverified one and its codes; `false` (nothing written) when the account
/// has a verified one.
pub async fn begin_enrolment(
    pool: &Pool,
    user_id: &str,
    sealed_secret: &str,
    backup_code_hashes: &[String],
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("delete from two_factors where user_id = $1 and verified = 0")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "insert into two_factors (user_id, secret, verified, last_step, created_at) \
         values ($1, $2, 0, 0, $3) on conflict (user_id) do nothing",
    )
    .bind(user_id)
    .bind(sealed_secret)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    replace_codes(&mut tx, user_id, backup_code_hashes, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records that the code of `step` was accepted for `user_id`'s app whose sealed secret
/// is `sealed_secret` (the one the code was checked against), if no code of that step or
/// a later one was: one statement, so two requests with the same code in two processes
/// cannot both pass, and an app replaced meanwhile is not confirmed by the old one's
/// code. With `confirmed_only`, only an app confirmed before counts (a sign-in). Turns
/// second factors on for the account when this was the first code (`verified` and the
/// user's `two_factor_enabled`). `false` when nothing matched.
pub async fn accept_step(
    pool: &Pool,
    user_id: &str,
    step: i64,
    sealed_secret: &str,
    confirmed_only: bool,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let accepted = sqlx::query(
        "update two_factors set last_step = $2, verified = 1 \
         where user_id = $1 and last_step < $2 and secret = $3 and verified >= $4",
    )
    .bind(user_id)
    .bind(step)
    .bind(sealed_secret)
    .bind(i64::from(confirmed_only))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if accepted {
        sqlx::query("update users set two_factor_enabled = 1 where id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(accepted)
}

/// Turns second factors off for `user_id`: the authenticator app, the backup codes and
/// every trusted browser go. Answers whether there was anything to remove.
pub async fn remove(pool: &Pool, user_id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let removed = sqlx::query("delete from two_factors where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("delete from backup_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    end_trust(&mut tx, user_id).await?;
    sqlx::query("update users set two_factor_enabled = 0 where id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(removed > 0)
}

/// Replaces the backup codes of `user_id` with `hashes`.
pub async fn replace_backup_codes(
    pool: &Pool,
    user_id: &str,
    hashes: &[String],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    replace_codes(&mut tx, user_id, hashes, now).await?;
    tx.commit().await
}

async fn replace_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    hashes: &[String],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from backup_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query(
            "insert into backup_codes (code_hash, user_id, created_at) values ($1, $2, $3)",
        )
        .bind(hash)
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Uses up the backup code of `user_id` whose hash is `hash`: `true` when it was theirs
/// and unused. Deleting it is the check, so a code works once however many ask at once.
pub async fn use_backup_code(pool: &Pool, user_id: &str, hash: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from backup_codes where user_id = $1 and code_hash = $2")
        .bind(user_id)
        .bind(hash)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

pub async fn count_backup_codes(pool: &Pool, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from backup_codes where user_id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await
}

/// A code about to be tried against a waiting sign-in: whose it is, the password hash
/// it was started with, and how many codes it has had, this one included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub user_id: String,
    pub password_hash: String,
    /// Whom the sign-in's password attempt counted against.
    pub counted_as: Option<String>,
    pub attempts: i64,
}

/// Starts a sign-in of `user_id` that waits for a second factor until `expires_at`,
/// named by the token whose hash is `token_hash`, if the user is not disabled and their
/// password hash is still `verified_hash` (the one the typed password matched): `false`
/// otherwise, and nothing is written. Its codes count against `counted_as`.
pub async fn insert_challenge(
    pool: &Pool,
    token_hash: &str,
    user_id: &str,
    verified_hash: &str,
    counted_as: Option<&str>,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into two_factor_challenges \
         (token_hash, user_id, attempts, password_hash, counted_as, expires_at, created_at) \
         select $1, id, 0, password_hash, $6, $3, $4 from users \
         where id = $2 and banned = 0 and password_hash = $5",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(expires_at)
    .bind(now)
    .bind(verified_hash)
    .bind(counted_as)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Takes one attempt of the live sign-in `token_hash` names, if it has had fewer than
/// `limit`: one statement, so requests sent at once cannot all slip under the limit.
/// `None` when there is no such sign-in, it expired, or its attempts are used up.
pub async fn take_attempt(
    pool: &Pool,
    token_hash: &str,
    limit: i64,
    now: Timestamp,
) -> Result<Option<Attempt>, sqlx::Error> {
    let row = sqlx::query(
        "update two_factor_challenges set attempts = attempts + 1 \
         where token_hash = $1 and attempts < $2 and expires_at > $3 \
         returning user_id, password_hash, counted_as, attempts",
    )
    .bind(token_hash)
    .bind(limit)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Attempt {
            user_id: row.try_get("user_id")?,
            password_hash: row.try_get("password_hash")?,
            counted_as: row.try_get("counted_as")?,
            attempts: row.try_get("attempts")?,
        })
    })
    .transpose()
}

/// Ends the challenge: `true` when this call ended it, so that of two requests that
/// passed at once only one signs in.
pub async fn end_challenge(pool: &Pool, token_hash: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from two_factor_challenges where token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

pub struct NewTrustedDevice<'a> {
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub user_agent: Option<&'a str>,
    pub ip_address: Option<&'a str>,
    pub expires_at: Timestamp,
}

pub async fn insert_trusted_device(
    pool: &Pool,
    device: NewTrustedDevice<'_>,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into trusted_devices \
         (id, token_hash, user_id, user_agent, ip_address, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(db::new_id())
    .bind(device.token_hash)
    .bind(device.user_id)
    .bind(device.user_agent)
    .bind(device.ip_address)
    .bind(now)
    .bind(device.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether the token whose hash is `token_hash` names a live trusted browser of `user_id`.
pub async fn is_trusted_device(
    pool: &Pool,
    user_id: &str,
    token_hash: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(
        "select id from trusted_devices where token_hash = $1 and user_id = $2 and expires_at > $3",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

pub async fn list_trusted_devices(
    pool: &Pool,
    user_id: &str,
    now: Timestamp,
) -> Result<Vec<TrustedDeviceInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, user_agent, created_at, expires_at from trusted_devices \
         where user_id = $1 and expires_at > $2 order by created_at desc, id",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TrustedDeviceInfo {
                id: row.try_get("id")?,
                user_agent: row.try_get("user_agent")?,
                created_at: row.try_get::<Timestamp, _>("created_at")?.to_string(),
                expires_at: row.try_get::<Timestamp, _>("expires_at")?.to_string(),
            })
        })
        .collect()
}

/// Ends one trusted browser of `user_id`: `true` when it was theirs.
pub async fn delete_trusted_device(
    pool: &Pool,
    user_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("delete from trusted_devices where user_id = $1 and id = $2")
        .bind(user_id)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// Ends every trusted browser of `user_id` and every sign-in of theirs waiting for a
/// second factor, inside the transaction of the change that calls for it (a password
/// reset or change, turning second factors off): what knowing the old password, or
/// the old factors, earned goes with it.
pub async fn end_trust(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<(), sqlx::Error> {
    for table in ["trusted_devices", "two_factor_challenges"] {
        sqlx::query(&format!("delete from {table} where user_id = $1"))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
