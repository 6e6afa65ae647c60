//! The tokens in emailed links: random, for one purpose and one account, stored only as
//! hashes, expiring, and deleted when used. A newer link of the same purpose replaces
//! the account's older ones, and a password reset removes every link of the account.
//! Each link remembers the session that asked for it, if any: revoking that session
//! cancels it (`forget_asked_by`).

use crate::{
    clock::Timestamp,
    db::{hash_token, new_secret_token, Pool},
};
use sqlx::{FromRow, Row};

/// What a link does when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum Purpose {
    ResetPassword,
    VerifyEmail,
    /// Sent to the address an account has proved, to approve moving it to another.
    ApproveEmailChange,
    ChangeEmail,
}

/// A token as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Found {
    pub user_id: String,
    /// The address the link was sent to; for an approval, the address the account would
    /// move to (the approval goes to the account's own address).
    pub email: String,
    /// The session that asked for the link; `None` when it was asked for signed out.
    pub session_id: Option<String>,
}

/// What a presented token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Valid(Found),
    Expired,
    /// Never issued, used already, replaced, or for another purpose.
    Unknown,
}

/// Makes a token for `purpose` that `user_id` can use for `lifetime_secs`, sent to
/// `email` and asked for by the session `asked_by` (`None`: signed out), replacing their
/// older ones of that purpose. Answers the token itself, which only the email holds.
pub async fn issue(
    pool: &Pool,
    purpose: Purpose,
    user_id: &str,
    email: &str,
    asked_by: Option<&str>,
    lifetime_secs: i64,
    now: Timestamp,
) -> Result<String, sqlx::Error> {
    let token = new_secret_token();
    // One statement, so two links asked for at once still leave one.
    sqlx::query(
        "insert into email_tokens \
         (token_hash, purpose, user_id, email, session_id, expires_at, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (user_id, purpose) do update set token_hash = excluded.token_hash, \
         email = excluded.email, session_id = excluded.session_id, \
         expires_at = excluded.expires_at, created_at = excluded.created_at",
    )
    .bind(hash_token(&token))
    .bind(<&str>::from(purpose))
    .bind(user_id)
    .bind(email)
    .bind(asked_by)
    .bind(now.plus_secs(lifetime_secs))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(token)
}

/// What `token` is for `purpose` at `now`, without using it.
pub async fn look_up(
    pool: &Pool,
    purpose: Purpose,
    token: &str,
    now: Timestamp,
) -> Result<Lookup, sqlx::Error> {
    let row = sqlx::query(
        "select user_id, email, session_id, expires_at from email_tokens \
         where token_hash = $1 and purpose = $2",
    )
    .bind(hash_token(token))
    .bind(<&str>::from(purpose))
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(Lookup::Unknown);
    };
    if row.try_get::<Timestamp, _>("expires_at")? <= now {
        return Ok(Lookup::Expired);
    }
    Ok(Lookup::Valid(Found::from_row(&row)?))
}

/// Uses `token` for `purpose` inside `tx`: deletes it and answers what it was for, or
/// `None` when it is not (or no longer) a valid token, as when another request used it
/// first.
pub async fn consume(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    purpose: Purpose,
    token: &str,
    now: Timestamp,
) -> Result<Option<Found>, sqlx::Error> {
    let row = sqlx::query(
        "delete from email_tokens where token_hash = $1 and purpose = $2 and expires_at > $3 \
         returning user_id, email, session_id",
    )
    .bind(hash_token(token))
    .bind(<&str>::from(purpose))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(Found::from_row).transpose()
}

/// Deletes every token of `user_id` inside `tx`: after a password reset no other link
/// of theirs may be used.
pub async fn forget_user(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from email_tokens where user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Deletes the moves to another address (approvals and new addresses' links) of
/// `user_id` whose asking session has ended, inside `tx`, after the sessions it ends:
/// someone who signs out everywhere fears another has been in, and a move that other
/// asked for before signing out would otherwise stay pending. A reset, asked for while
/// signed out, belongs to no session and stays.
pub async fn forget_moves_of_ended_sessions(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from email_tokens where user_id = $1 and purpose in ($2, $3) \
         and session_id is not null \
         and session_id not in (select id from sessions where user_id = $1)",
    )
    .bind(user_id)
    .bind(<&str>::from(Purpose::ApproveEmailChange))
    .bind(<&str>::from(Purpose::ChangeEmail))
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Deletes the links of `user_id` that one of the sessions `ended` asked for, inside the
/// `tx` that ended them, and no others (`sessions::forget_ended_sessions_links` says why).
pub async fn forget_asked_by(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
    ended: &[&str],
) -> Result<(), sqlx::Error> {
    if ended.is_empty() {
        return Ok(());
    }
    // An account has a link of each purpose at most: these are a few rows, read here
    // rather than matched against a list of every session that ended.
    let asked = sqlx::query(
        "select token_hash, session_id from email_tokens \
         where user_id = $1 and session_id is not null",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    for row in asked {
        let session_id: String = row.try_get("session_id")?;
        if ended.contains(&session_id.as_str()) {
            let token_hash: String = row.try_get("token_hash")?;
            sqlx::query("delete from email_tokens where token_hash = $1")
                .bind(token_hash)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Deletes `user_id`'s pending moves to another address (approvals and links) inside
/// `tx`: once the address is verified, a move asked for before needs its approval.
pub async fn forget_moves(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from email_tokens where user_id = $1 and purpose in ($2, $3)")
        .bind(user_id)
        .bind(<&str>::from(Purpose::ApproveEmailChange))
        .bind(<&str>::from(Purpose::ChangeEmail))
        .execute(&mut **tx)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ada, memory_pool, now};

    async fn issued(pool: &Pool, purpose: Purpose, id: &str, to: &str, secs: i64) -> String {
        issue(pool, purpose, id, to, None, secs, now())
            .await
            .unwrap()
    }

    async fn used(pool: &Pool, purpose: Purpose, token: &str) -> Option<Found> {
        let mut tx = pool.begin().await.unwrap();
        let found = consume(&mut tx, purpose, token, now()).await.unwrap();
        tx.commit().await.unwrap();
        found
    }

    #[tokio::test]
    async fn a_token_works_once_for_its_purpose_only() {
        let pool = memory_pool().await;
        let id = ada(&pool, "hash").await.id;
        let token = issued(&pool, Purpose::ResetPassword, &id, "ada@example.com", 3600).await;
        assert_eq!(
            look_up(&pool, Purpose::VerifyEmail, &token, now())
                .await
                .unwrap(),
            Lookup::Unknown
        );
        assert_eq!(used(&pool, Purpose::VerifyEmail, &token).await, None);
        let found = used(&pool, Purpose::ResetPassword, &token).await.unwrap();
        assert_eq!(found.user_id, id);
        assert_eq!(used(&pool, Purpose::ResetPassword, &token).await, None);
    }

    #[tokio::test]
    async fn ending_sessions_forgets_the_links_they_asked_for_and_no_others() {
        let pool = memory_pool().await;
        let id = ada(&pool, "hash").await.id;
        let to = "ada@example.com";
        let asked = |purpose, by| issue(&pool, purpose, &id, to, by, 3600, now());
        let reset = asked(Purpose::ResetPassword, None).await.unwrap();
        let moving = asked(Purpose::ChangeEmail, Some("ended")).await.unwrap();
        let verifying = asked(Purpose::VerifyEmail, Some("live")).await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        forget_asked_by(&mut tx, &id, &["ended", "another"])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let found = |purpose, token| look_up(&pool, purpose, token, now());
        assert_eq!(
            found(Purpose::ChangeEmail, &moving).await.unwrap(),
            Lookup::Unknown
        );
        assert!(matches!(
            found(Purpose::ResetPassword, &reset).await.unwrap(),
            Lookup::Valid(Found {
                session_id: None,
                ..
            })
        ));
        assert!(matches!(
            found(Purpose::VerifyEmail, &verifying).await.unwrap(),
            Lookup::Valid(Found { session_id: Some(live), .. }) if live == "live"
        ));
    }

    #[tokio::test]
    async fn only_the_hash_of_a_token_is_stored() {
        let pool = memory_pool().await;
        let id = ada(&pool, "hash").await.id;
        let token = issued(&pool, Purpose::VerifyEmail, &id, "ada@example.com", 3600).await;
        let stored: String = sqlx::query("select token_hash from email_tokens")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("token_hash");
        assert_ne!(stored, token);
        assert_eq!(stored, hash_token(&token));
    }

    #[tokio::test]
    async fn an_expired_token_is_told_apart_and_cannot_be_used() {
        let pool = memory_pool().await;
        let id = ada(&pool, "hash").await.id;
        let token = issued(&pool, Purpose::VerifyEmail, &id, "ada@example.com", -1).await;
        assert_eq!(
            look_up(&pool, Purpose::VerifyEmail, &token, now())
                .await
                .unwrap(),
            Lookup::Expired
        );
        assert_eq!(used(&pool, Purpose::VerifyEmail, &token).await, None);
    }

    #[tokio::test]
    async fn a_newer_link_replaces_the_older_one_of_its_purpose() {
        let pool = memory_pool().await;
        let id = ada(&pool, "hash").await.id;
        let old = issued(&pool, Purpose::ChangeEmail, &id, "a@example.com", 3600).await;
        let reset = issued(&pool, Purpose::ResetPassword, &id, "ada@example.com", 3600).await;
        let new = issued(&pool, Purpose::ChangeEmail, &id, "b@example.com", 3600).await;
        assert_eq!(
            look_up(&pool, Purpose::ChangeEmail, &old, now())
                .await
                .unwrap(),
            Lookup::Unknown
        );
        assert!(matches!(
            look_up(&pool, Purpose::ChangeEmail, &new, now()).await.unwrap(),
            Lookup::Valid(Found { email, .. }) if email == "b@example.com"
        ));
        assert!(matches!(
            look_up(&pool, Purpose::ResetPassword, &reset, now())
                .await
                .unwrap(),
            Lookup::Valid(_)
        ));
    }
}
