//! Exact sets of addresses and ports. An [`Intervals`] is a set of integers
//! as sorted, disjoint, non-adjacent inclusive intervals: IPv4 addresses as
//! `u32` values, IPv6 addresses as `u128`, ports as `0..=65535`. A
//! [`Flows`] is a set of (port, address) pairs: for each span of ports, the
//! addresses admitted on it. Every hop of the reachability model is one of
//! these, and a path is their intersection.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::cidr::Network;

/// The highest port.
pub const MAX_PORT: u128 = 65_535;

/// An address family, with its address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// The family's position in [`Family::BOTH`].
    pub fn index(self) -> usize {
        match self {
            Family::Ipv4 => 0,
            Family::Ipv6 => 1,
        }
    }

    /// The highest address of the family.
    pub fn max(self) -> u128 {
        match self {
            Family::Ipv4 => u128::from(u32::MAX),
            Family::Ipv6 => u128::MAX,
        }
    }

    /// Every address of the family.
    pub fn everything(self) -> Intervals {
        Intervals::span(0, self.max())
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        }
    }

    /// The family's addresses reachable across the internet: IPv4 less the
    /// ranges never routed there (this network, private, shared, loopback,
    /// link-local, multicast, reserved and broadcast), and IPv6 global
    /// unicast (2000::/3).
    pub fn internet(self) -> Intervals {
        match self {
            Family::Ipv4 => {
                let never_routed = [
                    "0.0.0.0/8",
                    "10.0.0.0/8",
                    "100.64.0.0/10",
                    "127.0.0.0/8",
                    "169.254.0.0/16",
                    "172.16.0.0/12",
                    "192.168.0.0/16",
                    "224.0.0.0/3",
                ];
                Family::Ipv4
                    .everything()
                    .difference(&Intervals::of_cidrs(never_routed, self))
            }
            Family::Ipv6 => Intervals::of_cidrs(["2000::/3"], self),
        }
    }

    /// The family of an address or CIDR text.
    pub fn of_text(text: &str) -> Family {
        if text.contains(':') {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }
}

/// A set of integers as sorted, disjoint, non-adjacent inclusive intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Intervals(Vec<(u128, u128)>);

impl Intervals {
    pub fn empty() -> Intervals {
        Intervals(Vec::new())
    }

    /// `first..=last`; empty when `first > last`.
    pub fn span(first: u128, last: u128) -> Intervals {
        if first > last {
            return Intervals::empty();
        }
        Intervals(vec![(first, last)])
    }

    /// The set holding every given interval (in any order, overlapping or
    /// not); intervals with `first > last` hold nothing.
    pub fn of(spans: impl IntoIterator<Item = (u128, u128)>) -> Intervals {
        let mut spans: Vec<(u128, u128)> = spans.into_iter().filter(|(f, l)| f <= l).collect();
        spans.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(spans.len());
        for (first, last) in spans {
            match out.last_mut() {
                Some(previous) if previous.1 == u128::MAX || first <= previous.1 + 1 => {
                    previous.1 = previous.1.max(last);
                }
                _ => out.push((first, last)),
            }
        }
        Intervals(out)
    }

    /// The addresses of the CIDR blocks of one family; blocks of the other
    /// family or that do not parse hold nothing.
    pub fn of_cidrs<'a>(cidrs: impl IntoIterator<Item = &'a str>, family: Family) -> Intervals {
        Intervals::of(
            cidrs
                .into_iter()
                .filter_map(Network::parse)
                .filter(|network| network.is_ipv6() == (family == Family::Ipv6))
                .map(|network| network.range()),
        )
    }

    pub fn spans(&self) -> &[(u128, u128)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, value: u128) -> bool {
        let index = self.0.partition_point(|(_, last)| *last < value);
        self.0.get(index).is_some_and(|(first, _)| *first <= value)
    }

    /// Whether every member of `other` is a member of this set.
    pub fn covers(&self, other: &Intervals) -> bool {
        other.difference(self).is_empty()
    }

    pub fn intersects(&self, other: &Intervals) -> bool {
        !self.intersection(other).is_empty()
    }

    pub fn union(&self, other: &Intervals) -> Intervals {
        Intervals::of(self.0.iter().chain(&other.0).copied())
    }

    pub fn intersection(&self, other: &Intervals) -> Intervals {
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        let mut out = Vec::new();
        while let (Some(&&(a_first, a_last)), Some(&&(b_first, b_last))) = (a.peek(), b.peek()) {
            let (first, last) = (a_first.max(b_first), a_last.min(b_last));
            if first <= last {
                out.push((first, last));
            }
            if a_last < b_last {
                a.next();
            } else {
                b.next();
            }
        }
        Intervals(out)
    }

    pub fn difference(&self, other: &Intervals) -> Intervals {
        let mut out = Vec::new();
        let mut others = other.0.iter().peekable();
        for &(first, last) in &self.0 {
            let mut next = Some(first);
            while let (Some(start), Some(&&(o_first, o_last))) = (next, others.peek()) {
                if o_last < start {
                    others.next();
                    continue;
                }
                if o_first > last {
                    break;
                }
                if o_first > start {
                    out.push((start, o_first - 1));
                }
                if o_last >= last {
                    next = None;
                } else {
                    next = Some(o_last + 1);
                    others.next();
                }
            }
            if let Some(start) = next {
                out.push((start, last));
            }
        }
        Intervals(out)
    }

    /// The set as the fewest CIDR blocks of `family`, in address order.
    pub fn to_cidrs(&self, family: Family) -> Vec<String> {
        let bits = match family {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        };
        let mut out = Vec::new();
        for &(first, last) in &self.0 {
            let mut start = first;
            loop {
                // The largest aligned block starting here and ending by `last`.
                let mut size_bits = if start == 0 {
                    bits
                } else {
                    start.trailing_zeros().min(bits)
                };
                while size_bits > 0 && block_end(start, size_bits) > last {
                    size_bits -= 1;
                }
                out.push(format!(
                    "{}/{}",
                    address_text(start, family),
                    bits - size_bits
                ));
                let end = block_end(start, size_bits);
                if end >= last {
                    break;
                }
                start = end + 1;
            }
        }
        out
    }
}

/// The last address of the block of `2^size_bits` addresses from `start`.
fn block_end(start: u128, size_bits: u32) -> u128 {
    if size_bits >= 128 {
        return u128::MAX;
    }
    start.saturating_add((1u128 << size_bits) - 1)
}

/// An address of the family as text.
pub fn address_text(value: u128, family: Family) -> String {
    match family {
        Family::Ipv4 => u32::try_from(value).map_or_else(
            |_| format!("{value} (beyond IPv4)"),
            |v| Ipv4Addr::from(v).to_string(),
        ),
        Family::Ipv6 => Ipv6Addr::from(value).to_string(),
    }
}

/// A set of (port, address) pairs: the addresses admitted on each span of
/// ports. Spans are disjoint and in port order; each holds a non-empty set,
/// and adjacent spans hold different sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flows(Vec<((u128, u128), Intervals)>);

impl Flows {
    pub fn empty() -> Flows {
        Flows(Vec::new())
    }

    /// Every port in `ports` for every address in `addresses`.
    pub fn rect(ports: &Intervals, addresses: &Intervals) -> Flows {
        if addresses.is_empty() {
            return Flows::empty();
        }
        Flows(
            ports
                .spans()
                .iter()
                .map(|span| (*span, addresses.clone()))
                .collect(),
        )
    }

    pub fn pieces(&self) -> &[((u128, u128), Intervals)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The addresses admitted on `port`.
    pub fn at(&self, port: u128) -> Intervals {
        let index = self.0.partition_point(|((_, last), _)| *last < port);
        match self.0.get(index) {
            Some(((first, _), addresses)) if *first <= port => addresses.clone(),
            _ => Intervals::empty(),
        }
    }

    pub fn contains(&self, port: u128, address: u128) -> bool {
        self.at(port).contains(address)
    }

    /// The ports on which some address is admitted.
    pub fn ports(&self) -> Intervals {
        Intervals::of(self.0.iter().map(|(span, _)| *span))
    }

    /// The addresses admitted on some port of `ports`.
    pub fn addresses_on(&self, ports: &Intervals) -> Intervals {
        self.0
            .iter()
            .filter(|(span, _)| Intervals::span(span.0, span.1).intersects(ports))
            .fold(Intervals::empty(), |all, (_, addresses)| {
                all.union(addresses)
            })
    }

    /// The ports on which every address of `addresses` is admitted.
    pub fn ports_covering(&self, addresses: &Intervals) -> Intervals {
        Intervals::of(
            self.0
                .iter()
                .filter(|(_, admitted)| admitted.covers(addresses))
                .map(|(span, _)| *span),
        )
    }

    pub fn union(&self, other: &Flows) -> Flows {
        self.combine(other, Intervals::union)
    }

    pub fn intersection(&self, other: &Flows) -> Flows {
        self.combine(other, Intervals::intersection)
    }

    pub fn difference(&self, other: &Flows) -> Flows {
        self.combine(other, Intervals::difference)
    }

    pub fn intersects(&self, other: &Flows) -> bool {
        !self.intersection(other).is_empty()
    }

    /// Only the pairs whose port is in `ports` and address in `addresses`.
    pub fn restrict(&self, ports: &Intervals, addresses: &Intervals) -> Flows {
        self.intersection(&Flows::rect(ports, addresses))
    }

    /// Applies `op` to the two address sets of every piece of the port
    /// space where neither changes.
    fn combine(&self, other: &Flows, op: fn(&Intervals, &Intervals) -> Intervals) -> Flows {
        let mut cuts: Vec<u128> = self
            .0
            .iter()
            .chain(&other.0)
            .flat_map(|((first, last), _)| [*first, last + 1])
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut out: Vec<((u128, u128), Intervals)> = Vec::new();
        for window in cuts.windows(2) {
            let (first, last) = (window[0], window[1] - 1);
            let addresses = op(&self.at(first), &other.at(first));
            if addresses.is_empty() {
                continue;
            }
            match out.last_mut() {
                Some(((_, previous_last), previous))
                    if *previous_last + 1 == first && *previous == addresses =>
                {
                    *previous_last = last;
                }
                _ => out.push(((first, last), addresses)),
            }
        }
        Flows(out)
    }
}

/// Ports as text: `22` or `1024-65535`.
pub struct PortText<T>(pub T, pub T);

impl<T: fmt::Display + PartialEq> fmt::Display for PortText<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == self.1 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{}-{}", self.0, self.1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Small universes, so a set can be checked member by member.
    const TOP: u128 = 40;

    /// A rectangle of (port span, address span).
    type Rect = ((u128, u128), (u128, u128));

    fn spans() -> impl Strategy<Value = Vec<(u128, u128)>> {
        prop::collection::vec((0..TOP, 0..TOP), 0..6)
    }

    fn members(set: &Intervals) -> BTreeSet<u128> {
        (0..=TOP).filter(|v| set.contains(*v)).collect()
    }

    fn reference(spans: &[(u128, u128)]) -> BTreeSet<u128> {
        spans
            .iter()
            .flat_map(|(first, last)| *first..=*last)
            .collect()
    }

    fn well_formed(set: &Intervals) -> bool {
        set.spans().iter().all(|(f, l)| f <= l)
            && set.spans().windows(2).all(|w| w[0].1 + 1 < w[1].0)
    }

    proptest! {
        #[test]
        fn set_operations_agree_with_sets_of_members(a in spans(), b in spans()) {
            let (x, y) = (Intervals::of(a.clone()), Intervals::of(b.clone()));
            let (rx, ry) = (reference(&a), reference(&b));
            prop_assert_eq!(members(&x), rx.clone());
            let union = x.union(&y);
            let intersection = x.intersection(&y);
            let difference = x.difference(&y);
            for set in [&x, &union, &intersection, &difference] {
                prop_assert!(well_formed(set), "{set:?}");
            }
            prop_assert_eq!(members(&union), rx.union(&ry).copied().collect());
            prop_assert_eq!(members(&intersection), rx.intersection(&ry).copied().collect());
            prop_assert_eq!(members(&difference), rx.difference(&ry).copied().collect());
            prop_assert_eq!(x.covers(&y), ry.is_subset(&rx));
            prop_assert_eq!(x.intersects(&y), !rx.is_disjoint(&ry));
        }

        #[test]
        fn flows_agree_with_sets_of_pairs(
            a in prop::collection::vec(((0..TOP, 0..TOP), (0..TOP, 0..TOP)), 0..5),
            b in prop::collection::vec(((0..TOP, 0..TOP), (0..TOP, 0..TOP)), 0..5),
        ) {
            let build = |rects: &[Rect]| {
                rects.iter().fold(Flows::empty(), |all, (ports, addresses)| {
                    all.union(&Flows::rect(
                        &Intervals::span(ports.0, ports.1),
                        &Intervals::span(addresses.0, addresses.1),
                    ))
                })
            };
            let pairs = |rects: &[Rect]| -> BTreeSet<(u128, u128)> {
                rects
                    .iter()
                    .flat_map(|(p, a)| (p.0..=p.1).flat_map(move |port| (a.0..=a.1).map(move |address| (port, address))))
                    .collect()
            };
            let members = |flows: &Flows| -> BTreeSet<(u128, u128)> {
                (0..=TOP)
                    .flat_map(|port| (0..=TOP).map(move |address| (port, address)))
                    .filter(|(port, address)| flows.contains(*port, *address))
                    .collect()
            };
            let (x, y) = (build(&a), build(&b));
            let (rx, ry) = (pairs(&a), pairs(&b));
            prop_assert_eq!(members(&x), rx.clone());
            prop_assert_eq!(members(&x.intersection(&y)), rx.intersection(&ry).copied().collect());
            prop_assert_eq!(members(&x.difference(&y)), rx.difference(&ry).copied().collect());
            for flows in [&x, &x.intersection(&y), &x.difference(&y)] {
                prop_assert!(flows.pieces().windows(2).all(|w| w[0].0.1 < w[1].0.0
                    && !(w[0].0.1 + 1 == w[1].0.0 && w[0].1 == w[1].1)));
            }
        }

        #[test]
        fn cidrs_cover_exactly_the_set(a in prop::collection::vec((0..u128::from(u32::MAX), 0..u128::from(u32::MAX)), 0..4)) {
            let set = Intervals::of(a);
            let cidrs = set.to_cidrs(Family::Ipv4);
            let back = Intervals::of_cidrs(cidrs.iter().map(String::as_str), Family::Ipv4);
            prop_assert_eq!(back, set);
        }
    }

    #[test]
    fn the_ipv4_internet_leaves_out_private_and_reserved_ranges() {
        let internet = Family::Ipv4.internet();
        let has = |text: &str| Network::parse(text).is_some_and(|n| internet.contains(n.range().0));
        assert!(has("8.8.8.8") && has("203.0.113.7") && has("100.128.0.1"));
        assert!(!has("10.1.2.3") && !has("100.64.0.1") && !has("172.31.0.1"));
        assert!(!has("192.168.1.1") && !has("224.0.0.1") && !has("255.255.255.255"));
        assert_eq!(Family::Ipv6.internet().to_cidrs(Family::Ipv6), ["2000::/3"]);
    }

    #[test]
    fn whole_families_render_as_one_block() {
        assert_eq!(
            Family::Ipv4.everything().to_cidrs(Family::Ipv4),
            ["0.0.0.0/0"]
        );
        assert_eq!(Family::Ipv6.everything().to_cidrs(Family::Ipv6), ["::/0"]);
        assert_eq!(
            Intervals::span(1, 6).to_cidrs(Family::Ipv4),
            ["0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/31", "0.0.0.6/32"]
        );
    }
}
