//! Changes to a user: a ban, a role, a profile, a password, a deletion, and the changes
//! an emailed link makes (a reset, a verification, a move to a new address). Each one
//! revokes the tokens minted before it, in its own transaction.

use super::{
    email_tokens::{self, Purpose},
    sessions::{commit_revoking, end_sessions, Ending},
    two_factor,
    users::returned_user_columns,
};
use crate::{
    auth::{
        revocations::{self, Revocations},
        types::{Role, User},
    },
    clock::Timestamp,
    db::{self, Pool},
};
use sqlx::{FromRow, Row};

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
    // A link someone else asked for while they knew the old password goes with it, as
    // do the browsers trusted to skip the second factor.
    email_tokens::forget_user(&mut tx, &user.id).await?;
    two_factor::end_trust(&mut tx, &user.id).await?;
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
    two_factor::end_trust(&mut tx, &user.id).await?;
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
