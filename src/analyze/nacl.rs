//! What a network ACL admits from and to the internet. ACLs are stateless
//! and ordered: entries are read by rule number, the first entry that
//! matches a packet decides, and anything no entry matches is denied.

use serde::Serialize;

use super::cidr::{Network, covers_internet};
use super::ports::{EPHEMERAL, PortSpan, Transport, ephemeral_ports, port_interval, subtract};
use super::sets::{self, Flows, Intervals, MAX_PORT};
use crate::snapshot::ec2::{NetworkAcl, NetworkAclEntry, Protocol, RuleAction};

/// The traffic an ACL admits in one direction for an address anywhere on
/// the internet: one that only entries for all of IPv4 (0.0.0.0/0) or all
/// of IPv6 (::/0) match. Entries for narrower ranges never decide for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Admission {
    /// Admitted TCP ports, each span labelled with the entry admitting it.
    pub tcp: Vec<PortSpan>,
    pub udp: Vec<PortSpan>,
    /// The entry allowing every protocol and port that some traffic
    /// reaches: no earlier entry denies every protocol.
    pub all_protocols_rule: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// Derived facts about one ACL, for rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AclFacts {
    /// IPv4 and IPv6 together.
    pub internet_ingress: Admission,
    pub internet_egress: Admission,
    /// Ephemeral ports (1024-65535) the ACL does not admit outbound to the
    /// internet, for each protocol and address family it admits inbound:
    /// replies to clients using them cannot leave.
    pub ephemeral_return_blocked: ReturnBlocked,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReturnBlocked {
    pub tcp: Vec<PortSpan>,
    pub udp: Vec<PortSpan>,
}

impl AclFacts {
    pub fn of(acl: &NetworkAcl) -> AclFacts {
        let both = |egress| {
            let v4 = admission(acl, egress, Family::Ipv4);
            let v6 = admission(acl, egress, Family::Ipv6);
            let merge = |mut a: Vec<PortSpan>, b: Vec<PortSpan>| {
                a.extend(b);
                a.sort_by_key(|span| (span.from, span.to));
                a
            };
            Admission {
                tcp: merge(v4.tcp, v6.tcp),
                udp: merge(v4.udp, v6.udp),
                all_protocols_rule: match (v4.all_protocols_rule, v6.all_protocols_rule) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            }
        };
        // Replies leave in the family the request came in.
        let mut ephemeral_return_blocked = ReturnBlocked::default();
        for family in [Family::Ipv4, Family::Ipv6] {
            let ingress = admission(acl, false, family);
            let egress = admission(acl, true, family);
            let blocked = |admitted_in: &[PortSpan], admitted_out: &[PortSpan]| {
                if admitted_in.is_empty() {
                    return Vec::new();
                }
                admitted_out.iter().fold(
                    vec![PortSpan::new(EPHEMERAL.0, EPHEMERAL.1)],
                    |remaining, span| subtract(&remaining, (span.from, span.to)),
                )
            };
            ephemeral_return_blocked
                .tcp
                .extend(blocked(&ingress.tcp, &egress.tcp));
            ephemeral_return_blocked
                .udp
                .extend(blocked(&ingress.udp, &egress.udp));
        }
        AclFacts {
            internet_ingress: both(false),
            internet_egress: both(true),
            ephemeral_return_blocked,
        }
    }
}

fn matches_internet(entry: &NetworkAclEntry, family: Family) -> bool {
    let cidr = match family {
        Family::Ipv4 => entry.cidr_ipv4.as_deref(),
        Family::Ipv6 => entry.cidr_ipv6.as_deref(),
    };
    cidr.and_then(Network::parse)
        .is_some_and(|network| covers_internet(&[network]))
}

/// What the ACL admits in one direction for an internet address of one
/// family, by first-match evaluation.
pub fn admission(acl: &NetworkAcl, egress: bool, family: Family) -> Admission {
    let mut undecided_tcp = vec![PortSpan::all()];
    let mut undecided_udp = vec![PortSpan::all()];
    let mut admitted = Admission::default();
    let mut every_protocol_decided = false;
    // The snapshot keeps entries sorted by (egress, rule number).
    for entry in acl
        .entries
        .iter()
        .filter(|e| e.egress == egress && matches_internet(e, family))
    {
        let ports = entry
            .port_range
            .map_or((0, super::ports::MAX_PORT), |r| (r.from, r.to));
        let decide = |undecided: &mut Vec<PortSpan>, admitted: &mut Vec<PortSpan>| {
            if entry.action == RuleAction::Allow {
                admitted.extend(undecided.iter().filter_map(|span| {
                    span.intersect(ports).map(|span| PortSpan {
                        rule_number: Some(entry.rule_number),
                        ..span
                    })
                }));
            }
            *undecided = subtract(undecided, ports);
        };
        match entry.protocol {
            Protocol::All => {
                decide(&mut undecided_tcp, &mut admitted.tcp);
                decide(&mut undecided_udp, &mut admitted.udp);
                if !every_protocol_decided && entry.action == RuleAction::Allow {
                    admitted.all_protocols_rule = Some(entry.rule_number);
                }
                every_protocol_decided = true;
            }
            Protocol::Tcp => decide(&mut undecided_tcp, &mut admitted.tcp),
            Protocol::Udp => decide(&mut undecided_udp, &mut admitted.udp),
            _ => {}
        }
    }
    admitted.tcp.sort_by_key(|span| span.from);
    admitted.udp.sort_by_key(|span| span.from);
    admitted
}

/// What an ACL decides in one direction, for one address family and
/// transport, by first match on every (port, address) pair: the remote
/// address (the source inbound, the destination outbound) and the port the
/// packet is sent to. Entries for narrower ranges decide their own
/// addresses, so allows that together cover the internet admit it and a
/// narrower deny ahead of an allow removes its addresses.
#[derive(Debug, Clone, Default)]
pub struct AclDecisions {
    /// Per allow entry (by rule number), the pairs it decides.
    pub allowed: Vec<(i32, Flows)>,
    /// Per deny entry, the pairs it decides; pairs no entry matches are
    /// denied too and not listed.
    pub denied: Vec<(i32, Flows)>,
    /// Every admitted pair.
    pub admitted: Flows,
}

impl AclDecisions {
    pub fn of(
        acl: &NetworkAcl,
        egress: bool,
        family: sets::Family,
        transport: Transport,
    ) -> AclDecisions {
        let mut entries: Vec<&NetworkAclEntry> = acl
            .entries
            .iter()
            .filter(|e| e.egress == egress && transport.matches(e.protocol))
            .collect();
        entries.sort_by_key(|e| e.rule_number);
        let mut undecided = Flows::rect(&Intervals::span(0, MAX_PORT), &family.everything());
        let mut out = AclDecisions::default();
        for entry in entries {
            let cidr = match family {
                sets::Family::Ipv4 => entry.cidr_ipv4.as_deref(),
                sets::Family::Ipv6 => entry.cidr_ipv6.as_deref(),
            };
            let Some(network) = cidr.and_then(Network::parse) else {
                continue;
            };
            let (first, last) = network.range();
            // An entry for every protocol covers every port.
            let ports = match (entry.protocol, entry.port_range) {
                (Protocol::Tcp | Protocol::Udp, Some(range)) => port_interval(range.from, range.to),
                _ => Intervals::span(0, MAX_PORT),
            };
            let matched = Flows::rect(&ports, &Intervals::span(first, last));
            let decided = undecided.intersection(&matched);
            if decided.is_empty() {
                continue;
            }
            undecided = undecided.difference(&matched);
            if entry.action == RuleAction::Allow {
                out.admitted = out.admitted.union(&decided);
                out.allowed.push((entry.rule_number, decided));
            } else {
                out.denied.push((entry.rule_number, decided));
            }
        }
        out
    }

    /// The allow entries deciding some of `flows`.
    pub fn allowing(&self, flows: &Flows) -> Vec<i32> {
        Self::numbers(&self.allowed, flows)
    }

    /// The deny entries deciding some of `flows`.
    pub fn denying(&self, flows: &Flows) -> Vec<i32> {
        Self::numbers(&self.denied, flows)
    }

    fn numbers(entries: &[(i32, Flows)], flows: &Flows) -> Vec<i32> {
        entries
            .iter()
            .filter(|(_, decided)| decided.intersects(flows))
            .map(|(number, _)| *number)
            .collect()
    }

    /// The remote addresses a reply can be sent to outbound: those some
    /// client ephemeral port (1024-65535) is admitted to.
    pub fn reply_addresses(&self) -> Intervals {
        self.admitted.addresses_on(&ephemeral_ports())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ResourceMeta;
    use crate::snapshot::ec2::PortRange;

    fn entry(
        rule_number: i32,
        protocol: Protocol,
        ports: Option<(i32, i32)>,
        allow: bool,
    ) -> NetworkAclEntry {
        NetworkAclEntry {
            rule_number,
            egress: false,
            protocol,
            action: if allow {
                RuleAction::Allow
            } else {
                RuleAction::Deny
            },
            cidr_ipv4: Some("0.0.0.0/0".to_owned()),
            cidr_ipv6: None,
            port_range: ports.map(|(from, to)| PortRange { from, to }),
            icmp: None,
        }
    }

    fn acl(entries: Vec<NetworkAclEntry>) -> NetworkAcl {
        NetworkAcl {
            meta: ResourceMeta::default(),
            vpc_id: "vpc-1".to_owned(),
            is_default: false,
            entries,
            associations: Vec::new(),
        }
    }

    fn span(from: i32, to: i32, rule: i32) -> PortSpan {
        PortSpan {
            from,
            to,
            rule_number: Some(rule),
        }
    }

    #[test]
    fn an_earlier_deny_closes_its_port_and_the_allow_opens_the_rest() {
        let acl = acl(vec![
            entry(90, Protocol::Tcp, Some((22, 22)), false),
            entry(100, Protocol::All, None, true),
            entry(32767, Protocol::All, None, false),
        ]);
        let admitted = admission(&acl, false, Family::Ipv4);
        assert_eq!(admitted.tcp, [span(0, 21, 100), span(23, 65_535, 100)]);
        assert_eq!(admitted.udp, [span(0, 65_535, 100)]);
        assert_eq!(admitted.all_protocols_rule, Some(100));
    }

    #[test]
    fn a_later_deny_does_not_undo_an_earlier_allow() {
        let acl = acl(vec![
            entry(100, Protocol::Tcp, Some((22, 22)), true),
            entry(200, Protocol::Tcp, Some((0, 1024)), false),
        ]);
        let admitted = admission(&acl, false, Family::Ipv4);
        assert_eq!(admitted.tcp, [span(22, 22, 100)]);
        assert_eq!(admitted.udp, []);
        assert_eq!(admitted.all_protocols_rule, None);
    }

    #[test]
    fn a_deny_all_first_shadows_everything() {
        let acl = acl(vec![
            entry(1, Protocol::All, None, false),
            entry(100, Protocol::All, None, true),
        ]);
        assert_eq!(admission(&acl, false, Family::Ipv4), Admission::default());
    }

    #[test]
    fn replies_must_leave_in_the_family_the_request_came_in() {
        let mut inbound_v6 = entry(100, Protocol::Tcp, Some((443, 443)), true);
        inbound_v6.cidr_ipv4 = None;
        inbound_v6.cidr_ipv6 = Some("::/0".to_owned());
        let mut outbound_v6 = entry(100, Protocol::Tcp, Some((1024, 65_535)), true);
        outbound_v6.egress = true;
        outbound_v6.cidr_ipv4 = None;
        outbound_v6.cidr_ipv6 = Some("::/0".to_owned());
        let mut outbound_v4 = outbound_v6.clone();
        outbound_v4.cidr_ipv6 = None;
        outbound_v4.cidr_ipv4 = Some("0.0.0.0/0".to_owned());
        let answered = AclFacts::of(&acl(vec![inbound_v6.clone(), outbound_v6]));
        assert_eq!(answered.ephemeral_return_blocked, ReturnBlocked::default());
        let unanswered = AclFacts::of(&acl(vec![inbound_v6, outbound_v4]));
        assert_eq!(
            unanswered.ephemeral_return_blocked.tcp,
            [PortSpan::new(1024, 65_535)]
        );
        assert_eq!(unanswered.ephemeral_return_blocked.udp, []);
    }

    #[test]
    fn entries_for_narrower_sources_or_the_other_family_do_not_decide() {
        let mut narrow = entry(50, Protocol::Tcp, Some((22, 22)), false);
        narrow.cidr_ipv4 = Some("203.0.113.0/24".to_owned());
        let acl = acl(vec![
            narrow,
            entry(100, Protocol::Tcp, Some((22, 22)), true),
        ]);
        assert_eq!(
            admission(&acl, false, Family::Ipv4).tcp,
            [span(22, 22, 100)]
        );
        assert_eq!(admission(&acl, false, Family::Ipv6), Admission::default());
        assert_eq!(admission(&acl, true, Family::Ipv4), Admission::default());
    }
}
