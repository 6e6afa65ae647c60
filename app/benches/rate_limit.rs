//! The cost of one sign-in attempt while the rate limiter tracks many clients: an
//! attacker with many addresses must not make every sign-in slower.

use app::{
    auth::rate_limit::{RateLimiter, RateLimits},
    clock::Clock,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn limiter_tracking(keys: usize) -> RateLimiter {
    let limiter = RateLimiter::new(RateLimits::default(), Clock::default());
    for i in 0..keys {
        let address = format!("10.{}.{}.{}", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff);
        let _ = limiter.sign_in_attempt(Some(&address), Some(&address), "ada@example.com");
    }
    limiter
}

fn sign_in_attempts(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate_limit");
    for keys in [0, 100_000] {
        let limiter = limiter_tracking(keys);
        // The measured attempts come from 256 addresses over and over, so the number of
        // keys stays where the setup left it.
        let addresses: Vec<String> = (0..256).map(|n| format!("172.16.0.{n}")).collect();
        let mut next = addresses.iter().cycle();
        group.bench_function(
            format!("sign_in_attempt with {keys} clients tracked"),
            |b| {
                b.iter_batched(
                    || next.next().cloned(),
                    |address| {
                        limiter.sign_in_attempt(
                            address.as_deref(),
                            address.as_deref(),
                            "grace@example.com",
                        )
                    },
                    BatchSize::SmallInput,
                );
            },
        );
    }
    group.finish();
}

criterion_group!(benches, sign_in_attempts);
criterion_main!(benches);
