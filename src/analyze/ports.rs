//! Ports: the transports the reachability model follows, port ranges as
//! sets, the ephemeral range replies go to, and labelled spans as rules see
//! them.

use schemars::JsonSchema;
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

/// A port of a set, which never exceeds 65535, as rules see ports.
pub fn port_number(port: u128) -> i32 {
    i32::try_from(port.min(sets::MAX_PORT)).unwrap_or(i32::MAX)
}

/// The client ports replies are sent to: [`EPHEMERAL`].
pub fn ephemeral_ports() -> Intervals {
    port_interval(EPHEMERAL.0, EPHEMERAL.1)
}

/// Ports `from..=to`, admitted by the ACL entry `rule_number` when the set
/// comes from an ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_cut_to_the_port_space() {
        assert_eq!(port_interval(22, 22), Intervals::span(22, 22));
        assert_eq!(port_interval(-1, 80), Intervals::span(0, 80));
        assert_eq!(port_interval(0, 70_000), Intervals::span(0, 65_535));
        assert_eq!(port_interval(-5, -1), Intervals::empty());
        assert_eq!(port_interval(90, 80), Intervals::empty());
        assert_eq!(port_number(70_000), 65_535);
    }
}
