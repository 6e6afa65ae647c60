//! What time it is (`Clock`), and how a time is kept (`Timestamp`).
//!
//! Everything that decides by time reads it from the app's one `Clock`: token expiry,
//! sessions sliding and ending, refresh grace, rate-limit windows, links expiring, the
//! janitor. A test moves its own app's clock forward instead of sleeping. Three things
//! keep to the system's time on purpose: the audit log's `at` (when it really happened),
//! and the revocation set's freshness and the key-reload throttles, which measure real
//! polling and fetching.
//!
//! Schema decision: times are stored as RFC 3339 UTC text with a fixed width and
//! microseconds (`2026-12-01T10:00:00.123456Z`), so they sort as text and mean the same
//! on SQLite and PostgreSQL through sqlx's `Any` driver, which has no portable date type.
//! In the code they are `Timestamp`s: real times, compared and moved as times.

use sqlx::{
    any::AnyTypeInfo, encode::IsNull, error::BoxDynError, Any, Database, Decode, Encode, Type,
};
use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

type Utc = chrono::DateTime<chrono::Utc>;

/// The system's clock, plus however far this app's tests have moved it forward (in
/// production, never). Clones share the one reading.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<AtomicU64>,
}

impl Clock {
    /// Now, to the microsecond (as stored, so a time compares equal to itself read back).
    pub fn now(&self) -> Timestamp {
        use chrono::SubsecRound;
        Timestamp(chrono::Utc::now().trunc_subsecs(6)).plus(self.ahead())
    }

    /// Now in Unix seconds, as JWT times are.
    pub fn unix_secs(&self) -> i64 {
        self.now().unix_secs()
    }

    /// Now on the monotonic clock, for windows that must not move when the system
    /// clock is set.
    pub fn instant(&self) -> Instant {
        Instant::now()
            .checked_add(self.ahead())
            .expect("a clock moved no further than an Instant reaches")
    }

    /// Moves this clock, and every clone of it, `by` forward: how a test lets time pass.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let moved = |ahead: u64| Some(ahead.saturating_add(ms));
        let _ = self
            .ahead_ms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, moved);
    }

    fn ahead(&self) -> Duration {
        Duration::from_millis(self.ahead_ms.load(Ordering::Acquire))
    }
}

/// A point in time, to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(Utc);

impl Timestamp {
    /// The Unix epoch: before every time this app has stored.
    pub const EPOCH: Self = Self(Utc::UNIX_EPOCH);

    /// The first and last times that keep the stored form's width (years 0000 to 9999),
    /// where arithmetic stops and parsing ends.
    const FIRST: Self = Self::micros(-62_167_219_200_000_000);
    pub const LAST: Self = Self::micros(253_402_300_799_999_999);

    const fn micros(micros: i64) -> Self {
        match Utc::from_timestamp_micros(micros) {
            Some(time) => Self(time),
            None => panic!("a time chrono can hold"),
        }
    }

    /// A stored or sent time (any RFC 3339, from `FIRST` to `LAST`); `None` when `text`
    /// is not one.
    pub fn parse(text: &str) -> Option<Self> {
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| Self(time.with_timezone(&chrono::Utc)))
            .filter(|time| (Self::FIRST..=Self::LAST).contains(time))
    }

    /// A time in Unix microseconds, from `FIRST` to `LAST`.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        chrono::DateTime::from_timestamp_micros(micros)
            .map(Self)
            .filter(|time| (Self::FIRST..=Self::LAST).contains(time))
    }

    /// `secs` seconds later (earlier when negative), within `FIRST` and `LAST`.
    pub fn plus_secs(self, secs: i64) -> Self {
        chrono::TimeDelta::try_seconds(secs)
            .and_then(|delta| self.0.checked_add_signed(delta))
            .map_or(if secs < 0 { Self::FIRST } else { Self::LAST }, Self)
            .clamp(Self::FIRST, Self::LAST)
    }

    /// `by` later, at most `LAST`.
    pub fn plus(self, by: Duration) -> Self {
        chrono::TimeDelta::from_std(by)
            .ok()
            .and_then(|delta| self.0.checked_add_signed(delta))
            .map_or(Self::LAST, Self)
            .min(Self::LAST)
    }

    pub fn unix_secs(self) -> i64 {
        self.0.timestamp()
    }

    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Whole seconds from `self` until `later` (negative when it is earlier).
    pub fn secs_until(self, later: Self) -> i64 {
        (later.0 - self.0).num_seconds()
    }

    /// How long from `self` until `later`; zero when it is not later.
    pub fn until(self, later: Self) -> Duration {
        (later.0 - self.0).to_std().unwrap_or_default()
    }

    /// This time, or the first millisecond after `previous` when this is not in a later
    /// millisecond than it (another process's clock, two changes in one millisecond).
    pub fn after(self, previous: Self) -> Self {
        chrono::DateTime::from_timestamp_millis(previous.unix_millis() + 1)
            .map_or(self, |next| self.max(Self(next)))
            .min(Self::LAST)
    }

    /// As the API sends times: RFC 3339 with milliseconds (`wire_time`).
    pub fn to_wire(self) -> String {
        crate::wire_time::to_millis(&self.to_string()).into_owned()
    }
}

/// The stored form.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_wire())
    }
}

impl Type<Any> for Timestamp {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl<'q> Encode<'q, Any> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Any>>::encode(self.to_string(), buf)
    }
}

impl<'r> Decode<'r, Any> for Timestamp {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<'r, Any>>::decode(value)?;
        Self::parse(&text).ok_or_else(|| format!("not a stored time: {text:?}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_time_is_stored_with_microseconds_at_a_fixed_width_and_sent_with_milliseconds() {
        let time = at("2026-12-01T10:00:00.123456Z");
        assert_eq!(time.to_string(), "2026-12-01T10:00:00.123456Z");
        assert_eq!(time.to_wire(), "2026-12-01T10:00:00.123Z");
        assert_eq!(
            at("2026-12-01T10:00:00Z").to_string(),
            "2026-12-01T10:00:00.000000Z"
        );
        assert_eq!(Timestamp::parse("yesterday"), None);
        for beyond in ["9999-12-31T23:59:59-01:00", "0000-01-01T00:30:00+01:00"] {
            assert_eq!(
                Timestamp::parse(beyond),
                None,
                "{beyond} is outside years 0000-9999"
            );
        }
    }

    #[test]
    fn times_move_by_seconds_and_stop_at_the_ends_of_time() {
        let time = at("2026-11-30T23:59:30.000001Z");
        assert_eq!(time.plus_secs(60), at("2026-12-01T00:00:30.000001Z"));
        assert_eq!(time.secs_until(time.plus_secs(-90)), -90);
        assert_eq!(
            time.until(time.plus(Duration::from_millis(1500))),
            Duration::from_millis(1500)
        );
        assert_eq!(time.until(time.plus_secs(-1)), Duration::ZERO);
        for end in [
            time.plus_secs(i64::MIN),
            time.plus_secs(i64::MAX),
            time.plus(Duration::MAX),
        ] {
            assert_eq!(Timestamp::parse(&end.to_string()), Some(end), "{end}");
        }
        assert_eq!(time.plus_secs(i64::MAX), Timestamp::LAST);
        assert_eq!(
            time.plus_secs(i64::MIN).to_string(),
            "0000-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn a_later_time_is_in_a_later_millisecond_whatever_the_clock_says() {
        let previous = at("2999-01-01T00:00:00.123456Z");
        let now = at("2026-12-01T00:00:00Z");
        assert_eq!(now.after(previous), at("2999-01-01T00:00:00.124Z"));
        assert_eq!(previous.after(now), previous);
    }

    #[test]
    fn an_unmoved_clock_reads_the_systems_time_to_the_microsecond() {
        let (before, now, after) = (
            chrono::Utc::now(),
            Clock::default().now(),
            chrono::Utc::now(),
        );
        assert!(before.timestamp_micros() <= now.0.timestamp_micros() && now.0 <= after);
        assert_eq!(
            Timestamp::parse(&now.to_string()),
            Some(now),
            "stored and read back"
        );
    }

    #[test]
    fn a_moved_clock_moves_every_clone_and_both_of_its_readings() {
        let clock = Clock::default();
        let (before, before_instant) = (clock.now(), clock.instant());
        clock.clone().advance(Duration::from_secs(3600));
        assert!(before.secs_until(clock.now()) >= 3600);
        assert!(clock.instant() - before_instant >= Duration::from_secs(3600));
    }
}
