//! The set in memory: what the log's entries refuse, which sessions the database confirmed.

use super::entry::{Logged, Reason};
use crate::{
    auth::{token::Claims, types::User},
    clock::{Clock, Timestamp},
};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
        RwLock,
    },
    time::{Duration, Instant},
};

/// How often each process reads the log for what other processes wrote.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// How often, at most, the entries that have aged out are dropped.
const FORGET_EVERY_SECS: i64 = 1;

/// Sessions remembered as confirmed at most; past it, new ones are checked in the
/// database on every request until older ones expire.
pub const MAX_CONFIRMED: usize = 100_000;

/// Where the holder of an access token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// The session was revoked or expired, or the user is gone.
    SessionEnded,
    Disabled,
    /// The token was minted before its account changed (its role, say).
    AccountChanged,
}

/// A live session's account, as the database has it, and when the session expires
/// (Unix seconds).
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub account: User,
    pub expires_at: i64,
}

impl Confirmed {
    /// Whether a token is of this session's user, unexpired as far as this goes, and
    /// minted from the account as the database last said it was: one minted from a later
    /// record (after a change, refreshed) is asked of the database, which confirms anew.
    fn vouches_for(&self, claims: &Claims, now: i64) -> bool {
        self.account.id == claims.sub
            && self.until > now
            && (claims
                .profile
                .as_ref()
                .is_some_and(|minted| minted.updated_at == self.minted_at)
                || minted_from(claims, &self.account))
    }
}

/// Whether two times, sent or stored, fall in the same millisecond.
fn same_millisecond(a: &str, b: &str) -> bool {
    let (a, b) = (unix_millis(a), unix_millis(b));
    a.is_some() && a == b
}

/// A time a token or a record states (RFC 3339), in Unix milliseconds.
fn unix_millis(time: &str) -> Option<i64> {
    Timestamp::parse(time).map(Timestamp::unix_millis)
}

/// Whether a token could have been minted from this record of its user: its `updatedAt`
/// is the record's, to the millisecond. One without Better Auth's user fields (another
/// encoder's, which the contract allows) must have been issued (`iat`, whole seconds)
/// in a later second than the record last changed, unless it never has (its other
/// service's clock may be behind ours). The log refuses such a token after any change
/// only while it keeps the entry (`keep_secs`), and such a token may be minted to live
/// longer than that; one minted in the change's own second was refused all that time.
pub fn minted_from(claims: &Claims, record: &User) -> bool {
    match &claims.profile {
        Some(minted) => same_millisecond(&minted.updated_at, &record.updated_at),
        None => {
            record.updated_at == record.created_at
                || Timestamp::parse(&record.updated_at)
                    .is_some_and(|changed| claims.iat > changed.unix_secs())
        }
    }
}

/// The last instant a token's `updatedAt` (milliseconds) covers: a change logged after
/// it came after the token was minted. The epoch when the token has none, so that any
/// change refuses it.
pub fn minted_by(claims: &Claims) -> Timestamp {
    claims
        .profile
        .as_ref()
        .and_then(|minted| unix_millis(&minted.updated_at))
        .and_then(|ms| Timestamp::from_unix_micros(ms.saturating_mul(1000) + 999))
        .unwrap_or(Timestamp::EPOCH)
}

/// What a user entry says about the user's older tokens.
#[derive(Debug, Clone)]
struct AccountChange {
    /// Tokens minted from the account before this (`updatedAt`, milliseconds) are refused.
    before_ms: i64,
    disabled: bool,
    /// When the entry can be forgotten (Unix seconds).
    forget_at: i64,
}

/// A session the database said was live, and its user's account as it was then.
#[derive(Debug, Clone)]
pub(super) struct Confirmed {
    account: User,
    /// The account's `updated_at` as tokens carry it (milliseconds), compared as text
    /// first: a parse is the dearest part of a check.
    minted_at: String,
    /// When the latest token seen for it expires (Unix seconds).
    until: i64,
}

#[derive(Debug, Default)]
pub(super) struct Known {
    /// Ended sessions, with when each can be forgotten (Unix seconds).
    sessions: HashMap<String, i64>,
    accounts: HashMap<String, AccountChange>,
    pub(super) confirmed: HashMap<String, Confirmed>,
    pub(super) last_id: i64,
}

impl Known {
    /// What an entry of the log says of a token: refused because its account changed
    /// after it was minted (or was disabled), or because its session ended.
    fn refusal(&self, session_id: &str, claims: &Claims) -> Option<Standing> {
        if let Some(change) = self.accounts.get(&claims.sub) {
            let minted_ms = claims
                .profile
                .as_ref()
                .and_then(|minted| unix_millis(&minted.updated_at));
            if minted_ms.is_none_or(|minted| minted < change.before_ms) {
                return Some(if change.disabled {
                    Standing::Disabled
                } else {
                    Standing::AccountChanged
                });
            }
        }
        self.sessions
            .contains_key(session_id)
            .then_some(Standing::SessionEnded)
    }
}

/// The revocations of the last token lifetime, and whether this process is current.
#[derive(Debug)]
pub struct Revocations {
    pub(super) known: RwLock<Known>,
    /// How long an entry is kept (`keep_secs`).
    keep_secs: i64,
    /// The longest a token issued here lives.
    lifetime_secs: i64,
    /// When the last successful read of the log started, in milliseconds since `epoch`;
    /// 0 for never.
    pub(super) read_at_ms: AtomicU64,
    epoch: Instant,
    /// Whether a listener that has to be connected (PostgreSQL) is not.
    pub(super) listener_down: AtomicBool,
    /// Whether `standing` answered `None` last time it was asked, for the log line.
    was_behind: AtomicBool,
    /// When aged-out entries were last dropped (Unix seconds).
    forgot_at: AtomicI64,
    /// What time entries are made and forgotten by (the app's).
    pub(super) clock: Clock,
}

impl Revocations {
    /// An empty set for tokens that live at most `token_lifetime_secs` (plus `leeway_secs`),
    /// kept by `clock`.
    pub fn new(token_lifetime_secs: i64, leeway_secs: i64, clock: Clock) -> Self {
        Self {
            known: RwLock::default(),
            keep_secs: keep_secs(token_lifetime_secs, leeway_secs),
            lifetime_secs: token_lifetime_secs,
            read_at_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            listener_down: AtomicBool::new(false),
            was_behind: AtomicBool::new(false),
            forgot_at: AtomicI64::new(0),
            clock,
        }
    }

    /// Now, by the clock entries are kept by: when a revocation made now happens.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Entries older than this are forgotten, and may be pruned.
    pub fn forgotten_before(&self) -> Timestamp {
        self.now().plus_secs(-self.keep_secs)
    }

    /// Where the holder of a token of ours stands, when this process knows: `None` when it
    /// is not current or has not confirmed the session yet, and the database must be asked
    /// (then `confirm` what it says).
    pub fn standing(&self, session_id: &str, claims: &Claims) -> Option<Standing> {
        if !self.is_current() {
            if !self.was_behind.load(Ordering::Relaxed)
                && !self.was_behind.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    "revocation log not current: checking the database on every request"
                );
            }
            return None;
        }
        if self.was_behind.load(Ordering::Relaxed) && self.was_behind.swap(false, Ordering::Relaxed)
        {
            tracing::info!("revocation log current again: tokens are checked in memory");
        }
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        if let Some(refused) = known.refusal(session_id, claims) {
            return Some(refused);
        }
        known
            .confirmed
            .get(session_id)
            .filter(|confirmed| confirmed.vouches_for(claims, self.clock.unix_secs()))
            .map(|_| Standing::Active)
    }

    /// The account of a token `standing` vouches for, as the database said it was when
    /// it confirmed the session: never what the token says.
    pub fn account(&self, claims: &Claims) -> Option<User> {
        let session_id = claims.sid.as_deref()?;
        if self.standing(session_id, claims) != Some(Standing::Active) {
            return None;
        }
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known
            .confirmed
            .get(session_id)
            .map(|confirmed| confirmed.account.clone())
    }

    /// Remembers that the database found the session of `claims` live and theirs, with
    /// their account as it is.
    pub fn confirm(&self, session_id: &str, claims: &Claims, live: LiveSession) {
        // Until the token expires (one inside its leeway is asked about), and no longer
        // than a token issued now lives (a revocation arriving later is kept past that,
        // so a token minted with a longer `exp` is asked about again) or the session does.
        let until = claims
            .exp
            .min(self.clock.unix_secs().saturating_add(self.lifetime_secs))
            .min(live.expires_at);
        let account = live.account;
        let minted_at = crate::wire_time::to_millis(&account.updated_at).into_owned();
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        // The database may have been read before an entry refusing the token arrived: a
        // confirmation made now could outlive the entry, which is forgotten first.
        if known.refusal(session_id, claims).is_some() {
            return;
        }
        if let Some(confirmed) = known.confirmed.get_mut(session_id) {
            if confirmed.account.id == account.id {
                confirmed.until = confirmed.until.max(until);
                confirmed.account = account;
                confirmed.minted_at = minted_at;
            }
        } else if known.confirmed.len() < MAX_CONFIRMED {
            known.confirmed.insert(
                session_id.to_owned(),
                Confirmed {
                    account,
                    minted_at,
                    until,
                },
            );
        }
    }

    fn is_current(&self) -> bool {
        if self.listener_down.load(Ordering::Acquire) {
            return false;
        }
        let read_at = self.read_at_ms.load(Ordering::Acquire);
        read_at != 0 && self.millis_now().saturating_sub(read_at) <= 2 * millis(POLL_EVERY)
    }

    pub(super) fn millis_now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Adds entries to the set (those already known change nothing). Where the log has
    /// been read up to is not moved: the entries of this process's own change come with
    /// ids past others' it may not have read yet, which only `catch_up` reads.
    pub fn apply(&self, logged: &[Logged]) {
        if logged.is_empty() {
            return;
        }
        // Kept from when this process learnt of an entry: a writer's clock, or a change's
        // time taken before it waited for the log, cannot make it go early.
        let forget_at = self.clock.unix_secs().saturating_add(self.keep_secs);
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        for Logged { entry, .. } in logged {
            match &entry.session_id {
                Some(session_id) => {
                    known.sessions.insert(session_id.clone(), forget_at);
                    known.confirmed.remove(session_id);
                }
                None => {
                    let at = entry.revoked_at.unix_millis();
                    let change =
                        known
                            .accounts
                            .entry(entry.user_id.clone())
                            .or_insert(AccountChange {
                                before_ms: at,
                                disabled: false,
                                forget_at,
                            });
                    if at >= change.before_ms {
                        change.before_ms = at;
                        change.disabled = entry.reason == Reason::Disabled;
                    }
                    change.forget_at = forget_at;
                }
            }
        }
    }

    /// Drops the entries no unexpired token can be refused by any more, at most once
    /// every `FORGET_EVERY` seconds (it walks every entry, holding the set).
    pub(super) fn forget_old(&self, now: i64) {
        let last = self.forgot_at.load(Ordering::Relaxed);
        if now - last < FORGET_EVERY_SECS
            || self
                .forgot_at
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        known.sessions.retain(|_, forget_at| *forget_at > now);
        known.accounts.retain(|_, change| change.forget_at > now);
        known.confirmed.retain(|_, confirmed| confirmed.until > now);
    }

    /// Marks the listener (PostgreSQL) as down: not current until it is back and has
    /// read the log.
    pub fn listener_lost(&self) {
        self.listener_down.store(true, Ordering::Release);
    }

    /// Marks the listener as connected again, once it has read the log.
    pub fn listener_back(&self) {
        self.listener_down.store(false, Ordering::Release);
    }
}

/// How long an entry of the log matters: the longest a token issued before it lives,
/// and one more leeway, for a token a refresh signed just after its session ended. The
/// janitor keeps the log as long.
pub fn keep_secs(token_lifetime_secs: i64, leeway_secs: i64) -> i64 {
    token_lifetime_secs
        .saturating_add(leeway_secs.saturating_mul(2))
        .max(0)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::revocations::{test_support::*, Entry},
        testing::memory_pool,
    };

    #[tokio::test]
    async fn a_session_is_known_live_only_once_the_database_confirmed_it_for_its_user() {
        let known = current(&memory_pool().await).await;
        let ada = token("ada", "s1", Some(UPDATED));
        assert_eq!(known.standing("s1", &ada), None, "ask the database first");
        known.confirm("s1", &ada, live(account_of(&ada)));
        assert_eq!(known.standing("s1", &ada), Some(Standing::Active));
        let borrowed = token("grace", "s1", Some(UPDATED));
        assert_eq!(
            known.standing("s1", &borrowed),
            None,
            "another user's token naming the session is asked about"
        );
    }

    #[tokio::test]
    async fn a_confirmed_session_is_vouched_for_no_longer_than_it_lives() {
        let known = current(&memory_pool().await).await;
        let ada = token("ada", "s1", Some(UPDATED));
        let expiring = LiveSession {
            account: account_of(&ada),
            expires_at: now(),
        };
        known.confirm("s1", &ada, expiring);
        assert_eq!(
            known.standing("s1", &ada),
            None,
            "a token outliving its session is asked about"
        );
    }

    #[tokio::test]
    async fn the_account_of_a_confirmed_session_is_the_databases_for_tokens_minted_from_it() {
        let known = current(&memory_pool().await).await;
        let ada = token("ada", "s1", Some(UPDATED));
        let record = User {
            name: "Ada Lovelace".to_owned(),
            ..account_of(&ada)
        };
        known.confirm("s1", &ada, live(record.clone()));
        assert_eq!(known.account(&ada), Some(record));
        let later = token("ada", "s1", Some("2026-12-01T10:00:01.000Z"));
        assert_eq!(known.account(&later), None, "minted from another record");
        assert_eq!(known.standing("s1", &later), None, "so it is asked about");
    }

    #[tokio::test]
    async fn an_ended_session_is_refused_even_after_it_was_confirmed() {
        let pool = memory_pool().await;
        let known = current(&pool).await;
        let ada = token("ada", "s1", Some(UPDATED));
        known.confirm("s1", &ada, live(account_of(&ada)));
        logged(&pool, vec![ended("ada", "s1")]).await;
        known.catch_up(&pool).await.unwrap();
        assert_eq!(known.standing("s1", &ada), Some(Standing::SessionEnded));
        known.confirm("s1", &ada, live(account_of(&ada)));
        assert_eq!(known.standing("s1", &ada), Some(Standing::SessionEnded));
        let remembered = known.known.read().unwrap().confirmed.contains_key("s1");
        assert!(
            !remembered,
            "a confirmation read before the entry arrived would outlive it"
        );
    }

    #[tokio::test]
    async fn a_changed_account_refuses_the_tokens_minted_before_the_change_only() {
        let pool = memory_pool().await;
        let known = current(&pool).await;
        let change = Timestamp::parse("2026-12-01T10:00:00.123456Z").unwrap();
        logged(
            &pool,
            vec![
                Entry::account("ada", Reason::AccountChanged, change),
                Entry::account("grace", Reason::Disabled, change),
            ],
        )
        .await;
        known.catch_up(&pool).await.unwrap();
        let before = token("ada", "s1", Some("2026-12-01T10:00:00.122Z"));
        assert_eq!(
            known.standing("s1", &before),
            Some(Standing::AccountChanged)
        );
        let unstamped = token("ada", "s1", None);
        assert_eq!(
            known.standing("s1", &unstamped),
            Some(Standing::AccountChanged)
        );
        let after = token("ada", "s1", Some(UPDATED));
        known.confirm("s1", &after, live(account_of(&after)));
        assert_eq!(
            known.standing("s1", &after),
            Some(Standing::Active),
            "minted from the changed account, in the same millisecond"
        );
        let disabled = token("grace", "s2", Some("2026-12-01T09:00:00.000Z"));
        assert_eq!(known.standing("s2", &disabled), Some(Standing::Disabled));
    }

    #[tokio::test]
    async fn a_process_that_has_not_read_the_log_is_not_current() {
        let pool = memory_pool().await;
        let known = Revocations::new(900, 30, Clock::default());
        let ada = token("ada", "s1", Some(UPDATED));
        known.confirm("s1", &ada, live(account_of(&ada)));
        assert_eq!(known.standing("s1", &ada), None, "never read");
        known.poll(&pool).await.unwrap();
        assert_eq!(known.standing("s1", &ada), Some(Standing::Active));
        known.listener_lost();
        assert_eq!(known.standing("s1", &ada), None, "listener down");
        known.listener_back();
        assert_eq!(known.standing("s1", &ada), Some(Standing::Active));
    }

    #[tokio::test]
    async fn the_database_check_refuses_what_a_current_process_would() {
        use crate::auth::store::{sessions, user_changes};
        let pool = memory_pool().await;
        let known = current(&pool).await;
        let user = crate::testing::ada(&pool, "hash").await;
        let session = sessions::insert_session(
            &pool,
            crate::testing::new_session(&user.id),
            crate::testing::now(),
        )
        .await
        .unwrap()
        .expect("an enabled user gets a session");
        let minted = token(&user.id, &session.id, Some(&user.updated_at));
        let asked = |claims: Claims| {
            let pool = pool.clone();
            let session_id = session.id.clone();
            async move {
                sessions::standing(
                    &pool,
                    &session_id,
                    &claims.sub,
                    minted_by(&claims),
                    crate::testing::now(),
                )
                .await
                .unwrap()
                .0
            }
        };
        assert_eq!(asked(minted.clone()).await, Standing::Active);
        let promoted =
            user_changes::set_role(&pool, &known, &user.id, crate::auth::types::Role::Admin)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            known.standing(&session.id, &minted),
            Some(Standing::AccountChanged)
        );
        assert_eq!(asked(minted).await, Standing::AccountChanged);
        let after = token(&user.id, &session.id, Some(&promoted.updated_at));
        assert_eq!(asked(after).await, Standing::Active);
    }

    #[tokio::test]
    async fn a_token_without_the_user_fields_stays_refused_once_its_accounts_change_is_forgotten() {
        let pool = memory_pool().await;
        let clock = Clock::default();
        let known = current_by(&pool, &clock).await;
        let change = clock.now();
        let unstamped = Claims {
            iat: change.unix_secs() - 60,
            exp: change.unix_secs() + 7200,
            ..token("ada", "s1", None)
        };
        logged(
            &pool,
            vec![Entry::account("ada", Reason::AccountChanged, change)],
        )
        .await;
        known.catch_up(&pool).await.unwrap();
        assert_eq!(
            known.standing("s1", &unstamped),
            Some(Standing::AccountChanged)
        );

        clock.advance(Duration::from_secs(961));
        known.poll(&pool).await.unwrap();
        let refreshed = Claims {
            iat: clock.unix_secs(),
            exp: clock.unix_secs() + 900,
            ..token("ada", "s1", Some(&change.to_wire()))
        };
        let changed = User {
            updated_at: change.to_string(),
            ..account_of(&refreshed)
        };
        known.confirm("s1", &refreshed, live(changed.clone()));
        assert_eq!(known.standing("s1", &refreshed), Some(Standing::Active));
        assert_eq!(
            known.standing("s1", &unstamped),
            None,
            "the entry is forgotten, and the token older than the account it names"
        );
        let in_its_second = Claims {
            iat: change.unix_secs(),
            ..unstamped.clone()
        };
        assert!(!minted_from(&in_its_second, &changed), "perhaps before it");
        let after_it = Claims {
            iat: change.unix_secs() + 1,
            ..unstamped.clone()
        };
        assert!(minted_from(&after_it, &changed));
        let never_changed = User {
            created_at: changed.updated_at.clone(),
            ..changed
        };
        assert!(
            minted_from(&unstamped, &never_changed),
            "another service's clock may be behind"
        );
    }

    #[test]
    fn sent_and_stored_times_of_one_millisecond_compare_equal() {
        assert!(same_millisecond(
            "2026-12-01T10:00:00.123456Z",
            "2026-12-01T10:00:00.123Z"
        ));
        assert_eq!(unix_millis("1970-01-01T00:00:01.5Z"), Some(1500));
        assert!(!same_millisecond("yesterday", "yesterday"));
    }

    #[test]
    fn a_token_covers_the_whole_millisecond_of_its_updated_at() {
        assert_eq!(
            minted_by(&token("ada", "s1", Some(UPDATED))).to_string(),
            "2026-12-01T10:00:00.123999Z"
        );
        assert_eq!(minted_by(&token("ada", "s1", None)), Timestamp::EPOCH);
    }
}
