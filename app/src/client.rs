//! Who is asking: the client's address and user agent, one extractor for auth, audit and
//! admin alike.
//!
//! The address is the TCP peer, unless the peer is one of `TRUSTED_PROXIES`. Then the
//! one header the proxies write (`TRUSTED_PROXY_HEADER`: `X-Forwarded-For`, or RFC
//! 7239's `Forwarded`) is believed, read from the right: each trusted proxy appends the
//! address it was called from, so the first hop from the right that is not a trusted
//! proxy is the client. Everything left of it was written by the client and could say
//! anything, and so could the other header, which most proxies pass through untouched:
//! it is never read. A header from a peer that is not trusted is ignored. Without the
//! setting, behind a load balancer every client would be the balancer, and one client's
//! rate limit everyone's.

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{header, request::Parts, HeaderMap},
};
use ipnet::IpNet;
use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::Arc,
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

/// From any state that gives the trusted proxies (`FromRef`), as the app's does.
impl<S> FromRequestParts<S> for ClientInfo
where
    TrustedProxies: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        Ok(Self::of(parts, &TrustedProxies::from_ref(state)))
    }
}

/// The header trusted proxies name the client in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardingHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl ForwardingHeader {
    /// `x-forwarded-for` or `forwarded`, in any case.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("{other:?}: use X-Forwarded-For or Forwarded")),
        }
    }
}

/// The proxies whose forwarding header is believed (`TRUSTED_PROXIES`), and which header
/// that is (`TRUSTED_PROXY_HEADER`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// Shared, so that handing them to a request (`FromRef`) copies nothing.
    networks: Arc<[IpNet]>,
    header: ForwardingHeader,
}

impl TrustedProxies {
    /// A comma-separated list of proxies' addresses (`10.0.0.5`) and networks
    /// (`10.0.0.0/24`). A network must hold proxies only: a client inside one could name
    /// any address. So nothing wider than an IPv4 /8 or an IPv6 /32 is taken (`0.0.0.0/0`
    /// and `0.0.0.0/1` are mistakes, not proxies), and IPv4-mapped IPv6 entries are read
    /// as the IPv4 they name, as peers are.
    pub fn parse(list: &str, header: ForwardingHeader) -> Result<Self, String> {
        let networks = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let network = entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is neither an address nor a network"))?;
                let network = canonical_network(network);
                let widest = match network {
                    IpNet::V4(_) => MIN_PROXY_PREFIX_V4,
                    IpNet::V6(_) => MIN_PROXY_PREFIX_V6,
                };
                if network.prefix_len() < widest {
                    return Err(format!(
                        "{entry:?} trusts every address in a /{} (at most a /{widest} is \
                         taken), so anyone in it could name any client",
                        network.prefix_len()
                    ));
                }
                Ok(network)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks, header })
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|net| net.contains(&address))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted, else the right-most
    /// forwarded hop that is not. A hop that is not an address (`unknown`, an obfuscated
    /// name) ends the walk: the client is then the last proxy that could be named.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_hops(headers, self.header).iter().rev() {
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

/// The widest networks `TRUSTED_PROXIES` takes, by prefix length: an IPv4 /8, an IPv6
/// /32 (a whole /8 of IPv6 is a registry's share of the internet).
const MIN_PROXY_PREFIX_V4: u8 = 8;
const MIN_PROXY_PREFIX_V6: u8 = 32;

/// An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) as the IPv4 network it is
/// (`10.0.0.0/8`), so that it matches the peers `canonical` makes IPv4.
fn canonical_network(network: IpNet) -> IpNet {
    match network {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .network()
            .to_ipv4_mapped()
            .and_then(|v4| ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(network, IpNet::V4),
        other => other,
    }
}

/// IPv4-mapped IPv6 addresses (what a dual-stack socket reports) as plain IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops `header` names, left to right; `None` for one that is not an address.
fn forwarded_hops(headers: &HeaderMap, header: ForwardingHeader) -> Vec<Option<IpAddr>> {
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
    match header {
        ForwardingHeader::XForwardedFor => {
            values(header::HeaderName::from_static("x-forwarded-for"))
                .iter()
                .map(|hop| node_address(hop))
                .collect()
        }
        ForwardingHeader::Forwarded => values(header::FORWARDED)
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| node_address(value.trim().trim_matches('"')))
            })
            .collect(),
    }
}

/// What one client is counted as by the rate limits and the connection cap: an IPv4
/// address (IPv4-mapped IPv6 ones included), or the /56 an IPv6 address belongs to,
/// what providers commonly hand one subscriber (whose devices each get a /64).
pub fn counted_as(address: IpAddr) -> IpAddr {
    match canonical(address) {
        IpAddr::V6(v6) => {
            let masked = u128::from(v6) & (u128::MAX << (128 - 56));
            IpAddr::V6(masked.into())
        }
        v4 => v4,
    }
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
    use crate::testing::headers;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.5";

    fn trusting(list: &str, header: ForwardingHeader) -> TrustedProxies {
        TrustedProxies::parse(list, header).unwrap()
    }

    fn behind_proxy_writing(header: ForwardingHeader, pairs: &[(&'static str, &str)]) -> IpAddr {
        trusting("10.0.0.0/24, 2001:db8:ffff::1", header).client_address(ip(PROXY), &headers(pairs))
    }

    fn behind_proxy(pairs: &[(&'static str, &str)]) -> IpAddr {
        behind_proxy_writing(ForwardingHeader::XForwardedFor, pairs)
    }

    #[test]
    fn a_forwarding_header_from_an_untrusted_peer_is_ignored() {
        let trusted = trusting("10.0.0.0/24", ForwardingHeader::default());
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
    fn only_the_header_the_proxies_write_is_read() {
        assert_eq!(
            behind_proxy(&[
                ("forwarded", "for=6.6.6.6"),
                ("x-forwarded-for", "203.0.113.9")
            ]),
            ip("203.0.113.9")
        );
        assert_eq!(
            behind_proxy(&[("forwarded", "for=6.6.6.6")]),
            ip(PROXY),
            "a Forwarded header the client sent itself is not read"
        );
        assert_eq!(
            behind_proxy_writing(
                ForwardingHeader::Forwarded,
                &[
                    ("forwarded", "for=192.0.2.43"),
                    ("x-forwarded-for", "6.6.6.6")
                ]
            ),
            ip("192.0.2.43")
        );
    }

    #[test]
    fn forwarded_is_read_in_its_forms() {
        let forwarded = |value: &str| {
            behind_proxy_writing(ForwardingHeader::Forwarded, &[("forwarded", value)])
        };
        assert_eq!(
            forwarded(r#"for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711""#),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(forwarded("for=192.0.2.43:8080"), ip("192.0.2.43"));
        assert_eq!(forwarded("for=_hidden"), ip(PROXY));
        assert_eq!(forwarded("proto=https"), ip(PROXY));
    }

    #[test]
    fn ipv4_mapped_peers_are_matched_as_ipv4() {
        let trusted = trusting("10.0.0.5", ForwardingHeader::default());
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            trusted.client_address(ip("::ffff:10.0.0.5"), &forwarded),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn ipv4_mapped_entries_trust_the_ipv4_they_name() {
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        for entry in ["::ffff:10.0.0.0/104", "::ffff:10.0.0.5"] {
            let trusted = trusting(entry, ForwardingHeader::default());
            for peer in ["10.0.0.5", "::ffff:10.0.0.5"] {
                assert_eq!(
                    trusted.client_address(ip(peer), &forwarded),
                    ip("203.0.113.9"),
                    "{entry} trusts {peer}"
                );
            }
        }
        let mapped_too_wide =
            TrustedProxies::parse("::ffff:0.0.0.0/97", ForwardingHeader::default());
        assert!(mapped_too_wide.is_err(), "a /1 of IPv4, written mapped");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_56_block() {
        assert_eq!(counted_as(ip("2001:db8:1:2ab::1")), ip("2001:db8:1:200::"));
        assert_eq!(
            counted_as(ip("2001:db8:1:2:aaaa::1")),
            counted_as(ip("2001:db8:1:ff::2"))
        );
        assert_ne!(
            counted_as(ip("2001:db8:1:100::1")),
            counted_as(ip("2001:db8:1:200::1"))
        );
        assert_eq!(counted_as(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn the_settings_take_proxies_networks_and_one_header() {
        let parse = |list| TrustedProxies::parse(list, ForwardingHeader::default());
        assert_eq!(parse("").unwrap(), TrustedProxies::default());
        assert!(parse("10.0.0.0/8, ::1, 192.168.1.1").is_ok());
        let error = parse("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(error.contains("proxy.internal"), "{error}");
        for too_wide in ["0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/7", "2a00::/8"] {
            assert!(
                parse(too_wide).unwrap_err().contains("every address"),
                "{too_wide}"
            );
        }
        assert_eq!(
            ForwardingHeader::parse("Forwarded"),
            Ok(ForwardingHeader::Forwarded)
        );
        assert!(ForwardingHeader::parse("X-Real-IP").is_err());
    }
}
