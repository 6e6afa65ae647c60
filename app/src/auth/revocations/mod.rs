//! Revocations: what every server process knows about ended sessions and changed
//! accounts, so that verifying an access token asks no database.
//!
//! Each revocation is written to the log (table `revocations`) in the transaction of the
//! change it records: a session signed out, revoked or caught reusing a token; a user
//! disabled or given another role. Every process keeps the entries of the last token
//! lifetime (plus the leeway) in a set in memory: no token issued before an entry
//! outlives it, so the set's size is the revocations of one token lifetime, whatever the
//! number of users or sessions.
//!
//! - The process that revokes applies the entries to its own set before it answers.
//! - Every process reads the log past the last id it has seen every `POLL_EVERY`; on
//!   PostgreSQL it also listens on `CHANNEL` and reads at once when a transaction that
//!   wrote the log commits (`NOTIFY`), and after every reconnect. It reads up to the
//!   log's head: an id missing below it was pruned before this process read it, and
//!   every session confirmed so far is asked of the database again.
//! - Fail closed: a process that has not read the log successfully within twice
//!   `POLL_EVERY`, or whose listener is disconnected, is not current. Until it is again,
//!   `standing` answers `None` and the caller asks the database, as every request did
//!   before this set existed.
//!
//! The log says which sessions ended, not which exist: a token signed with the shared
//! secret may name a session that never existed, or another user's. So the first token
//! of a session a process sees is checked in the database once, and the session is then
//! remembered as confirmed for its user until that token (or a later one of the same
//! session) expires, at most `MAX_CONFIRMED` sessions: those in use within one token
//! lifetime. A revocation outranks a confirmation, whichever arrived first.
//!
//! A session entry refuses the tokens of that session. A user entry refuses the tokens
//! minted from the account as it was before the change: their `updatedAt` claim is older
//! than the `updated_at` the change wrote. (Not their `iat`: a refresh that read the
//! account just before the change may sign its token just after.) A token without that
//! claim (another encoder's, which the contract allows) is refused by any user entry
//! while it is kept, and once it is forgotten by its `iat`, when that is not later than
//! the second of the account's last change: such a token may be minted to outlive the
//! entry.
//!
//! By file: `set.rs` is the set in memory and its rules, `entry.rs` what one entry
//! says, `log.rs` the log's SQL (writing entries, reading them into the set, pruning),
//! `follow.rs` the poll and the listener that keep the set current.

mod entry;
mod follow;
mod log;
mod set;
#[cfg(test)]
mod test_support;

pub use self::log::{log, CHANNEL, PRUNE};
pub use entry::{Entry, Logged, Reason};
pub use follow::{follow, LISTENER_NAME};
pub use set::{
    keep_secs, minted_by, minted_from, LiveSession, Revocations, Standing, MAX_CONFIRMED,
    POLL_EVERY,
};
