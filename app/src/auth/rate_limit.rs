//! Attempt counters that turn bursts of sign-ins, sign-ups and refreshes into
//! `429 Too Many Requests` with `Retry-After`.
//!
//! Each limit is a fixed window: at most `attempts` per `window`, counted from the first
//! attempt of the window. Sign-ins are counted per client address (every attempt) and per
//! account (every attempt, refunded when it succeeds, so guesses sent in parallel count
//! before any of them has failed). A burst of wrong passwords locks the account until
//! the window passes; someone who keeps guessing keeps it locked, window after window,
//! which costs the owner waiting but never their password.
//!
//! The counters live in this process. With several server processes each one counts on
//! its own, so a client gets at most `attempts × processes` tries per window.

use crate::error::AppError;
use std::{
    collections::HashMap,
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
    /// Sign-ins to one account that did not succeed, from anywhere (counted as they
    /// start, so parallel guesses count too).
    pub failed_sign_ins_per_account: Limit,
    pub sign_ups_per_address: Limit,
    pub refreshes_per_address: Limit,
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
            refusals_audited_per_address: per_minute(20),
        }
    }
}

/// Past this many tracked keys, expired windows are dropped before a new one is added.
const PRUNE_AT: usize = 10_000;

#[derive(Debug)]
struct Window {
    ends: Instant,
    count: u32,
}

#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a sign-in attempt against the address and the account; refuses it when
    /// either has had too many.
    pub fn sign_in_attempt(&self, address: Option<&str>, email: &str) -> Result<(), AppError> {
        let now = Instant::now();
        self.hit(
            address_key("sign-in", address),
            self.limits.sign_in_per_address,
            now,
        )?;
        self.hit(
            account_key(email),
            self.limits.failed_sign_ins_per_account,
            now,
        )
    }

    /// Gives back the account's count for an attempt that turned out right.
    pub fn sign_in_succeeded(&self, email: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(window) = windows.get_mut(&account_key(email)) {
            window.count = window.count.saturating_sub(1);
        }
    }

    pub fn sign_up_attempt(&self, address: Option<&str>) -> Result<(), AppError> {
        self.hit(
            address_key("sign-up", address),
            self.limits.sign_ups_per_address,
            Instant::now(),
        )
    }

    pub fn refresh_attempt(&self, address: Option<&str>) -> Result<(), AppError> {
        self.hit(
            address_key("refresh", address),
            self.limits.refreshes_per_address,
            Instant::now(),
        )
    }

    /// Whether another refusal for this address goes into the audit table.
    pub fn audit_refusal(&self, address: Option<&str>) -> bool {
        self.hit(
            address_key("refusal", address),
            self.limits.refusals_audited_per_address,
            Instant::now(),
        )
        .is_ok()
    }

    /// Counts one attempt against `key`, or refuses it when the window is full.
    fn hit(&self, key: String, limit: Limit, now: Instant) -> Result<(), AppError> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, w| w.ends > now);
        }
        let window = windows
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

fn address_key(action: &str, address: Option<&str>) -> String {
    format!("{action}:{}", address.unwrap_or("unknown"))
}

fn too_many(wait: Duration) -> AppError {
    AppError::TooManyRequests {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE_PER_MINUTE: Limit = Limit {
        attempts: 3,
        window: Duration::from_secs(60),
    };

    fn limiter() -> RateLimiter {
        RateLimiter::new(RateLimits {
            sign_in_per_address: THREE_PER_MINUTE,
            failed_sign_ins_per_account: THREE_PER_MINUTE,
            sign_ups_per_address: THREE_PER_MINUTE,
            refreshes_per_address: THREE_PER_MINUTE,
            refusals_audited_per_address: THREE_PER_MINUTE,
        })
    }

    fn retry_after(result: Result<(), AppError>) -> u64 {
        match result {
            Err(AppError::TooManyRequests { retry_after_secs }) => retry_after_secs,
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn attempts_past_the_limit_are_refused_until_the_window_ends() {
        let limiter = limiter();
        let start = Instant::now();
        for _ in 0..3 {
            limiter.hit("k".into(), THREE_PER_MINUTE, start).unwrap();
        }
        let later = start + Duration::from_millis(20_500);
        assert_eq!(
            retry_after(limiter.hit("k".into(), THREE_PER_MINUTE, later)),
            40,
            "Retry-After rounds the remaining 39.5 s up"
        );
        let after_window = start + Duration::from_secs(60);
        assert!(limiter
            .hit("k".into(), THREE_PER_MINUTE, after_window)
            .is_ok());
    }

    #[test]
    fn keys_are_counted_separately() {
        let limiter = limiter();
        let now = Instant::now();
        for _ in 0..3 {
            limiter.hit("a".into(), THREE_PER_MINUTE, now).unwrap();
        }
        assert!(limiter.hit("b".into(), THREE_PER_MINUTE, now).is_ok());
    }

    #[test]
    fn failed_sign_ins_lock_the_account_from_every_address() {
        let limiter = limiter();
        for _ in 0..3 {
            limiter
                .sign_in_attempt(Some("10.0.0.1"), "ada@example.com")
                .unwrap();
        }
        retry_after(limiter.sign_in_attempt(Some("10.0.0.2"), "ADA@example.com"));
        assert!(limiter
            .sign_in_attempt(Some("10.0.0.2"), "grace@example.com")
            .is_ok());
    }

    #[test]
    fn successful_sign_ins_do_not_count_against_the_account() {
        let limiter = limiter();
        for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"] {
            assert!(limiter
                .sign_in_attempt(Some(address), "ada@example.com")
                .is_ok());
            limiter.sign_in_succeeded("ada@example.com");
        }
    }

    #[test]
    fn guesses_in_parallel_count_before_any_has_failed() {
        let limiter = limiter();
        let in_flight: Vec<_> = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
            .into_iter()
            .map(|address| limiter.sign_in_attempt(Some(address), "ada@example.com"))
            .collect();
        assert_eq!(in_flight.iter().filter(|r| r.is_ok()).count(), 3);
    }

    #[test]
    fn expired_windows_are_dropped_when_many_keys_are_tracked() {
        let limiter = limiter();
        let start = Instant::now();
        for i in 0..PRUNE_AT {
            limiter
                .hit(format!("k{i}"), THREE_PER_MINUTE, start)
                .unwrap();
        }
        let later = start + Duration::from_secs(61);
        limiter.hit("new".into(), THREE_PER_MINUTE, later).unwrap();
        assert_eq!(limiter.windows.lock().unwrap().len(), 1);
    }
}
