//! Helpers shared by the revocation module's tests: tokens, accounts, a set kept current.

use super::{
    entry::Entry,
    log::log,
    set::{LiveSession, Revocations},
};
use crate::{
    auth::{
        token::{Audience, Claims, Profile},
        types::User,
    },
    clock::Clock,
    db::Pool,
};

pub(super) fn now() -> i64 {
    Clock::default().unix_secs()
}

pub(super) fn ended(user_id: &str, session_id: &str) -> Entry {
    Entry::session_ended(user_id, session_id, crate::testing::now())
}

pub(super) fn token(user_id: &str, session_id: &str, updated_at: Option<&str>) -> Claims {
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
        amr: None,
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
pub(super) fn account_of(claims: &Claims) -> User {
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
        two_factor_enabled: false,
    }
}

/// A session of `account`'s that lives for another hour.
pub(super) fn live(account: User) -> LiveSession {
    LiveSession {
        account,
        expires_at: now() + 3600,
    }
}

pub(super) async fn logged(pool: &Pool, entries: Vec<Entry>) {
    let mut tx = pool.begin().await.unwrap();
    log(&mut tx, entries).await.unwrap();
    tx.commit().await.unwrap();
}

pub(super) async fn current(pool: &Pool) -> Revocations {
    current_by(pool, &Clock::default()).await
}

/// A current set whose time is `clock`'s, for a test that lets time pass.
pub(super) async fn current_by(pool: &Pool, clock: &Clock) -> Revocations {
    let known = Revocations::new(900, 30, clock.clone());
    known.load(pool).await.unwrap();
    known
}

pub(super) const UPDATED: &str = "2026-12-01T10:00:00.123Z";
