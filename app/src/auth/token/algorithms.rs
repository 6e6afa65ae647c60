//! The algorithms: which `JWT_ALGORITHM` names, which a token's header may name, which are HMAC.

use jsonwebtoken::Algorithm;

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
pub(super) fn header_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "PS256" => Some(Algorithm::PS256),
        other => parse_algorithm(other).ok(),
    }
}

/// The HMAC algorithm `algorithm` names, if it names one.
pub(super) fn hmac_algorithm(algorithm: Algorithm) -> Option<ring::hmac::Algorithm> {
    match algorithm {
        Algorithm::HS256 => Some(ring::hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(ring::hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(ring::hmac::HMAC_SHA512),
        _ => None,
    }
}
