//! The tokens in emailed links: random, for one purpose and one account, stored only as
//! hashes, expiring, and deleted when used. A newer link of the same purpose replaces
//! the account's older ones, and a password reset removes every link of the account.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        repo,
        session::{hash_token, new_secret_token},
        types::{Email, User},
    },
    client::ClientInfo,
    clock::Timestamp,
    db::Pool,
    error::AppError,
    mail::letters::{self, Recipient},
    redirect::RedirectTarget,
    state::AppState,
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
/// `email`, replacing their older ones of that purpose. Answers the token itself, which
/// only the email holds.
pub async fn issue(
    pool: &Pool,
    purpose: Purpose,
    user_id: &str,
    email: &str,
    lifetime_secs: i64,
    now: Timestamp,
) -> Result<String, sqlx::Error> {
    let token = new_secret_token();
    // One statement, so two links asked for at once still leave one.
    sqlx::query(
        "insert into email_tokens (token_hash, purpose, user_id, email, expires_at, created_at) \
         values ($1, $2, $3, $4, $5, $6) \
         on conflict (user_id, purpose) do update set token_hash = excluded.token_hash, \
         email = excluded.email, expires_at = excluded.expires_at, \
         created_at = excluded.created_at",
    )
    .bind(hash_token(&token))
    .bind(<&str>::from(purpose))
    .bind(user_id)
    .bind(email)
    .bind(now.plus_secs(lifetime_secs))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(token)
}

/// Makes a link for `purpose` about `user` and `address`, that leads to `callback` once
/// opened, and mails it to `address` (an approval to move to `address`, to the account's
/// own): a reset link to the page that sets a new password, the others through
/// `verify-email`.
pub async fn mail_link(
    state: &AppState,
    user: &User,
    purpose: Purpose,
    address: &str,
    callback: &RedirectTarget,
) -> Result<(), sqlx::Error> {
    let lifetime = match purpose {
        Purpose::ResetPassword => state.site.reset_link_lifetime_secs,
        Purpose::VerifyEmail | Purpose::ApproveEmailChange | Purpose::ChangeEmail => {
            state.site.verification_link_lifetime_secs
        }
    };
    let token = issue(
        &state.db,
        purpose,
        &user.id,
        address,
        lifetime,
        state.clock.now(),
    )
    .await?;
    let origin = &state.site.public_origin;
    let callback: String =
        url::form_urlencoded::byte_serialize(callback.as_str().as_bytes()).collect();
    let link = match purpose {
        Purpose::ResetPassword => {
            format!("{origin}/api/auth/reset-password/{token}?callbackURL={callback}")
        }
        Purpose::VerifyEmail | Purpose::ApproveEmailChange | Purpose::ChangeEmail => {
            // A page that asks before it acts: mail gateways fetch every link they pass on.
            format!("{origin}/confirm-email?token={token}&callbackURL={callback}")
        }
    };
    let to = Recipient {
        user_id: &user.id,
        address: match purpose {
            Purpose::ApproveEmailChange => &user.email,
            _ => address,
        },
    };
    let words = letters::duration_in_words(lifetime);
    let letter = match purpose {
        Purpose::ResetPassword => letters::password_reset(to, origin, &link, &words),
        Purpose::VerifyEmail => letters::verify_email(to, origin, &link, &words),
        Purpose::ApproveEmailChange => {
            letters::approve_email_change(to, origin, &link, &words, address)
        }
        Purpose::ChangeEmail => letters::confirm_new_email(to, origin, &link, &words),
    };
    state.mail.send(letter);
    Ok(())
}

/// Answers a request for a link of `purpose` to `email` that nobody signed in made (a
/// reset, a verification link asked for from the sign-in page). It is counted against
/// the client and the address; the rest happens in a task of its own, so the answer is
/// the same, and as quick, whether or not the address has an account: the link goes,
/// within the account's limit and audited as `event`, when the address has an account
/// that `wants` one (given the account and its password hash).
pub fn mail_on_request(
    state: &AppState,
    email: Email,
    purpose: Purpose,
    callback: RedirectTarget,
    client: &ClientInfo,
    event: EventKind,
    wants: fn(&User, &str) -> bool,
) -> Result<(), AppError> {
    state
        .limits
        .email_requested(client.address(), email.as_str())?;
    let (state, client) = (state.clone(), client.clone());
    tokio::spawn(async move {
        let found = repo::find_user_with_hash_by_email(&state.db, email.as_str()).await;
        let user = match found {
            Ok(Some((user, hash))) if wants(&user, &hash) => user,
            Ok(_) => return,
            Err(cause) => {
                tracing::error!(%cause, ?purpose, "could not look up an account for an email");
                return;
            }
        };
        if state.limits.email_about_account(&user.id).is_err() {
            tracing::warn!(user_id = %user.id, ?purpose, "too many emails about this account: none sent");
            return;
        }
        if let Err(cause) = mail_link(&state, &user, purpose, &user.email, &callback).await {
            tracing::error!(%cause, ?purpose, "could not prepare an email");
            return;
        }
        let entry = Entry::new(event, Outcome::Success, &client).user(&user.id, &user.email);
        record(&state.db, entry).await;
    });
    Ok(())
}

/// What `token` is for `purpose` at `now`, without using it.
pub async fn look_up(
    pool: &Pool,
    purpose: Purpose,
    token: &str,
    now: Timestamp,
) -> Result<Lookup, sqlx::Error> {
    let row = sqlx::query(
        "select user_id, email, expires_at from email_tokens \
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
         returning user_id, email",
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
        issue(pool, purpose, id, to, secs, now()).await.unwrap()
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
