//! The limits, driven with a clock the tests move.

use super::*;

const THREE_PER_MINUTE: Limit = Limit {
    attempts: 3,
    window: Duration::from_secs(60),
};

fn limiter() -> RateLimiter {
    RateLimiter::new(
        RateLimits {
            sign_in_per_address: Limit {
                attempts: 100,
                window: Duration::from_secs(60),
            },
            failed_sign_ins_per_account: THREE_PER_MINUTE,
            sign_ups_per_address: THREE_PER_MINUTE,
            refreshes_per_address: THREE_PER_MINUTE,
            task_writes_per_user: THREE_PER_MINUTE,
            api_tokens_per_user: THREE_PER_MINUTE,
            profile_updates_per_user: THREE_PER_MINUTE,
            emails_per_address: THREE_PER_MINUTE,
            emails_per_account: THREE_PER_MINUTE,
            email_requests_per_client: Limit {
                attempts: 5,
                window: Duration::from_secs(60),
            },
            refusals_audited_per_address: THREE_PER_MINUTE,
        },
        Clock::default(),
    )
}

#[test]
fn one_client_cannot_use_up_the_emails_another_gets_at_an_address() {
    let limiter = limiter();
    let (mallory, ada) = (Some("198.51.100.7"), Some("192.0.2.1"));
    for _ in 0..3 {
        assert!(limiter.email_requested(mallory, "ada@example.com").is_ok());
    }
    assert!(limiter.email_requested(mallory, "ada@example.com").is_err());
    assert!(limiter.email_requested(ada, "ada@example.com").is_ok());
}

#[test]
fn a_refusal_from_everyones_limit_costs_the_client_nothing() {
    let limiter = limiter();
    let owner = Some("192.0.2.1");
    for n in 0..(THREE_PER_MINUTE.attempts * ALL_CLIENTS) {
        let client = format!("198.51.100.{n}");
        limiter
            .email_to_address(Some(&client), "ada@example.com")
            .unwrap();
    }
    for _ in 0..5 {
        retry_after(limiter.email_to_address(owner, "ada@example.com"));
    }
    let key = format!("email-to:{}:ada@example.com", client_block(owner));
    assert!(!limiter.counters().windows.contains_key(&key));
}

#[test]
fn an_address_gets_at_most_all_clients_times_its_limit_from_everyone() {
    let limiter = limiter();
    let sent = (0..20)
        .filter(|n| {
            let client = format!("198.51.100.{n}");
            limiter
                .email_to_address(Some(&client), "ada@example.com")
                .is_ok()
        })
        .count();
    assert_eq!(
        sent,
        (THREE_PER_MINUTE.attempts * ALL_CLIENTS) as usize,
        "twenty clients, one email each"
    );
}

#[test]
fn emails_to_an_address_are_counted_whatever_its_case_and_apart_from_the_account() {
    let limiter = limiter();
    let client = Some("192.0.2.1");
    for address in ["ada@example.com", "ADA@example.com", "Ada@Example.com"] {
        assert!(limiter.email_requested(client, address).is_ok());
    }
    assert!(limiter.email_requested(client, "ada@example.com").is_err());
    assert!(limiter.email_requested(client, "bob@example.com").is_ok());
    for _ in 0..3 {
        assert!(limiter.email_about_account("u1").is_ok());
    }
    assert!(limiter.email_about_account("u1").is_err());
    assert!(limiter.email_about_account("u2").is_ok());
}

#[test]
fn one_client_naming_a_new_address_each_time_is_still_limited() {
    let limiter = limiter();
    let client = Some("192.0.2.1");
    for n in 0..5 {
        assert!(limiter
            .email_requested(client, &format!("a{n}@example.com"))
            .is_ok());
    }
    assert!(limiter.email_requested(client, "a5@example.com").is_err());
    assert!(limiter
        .email_requested(Some("192.0.2.2"), "a5@example.com")
        .is_ok());
}

fn retry_after(result: Result<(), AppError>) -> u64 {
    match result {
        Err(AppError::TooManyRequests { retry_after_secs }) => retry_after_secs,
        other => panic!("expected 429, got {other:?}"),
    }
}

/// A wrong password from `address` at `now`, as `session::sign_in` reports it.
fn fail(limiter: &RateLimiter, address: &str, now: Instant) -> Result<(), AppError> {
    limiter.sign_in_attempt_at(Some(address), Some(address), "ada@example.com", now)?;
    limiter.sign_in_failed_at("ada@example.com", now);
    Ok(())
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
fn a_client_that_keeps_failing_is_refused_that_account_and_no_other() {
    let limiter = limiter();
    let now = Instant::now();
    for _ in 0..3 {
        fail(&limiter, "10.0.0.1", now).unwrap();
    }
    retry_after(limiter.sign_in_attempt_at(
        Some("10.0.0.1"),
        Some("10.0.0.1"),
        "ADA@example.com",
        now,
    ));
    assert!(limiter
        .sign_in_attempt_at(Some("10.0.0.1"), Some("10.0.0.1"), "grace@example.com", now)
        .is_ok());
}

#[test]
fn the_owner_gets_in_from_a_client_that_has_not_been_failing() {
    let limiter = limiter();
    let now = Instant::now();
    for attacker in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        while fail(&limiter, attacker, now).is_ok() {}
    }
    assert!(limiter
        .counters()
        .soft_locked_for("ada@example.com", now)
        .is_some());
    assert!(
        limiter
            .sign_in_attempt_at(Some("192.0.2.7"), Some("192.0.2.7"), "ada@example.com", now)
            .is_ok(),
        "a client with no failures on the account is let through to try its password"
    );
    limiter.sign_in_succeeded(Some("192.0.2.7"), "ada@example.com");
    assert!(limiter
        .sign_in_attempt_at(Some("192.0.2.7"), Some("192.0.2.7"), "ada@example.com", now)
        .is_ok());
}

#[test]
fn an_account_failing_from_many_clients_is_slowed_down_twice_as_long_each_time() {
    let limiter = limiter();
    let start = Instant::now();
    fail(&limiter, "10.0.0.1", start).unwrap();
    fail(&limiter, "10.0.0.2", start).unwrap();
    fail(&limiter, "10.0.0.3", start).unwrap();
    assert_eq!(
        limiter.counters().soft_locked_for("ada@example.com", start),
        None,
        "the allowance is free"
    );
    let mut waits = Vec::new();
    let mut now = start;
    for client in 4..10 {
        fail(&limiter, &format!("10.0.0.{client}"), now).unwrap();
        let wait = limiter
            .counters()
            .soft_locked_for("ada@example.com", now)
            .unwrap();
        waits.push(wait.as_secs());
        retry_after(fail(&limiter, "10.0.0.1", now));
        now += wait;
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32]);
    for client in 10..20 {
        fail(&limiter, &format!("10.0.1.{client}"), now).unwrap();
    }
    assert_eq!(
        limiter.counters().soft_locked_for("ada@example.com", now),
        Some(THREE_PER_MINUTE.window),
        "never longer than the window"
    );
    let quiet = now + THREE_PER_MINUTE.window;
    fail(&limiter, "10.0.2.1", quiet).unwrap();
    assert_eq!(
        limiter.counters().soft_locked_for("ada@example.com", quiet),
        None,
        "a window without failures starts the count again"
    );
}

#[test]
fn a_success_forgets_the_clients_failures() {
    let limiter = limiter();
    let now = Instant::now();
    fail(&limiter, "10.0.0.1", now).unwrap();
    limiter
        .sign_in_attempt_at(Some("10.0.0.1"), Some("10.0.0.1"), "ada@example.com", now)
        .unwrap();
    limiter.sign_in_succeeded(Some("10.0.0.1"), "ada@example.com");
    for _ in 0..3 {
        assert!(fail(&limiter, "10.0.0.1", now).is_ok());
    }
}

#[test]
fn guesses_in_parallel_count_before_any_has_failed() {
    let limiter = limiter();
    let now = Instant::now();
    let in_flight: Vec<_> = (0..4)
        .map(|_| {
            limiter.sign_in_attempt_at(Some("10.0.0.1"), Some("10.0.0.1"), "ada@example.com", now)
        })
        .collect();
    assert_eq!(in_flight.iter().filter(|r| r.is_ok()).count(), 3);
}

#[test]
fn clients_are_keyed_by_the_block_they_are_counted_as() {
    assert_eq!(
        client_block(Some("2001:db8:1:2:aaaa::1")),
        client_block(Some("2001:db8:1:ff:ffff::2"))
    );
    assert_eq!(client_block(Some("::ffff:192.0.2.1")), "192.0.2.1");
    assert_eq!(client_block(None), "unknown");
}

#[test]
fn task_writes_are_counted_per_user() {
    let limiter = limiter();
    for _ in 0..3 {
        limiter.task_write("ada").unwrap();
    }
    retry_after(limiter.task_write("ada"));
    assert!(limiter.task_write("grace").is_ok());
}

#[test]
fn api_tokens_are_counted_per_user_apart_from_task_writes() {
    let limiter = limiter();
    for _ in 0..3 {
        limiter.api_token_issued("ada").unwrap();
    }
    retry_after(limiter.api_token_issued("ada"));
    assert!(limiter.api_token_issued("grace").is_ok());
    assert!(limiter.task_write("ada").is_ok());
}

#[test]
fn profile_updates_are_counted_per_user() {
    let limiter = limiter();
    for _ in 0..3 {
        limiter.profile_updated("ada").unwrap();
    }
    retry_after(limiter.profile_updated("ada"));
    assert!(limiter.profile_updated("grace").is_ok());
}

#[test]
fn a_sweep_drops_what_has_ended_and_keeps_what_has_not() {
    let limiter = limiter();
    let start = Instant::now();
    for i in 0..1000 {
        limiter
            .hit(format!("k{i}"), THREE_PER_MINUTE, start)
            .unwrap();
    }
    fail(&limiter, "10.0.0.1", start).unwrap();
    let later = start + Duration::from_secs(30);
    limiter
        .hit("recent".into(), THREE_PER_MINUTE, later)
        .unwrap();
    limiter.sweep_at(start + Duration::from_secs(61));
    let counters = limiter.counters();
    assert_eq!(counters.windows.keys().collect::<Vec<_>>(), ["recent"]);
    assert!(counters.soft_locks.is_empty());
}
