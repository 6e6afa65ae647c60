//! Who is asking: the client's address and user agent, one extractor for auth, audit and
//! admin alike.
//!
//! The address is the TCP peer, unless the peer is one of `TRUSTED_PROXIES`. Then the
//! proxy's `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For` header is believed,
//! read from the right: each trusted proxy appends the address it was called from, so
//! the first hop from the right that is not a trusted proxy is the client. Everything
//! left of it was written by the client and could say anything. A header from any other
//! peer is ignored, since anybody can send one. Without the setting, behind a load
//! balancer every client would be the balancer, and one client's rate limit everyone's.

use crate::state::AppState;
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts, HeaderMap},
};
use ipnet::IpNet;
use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
};

/// Where a request came from, recorded on sessions and in the audit log, and counted by
/// the rate limits.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The client of a request whose headers and extensions are `parts`.
    pub fn of(parts: &Parts, trusted: &TrustedProxies) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Self {
            ip_address: peer.map(|peer| trusted.client_address(peer, &parts.headers).to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(512).collect()),
        }
    }

    pub fn address(&self) -> Option<&str> {
        self.ip_address.as_deref()
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self::of(parts, &state.site.trusted_proxies))
    }
}

/// The proxies whose forwarding headers are believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of addresses (`10.0.0.5`) and networks (`10.0.0.0/8`).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is neither an address nor a network"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted, else the right-most
    /// forwarded hop that is not. A hop that is not an address (`unknown`, an obfuscated
    /// name) ends the walk: the client is then the last proxy that could be named.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_hops(headers).iter().rev() {
            match hop {
                Some(address) => {
                    client = canonical(*address);
                    if !self.trusts(client) {
                        break;
                    }
                }
                None => break,
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (what a dual-stack socket reports) as plain IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops of `Forwarded`'s `for=` parameters or, without that header,
/// `X-Forwarded-For`, left to right; `None` for one that is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: header::HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|hop| hop.trim().to_owned())
            .filter(|hop| !hop.is_empty())
            .collect()
    };
    let forwarded = values(header::FORWARDED);
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| node_address(value.trim().trim_matches('"')))
            })
            .collect();
    }
    values(header::HeaderName::from_static("x-forwarded-for"))
        .iter()
        .map(|hop| node_address(hop))
        .collect()
}

/// An address written as `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1` or
/// `[2001:db8::1]:8080`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split_once(']')?.0.parse().ok();
    }
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.5";

    fn behind_proxy(pairs: &[(&'static str, &str)]) -> IpAddr {
        TrustedProxies::parse("10.0.0.0/24, 2001:db8:ffff::1")
            .unwrap()
            .client_address(ip(PROXY), &headers(pairs))
    }

    #[test]
    fn a_forwarding_header_from_an_untrusted_peer_is_ignored() {
        let trusted = TrustedProxies::parse("10.0.0.0/24").unwrap();
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            trusted.client_address(ip("198.51.100.7"), &spoofed),
            ip("198.51.100.7")
        );
        assert_eq!(
            TrustedProxies::default().client_address(ip(PROXY), &spoofed),
            ip(PROXY),
            "nobody is trusted unless configured"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        assert_eq!(
            behind_proxy(&[("x-forwarded-for", "203.0.113.9")]),
            ip("203.0.113.9")
        );
        assert_eq!(
            behind_proxy(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.7")]),
            ip("203.0.113.9"),
            "the client wrote 6.6.6.6 itself; 10.0.0.7 is another proxy of ours"
        );
        assert_eq!(behind_proxy(&[]), ip(PROXY), "no header: the proxy itself");
        assert_eq!(
            behind_proxy(&[("x-forwarded-for", "unknown, 10.0.0.7")]),
            ip("10.0.0.7")
        );
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_its_forms_are_read() {
        assert_eq!(
            behind_proxy(&[
                (
                    "forwarded",
                    r#"for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711""#
                ),
                ("x-forwarded-for", "6.6.6.6"),
            ]),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            behind_proxy(&[("forwarded", "for=192.0.2.43:8080")]),
            ip("192.0.2.43")
        );
        assert_eq!(behind_proxy(&[("forwarded", "for=_hidden")]), ip(PROXY));
    }

    #[test]
    fn ipv4_mapped_peers_are_matched_as_ipv4() {
        let trusted = TrustedProxies::parse("10.0.0.5").unwrap();
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            trusted.client_address(ip("::ffff:10.0.0.5"), &forwarded),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_setting_takes_addresses_and_networks() {
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        assert!(TrustedProxies::parse("10.0.0.0/8, ::1, 192.168.1.1").is_ok());
        let error = TrustedProxies::parse("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(error.contains("proxy.internal"), "{error}");
    }
}
