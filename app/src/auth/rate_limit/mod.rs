//! Attempt counters that turn bursts of sign-ins, sign-ups, refreshes and task writes
//! into `429 Too Many Requests` with `Retry-After`.
//!
//! Each limit is a fixed window: at most `attempts` per `window`, counted from the first
//! attempt of the window. Sign-ins are counted per client address (every attempt), and
//! failures per account *and* client, where a browser that signed in to the account
//! before counts as itself rather than as its address (`KNOWN_BROWSER`), so neighbours
//! on one office or carrier network do not use up its tries: a client that keeps
//! failing on an account is
//! refused that account until its window passes (attempts count as they start and are
//! forgotten when one succeeds, so guesses sent in parallel count before any of them has
//! failed). Nothing a stranger sends can lock the owner out: the owner's correct password
//! from a client that has not been failing always gets through.
//!
//! An account under attack from many clients is slowed down instead (a soft lock, as
//! Kanidm does): past the free allowance of failures, each further failure shuts the
//! account to every client that has been failing on it for twice as long as the one
//! before (1 s, 2 s, 4 s, … up to the window). A fresh client still gets its try, so a
//! guesser gets about one guess per client address, and addresses cost them something:
//! IPv6 addresses are counted by their /56, what providers commonly hand one subscriber
//! (whose devices each have a /64 of their own).
//!
//! The counters live in this process. With several server processes each one counts on
//! its own, so a client gets at most `attempts × processes` tries per window from these;
//! its failures on an account are also counted where every process sees them
//! (`failed_sign_ins`), which holds a client guessing one after another to `attempts`
//! failures per window in all (a burst sent at once still gets them once per process). Expired
//! counters are dropped by `sweep`, which the server runs on a timer: an attempt's cost
//! does not grow with the number of clients tracked.

use crate::{client::counted_as, clock::Clock, error::AppError};
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// At most `attempts` within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub attempts: u32,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Every sign-in attempt from one client address.
    pub sign_in_per_address: Limit,
    /// Sign-ins to one account from one client address that did not succeed (counted as
    /// they start, so parallel guesses count too). Also the free allowance of failures an
    /// account has from all clients before it is soft-locked, and the longest soft lock.
    pub failed_sign_ins_per_account: Limit,
    pub sign_ups_per_address: Limit,
    pub refreshes_per_address: Limit,
    /// Creates, updates and deletes of tasks by one user.
    pub task_writes_per_user: Limit,
    /// API tokens one user issues on the account page, each a session of its own.
    pub api_tokens_per_user: Limit,
    /// Changes one user makes to their own profile (each writes the account, the
    /// revocation log every process reads, and the audit log).
    pub profile_updates_per_user: Limit,
    /// Emails (reset, verification, change of address) sent to one address that one
    /// client asks for. From every client together, an address gets at most
    /// `ALL_CLIENTS` times as many: nobody can mail-bomb a person through the site, and
    /// one client asking for someone's resets again and again does not use up theirs.
    pub emails_per_address: Limit,
    /// Emails sent about one account, to whichever addresses.
    pub emails_per_account: Limit,
    /// Requests for an email (a reset link, a verification link, a change of address)
    /// from one client address, whichever addresses they name: without it, one client
    /// naming a new address each time would pass the limit per address every time.
    pub email_requests_per_client: Limit,
    /// Refusals (rejected API tokens, rate-limited sign-ins) written to the audit log
    /// per client address; the rest are only logged, so a flood cannot flood the table.
    pub refusals_audited_per_address: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        let per_minute = |attempts| Limit {
            attempts,
            window: Duration::from_secs(60),
        };
        Self {
            sign_in_per_address: per_minute(20),
            failed_sign_ins_per_account: Limit {
                attempts: 5,
                window: Duration::from_secs(5 * 60),
            },
            sign_ups_per_address: Limit {
                attempts: 10,
                window: Duration::from_secs(10 * 60),
            },
            refreshes_per_address: per_minute(60),
            task_writes_per_user: per_minute(120),
            api_tokens_per_user: Limit {
                attempts: 10,
                window: Duration::from_secs(3600),
            },
            profile_updates_per_user: Limit {
                attempts: 20,
                window: Duration::from_secs(3600),
            },
            emails_per_address: Limit {
                attempts: 5,
                window: Duration::from_secs(3600),
            },
            emails_per_account: Limit {
                attempts: 10,
                window: Duration::from_secs(3600),
            },
            email_requests_per_client: Limit {
                attempts: 30,
                window: Duration::from_secs(10 * 60),
            },
            refusals_audited_per_address: per_minute(20),
        }
    }
}

/// How many times `emails_per_address` one address may get from every client together.
pub const ALL_CLIENTS: u32 = 4;

/// The first soft lock of an account; each one after it is twice as long.
const FIRST_SOFT_LOCK: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Window {
    ends: Instant,
    count: u32,
}

/// The failures of one account from every client, and until when it is soft-locked.
#[derive(Debug)]
struct SoftLock {
    failures: u32,
    last_failure: Instant,
    until: Instant,
}

/// Every counter, behind one lock: a sign-in's checks and its count happen at once, so
/// a burst cannot pass a check several times before any of it is counted.
#[derive(Debug, Default)]
struct Counters {
    windows: HashMap<String, Window>,
    soft_locks: HashMap<String, SoftLock>,
}

#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    counters: Mutex<Counters>,
    /// What time windows open and close by (the app's).
    clock: Clock,
}

impl RateLimiter {
    pub fn new(limits: RateLimits, clock: Clock) -> Self {
        Self {
            limits,
            counters: Mutex::new(Counters::default()),
            clock,
        }
    }

    /// Failures one client may have on one account in a window.
    pub fn failed_sign_in_limit(&self) -> Limit {
        self.limits.failed_sign_ins_per_account
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a sign-in attempt against the address, and against the failures on the
    /// account of `counted_as` (the address, or a browser that signed in to the account
    /// before); refuses it when either has had too many, or when the account is
    /// soft-locked and `counted_as` has been failing on it.
    pub fn sign_in_attempt(
        &self,
        address: Option<&str>,
        counted_as: Option<&str>,
        email: &str,
    ) -> Result<(), AppError> {
        self.sign_in_attempt_at(address, counted_as, email, self.clock.instant())
    }

    fn sign_in_attempt_at(
        &self,
        address: Option<&str>,
        counted_as: Option<&str>,
        email: &str,
        now: Instant,
    ) -> Result<(), AppError> {
        let limits = self.limits;
        let mut counters = self.counters();
        counters.hit(
            address_key("sign-in", address),
            limits.sign_in_per_address,
            now,
        )?;
        let client = client_on_account_key(email, counted_as);
        if counters.has_been_failing(&client, now) {
            if let Some(wait) = counters.soft_locked_for(email, now) {
                return Err(too_many(wait));
            }
        }
        counters.hit(client, limits.failed_sign_ins_per_account, now)
    }

    /// Counts a second factor given to finish a sign-in against the failures on the
    /// account of `counted_as`, as a password would be; refuses it when those have had
    /// too many. The account's soft lock does not apply: the sign-in has proved the
    /// password, so strangers' failures must not keep its owner from the second step.
    pub fn code_attempt(&self, counted_as: Option<&str>, email: &str) -> Result<(), AppError> {
        let now = self.clock.instant();
        self.counters().hit(
            client_on_account_key(email, counted_as),
            self.limits.failed_sign_ins_per_account,
            now,
        )
    }

    /// Forgets this client's failures on the account: it has just proved it knows the
    /// password.
    pub fn sign_in_succeeded(&self, address: Option<&str>, email: &str) {
        self.counters()
            .windows
            .remove(&client_on_account_key(email, address));
    }

    /// Counts a failed sign-in against the account, from whichever client.
    pub fn sign_in_failed(&self, email: &str) {
        self.sign_in_failed_at(email, self.clock.instant());
    }

    fn sign_in_failed_at(&self, email: &str, now: Instant) {
        let limit = self.limits.failed_sign_ins_per_account;
        let mut counters = self.counters();
        let lock = counters
            .soft_locks
            .entry(account_key(email))
            .or_insert(SoftLock {
                failures: 0,
                last_failure: now,
                until: now,
            });
        if now.saturating_duration_since(lock.last_failure) >= limit.window {
            lock.failures = 0;
        }
        lock.failures += 1;
        lock.last_failure = now;
        if let Some(beyond) = lock.failures.checked_sub(limit.attempts + 1) {
            let doubled = FIRST_SOFT_LOCK.saturating_mul(1 << beyond.min(20));
            lock.until = now + doubled.min(limit.window);
        }
    }

    pub fn sign_up_attempt(&self, address: Option<&str>) -> Result<(), AppError> {
        self.hit(
            address_key("sign-up", address),
            self.limits.sign_ups_per_address,
            self.clock.instant(),
        )
    }

    pub fn refresh_attempt(&self, address: Option<&str>) -> Result<(), AppError> {
        self.hit(
            address_key("refresh", address),
            self.limits.refreshes_per_address,
            self.clock.instant(),
        )
    }

    /// Counts a create, update or delete of a task by `user_id`.
    pub fn task_write(&self, user_id: &str) -> Result<(), AppError> {
        self.hit(
            format!("task-write:{user_id}"),
            self.limits.task_writes_per_user,
            self.clock.instant(),
        )
    }

    /// Counts an API token issued by `user_id` on the account page.
    pub fn api_token_issued(&self, user_id: &str) -> Result<(), AppError> {
        self.hit(
            format!("api-token:{user_id}"),
            self.limits.api_tokens_per_user,
            self.clock.instant(),
        )
    }

    /// Counts a change `user_id` makes to their own profile.
    pub fn profile_updated(&self, user_id: &str) -> Result<(), AppError> {
        self.hit(
            format!("profile:{user_id}"),
            self.limits.profile_updates_per_user,
            self.clock.instant(),
        )
    }

    /// Counts a request for an email from the client at `client` that nobody signed in
    /// made (a reset, a verification link from the sign-in page), then the email to
    /// `recipient` (`email_to_address`): the client's limit first, so a client past it
    /// adds no counter for the addresses it names. A signed-in request is bounded by its
    /// account's limit instead (`email_about_account`).
    pub fn email_requested(&self, client: Option<&str>, recipient: &str) -> Result<(), AppError> {
        self.hit(
            address_key("email-request", client),
            self.limits.email_requests_per_client,
            self.clock.instant(),
        )?;
        self.email_to_address(client, recipient)
    }

    /// Counts a link to an address an account asked to move to. Counted apart from the
    /// emails to that address's own account, so that nobody can use up a person's
    /// resets by naming their address from accounts of their own.
    pub fn email_to_new_address(&self, address: &str) -> Result<(), AppError> {
        self.hit(
            format!("change-to:{}", address.to_lowercase()),
            self.limits.emails_per_address,
            self.clock.instant(),
        )
    }

    /// Counts an email to `address` (compared case-insensitively) that the client at
    /// `client` caused, against that client's emails to the address and against the
    /// address's emails from every client: both are checked before either counts, so a
    /// refusal by the one costs nothing from the other.
    pub fn email_to_address(&self, client: Option<&str>, address: &str) -> Result<(), AppError> {
        let (address, now) = (address.to_lowercase(), self.clock.instant());
        let per_client = self.limits.emails_per_address;
        let from_everyone = Limit {
            attempts: per_client.attempts.saturating_mul(ALL_CLIENTS),
            ..per_client
        };
        let mut counters = self.counters();
        let keys = [
            (
                format!("email-to:{}:{address}", client_block(client)),
                per_client,
            ),
            (format!("email-to:{address}"), from_everyone),
        ];
        if let Some(wait) = keys
            .iter()
            .filter_map(|(key, limit)| counters.full_for(key, *limit, now))
            .max()
        {
            return Err(too_many(wait));
        }
        for (key, limit) in keys {
            counters.hit(key, limit, now)?;
        }
        Ok(())
    }

    /// Counts a verification link to `address` that its own account asked for (signed
    /// in, or at sign-up): apart from the emails strangers cause, which cannot use it up,
    /// and bounding what accounts made and remade with someone's address can send them.
    pub fn verification_to_address(&self, address: &str) -> Result<(), AppError> {
        self.hit(
            format!("verify-to:{}", address.to_lowercase()),
            self.limits.emails_per_address,
            self.clock.instant(),
        )
    }

    /// Counts an email about the account `user_id`.
    pub fn email_about_account(&self, user_id: &str) -> Result<(), AppError> {
        self.hit(
            format!("email-about:{user_id}"),
            self.limits.emails_per_account,
            self.clock.instant(),
        )
    }

    /// Whether another refusal for this address goes into the audit table.
    pub fn audit_refusal(&self, address: Option<&str>) -> bool {
        self.hit(
            address_key("refusal", address),
            self.limits.refusals_audited_per_address,
            self.clock.instant(),
        )
        .is_ok()
    }

    /// Counts one attempt against `key`, or refuses it when the window is full.
    fn hit(&self, key: String, limit: Limit, now: Instant) -> Result<(), AppError> {
        self.counters().hit(key, limit, now)
    }

    /// Drops the windows that have ended and the soft locks of accounts that have been
    /// quiet for a window. The server calls it every `SWEEP_EVERY`.
    pub fn sweep(&self) {
        self.sweep_at(self.clock.instant());
    }

    fn sweep_at(&self, now: Instant) {
        let quiet_for = self.limits.failed_sign_ins_per_account.window;
        let mut counters = self.counters();
        counters.windows.retain(|_, w| w.ends > now);
        counters
            .soft_locks
            .retain(|_, lock| now.saturating_duration_since(lock.last_failure) < quiet_for);
    }
}

/// How often the server sweeps expired counters away.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

impl Counters {
    /// Whether `key` has attempts in its current window.
    fn has_been_failing(&self, key: &str, now: Instant) -> bool {
        self.windows
            .get(key)
            .is_some_and(|w| w.ends > now && w.count > 0)
    }

    /// How much longer the account is soft-locked, if it is.
    fn soft_locked_for(&self, email: &str, now: Instant) -> Option<Duration> {
        let until = self.soft_locks.get(&account_key(email))?.until;
        (until > now).then(|| until - now)
    }

    /// How long until `key` may count again, when its window is full.
    fn full_for(&self, key: &str, limit: Limit, now: Instant) -> Option<Duration> {
        self.windows
            .get(key)
            .filter(|w| w.ends > now && w.count >= limit.attempts)
            .map(|w| w.ends - now)
    }

    fn hit(&mut self, key: String, limit: Limit, now: Instant) -> Result<(), AppError> {
        let window = self
            .windows
            .entry(key)
            .and_modify(|w| {
                if w.ends <= now {
                    *w = Window {
                        ends: now + limit.window,
                        count: 0,
                    };
                }
            })
            .or_insert(Window {
                ends: now + limit.window,
                count: 0,
            });
        if window.count >= limit.attempts {
            return Err(too_many(window.ends - now));
        }
        window.count += 1;
        Ok(())
    }
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn client_on_account_key(email: &str, address: Option<&str>) -> String {
    format!(
        "failed-sign-in:{}:{}",
        client_block(address),
        email.trim().to_lowercase()
    )
}

fn address_key(action: &str, address: Option<&str>) -> String {
    format!("{action}:{}", client_block(address))
}

/// The key of the client at `address`: its IPv4 address or IPv6 /56
/// (`client::counted_as`); a browser that signed in to the account before
/// (`KNOWN_BROWSER`, `service::session::counted_as`) counts as itself.
pub fn client_block(address: Option<&str>) -> String {
    match address {
        Some(browser) if browser.starts_with(KNOWN_BROWSER) => browser.to_owned(),
        _ => address
            .and_then(|a| a.parse::<IpAddr>().ok())
            .map_or_else(|| "unknown".to_owned(), |a| counted_as(a).to_string()),
    }
}

/// How a browser that signed in to an account before is named where sign-in attempts
/// are counted, in place of its address: `browser:<id>`.
pub const KNOWN_BROWSER: &str = "browser:";

fn too_many(wait: Duration) -> AppError {
    AppError::TooManyRequests {
        retry_after_secs: retry_after_secs(wait),
    }
}

/// A wait in whole seconds, rounded up, as `Retry-After` says it.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests;
