//! Another issuer's published keys (`JWT_JWKS_URL`), so the tasks API accepts the tokens
//! of an existing Better Auth deployment while its frontend stays as it is.
//!
//! The JWKS is fetched when a token names a `kid` the cache lacks and when the cache is
//! older than `MAX_AGE`, at most every `MIN_KEY_REFRESH`. A fetch has a deadline and a
//! size limit; one that fails leaves the cache as it was, so an issuer that cannot be
//! reached costs its new keys, never a hung request, until the cache is `MAX_STALE`
//! old: then its keys, which the issuer may have withdrawn meanwhile, are no longer
//! trusted. Only public signing keys are kept (`signing_keys::verifying_key`): a symmetric key
//! in the set is ignored.

use crate::auth::signing_keys::{verifying_key, Throttle, VerifyingKey, MIN_KEY_REFRESH};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

/// A JWKS by `kid`.
pub type KeySet = HashMap<String, VerifyingKey>;

/// How long a fetched JWKS is used before it is fetched again.
const MAX_AGE: Duration = Duration::from_secs(5 * 60);
/// How long it is used at most, when it cannot be fetched again.
const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// The deadline of one fetch, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// No real JWKS is near this size.
const MAX_JWKS_BYTES: usize = 256 * 1024;

pub struct RemoteKeys {
    url: String,
    /// The URL as logged: scheme, host and path, never a user, password or query.
    shown: String,
    client: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    fetched_at: Mutex<Option<Instant>>,
    attempts: Throttle,
}

impl RemoteKeys {
    pub fn new(url: String) -> Self {
        let shown = url::Url::parse(&url).map_or_else(
            |_| "(not a URL)".to_owned(),
            |u| format!("{}{}", u.origin().ascii_serialization(), u.path()),
        );
        Self {
            url,
            shown,
            attempts: Throttle::default(),
            client: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|e| unreachable!("a plain HTTP client builds: {e}")),
            keys: RwLock::new(Arc::new(KeySet::new())),
            fetched_at: Mutex::new(None),
        }
    }

    /// The keys as last fetched; none once that is `MAX_STALE` ago.
    pub fn keys(&self) -> Arc<KeySet> {
        if self.age().is_some_and(|age| age >= MAX_STALE) {
            return Arc::new(KeySet::new());
        }
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn age(&self) -> Option<Duration> {
        self.fetched_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map(|at| at.elapsed())
    }

    /// Whether the keys were never fetched or are older than `MAX_AGE`.
    pub fn is_stale(&self) -> bool {
        self.age().is_none_or(|age| age >= MAX_AGE)
    }

    /// Fetches the JWKS, unless that was tried less than `MIN_KEY_REFRESH` ago, and uses
    /// its keys from now on when it could be read; `false` when it was not tried.
    pub async fn refresh(&self) -> bool {
        if !self.attempts.allow(MIN_KEY_REFRESH) {
            return false;
        }
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.shown, keys = keys.len(), "trusted issuer's keys fetched");
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
                *self
                    .fetched_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
            }
            Err(reason) => {
                tracing::warn!(url = %self.shown, %reason, "trusted issuer's keys could not be fetched");
            }
        }
        true
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let mut response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
            }
        }
        parse_jwks(&body)
    }
}

/// The usable keys of a JWKS document; keys without a `kid`, or that are not public
/// signing keys this server can check, are left out.
fn parse_jwks(body: &[u8]) -> Result<KeySet, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS: {e}"))?;
    Ok(document
        .keys
        .into_iter()
        .filter_map(|jwk| {
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).ok()?;
            let kid = jwk.common.key_id.clone()?;
            let (algorithm, decoding) = verifying_key(&jwk)?;
            Some((
                kid,
                VerifyingKey {
                    algorithm,
                    decoding,
                    published_until: None,
                },
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm;

    #[test]
    fn a_better_auth_jwks_without_alg_is_read_by_key_type() {
        let body = br#"{"keys":[{"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kty":"OKP","kid":"k1"}]}"#;
        let keys = parse_jwks(body).unwrap();
        assert_eq!(keys["k1"].algorithm, Algorithm::EdDSA);
    }

    #[test]
    fn symmetric_keys_keys_without_kid_and_encryption_keys_are_left_out() {
        let body = br#"{"keys":[
            {"kty":"oct","k":"c2VjcmV0","kid":"shared","alg":"HS256"},
            {"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kty":"OKP"},
            {"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kty":"OKP","kid":"enc","use":"enc"},
            {"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kty":"OKP","kid":"lying","alg":"RS256"}
        ]}"#;
        assert!(parse_jwks(body).unwrap().is_empty());
    }

    #[test]
    fn a_document_that_is_not_a_jwks_is_an_error() {
        assert!(parse_jwks(b"<html>").is_err());
        assert!(parse_jwks(br#"{"keys":"none"}"#).is_err());
    }
}
