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

#[cfg(test)]
mod tests {
    use super::to_millis;

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
