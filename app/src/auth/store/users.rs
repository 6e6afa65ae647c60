//! Users in the database: adding one, finding one, listing them for an admin, and where
//! a trusted issuer's user stands here. Changes to a user are in `user_changes`.

use crate::{
    auth::types::{Role, User},
    clock::Timestamp,
    db::{self, Pool},
};
use sqlx::{FromRow, Row};

pub(super) const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.email_verified, u.image, u.created_at, \
     u.updated_at, u.role, u.banned, u.ban_reason, u.two_factor_enabled";

/// `USER_COLUMNS` for a `returning` clause, which SQLite wants unqualified.
pub(super) fn returned_user_columns() -> String {
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
        two_factor_enabled: false,
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
}
