//! Users and sessions in the database. All auth SQL lives here.

use crate::{
    auth::types::User,
    db::{self, Pool},
};
use sqlx::{any::AnyRow, Row};

const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.email_verified, u.image, u.created_at, u.updated_at";

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        email_verified: row.try_get::<i64, _>("email_verified")? != 0,
        image: row.try_get("image")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// A session row as clients see it (Better Auth's `session` shape, without the token).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// Inserts a user; `Ok(None)` when the email is taken.
pub async fn insert_user(
    pool: &Pool,
    name: &str,
    email: &str,
    password_hash: &str,
) -> Result<Option<User>, sqlx::Error> {
    let now = db::timestamp();
    let user = User {
        id: db::new_id(),
        email: email.to_owned(),
        name: name.to_owned(),
        email_verified: false,
        image: None,
        created_at: now.clone(),
        updated_at: now,
    };
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
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => Ok(Some(user)),
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
    row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?)))
        .transpose()
}

pub async fn find_user(pool: &Pool, user_id: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select {USER_COLUMNS} from users u where u.id = $1"
    ))
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub struct NewSession<'a> {
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub lifetime_secs: i64,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert_session(pool: &Pool, new: NewSession<'_>) -> Result<Session, sqlx::Error> {
    let now = db::timestamp();
    let session = Session {
        id: db::new_id(),
        user_id: new.user_id.to_owned(),
        expires_at: db::timestamp_in(new.lifetime_secs),
        created_at: now.clone(),
        updated_at: now,
        ip_address: new.ip_address.map(str::to_owned),
        user_agent: new.user_agent.map(str::to_owned),
    };
    sqlx::query(
        "insert into sessions (id, user_id, token_hash, expires_at, created_at, updated_at, ip_address, user_agent) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&session.id)
    .bind(&session.user_id)
    .bind(new.token_hash)
    .bind(&session.expires_at)
    .bind(&session.created_at)
    .bind(&session.updated_at)
    .bind(&session.ip_address)
    .bind(&session.user_agent)
    .execute(pool)
    .await?;
    Ok(session)
}

/// The unexpired session whose token hashes to `token_hash`, with its user.
pub async fn find_active_session_by_token_hash(
    pool: &Pool,
    token_hash: &str,
) -> Result<Option<(Session, User)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "select s.id as session_id, s.expires_at, s.created_at as session_created_at, \
         s.updated_at as session_updated_at, s.ip_address, s.user_agent, {USER_COLUMNS} \
         from sessions s join users u on u.id = s.user_id \
         where s.token_hash = $1 and s.expires_at > $2"
    ))
    .bind(token_hash)
    .bind(db::timestamp())
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let user = user_from_row(&row)?;
        let session = Session {
            id: row.try_get("session_id")?,
            user_id: user.id.clone(),
            expires_at: row.try_get("expires_at")?,
            created_at: row.try_get("session_created_at")?,
            updated_at: row.try_get("session_updated_at")?,
            ip_address: row.try_get("ip_address")?,
            user_agent: row.try_get("user_agent")?,
        };
        Ok((session, user))
    })
    .transpose()
}

/// Whether session `session_id` of user `user_id` exists and has not expired.
pub async fn session_is_active(
    pool: &Pool,
    session_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "select 1 as active from sessions where id = $1 and user_id = $2 and expires_at > $3",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(db::timestamp())
    .fetch_optional(pool)
    .await?;
    Ok(row.is_some())
}

pub async fn delete_session_by_token_hash(
    pool: &Pool,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}
