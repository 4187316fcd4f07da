//! SSRF guard: classifies addresses the daemon must never dial and filters DNS answers.
//!
//! Takes IP addresses (URL literals, DNS answers); gives whether they are public, and a reqwest
//! resolver that only ever hands public addresses to the connector, so DNS rebinding fails too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// IPv4 ranges that are not the public internet: (network, prefix length, why).
const BLOCKED_V4: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "this-network/unspecified"),
    ([10, 0, 0, 0], 8, "private"),
    ([100, 64, 0, 0], 10, "CGNAT"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "6to4 relay"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved/broadcast"),
];

/// IPv6 ranges that are not the public internet. IPv4-mapped and NAT64 addresses are judged by the
/// IPv4 address they carry (see [`blocked_reason`]).
const BLOCKED_V6: &[(u128, u8, &str)] = &[
    (0, 96, "unspecified/loopback/IPv4-compatible"),
    (0x0100_0000_0000_0000_0000_0000_0000_0000, 64, "discard"),
    (
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        32,
        "documentation",
    ),
    (
        0x3fff_0000_0000_0000_0000_0000_0000_0000,
        20,
        "documentation",
    ),
    (
        0x0064_ff9b_0001_0000_0000_0000_0000_0000,
        48,
        "local-use NAT64",
    ),
    (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7, "unique-local"),
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
    (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10, "site-local"),
    (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, "multicast"),
];

/// NAT64 well-known prefix 64:ff9b::/96: the low 32 bits are an IPv4 address.
const NAT64_PREFIX: u128 = 0x0064_ff9b_0000_0000_0000_0000_0000_0000;
/// SIIT IPv4-translated addresses ::ffff:0:0:0/96 (RFC 2765): the low 32 bits are IPv4.
const SIIT_PREFIX: u128 = 0x0000_0000_0000_0000_ffff_0000_0000_0000;
/// 6to4 2002::/16 (RFC 3056): bits 16–48 are the IPv4 address of the site.
const SIX_TO_FOUR_PREFIX: u128 = 0x2002_0000_0000_0000_0000_0000_0000_0000;

fn in_prefix(addr: u128, net: u128, len: u8, bits: u8) -> bool {
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    (addr >> shift) == (net >> shift)
}

/// Why `ip` must not be dialled, or `None` when it is a public address.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return blocked_v4(v4);
            }
            let bits = u128::from(v6);
            // Forms that carry an IPv4 address are judged by it: NAT64 and SIIT in the low 32
            // bits, 6to4 in bits 16–48 (2002:AABB:CCDD::).
            let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
            if in_prefix(bits, NAT64_PREFIX, 96, 128) || in_prefix(bits, SIIT_PREFIX, 96, 128) {
                return blocked_v4(low32);
            }
            if in_prefix(bits, SIX_TO_FOUR_PREFIX, 16, 128) {
                return blocked_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
            }
            blocked_v6(v6)
        }
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip) as u128;
    BLOCKED_V4
        .iter()
        .find(|(net, len, _)| in_prefix(bits, u32::from_be_bytes(*net) as u128, *len, 32))
        .map(|(_, _, why)| *why)
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    BLOCKED_V6
        .iter()
        .find(|(net, len, _)| in_prefix(bits, *net, *len, 128))
        .map(|(_, _, why)| *why)
}

/// Error raised inside reqwest (resolver, redirect policy) and recognised again by the fetcher.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BlockedTarget(pub String);

/// DNS resolver that drops every non-public answer; a name with only such answers fails.
#[derive(Debug, Default, Clone)]
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let answers: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            let public = public_answers(&host, answers)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The public addresses among a name's DNS answers — the only ones the connector is given, so
/// the address checked is the address dialled. A name with none is refused, naming the first
/// non-public answer.
pub(crate) fn public_answers(
    host: &str,
    answers: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, BlockedTarget> {
    let public: Vec<SocketAddr> = answers
        .iter()
        .copied()
        .filter(|a| blocked_reason(a.ip()).is_none())
        .collect();
    if public.is_empty() {
        let why = answers
            .first()
            .and_then(|a| blocked_reason(a.ip()).map(|r| format!("{} ({r})", a.ip())))
            .unwrap_or_else(|| "no address".into());
        return Err(BlockedTarget(format!(
            "{host} resolves only to non-public addresses: {why}"
        )));
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_answers_filtered() {
        let sa = |s: &str| -> SocketAddr { format!("{s}:0").parse().unwrap() };
        // Every private kind a hostile DNS answer can name is refused, with the reason.
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("10.0.0.7", "private"),
            ("192.168.1.1", "private"),
            ("172.16.5.4", "private"),
            ("169.254.169.254", "link-local"),
            ("100.100.100.200", "CGNAT"),
            ("[fd00:ec2::254]", "unique-local"),
            ("[fe80::1]", "link-local"),
            ("[::1]", "unspecified/loopback/IPv4-compatible"),
            ("[::ffff:10.1.1.1]", "private"),
        ] {
            let err = public_answers("evil.example", vec![sa(ip)]).unwrap_err();
            assert!(
                err.0.contains("evil.example") && err.0.contains(why),
                "{ip}: {}",
                err.0
            );
        }
        // Mixed answers (a rebinding attempt): only the public one is handed to the connector.
        let got = public_answers(
            "mixed.example",
            vec![sa("127.0.0.1"), sa("93.184.216.34"), sa("[fe80::1]")],
        )
        .unwrap();
        assert_eq!(got, vec![sa("93.184.216.34")]);
        assert!(public_answers("empty.example", vec![])
            .unwrap_err()
            .0
            .contains("no address"));
    }

    #[test]
    fn table_of_addresses() {
        let blocked = [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.5",
            "198.51.100.7",
            "203.0.113.9",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "2002:a00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101:1::1",
            "::ffff:0:7f00:1",
            "::ffff:0:a00:1",
            "::ffff:0:a9fe:a9fe",
            "64:ff9b:1::a00:1",
        ];
        for ip in blocked {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(blocked_reason(ip).is_some(), "{ip} must be blocked");
        }
        let public = [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:0:808:808",
        ];
        for ip in public {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(blocked_reason(ip).is_none(), "{ip} must be allowed");
        }
    }
}
