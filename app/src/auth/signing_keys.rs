//! The key pairs behind asymmetric access tokens (`JWT_ALGORITHM=EdDSA`, `ES256` or
//! `RS256`), as Better Auth's JWT plugin keeps them: made on first use, stored in the
//! database so that every server process signs with the same keys, the private half
//! encrypted under a key derived from the secret, the public half published as a JWK
//! (with `kid`, `alg` and `use`) at `/api/auth/jwks`.
//!
//! Rotation (`JWT_KEY_ROTATION`) makes a new key when the current one is that old; the
//! one it replaces stays published until every token it signed has expired, plus a grace
//! period, and is refused after. Claiming a rotation is one conditional update, so two
//! processes that find the key due at once make one new key between them, and a key is
//! never made per request: only start-up, the periodic check (`maintain`) and `server
//! rotate-keys` make keys. `server rotate-keys --compromised` withdraws every published
//! key at once instead (`withdraw_all`).
//!
//! `auth::token` does the signing and the checking; this module only makes, stores and
//! loads the keys it uses.

use crate::{
    auth::{
        sealed,
        token_settings::{Secret, TokenSettings},
    },
    clock::Timestamp,
    db::{self, Pool},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{jwk::Jwk, Algorithm, DecodingKey, EncodingKey};
use ring::{
    rand::SystemRandom,
    signature::{self, KeyPair as _},
};
use serde_json::{json, Value};
use sqlx::Row;
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// What the private keys are sealed for (`sealed`): the name their storage key is
/// derived under, kept as it was when keys were first stored.
const PRIVATE_KEYS: &str = "signing key storage";

/// RSA keys are made with this many bits of modulus.
const RSA_BITS: usize = 2048;

/// The algorithms a key pair can be made for.
pub fn is_asymmetric(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256
    )
}

/// The key this server signs with now: the private half.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
}

/// A public key that tokens may be checked against, by `kid`.
pub struct VerifyingKey {
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
    /// A retired key's end (Unix seconds): from then on its tokens are refused, whether
    /// or not this process has reloaded its keys since.
    pub published_until: Option<i64>,
}

/// What this process signs with now, and every key whose tokens it accepts.
pub struct KeyRing {
    pub current: SigningKey,
    pub published: HashMap<String, VerifyingKey>,
}

/// Makes sure a current key exists (making the first one), rotates it when it is due
/// (`JWT_KEY_ROTATION`), and loads the keys as they now are.
pub async fn maintain(
    pool: &Pool,
    settings: &TokenSettings,
    now: Timestamp,
) -> Result<KeyRing, KeyError> {
    match current_row(pool, settings.algorithm).await? {
        None => {
            install(
                pool,
                settings,
                new_key(settings).await?,
                None,
                Retirement::Routine,
                now,
            )
            .await?;
        }
        Some((kid, made)) => {
            if settings
                .key_rotation_secs
                .is_some_and(|rotation| made.unix_secs() + rotation <= now.unix_secs())
            {
                install(
                    pool,
                    settings,
                    new_key(settings).await?,
                    Some(&kid),
                    Retirement::Routine,
                    now,
                )
                .await?;
            }
        }
    }
    load(pool, &settings.secret, settings.algorithm, now).await
}

/// Retires the current key now and makes its successor (`server rotate-keys`); `false`
/// when another process rotated it first (its successor is then current).
pub async fn rotate_now(
    pool: &Pool,
    settings: &TokenSettings,
    now: Timestamp,
) -> Result<bool, KeyError> {
    let current = current_row(pool, settings.algorithm).await?;
    let successor = new_key(settings).await?;
    install(
        pool,
        settings,
        successor,
        current.as_ref().map(|(kid, _)| kid.as_str()),
        Retirement::Routine,
        now,
    )
    .await
}

/// Takes every published key out of service now and makes a successor (`server
/// rotate-keys --compromised`), answering the ids withdrawn: every token they signed is
/// refused from now on, and sessions refresh onto the successor. Not only the current
/// key: the private halves are stored side by side, encrypted with the same secret, so
/// whoever read one from the database could read them all. A routine rotation elsewhere
/// in between makes it try again, so its successor is withdrawn too.
pub async fn withdraw_all(
    pool: &Pool,
    settings: &TokenSettings,
    now: Timestamp,
) -> Result<Vec<String>, KeyError> {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let withdrawn = published_rows(pool, settings.algorithm, now)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<Vec<String>, _>>()?;
        let current = current_row(pool, settings.algorithm).await?;
        let successor = new_key(settings).await?;
        let replacing = current.as_ref().map(|(kid, _)| kid.as_str());
        if install(
            pool,
            settings,
            successor,
            replacing,
            Retirement::Withdrawn,
            now,
        )
        .await?
        {
            return Ok(withdrawn);
        }
    }
    Err(KeyError::Contended)
}

/// How often each server checks its keys (`maintain`): a minute, or half the rotation
/// interval when that is shorter (a second at least). A process signs with a key another
/// made at most this long after it was made.
pub fn check_every(settings: &TokenSettings) -> Duration {
    let secs = settings
        .key_rotation_secs
        .map_or(60, |rotation| (rotation / 2).clamp(1, 60));
    Duration::from_secs(secs.unsigned_abs())
}

/// Why keys could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "signing key {0} cannot be decrypted: was the secret changed? `server rotate-keys` \
         makes a new current key with this secret"
    )]
    Undecryptable(String),
    #[error("signing key {0} is stored in a form this server cannot read")]
    Unreadable(String),
    #[error("no {0:?} signing key could be made")]
    Generation(Algorithm),
    #[error(
        "there is no current {0:?} signing key: the server makes the first one when it starts"
    )]
    NoCurrentKey(Algorithm),
    #[error("the signing keys kept changing while they were withdrawn: run it again")]
    Contended,
}

/// How the current key leaves service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retirement {
    /// Published while tokens it signed may live (`published_for`), so none is cut short.
    Routine,
    /// Withdrawn at once, with every retired key still published: their tokens are
    /// refused from now on.
    Withdrawn,
}

/// A key pair made and sealed, not yet stored.
struct NewKey {
    kid: String,
    public_jwk: String,
    private_key: String,
}

/// Makes a key pair off the request threads (an RSA key takes a while) and seals its
/// private half.
async fn new_key(settings: &TokenSettings) -> Result<NewKey, KeyError> {
    let (secret, algorithm) = (settings.secret.clone(), settings.algorithm);
    tokio::task::spawn_blocking(move || {
        let kid = db::new_id();
        let generated = generate(algorithm).ok_or(KeyError::Generation(algorithm))?;
        Ok(NewKey {
            public_jwk: public_jwk(&kid, algorithm, &generated.public).to_string(),
            private_key: sealed::seal(&secret, PRIVATE_KEYS, &kid, &generated.private_der),
            kid,
        })
    })
    .await
    .map_err(|_| KeyError::Generation(algorithm))?
}

/// How long a key retired routinely stays published: while tokens it signed may live,
/// that is the longest token lifetime (an API token's, `SESSION_MAX_AGE`, when it is
/// longer than `JWT_EXPIRES_IN`: a 30-day token must not stop working because its key
/// retired), the leeway, the time other processes may still sign with it, and the grace
/// period. Only a withdrawal (`withdraw_all`) takes a key out of service sooner.
fn published_for(settings: &TokenSettings) -> i64 {
    settings.lifetime_secs.max(settings.api_token_max_secs)
        + settings.leeway_secs
        + check_every(settings).as_secs().try_into().unwrap_or(60)
        + settings.key_grace_secs
}

/// Stores `key` as the current key, retiring `replacing` in the same transaction (and,
/// for a withdrawal, ending the publication of every retired key); `false` when another
/// process got there first: `replacing` was no longer current, or (the unique index
/// allows one current key per algorithm) a current key appeared.
async fn install(
    pool: &Pool,
    settings: &TokenSettings,
    key: NewKey,
    replacing: Option<&str>,
    retirement: Retirement,
    now: Timestamp,
) -> Result<bool, KeyError> {
    let mut tx = pool.begin().await?;
    if let Some(current) = replacing {
        let published_until = match retirement {
            Retirement::Routine => now.plus_secs(published_for(settings)),
            Retirement::Withdrawn => now,
        };
        let retired = sqlx::query(
            "update signing_keys set retired_at = $1, published_until = $2 \
             where id = $3 and retired_at is null",
        )
        .bind(now)
        .bind(published_until)
        .bind(current)
        .execute(&mut *tx)
        .await?;
        if retired.rows_affected() == 0 {
            return Ok(false);
        }
    }
    if retirement == Retirement::Withdrawn {
        sqlx::query(
            "update signing_keys set published_until = $1 \
             where algorithm = $2 and retired_at is not null and published_until > $1",
        )
        .bind(now)
        .bind(algorithm_name(settings.algorithm))
        .execute(&mut *tx)
        .await?;
    }
    let inserted = sqlx::query(
        "insert into signing_keys (id, algorithm, public_jwk, private_key, created_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(&key.kid)
    .bind(algorithm_name(settings.algorithm))
    .bind(&key.public_jwk)
    .bind(&key.private_key)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {
            tx.commit().await?;
            tracing::info!(kid = %key.kid, retired = replacing, ?retirement, "signing key made");
            Ok(true)
        }
        Err(e) if db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The current key's id and creation time.
async fn current_row(
    pool: &Pool,
    algorithm: Algorithm,
) -> Result<Option<(String, Timestamp)>, sqlx::Error> {
    let row = sqlx::query(
        "select id, created_at from signing_keys where algorithm = $1 and retired_at is null",
    )
    .bind(algorithm_name(algorithm))
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("created_at")?)))
        .transpose()
}

/// The keys of `algorithm` still published (the current one, and retired ones whose
/// tokens may live), newest first.
async fn published_rows(
    pool: &Pool,
    algorithm: Algorithm,
    now: Timestamp,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    sqlx::query(
        "select id, public_jwk, private_key, retired_at, published_until from signing_keys \
         where algorithm = $1 and (retired_at is null or published_until > $2) \
         order by created_at desc",
    )
    .bind(algorithm_name(algorithm))
    .bind(now)
    .fetch_all(pool)
    .await
}

/// The public JWKs of `/api/auth/jwks`: every key of `algorithm` that a live token may
/// carry, as the database has them now. Read there rather than from this process's
/// ring, so that a key another process just made is published before any token it signs
/// can reach a verifier.
pub async fn published(
    pool: &Pool,
    algorithm: Algorithm,
    now: Timestamp,
) -> Result<Vec<Value>, KeyError> {
    let rows = published_rows(pool, algorithm, now).await?;
    rows.iter()
        .map(|row| {
            let kid: String = row.try_get("id")?;
            serde_json::from_str(&row.try_get::<String, _>("public_jwk")?)
                .map_err(|_| KeyError::Unreadable(kid))
        })
        .collect()
}

/// Every key of `algorithm` still published, the newest unretired one current.
pub async fn load(
    pool: &Pool,
    secret: &Secret,
    algorithm: Algorithm,
    now: Timestamp,
) -> Result<KeyRing, KeyError> {
    let rows = published_rows(pool, algorithm, now).await?;
    let mut current = None;
    let mut published = HashMap::new();
    for row in rows {
        let kid: String = row.try_get("id")?;
        let unreadable = || KeyError::Unreadable(kid.clone());
        let jwk: Jwk = serde_json::from_str(&row.try_get::<String, _>("public_jwk")?)
            .map_err(|_| unreadable())?;
        let (key_algorithm, decoding) = verifying_key(&jwk).ok_or_else(unreadable)?;
        if key_algorithm != algorithm {
            return Err(unreadable());
        }
        if current.is_none() && row.try_get::<Option<String>, _>("retired_at")?.is_none() {
            let private_der = sealed::open(
                secret,
                PRIVATE_KEYS,
                &kid,
                &row.try_get::<String, _>("private_key")?,
            )
            .ok_or_else(|| KeyError::Undecryptable(kid.clone()))?;
            let encoding = encoding_key(algorithm, &private_der);
            // A key that cannot sign is refused here, so issuing a token never fails.
            jsonwebtoken::crypto::sign(b"probe", &encoding, algorithm).map_err(|_| unreadable())?;
            current = Some(SigningKey {
                kid: kid.clone(),
                algorithm,
                encoding,
            });
        }
        let published_until = row
            .try_get::<Option<Timestamp>, _>("published_until")?
            .map(Timestamp::unix_secs);
        published.insert(
            kid,
            VerifyingKey {
                algorithm,
                decoding,
                published_until,
            },
        );
    }
    let current = current.ok_or(KeyError::NoCurrentKey(algorithm))?;
    Ok(KeyRing { current, published })
}

pub fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::EdDSA => "EdDSA",
        Algorithm::ES256 => "ES256",
        Algorithm::RS256 => "RS256",
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES384 => "ES384",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
    }
}

/// The algorithm a public JWK is for, and the key to check with; `None` for anything
/// that is not a public signing key this server can check (a symmetric `oct` key above
/// all: a published secret would let anyone sign). A JWK's `alg`, when present, must
/// agree with its key type; without one (Better Auth leaves it out) the key type says.
pub fn verifying_key(jwk: &jsonwebtoken::jwk::Jwk) -> Option<(Algorithm, DecodingKey)> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm, PublicKeyUse};
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let stated = jwk.common.key_algorithm;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            matches!(stated, None | Some(KeyAlgorithm::EdDSA)).then_some(Algorithm::EdDSA)
        }
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            matches!(stated, None | Some(KeyAlgorithm::ES256)).then_some(Algorithm::ES256)
        }
        AlgorithmParameters::RSA(_) => match stated {
            None | Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
            Some(KeyAlgorithm::PS256) => Some(Algorithm::PS256),
            _ => None,
        },
        _ => None,
    }?;
    Some((algorithm, DecodingKey::from_jwk(jwk).ok()?))
}

/// Keys are looked up again for an unknown `kid` at most this often (ours and the
/// trusted issuer's each), so tokens with made-up `kid`s cannot make every request a
/// database query or a fetch.
pub const MIN_KEY_REFRESH: Duration = Duration::from_secs(5);

/// Lets something happen at most once per period.
#[derive(Default)]
pub struct Throttle(Mutex<Option<Instant>>);

impl Throttle {
    /// Whether it may happen now (and, if so, it counts as having happened).
    pub fn allow(&self, every: Duration) -> bool {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < every) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// A fresh key pair: the private key as DER (PKCS#8 for Ed25519 and P-256, PKCS#1 for
/// RSA, the forms `jsonwebtoken` signs with) and the public key's parts.
struct Generated {
    private_der: Vec<u8>,
    public: PublicParts,
}

enum PublicParts {
    Ed25519 { x: Vec<u8> },
    P256 { x: Vec<u8>, y: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

fn generate(algorithm: Algorithm) -> Option<Generated> {
    let rng = SystemRandom::new();
    match algorithm {
        Algorithm::EdDSA => {
            let pkcs8 = signature::Ed25519KeyPair::generate_pkcs8(&rng).ok()?;
            let pair = signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).ok()?;
            Some(Generated {
                public: PublicParts::Ed25519 {
                    x: pair.public_key().as_ref().to_vec(),
                },
                private_der: pkcs8.as_ref().to_vec(),
            })
        }
        Algorithm::ES256 => {
            let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
            let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).ok()?;
            let pair = signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).ok()?;
            // An uncompressed point: 0x04, then x and y of 32 bytes each.
            let point = pair.public_key().as_ref();
            let (x, y) = point.get(1..)?.split_at(32);
            Some(Generated {
                public: PublicParts::P256 {
                    x: x.to_vec(),
                    y: y.to_vec(),
                },
                private_der: pkcs8.as_ref().to_vec(),
            })
        }
        Algorithm::RS256 => {
            use rsa::{pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS).ok()?;
            Some(Generated {
                public: PublicParts::Rsa {
                    n: key.n().to_bytes_be(),
                    e: key.e().to_bytes_be(),
                },
                private_der: key.to_pkcs1_der().ok()?.as_bytes().to_vec(),
            })
        }
        _ => None,
    }
}

fn encoding_key(algorithm: Algorithm, private_der: &[u8]) -> EncodingKey {
    match algorithm {
        Algorithm::EdDSA => EncodingKey::from_ed_der(private_der),
        Algorithm::ES256 => EncodingKey::from_ec_der(private_der),
        _ => EncodingKey::from_rsa_der(private_der),
    }
}

/// The public JWK as published: RFC 7517 members, with `alg` (which Better Auth leaves
/// out, breaking verifiers that insist on it) and `use`.
fn public_jwk(kid: &str, algorithm: Algorithm, public: &PublicParts) -> Value {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let mut jwk = match public {
        PublicParts::Ed25519 { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(x) }),
        PublicParts::P256 { x, y } => {
            json!({ "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y) })
        }
        PublicParts::Rsa { n, e } => json!({ "kty": "RSA", "n": b64(n), "e": b64(e) }),
    };
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(algorithm_name(algorithm));
    jwk["use"] = json!("sig");
    jwk
}

/// A ring of new keys, the first one current, without a database: for the token
/// contract's own tests.
#[cfg(test)]
pub fn fresh_ring(algorithm: Algorithm, kids: &[&str]) -> KeyRing {
    let mut current = None;
    let mut published = HashMap::new();
    for kid in kids {
        let generated = generate(algorithm).unwrap();
        let jwk = public_jwk(kid, algorithm, &generated.public);
        let (_, decoding) = verifying_key(&serde_json::from_value(jwk).unwrap()).unwrap();
        current.get_or_insert_with(|| SigningKey {
            kid: (*kid).to_owned(),
            algorithm,
            encoding: encoding_key(algorithm, &generated.private_der),
        });
        published.insert(
            (*kid).to_owned(),
            VerifyingKey {
                algorithm,
                decoding,
                published_until: None,
            },
        );
    }
    KeyRing {
        current: current.unwrap(),
        published,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_algorithm_makes_a_pair_whose_jwk_checks_what_its_private_key_signs() {
        for algorithm in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
            let generated = generate(algorithm).unwrap();
            let jwk_value = public_jwk("k", algorithm, &generated.public);
            assert_eq!(jwk_value["alg"], algorithm_name(algorithm));
            assert_eq!(jwk_value["use"], "sig");
            assert_eq!(jwk_value["kid"], "k");
            let jwk: Jwk = serde_json::from_value(jwk_value).unwrap();
            let (found, decoding) = verifying_key(&jwk).unwrap();
            assert_eq!(found, algorithm);
            let key = encoding_key(algorithm, &generated.private_der);
            let signature = jsonwebtoken::crypto::sign(b"message", &key, algorithm).unwrap();
            assert!(
                jsonwebtoken::crypto::verify(&signature, b"message", &decoding, algorithm).unwrap()
            );
            assert!(
                !jsonwebtoken::crypto::verify(&signature, b"massage", &decoding, algorithm)
                    .unwrap()
            );
        }
    }
}
