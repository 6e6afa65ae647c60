//! Users and sessions in the database. All auth SQL lives here.

use crate::{
    auth::{
        email_tokens::{self, Purpose},
        revocations::{self, LiveSession, Revocations, Standing},
        types::{Role, User},
    },
    clock::Timestamp,
    db::{self, Pool},
};
use sqlx::{AnyConnection, FromRow, Row};

const USER_COLUMNS: &str = "u.id, u.email, u.name, u.email_verified, u.image, u.created_at, \
     u.updated_at, u.role, u.banned, u.ban_reason";

/// `USER_COLUMNS` for a `returning` clause, which SQLite wants unqualified.
fn returned_user_columns() -> String {
    USER_COLUMNS.replace("u.", "")
}

/// A role as the table stores it. An unknown one grants nothing beyond a user's rights:
/// every read of a role from the database, now or later, gets the plain user for it.
impl sqlx::Type<sqlx::Any> for Role {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Role {
    fn decode(
        value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        Ok(Self::parse(&text).unwrap_or_default())
    }
}

const SESSION_COLUMNS: &str = "s.id as session_id, s.user_id as session_user_id, s.expires_at, \
     s.created_at as session_created_at, s.updated_at as session_updated_at, s.ip_address, \
     s.user_agent, s.previous_token_hash, s.token_unseen, s.api_token";

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
}

/// Inserts a user with the `user` role; `Ok(None)` when the email is taken. An address
/// that a trusted issuer's user holds only on the issuer's `emailVerified: false` is
/// taken from them first (`issued_elsewhere`): their account keeps its id and tasks under
/// an address of the reserved `.invalid` domain, which no mail reaches.
pub async fn insert_user(
    pool: &Pool,
    name: &str,
    email: &str,
    password_hash: &str,
    now: Timestamp,
) -> Result<Option<User>, sqlx::Error> {
    let now = now.to_string();
    let user = User {
        id: db::new_id(),
        email: email.to_owned(),
        name: name.to_owned(),
        email_verified: false,
        image: None,
        created_at: now.clone(),
        updated_at: now,
        role: Role::User,
        banned: false,
        ban_reason: None,
    };
    let mut tx = pool.begin().await?;
    sqlx::query(
        "update users set email = $1, updated_at = $2 \
         where email = $3 and password_hash = '' and email_verified = 0",
    )
    .bind(format!("{}@unverified.invalid", db::new_id()))
    .bind(&user.created_at)
    .bind(&user.email)
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query(
        "insert into users (id, email, name, password_hash, email_verified, created_at, updated_at) \
         values ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(&user.id)
    .bind(&user.email)
    .bind(&user.name)
    .bind(password_hash)
    .bind(&user.created_at)
    .bind(&user.updated_at)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {
            tx.commit().await?;
            Ok(Some(user))
        }
        Err(e) if db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The user with this email and their password hash.
pub async fn find_user_with_hash_by_email(
    pool: &Pool,
    email: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {USER_COLUMNS}, u.password_hash from users u where u.email = $1"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((User::from_row(&row)?, row.try_get("password_hash")?)))
        .transpose()
}

pub async fn find_user(pool: &Pool, user_id: &str) -> Result<Option<User>, sqlx::Error> {
    find_user_where(pool, "u.id = $1", user_id).await
}

/// The user with this (canonical) email.
pub async fn find_user_by_email(pool: &Pool, email: &str) -> Result<Option<User>, sqlx::Error> {
    find_user_where(pool, "u.email = $1", email).await
}

async fn find_user_where(
    pool: &Pool,
    matching: &str,
    key: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {USER_COLUMNS} from users u where {matching}"
    ))
    .bind(key)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(User::from_row).transpose()
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
    /// Whether the session is an API token's (`session::issue_api_token`), as the
    /// account page lists it; `false` for every sign-in. Set by the server, never taken
    /// from the request as `user_agent` is.
    pub api_token: bool,
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
        "insert into sessions (id, user_id, token_hash, expires_at, created_at, updated_at, ip_address, user_agent, api_token) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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

/// Where a user of the trusted issuer (`JWT_JWKS_URL`) stands here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuedElsewhere {
    Active,
    Disabled,
    /// The token's `sub` is an account that signs in here with a password: another
    /// issuer does not speak for it.
    LocalAccount,
    /// The token's email belongs to another account here.
    EmailTaken,
}

/// The standing of the trusted issuer's user `id`, whose account is made on the first
/// request that names it (from the token's email and name) and kept after, so the same
/// person has the same tasks on every request. Such an account has no password.
///
/// Its address is held (verified) unless the issuer said `emailVerified: false`: an
/// address the issuer never checked may be anybody's, so a sign-up with it takes it
/// (`insert_user`), and the issuer's user keeps their account under its id. A claim the
/// issuer leaves out is taken as its word for the address, as before this rule; a later
/// token that says `true` marks the address verified, never the other way.
pub async fn issued_elsewhere(
    pool: &Pool,
    id: &str,
    email: &str,
    issuer_says_verified: Option<bool>,
    name: &str,
    now: Timestamp,
) -> Result<IssuedElsewhere, sqlx::Error> {
    let standing = || {
        sqlx::query("select email, password_hash, email_verified, banned from users where id = $1")
            .bind(id)
            .fetch_optional(pool)
    };
    // Read first: only a person's first request writes.
    let row = match standing().await? {
        Some(row) => row,
        None => {
            sqlx::query(
                "insert into users (id, email, name, password_hash, email_verified, created_at, \
                 updated_at) values ($1, $2, $3, '', $4, $5, $5) on conflict do nothing",
            )
            .bind(id)
            .bind(email)
            .bind(name)
            .bind(i32::from(issuer_says_verified != Some(false)))
            .bind(now)
            .execute(pool)
            .await?;
            match standing().await? {
                Some(row) => row,
                None => return Ok(IssuedElsewhere::EmailTaken),
            }
        }
    };
    let unverified = row.try_get::<i64, _>("email_verified")? == 0;
    if unverified
        && issuer_says_verified == Some(true)
        && row.try_get::<String, _>("email")? == email
    {
        sqlx::query(
            "update users set email_verified = 1 where id = $1 and email = $2 and password_hash = ''",
        )
        .bind(id)
        .bind(email)
        .execute(pool)
        .await?;
    }
    Ok(if !row.try_get::<String, _>("password_hash")?.is_empty() {
        IssuedElsewhere::LocalAccount
    } else if row.try_get::<i64, _>("banned")? != 0 {
        IssuedElsewhere::Disabled
    } else {
        IssuedElsewhere::Active
    })
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
async fn commit_revoking(
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
enum Ending<'a> {
    One(&'a str),
    AllBut(&'a str),
    All,
}

/// Deletes the sessions of `user_id` that `which` names, and answers the revocations of
/// those it deleted, ended `at`.
async fn end_sessions(
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

/// Which users to list, in what order, and how many: Better Auth's `list-users` query.
/// Every column named here is one of a fixed set, never text from the request.
#[derive(Debug, Clone, Default)]
pub struct UserListing {
    /// Users whose column matches the pattern (`%` and `_` in the text match themselves).
    pub search: Option<(UserColumn, TextMatch, String)>,
    /// Users whose column is (or, with `false`, is not) the value.
    pub filter: Option<(UserColumn, bool, String)>,
    pub sort_by: Option<UserColumn>,
    pub descending: bool,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
pub enum UserColumn {
    #[strum(serialize = "email")]
    Email,
    #[strum(serialize = "name")]
    Name,
    #[strum(serialize = "role")]
    Role,
    #[strum(serialize = "banned")]
    Banned,
    #[strum(serialize = "createdAt")]
    CreatedAt,
    #[strum(serialize = "updatedAt")]
    UpdatedAt,
}

impl UserColumn {
    fn sql(self) -> &'static str {
        match self {
            Self::Email => "u.email",
            Self::Name => "u.name",
            Self::Role => "u.role",
            Self::Banned => "u.banned",
            Self::CreatedAt => "u.created_at",
            Self::UpdatedAt => "u.updated_at",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
pub enum TextMatch {
    #[strum(serialize = "contains")]
    Contains,
    #[strum(serialize = "starts_with")]
    StartsWith,
    #[strum(serialize = "ends_with")]
    EndsWith,
}

/// The users a listing names, and how many match it in all (before `limit`/`offset`).
pub async fn list_users(
    pool: &Pool,
    listing: &UserListing,
) -> Result<(Vec<User>, i64), sqlx::Error> {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some((column, matching, text)) = &listing.search {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        values.push(match matching {
            TextMatch::Contains => format!("%{escaped}%"),
            TextMatch::StartsWith => format!("{escaped}%"),
            TextMatch::EndsWith => format!("%{escaped}"),
        });
        conditions.push(format!(
            "lower({}) like ${} escape '\\'",
            column.sql(),
            values.len()
        ));
    }
    if let Some((column, equal, value)) = &listing.filter {
        let comparison = if *equal { "=" } else { "<>" };
        if *column == UserColumn::Banned {
            // A flag: 0 or 1, written in the statement (it is not the request's text).
            let flag = i64::from(matches!(value.as_str(), "true" | "1"));
            conditions.push(format!("{} {comparison} {flag}", column.sql()));
        } else {
            values.push(value.clone());
            conditions.push(format!("{} {comparison} ${}", column.sql(), values.len()));
        }
    }
    let matching = if conditions.is_empty() {
        String::new()
    } else {
        format!("where {}", conditions.join(" and "))
    };
    let order = format!(
        "{} {}",
        listing.sort_by.unwrap_or(UserColumn::CreatedAt).sql(),
        if listing.descending { "desc" } else { "asc" }
    );
    // SQLite takes no `offset` without a `limit`, nor PostgreSQL a negative one: no
    // limit is the largest.
    let page = format!(
        "limit {} offset {}",
        listing.limit.map_or(i64::MAX, i64::from),
        listing.offset.unwrap_or(0)
    );
    let select =
        format!("select {USER_COLUMNS} from users u {matching} order by {order}, u.id {page}");
    let count = format!("select count(*) as total from users u {matching}");
    let (mut users, mut total) = (sqlx::query(&select), sqlx::query(&count));
    for value in &values {
        users = users.bind(value);
        total = total.bind(value);
    }
    let rows = users.fetch_all(pool).await?;
    let total: i64 = total.fetch_one(pool).await?.try_get("total")?;
    Ok((
        rows.iter().map(User::from_row).collect::<Result<_, _>>()?,
        total,
    ))
}

/// How often a change to a user is tried again when another change landed between
/// reading the user and writing it.
const CHANGE_ATTEMPTS: u32 = 5;

/// A change to a user, begun: its transaction, the user as it leaves them, and the
/// revocation of the tokens minted before it, to log in the same transaction.
type UserChange = (
    sqlx::Transaction<'static, sqlx::Any>,
    User,
    revocations::Entry,
);

/// Starts a transaction that changes the user `matching` names (`$1` is `key`): `set` is
/// the assignments, with `values` bound from `$4` on. Every change to a user goes through
/// here, and revokes the tokens minted before it (`reason`): they describe the account
/// as it was. Its `updated_at` moves from `now` to a later millisecond than before
/// (`Timestamp::after`), whatever the clocks of the processes that made the two changes
/// say, so those tokens are older than the change. `None` when there is no such user.
async fn change_user(
    pool: &Pool,
    matching: &str,
    key: &str,
    set: &str,
    values: &[Option<&str>],
    reason: revocations::Reason,
    now: Timestamp,
) -> Result<Option<UserChange>, sqlx::Error> {
    // Named by its id in the error: the key may be an email, which logs do not hold.
    let mut contended = String::new();
    for _ in 0..CHANGE_ATTEMPTS {
        let Some(row) = sqlx::query(&format!(
            "select id, updated_at from users where {matching}"
        ))
        .bind(key)
        .fetch_optional(pool)
        .await?
        else {
            return Ok(None);
        };
        let (id, previous): (String, String) = (row.try_get("id")?, row.try_get("updated_at")?);
        let updated_at = Timestamp::parse(&previous).map_or(now, |previous| now.after(previous));
        let mut tx = pool.begin().await?;
        let statement = format!(
            "update users set {set}, updated_at = $3 where id = $1 and updated_at = $2 \
             returning {}",
            returned_user_columns()
        );
        let mut query = sqlx::query(&statement)
            .bind(&id)
            .bind(&previous)
            .bind(updated_at);
        for value in values {
            query = query.bind(*value);
        }
        if let Some(row) = query.fetch_optional(&mut *tx).await? {
            let user = User::from_row(&row)?;
            let revoked = revocations::Entry::account(&user.id, reason, updated_at);
            return Ok(Some((tx, user, revoked)));
        }
        tx.rollback().await?;
        contended = id;
    }
    Err(sqlx::Error::Protocol(format!(
        "user {contended} changed {CHANGE_ATTEMPTS} times while this change was being made"
    )))
}

/// Disables (with a reason, ending every session and deleting their emailed links) or
/// re-enables a user; `None` when
/// there is no such user. One transaction, with the revocations: the user answered is
/// the user as this change left them, with how many sessions ended.
pub async fn set_banned(
    pool: &Pool,
    known: &Revocations,
    user_id: &str,
    banned: bool,
    reason: Option<&str>,
) -> Result<Option<(User, u64)>, sqlx::Error> {
    let flag = i64::from(banned);
    let Some((mut tx, user, revoked)) = change_user(
        pool,
        "id = $1",
        user_id,
        &format!("banned = {flag}, ban_reason = $4"),
        &[reason.filter(|_| banned)],
        if banned {
            revocations::Reason::Disabled
        } else {
            revocations::Reason::AccountChanged
        },
        known.now(),
    )
    .await?
    else {
        return Ok(None);
    };
    let mut ended = Vec::new();
    if banned {
        email_tokens::forget_user(&mut tx, &user.id).await?;
        ended = end_sessions(&mut tx, &user.id, Ending::All, known.now()).await?;
    }
    ended.push(revoked);
    let logged = commit_revoking(tx, known, ended).await?;
    let sessions_ended = logged
        .iter()
        .filter(|l| l.entry.session_id.is_some())
        .count();
    Ok(Some((user, sessions_ended as u64)))
}

/// Gives the user with this id, or with this email, a role; `None` when there is none.
/// One transaction, with the revocation of the user's older tokens (which carry the old
/// role): no other change can land between finding the user and answering.
pub async fn set_role(
    pool: &Pool,
    known: &Revocations,
    id_or_email: &str,
    role: Role,
) -> Result<Option<User>, sqlx::Error> {
    let Some((tx, user, revoked)) = change_user(
        pool,
        "id = $1 or email = $1",
        id_or_email,
        "role = $4",
        &[Some(role.as_str())],
        revocations::Reason::AccountChanged,
        known.now(),
    )
    .await?
    else {
        return Ok(None);
    };
    commit_revoking(tx, known, vec![revoked]).await?;
    Ok(Some(user))
}

/// Sets a user's name and picture (`Some(None)` removes it); `None` when there is no such
/// user. Their older tokens, which carry the old profile, are revoked with the change.
pub async fn update_profile(
    pool: &Pool,
    known: &Revocations,
    user_id: &str,
    name: Option<&str>,
    image: Option<Option<&str>>,
) -> Result<Option<User>, sqlx::Error> {
    let mut set = Vec::new();
    let mut values = Vec::new();
    if let Some(name) = name {
        set.push(format!("name = ${}", 4 + values.len()));
        values.push(Some(name));
    }
    if let Some(image) = image {
        set.push(format!("image = ${}", 4 + values.len()));
        values.push(image);
    }
    let Some((tx, user, revoked)) = change_user(
        pool,
        "id = $1",
        user_id,
        &set.join(", "),
        &values,
        revocations::Reason::AccountChanged,
        known.now(),
    )
    .await?
    else {
        return Ok(None);
    };
    commit_revoking(tx, known, vec![revoked]).await?;
    Ok(Some(user))
}

/// Sets a user's password hash, deletes their emailed links and, with `Some(kept)`, ends
/// every session of theirs but `kept`; `None` when there is no such user. One transaction with the revocations:
/// every token from before the change is refused. Answers the user and how many
/// sessions ended.
pub async fn change_password(
    pool: &Pool,
    known: &Revocations,
    user_id: &str,
    password_hash: &str,
    keeping: Option<&str>,
) -> Result<Option<(User, u64)>, sqlx::Error> {
    let Some((mut tx, user, revoked)) = change_user(
        pool,
        "id = $1",
        user_id,
        "password_hash = $4",
        &[Some(password_hash)],
        revocations::Reason::AccountChanged,
        known.now(),
    )
    .await?
    else {
        return Ok(None);
    };
    // A link someone else asked for while they knew the old password goes with it.
    email_tokens::forget_user(&mut tx, &user.id).await?;
    let mut ended = match keeping {
        Some(kept) => end_sessions(&mut tx, &user.id, Ending::AllBut(kept), known.now()).await?,
        None => Vec::new(),
    };
    let sessions_ended = ended.len() as u64;
    ended.push(revoked);
    commit_revoking(tx, known, ended).await?;
    Ok(Some((user, sessions_ended)))
}

/// The password hash of a user, to check a password they type again; empty for an
/// account without one (a trusted issuer's user).
pub async fn password_hash(pool: &Pool, user_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("select password_hash from users where id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await?
        .map(|row| row.try_get("password_hash"))
        .transpose()
}

/// Deletes a user with their sessions (each one logged as ended, so every process
/// refuses its tokens at once), their tasks and their retired tokens (the foreign keys
/// cascade). The audit log keeps their events. `false` when there was no such user.
///
/// The user's row is written first: a sign-in starting a session for them waits for
/// this transaction (`insert_session` writes the same row), then finds no user, so no
/// session can be made that this deletion did not see.
pub async fn delete_user(
    pool: &Pool,
    known: &Revocations,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query("update users set updated_at = updated_at where id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if found == 0 {
        return Ok(false);
    }
    let ended = end_sessions(&mut tx, user_id, Ending::All, known.now()).await?;
    sqlx::query("delete from users where id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    commit_revoking(tx, known, ended).await?;
    Ok(true)
}

/// What opening an emailed link did to an account.
pub enum LinkOutcome<T> {
    Done(T),
    /// The token was not valid (any more), or not for this account as it is now.
    Refused,
    /// The address it moves the account to belongs to another account meanwhile.
    AddressTaken,
}

/// Starts the change a link makes (`set`, with `values` from `$4` on) to the account
/// `found` names, and uses up `token` for `purpose` inside it: `Refused` (rolled back)
/// when the token is not that account's any more, or was sent to an address the account
/// no longer has; `AddressTaken` when the change gives it an address another account
/// has meanwhile.
async fn change_by_link(
    pool: &Pool,
    found: &email_tokens::Found,
    token: &str,
    purpose: Purpose,
    set: &str,
    values: &[Option<&str>],
    now: Timestamp,
) -> Result<LinkOutcome<UserChange>, sqlx::Error> {
    let changed = change_user(
        pool,
        "id = $1",
        &found.user_id,
        set,
        values,
        revocations::Reason::AccountChanged,
        now,
    )
    .await;
    let (mut tx, user, revoked) = match changed {
        Ok(Some(change)) => change,
        Ok(None) => return Ok(LinkOutcome::Refused),
        Err(e) if db::is_unique_violation(&e) => return Ok(LinkOutcome::AddressTaken),
        Err(e) => return Err(e),
    };
    let used = email_tokens::consume(&mut tx, purpose, token, now)
        .await?
        .is_some_and(|used| used.user_id == user.id);
    if !used || user.email != found.email {
        tx.rollback().await?;
        return Ok(LinkOutcome::Refused);
    }
    Ok(LinkOutcome::Done((tx, user, revoked)))
}

/// Sets a new password with the reset token `token`, which it uses up: one transaction
/// that ends every session of the user, deletes every other link of theirs and revokes
/// their tokens. Answers the user and how many sessions ended.
pub async fn reset_password(
    pool: &Pool,
    known: &Revocations,
    found: &email_tokens::Found,
    token: &str,
    password_hash: &str,
) -> Result<LinkOutcome<(User, u64)>, sqlx::Error> {
    // The link reached the address, so it is verified: a person who takes back an
    // account someone registered with their address before them ends up owning it.
    let set = "password_hash = $4, email_verified = 1";
    let (mut tx, user, revoked) = match change_by_link(
        pool,
        found,
        token,
        Purpose::ResetPassword,
        set,
        &[Some(password_hash)],
        known.now(),
    )
    .await?
    {
        LinkOutcome::Done(change) => change,
        LinkOutcome::Refused | LinkOutcome::AddressTaken => return Ok(LinkOutcome::Refused),
    };
    email_tokens::forget_user(&mut tx, &user.id).await?;
    let mut ended = end_sessions(&mut tx, &user.id, Ending::All, known.now()).await?;
    let sessions_ended = ended.len() as u64;
    ended.push(revoked);
    commit_revoking(tx, known, ended).await?;
    Ok(LinkOutcome::Done((user, sessions_ended)))
}

/// Marks the address `found` names verified with the token `token`, which it uses up,
/// when it is still the account's address. Tokens carrying the old state are revoked,
/// and moves to another address asked for before dropped (now they need approval).
pub async fn verify_email(
    pool: &Pool,
    known: &Revocations,
    found: &email_tokens::Found,
    token: &str,
) -> Result<LinkOutcome<User>, sqlx::Error> {
    let set = "email_verified = 1";
    Ok(
        match change_by_link(
            pool,
            found,
            token,
            Purpose::VerifyEmail,
            set,
            &[],
            known.now(),
        )
        .await?
        {
            LinkOutcome::Done((mut tx, user, revoked)) => {
                email_tokens::forget_moves(&mut tx, &user.id).await?;
                commit_revoking(tx, known, vec![revoked]).await?;
                LinkOutcome::Done(user)
            }
            LinkOutcome::Refused | LinkOutcome::AddressTaken => LinkOutcome::Refused,
        },
    )
}

/// Moves the account to the address `found` names, verified (the link reached it), with
/// the token `token`, which it uses up. Tokens carrying the old address are revoked,
/// and the links sent to the old address (a reset, a verification) deleted.
pub async fn move_email(
    pool: &Pool,
    known: &Revocations,
    found: &email_tokens::Found,
    token: &str,
) -> Result<LinkOutcome<User>, sqlx::Error> {
    let set = "email = $4, email_verified = 1";
    let values = [Some(found.email.as_str())];
    Ok(
        match change_by_link(
            pool,
            found,
            token,
            Purpose::ChangeEmail,
            set,
            &values,
            known.now(),
        )
        .await?
        {
            LinkOutcome::Done((mut tx, user, revoked)) => {
                email_tokens::forget_user(&mut tx, &user.id).await?;
                commit_revoking(tx, known, vec![revoked]).await?;
                LinkOutcome::Done(user)
            }
            LinkOutcome::Refused => LinkOutcome::Refused,
            LinkOutcome::AddressTaken => LinkOutcome::AddressTaken,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::memory_pool;

    #[tokio::test]
    async fn a_role_the_table_does_not_know_reads_as_a_plain_user() {
        let pool = memory_pool().await;
        let user = crate::testing::ada(&pool, "hash").await;
        sqlx::query("update users set role = 'root' where id = $1")
            .bind(&user.id)
            .execute(&pool)
            .await
            .unwrap();
        let read = find_user(&pool, &user.id).await.unwrap().unwrap();
        assert_eq!(read.role, Role::User);
    }

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
