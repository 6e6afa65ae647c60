//! Why a token was refused: the one error every step of verifying names.

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
