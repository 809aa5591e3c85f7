//! CIDR arithmetic: containment, overlap, and whether a set of ranges
//! covers the whole internet. Shared by the rule helpers and the network
//! analysis.

use std::net::IpAddr;

/// An IPv4 or IPv6 network as an inclusive range of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    v6: bool,
    first: u128,
    last: u128,
}

impl Network {
    /// `10.0.0.0/8`, `::/0`, or a bare address (a /32 or /128).
    pub fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u32>().ok()?)),
            None => (text, None),
        };
        let (v6, bits, value) = match address.parse::<IpAddr>().ok()? {
            IpAddr::V4(ip) => (false, 32, u128::from(u32::from(ip))),
            IpAddr::V6(ip) => (true, 128, u128::from(ip)),
        };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return None;
        }
        let host_bits = bits - prefix;
        let host_mask = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        Some(Network {
            v6,
            first: value & !host_mask,
            last: (value & !host_mask) | host_mask,
        })
    }

    pub fn is_ipv6(&self) -> bool {
        self.v6
    }

    /// The first and last address, as integers of the family.
    pub fn range(&self) -> (u128, u128) {
        (self.first, self.last)
    }

    /// The prefix length: 32 for one IPv4 address, 0 for the whole family.
    pub fn prefix_len(&self) -> u32 {
        let bits = if self.v6 { 128 } else { 32 };
        let host_bits = 128 - (self.last - self.first).leading_zeros();
        bits - host_bits
    }

    /// How many addresses the network holds.
    pub fn size(&self) -> u128 {
        (self.last - self.first).saturating_add(1)
    }

    pub fn contains(&self, other: &Network) -> bool {
        self.v6 == other.v6 && self.first <= other.first && other.last <= self.last
    }

    /// CIDR blocks either nest or are disjoint, so they overlap exactly
    /// when one contains the other.
    pub fn overlaps(&self, other: &Network) -> bool {
        self.contains(other) || other.contains(self)
    }
}

/// Whether the networks of one family together cover every address of it,
/// as 0.0.0.0/1 and 128.0.0.0/1 do.
pub fn covers_family(networks: &[Network], v6: bool) -> bool {
    let max = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let mut ranges: Vec<(u128, u128)> = networks
        .iter()
        .filter(|n| n.v6 == v6)
        .map(|n| (n.first, n.last))
        .collect();
    ranges.sort_unstable();
    let mut next = 0u128;
    for (first, last) in ranges {
        if first > next {
            return false;
        }
        if last >= next {
            if last == max {
                return true;
            }
            next = last + 1;
        }
    }
    false
}

/// Whether the networks cover all of IPv4 or all of IPv6: 0.0.0.0/0, ::/0,
/// or a union such as 0.0.0.0/1 and 128.0.0.0/1.
pub fn covers_internet(networks: &[Network]) -> bool {
    covers_family(networks, false) || covers_family(networks, true)
}
