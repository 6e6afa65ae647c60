//! Password hashing with argon2id at OWASP's recommended cost, on threads of its own.
//! `Passwords` lives in `AppState`: each app has its own threads and dummy hash.
//!
//! A hash takes 19 MiB and about 10 ms of a core. Hashing runs on a few dedicated
//! threads (one fewer than the cores, at least one) at a lower CPU priority than the
//! threads that serve requests, fed by a bounded queue: a storm of sign-ins queues up
//! (and is told the server is busy when the queue is full or the wait too long) while
//! memory stays bounded and the tasks API keeps its share of the machine. Long-lived
//! threads also keep the allocator from holding a 19 MiB block per short-lived thread,
//! and after each hash the thread that made it hands the block back to the OS (the
//! server's `release_memory`): a hashing thread idles between sign-ins, and an
//! allocator that returns freed memory lazily, on a thread's later allocations, would
//! keep a hash's 19 MiB resident through any load that signs nobody in.

use crate::{auth::types::Password, error::AppError};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::{
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

/// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB memory, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The hashing threads, and a hash made once at start that an unknown email is verified
/// against, so that it costs the same time as a wrong password and does not reveal which
/// accounts exist. The threads end when the last clone of the app state goes.
pub struct Passwords {
    hashers: Hashers,
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// One hashing thread fewer than the cores, at least one. `release_memory` runs on
    /// the hashing thread after each hash (and after the dummy, on this thread): it asks
    /// the allocator to give what that thread freed back to the OS.
    pub fn start(release_memory: fn()) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let dummy_hash = hash_blocking("a password nobody has")
            .unwrap_or_default()
            .into();
        release_memory();
        Self {
            hashers: Hashers::start(cores.saturating_sub(1).max(1), release_memory),
            dummy_hash,
        }
    }

    /// The PHC string of a new argon2id hash.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        self.hashers
            .run(move || hash_blocking(password.expose()))
            .await?
            .map_err(AppError::internal)
    }

    /// Whether `password` matches `stored`. With no stored hash it still does the work.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let dummy = Arc::clone(&self.dummy_hash);
        self.hashers
            .run(move || match stored {
                Some(hash) => verify_blocking(password.expose(), &hash),
                None => {
                    verify_blocking(password.expose(), &dummy);
                    false
                }
            })
            .await
    }
}

/// Hashes waiting beyond the ones running; past this the server answers busy at once.
const QUEUE_LENGTH: usize = 256;

/// How long a sign-in waits for its hash before the server says it is busy.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

/// How much less CPU priority hashing threads get than request threads (nice value).
const HASHING_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and the queue that feeds them.
struct Hashers {
    jobs: mpsc::SyncSender<Job>,
}

impl Hashers {
    fn start(threads: usize, release_memory: fn()) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE_LENGTH);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => {
                                job();
                                release_memory();
                            }
                            Err(_) => return,
                        }
                    }
                })
                .expect("the OS starts a hashing thread");
        }
        Self { jobs }
    }

    /// Runs `work` on a hashing thread and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let busy = || {
            AppError::Unavailable(
                "The server is busy signing people in. Try again in a few seconds.".to_owned(),
            )
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have given up waiting; then nobody needs the result.
            let _ = done.send(work());
        });
        self.jobs.try_send(job).map_err(|_| busy())?;
        tokio::time::timeout(QUEUE_TIMEOUT, result)
            .await
            .map_err(|_| busy())?
            .map_err(AppError::internal)
    }
}

/// Makes the calling thread yield the CPU to request threads when both want it (on
/// Linux the nice value belongs to the thread). Elsewhere hashing runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is this thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICENESS);
    }
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

    #[tokio::test]
    async fn a_hashing_thread_releases_memory_after_each_job_before_taking_the_next() {
        static RELEASED_BY: Mutex<Vec<std::thread::ThreadId>> = Mutex::new(Vec::new());
        fn release() {
            RELEASED_BY
                .lock()
                .unwrap()
                .push(std::thread::current().id());
        }
        let hashers = Hashers::start(1, release);
        let first = hashers.run(|| std::thread::current().id()).await.unwrap();
        let released_before_second = hashers
            .run(|| RELEASED_BY.lock().unwrap().clone())
            .await
            .unwrap();
        assert_eq!(released_before_second, vec![first]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_hashing_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hashers = Arc::new(Hashers::start(2, || {}));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (hashers, running, most) = (hashers.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    hashers
                        .run(move || {
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
