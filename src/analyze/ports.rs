//! Sets of TCP or UDP ports as sorted, disjoint inclusive spans, for the
//! ordered evaluation of network ACL entries and for intersecting what a
//! security group opens with what an ACL admits.

use serde::Serialize;

use super::sets::{self, Intervals};
use crate::snapshot::ec2::Protocol;

/// The transports whose ports the reachability model follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub const BOTH: [Transport; 2] = [Transport::Tcp, Transport::Udp];

    /// The transport's position in [`Transport::BOTH`].
    pub fn index(self) -> usize {
        match self {
            Transport::Tcp => 0,
            Transport::Udp => 1,
        }
    }

    /// `tcp` or `udp`, as rules name them.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }

    /// Whether a rule or entry for `protocol` applies to this transport.
    pub fn matches(self, protocol: Protocol) -> bool {
        match protocol {
            Protocol::All => true,
            Protocol::Tcp => self == Transport::Tcp,
            Protocol::Udp => self == Transport::Udp,
            _ => false,
        }
    }
}

pub const MAX_PORT: i32 = 65_535;

/// Where clients' return traffic arrives: the ephemeral range an ACL must
/// admit outbound for a response to leave (AWS advises 1024-65535, which
/// covers every operating system's choice).
pub const EPHEMERAL: (i32, i32) = (1024, MAX_PORT);

/// Ports `from..=to` as a set; a range reaching below 0 or above 65535 is
/// cut there.
pub fn port_interval(from: i32, to: i32) -> Intervals {
    match (u128::try_from(from.max(0)), u128::try_from(to)) {
        (Ok(from), Ok(to)) => Intervals::span(from, to.min(sets::MAX_PORT)),
        _ => Intervals::empty(),
    }
}

/// The client ports replies are sent to: [`EPHEMERAL`].
pub fn ephemeral_ports() -> Intervals {
    port_interval(EPHEMERAL.0, EPHEMERAL.1)
}

/// Ports `from..=to`, admitted by the ACL entry `rule_number` when the set
/// comes from an ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortSpan {
    pub from: i32,
    pub to: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_number: Option<i32>,
}

impl PortSpan {
    pub fn new(from: i32, to: i32) -> PortSpan {
        PortSpan {
            from,
            to,
            rule_number: None,
        }
    }

    pub fn all() -> PortSpan {
        PortSpan::new(0, MAX_PORT)
    }

    /// The ports both spans hold, labelled with this span's rule number.
    pub fn intersect(&self, other: (i32, i32)) -> Option<PortSpan> {
        let from = self.from.max(other.0);
        let to = self.to.min(other.1);
        (from <= to).then_some(PortSpan { from, to, ..*self })
    }
}

/// The ports of `spans` outside `from..=to`.
pub fn subtract(spans: &[PortSpan], (from, to): (i32, i32)) -> Vec<PortSpan> {
    let mut out = Vec::with_capacity(spans.len() + 1);
    for span in spans {
        if span.to < from || span.from > to {
            out.push(*span);
            continue;
        }
        if span.from < from {
            out.push(PortSpan {
                to: from - 1,
                ..*span
            });
        }
        if span.to > to {
            out.push(PortSpan {
                from: to + 1,
                ..*span
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtracting_splits_and_drops_spans() {
        let all = [PortSpan::all()];
        assert_eq!(
            subtract(&all, (22, 22)),
            [PortSpan::new(0, 21), PortSpan::new(23, MAX_PORT)]
        );
        assert_eq!(subtract(&all, (0, MAX_PORT)), []);
        assert_eq!(
            subtract(&[PortSpan::new(10, 20)], (0, 9)),
            [PortSpan::new(10, 20)]
        );
    }

    #[test]
    fn intersecting_keeps_the_rule_number() {
        let span = PortSpan {
            from: 0,
            to: 100,
            rule_number: Some(90),
        };
        assert_eq!(
            span.intersect((22, 200)),
            Some(PortSpan {
                from: 22,
                to: 100,
                rule_number: Some(90)
            })
        );
        assert_eq!(span.intersect((101, 200)), None);
    }
}
