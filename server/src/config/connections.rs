//! How long a client may take, and how many may be connected at once.

use super::vars::Vars;
use anyhow::{bail, Context};
use std::time::Duration;

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the start of a request (or of a kept-alive connection's wait for the next
    /// one) until its headers have arrived.
    pub header_read_timeout: Duration,
    /// A connection on which nothing has been read or written for this long is closed.
    pub idle_timeout: Duration,
    /// From a request's headers until its answer has started: 408 past it.
    pub request_timeout: Duration,
    /// Open connections at most; when reached, new ones wait in the kernel's queue.
    /// `None`: derived from the open-file limit at start.
    pub max_connections: Option<usize>,
    /// Open connections one client address may hold (trusted proxies excepted); more are
    /// closed at once.
    pub max_connections_per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: None,
            max_connections_per_client: 256,
        }
    }
}

impl ConnectionLimits {
    /// `HTTP_HEADER_READ_TIMEOUT`, `HTTP_IDLE_TIMEOUT`, `HTTP_REQUEST_TIMEOUT`,
    /// `MAX_CONNECTIONS` and `MAX_CONNECTIONS_PER_CLIENT`.
    pub fn read(vars: &Vars) -> anyhow::Result<Self> {
        let defaults = Self::default();
        let limits = Self {
            header_read_timeout: vars
                .seconds("HTTP_HEADER_READ_TIMEOUT", defaults.header_read_timeout)?,
            idle_timeout: vars.seconds("HTTP_IDLE_TIMEOUT", defaults.idle_timeout)?,
            request_timeout: vars.seconds("HTTP_REQUEST_TIMEOUT", defaults.request_timeout)?,
            max_connections: vars
                .get("MAX_CONNECTIONS")
                .map(|v| {
                    v.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| format!("MAX_CONNECTIONS={v} is not a positive number"))
                })
                .transpose()?,
            max_connections_per_client: vars.parsed(
                "MAX_CONNECTIONS_PER_CLIENT",
                defaults.max_connections_per_client,
                |v| v.parse().ok().filter(|n| *n > 0),
                "a positive number",
            )?,
        };
        if limits.request_timeout >= limits.idle_timeout {
            bail!(
                "HTTP_REQUEST_TIMEOUT must be shorter than HTTP_IDLE_TIMEOUT: a request still \
                 being worked on would be cut off as idle"
            );
        }
        Ok(limits)
    }
}
