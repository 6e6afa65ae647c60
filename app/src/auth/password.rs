//! Password hashing with argon2id at OWASP's recommended cost, off the async threads and
//! with bounded concurrency.

use crate::{auth::types::Password, error::AppError};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::{sync::LazyLock, time::Duration};
use tokio::sync::Semaphore;

/// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB memory, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash made once, verified against when the email is unknown, so that an unknown email
/// costs the same time as a wrong password and does not reveal which accounts exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("a password nobody has").unwrap_or_default());

/// How many hashes run at once: one per core but one, which stays free for the API.
/// Each hash takes 19 MiB, so a storm of sign-ins waits here instead of taking all the
/// memory and every core.
static HASHING_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Semaphore::new(cores.saturating_sub(1).max(1))
});

/// How long a sign-in waits for a hashing slot before the server says it is busy.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `work` on the blocking pool once one of `slots` is free.
async fn run_limited<T: Send + 'static>(
    slots: &Semaphore,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _slot = tokio::time::timeout(QUEUE_TIMEOUT, slots.acquire())
        .await
        .map_err(|_| {
            AppError::Unavailable(
                "The server is busy signing people in. Try again in a few seconds.".to_owned(),
            )
        })?
        .map_err(AppError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)
}

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The PHC string of a new argon2id hash.
pub async fn hash(password: Password) -> Result<String, AppError> {
    run_limited(&HASHING_SLOTS, move || hash_blocking(password.expose()))
        .await?
        .map_err(AppError::internal)
}

/// Whether `password` matches `stored`. With no stored hash it still does the work.
pub async fn verify(password: Password, stored: Option<String>) -> Result<bool, AppError> {
    run_limited(&HASHING_SLOTS, move || match stored {
        Some(hash) => verify_blocking(password.expose(), &hash),
        None => {
            verify_blocking(password.expose(), &DUMMY_HASH);
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking("correct horse battery", &hash));
        assert!(!verify_blocking("correct horse battery!", &hash));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(
            hash_blocking("same password").unwrap(),
            hash_blocking("same password").unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        use std::sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        };
        let slots = Arc::new(Semaphore::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    run_limited(&slots, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_corrupt_stored_hash_does_not_verify() {
        assert!(!verify_blocking("anything", "not a phc string"));
    }
}
