//! Keeping each process's set current: the poll, and on PostgreSQL a listener for the log.

use super::{
    log::CHANNEL,
    set::{Revocations, POLL_EVERY},
};
use crate::db::Pool;
use std::{
    sync::{atomic::Ordering, Arc, Weak},
    time::Duration,
};

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
