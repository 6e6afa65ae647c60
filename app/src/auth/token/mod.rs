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

pub use crate::auth::token_settings::{Secret, TokenSettings};
use crate::{
    auth::{
        remote_keys::{KeySet, RemoteKeys},
        signing_keys::{self, KeyRing, Throttle, MIN_KEY_REFRESH},
    },
    clock::Clock,
};
use base64_simd::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::{
    borrow::Cow,
    sync::{Arc, RwLock},
};

/// Tokens longer than this are refused before any parsing: no legitimate token is near it.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Header parameters that would let a token choose its own key, or demand processing
/// we do not implement. Their mere presence is a rejection.
const FORBIDDEN_HEADER_KEYS: [&str; 5] = ["crit", "jku", "x5u", "jwk", "x5c"];

/// Parses `JWT_ALGORITHM`: the HMAC family with the shared secret, or one of the
/// algorithms this server can make key pairs for.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "HS384" => Ok(Algorithm::HS384),
        "HS512" => Ok(Algorithm::HS512),
        "EdDSA" => Ok(Algorithm::EdDSA),
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        other => Err(format!(
            "JWT_ALGORITHM={other} is not supported: use HS256, HS384 or HS512 with the shared \
             secret, or EdDSA, ES256 or RS256 for key pairs published at /api/auth/jwks"
        )),
    }
}

/// The algorithm a token header names, of those `jsonwebtoken` can check.
fn header_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "PS256" => Some(Algorithm::PS256),
        other => parse_algorithm(other).ok(),
    }
}

/// `aud` is a string or a list of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            Self::One(aud) => accepted.contains(aud),
            Self::Many(auds) => auds.iter().any(|aud| accepted.contains(aud)),
        }
    }
}

/// The claims of a token this project issues, and of a verified one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: Audience,
    pub jti: String,
    /// The session the token belongs to: always in tokens issued here; `None` for the
    /// trusted issuer's (`JWT_JWKS_URL`), which are valid until they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Always issued; optional on verify, as CONTRACT §1 says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Space-separated permissions; a token without one grants every scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Better Auth's payload names for the same person (CONTRACT §1b), so a backend
    /// written against its JWT plugin reads what it expects. Issued, never relied on.
    /// Verified, a token of ours has it when every field is there: its `updated_at` says
    /// when the account it was minted from last changed, which a change since revokes
    /// (`auth::revocations`).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// A trusted issuer's `emailVerified`, when its token states it (Better Auth's do),
    /// read under `REQUIRE_EMAIL_VERIFICATION`. Never in tokens of ours, whose `profile`
    /// has it.
    #[serde(skip)]
    pub issuer_email_verified: Option<bool>,
}

/// The user fields of Better Auth's JWT payload that the contract's claims do not name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub email_verified: bool,
    pub banned: bool,
    pub image: Option<String>,
    #[serde(serialize_with = "crate::wire_time::millis")]
    pub created_at: String,
    #[serde(serialize_with = "crate::wire_time::millis")]
    pub updated_at: String,
}

impl Claims {
    /// Whether the token's scope includes `needed`.
    pub fn grants(&self, needed: &str) -> bool {
        self.scope
            .as_deref()
            .is_none_or(|scope| scope.split_whitespace().any(|s| s == needed))
    }
}

pub const TASKS_READ: &str = "tasks:read";
pub const TASKS_WRITE: &str = "tasks:write";

/// The scope of a token: some of the scopes this project knows, space-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    /// What a signed-in user's tokens carry unless a client asks for less.
    pub fn full() -> Self {
        Self(format!("{TASKS_READ} {TASKS_WRITE}"))
    }

    /// A scope a client asked for (`tasks:read`, say): every entry must be a known one.
    pub fn parse(requested: &str) -> Result<Self, String> {
        let mut scopes = Vec::new();
        for entry in requested.split_whitespace() {
            if ![TASKS_READ, TASKS_WRITE].contains(&entry) {
                return Err(format!(
                    "Unknown scope '{entry}': use {TASKS_READ} and/or {TASKS_WRITE}"
                ));
            }
            if !scopes.contains(&entry) {
                scopes.push(entry);
            }
        }
        if scopes.is_empty() {
            return Err(format!("Ask for {TASKS_READ} and/or {TASKS_WRITE}"));
        }
        Ok(Self(scopes.join(" ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who a new token is for, and what it may do.
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub session_id: &'a str,
    pub role: &'a str,
    pub scope: &'a Scope,
    pub email_verified: bool,
    pub banned: bool,
    pub image: Option<&'a str>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
    /// Unix seconds the token's `exp` never passes: its session's expiry, so that no
    /// access token outlives the session it was issued for.
    pub expires_by: i64,
}

/// Why a token was refused. The text is the `detail` the client gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Malformed token")]
    Malformed,
    #[error("Token algorithm not allowed")]
    Algorithm,
    #[error("Token header parameter '{0}' is not allowed")]
    HeaderParameter(&'static str),
    #[error("Invalid token signature")]
    Signature,
    #[error("Token has expired")]
    Expired,
    #[error("Token is not valid yet")]
    NotYetValid,
    #[error("Token was issued in the future")]
    IssuedInFuture,
    #[error("Invalid token issuer")]
    Issuer,
    #[error("Invalid token audience")]
    Audience,
    #[error("Token is missing the '{0}' claim")]
    MissingClaim(&'static str),
    #[error("Token claim '{0}' has the wrong type")]
    ClaimType(&'static str),
    #[error("Token header has no 'kid'")]
    MissingKeyId,
    /// Another issuer's token that lives longer than this server lets such tokens live.
    #[error("Token lives longer than a day, and another issuer's tokens cannot be revoked here")]
    TooLongLived,
    /// A `kid` that no key of ours or of the trusted issuer has (now).
    #[error("Token signed by an unknown or retired key")]
    UnknownKey,
}

pub struct TokenKeys {
    settings: TokenSettings,
    secret_encoding: EncodingKey,
    /// The shared secret as a key for the configured HMAC algorithm, its padded blocks
    /// hashed once here rather than on every verify; `None` when that algorithm is a key
    /// pair's, and HMAC tokens are refused.
    secret_mac: Option<ring::hmac::Key>,
    /// With an asymmetric `JWT_ALGORITHM`: this server's key pairs, replaced whole when
    /// they change.
    own: Option<RwLock<Arc<KeyRing>>>,
    /// With `JWT_JWKS_URL`: the trusted issuer's published keys.
    remote: Option<RemoteKeys>,
    /// Our keys are reloaded for an unknown `kid` at most every `MIN_KEY_REFRESH`.
    own_reloaded: Throttle,
    /// What time `issue` and `verify` take it to be.
    clock: Clock,
}

/// The longest a trusted issuer's token may live (`exp` − `iat`): it names no session
/// here, so nothing but its expiry ends it.
const MAX_FOREIGN_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// The key a token is checked with, and whether it was issued here.
enum CheckingKey<'a> {
    Secret(&'a ring::hmac::Key),
    Own(Arc<KeyRing>, String),
    Remote(Arc<KeySet>, String),
}

impl CheckingKey<'_> {
    /// A key pair's public key; `None` for the secret, and for a `kid` no longer there.
    fn decoding(&self) -> Option<&DecodingKey> {
        match self {
            Self::Secret(_) => None,
            Self::Own(ring, kid) => ring.published.get(kid).map(|k| &k.decoding),
            Self::Remote(set, kid) => set.get(kid).map(|k| &k.decoding),
        }
    }

    fn issued_here(&self) -> bool {
        !matches!(self, Self::Remote(..))
    }

    fn source(&self) -> KeySource {
        match self {
            Self::Secret(_) => KeySource::Secret,
            Self::Own(_, kid) => KeySource::Own(kid.clone()),
            Self::Remote(_, kid) => KeySource::Remote(kid.clone()),
        }
    }
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

    fn key_ring(&self) -> Option<Arc<KeyRing>> {
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

    /// `verify`, with the keys looked up again first when the trusted issuer's are
    /// stale, and after a `kid` that no key has: a rotation elsewhere is picked up on
    /// the first token that needs it.
    pub async fn verify_current(
        &self,
        pool: &crate::db::Pool,
        token: &str,
    ) -> Result<Claims, TokenError> {
        if let Some(remote) = self.remote.as_ref().filter(|r| r.is_stale()) {
            remote.refresh().await;
        }
        match self.verify(token) {
            Err(TokenError::UnknownKey) if self.refresh_keys(pool).await => self.verify(token),
            verified => verified,
        }
    }

    pub fn issue(&self, subject: &Subject<'_>) -> String {
        self.issue_at(subject, self.clock.unix_secs())
    }

    /// `issue`, for an API token: see `issue_lasting_at`.
    pub fn issue_lasting(&self, subject: &Subject<'_>, lifetime_secs: i64) -> String {
        self.issue_lasting_at(subject, lifetime_secs, self.clock.unix_secs())
    }

    pub fn issue_at(&self, subject: &Subject<'_>, now: i64) -> String {
        self.issue_lasting_at(subject, self.settings.lifetime_secs, now)
    }

    /// A token that lives `lifetime_secs` rather than `JWT_EXPIRES_IN` (an API token's
    /// chosen lifetime), and never past `subject.expires_by` either.
    pub fn issue_lasting_at(&self, subject: &Subject<'_>, lifetime_secs: i64, now: i64) -> String {
        let audience = match self.settings.audience.as_slice() {
            [one] => Audience::One(one.clone()),
            many => Audience::Many(many.to_vec()),
        };
        let claims = Claims {
            sub: subject.user_id.to_owned(),
            email: subject.email.to_owned(),
            name: subject.name.to_owned(),
            iat: now,
            exp: now.saturating_add(lifetime_secs).min(subject.expires_by),
            iss: self.settings.issuer.clone(),
            aud: audience,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: Some(subject.session_id.to_owned()),
            role: Some(subject.role.to_owned()),
            scope: Some(subject.scope.as_str().to_owned()),
            profile: Some(Profile {
                id: subject.user_id.to_owned(),
                email_verified: subject.email_verified,
                banned: subject.banned,
                image: subject.image.map(str::to_owned),
                created_at: subject.created_at.to_owned(),
                updated_at: subject.updated_at.to_owned(),
            }),
            issuer_email_verified: None,
        };
        // Plain strings and integers, with a secret or a key pair that signed a probe
        // when it was loaded: signing cannot fail.
        let signed = match self.key_ring() {
            Some(ring) => {
                let mut header = Header::new(ring.current.algorithm);
                header.kid = Some(ring.current.kid.clone());
                jsonwebtoken::encode(&header, &claims, &ring.current.encoding)
            }
            None => jsonwebtoken::encode(
                &Header::new(self.settings.algorithm),
                &claims,
                &self.secret_encoding,
            ),
        };
        signed.unwrap_or_else(|e| unreachable!("signing failed: {e}"))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, self.clock.unix_secs())
    }

    /// Each part is decoded once: the header is checked here and picks the key (never
    /// the algorithm: each key has its own, pinned), `check_signature` checks only the
    /// signature, and every claim is checked in `check_claims` against an explicit clock.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let parts = Segments::of(token)?;
        let (algorithm, key) = self.check_header(parts.header, now)?;
        check_signature(&parts, algorithm, &key)?;
        let bytes = base64url(parts.payload)?;
        self.check_claims(json(&bytes)?, now, key.issued_here())
            .into_claims()
    }

    /// What every check of `verify_at` says of `token`, for `server token decode`: the
    /// same checks, only each one is asked even after another has failed (the claims are
    /// read even when the signature is not genuine, to say what else is wrong). `Err`
    /// for a token that is not a JWT at all.
    pub fn explain_at(&self, token: &str, now: i64) -> Result<Explanation, TokenError> {
        let parts = Segments::of(token)?;
        let header = self.check_header(parts.header, now);
        let signature = header
            .as_ref()
            .ok()
            .map(|(algorithm, key)| check_signature(&parts, *algorithm, key));
        let issued_here = header.as_ref().map_or(true, |(_, key)| key.issued_here());
        let claims = base64url(parts.payload)
            .and_then(|bytes| Ok(self.check_claims(json(&bytes)?, now, issued_here)));
        Ok(Explanation {
            key: header.map(|(algorithm, key)| (algorithm, key.source())),
            signature,
            claims,
        })
    }

    /// Refuses key-carrying and critical parameters, then finds the key: the secret for
    /// the configured HMAC algorithm; otherwise the key the `kid` names, which must be
    /// for exactly the algorithm the header states.
    fn check_header(
        &self,
        segment: &str,
        now: i64,
    ) -> Result<(Algorithm, CheckingKey<'_>), TokenError> {
        let bytes = base64url(segment)?;
        let header: RawHeader<'_> = json(&bytes)?;
        if let Some(key) = FORBIDDEN_HEADER_KEYS
            .into_iter()
            .zip(header.forbidden)
            .find_map(|(key, present)| present.then_some(key))
        {
            return Err(TokenError::HeaderParameter(key));
        }
        let RawClaim::Text(alg) = header.alg else {
            return Err(TokenError::Algorithm);
        };
        let algorithm = header_algorithm(&alg).ok_or(TokenError::Algorithm)?;
        if hmac_algorithm(algorithm).is_some() {
            // Only the configured one, and never beside key pairs of our own.
            return match &self.secret_mac {
                Some(mac) if algorithm == self.settings.algorithm => {
                    Ok((algorithm, CheckingKey::Secret(mac)))
                }
                _ => Err(TokenError::Algorithm),
            };
        }
        if self.own.is_none() && self.remote.is_none() {
            return Err(TokenError::Algorithm);
        }
        let kid = match header.kid {
            RawClaim::Text(kid) => kid.into_owned(),
            RawClaim::Missing => return Err(TokenError::MissingKeyId),
            _ => return Err(TokenError::Malformed),
        };
        if let Some(ring) = self.key_ring() {
            if let Some(key) = ring.published.get(&kid) {
                if key.published_until.is_some_and(|until| until <= now) {
                    return Err(TokenError::UnknownKey);
                }
                return if key.algorithm == algorithm {
                    Ok((algorithm, CheckingKey::Own(ring, kid)))
                } else {
                    Err(TokenError::Algorithm)
                };
            }
        }
        if let Some(remote) = &self.remote {
            let set = remote.keys();
            if let Some(key) = set.get(&kid) {
                return if key.algorithm == algorithm {
                    Ok((algorithm, CheckingKey::Remote(set, kid)))
                } else {
                    Err(TokenError::Algorithm)
                };
            }
        }
        Err(TokenError::UnknownKey)
    }

    /// Every claim rule, each decided on its own (`ClaimChecks::into_claims` stops at the
    /// first failure). `sid` is required of tokens issued here, and ignored in another
    /// issuer's: a session it names is not one of ours.
    fn check_claims(&self, mut raw: RawClaims<'_>, now: i64, issued_here: bool) -> ClaimChecks {
        let leeway = self.settings.leeway_secs;
        let judged = |passed: bool, failure: TokenError| if passed { Ok(()) } else { Err(failure) };
        // Only ours are checked against changes to their account; without all of it, any
        // change refuses the token.
        let (profile, issuer_email_verified) = if issued_here {
            (raw.profile(), None)
        } else {
            let stated = match raw.email_verified {
                RawClaim::Bool(flag) => Some(flag),
                _ => None,
            };
            (None, stated)
        };
        let exp = Checked::judge(numeric_date(raw.exp, "exp"), Some("exp"), |exp| {
            judged(exp.saturating_add(leeway) > now, TokenError::Expired)
        });
        let nbf = Checked::judge(numeric_date(raw.nbf, "nbf"), None, |nbf| {
            judged(*nbf <= now + leeway, TokenError::NotYetValid)
        });
        let iat = Checked::judge(numeric_date(raw.iat, "iat"), Some("iat"), |iat| {
            judged(*iat <= now + leeway, TokenError::IssuedInFuture)
        });
        let lifetime = match (exp.value, iat.value) {
            (Some(exp), Some(iat)) if !issued_here => judged(
                exp.saturating_sub(iat) <= MAX_FOREIGN_TOKEN_LIFETIME_SECS,
                TokenError::TooLongLived,
            ),
            _ => Ok(()),
        };
        let iss = Checked::judge(text(raw.iss, "iss"), Some("iss"), |iss| {
            judged(*iss == self.settings.issuer, TokenError::Issuer)
        });
        let aud = Checked::judge(audience(raw.aud), Some("aud"), |aud| {
            judged(
                aud.contains_any(&self.settings.audience),
                TokenError::Audience,
            )
        });
        let sub = Checked::judge(text(raw.sub, "sub"), Some("sub"), |_| Ok(()));
        let sid = if issued_here {
            Checked::judge(text(raw.sid, "sid"), Some("sid"), |_| Ok(()))
        } else {
            Checked::judge(Ok(None), None, |_| Ok(()))
        };
        let rest = (|| {
            Ok(Unchecked {
                email: text(raw.email, "email")?.unwrap_or_default(),
                name: text(raw.name, "name")?.unwrap_or_default(),
                jti: text(raw.jti, "jti")?.unwrap_or_default(),
                role: text(raw.role, "role")?,
                scope: text(raw.scope, "scope")?,
                profile,
                issuer_email_verified,
            })
        })();
        ClaimChecks {
            exp,
            nbf,
            iat,
            lifetime,
            iss,
            aud,
            sub,
            sid,
            rest,
        }
    }
}

/// A token's three segments: `header.payload.signature`.
struct Segments<'a> {
    /// `header.payload`, what the signature is over.
    signed: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

impl<'a> Segments<'a> {
    fn of(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        Ok(Self {
            signed,
            header,
            payload,
            signature,
        })
    }
}

/// The HMAC algorithm `algorithm` names, if it names one.
fn hmac_algorithm(algorithm: Algorithm) -> Option<ring::hmac::Algorithm> {
    match algorithm {
        Algorithm::HS256 => Some(ring::hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(ring::hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(ring::hmac::HMAC_SHA512),
        _ => None,
    }
}

/// Whether the signature is genuine under `key`, for `algorithm`. An HMAC tag is
/// compared in constant time by ring (the library `jsonwebtoken` signs it with), against
/// the key whose pads were hashed once; a key pair's signature is checked by
/// `jsonwebtoken`.
fn check_signature(
    parts: &Segments<'_>,
    algorithm: Algorithm,
    key: &CheckingKey<'_>,
) -> Result<(), TokenError> {
    let genuine = match key {
        CheckingKey::Secret(mac) => hmac_tag_matches(mac, parts),
        _ => {
            let decoding = key.decoding().ok_or(TokenError::UnknownKey)?;
            jsonwebtoken::crypto::verify(
                parts.signature,
                parts.signed.as_bytes(),
                decoding,
                algorithm,
            )
            .map_err(|_| TokenError::Malformed)?
        }
    };
    if genuine {
        Ok(())
    } else {
        Err(TokenError::Signature)
    }
}

/// Whether the signature segment is the HMAC tag of the signed part under `mac`. A
/// segment that is not the canonical base64url of at most the longest tag (HS512's) is
/// a wrong signature, as it is when `jsonwebtoken` compares the encoded tags.
fn hmac_tag_matches(mac: &ring::hmac::Key, parts: &Segments<'_>) -> bool {
    let mut tag = [0u8; ring::digest::MAX_OUTPUT_LEN];
    let encoded = parts.signature.as_bytes();
    URL_SAFE_NO_PAD
        .decoded_length(encoded)
        .is_ok_and(|len| len <= tag.len())
        && URL_SAFE_NO_PAD
            .decode(encoded, base64_simd::Out::from_slice(&mut tag))
            .is_ok_and(|tag| ring::hmac::verify(mac, parts.signed.as_bytes(), tag).is_ok())
}

/// A decoded segment's JSON. Its UTF-8 is checked once, as a whole, rather than string
/// by string as `serde_json::from_slice` would.
fn json<'a, T: Deserialize<'a>>(segment: &'a [u8]) -> Result<T, TokenError> {
    let text = std::str::from_utf8(segment).map_err(|_| TokenError::Malformed)?;
    serde_json::from_str(text).map_err(|_| TokenError::Malformed)
}

/// Which key checks a token: `verify_at`'s choice, named for `explain_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The shared secret.
    Secret,
    /// One of this server's key pairs, by `kid`.
    Own(String),
    /// The trusted issuer's key (`JWT_JWKS_URL`), by `kid`.
    Remote(String),
}

/// What each check says of one token (`TokenKeys::explain_at`).
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The algorithm and the key the header leads to, or why it leads to none.
    pub key: Result<(Algorithm, KeySource), TokenError>,
    /// Whether the signature is genuine under that key; `None` when there is no key.
    pub signature: Option<Result<(), TokenError>>,
    /// The claim rules' verdicts, or why the payload holds no claims to judge.
    pub claims: Result<ClaimChecks, TokenError>,
}

impl Explanation {
    /// What `verify_at` says: the verified claims, or the first failure.
    pub fn verdict(self) -> Result<Claims, TokenError> {
        self.key?;
        self.signature.unwrap_or(Err(TokenError::UnknownKey))?;
        self.claims?.into_claims()
    }

    /// The claims as the token states them when its signature is genuine, whatever the
    /// claim rules say (an expired token of ours still names its session); `None` when
    /// no key of ours or of the trusted issuer signed it, or it lacks a claim `Claims`
    /// cannot do without. The only way to `Claims` beside `verdict`: a forged token's
    /// claims are never taken for a signed one's (and never looked up).
    pub fn signed_claims(self) -> Option<Claims> {
        self.key.ok()?;
        self.signature?.ok()?;
        self.claims.ok()?.stated()
    }
}

/// A claim as the token states it (`None` when absent or of the wrong type) and its
/// rule's verdict.
#[derive(Debug, Clone)]
pub struct Checked<T> {
    pub value: Option<T>,
    pub verdict: Result<(), TokenError>,
}

impl<T> Checked<T> {
    /// The claim `read` found (`Ok(None)`: absent), judged by `rule`; when absent, a
    /// failure if it is `required` (by that name).
    fn judge(
        read: Result<Option<T>, TokenError>,
        required: Option<&'static str>,
        rule: impl FnOnce(&T) -> Result<(), TokenError>,
    ) -> Self {
        match read {
            Err(e) => Self {
                value: None,
                verdict: Err(e),
            },
            Ok(None) => Self {
                value: None,
                verdict: required.map_or(Ok(()), |name| Err(TokenError::MissingClaim(name))),
            },
            Ok(Some(value)) => Self {
                verdict: rule(&value),
                value: Some(value),
            },
        }
    }
}

/// Every claim rule's verdict on one token, each decided on its own: `verify_at` takes the
/// first failure (in this order, the contract's), `server token decode` shows them all.
#[derive(Debug, Clone)]
pub struct ClaimChecks {
    /// In the future, give or take the leeway.
    pub exp: Checked<i64>,
    /// If present, in the past, give or take the leeway.
    pub nbf: Checked<i64>,
    /// Present and not in the future.
    pub iat: Checked<i64>,
    /// Another issuer's token lives a day at most.
    pub lifetime: Result<(), TokenError>,
    /// The configured issuer.
    pub iss: Checked<String>,
    /// Names one of the configured audiences.
    pub aud: Checked<Audience>,
    /// A string.
    pub sub: Checked<String>,
    /// A string, in tokens issued here; never read in another issuer's.
    pub sid: Checked<String>,
    /// The claims only checked for their type.
    rest: Result<Unchecked, TokenError>,
}

/// The claims of a token whose only rule is their type.
#[derive(Debug, Clone)]
struct Unchecked {
    email: String,
    name: String,
    jti: String,
    role: Option<String>,
    scope: Option<String>,
    profile: Option<Profile>,
    issuer_email_verified: Option<bool>,
}

impl ClaimChecks {
    /// The first rule that fails, in the contract's order.
    pub fn verdict(&self) -> Result<(), TokenError> {
        let rules = [
            &self.exp.verdict,
            &self.nbf.verdict,
            &self.iat.verdict,
            &self.lifetime,
            &self.iss.verdict,
            &self.aud.verdict,
            &self.sub.verdict,
            &self.sid.verdict,
        ];
        if let Some(failure) = rules.into_iter().find_map(|rule| rule.as_ref().err()) {
            return Err(failure.clone());
        }
        self.rest.as_ref().map(drop).map_err(Clone::clone)
    }

    /// The claims as the token states them, whatever the rules say; `None` when one that
    /// `Claims` cannot do without is absent or of the wrong type. Private: whether the
    /// signature is genuine is not this type's to say (`Explanation::signed_claims`).
    fn stated(self) -> Option<Claims> {
        let rest = self.rest.ok()?;
        Some(Claims {
            sub: self.sub.value?,
            email: rest.email,
            name: rest.name,
            iat: self.iat.value?,
            exp: self.exp.value?,
            iss: self.iss.value?,
            aud: self.aud.value?,
            jti: rest.jti,
            sid: self.sid.value,
            role: rest.role,
            scope: rest.scope,
            profile: rest.profile,
            issuer_email_verified: rest.issuer_email_verified,
        })
    }

    /// The claims, when every rule passes.
    pub fn into_claims(self) -> Result<Claims, TokenError> {
        self.verdict()?;
        self.stated().ok_or(TokenError::Malformed)
    }
}

fn audience(claim: RawClaim<'_>) -> Result<Option<Audience>, TokenError> {
    match claim {
        RawClaim::Missing => Ok(None),
        RawClaim::Text(one) => Ok(Some(Audience::One(one.into_owned()))),
        RawClaim::Texts(many) => Ok(Some(Audience::Many(
            many.into_iter().map(Cow::into_owned).collect(),
        ))),
        _ => Err(TokenError::ClaimType("aud")),
    }
}

/// The bytes of a canonical base64url (unpadded) segment. Decoded with SIMD
/// (`base64_simd`): the payload's 650 characters were a sixth of verify through the
/// `base64` crate, which the rest of the app uses for its short values.
fn base64url(segment: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode_to_vec(segment)
        .map_err(|_| TokenError::Malformed)
}

/// The claims as they arrived, strings borrowed from the payload where they can be:
/// each is checked for presence and type by the rule that reads it. A claim named twice
/// makes the payload malformed.
#[derive(Deserialize)]
struct RawClaims<'a> {
    #[serde(borrow, default)]
    sub: RawClaim<'a>,
    #[serde(borrow, default)]
    email: RawClaim<'a>,
    #[serde(borrow, default)]
    name: RawClaim<'a>,
    #[serde(borrow, default)]
    iat: RawClaim<'a>,
    #[serde(borrow, default)]
    exp: RawClaim<'a>,
    #[serde(borrow, default)]
    nbf: RawClaim<'a>,
    #[serde(borrow, default)]
    iss: RawClaim<'a>,
    #[serde(borrow, default)]
    aud: RawClaim<'a>,
    #[serde(borrow, default)]
    jti: RawClaim<'a>,
    #[serde(borrow, default)]
    sid: RawClaim<'a>,
    #[serde(borrow, default)]
    role: RawClaim<'a>,
    #[serde(borrow, default)]
    scope: RawClaim<'a>,
    #[serde(borrow, default)]
    id: RawClaim<'a>,
    #[serde(borrow, default, rename = "emailVerified")]
    email_verified: RawClaim<'a>,
    #[serde(borrow, default)]
    banned: RawClaim<'a>,
    #[serde(borrow, default)]
    image: RawClaim<'a>,
    #[serde(borrow, default, rename = "createdAt")]
    created_at: RawClaim<'a>,
    #[serde(borrow, default, rename = "updatedAt")]
    updated_at: RawClaim<'a>,
}

impl RawClaims<'_> {
    /// Better Auth's user fields, when every one is there with its type (`image` may be
    /// `null`): the account as the token was minted from it.
    fn profile(&mut self) -> Option<Profile> {
        let text = |claim: &mut RawClaim<'_>| match std::mem::take(claim) {
            RawClaim::Text(text) => Some(text.into_owned()),
            _ => None,
        };
        let flag = |claim: &RawClaim<'_>| match claim {
            RawClaim::Bool(flag) => Some(*flag),
            _ => None,
        };
        Some(Profile {
            email_verified: flag(&self.email_verified)?,
            banned: flag(&self.banned)?,
            id: text(&mut self.id)?,
            image: text(&mut self.image),
            created_at: text(&mut self.created_at)?,
            updated_at: text(&mut self.updated_at)?,
        })
    }
}

/// What the header check reads, straight from the JSON object (no intermediate tree):
/// `alg` (the last one, if named twice), and which of `FORBIDDEN_HEADER_KEYS` are present
/// with any value, `null` included.
struct RawHeader<'a> {
    alg: RawClaim<'a>,
    kid: RawClaim<'a>,
    forbidden: [bool; FORBIDDEN_HEADER_KEYS.len()],
}

impl<'de: 'a, 'a> Deserialize<'de> for RawHeader<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawHeaderVisitor(std::marker::PhantomData))
    }
}

struct RawHeaderVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for RawHeaderVisitor<'a> {
    type Value = RawHeader<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut header = RawHeader {
            alg: RawClaim::Missing,
            kid: RawClaim::Missing,
            forbidden: [false; FORBIDDEN_HEADER_KEYS.len()],
        };
        while let Some(key) = map.next_key::<HeaderKey>()? {
            match key {
                HeaderKey::Alg => header.alg = map.next_value()?,
                HeaderKey::Kid => header.kid = map.next_value()?,
                HeaderKey::Forbidden(n) => {
                    header.forbidden[n] = true;
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                HeaderKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

/// A header parameter's name, told apart as it is read (nothing is copied).
enum HeaderKey {
    Alg,
    Kid,
    /// The position in `FORBIDDEN_HEADER_KEYS`.
    Forbidden(usize),
    Other,
}

impl<'de> Deserialize<'de> for HeaderKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(HeaderKeyVisitor)
    }
}

struct HeaderKeyVisitor;

impl serde::de::Visitor<'_> for HeaderKeyVisitor {
    type Value = HeaderKey;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a header parameter's name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(match name {
            "alg" => HeaderKey::Alg,
            "kid" => HeaderKey::Kid,
            _ => FORBIDDEN_HEADER_KEYS
                .iter()
                .position(|key| *key == name)
                .map_or(HeaderKey::Other, HeaderKey::Forbidden),
        })
    }
}

/// One claim's value, by the shapes the checks tell apart. Read straight from the JSON
/// (no intermediate tree), borrowing strings without escapes. `null` is a value of the
/// wrong type, not an absent claim.
#[derive(Default)]
enum RawClaim<'a> {
    #[default]
    Missing,
    Integer(i64),
    Number(f64),
    Bool(bool),
    Text(Cow<'a, str>),
    Texts(Vec<Cow<'a, str>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawClaim<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawClaimVisitor(std::marker::PhantomData))
    }
}

struct RawClaimVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for RawClaimVisitor<'a> {
    type Value = RawClaim<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(RawClaim::Integer(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(RawClaim::Number(v as f64), RawClaim::Integer))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(RawClaim::Number(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(RawClaim::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawClaim::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(RawClaim::Bool(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(RawClaim::Other)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (mut texts, mut only_texts) = (Vec::new(), true);
        while let Some(item) = seq.next_element::<RawClaim<'a>>()? {
            match item {
                RawClaim::Text(text) => texts.push(text),
                _ => only_texts = false,
            }
        }
        Ok(if only_texts {
            RawClaim::Texts(texts)
        } else {
            RawClaim::Other
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(RawClaim::Other)
    }
}

fn numeric_date(claim: RawClaim<'_>, name: &'static str) -> Result<Option<i64>, TokenError> {
    match claim {
        RawClaim::Missing => Ok(None),
        RawClaim::Integer(seconds) => Ok(Some(seconds)),
        // Some encoders write fractional seconds; whole seconds are what matters.
        RawClaim::Number(seconds) if seconds.is_finite() => Ok(Some(seconds.floor() as i64)),
        _ => Err(TokenError::ClaimType(name)),
    }
}

fn text(claim: RawClaim<'_>, name: &'static str) -> Result<Option<String>, TokenError> {
    match claim {
        RawClaim::Missing => Ok(None),
        RawClaim::Text(text) => Ok(Some(text.into_owned())),
        _ => Err(TokenError::ClaimType(name)),
    }
}

/// A raw JWS encoder that shares no code with `jsonwebtoken`: HMAC-SHA over
/// `base64url(header).base64url(payload)`, exactly as RFC 7515 describes. Tests use it
/// to forge hostile tokens and to prove that a token from another library is accepted.
#[cfg(any(test, feature = "test-support"))]
pub mod forge {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use hmac::{Hmac, Mac};
    use serde_json::Value;

    /// Encodes the two JSON values and signs them with HMAC-SHA256 over `key`.
    pub fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
        hs256_bytes(
            header.to_string().as_bytes(),
            claims.to_string().as_bytes(),
            key,
        )
    }

    /// Encodes a header and a payload exactly as given, bytes that no JSON encoder would
    /// write included, and signs them with HMAC-SHA256 over `key`.
    pub fn hs256_bytes(header: &[u8], payload: &[u8], key: &[u8]) -> String {
        hs256_segments(
            &format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload)
            ),
            key,
        )
    }

    /// Signs `header.payload` text exactly as given, encodings that no encoder would
    /// write included, with HMAC-SHA256 over `key`.
    pub fn hs256_segments(signing_input: &str, key: &[u8]) -> String {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// An unsigned token (`alg: none`), as an attacker would send it.
    pub fn unsigned(claims: &Value) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use serde_json::{json, Map, Value};

    const SECRET: &[u8] = b"a-test-secret-that-is-long-enough-for-hs256";
    const BASE64URL_ALPHABET: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const NOW: i64 = 1_800_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            TokenSettings {
                secret: Secret::new(SECRET).unwrap(),
                algorithm: Algorithm::HS256,
                issuer: "http://localhost:3000".into(),
                audience: vec!["http://localhost:3000".into(), "tasks-api".into()],
                lifetime_secs: 900,
                api_token_max_secs: 30 * 86_400,
                leeway_secs: 30,
                key_rotation_secs: None,
                key_grace_secs: 3600,
                jwks_url: None,
            },
            Clock::default(),
        )
    }

    fn claims() -> Value {
        json!({
            "sub": "user-1", "email": "ada@example.com", "name": "Ada",
            "iat": NOW - 10, "exp": NOW + 600, "iss": "http://localhost:3000",
            "aud": "tasks-api", "jti": "j-1", "sid": "session-1",
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().unwrap().remove(key);
        claims
    }

    fn header() -> Value {
        json!({"alg": "HS256", "typ": "JWT"})
    }

    fn verify(token: &str) -> Result<Claims, TokenError> {
        keys().verify_at(token, NOW)
    }

    fn signed(claims: Value) -> String {
        forge::hs256(&header(), &claims, SECRET)
    }

    #[test]
    fn an_issued_token_verifies_with_every_contract_claim() {
        let keys = keys();
        let subject = Subject {
            user_id: "u",
            email: "e@x.io",
            name: "N",
            session_id: "s",
            role: "admin",
            scope: &Scope::full(),
            email_verified: false,
            banned: false,
            image: None,
            created_at: "2026-01-01T00:00:00.000Z",
            updated_at: "2026-01-02T00:00:00.000Z",
            expires_by: i64::MAX,
        };
        let token = keys.issue_at(&subject, NOW);
        let claims = keys.verify_at(&token, NOW + 1).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_deref()),
            ("u", Some("s"))
        );
        assert_eq!(claims.role.as_deref(), Some("admin"));
        assert_eq!(claims.scope.as_deref(), Some("tasks:read tasks:write"));
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(
            claims.aud,
            Audience::Many(vec!["http://localhost:3000".into(), "tasks-api".into()])
        );
        let payload = token.split('.').nth(1).unwrap();
        let raw: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        for claim in [
            "sub", "email", "name", "iat", "exp", "iss", "aud", "jti", "sid", "role", "scope",
        ] {
            assert!(raw.contains_key(claim), "issued token lacks {claim}");
        }
        assert_eq!(
            raw["id"], "u",
            "Better Auth's payload names the user `id` too"
        );
        assert_eq!(raw["emailVerified"], false);
        assert_eq!(raw["banned"], false);
        assert_eq!(raw["createdAt"], "2026-01-01T00:00:00.000Z");
        assert_eq!(raw["updatedAt"], "2026-01-02T00:00:00.000Z");
    }

    #[test]
    fn a_token_from_an_independent_encoder_is_accepted() {
        assert_eq!(verify(&signed(claims())).unwrap().sub, "user-1");
    }

    #[test]
    fn audience_may_be_a_list_containing_ours() {
        let token = signed(with(claims(), "aud", json!(["other", "tasks-api"])));
        assert!(verify(&token).is_ok());
    }

    #[test]
    fn alg_none_is_rejected() {
        assert_eq!(
            verify(&forge::unsigned(&claims())),
            Err(TokenError::Algorithm)
        );
    }

    #[test]
    fn other_algorithms_in_the_header_are_rejected() {
        for alg in ["HS384", "HS512", "RS256", "ES256", "EdDSA", "none", "hs256"] {
            let token = forge::hs256(&json!({"alg": alg, "typ": "JWT"}), &claims(), SECRET);
            assert_eq!(verify(&token), Err(TokenError::Algorithm), "{alg}");
        }
    }

    #[test]
    fn key_carrying_and_critical_header_parameters_are_rejected() {
        for key in ["crit", "jku", "x5u", "jwk", "x5c"] {
            let token = forge::hs256(&with(header(), key, json!(["x"])), &claims(), SECRET);
            assert_eq!(
                verify(&token),
                Err(TokenError::HeaderParameter(key)),
                "{key}"
            );
        }
    }

    #[test]
    fn a_refused_header_parameter_counts_when_its_name_is_written_with_escapes() {
        let claims = claims().to_string();
        let token = forge::hs256_bytes(
            br#"{"alg":"HS256","\u006a\u0077\u006b":{}}"#,
            claims.as_bytes(),
            SECRET,
        );
        assert_eq!(verify(&token), Err(TokenError::HeaderParameter("jwk")));
    }

    #[test]
    fn a_payload_that_is_not_utf8_is_malformed_even_in_a_claim_nobody_reads() {
        let claims = claims().to_string();
        let payload = [&claims.as_bytes()[..claims.len() - 1], b",\"x\":\"\xff\"}"].concat();
        assert_eq!(
            verify(&forge::hs256_bytes(
                header().to_string().as_bytes(),
                &payload,
                SECRET
            )),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn each_hmac_size_verifies_its_own_tokens_and_refuses_the_others() {
        let sizes = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        for configured in sizes {
            let keys = TokenKeys::new(settings(configured), Clock::default());
            let token = keys.issue_at(&subject(), NOW);
            assert_eq!(
                keys.verify_at(&token, NOW).unwrap().sub,
                "u",
                "{configured:?}"
            );
            let (signed_part, tag) = token.rsplit_once('.').unwrap();
            let mut tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
            tag[0] ^= 1;
            let tampered = format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode(&tag));
            assert_eq!(
                keys.verify_at(&tampered, NOW),
                Err(TokenError::Signature),
                "{configured:?}"
            );
            for other in sizes.into_iter().filter(|other| *other != configured) {
                let theirs = TokenKeys::new(settings(other), Clock::default());
                assert_eq!(
                    keys.verify_at(&theirs.issue_at(&subject(), NOW), NOW),
                    Err(TokenError::Algorithm),
                    "{configured:?} refuses {other:?}"
                );
            }
        }
    }

    #[test]
    fn a_refused_header_parameter_counts_even_when_null_and_the_header_must_be_an_object() {
        let token = forge::hs256(&with(header(), "jwk", Value::Null), &claims(), SECRET);
        assert_eq!(verify(&token), Err(TokenError::HeaderParameter("jwk")));
        let token = forge::hs256(&json!(["HS256", "JWT"]), &claims(), SECRET);
        assert_eq!(verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let token = forge::hs256(
            &header(),
            &claims(),
            b"another-secret-that-is-also-long-enough",
        );
        assert_eq!(verify(&token), Err(TokenError::Signature));
    }

    #[test]
    fn a_signature_segment_that_is_not_the_tag_is_a_wrong_signature() {
        let token = signed(claims());
        let (signed_part, tag) = token.rsplit_once('.').unwrap();
        let tag_bytes = URL_SAFE_NO_PAD.decode(tag).unwrap();
        // The same 32 bytes with the last symbol's two unused bits set: a lenient decoder
        // reads the very tag from it, so only refusing non-canonical base64 refuses it.
        let other_trailing_bits = with_unused_bits_set(tag);
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::general_purpose::NO_PAD.with_decode_allow_trailing_bits(true),
        );
        assert_eq!(lenient.decode(&other_trailing_bits).unwrap(), tag_bytes);
        let signatures = [
            String::new(),
            "!!!".to_owned(),
            tag[..tag.len() - 1].to_owned(),
            URL_SAFE_NO_PAD.encode(&tag_bytes[..31]),
            format!("{tag}="),
            format!("{tag}{tag}"),
            URL_SAFE_NO_PAD.encode([tag_bytes.as_slice(), &[0; 32]].concat()),
            URL_SAFE_NO_PAD.encode([0u8; 65]),
            other_trailing_bits,
        ];
        for signature in signatures {
            assert_eq!(
                verify(&format!("{signed_part}.{signature}")),
                Err(TokenError::Signature),
                "{signature}"
            );
        }
        assert!(verify(&format!("{signed_part}.{tag}")).is_ok());
    }

    /// `segment` with the unused low bit of its last symbol set (the segment must end in
    /// a symbol with unused bits whose lowest is clear).
    fn with_unused_bits_set(segment: &str) -> String {
        let last = BASE64URL_ALPHABET
            .iter()
            .position(|symbol| *symbol == segment.as_bytes()[segment.len() - 1])
            .unwrap();
        assert!(
            !segment.len().is_multiple_of(4) && last.is_multiple_of(2),
            "{segment}"
        );
        format!(
            "{}{}",
            &segment[..segment.len() - 1],
            BASE64URL_ALPHABET[last + 1] as char
        )
    }

    #[test]
    fn a_genuinely_signed_segment_that_is_not_canonical_base64url_is_malformed() {
        // Spaces after the JSON, which it allows, until the encoding's last symbol has
        // four unused bits, so that one of them can be set.
        let encoded = |json: Value| {
            let mut text = json.to_string();
            while text.len() % 3 != 1 {
                text.push(' ');
            }
            URL_SAFE_NO_PAD.encode(text)
        };
        let (header, payload) = (encoded(header()), encoded(claims()));
        let spoilt = |segment: &str| {
            let rest = &segment[1..];
            [
                format!("{segment}="),
                format!("{segment}=="),
                format!("+{rest}"),
                format!("/{rest}"),
                format!(" {rest}"),
                format!("{segment}\n"),
                format!("{segment}A"),
                with_unused_bits_set(segment),
            ]
        };
        let genuine = |header: &str, payload: &str| {
            verify(&forge::hs256_segments(
                &format!("{header}.{payload}"),
                SECRET,
            ))
        };
        assert!(genuine(&header, &payload).is_ok());
        for bad in spoilt(&header) {
            assert_eq!(genuine(&bad, &payload), Err(TokenError::Malformed), "{bad}");
        }
        for bad in spoilt(&payload) {
            assert_eq!(genuine(&header, &bad), Err(TokenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        let token = signed(claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(with(claims(), "sub", json!("admin")).to_string());
        assert_eq!(verify(&parts.join(".")), Err(TokenError::Signature));
    }

    #[test]
    fn an_expired_token_is_rejected_beyond_the_leeway_only() {
        assert_eq!(
            verify(&signed(with(claims(), "exp", json!(NOW - 31)))),
            Err(TokenError::Expired)
        );
        assert!(verify(&signed(with(claims(), "exp", json!(NOW - 5)))).is_ok());
    }

    #[test]
    fn a_future_nbf_is_rejected() {
        let token = signed(with(claims(), "nbf", json!(NOW + 120)));
        assert_eq!(verify(&token), Err(TokenError::NotYetValid));
    }

    #[test]
    fn a_future_iat_is_rejected() {
        let token = signed(with(claims(), "iat", json!(NOW + 120)));
        assert_eq!(verify(&token), Err(TokenError::IssuedInFuture));
    }

    #[test]
    fn a_wrong_issuer_or_audience_is_rejected() {
        assert_eq!(
            verify(&signed(with(
                claims(),
                "iss",
                json!("https://evil.example")
            ))),
            Err(TokenError::Issuer)
        );
        assert_eq!(
            verify(&signed(with(claims(), "aud", json!("someone-else")))),
            Err(TokenError::Audience)
        );
        assert_eq!(
            verify(&signed(with(claims(), "aud", json!(["a", "b"])))),
            Err(TokenError::Audience)
        );
    }

    #[test]
    fn each_required_claim_must_be_present() {
        for claim in ["exp", "iat", "iss", "aud", "sub", "sid"] {
            assert_eq!(
                verify(&signed(without(claims(), claim))),
                Err(TokenError::MissingClaim(claim)),
                "{claim}"
            );
        }
    }

    #[test]
    fn a_non_string_sub_is_rejected() {
        assert_eq!(
            verify(&signed(with(claims(), "sub", json!(42)))),
            Err(TokenError::ClaimType("sub"))
        );
        assert_eq!(
            verify(&signed(with(claims(), "exp", json!("soon")))),
            Err(TokenError::ClaimType("exp"))
        );
    }

    #[test]
    fn malformed_segments_are_rejected() {
        let good = signed(claims());
        let (head, rest) = good.split_once('.').unwrap();
        let cases = [
            String::new(),
            "garbage".into(),
            "a.b".into(),
            "a.b.c.d".into(),
            format!("{head}.{rest}.extra"),
            format!("!!!.{rest}"),
            format!("{}.{rest}", URL_SAFE_NO_PAD.encode("not json")),
            format!("{head}.%%%.sig"),
            "x".repeat(MAX_TOKEN_LEN + 1),
        ];
        for token in cases {
            let result = verify(&token);
            assert!(
                matches!(result, Err(TokenError::Malformed | TokenError::Signature)),
                "{token:.40}: {result:?}"
            );
        }
    }

    #[test]
    fn a_null_claim_is_the_wrong_type_not_an_absent_one() {
        let token = signed(with(claims(), "nbf", Value::Null));
        assert_eq!(verify(&token), Err(TokenError::ClaimType("nbf")));
    }

    #[test]
    fn an_expiry_at_the_end_of_time_does_not_overflow() {
        assert!(verify(&signed(with(claims(), "exp", json!(1e300)))).is_ok());
        assert!(verify(&signed(with(claims(), "exp", json!(i64::MAX)))).is_ok());
    }

    #[test]
    fn a_token_without_scope_grants_everything_and_one_with_scope_only_that() {
        let unscoped = verify(&signed(claims())).unwrap();
        assert!(unscoped.grants(TASKS_WRITE));
        let read_only = verify(&signed(with(claims(), "scope", json!("tasks:read")))).unwrap();
        assert!(read_only.grants(TASKS_READ));
        assert!(!read_only.grants(TASKS_WRITE));
    }

    #[test]
    fn a_requested_scope_must_name_known_scopes() {
        assert_eq!(Scope::parse("tasks:read").unwrap().as_str(), "tasks:read");
        assert_eq!(
            Scope::parse(" tasks:write  tasks:read tasks:write")
                .unwrap()
                .as_str(),
            "tasks:write tasks:read"
        );
        assert!(Scope::parse("admin").is_err());
        assert!(Scope::parse("  ").is_err());
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(Secret::new(b"too-short".to_vec()).is_err());
    }

    #[test]
    fn placeholder_secrets_from_setup_guides_are_refused() {
        for placeholder in [
            "your-32-character-secret-key",
            "your-super-secret-jwt-key-of-at-least-32-chars",
            "CHANGE_ME_CHANGE_ME_CHANGE_ME_CHANGE_ME",
            "replace-this-with-a-long-random-value-please",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "0101010101010101010101010101010101010101",
        ] {
            let error = Secret::new(placeholder).unwrap_err();
            assert!(error.contains("placeholder"), "{placeholder}: {error}");
        }
        assert!(Secret::new("kQ3v9ZxT1mW8pL2rB7nY4cF6hJ0sD5gA").is_ok());
    }

    fn settings(algorithm: Algorithm) -> TokenSettings {
        TokenSettings {
            algorithm,
            ..keys().settings().clone()
        }
    }

    fn subject() -> Subject<'static> {
        static SCOPE: std::sync::LazyLock<Scope> = std::sync::LazyLock::new(Scope::full);
        Subject {
            user_id: "u",
            email: "e@x.io",
            name: "N",
            session_id: "s",
            role: "user",
            scope: &SCOPE,
            email_verified: true,
            banned: false,
            image: None,
            created_at: "2026-01-01T00:00:00.000Z",
            updated_at: "2026-01-01T00:00:00.000Z",
            expires_by: i64::MAX,
        }
    }

    fn header_of(token: &str) -> Value {
        let segment = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    /// A token whose header is replaced, its signature kept: what an attacker can make
    /// of one genuine token.
    fn with_header(token: &str, header: &Value) -> String {
        let (_, rest) = token.split_once('.').unwrap();
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let keys = keys();
        let ending_soon = Subject {
            expires_by: NOW + 60,
            ..subject()
        };
        let token = keys.issue_at(&ending_soon, NOW);
        assert_eq!(keys.verify_at(&token, NOW).unwrap().exp, NOW + 60);
        let token = keys.issue_at(&subject(), NOW);
        assert_eq!(keys.verify_at(&token, NOW).unwrap().exp, NOW + 900);
    }

    #[test]
    fn key_pair_tokens_carry_the_current_kid_and_verify_by_it() {
        for algorithm in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
            let keys = TokenKeys::new(settings(algorithm), Clock::default())
                .with_key_ring(signing_keys::fresh_ring(algorithm, &["new", "old"]));
            let token = keys.issue_at(&subject(), NOW);
            let header = header_of(&token);
            assert_eq!(header["alg"], signing_keys::algorithm_name(algorithm));
            assert_eq!(header["kid"], "new");
            let claims = keys.verify_at(&token, NOW + 1).unwrap();
            assert_eq!(claims.sid.as_deref(), Some("s"));
        }
    }

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

    #[test]
    fn a_retired_keys_tokens_are_refused_from_its_end_even_before_the_ring_is_reloaded() {
        let mut ring = signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]);
        ring.published.get_mut("k").unwrap().published_until = Some(NOW + 60);
        let keys = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default()).with_key_ring(ring);
        let token = keys.issue_at(&subject(), NOW);
        assert!(keys.verify_at(&token, NOW + 59).is_ok());
        assert_eq!(
            keys.verify_at(&token, NOW + 60),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn a_key_pair_deployment_pins_its_algorithm_and_wants_a_kid() {
        let keys = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default())
            .with_key_ring(signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]));
        let token = keys.issue_at(&subject(), NOW);
        let verify = |t: &str| keys.verify_at(t, NOW + 1);
        assert_eq!(
            verify(&with_header(&token, &json!({"alg": "ES256", "kid": "k"}))),
            Err(TokenError::Algorithm),
            "an EdDSA key checks EdDSA only"
        );
        assert_eq!(
            verify(&signed(claims())),
            Err(TokenError::Algorithm),
            "the shared secret signs nothing beside key pairs"
        );
        assert_eq!(
            verify(&with_header(&token, &json!({"alg": "EdDSA"}))),
            Err(TokenError::MissingKeyId)
        );
        assert_eq!(
            verify(&with_header(
                &token,
                &json!({"alg": "EdDSA", "kid": "other"})
            )),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(
            verify(&with_header(
                &token,
                &json!({"alg": "EdDSA", "kid": "k", "jwk": {}})
            )),
            Err(TokenError::HeaderParameter("jwk"))
        );
        let other = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default())
            .with_key_ring(signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]));
        assert_eq!(
            verify(&other.issue_at(&subject(), NOW)),
            Err(TokenError::Signature),
            "another key under the same kid"
        );
    }

    #[test]
    fn a_shared_secret_deployment_refuses_key_pair_headers() {
        let ring_keys = TokenKeys::new(settings(Algorithm::EdDSA), Clock::default())
            .with_key_ring(signing_keys::fresh_ring(Algorithm::EdDSA, &["k"]));
        assert_eq!(
            verify(&ring_keys.issue_at(&subject(), NOW)),
            Err(TokenError::Algorithm)
        );
    }

    fn explain(token: &str) -> Explanation {
        keys().explain_at(token, NOW).expect("a JWT")
    }

    #[test]
    fn explaining_a_token_names_every_failing_check_not_only_the_first() {
        let token = signed(with(
            with(
                with(claims(), "exp", json!(NOW - 3600)),
                "iss",
                json!("https://evil.example"),
            ),
            "aud",
            json!("someone-else"),
        ));
        let explained = explain(&token);
        assert_eq!(explained.key, Ok((Algorithm::HS256, KeySource::Secret)));
        assert_eq!(explained.signature, Some(Ok(())));
        let claims = explained.claims.clone().unwrap();
        assert_eq!(claims.exp.value, Some(NOW - 3600));
        assert_eq!(claims.exp.verdict, Err(TokenError::Expired));
        assert_eq!(claims.iat.verdict, Ok(()));
        assert_eq!(claims.iss.value.as_deref(), Some("https://evil.example"));
        assert_eq!(claims.iss.verdict, Err(TokenError::Issuer));
        assert_eq!(claims.aud.verdict, Err(TokenError::Audience));
        assert_eq!(claims.sub.verdict, Ok(()));
        assert_eq!(
            explained.clone().signed_claims().map(|c| c.sub).as_deref(),
            Some("user-1"),
            "a genuine token's claims, though they fail their rules"
        );
        assert_eq!(
            explained.verdict(),
            Err(TokenError::Expired),
            "verify's first failure"
        );
    }

    #[test]
    fn explaining_a_token_with_a_bad_signature_still_reads_its_claims() {
        let token = forge::hs256(
            &header(),
            &claims(),
            b"another-secret-that-is-also-long-enough",
        );
        let explained = explain(&token);
        assert_eq!(explained.signature, Some(Err(TokenError::Signature)));
        let claims = explained.claims.clone().unwrap();
        assert_eq!(claims.verdict(), Ok(()));
        assert_eq!(claims.stated().unwrap().sub, "user-1");
        assert_eq!(
            explained.clone().signed_claims(),
            None,
            "a forged token's claims are never taken for signed ones"
        );
        assert_eq!(explained.verdict(), Err(TokenError::Signature));
    }

    #[test]
    fn explaining_a_header_that_leads_to_no_key_says_why_and_checks_no_signature() {
        let token = forge::hs256(&json!({"alg": "HS512"}), &claims(), SECRET);
        let explained = explain(&token);
        assert_eq!(explained.key, Err(TokenError::Algorithm));
        assert_eq!(explained.signature, None);
        assert!(explained.claims.is_ok());
    }

    #[test]
    fn only_a_token_that_is_not_a_jwt_has_no_explanation() {
        for garbage in ["", "garbage", "a.b", &"x".repeat(MAX_TOKEN_LEN + 1)] {
            assert_eq!(
                keys().explain_at(garbage, NOW).map(drop),
                Err(TokenError::Malformed),
                "{garbage:.20}"
            );
        }
        let explained = explain("!!!.%%%.sig");
        assert_eq!(explained.key, Err(TokenError::Malformed));
        assert_eq!(explained.claims.map(drop), Err(TokenError::Malformed));
    }

    #[test]
    fn an_api_token_lives_its_own_lifetime_but_never_past_its_session() {
        let keys = keys();
        let month = 30 * 86_400;
        let token = keys.issue_lasting_at(&subject(), month, NOW);
        assert_eq!(
            keys.verify_at(&token, NOW + month - 60).unwrap().exp,
            NOW + month
        );
        let session_ends = Subject {
            expires_by: NOW + 3600,
            ..subject()
        };
        let token = keys.issue_lasting_at(&session_ends, month, NOW);
        assert_eq!(keys.verify_at(&token, NOW).unwrap().exp, NOW + 3600);
    }

    #[test]
    fn the_secret_never_prints() {
        assert!(!format!("{:?}", keys().settings()).contains("a-test-secret"));
    }

    /// Whatever arrives as a token, verification answers without panicking, and accepts
    /// only what passes every check.
    mod properties {
        use super::*;
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                (NOW - 100..NOW + 100).prop_map(Value::from),
                any::<f64>().prop_map(|f| json!(f)),
                "\\PC{0,12}".prop_map(Value::from),
                prop_oneof![
                    Just("tasks-api"),
                    Just("http://localhost:3000"),
                    Just("HS256")
                ]
                .prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Valid claims with any of their members replaced by values of any shape.
        fn mangled_claims() -> impl Strategy<Value = Value> {
            let name = prop::sample::select(vec![
                "sub", "email", "name", "iat", "exp", "nbf", "iss", "aud", "jti", "sid", "x",
            ]);
            prop::collection::btree_map(name, any_json(), 0..5).prop_map(|changes| {
                let mut claims = claims();
                for (name, value) in changes {
                    claims[name] = value;
                }
                claims
            })
        }

        proptest! {
            #[test]
            fn arbitrary_text_is_refused(token in "\\PC{0,600}") {
                prop_assert!(verify(&token).is_err());
            }

            #[test]
            fn arbitrary_bytes_in_each_segment_are_refused(
                head in prop::collection::vec(any::<u8>(), 0..200),
                body in prop::collection::vec(any::<u8>(), 0..400),
                signature in prop::collection::vec(any::<u8>(), 0..64),
            ) {
                let token = [head, body, signature].map(|b| URL_SAFE_NO_PAD.encode(b)).join(".");
                prop_assert!(verify(&token).is_err());
            }

            #[test]
            fn signed_headers_of_any_shape_pass_only_when_they_name_hs256(header in any_json()) {
                let accepted = verify(&forge::hs256(&header, &claims(), SECRET)).is_ok();
                prop_assert!(!accepted || header["alg"] == "HS256", "{header}");
            }

            #[test]
            fn explaining_a_token_comes_to_what_verifying_it_does(
                header in prop_oneof![Just(header()), any_json()],
                claims in mangled_claims(),
            ) {
                let token = forge::hs256(&header, &claims, SECRET);
                let explained = keys().explain_at(&token, NOW).map(Explanation::verdict);
                prop_assert_eq!(explained.and_then(|verdict| verdict), verify(&token));
            }

            #[test]
            fn signed_claims_pass_only_when_every_check_does(claims in mangled_claims()) {
                if let Ok(verified) = verify(&signed(claims.clone())) {
                    prop_assert!(verified.exp > NOW - 30, "{claims}");
                    prop_assert!(verified.iat <= NOW + 30, "{claims}");
                    prop_assert!(claims.get("nbf").and_then(Value::as_i64).is_none_or(|nbf| nbf <= NOW + 30), "{claims}");
                    prop_assert_eq!(verified.iss.as_str(), "http://localhost:3000");
                    prop_assert!(verified.aud.contains_any(&["http://localhost:3000".into(), "tasks-api".into()]));
                    prop_assert_eq!(&json!(verified.sub), &claims["sub"]);
                }
            }
        }
    }
}
