//! Throughput of the token contract: issuing and verifying an access JWT, with the
//! shared secret (HS256, the default) and with each key-pair algorithm.
//! Run: cargo bench -p app --features ssr --bench token

use app::auth::{
    signing_keys,
    token::{parse_algorithm, Scope, Secret, Subject, TokenKeys, TokenSettings},
};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn settings(algorithm: &str) -> TokenSettings {
    TokenSettings {
        secret: Secret::new(b"benchmark-secret-0123456789-abcdefghijklmnop".to_vec())
            .expect("long enough"),
        algorithm: parse_algorithm(algorithm).expect("a supported algorithm"),
        issuer: "http://127.0.0.1:3000".to_owned(),
        audience: vec!["http://127.0.0.1:3000".to_owned()],
        lifetime_secs: 900,
        api_token_max_secs: 30 * 86_400,
        leeway_secs: 30,
        key_rotation_secs: None,
        key_grace_secs: 3600,
        jwks_url: None,
    }
}

/// Keys for a key-pair algorithm, made the way the server makes them: in a database
/// (SQLite in memory here), then loaded.
fn key_pair_keys(algorithm: &str) -> TokenKeys {
    let settings = settings(algorithm);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let ring = runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .expect("the schema");
        signing_keys::maintain(&pool, &settings, app::clock::Clock::default().now())
            .await
            .expect("a key pair")
    });
    TokenKeys::new(settings, app::clock::Clock::default()).with_key_ring(ring)
}

fn token_contract(c: &mut Criterion) {
    let subject = Subject {
        user_id: "6f1c1a52-3f0e-4d3a-9d59-2b7f6f0e8a11",
        email: "ada@example.com",
        name: "Ada Lovelace",
        session_id: "0b6d4f2e-8e8a-4c43-a2a4-93a0d5b1f7c2",
        role: "user",
        scope: &Scope::full(),
        amr: "pwd",
        email_verified: true,
        banned: false,
        image: None,
        created_at: "2026-01-01T00:00:00.000Z",
        updated_at: "2026-01-01T00:00:00.000Z",
        expires_by: i64::MAX,
    };
    let keys = TokenKeys::new(settings("HS256"), app::clock::Clock::default());
    c.bench_function("token/issue", |b| {
        b.iter(|| keys.issue(black_box(&subject)))
    });
    let token = keys.issue(&subject);
    c.bench_function("token/verify", |b| {
        b.iter(|| keys.verify(black_box(&token)).expect("valid token"))
    });
    let forged = format!("{}AAAA", &token[..token.len() - 4]);
    c.bench_function("token/reject_bad_signature", |b| {
        b.iter(|| keys.verify(black_box(&forged)).expect_err("forged token"))
    });
    for algorithm in ["EdDSA", "ES256", "RS256"] {
        let keys = key_pair_keys(algorithm);
        c.bench_function(&format!("token/issue/{algorithm}"), |b| {
            b.iter(|| keys.issue(black_box(&subject)))
        });
        let token = keys.issue(&subject);
        c.bench_function(&format!("token/verify/{algorithm}"), |b| {
            b.iter(|| keys.verify(black_box(&token)).expect("valid token"))
        });
    }
}

criterion_group!(benches, token_contract);
criterion_main!(benches);
