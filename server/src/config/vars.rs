//! Reading one variable: trimmed, empty as unset, parsed with a message that names the
//! variable, its value and the form it should take.

use anyhow::Context;
use app::auth::rate_limit::Limit;
use std::time::Duration;

pub const FLAG_FORM: &str = "true or false";
pub const DURATION_FORM: &str =
    "a duration: seconds, or a number with a unit (15m, 1h, 7d, 1h 30m)";
const LIMIT_FORM: &str = "a rate limit: use attempts/window, e.g. 10/1m";

/// The environment, or what a test puts in its place.
pub struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Vars<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    /// The variable's value, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The variable `name` parsed with `parse`, or `default` when unset; `form` says what
    /// a valid value looks like.
    pub fn parsed<T>(
        &self,
        name: &str,
        default: T,
        parse: impl Fn(&str) -> Option<T>,
        form: &str,
    ) -> anyhow::Result<T> {
        match self.get(name) {
            Some(v) => parse(&v).with_context(|| format!("{name}={v} is not {form}")),
            None => Ok(default),
        }
    }

    /// A duration in whole seconds (`parse_duration`).
    pub fn duration(&self, name: &str, default: i64) -> anyhow::Result<i64> {
        self.parsed(name, default, parse_duration, DURATION_FORM)
    }

    /// A duration as a `Duration` (`parse_duration`).
    pub fn seconds(&self, name: &str, default: Duration) -> anyhow::Result<Duration> {
        self.parsed(
            name,
            default,
            |v| Some(Duration::from_secs(parse_duration(v)?.try_into().ok()?)),
            DURATION_FORM,
        )
    }

    /// `true` or `false`.
    pub fn flag(&self, name: &str, default: bool) -> anyhow::Result<bool> {
        self.parsed(name, default, parse_flag, FLAG_FORM)
    }

    /// A rate limit (`parse_limit`).
    pub fn limit(&self, name: &str, default: Limit) -> anyhow::Result<Limit> {
        self.parsed(name, default, parse_limit, LIMIT_FORM)
    }
}

fn parse_flag(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses `10/1m` (ten attempts per minute) into a limit.
pub fn parse_limit(text: &str) -> Option<Limit> {
    let (attempts, window) = text.split_once('/')?;
    Some(Limit {
        attempts: attempts.trim().parse().ok().filter(|n| *n > 0)?,
        window: Duration::from_secs(parse_duration(window)?.try_into().ok()?),
    })
}

/// Parses a positive duration into whole seconds: bare seconds (`900`), or humantime's
/// forms (`90s`, `15m`, `1h`, `7d`, `2w`, `1h 30m`).
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let secs = match text.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => humantime::parse_duration(text).ok()?.as_secs(),
    };
    // Ten years at most: far past any sensible setting, and far from overflowing a clock.
    i64::try_from(secs)
        .ok()
        .filter(|secs| (1..=10 * 365 * 86_400).contains(secs))
}

/// `scheme://host[:port]` of a URL, which is what browsers send as `Origin`.
/// Normalised as browsers send it: lower-case host, no default port, no user-info.
pub fn origin_of(name: &str, url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .with_context(|| format!("{name}={url} is not an absolute http(s) URL"))?;
    Ok(parsed.origin().ascii_serialization())
}

/// Whether an origin is this machine: `localhost` or a loopback address.
pub fn is_loopback(origin: &str) -> bool {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|host| {
            host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        })
}
