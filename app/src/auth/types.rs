//! Account input parsed into types that cannot hold bad values, and the user as clients see it.
//!
//! These compile to wasm too, so the forms check input with the same rules as the server.

use crate::error::{at_most_chars, AppError, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};

/// A syntactically plausible email address in one canonical spelling: trimmed, in
/// Unicode NFC, lower-cased, with the domain in its IDNA (UTS 46) form.
///
/// Two addresses a person cannot tell apart must be one account: the composed and the
/// decomposed `é`, `EXAMPLE.com` and `example.com`, `bücher.example` and its punycode
/// `xn--bcher-kva.example`. Control and format characters (NUL, ESC, the right-to-left
/// override, zero-width spaces), private-use and unassigned code points are refused:
/// they make look-alike addresses, and PostgreSQL cannot store a NUL at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        use unicode_normalization::UnicodeNormalization;
        use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
        let invalid =
            || FieldError::body("email", "Enter a valid email address").with_code("INVALID_EMAIL");
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(
                FieldError::body("email", "Enter your email address").with_code("INVALID_EMAIL")
            );
        }
        let hidden = |c: char| {
            c.is_whitespace() || c.general_category_group() == GeneralCategoryGroup::Other
        };
        if trimmed.chars().any(hidden) {
            return Err(FieldError::body(
                "email",
                "Email addresses cannot contain spaces, control or invisible characters",
            )
            .with_code("INVALID_EMAIL"));
        }
        let email: String = trimmed.nfc().collect::<String>().to_lowercase();
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid());
        }
        // A dot-atom only: a quoted or escaped local part (`"ada"@…`, `a\da@…`) is
        // delivered to the unquoted mailbox, so it would be a second account, and a
        // second limit on mail, for the same person.
        let special = |c: char| {
            matches!(
                c,
                '"' | '\\' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '@' | '[' | ']'
            )
        };
        if local.chars().any(special)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err(invalid());
        }
        let ascii = idna::domain_to_ascii_strict(domain).map_err(|_| invalid())?;
        let (domain, checked) = idna::domain_to_unicode(&ascii);
        if checked.is_err() || !domain.contains('.') || domain.contains('@') {
            return Err(invalid());
        }
        let email = format!("{local}@{domain}");
        if email.len() > Self::MAX_LEN {
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
            )
            .with_code("PASSWORD_TOO_SHORT"));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::body(
                "password",
                format!("Use at most {} characters", Self::MAX_CHARS),
            )
            .with_code("PASSWORD_TOO_LONG"));
        }
        if is_common_password(raw) {
            return Err(FieldError::body(
                "password",
                "This is one of the most common passwords. Choose one that is harder to guess",
            )
            .with_code("PASSWORD_COMPROMISED"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password typed to prove who someone is (signing in, or before a change to the
    /// account): only its presence is checked, since the rules apply when it is chosen.
    pub fn presented(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            Err(FieldError::body(field, "Enter your password"))
        } else {
            Ok(Self(raw.to_owned()))
        }
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
        if name.chars().any(is_hidden_in_a_name) {
            return Err(FieldError::body(
                "name",
                "Names cannot contain control, invisible or text-direction characters",
            ));
        }
        at_most_chars("name", name, Self::MAX_CHARS, || {
            format!("Use at most {} characters", Self::MAX_CHARS)
        })?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a name may not hold: control characters, and the invisible ones (format,
/// private-use, unassigned), among them those that reorder how text is displayed
/// (embeddings, overrides, isolates): a name with them can show as someone else's on
/// the admin page. The zero-width joiner stays, which emoji sequences (👩‍💻) are made
/// with.
fn is_hidden_in_a_name(c: char) -> bool {
    use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
    c != '\u{200d}' && c.general_category_group() == GeneralCategoryGroup::Other
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
        let mut fields = FieldErrors::default();
        let (name, email, password) = (
            fields.check(name),
            fields.check(email),
            fields.check(password),
        );
        fields.finish(|| {
            Some(Self {
                name: name?,
                email: email?,
                password: password?,
            })
        })
    }
}

/// Sign-in credentials. The email must look like one (so nothing else typed there, such
/// as a password, is ever recorded); the password is only checked for presence: a wrong
/// password must not be told apart from a malformed one, so its rules apply at sign-up.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub email: Email,
    pub password: Password,
}

impl Credentials {
    pub fn parse(email: &str, password: &str) -> Result<Self, AppError> {
        let email = Email::parse(email);
        let password = Password::presented("password", password);
        let mut fields = FieldErrors::default();
        let (email, password) = (fields.check(email), fields.check(password));
        fields.finish(|| {
            Some(Self {
                email: email?,
                password: password?,
            })
        })
    }
}

/// The user as every client sees it (Better Auth's `user` shape, with the admin
/// plugin's `role`, `banned` and `banReason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::FromRow))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[cfg_attr(feature = "ssr", schema(format = Email))]
    pub email: String,
    pub name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Flag"))]
    pub email_verified: bool,
    pub image: Option<String>,
    #[serde(serialize_with = "crate::wire_time::millis")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub created_at: String,
    #[serde(serialize_with = "crate::wire_time::millis")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub updated_at: String,
    pub role: Role,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Flag"))]
    pub banned: bool,
    pub ban_reason: Option<String>,
    /// Whether signing in asks for a second factor (Better Auth's `twoFactorEnabled`).
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Flag"))]
    #[serde(default)]
    pub two_factor_enabled: bool,
}

/// The signed-in person as the pages know them: the header shows the name and, for
/// admins, the admin link; the task page keys drafts by the id; an unverified address
/// gets a banner. Only these, so the
/// browser bundle carries no code for the whole `User`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// For the banner that asks to verify it, and the account page's change of address.
    pub email: String,
    pub email_verified: bool,
}

/// Where a user's second factors stand, as the account page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactors {
    /// Whether signing in asks for a code.
    pub enabled: bool,
    /// Backup codes not used yet.
    pub backup_codes_left: i64,
    /// Browsers trusted to skip the code, newest first.
    pub trusted_devices: Vec<TrustedDeviceInfo>,
}

/// A browser trusted to skip the second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedDeviceInfo {
    pub id: String,
    pub user_agent: Option<String>,
    pub created_at: String,
    pub expires_at: String,
}

/// What turning second factors on shows, once: the secret for the authenticator app, as
/// the `otpauth://` URI a QR code holds and as text to type, and the backup codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    pub uri: String,
    /// The URI as a QR code, an SVG document the server drew.
    pub qr_svg: String,
    pub secret: String,
    pub backup_codes: Vec<String>,
}

/// One of a user's sessions, as the account page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    /// Whether this is the session of the browser asking.
    pub current: bool,
    /// Whether it is an API token's session rather than a browser's or a client's: the
    /// page lists those under "Use the API".
    pub api_token: bool,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    #[serde(serialize_with = "crate::wire_time::millis")]
    pub created_at: String,
    #[serde(serialize_with = "crate::wire_time::millis")]
    pub last_used_at: String,
    #[serde(serialize_with = "crate::wire_time::millis")]
    pub expires_at: String,
}

/// What an emailed verification, approval or change-of-address link will do once its
/// page is confirmed, as the page says it before the button: found without using the
/// link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailLink {
    /// Verifies `email`, the account's address.
    Verify { email: String },
    /// Approves moving the account from `from` to `to`, which then gets a link of its own.
    ApproveMove { from: String, to: String },
    /// Moves the account to `to`. The account's current address is not said: the link
    /// went to `to`, whose reader may not be the account's owner (a mistyped address).
    Move { to: String },
    /// Cannot be used: Better Auth's `INVALID_TOKEN` or `TOKEN_EXPIRED`.
    Refused { code: String },
}

/// What a user may do: everyone is a `user`; an `admin` also manages users.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        raw.trim()
            .parse()
            .map_err(|_| FieldError::body("role", "Use \"user\" or \"admin\""))
    }

    pub fn as_str(self) -> &'static str {
        self.into()
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
    fn quoted_or_escaped_local_parts_are_refused_since_they_reach_the_plain_mailbox() {
        for bad in [
            "\"ada\"@example.com",
            "a\\da@example.com",
            "\"a@b\"@example.com",
            "ada(comment)@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse("ada.lovelace+tasks@example.com").is_ok());
    }

    #[test]
    fn emails_that_look_the_same_are_the_same_address() {
        let composed = Email::parse("jos\u{e9}@example.com").unwrap();
        let decomposed = Email::parse("jose\u{301}@example.com").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_str(), "jos\u{e9}@example.com");
        assert_eq!(
            Email::parse("ada@XN--BCHER-KVA.example").unwrap(),
            Email::parse("ada@B\u{dc}CHER.example").unwrap(),
            "the punycode and the Unicode spelling of a domain are one domain"
        );
        assert_eq!(
            Email::parse("ada@xn--bcher-kva.example").unwrap().as_str(),
            "ada@b\u{fc}cher.example"
        );
    }

    #[test]
    fn emails_with_control_or_invisible_characters_are_refused() {
        for bad in [
            "ada\0@example.com",
            "ada\u{1b}[31m@example.com",
            "ada\u{202e}moc@example.com",
            "ad\u{200b}a@example.com",
            "ada@exam\u{feff}ple.com",
            "ada\u{e000}@example.com",
            "ada@example.com\u{2028}x",
        ] {
            let error = Email::parse(bad).unwrap_err();
            assert_eq!(error.field(), "email", "{bad:?}");
        }
    }

    #[test]
    fn a_domain_that_idna_refuses_is_refused() {
        assert!(Email::parse("ada@xn--a.example").is_err());
        assert!(Email::parse("ada@-example.com").is_err());
        assert!(Email::parse("ada@exa_mple.com").is_err());
    }

    #[test]
    fn names_with_control_characters_or_direction_overrides_are_refused() {
        assert!(UserName::parse("Ada\0").is_err());
        assert!(UserName::parse("Ada \u{202e}nimda").is_err());
        assert!(UserName::parse("Ada\u{2067}").is_err());
        assert_eq!(UserName::parse(" José ").unwrap().as_str(), "José");
    }

    #[test]
    fn names_with_invisible_characters_are_refused_but_emoji_sequences_are_kept() {
        for hidden in ["A\u{200b}da", "Ada\u{2060}", "\u{feff}Ada", "Ada\u{e000}"] {
            assert!(UserName::parse(hidden).is_err(), "{hidden:?} was accepted");
        }
        assert!(UserName::parse("Ada 👩\u{200d}💻").is_ok());
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
}
