//! Failed sign-ins to an account from one client, counted in the database so that every
//! server process sees them: behind a load balancer a client that keeps failing on an
//! account is refused it on every server once it has failed `failed_sign_ins_per_account`
//! times in all, not that many times per server.
//!
//! A row is written only when a sign-in fails, and deleted when that client signs in;
//! a sign-in from a client without failures costs one read by primary key. Because the
//! count is read when an attempt starts and written when it fails, guesses sent at once
//! all pass before any has failed: those are bounded by the limiter in each process
//! (`rate_limit`), which counts attempts as they start, so a burst gets the allowance
//! once per process. Counting every attempt here would bound bursts across servers too,
//! at the price of a write on every sign-in, the successful ones included.

use crate::{
    auth::rate_limit::{client_block, retry_after_secs, Limit},
    clock::Timestamp,
    db::Pool,
};
use sqlx::Row;

/// A client's failures on an account, as they stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No failures in a window that is still open.
    Clean,
    /// Some failures, fewer than the limit.
    Failing,
    /// The limit is reached: refused for this many more seconds, until the window ends.
    Refused(u64),
}

fn account(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Where the client at `address` stands on the account of `email`, at `now`.
pub async fn standing(
    pool: &Pool,
    email: &str,
    address: Option<&str>,
    limit: Limit,
    now: Timestamp,
) -> Result<Standing, sqlx::Error> {
    let row = sqlx::query(
        "select failures, window_ends from failed_sign_ins \
         where account = $1 and client = $2 and window_ends > $3",
    )
    .bind(account(email))
    .bind(client_block(address))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(Standing::Clean);
    };
    let failures: i64 = row.try_get("failures")?;
    if failures < i64::from(limit.attempts) {
        return Ok(Standing::Failing);
    }
    let ends: Timestamp = row.try_get("window_ends")?;
    Ok(Standing::Refused(retry_after_secs(now.until(ends))))
}

/// Counts a failed sign-in to `email`'s account from the client at `address`: one more in
/// the window, or the first of a new one when the last has ended.
pub async fn failed(
    pool: &Pool,
    email: &str,
    address: Option<&str>,
    limit: Limit,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into failed_sign_ins (account, client, failures, window_ends) \
         values ($1, $2, 1, $3) \
         on conflict (account, client) do update set \
         failures = case when failed_sign_ins.window_ends <= $4 then 1 \
                    else failed_sign_ins.failures + 1 end, \
         window_ends = case when failed_sign_ins.window_ends <= $4 then excluded.window_ends \
                       else failed_sign_ins.window_ends end",
    )
    .bind(account(email))
    .bind(client_block(address))
    .bind(now.plus(limit.window))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets the client's failures on the account: it has just proved it knows the
/// password.
pub async fn forget(pool: &Pool, email: &str, address: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("delete from failed_sign_ins where account = $1 and client = $2")
        .bind(account(email))
        .bind(client_block(address))
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const THREE_PER_MINUTE: Limit = Limit {
        attempts: 3,
        window: Duration::from_secs(60),
    };

    use crate::testing::memory_pool as pool;

    #[tokio::test]
    async fn a_client_that_keeps_failing_is_refused_until_its_window_ends() {
        let pool = pool().await;
        let start = crate::clock::Clock::default().now();
        let stand = |address: &'static str, at| {
            let pool = pool.clone();
            async move {
                standing(
                    &pool,
                    "ADA@example.com",
                    Some(address),
                    THREE_PER_MINUTE,
                    at,
                )
                .await
                .unwrap()
            }
        };
        assert_eq!(stand("10.0.0.1", start).await, Standing::Clean);
        for _ in 0..3 {
            failed(
                &pool,
                "ada@example.com",
                Some("10.0.0.1"),
                THREE_PER_MINUTE,
                start,
            )
            .await
            .unwrap();
        }
        let later = start.plus(Duration::from_millis(20_500));
        assert_eq!(stand("10.0.0.1", later).await, Standing::Refused(40));
        assert_eq!(
            stand("10.0.0.2", later).await,
            Standing::Clean,
            "another client"
        );
        let after = start.plus_secs(60);
        assert_eq!(stand("10.0.0.1", after).await, Standing::Clean);
        failed(
            &pool,
            "ada@example.com",
            Some("10.0.0.1"),
            THREE_PER_MINUTE,
            after,
        )
        .await
        .unwrap();
        assert_eq!(
            stand("10.0.0.1", after).await,
            Standing::Failing,
            "a new window counts from one"
        );
    }

    #[tokio::test]
    async fn a_success_forgets_the_clients_failures_on_that_account_only() {
        let pool = pool().await;
        let now = crate::clock::Clock::default().now();
        for email in ["ada@example.com", "grace@example.com"] {
            failed(&pool, email, Some("10.0.0.1"), THREE_PER_MINUTE, now)
                .await
                .unwrap();
        }
        forget(&pool, "Ada@Example.com", Some("10.0.0.1"))
            .await
            .unwrap();
        let stand = |email: &'static str| {
            let pool = pool.clone();
            async move {
                standing(&pool, email, Some("10.0.0.1"), THREE_PER_MINUTE, now)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(stand("ada@example.com").await, Standing::Clean);
        assert_eq!(stand("grace@example.com").await, Standing::Failing);
    }
}
