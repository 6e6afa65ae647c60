//! Database helpers shared by the repositories: timestamps and ids stored portably.
//!
//! Schema decision: ids are UUID strings and times are RFC 3339 UTC text with a fixed
//! width, so they sort as text and mean the same on SQLite and PostgreSQL through
//! sqlx's `Any` driver (which has no portable date or UUID type).

pub use sqlx::AnyPool as Pool;

/// The current time as stored: RFC 3339, UTC, microseconds, fixed width (sent with
/// milliseconds: `wire_time`).
pub fn timestamp() -> String {
    timestamp_in(0)
}

/// A time `secs` seconds from now, in the stored form.
pub fn timestamp_in(secs: i64) -> String {
    format(chrono::Utc::now() + chrono::Duration::seconds(secs))
}

/// A stored time moved by `secs` seconds, in the stored form; `None` when `stored` is not
/// a stored time.
pub fn shifted(stored: &str, secs: i64) -> Option<String> {
    let time = chrono::DateTime::parse_from_rfc3339(stored).ok()?;
    Some(format(
        time.with_timezone(&chrono::Utc) + chrono::Duration::seconds(secs),
    ))
}

/// A time in the stored form.
pub fn format(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The current time in the stored form, or the first millisecond after `previous` when
/// the clock says otherwise (another process's clock, two changes in one millisecond):
/// a time that is always in a later millisecond than `previous`.
pub fn later_than(previous: &str) -> String {
    let now = chrono::Utc::now();
    let next = chrono::DateTime::parse_from_rfc3339(previous)
        .ok()
        .and_then(|t| chrono::DateTime::from_timestamp_millis(t.timestamp_millis() + 1))
        .map_or(now, |after| after.max(now));
    format(next)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether an error is a unique-constraint violation (a conflict, not a failure).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_shift_by_seconds_and_keep_their_width() {
        assert_eq!(
            shifted("2026-11-30T23:59:30.000001Z", 60).as_deref(),
            Some("2026-12-01T00:00:30.000001Z")
        );
        assert_eq!(timestamp().len(), "2026-12-01T00:00:30.000001Z".len());
        assert_eq!(shifted("yesterday", 60), None);
    }

    #[test]
    fn a_later_time_is_in_a_later_millisecond_whatever_the_clock_says() {
        assert_eq!(
            later_than("2999-01-01T00:00:00.123456Z"),
            "2999-01-01T00:00:00.124000Z"
        );
        let now = timestamp();
        let (now_ms, later) = (&now[..23], later_than(&now));
        assert!(
            later[..23] > *now_ms,
            "{later} is a later millisecond than {now}"
        );
        assert!(later_than("2000-01-01T00:00:00.000000Z") >= timestamp_in(-1));
        assert!(later_than("not a time") >= timestamp_in(-1));
    }
}
