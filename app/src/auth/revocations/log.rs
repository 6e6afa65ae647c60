//! The revocation log's SQL: writing entries, reading them into the set, pruning.

use super::{
    entry::{Entry, Logged, Reason},
    set::Revocations,
};
use crate::{clock::Timestamp, db::Pool};
use sqlx::{AnyConnection, Row};
use std::sync::atomic::Ordering;

/// The PostgreSQL channel a transaction that wrote the log notifies.
pub const CHANNEL: &str = "revocations";

/// Entries read from the log by one query at most.
const PAGE: i64 = 10_000;

/// Appends entries to the log, inside the transaction of the change they record (which
/// must already have written, so that SQLite's writer is held). On PostgreSQL the other
/// processes are notified when it commits.
pub async fn log(
    conn: &mut AnyConnection,
    entries: Vec<Entry>,
) -> Result<Vec<Logged>, sqlx::Error> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let last: i64 =
        sqlx::query("update revocation_head set last_id = last_id + $1 returning last_id")
            .bind(count)
            .fetch_one(&mut *conn)
            .await?
            .try_get("last_id")?;
    let mut logged = Vec::with_capacity(entries.len());
    for (id, entry) in (last - count + 1..).zip(entries) {
        sqlx::query(
            "insert into revocations (id, user_id, session_id, reason, revoked_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&entry.user_id)
        .bind(&entry.session_id)
        .bind(entry.reason.as_str())
        .bind(entry.revoked_at)
        .execute(&mut *conn)
        .await?;
        logged.push(Logged { id, entry });
    }
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query(&format!("notify {CHANNEL}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(logged)
}

/// The last id given out: every entry up to it has been committed (see the migration).
async fn read_head(pool: &Pool) -> Result<i64, sqlx::Error> {
    sqlx::query("select last_id from revocation_head")
        .fetch_one(pool)
        .await?
        .try_get("last_id")
}

/// Entries of the log past `after` and up to `head`, oldest first, at most `PAGE`.
async fn read_since(pool: &Pool, after: i64, head: i64) -> Result<Vec<Logged>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, user_id, session_id, reason, revoked_at from revocations \
         where id > $1 and id <= $2 order by id limit $3",
    )
    .bind(after)
    .bind(head)
    .bind(PAGE)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Logged {
                id: row.try_get("id")?,
                entry: Entry {
                    user_id: row.try_get("user_id")?,
                    session_id: row.try_get("session_id")?,
                    reason: Reason::parse(row.try_get("reason")?),
                    // A time that cannot be read refuses every token of the user.
                    revoked_at: Timestamp::parse(&row.try_get::<String, _>("revoked_at")?)
                        .unwrap_or(Timestamp::LAST),
                },
            })
        })
        .collect()
}

/// Deletes at most `limit` entries older than `before`: the janitor's batch.
pub const PRUNE: &str = "delete from revocations where id in \
     (select id from revocations where revoked_at < $1 limit $2)";

impl Revocations {
    /// Reads the log past the last id read, up to its head, and applies it; on success
    /// this process is current as of when the read started. Ids are given in the order
    /// they commit, none skipped (see the migration), so every id up to the head is in
    /// the log unless the janitor has pruned it. One missing was pruned before this
    /// process read it: its writer's clock was behind, or this process could not read
    /// for longer than an entry is kept. What it said is lost, so every session
    /// confirmed so far is asked of the database again.
    pub async fn catch_up(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        let started = self.millis_now();
        let head = read_head(pool).await?;
        loop {
            let after = self.known.read().unwrap_or_else(|e| e.into_inner()).last_id;
            if after >= head {
                break;
            }
            let page = read_since(pool, after, head).await?;
            self.apply(&page);
            let full = page.len() >= usize::try_from(PAGE).unwrap_or(usize::MAX);
            let read_to = match page.last() {
                Some(last) if full => last.id,
                _ => head,
            };
            let whole = page.iter().map(|logged| logged.id).eq(after + 1..=read_to);
            let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
            if !whole {
                tracing::warn!(
                    after,
                    read_to,
                    read = page.len(),
                    "revocation log entries were pruned before they were read (a writer's \
                     clock behind, or a long outage): checking every session in the database again"
                );
                known.confirmed.clear();
            }
            known.last_id = known.last_id.max(read_to);
            if !full {
                break;
            }
        }
        self.read_at_ms.fetch_max(started, Ordering::AcqRel);
        Ok(())
    }

    /// Fills an empty set from the log at start: every entry still relevant, then the
    /// rest of the log past them.
    pub async fn load(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        let head = read_head(pool).await?;
        let first: Option<i64> =
            sqlx::query("select min(id) as first from revocations where revoked_at >= $1")
                .bind(self.forgotten_before())
                .fetch_one(pool)
                .await?
                .try_get("first")?;
        {
            let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
            known.last_id = first.map_or(head, |first| first - 1);
        }
        self.poll(pool).await
    }

    /// One tick of the poll: read the log, and forget what has aged out.
    pub async fn poll(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        self.catch_up(pool).await?;
        self.forget_old(self.clock.unix_secs());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::{
            revocations::{keep_secs, test_support::*, Standing},
            token::Claims,
        },
        clock::Clock,
        testing::memory_pool,
    };
    use std::time::Duration;

    #[tokio::test]
    async fn the_entries_of_its_own_change_do_not_skip_what_others_logged_before_them() {
        let pool = memory_pool().await;
        let known = current(&pool).await;
        logged(&pool, vec![ended("grace", "theirs")]).await;
        let mut tx = pool.begin().await.unwrap();
        let own = log(&mut tx, vec![ended("ada", "mine")]).await.unwrap();
        tx.commit().await.unwrap();
        known.apply(&own);
        known.catch_up(&pool).await.unwrap();
        let theirs = token("grace", "theirs", None);
        assert_eq!(
            known.standing("theirs", &theirs),
            Some(Standing::SessionEnded)
        );
    }

    #[tokio::test]
    async fn the_database_refuses_a_token_without_the_user_fields_from_before_a_pruned_change() {
        use crate::auth::{
            store::{sessions, user_changes},
            web::extract::stored_standing,
        };
        let pool = memory_pool().await;
        let clock = Clock::default();
        let known = current_by(&pool, &clock).await;
        let user = crate::testing::ada(&pool, "hash").await;
        let session = sessions::insert_session(
            &pool,
            sessions::NewSession {
                lifetime_secs: 7200,
                ..crate::testing::new_session(&user.id)
            },
            clock.now(),
        )
        .await
        .unwrap()
        .expect("an enabled user gets a session");
        let unstamped = Claims {
            iat: clock.unix_secs(),
            exp: clock.unix_secs() + 7200,
            ..token(&user.id, &session.id, None)
        };
        let standing = |at: Timestamp| {
            let (pool, session_id, claims) = (pool.clone(), session.id.clone(), unstamped.clone());
            async move {
                stored_standing(&pool, &session_id, &claims, at)
                    .await
                    .unwrap()
                    .0
            }
        };
        assert_eq!(standing(clock.now()).await, Standing::Active);

        clock.advance(Duration::from_secs(10));
        user_changes::set_role(&pool, &known, &user.id, crate::auth::types::Role::Admin)
            .await
            .unwrap()
            .expect("the user exists");
        assert_eq!(standing(clock.now()).await, Standing::AccountChanged);

        clock.advance(Duration::from_secs(961));
        let retention = crate::janitor::Retention {
            audit_secs: None,
            revocations_secs: keep_secs(900, 30),
        };
        let swept = crate::janitor::sweep(&pool, retention, clock.now())
            .await
            .unwrap();
        assert_eq!(swept.revocations, 1, "the change's entry is pruned");
        assert_eq!(standing(clock.now()).await, Standing::AccountChanged);
    }

    #[tokio::test]
    async fn entries_pruned_before_they_were_read_send_every_confirmed_session_to_the_database() {
        let pool = memory_pool().await;
        let known = current(&pool).await;
        let ada = token("ada", "s1", Some(UPDATED));
        let grace = token("grace", "s2", Some(UPDATED));
        known.confirm("s1", &ada, live(account_of(&ada)));
        known.confirm("s2", &grace, live(account_of(&grace)));
        let from_a_clock_far_behind = Entry {
            revoked_at: crate::testing::now().plus_secs(-3600),
            ..ended("ada", "s1")
        };
        logged(&pool, vec![from_a_clock_far_behind]).await;
        let pruned = sqlx::query(PRUNE)
            .bind(crate::testing::now().plus_secs(-keep_secs(900, 30)))
            .bind(100_i64)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(pruned.rows_affected(), 1);
        known.catch_up(&pool).await.unwrap();
        assert_eq!(
            known.standing("s1", &ada),
            None,
            "the ended session is asked of the database"
        );
        assert_eq!(known.standing("s2", &grace), None, "and so is every other");

        known.confirm("s2", &grace, live(account_of(&grace)));
        logged(&pool, vec![ended("grace", "other")]).await;
        known.catch_up(&pool).await.unwrap();
        assert_eq!(
            known.standing("s2", &grace),
            Some(Standing::Active),
            "a log read whole keeps what was confirmed"
        );
    }

    #[tokio::test]
    async fn a_starting_process_loads_the_revocations_still_relevant_and_no_older_ones() {
        let pool = memory_pool().await;
        let old = Entry {
            revoked_at: Timestamp::parse("2000-01-01T00:00:00Z").unwrap(),
            ..ended("ada", "old")
        };
        logged(&pool, vec![old, ended("ada", "recent")]).await;
        let known = current(&pool).await;
        let (old, recent) = (token("ada", "old", None), token("ada", "recent", None));
        known.confirm("old", &old, live(account_of(&old)));
        assert_eq!(known.standing("old", &old), Some(Standing::Active));
        assert_eq!(
            known.standing("recent", &recent),
            Some(Standing::SessionEnded)
        );
        logged(&pool, vec![ended("ada", "later")]).await;
        known.catch_up(&pool).await.unwrap();
        assert_eq!(
            known.standing("later", &token("ada", "later", None)),
            Some(Standing::SessionEnded),
            "and reads on from there"
        );
    }
}
