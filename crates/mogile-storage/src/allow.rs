//! The storage host allow-list: which hosts a storage URL may name
//! ([`StorageClientBuilder::allowed_hosts`](crate::StorageConfig::allowed_hosts)).
//!
//! Entries are exact host names, IP addresses or CIDR networks. A URL host that is an IP literal
//! matches the addresses and networks; any other host matches only a name entry, exactly (ASCII
//! case and one trailing dot aside). Names are never resolved in order to match them: DNS is
//! asked only for a name the list names, when the connection is made. Non-canonical IPv4 forms
//! (`127.1`, `2130706433`, `0x7f.0.0.1`), which resolvers read as addresses, are not IP literals
//! here, so they match nothing but an identical name entry.
//!
//! The CIDR matcher is a dozen lines of mask arithmetic on `u32`/`u128`, which is why no crate is
//! used for it.

use std::net::IpAddr;

use crate::error::BuildError;

/// A parsed allow-list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostAllowList {
    /// Lower-case host names, without a trailing dot.
    names: Vec<String>,
    nets: Vec<IpNet>,
}

/// An IP network: an address with the bits past `prefix` cleared, and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `addr/prefix`, with the address masked to the network (`10.1.2.3/8` is `10.0.0.0/8`) and
    /// an IPv4-mapped IPv6 network of at least /96 turned into its IPv4 network.
    fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => (IpAddr::V4(v4), prefix - 96),
                _ => (addr, prefix),
            },
            IpAddr::V4(_) => (addr, prefix),
        };
        let addr = match addr {
            IpAddr::V4(a) if prefix <= 32 => IpAddr::V4((u32::from(a) & mask32(prefix)).into()),
            IpAddr::V6(a) if prefix <= 128 => IpAddr::V6((u128::from(a) & mask128(prefix)).into()),
            _ => return None,
        };
        Some(Self { addr, prefix })
    }

    /// Whether `ip` (already canonical: IPv4-mapped addresses as IPv4) is in the network.
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// The netmask of an IPv4 prefix length (at most 32).
fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// The netmask of an IPv6 prefix length (at most 128).
fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// Lower-cases a host name and drops one trailing dot (`Node1.` is `node1`).
fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// An IP literal as it appears in a URL host (`[::1]` with brackets) or an entry (either way).
fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

impl HostAllowList {
    /// Parses the entries of an allow-list.
    pub(crate) fn parse(entries: &[String]) -> Result<Self, BuildError> {
        if entries.is_empty() {
            return Err(BuildError::InvalidSetting {
                name: "allowed_hosts",
                reason: "an empty list would refuse every storage node",
            });
        }
        let mut list = Self {
            names: Vec::new(),
            nets: Vec::new(),
        };
        for entry in entries {
            let invalid = |reason| BuildError::InvalidAllowedHost {
                entry: entry.clone(),
                reason,
            };
            let e = entry.trim();
            if let Some((addr, prefix)) = e.split_once('/') {
                let addr = ip_literal(addr).ok_or_else(|| invalid("not an IP network"))?;
                let prefix = prefix
                    .parse::<u8>()
                    .ok()
                    .and_then(|p| IpNet::new(addr, p))
                    .ok_or_else(|| invalid("bad prefix length"))?;
                list.nets.push(prefix);
            } else if let Some(addr) = ip_literal(e) {
                let full = if addr.is_ipv4() { 32 } else { 128 };
                list.nets.extend(IpNet::new(addr, full));
            } else if is_host_name(e) {
                list.names.push(normalize_name(e));
            } else {
                return Err(invalid(
                    "not a host name, IP address or CIDR network (no scheme, port or path)",
                ));
            }
        }
        Ok(list)
    }

    /// Whether a URL's host (as `http::Uri::host` gives it) may be contacted.
    pub(crate) fn allows(&self, host: &str) -> bool {
        match ip_literal(host) {
            Some(ip) => {
                let ip = ip.to_canonical();
                self.nets.iter().any(|n| n.contains(ip))
            }
            None => {
                let name = normalize_name(host);
                self.names.contains(&name)
            }
        }
    }
}

/// Letters, digits, `-`, `_` and `.`, not starting with a dot.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> HostAllowList {
        let entries: Vec<String> = entries.iter().map(|s| (*s).to_owned()).collect();
        HostAllowList::parse(&entries).unwrap()
    }

    #[test]
    fn addresses_and_networks() {
        let l = list(&[
            "127.0.0.1",
            "10.0.0.0/8",
            "192.168.7.9/31",
            "fd00::/8",
            "[::1]",
        ]);
        for ok in [
            "127.0.0.1",
            "10.255.1.2",
            "192.168.7.8",
            "192.168.7.9",
            "[fd12::7]",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[::ffff:10.1.2.3]",
        ] {
            assert!(l.allows(ok), "{ok}");
        }
        for refused in [
            "127.0.0.2",
            "169.254.169.254",
            "11.0.0.1",
            "192.168.7.10",
            "[fe80::1]",
            "[::2]",
            "[::ffff:169.254.169.254]",
            "[::ffff:127.0.0.2]",
            "localhost",
        ] {
            assert!(!l.allows(refused), "{refused}");
        }
    }

    #[test]
    fn names_match_exactly_and_are_never_resolved() {
        let l = list(&["Node1.example", "node2."]);
        for ok in ["node1.example", "NODE1.EXAMPLE", "node1.example.", "node2"] {
            assert!(l.allows(ok), "{ok}");
        }
        for refused in [
            "node1",
            "x.node1.example",
            "node1.example.evil",
            "127.0.0.1",
        ] {
            assert!(!l.allows(refused), "{refused}");
        }
        // Forms a resolver reads as 127.0.0.1 are names here, and only a name entry admits them.
        let l = list(&["127.0.0.0/8"]);
        for tricky in [
            "127.1",
            "2130706433",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "127.0.0.1.",
        ] {
            assert!(!l.allows(tricky), "{tricky}");
        }
    }

    #[test]
    fn edge_prefixes() {
        let all4 = list(&["0.0.0.0/0"]);
        assert!(all4.allows("203.0.113.9"));
        assert!(!all4.allows("[2001:db8::1]"));
        let mapped = list(&["::ffff:10.0.0.0/104"]);
        assert!(mapped.allows("10.9.9.9"));
        assert!(!mapped.allows("11.0.0.1"));
        assert!(list(&["2001:db8::/128"]).allows("[2001:db8::]"));
        // Host bits are masked off, as most CIDR parsers do.
        assert!(list(&["10.1.2.3/8"]).allows("10.200.0.1"));
    }

    #[test]
    fn bad_entries_are_build_errors() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "node/8",
            "",
            " ",
            "http://node1",
            "node1:7500",
            "a b",
            ".node",
        ] {
            let err = HostAllowList::parse(&[bad.to_owned()]).unwrap_err();
            assert!(
                matches!(&err, BuildError::InvalidAllowedHost { entry, .. } if entry == bad),
                "{bad:?}: {err:?}"
            );
        }
        assert!(matches!(
            HostAllowList::parse(&[]),
            Err(BuildError::InvalidSetting {
                name: "allowed_hosts",
                ..
            })
        ));
    }
}
