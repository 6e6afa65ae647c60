//! The token contract (CONTRACT §1, §1b): the one place access JWTs are issued and
//! verified.
//!
//! Both the Leptos server functions and the tasks API call `TokenKeys`; nothing else
//! signs or checks a token. Signatures are checked with the algorithm pinned: an HMAC
//! tag by ring (what `jsonwebtoken` signs it with), a key pair's by `jsonwebtoken`. Every
//! header and claim rule is checked here, explicitly, against a clock passed in, so each
//! rejection has a name, a test and a `detail` for the client.
//!
//! Three kinds of key, each pinned to its own algorithm:
//! - the shared secret (HS256 by default), for tokens issued here;
//! - with `JWT_ALGORITHM=EdDSA|ES256|RS256`, this server's key pairs
//!   (`auth::signing_keys`), found by the token's `kid`;
//! - with `JWT_JWKS_URL`, another issuer's published keys (`auth::remote_keys`), by
//!   `kid`. Its tokens name no session here: `Claims::sid` is `None` for them.
//!
//! By file: `verify.rs` is where a token is verified (its header and signature, then the
//! claim rules of `claim_checks.rs`), `issue.rs` where one is issued. `keys.rs` holds the
//! keys, `algorithms.rs` which algorithms are configurable and which a header may name,
//! `claims.rs` what a token says, `raw.rs` how its segments are read, `error.rs` why one
//! is refused, and `explain.rs` what `server token decode` shows of them. The shared
//! secret and the settings are `auth::token_settings`.

mod algorithms;
mod claim_checks;
mod claims;
mod error;
mod explain;
#[cfg(any(test, feature = "test-support"))]
pub mod forge;
mod issue;
mod keys;
mod raw;
#[cfg(test)]
pub(super) mod test_support;
mod verify;

pub use crate::auth::token_settings::{Secret, TokenSettings};
pub use algorithms::parse_algorithm;
pub use claim_checks::{Checked, ClaimChecks};
pub use claims::{Audience, Claims, Profile, Scope, Subject, TASKS_READ, TASKS_WRITE};
pub use error::TokenError;
pub use explain::{Explanation, KeySource};
pub use keys::TokenKeys;
