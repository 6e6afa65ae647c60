//! API tokens for scripts: the lifetimes they may have, and what the account page's
//! "Use the API" section shows. Issued by `service::api_tokens::issue_api_token`, for
//! `server token mint` and the page alike.

use serde::{Deserialize, Serialize};

/// The shortest an API token may live.
pub const MIN_LIFETIME_SECS: i64 = 60;

/// The lifetimes the account page offers (those up to the site's maximum).
pub const OFFERED_LIFETIMES: [i64; 4] = [3600, 86_400, 7 * 86_400, 30 * 86_400];

/// How long an API token (and the session that carries it) lives: a minute at least, and
/// at most the site's maximum, `SESSION_MAX_AGE`: a token that outlives every session
/// would be a sign-in that never has to happen again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenLifetime(i64);

impl ApiTokenLifetime {
    pub fn parse(secs: i64, max_secs: i64) -> Result<Self, String> {
        if secs < MIN_LIFETIME_SECS {
            return Err(format!(
                "An API token lives at least {}",
                in_words(MIN_LIFETIME_SECS)
            ));
        }
        if secs > max_secs {
            return Err(format!(
                "An API token lives at most {} on this site (SESSION_MAX_AGE)",
                in_words(max_secs)
            ));
        }
        Ok(Self(secs))
    }

    /// This lifetime, cut short to `secs` when that is shorter (the sign-in it is issued
    /// from ends sooner); `None` when `secs` is shorter than the shortest lifetime.
    pub fn within(self, secs: i64) -> Option<Self> {
        (secs >= MIN_LIFETIME_SECS).then(|| Self(self.0.min(secs)))
    }

    pub fn secs(self) -> i64 {
        self.0
    }
}

/// What the "Use the API" section needs from the server: where people reach the site (for
/// the curl lines), who is signed in, and the longest token it may issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiAccess {
    pub origin: String,
    pub email: String,
    pub max_lifetime_secs: i64,
}

/// A token just issued: shown once, never stored, and never printed (`Debug` leaves it
/// out, as it does the secret and passwords).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedApiToken {
    pub token: String,
    pub scope: String,
    /// When it expires, RFC 3339.
    pub expires_at: String,
}

impl std::fmt::Debug for IssuedApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedApiToken")
            .field("token", &format_args!("<redacted>"))
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A span of time as people say it, in the largest unit it holds a whole one of
/// (rounded down): `14 minutes`, `3 hours`, `30 days`.
pub fn in_words(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let (unit, name) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(unit, _)| secs >= *unit)
        .unwrap_or((1, "second"));
    let count = secs / unit;
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {name}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_is_a_minute_at_least_and_the_sites_maximum_at_most() {
        let thirty_days = 30 * 86_400;
        assert_eq!(
            ApiTokenLifetime::parse(3600, thirty_days).unwrap().secs(),
            3600
        );
        assert!(ApiTokenLifetime::parse(thirty_days, thirty_days).is_ok());
        let too_long = ApiTokenLifetime::parse(thirty_days + 1, thirty_days).unwrap_err();
        assert_eq!(
            too_long,
            "An API token lives at most 30 days on this site (SESSION_MAX_AGE)"
        );
        assert!(ApiTokenLifetime::parse(59, thirty_days).is_err());
        assert!(ApiTokenLifetime::parse(-3600, thirty_days).is_err());
    }

    #[test]
    fn a_lifetime_is_cut_short_to_what_is_left_but_never_below_a_minute() {
        let day = ApiTokenLifetime::parse(86_400, 30 * 86_400).unwrap();
        assert_eq!(day.within(3600).map(ApiTokenLifetime::secs), Some(3600));
        assert_eq!(
            day.within(7 * 86_400).map(ApiTokenLifetime::secs),
            Some(86_400)
        );
        assert_eq!(day.within(MIN_LIFETIME_SECS - 1), None);
        assert_eq!(day.within(-5), None);
    }

    #[test]
    fn every_offered_lifetime_fits_the_default_maximum() {
        for secs in OFFERED_LIFETIMES {
            assert!(ApiTokenLifetime::parse(secs, 30 * 86_400).is_ok(), "{secs}");
        }
    }

    #[test]
    fn an_issued_token_does_not_print() {
        let issued = IssuedApiToken {
            token: "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl".to_owned(),
            scope: "tasks:read".to_owned(),
            expires_at: "2026-12-01T17:05:00.000000Z".to_owned(),
        };
        let printed = format!("{issued:?}");
        assert!(!printed.contains("eyJ"), "{printed}");
        assert!(printed.contains("<redacted>") && printed.contains("tasks:read"));
    }

    #[test]
    fn spans_are_said_in_the_largest_unit_that_fits() {
        assert_eq!(in_words(1), "1 second");
        assert_eq!(in_words(45), "45 seconds");
        assert_eq!(in_words(14 * 60 + 10), "14 minutes");
        assert_eq!(in_words(-3 * 3600), "3 hours");
        assert_eq!(in_words(3600), "1 hour");
        assert_eq!(in_words(90 * 60), "1 hour");
        assert_eq!(in_words(86_400), "1 day");
        assert_eq!(in_words(7 * 86_400), "7 days");
    }
}
