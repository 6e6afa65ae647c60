//! Keeps the tables bounded as the work grows. Nothing else deletes rows but people's
//! own actions, so without this every session ever started, the tokens each refresh
//! retired (one per active browser every 15 minutes; a session keeps its newest 1,000)
//! and every audit event would stay.
//!
//! A sweep, run on a timer by every server process (they agree on what is old, so two
//! sweeping at once delete the same rows once):
//! - sessions that expired more than `EXPIRED_SESSION_GRACE` ago go, and with them (the
//!   foreign key cascades) the tokens they retired: a retired token is only kept to
//!   recognise its session's stolen tokens, and a session that has ended has none left
//!   to steal;
//! - audit events older than `AUDIT_RETENTION` go (unless it is `0`: kept forever);
//! - counts of failed sign-ins whose window has ended go;
//! - retired signing keys whose publication ended more than a grace ago go: nothing
//!   verifies against them any more, and their private halves need not be kept;
//! - entries of the revocation log older than the longest token lifetime go: every
//!   token they could refuse has expired;
//! - emailed links that expired more than `EXPIRED_LINK_GRACE` ago go (until then,
//!   opening one says it expired rather than that it is unknown);
//! - sign-ins that waited for a second factor and expired go, as do browsers whose 30
//!   days of trust are over, and authenticator apps added more than a day ago and never
//!   confirmed with a code.
//!
//! Rows go in batches with pauses between them, at most `MAX_BATCHES` of each kind a
//! sweep, so no sweep holds SQLite's one writer for long.

use crate::{clock::Timestamp, db::Pool};
use std::time::Duration;

/// How long an expired session is kept before it is deleted.
pub const EXPIRED_SESSION_GRACE_SECS: i64 = 24 * 3600;

/// How long an authenticator app added but never confirmed is kept.
const UNCONFIRMED_APP_SECS: i64 = 24 * 3600;

/// How long an expired emailed link is kept before it is deleted.
const EXPIRED_LINK_GRACE_SECS: i64 = 24 * 3600;

/// How long an unpublished signing key is kept before it is deleted.
const UNPUBLISHED_KEY_GRACE_SECS: i64 = 24 * 3600;

/// How often each process sweeps unless `JANITOR_INTERVAL` says otherwise.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);

/// Rows deleted by one statement at most.
const BATCH: i64 = 1000;

/// Statements one sweep runs for one kind of row at most: a backlog (the first sweep
/// after an upgrade) is worked through over several sweeps.
const MAX_BATCHES: u32 = 100;

/// The pause between batches, which lets requests waiting to write go first.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

/// What a sweep keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Audit events are kept this long; `None`, forever.
    pub audit_secs: Option<i64>,
    /// Entries of the revocation log are kept this long: the longest a token issued
    /// before one may live.
    pub revocations_secs: i64,
}

/// How many rows a sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    /// The retired tokens of expired sessions.
    pub retired_tokens: u64,
    pub audit_events: u64,
    pub failed_sign_ins: u64,
    pub signing_keys: u64,
    pub revocations: u64,
    pub email_tokens: u64,
    /// Sign-ins that waited for a second factor and expired, browsers trusted until a
    /// time that has passed, and authenticator apps added but never confirmed.
    pub second_factors: u64,
}

/// Deletes what has outlived its use at `now` (see the module's documentation).
pub async fn sweep(
    pool: &Pool,
    retention: Retention,
    now: Timestamp,
) -> Result<Swept, sqlx::Error> {
    let expired_before = now.plus_secs(-EXPIRED_SESSION_GRACE_SECS);
    // A session can keep a thousand retired tokens (`RETIRED_TOKENS_KEPT`, one a
    // refresh): they go in batches of their own first, so deleting a batch of sessions
    // cascades to few rows.
    let mut swept = Swept {
        retired_tokens: in_batches(
            pool,
            "delete from retired_session_tokens where token_hash in \
             (select r.token_hash from retired_session_tokens r \
              join sessions s on s.id = r.session_id where s.expires_at < $1 limit $2)",
            expired_before,
        )
        .await?,
        sessions: in_batches(
            pool,
            "delete from sessions where id in \
             (select id from sessions where expires_at < $1 limit $2)",
            expired_before,
        )
        .await?,
        ..Swept::default()
    };
    if let Some(keep) = retention.audit_secs {
        swept.audit_events = in_batches(
            pool,
            "delete from audit_events where id in \
             (select id from audit_events where at < $1 limit $2)",
            now.plus_secs(-keep),
        )
        .await?;
    }
    swept.failed_sign_ins = in_batches(
        pool,
        "delete from failed_sign_ins where window_ends < $1 and (account, client) in \
         (select account, client from failed_sign_ins where window_ends < $1 limit $2)",
        now,
    )
    .await?;
    swept.signing_keys = in_batches(
        pool,
        "delete from signing_keys where id in \
         (select id from signing_keys where published_until < $1 limit $2)",
        now.plus_secs(-UNPUBLISHED_KEY_GRACE_SECS),
    )
    .await?;
    swept.email_tokens = in_batches(
        pool,
        "delete from email_tokens where token_hash in \
         (select token_hash from email_tokens where expires_at < $1 limit $2)",
        now.plus_secs(-EXPIRED_LINK_GRACE_SECS),
    )
    .await?;
    for (statement, before) in [
        (
            "delete from two_factor_challenges where token_hash in \
             (select token_hash from two_factor_challenges where expires_at < $1 limit $2)",
            now,
        ),
        (
            "delete from trusted_devices where id in \
             (select id from trusted_devices where expires_at < $1 limit $2)",
            now,
        ),
        // An app never confirmed goes with the backup codes made with it.
        (
            "delete from backup_codes where user_id in \
             (select user_id from two_factors where verified = 0 and created_at < $1 limit $2)",
            now.plus_secs(-UNCONFIRMED_APP_SECS),
        ),
        (
            "delete from two_factors where verified = 0 and user_id in \
             (select user_id from two_factors where verified = 0 and created_at < $1 limit $2)",
            now.plus_secs(-UNCONFIRMED_APP_SECS),
        ),
    ] {
        swept.second_factors += in_batches(pool, statement, before).await?;
    }
    swept.revocations = in_batches(
        pool,
        crate::auth::revocations::PRUNE,
        now.plus_secs(-retention.revocations_secs),
    )
    .await?;
    Ok(swept)
}

/// Runs a `delete … limit $2` with `before` as `$1` until a batch comes back short, or
/// `MAX_BATCHES` have run.
async fn in_batches(pool: &Pool, statement: &str, before: Timestamp) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    for _ in 0..MAX_BATCHES {
        let batch = sqlx::query(statement)
            .bind(before)
            .bind(BATCH)
            .execute(pool)
            .await?
            .rows_affected();
        deleted += batch;
        if batch < BATCH.unsigned_abs() {
            break;
        }
        tokio::time::sleep(BETWEEN_BATCHES).await;
    }
    Ok(deleted)
}
