//! The token settings: the secret (or, in development, one made once and kept), the
//! algorithm, issuer, audience, lifetimes, key rotation and a trusted issuer's JWKS.

use super::{
    vars::{is_loopback, origin_of, Vars, DURATION_FORM},
    Mode,
};
use crate::database::Database;
use anyhow::{bail, Context};
use app::{
    auth::token::{parse_algorithm, Secret, TokenSettings},
    private_files::{private_dir, write_private},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use std::path::{Path, PathBuf};

/// The token settings. The issuer and audience default to `site_url`; API tokens live at
/// most `session_max_age_secs`.
pub fn read(
    vars: &Vars,
    site_url: &str,
    database: &Database,
    mode: Mode,
    session_max_age_secs: i64,
) -> anyhow::Result<TokenSettings> {
    let issuer = vars
        .get("JWT_ISSUER")
        .unwrap_or_else(|| site_url.to_owned());
    let audience = match vars.get("JWT_AUDIENCE") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![issuer.clone()],
    };
    let secret = match (vars.get("JWT_SECRET_KEY"), vars.get("BETTER_AUTH_SECRET")) {
        (Some(a), Some(b)) if a != b => bail!(
            "JWT_SECRET_KEY and BETTER_AUTH_SECRET are both set and differ: \
             set one of them, or both to the same value"
        ),
        (Some(secret), _) | (None, Some(secret)) => Secret::new(secret.into_bytes())
            .map_err(|e| anyhow::anyhow!("{e}: set JWT_SECRET_KEY to a random value of at least 32 bytes, e.g. `openssl rand -base64 48`"))?,
        (None, None) if mode == Mode::Development => development_secret(database)?,
        (None, None) => bail!(
            "no JWT secret: set JWT_SECRET_KEY (or BETTER_AUTH_SECRET) to a random value of \
             at least 32 bytes, e.g. `openssl rand -base64 48`"
        ),
    };
    let algorithm = parse_algorithm(&vars.get("JWT_ALGORITHM").unwrap_or_else(|| "HS256".into()))
        .map_err(anyhow::Error::msg)?;
    let leeway_secs = vars.parsed(
        "JWT_LEEWAY_SECONDS",
        30,
        |v| v.parse().ok().filter(|l| (0..=300).contains(l)),
        "a number of seconds from 0 to 300",
    )?;
    let lifetime_secs = vars.duration("JWT_EXPIRES_IN", 15 * 60)?;
    let key_rotation_secs = vars
        .get("JWT_KEY_ROTATION")
        .map(|v| {
            super::vars::parse_duration(&v)
                .with_context(|| format!("JWT_KEY_ROTATION={v} is not {DURATION_FORM}"))
        })
        .transpose()?;
    if key_rotation_secs.is_some() && !app::auth::signing_keys::is_asymmetric(algorithm) {
        bail!(
            "JWT_KEY_ROTATION rotates key pairs, and JWT_ALGORITHM={algorithm:?} signs with \
             the shared secret: set JWT_ALGORITHM=EdDSA (or ES256, RS256), or unset it"
        );
    }
    let key_grace_secs = vars.duration("JWT_KEY_GRACE_PERIOD", 24 * 3600)?;
    let jwks_url = vars
        .get("JWT_JWKS_URL")
        .map(|url| {
            let origin = origin_of("JWT_JWKS_URL", &url)?;
            if origin.starts_with("http://") && !is_loopback(&origin) {
                bail!(
                    "JWT_JWKS_URL={url}: whoever can change a JWKS fetched over plain \
                     http can sign tokens for anyone; use https"
                );
            }
            Ok(url)
        })
        .transpose()?;
    Ok(TokenSettings {
        secret,
        algorithm,
        issuer,
        audience,
        lifetime_secs,
        // API tokens live as long as a session may: one that should outlive that is a
        // sign-in it never had.
        api_token_max_secs: session_max_age_secs,
        leeway_secs,
        key_rotation_secs,
        key_grace_secs,
        jwks_url,
    })
}

/// In development with no secret configured: a strong random secret, made once and kept
/// beside the SQLite file so sessions survive restarts.
fn development_secret(database: &Database) -> anyhow::Result<Secret> {
    let dir = database
        .backend
        .data_dir()
        .map(Path::to_path_buf)
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("data"));
    let file = dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        if let Ok(secret) = Secret::new(existing.trim().as_bytes().to_vec()) {
            tracing::info!(path = %file.display(), "using the development JWT secret");
            return Ok(secret);
        }
    }
    // Most often the database's directory, made here before the database is opened.
    private_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    write_private(&file, &secret).with_context(|| format!("cannot write {}", file.display()))?;
    tracing::warn!(
        path = %file.display(),
        "no JWT_SECRET_KEY set: generated a development secret; set JWT_SECRET_KEY in production"
    );
    Secret::new(secret.into_bytes()).map_err(anyhow::Error::msg)
}
