//! The revocation set (`auth::revocations`): what a token check costs in memory while it
//! holds 100,000 revocations, and how much memory they take.

use app::auth::{
    revocations::{self, Entry, LiveSession, Logged, Revocations, Standing},
    token::{Audience, Claims, Profile},
    types::{Role, User},
};
use app::clock::Clock;
use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;

const REVOCATIONS: usize = 100_000;
const UPDATED_AT: &str = "2026-12-01T10:00:00.123Z";

fn token(user_id: &str, session_id: &str) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: user_id.to_owned(),
        email: "ada@example.com".to_owned(),
        name: "Ada".to_owned(),
        iat: now,
        exp: now + 900,
        iss: "http://localhost:3000".to_owned(),
        aud: Audience::One("http://localhost:3000".to_owned()),
        jti: uuid::Uuid::new_v4().to_string(),
        sid: Some(session_id.to_owned()),
        role: Some("user".to_owned()),
        scope: None,
        amr: None,
        profile: Some(Profile {
            id: user_id.to_owned(),
            email_verified: false,
            banned: false,
            image: None,
            created_at: UPDATED_AT.to_owned(),
            updated_at: UPDATED_AT.to_owned(),
        }),
        issuer_email_verified: None,
    }
}

fn account(user_id: &str) -> User {
    User {
        id: user_id.to_owned(),
        email: "ada@example.com".to_owned(),
        name: "Ada".to_owned(),
        email_verified: false,
        image: None,
        created_at: UPDATED_AT.to_owned(),
        updated_at: UPDATED_AT.to_owned(),
        role: Role::User,
        banned: false,
        ban_reason: None,
        two_factor_enabled: false,
    }
}

/// The process's resident memory, KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kib| kib.trim().trim_end_matches(" kB").parse().ok())
        })
        .unwrap_or(0)
}

/// A set kept current as a server keeps it (`follow`), by a runtime of its own that
/// lives as long as the benchmark.
fn current_set() -> (Arc<Revocations>, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let known = runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::migrate!("./migrations").run(&pool).await.unwrap();
        let known = Arc::new(Revocations::new(900, 30, Clock::default()));
        known.load(&pool).await.unwrap();
        revocations::follow(&known, &pool, None);
        known
    });
    (known, runtime)
}

fn token_checks(c: &mut Criterion) {
    let (known, _runtime) = current_set();
    let before = resident_kib();
    // Applied a page at a time, as the log is read, so that the measure is the set's
    // and not a list of 100,000 entries freed after.
    for page in 0..REVOCATIONS / 1000 {
        let ended: Vec<Logged> = (0..1000)
            .map(|n| Logged {
                id: i64::try_from(page * 1000 + n).unwrap() + 1,
                entry: Entry::session_ended(
                    &uuid::Uuid::new_v4().to_string(),
                    &uuid::Uuid::new_v4().to_string(),
                    known.now(),
                ),
            })
            .collect();
        known.apply(&ended);
    }
    println!(
        "revocation set: {REVOCATIONS} ended sessions take {} KiB of resident memory",
        resident_kib().saturating_sub(before)
    );
    let live = token("ada", "live-session");
    known.confirm(
        "live-session",
        &live,
        LiveSession {
            account: account("ada"),
            expires_at: live.exp,
        },
    );
    assert_eq!(
        known.standing("live-session", &live),
        Some(Standing::Active),
        "the set is current, so what is measured is the check in memory"
    );
    let mut group = c.benchmark_group("revocations");
    group.bench_function(
        format!("a confirmed session's token, {REVOCATIONS} revocations held"),
        |b| b.iter(|| known.standing("live-session", &live)),
    );
    group.bench_function(
        format!("an unknown session's token, {REVOCATIONS} revocations held"),
        |b| b.iter(|| known.standing("unknown", &live)),
    );
    group.finish();
}

criterion_group!(benches, token_checks);
criterion_main!(benches);
