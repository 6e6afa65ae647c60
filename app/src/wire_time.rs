//! Times as the API sends them: RFC 3339 with milliseconds (`2026-12-01T10:00:00.123Z`),
//! as JavaScript's `toISOString()` writes them and Better Auth's client reads them. Its
//! date parser takes any fraction for milliseconds, so the six digits stored here put a
//! date minutes off. Stored times keep their microseconds, so rows made within one
//! millisecond keep their order.

use std::borrow::Cow;

/// `serialize_with` for a stored time.
pub fn millis<S: serde::Serializer>(stored: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&to_millis(stored))
}

/// `…SS.ffffffZ` as `…SS.fffZ`; anything else as it is.
pub fn to_millis(stored: &str) -> Cow<'_, str> {
    let digits = stored
        .strip_suffix('Z')
        .and_then(|rest| rest.rsplit_once('.'))
        .filter(|(_, fraction)| fraction.len() > 3 && fraction.bytes().all(|b| b.is_ascii_digit()));
    match digits {
        Some((seconds, fraction)) => Cow::Owned(format!("{seconds}.{}Z", &fraction[..3])),
        None => Cow::Borrowed(stored),
    }
}

/// A time, stored or sent (RFC 3339), as Unix milliseconds: what compares a token's
/// `updatedAt` with a stored time, whichever precision each has.
#[cfg(feature = "ssr")]
pub fn unix_millis(time: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::to_millis;

    #[cfg(feature = "ssr")]
    #[test]
    fn sent_and_stored_times_of_one_millisecond_compare_equal() {
        use super::unix_millis;
        assert_eq!(
            unix_millis("2026-12-01T10:00:00.123456Z"),
            unix_millis("2026-12-01T10:00:00.123Z")
        );
        assert_eq!(unix_millis("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(unix_millis("yesterday"), None);
    }

    #[test]
    fn stored_microseconds_are_sent_as_milliseconds() {
        assert_eq!(
            to_millis("2026-12-01T10:00:00.123456Z"),
            "2026-12-01T10:00:00.123Z"
        );
        for unchanged in ["2026-12-01T10:00:00.123Z", "2026-12-01T10:00:00Z", "soon"] {
            assert_eq!(to_millis(unchanged), unchanged);
        }
    }
}
