//! The keys that sign and check tokens: the secret, our key pairs, a trusted issuer's.

use super::algorithms::hmac_algorithm;
use crate::{
    auth::{
        remote_keys::RemoteKeys,
        signing_keys::{self, KeyRing, Throttle, MIN_KEY_REFRESH},
        token_settings::TokenSettings,
    },
    clock::Clock,
};
use jsonwebtoken::EncodingKey;
use std::sync::{Arc, RwLock};

pub struct TokenKeys {
    pub(super) settings: TokenSettings,
    pub(super) secret_encoding: EncodingKey,
    /// The shared secret as a key for the configured HMAC algorithm, its padded blocks
    /// hashed once here rather than on every verify; `None` when that algorithm is a key
    /// pair's, and HMAC tokens are refused.
    pub(super) secret_mac: Option<ring::hmac::Key>,
    /// With an asymmetric `JWT_ALGORITHM`: this server's key pairs, replaced whole when
    /// they change.
    pub(super) own: Option<RwLock<Arc<KeyRing>>>,
    /// With `JWT_JWKS_URL`: the trusted issuer's published keys.
    pub(super) remote: Option<RemoteKeys>,
    /// Our keys are reloaded for an unknown `kid` at most every `MIN_KEY_REFRESH`.
    own_reloaded: Throttle,
    /// What time `issue` and `verify` take it to be.
    pub(super) clock: Clock,
}

impl TokenKeys {
    /// Keys for the shared-secret (HMAC) algorithms, issuing and verifying by `clock`
    /// (the app's). An asymmetric `JWT_ALGORITHM` needs its key pairs too: `with_key_ring`.
    pub fn new(settings: TokenSettings, clock: Clock) -> Self {
        Self {
            secret_encoding: EncodingKey::from_secret(&settings.secret.0),
            secret_mac: hmac_algorithm(settings.algorithm)
                .map(|algorithm| ring::hmac::Key::new(algorithm, &settings.secret.0)),
            settings,
            own: None,
            remote: None,
            own_reloaded: Throttle::default(),
            clock,
        }
    }

    /// Signs with the ring's current key pair, and accepts every key it publishes.
    pub fn with_key_ring(mut self, ring: KeyRing) -> Self {
        self.own = Some(RwLock::new(Arc::new(ring)));
        self
    }

    /// Also accepts the tokens of the issuer whose keys these are.
    pub fn with_remote_keys(mut self, remote: RemoteKeys) -> Self {
        self.remote = Some(remote);
        self
    }

    /// The clock tokens are issued and verified by.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub(super) fn key_ring(&self) -> Option<Arc<KeyRing>> {
        self.own.as_ref().map(|own| {
            Arc::clone(
                &own.read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        })
    }

    /// Puts keys made or loaded since (`signing_keys::maintain`) in use.
    pub fn replace_key_ring(&self, ring: KeyRing) {
        if let Some(own) = &self.own {
            *own.write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(ring);
        }
    }

    /// Looks the keys up again (this server's in the database, the trusted issuer's at
    /// its JWKS URL), when a token named a `kid` that none has; `false` when neither was
    /// due (each is looked up at most every `MIN_KEY_REFRESH`).
    pub async fn refresh_keys(&self, pool: &crate::db::Pool) -> bool {
        let own = self.own.is_some() && self.own_reloaded.allow(MIN_KEY_REFRESH);
        if own {
            match signing_keys::load(
                pool,
                &self.settings.secret,
                self.settings.algorithm,
                self.clock.now(),
            )
            .await
            {
                Ok(ring) => self.replace_key_ring(ring),
                Err(e) => tracing::warn!(error = %e, "signing keys could not be reloaded"),
            }
        }
        let remote = match &self.remote {
            Some(remote) => remote.refresh().await,
            None => false,
        };
        own || remote
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::{test_support::*, TokenError};
    use jsonwebtoken::Algorithm;

    #[test]
    fn a_retired_key_verifies_until_it_leaves_the_ring_then_its_tokens_are_refused() {
        let both = signing_keys::fresh_ring(Algorithm::EdDSA, &["old", "new"]);
        let keys = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default()).with_key_ring(both);
        let signed_by_old = keys.issue_at(&subject(), NOW);
        keys.replace_key_ring(signing_keys::fresh_ring(Algorithm::EdDSA, &["new"]));
        assert_eq!(
            keys.verify_at(&signed_by_old, NOW + 1),
            Err(TokenError::UnknownKey)
        );
    }
}
