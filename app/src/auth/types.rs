//! Account input parsed into types that cannot hold bad values, and the user as clients see it.
//!
//! These compile to wasm too, so the forms check input with the same rules as the server.

use crate::error::{AppError, FieldError};
use serde::{Deserialize, Serialize};

/// A syntactically plausible email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let invalid = || FieldError::body("email", "Enter a valid email address");
        if email.is_empty() {
            return Err(FieldError::body("email", "Enter your email address"));
        }
        if email.len() > Self::MAX_LEN || email.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty() || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of acceptable length that is not one of the most common passwords.
/// Deliberately not `Serialize`, and `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// The 1,000 most common passwords of 8 characters or more, most common first, lower-cased.
/// Taken from the frequency list of leaked passwords that ships with zxcvbn 4.5.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

fn is_common_password(password: &str) -> bool {
    static COMMON: std::sync::LazyLock<std::collections::HashSet<&str>> =
        std::sync::LazyLock::new(|| COMMON_PASSWORDS.lines().collect());
    COMMON.contains(password.to_lowercase().as_str())
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::body(
                "password",
                format!("Use at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::body(
                "password",
                format!("Use at most {} characters", Self::MAX_CHARS),
            ));
        }
        if is_common_password(raw) {
            return Err(FieldError::body(
                "password",
                "This is one of the most common passwords. Choose one that is harder to guess",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A display name: trimmed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::body("name", "Enter your name"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::body(
                "name",
                format!("Use at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a sign-up form or request asks for, parsed field by field so every problem is reported.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: UserName,
    pub email: Email,
    pub password: Password,
}

impl Registration {
    pub fn parse(name: &str, email: &str, password: &str) -> Result<Self, AppError> {
        let (name, email, password) = (
            UserName::parse(name),
            Email::parse(email),
            Password::parse(password),
        );
        match (name, email, password) {
            (Ok(name), Ok(email), Ok(password)) => Ok(Self {
                name,
                email,
                password,
            }),
            (name, email, password) => Err(AppError::Validation(
                [name.err(), email.err(), password.err()]
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
        }
    }
}

/// Sign-in credentials. The email must look like one (so nothing else typed there, such
/// as a password, is ever recorded); the password is only checked for presence: a wrong
/// password must not be told apart from a malformed one, so its rules apply at sign-up.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub email: String,
    pub password: Password,
}

impl Credentials {
    pub fn parse(email: &str, password: &str) -> Result<Self, AppError> {
        let email = Email::parse(email);
        let password = if password.is_empty() {
            Err(FieldError::body("password", "Enter your password"))
        } else {
            Ok(Password(password.to_owned()))
        };
        match (email, password) {
            (Ok(email), Ok(password)) => Ok(Self {
                email: email.0,
                password,
            }),
            (email, password) => Err(AppError::Validation(
                [email.err(), password.err()]
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
        }
    }
}

/// The user as every client sees it (Better Auth's `user` shape, with the admin
/// plugin's `role`, `banned` and `banReason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub role: Role,
    pub banned: bool,
    pub ban_reason: Option<String>,
}

/// The signed-in person as the pages know them: the header shows the name and, for
/// admins, the admin link; the task page keys drafts by the id. Only these, so the
/// browser bundle carries no code for the whole `User`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// One of a user's sessions, as the account page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    /// Whether this is the session of the browser asking.
    pub current: bool,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
}

/// What a user may do: everyone is a `user`; an `admin` also manages users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "user" => Ok(Self::User),
            "admin" => Ok(Self::Admin),
            _ => Err(FieldError::body("role", "Use \"user\" or \"admin\"")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

/// Where to send the browser after signing in: only paths on this site, never `//host`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/tasks".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn email_without_at_or_domain_dot_is_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@.com",
            "a da@x.io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn password_must_be_between_8_and_128_characters() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(
            Password::parse(&"é".repeat(128)).is_ok(),
            "length counts characters, not bytes"
        );
    }

    #[test]
    fn the_most_common_passwords_are_refused_whatever_their_case() {
        for common in ["password", "12345678", "iloveyou", "Sunshine", "QWERTYUIOP"] {
            let error = Password::parse(common).unwrap_err();
            assert!(error.msg.contains("most common passwords"), "{common}");
        }
        assert!(Password::parse("violet tram at dusk").is_ok());
    }

    #[test]
    fn password_debug_output_hides_the_secret() {
        let password = Password::parse("hunter2hunter2").unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }

    #[test]
    fn sign_up_reports_every_bad_field_at_once() {
        let AppError::Validation(errors) = Registration::parse(" ", "nope", "1").unwrap_err()
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(FieldError::field).collect();
        assert_eq!(fields, ["name", "email", "password"]);
    }

    #[test]
    fn roles_are_user_or_admin() {
        assert_eq!(Role::parse("admin"), Ok(Role::Admin));
        assert_eq!(Role::parse(" user "), Ok(Role::User));
        assert!(Role::parse("root").is_err());
        assert_eq!(serde_json::to_value(Role::Admin).unwrap(), "admin");
    }

    #[test]
    fn next_accepts_local_paths_only() {
        assert_eq!(
            safe_next(Some("/tasks?completed=true")),
            "/tasks?completed=true"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/tasks");
        assert_eq!(safe_next(Some("https://evil.example")), "/tasks");
        assert_eq!(safe_next(Some("/\\evil.example")), "/tasks");
        assert_eq!(safe_next(None), "/tasks");
    }
}
