//! Sessions in the database: starting one, finding the live one a token names, where
//! its holder stands, rotating its refresh token, listing and ending sessions.

use super::{email_tokens, users::USER_COLUMNS};
use crate::{
    auth::{
        revocations::{self, LiveSession, Revocations, Standing},
        types::User,
    },
    clock::Timestamp,
    db::{self, Pool},
};
use sqlx::{AnyConnection, FromRow, Row};

const SESSION_COLUMNS: &str = "s.id as session_id, s.user_id as session_user_id, s.expires_at, \
     s.created_at as session_created_at, s.updated_at as session_updated_at, s.ip_address, \
     s.user_agent, s.previous_token_hash, s.token_unseen, s.api_token, s.amr";

/// A session row as clients see it (Better Auth's `session` shape, without the token).
/// `updated_at` is when it was last used: refreshed, or extended by sliding.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[sqlx(rename = "session_id")]
    pub id: String,
    #[sqlx(rename = "session_user_id")]
    pub user_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[sqlx(rename = "session_created_at")]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    #[sqlx(rename = "session_updated_at")]
    pub updated_at: Timestamp,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The token before the current one, hashed.
    #[serde(skip)]
    pub previous_token_hash: Option<String>,
    /// Whether the current token has not been presented since it was issued.
    #[serde(skip)]
    #[sqlx(try_from = "db::Flag")]
    pub token_unseen: bool,
    /// Whether the session carries an API token (`NewSession::api_token`). Left out of
    /// the JSON: Better Auth's session has no such field, and its `list-sessions` lists
    /// every session.
    #[serde(skip)]
    #[sqlx(try_from = "db::Flag")]
    pub api_token: bool,
    /// How its person signed in: RFC 8176 `amr` values, space-separated (`pwd`, or
    /// `pwd otp mfa` after a second factor). Its access tokens carry them.
    #[serde(skip)]
    pub amr: String,
}

pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub lifetime_secs: i64,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// For a sign-in: the password hash the typed password was checked against, which
    /// must still be the user's.
    pub verified_hash: Option<&'a str>,
    /// Whether the session is an API token's (`service::api_tokens::issue_api_token`), as the
    /// account page lists it; `false` for every sign-in. Set by the server, never taken
    /// from the request as `user_agent` is.
    pub api_token: bool,
    /// How the person signed in (`Session::amr`).
    pub amr: &'a str,
}

/// Starts a session for a user who is not disabled (and, for a sign-in, whose password
/// is still the one checked); `None` otherwise. The user's row is written first, in the
/// same transaction: a change to the user (a ban or a new password, whose transaction
/// ends sessions) waits for it or it for the change, so neither can land between the
/// check and the insert and leave a session it never saw.
pub async fn insert_session(
    pool: &Pool,
    new: NewSession<'_>,
    now: Timestamp,
) -> Result<Option<Session>, sqlx::Error> {
    let session = Session {
        id: db::new_id(),
        user_id: new.user_id.to_owned(),
        expires_at: now.plus_secs(new.lifetime_secs),
        created_at: now,
        updated_at: now,
        ip_address: new.ip_address.map(str::to_owned),
        user_agent: new.user_agent.map(str::to_owned),
        previous_token_hash: None,
        token_unseen: false,
        api_token: new.api_token,
        amr: new.amr.to_owned(),
    };
    let mut tx = pool.begin().await?;
    let guard = match new.verified_hash {
        Some(hash) => sqlx::query(
            "update users set updated_at = updated_at \
             where id = $1 and banned = 0 and password_hash = $2",
        )
        .bind(new.user_id)
        .bind(hash),
        None => {
            sqlx::query("update users set updated_at = updated_at where id = $1 and banned = 0")
                .bind(new.user_id)
        }
    };
    let enabled = guard.execute(&mut *tx).await?;
    if enabled.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    sqlx::query(
        "insert into sessions (id, user_id, token_hash, expires_at, created_at, updated_at, ip_address, user_agent, api_token, amr) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&session.id)
    .bind(&session.user_id)
    .bind(new.token_hash)
    .bind(session.expires_at)
    .bind(session.created_at)
    .bind(session.updated_at)
    .bind(&session.ip_address)
    .bind(&session.user_agent)
    .bind(i64::from(session.api_token))
    .bind(&session.amr)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(session))
}

/// The unexpired session whose token hashes to `token_hash`, with its user. Sessions
/// of disabled users are never found, whatever raced with the disabling.
pub async fn find_active_session_by_token_hash(
    pool: &Pool,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<(Session, User)>, sqlx::Error> {
    find_active_session(pool, "s.token_hash", token_hash, now).await
}

/// The unexpired session with this id, with its user.
pub async fn find_active_session_by_id(
    pool: &Pool,
    session_id: &str,
    now: Timestamp,
) -> Result<Option<(Session, User)>, sqlx::Error> {
    find_active_session(pool, "s.id", session_id, now).await
}

async fn find_active_session(
    pool: &Pool,
    column: &'static str,
    value: &str,
    now: Timestamp,
) -> Result<Option<(Session, User)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {SESSION_COLUMNS}, {USER_COLUMNS} from sessions s join users u on u.id = s.user_id \
         where {column} = $1 and s.expires_at > $2 and u.banned = 0"
    ))
    .bind(value)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((Session::from_row(&row)?, User::from_row(&row)?)))
        .transpose()
}

/// Whether user `user_id` is enabled, their session `session_id` is live, and their
/// account has not changed since `minted_by` (the last instant a token's `updatedAt`
/// covers, `revocations::minted_by`), with the user as they are and when the
/// session expires while it is live: what a request asks when the revocation set cannot
/// answer, on the primary keys of `users` and `sessions` and the log's index by user.
pub async fn standing(
    pool: &Pool,
    session_id: &str,
    user_id: &str,
    minted_by: Timestamp,
    now: Timestamp,
) -> Result<(Standing, Option<LiveSession>), sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {USER_COLUMNS}, \
         (select min(s.expires_at) from sessions s where s.id = $1 and s.user_id = u.id and s.expires_at > $2) as live_until, \
         (select count(*) from revocations r where r.user_id = u.id and r.session_id is null \
          and r.revoked_at > $4) as changed \
         from users u where u.id = $3"
    ))
    .bind(session_id)
    .bind(now)
    .bind(user_id)
    .bind(minted_by)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok((Standing::SessionEnded, None));
    };
    let account = User::from_row(&row)?;
    let live_until = row
        .try_get::<Option<Timestamp>, _>("live_until")?
        .map(Timestamp::unix_secs);
    let standing = if account.banned {
        Standing::Disabled
    } else if live_until.is_none() {
        Standing::SessionEnded
    } else if row.try_get::<i64, _>("changed")? > 0 {
        Standing::AccountChanged
    } else {
        Standing::Active
    };
    Ok((
        standing,
        live_until.map(|expires_at| LiveSession {
            account,
            expires_at,
        }),
    ))
}

/// How many retired tokens a session keeps, the newest: a token it retired before those
/// is no longer recognised as stolen when presented again (it is refused as unknown).
/// Without a bound, a session refreshed at the limit (`RATE_LIMIT_REFRESH`, 60 a
/// minute) would add 86,400 rows a day for the whole of its life. A thousand still
/// catches a stolen token presented after up to 1,000 rotations: days of a browser's own
/// refreshes (one each time its access token expires), but only about 17 minutes of
/// deliberate churn at that limit from one address (less from several). A thief who
/// refreshes first and churns that long is not caught when the owner's old token comes
/// back: it is refused as unknown, and the session stays the thief's until it ends.
/// Limiting rotations per session, or a token that names its session, would close that.
pub const RETIRED_TOKENS_KEPT: i64 = 1000;

/// Deletes the retired tokens of `session_id` older than its `RETIRED_TOKENS_KEPT`
/// newest, in the transaction that retired one more.
async fn keep_newest_retired_tokens(
    conn: &mut AnyConnection,
    session_id: &str,
) -> Result<(), sqlx::Error> {
    // The subquery finds nothing while the session has fewer, and nothing is deleted.
    sqlx::query(
        "delete from retired_session_tokens where session_id = $1 and retired_at < \
         (select retired_at from retired_session_tokens where session_id = $1 \
          order by retired_at desc limit 1 offset $2)",
    )
    .bind(session_id)
    .bind(RETIRED_TOKENS_KEPT - 1)
    .execute(conn)
    .await
    .map(drop)
}

/// Replaces a session's token hash (if it is still `old_hash`), keeps the old one as
/// retired (with the newest `RETIRED_TOKENS_KEPT`) and records the use; with
/// `expires_at`, also extends the session. `false` when another refresh rotated it
/// first.
pub async fn rotate_session_token(
    pool: &Pool,
    session_id: &str,
    old_hash: &str,
    new_hash: &str,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rotated = sqlx::query(
        "update sessions set token_hash = $1, updated_at = $2, expires_at = coalesce($3, expires_at), \
         previous_token_hash = $4, token_unseen = 1 where id = $5 and token_hash = $4",
    )
    .bind(new_hash)
    .bind(now)
    .bind(expires_at)
    .bind(old_hash)
    .bind(session_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if rotated {
        sqlx::query(
            "insert into retired_session_tokens (token_hash, session_id, retired_at) values ($1, $2, $3)",
        )
        .bind(old_hash)
        .bind(session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        keep_newest_retired_tokens(&mut tx, session_id).await?;
    }
    tx.commit().await?;
    Ok(rotated)
}

/// Records that a session's current token has been presented since it was issued.
pub async fn mark_token_seen(pool: &Pool, session_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set token_unseen = 0 where id = $1")
        .bind(session_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Issues a session's token again because the answer that carried the current one never
/// arrived: only while `previous_hash` is the token before it and the current one has
/// never been presented. The undelivered token is retired (with the newest
/// `RETIRED_TOKENS_KEPT`), and the previous one is forgotten as the current one's
/// predecessor, so it is forgiven once: presented again, it is reuse. `false` when that
/// no longer holds.
pub async fn replace_lost_token(
    pool: &Pool,
    session_id: &str,
    previous_hash: &str,
    new_hash: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The condition is checked by an update, which takes the row's lock (PostgreSQL)
    // or the database's write lock (SQLite): of two replays at once, the second waits,
    // then finds the predecessor forgotten and is treated as reuse.
    let claimed = sqlx::query(
        "update sessions set previous_token_hash = null \
         where id = $1 and previous_token_hash = $2 and token_unseen = 1",
    )
    .bind(session_id)
    .bind(previous_hash)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        sqlx::query(
            "insert into retired_session_tokens (token_hash, session_id, retired_at) \
             select token_hash, id, $1 from sessions where id = $2",
        )
        .bind(now)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        keep_newest_retired_tokens(&mut tx, session_id).await?;
        sqlx::query("update sessions set token_hash = $1, updated_at = $2 where id = $3")
            .bind(new_hash)
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// A retired session token: the session it belonged to, its user, and when it retired.
#[derive(sqlx::FromRow)]
pub struct RetiredToken {
    pub session_id: String,
    pub user_id: String,
    pub retired_at: Timestamp,
}

pub async fn find_retired_token(
    pool: &Pool,
    token_hash: &str,
) -> Result<Option<RetiredToken>, sqlx::Error> {
    let row = sqlx::query(
        "select r.session_id, r.retired_at, s.user_id from retired_session_tokens r \
         join sessions s on s.id = r.session_id where r.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(RetiredToken::from_row).transpose()
}

/// Moves a session's expiry (sliding sessions) and records the use.
pub async fn extend_session(
    pool: &Pool,
    session_id: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set expires_at = $1, updated_at = $2 where id = $3")
        .bind(expires_at)
        .bind(now)
        .bind(session_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A user's unexpired sessions, most recently used first.
pub async fn list_sessions(
    pool: &Pool,
    user_id: &str,
    now: Timestamp,
) -> Result<Vec<Session>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {SESSION_COLUMNS} from sessions s where s.user_id = $1 and s.expires_at > $2 \
         order by s.updated_at desc"
    ))
    .bind(user_id)
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter().map(Session::from_row).collect()
}

/// Why one session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Its owner signed out in it.
    SignedOut,
    /// Revoked from elsewhere, or caught being replayed: whoever held it may have asked
    /// for a change of address, which must not stay pending.
    Revoked,
}

/// Deletes one of a user's sessions, logging the revocation, and, when it was
/// `Revoked`, the emailed links that session asked for (`forget_ended_sessions_links`);
/// `false` when they have no such session.
pub async fn delete_session_of(
    pool: &Pool,
    known: &Revocations,
    user_id: &str,
    session_id: &str,
    end: SessionEnd,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let ended = end_sessions(&mut tx, user_id, Ending::One(session_id), known.now()).await?;
    if end == SessionEnd::Revoked {
        forget_ended_sessions_links(&mut tx, user_id, &ended).await?;
    }
    let logged = commit_revoking(tx, known, ended).await?;
    Ok(!logged.is_empty())
}

/// Deletes all of a user's sessions but `except`, logging their revocations, the emailed
/// links those sessions asked for (`forget_ended_sessions_links`: someone signing out
/// everywhere fears another has been in), and the moves to another address that any
/// session no longer signed in asked for; answers how many sessions went.
pub async fn delete_sessions_of(
    pool: &Pool,
    known: &Revocations,
    user_id: &str,
    except: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let which = except.map_or(Ending::All, Ending::AllBut);
    let ended = end_sessions(&mut tx, user_id, which, known.now()).await?;
    forget_ended_sessions_links(&mut tx, user_id, &ended).await?;
    email_tokens::forget_moves_of_ended_sessions(&mut tx, user_id).await?;
    let logged = commit_revoking(tx, known, ended).await?;
    Ok(logged.len() as u64)
}

/// Deletes, in the transaction that ended them, the emailed links that the sessions
/// `ended` asked for: a change of address whoever held one of them asked for must not
/// stay pending. Only those: every other link of the account stays, above all a reset
/// asked for while signed out, which is how the owner takes the account back. Were
/// revoking to delete every link of the account (it once did), anyone holding one
/// session could call `revoke-session` with any token, again and again, and the owner
/// could never reset the password that would end that session. Nothing is deleted when
/// no session ended.
async fn forget_ended_sessions_links(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    ended: &[revocations::Entry],
) -> Result<(), sqlx::Error> {
    let ended: Vec<&str> = ended
        .iter()
        .filter_map(|entry| entry.session_id.as_deref())
        .collect();
    email_tokens::forget_asked_by(tx, user_id, &ended).await
}

/// Ends the sessions of every account whose address is not verified, and revokes the
/// access tokens issued from them; answers how many. Run when `REQUIRE_EMAIL_VERIFICATION`
/// is on, so the sessions begun before it was turned on end rather than wait: a session
/// put on hold could not be signed out, and would come back, for whoever had begun it,
/// once the address was verified.
pub async fn end_unverified_sessions(pool: &Pool, known: &Revocations) -> Result<u64, sqlx::Error> {
    let at = known.now();
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "delete from sessions where user_id in (select id from users where email_verified = 0) \
         returning id, user_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let ended = rows
        .iter()
        .map(|row| {
            let (id, user_id): (String, String) = (row.try_get("id")?, row.try_get("user_id")?);
            Ok(revocations::Entry::session_ended(&user_id, &id, at))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let logged = commit_revoking(tx, known, ended).await?;
    Ok(logged.len() as u64)
}

/// Logs `entries` in `tx`, commits it, and applies them in this process at once (other
/// processes read them from the log): a change that revokes tokens is known as soon as
/// it lands.
pub(super) async fn commit_revoking(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    known: &Revocations,
    entries: Vec<revocations::Entry>,
) -> Result<Vec<revocations::Logged>, sqlx::Error> {
    let logged = revocations::log(&mut tx, entries).await?;
    tx.commit().await?;
    known.apply(&logged);
    Ok(logged)
}

/// Which of a user's sessions `end_sessions` ends.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ending<'a> {
    One(&'a str),
    AllBut(&'a str),
    All,
}

/// Deletes the sessions of `user_id` that `which` names, and answers the revocations of
/// those it deleted, ended `at`.
pub(super) async fn end_sessions(
    conn: &mut AnyConnection,
    user_id: &str,
    which: Ending<'_>,
    at: Timestamp,
) -> Result<Vec<revocations::Entry>, sqlx::Error> {
    let (statement, session_id) = match which {
        Ending::One(id) => (
            "delete from sessions where user_id = $1 and id = $2 returning id",
            Some(id),
        ),
        Ending::AllBut(id) => (
            "delete from sessions where user_id = $1 and id <> $2 returning id",
            Some(id),
        ),
        Ending::All => ("delete from sessions where user_id = $1 returning id", None),
    };
    let mut query = sqlx::query(statement).bind(user_id);
    if let Some(id) = session_id {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let session_id: String = row.try_get("id")?;
            Ok(revocations::Entry::session_ended(user_id, &session_id, at))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::store::user_changes::{change_password, set_banned};
    use crate::testing::memory_pool;

    #[tokio::test]
    async fn a_disabled_user_gets_no_session_and_an_enabled_one_does() {
        let pool = memory_pool().await;
        let known = Revocations::new(900, 30, crate::clock::Clock::default());
        let user = crate::testing::ada(&pool, "hash").await;
        set_banned(&pool, &known, &user.id, true, None)
            .await
            .unwrap();
        assert_eq!(
            insert_session(
                &pool,
                crate::testing::new_session(&user.id),
                crate::testing::now()
            )
            .await
            .unwrap()
            .map(|s| s.user_id),
            None
        );
        set_banned(&pool, &known, &user.id, false, None)
            .await
            .unwrap();
        let session = insert_session(
            &pool,
            crate::testing::new_session(&user.id),
            crate::testing::now(),
        )
        .await
        .unwrap();
        assert_eq!(session.map(|s| s.user_id), Some(user.id));
    }

    #[tokio::test]
    async fn a_session_keeps_its_newest_thousand_retired_tokens_only() {
        let pool = memory_pool().await;
        let user = crate::testing::ada(&pool, "hash").await;
        let new = crate::testing::new_session(&user.id);
        let mut current = new.token_hash.to_owned();
        let session = insert_session(&pool, new, crate::testing::now())
            .await
            .unwrap()
            .unwrap();
        let start = crate::testing::now();
        // 1,005 refreshes, a second apart: they retire the first token, then `token 0`
        // to `token 1003`.
        for i in 0..1005 {
            let next = format!("token {i}");
            let at = start.plus_secs(i);
            let rotated = rotate_session_token(&pool, &session.id, &current, &next, None, at)
                .await
                .unwrap();
            assert!(rotated, "rotation {i}");
            current = next;
        }
        let kept: i64 =
            sqlx::query("select count(*) as n from retired_session_tokens where session_id = $1")
                .bind(&session.id)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get("n");
        assert_eq!(kept, 1000);
        let found = |hash: &'static str| find_retired_token(&pool, hash);
        assert!(found("token 1003").await.unwrap().is_some(), "the newest");
        assert!(found("token 4").await.unwrap().is_some(), "the oldest kept");
        assert!(
            found("token 3").await.unwrap().is_none(),
            "the newest let go"
        );
        assert!(found("hash").await.unwrap().is_none(), "the first");
    }

    #[tokio::test]
    async fn a_sign_in_checked_against_a_password_since_changed_gets_no_session() {
        let pool = memory_pool().await;
        let known = Revocations::new(900, 30, crate::clock::Clock::default());
        let user = crate::testing::ada(&pool, "old hash").await;
        let checked_against = |hash| NewSession {
            verified_hash: Some(hash),
            ..crate::testing::new_session(&user.id)
        };
        change_password(&pool, &known, &user.id, "new hash", Some(""))
            .await
            .unwrap();
        let stale = insert_session(&pool, checked_against("old hash"), crate::testing::now())
            .await
            .unwrap();
        assert!(
            stale.is_none(),
            "the password it checked is no longer theirs"
        );
        let current = insert_session(&pool, checked_against("new hash"), crate::testing::now())
            .await
            .unwrap();
        assert!(current.is_some());
    }
}
