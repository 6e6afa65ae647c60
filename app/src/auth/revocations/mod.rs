//! Revocations: what every server process knows about ended sessions and changed
//! accounts, so that verifying an access token asks no database.
//!
//! Each revocation is written to the log (table `revocations`) in the transaction of the
//! change it records: a session signed out, revoked or caught reusing a token; a user
//! disabled or given another role. Every process keeps the entries of the last token
//! lifetime (plus the leeway) in a set in memory: no token issued before an entry
//! outlives it, so the set's size is the revocations of one token lifetime, whatever the
//! number of users or sessions.
//!
//! - The process that revokes applies the entries to its own set before it answers.
//! - Every process reads the log past the last id it has seen every `POLL_EVERY`; on
//!   PostgreSQL it also listens on `CHANNEL` and reads at once when a transaction that
//!   wrote the log commits (`NOTIFY`), and after every reconnect. It reads up to the
//!   log's head: an id missing below it was pruned before this process read it, and
//!   every session confirmed so far is asked of the database again.
//! - Fail closed: a process that has not read the log successfully within twice
//!   `POLL_EVERY`, or whose listener is disconnected, is not current. Until it is again,
//!   `standing` answers `None` and the caller asks the database, as every request did
//!   before this set existed.
//!
//! The log says which sessions ended, not which exist: a token signed with the shared
//! secret may name a session that never existed, or another user's. So the first token
//! of a session a process sees is checked in the database once, and the session is then
//! remembered as confirmed for its user until that token (or a later one of the same
//! session) expires, at most `MAX_CONFIRMED` sessions: those in use within one token
//! lifetime. A revocation outranks a confirmation, whichever arrived first.
//!
//! A session entry refuses the tokens of that session. A user entry refuses the tokens
//! minted from the account as it was before the change: their `updatedAt` claim is older
//! than the `updated_at` the change wrote. (Not their `iat`: a refresh that read the
//! account just before the change may sign its token just after.) A token without that
//! claim (another encoder's, which the contract allows) is refused by any user entry
//! while it is kept, and once it is forgotten by its `iat`, when that is not later than
//! the second of the account's last change: such a token may be minted to outlive the
//! entry.

use crate::{
    auth::{token::Claims, types::User},
    clock::{Clock, Timestamp},
    db::Pool,
};
use sqlx::{AnyConnection, Row};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
        Arc, RwLock, Weak,
    },
    time::{Duration, Instant},
};

/// How often each process reads the log for what other processes wrote.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// The PostgreSQL channel a transaction that wrote the log notifies.
pub const CHANNEL: &str = "revocations";

/// Entries read from the log by one query at most.
const PAGE: i64 = 10_000;

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

/// What a revocation stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The session ended: signed out, revoked, or a retired token of it was reused.
    SessionEnded,
    /// The user was disabled.
    Disabled,
    /// The account changed in a way its tokens carry (its role).
    AccountChanged,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Self::SessionEnded => "session",
            Self::Disabled => "disabled",
            Self::AccountChanged => "changed",
        }
    }

    fn parse(stored: &str) -> Self {
        match stored {
            "session" => Self::SessionEnded,
            "changed" => Self::AccountChanged,
            // Unknown reasons refuse as firmly as the firmest.
            _ => Self::Disabled,
        }
    }
}

/// One revocation, before it is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub user_id: String,
    /// The ended session; `None` for an entry about the user.
    pub session_id: Option<String>,
    pub reason: Reason,
    /// When; for an entry about the user, its `updated_at` after the change.
    pub revoked_at: Timestamp,
}

impl Entry {
    /// A session of `user_id` ended `at`.
    pub fn session_ended(user_id: &str, session_id: &str, at: Timestamp) -> Self {
        Self {
            user_id: user_id.to_owned(),
            session_id: Some(session_id.to_owned()),
            reason: Reason::SessionEnded,
            revoked_at: at,
        }
    }

    /// The account of `user_id` changed (`reason`), leaving its `updated_at` at `updated_at`.
    pub fn account(user_id: &str, reason: Reason, updated_at: Timestamp) -> Self {
        Self {
            user_id: user_id.to_owned(),
            session_id: None,
            reason,
            revoked_at: updated_at,
        }
    }
}

/// An entry of the log, with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub id: i64,
    pub entry: Entry,
}

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

/// Deletes at most `limit` entries older than `before`: the janitor's batch.
pub const PRUNE: &str = "delete from revocations where id in \
     (select id from revocations where revoked_at < $1 limit $2)";

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
struct Confirmed {
    account: User,
    /// The account's `updated_at` as tokens carry it (milliseconds), compared as text
    /// first: a parse is the dearest part of a check.
    minted_at: String,
    /// When the latest token seen for it expires (Unix seconds).
    until: i64,
}

#[derive(Debug, Default)]
struct Known {
    /// Ended sessions, with when each can be forgotten (Unix seconds).
    sessions: HashMap<String, i64>,
    accounts: HashMap<String, AccountChange>,
    confirmed: HashMap<String, Confirmed>,
    last_id: i64,
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
    known: RwLock<Known>,
    /// How long an entry is kept (`keep_secs`).
    keep_secs: i64,
    /// The longest a token issued here lives.
    lifetime_secs: i64,
    /// When the last successful read of the log started, in milliseconds since `epoch`;
    /// 0 for never.
    read_at_ms: AtomicU64,
    epoch: Instant,
    /// Whether a listener that has to be connected (PostgreSQL) is not.
    listener_down: AtomicBool,
    /// Whether `standing` answered `None` last time it was asked, for the log line.
    was_behind: AtomicBool,
    /// When aged-out entries were last dropped (Unix seconds).
    forgot_at: AtomicI64,
    /// What time entries are made and forgotten by (the app's).
    clock: Clock,
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

    fn millis_now(&self) -> u64 {
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
    fn forget_old(&self, now: i64) {
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

    /// Marks the listener (PostgreSQL) as down: not current until it is back and has
    /// read the log.
    pub fn listener_lost(&self) {
        self.listener_down.store(true, Ordering::Release);
    }

    /// Marks the listener as connected again, once it has read the log.
    pub fn listener_back(&self) {
        self.listener_down.store(false, Ordering::Release);
    }

    /// One tick of the poll: read the log, and forget what has aged out.
    pub async fn poll(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        self.catch_up(pool).await?;
        self.forget_old(self.clock.unix_secs());
        Ok(())
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

/// How long a lost listener waits before it connects again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The `application_name` of the listener's connection, which names it in
/// `pg_stat_activity`.
pub const LISTENER_NAME: &str = "taskboard revocation listener";

/// Keeps `known` current for as long as the app holds it: reads the log every
/// `POLL_EVERY`, and with a PostgreSQL URL also listens for the commits that write it.
/// `pool` is for these reads alone, so that busy requests cannot hold them up.
pub fn follow(known: &Arc<Revocations>, pool: &Pool, postgres_url: Option<&str>) {
    let (weak, poll_pool) = (Arc::downgrade(known), pool.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(POLL_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            every.tick().await;
            let Some(known) = weak.upgrade().filter(|_| !poll_pool.is_closed()) else {
                return;
            };
            match known.poll(&poll_pool).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("revocation log read again");
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "revocation log cannot be read");
                }
                _ => {}
            }
        }
    });
    if let Some(url) = postgres_url {
        known.listener_lost();
        let (weak, pool, url) = (Arc::downgrade(known), pool.clone(), url.to_owned());
        tokio::spawn(async move {
            let mut unreachable = false;
            while listen(&weak, &pool, &url, &mut unreachable).await {
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        });
    }
}

/// One connection of the listener, for as long as it lasts. `false` once the app is
/// gone. A failure to connect is logged once until a connection succeeds
/// (`unreachable`), not at every attempt.
async fn listen(weak: &Weak<Revocations>, pool: &Pool, url: &str, unreachable: &mut bool) -> bool {
    let mut listener = match connect_listener(url).await {
        Ok(listener) => listener,
        Err(e) => {
            if !std::mem::replace(unreachable, true) {
                tracing::warn!(error = %e, "revocation listener cannot connect; retrying every second");
            }
            return weak.strong_count() > 0;
        }
    };
    *unreachable = false;
    let mut check = tokio::time::interval(POLL_EVERY);
    if !caught_up_while_listening(weak, pool).await {
        return false;
    }
    loop {
        let message = {
            let next = listener.try_recv();
            tokio::pin!(next);
            loop {
                tokio::select! {
                    message = &mut next => break message,
                    _ = check.tick() => {
                        // The catch-up after connecting may have failed: until one has not,
                        // the process stays on the database.
                        if pool.is_closed() || !caught_up_while_listening(weak, pool).await {
                            return false;
                        }
                    }
                }
            }
        };
        let Some(known) = weak.upgrade() else {
            return false;
        };
        match message {
            // A transaction that wrote the log committed: read it now. (A failure is the
            // poll's to notice.)
            Ok(Some(_)) => {
                let _ = known.catch_up(pool).await;
            }
            lost => {
                known.listener_lost();
                match lost {
                    Err(e) => tracing::warn!(error = %e, "revocation listener lost"),
                    _ => tracing::warn!("revocation listener lost its connection"),
                }
                return true;
            }
        }
    }
}

/// With the listener connected: whatever committed before now is in the log, so once it
/// has been read the process is current. `false` once the app is gone.
async fn caught_up_while_listening(weak: &Weak<Revocations>, pool: &Pool) -> bool {
    let Some(known) = weak.upgrade() else {
        return false;
    };
    if known.listener_down.load(Ordering::Acquire) && known.catch_up(pool).await.is_ok() {
        known.listener_back();
        tracing::info!("revocation listener connected");
    }
    true
}

async fn connect_listener(url: &str) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
    let options = url
        .parse::<PgConnectOptions>()?
        .application_name(LISTENER_NAME);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::token::{Audience, Profile},
        testing::memory_pool,
    };

    fn now() -> i64 {
        Clock::default().unix_secs()
    }

    fn ended(user_id: &str, session_id: &str) -> Entry {
        Entry::session_ended(user_id, session_id, crate::testing::now())
    }

    fn token(user_id: &str, session_id: &str, updated_at: Option<&str>) -> Claims {
        Claims {
            sub: user_id.to_owned(),
            email: format!("{user_id}@example.com"),
            name: user_id.to_owned(),
            iat: now(),
            exp: now() + 900,
            iss: "http://localhost:3000".to_owned(),
            aud: Audience::One("http://localhost:3000".to_owned()),
            jti: "jti".to_owned(),
            sid: Some(session_id.to_owned()),
            role: Some("user".to_owned()),
            scope: None,
            profile: updated_at.map(|updated_at| Profile {
                id: user_id.to_owned(),
                email_verified: false,
                banned: false,
                image: None,
                created_at: "2026-01-01T00:00:00.000Z".to_owned(),
                updated_at: updated_at.to_owned(),
            }),
            issuer_email_verified: None,
        }
    }

    /// The account a token of `token`'s was minted from.
    fn account_of(claims: &Claims) -> User {
        User {
            id: claims.sub.clone(),
            email: claims.email.clone(),
            name: claims.name.clone(),
            email_verified: false,
            image: None,
            created_at: "2026-01-01T00:00:00.000000Z".to_owned(),
            updated_at: claims.profile.as_ref().map_or_else(
                || "2026-01-01T00:00:00.000000Z".to_owned(),
                |p| p.updated_at.clone(),
            ),
            role: crate::auth::types::Role::User,
            banned: false,
            ban_reason: None,
        }
    }

    /// A session of `account`'s that lives for another hour.
    fn live(account: User) -> LiveSession {
        LiveSession {
            account,
            expires_at: now() + 3600,
        }
    }

    async fn logged(pool: &Pool, entries: Vec<Entry>) {
        let mut tx = pool.begin().await.unwrap();
        log(&mut tx, entries).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn current(pool: &Pool) -> Revocations {
        current_by(pool, &Clock::default()).await
    }

    /// A current set whose time is `clock`'s, for a test that lets time pass.
    async fn current_by(pool: &Pool, clock: &Clock) -> Revocations {
        let known = Revocations::new(900, 30, clock.clone());
        known.load(pool).await.unwrap();
        known
    }

    const UPDATED: &str = "2026-12-01T10:00:00.123Z";

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
    async fn the_database_check_refuses_what_a_current_process_would() {
        use crate::auth::repo;
        let pool = memory_pool().await;
        let known = current(&pool).await;
        let user = crate::testing::ada(&pool, "hash").await;
        let session = repo::insert_session(
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
                repo::standing(
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
        let promoted = repo::set_role(&pool, &known, &user.id, crate::auth::types::Role::Admin)
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

    #[tokio::test]
    async fn the_database_refuses_a_token_without_the_user_fields_from_before_a_pruned_change() {
        use crate::auth::{extract::stored_standing, repo};
        let pool = memory_pool().await;
        let clock = Clock::default();
        let known = current_by(&pool, &clock).await;
        let user = crate::testing::ada(&pool, "hash").await;
        let session = repo::insert_session(
            &pool,
            repo::NewSession {
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
        repo::set_role(&pool, &known, &user.id, crate::auth::types::Role::Admin)
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
