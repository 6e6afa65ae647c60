//! What a token says: its claims, its scope, and who a new one is for.

use serde::{Deserialize, Serialize};

/// `aud` is a string or a list of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub(super) fn contains_any(&self, accepted: &[String]) -> bool {
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
    /// How the person signed in (RFC 8176): `pwd`, and `otp` and `mfa` once a second
    /// factor was given. Always issued; a token without it proves no second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
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
    /// How the session's person signed in: RFC 8176 values, space-separated.
    pub amr: &'a str,
    pub email_verified: bool,
    pub banned: bool,
    pub image: Option<&'a str>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
    /// Unix seconds the token's `exp` never passes: its session's expiry, so that no
    /// access token outlives the session it was issued for.
    pub expires_by: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::test_support::{claims, signed, verify, with};
    use serde_json::json;

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
}
