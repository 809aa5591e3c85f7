//! What a network ACL admits. ACLs are stateless and ordered: entries are
//! read by rule number, the first entry that matches a packet decides, and
//! anything no entry matches is denied. Every fact here comes from one
//! evaluation per direction, family and transport over (port, address)
//! pairs ([`AclDecisions`]), which the exposure model reads too.

use schemars::JsonSchema;
use serde::Serialize;

use super::cidr::Network;
use super::ports::{PortSpan, Transport, ephemeral_ports, port_interval, port_number};
use super::sets::{Family, Flows, Intervals, MAX_PORT};
use crate::snapshot::ec2::{NetworkAcl, NetworkAclEntry, Protocol, RuleAction};

/// The ports an ACL admits in one direction from (or to) every internet
/// address of IPv4 or of IPv6: allows for narrower ranges that together
/// cover the internet count, and a narrower deny ahead of an allow takes
/// its port out of this list (it is no longer open to the whole internet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Admission {
    /// Admitted TCP ports, each span labelled with the first entry
    /// admitting it.
    pub tcp: Vec<PortSpan>,
    pub udp: Vec<PortSpan>,
    /// The first entry for every protocol that allows some port to the
    /// whole internet.
    pub all_protocols_rule: Option<i32>,
}

/// Derived facts about one ACL, for rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AclFacts {
    /// The `tcp` and `udp` port spans the ACL admits from every internet
    /// address of a family (IPv4 and IPv6 together), by first-match
    /// evaluation per address and port, each with the first admitting
    /// `rule_number`; `all_protocols_rule`, the first all-protocol allow
    /// that opens some port to the whole internet.
    pub internet_ingress: Admission,
    /// The same, outbound to the internet.
    pub internet_egress: Admission,
    /// Ephemeral ports (1024-65535) to which the ACL lets no reply out to
    /// the internet addresses it serves inbound, per transport: clients
    /// using them get no answer. Inbound entries for a range within the
    /// ephemeral ports up to 65535 exist to receive replies to the subnet's
    /// own requests, so they do not count as serving.
    pub ephemeral_return_blocked: ReturnBlocked,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ReturnBlocked {
    pub tcp: Vec<PortSpan>,
    pub udp: Vec<PortSpan>,
}

impl Admission {
    fn spans(&mut self, transport: Transport) -> &mut Vec<PortSpan> {
        match transport {
            Transport::Tcp => &mut self.tcp,
            Transport::Udp => &mut self.udp,
        }
    }

    fn first_all_protocols(&mut self, rule: Option<i32>) {
        self.all_protocols_rule = match (self.all_protocols_rule, rule) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

impl ReturnBlocked {
    fn spans(&mut self, transport: Transport) -> &mut Vec<PortSpan> {
        match transport {
            Transport::Tcp => &mut self.tcp,
            Transport::Udp => &mut self.udp,
        }
    }
}

impl AclFacts {
    pub fn of(acl: &NetworkAcl) -> AclFacts {
        let mut facts = AclFacts::default();
        for family in Family::BOTH {
            let internet = family.internet();
            for transport in Transport::BOTH {
                let inbound = AclDecisions::of(acl, false, family, transport);
                let outbound = AclDecisions::of(acl, true, family, transport);
                facts
                    .internet_ingress
                    .spans(transport)
                    .extend(open_spans(&inbound, &internet));
                facts
                    .internet_egress
                    .spans(transport)
                    .extend(open_spans(&outbound, &internet));
                if transport == Transport::Tcp {
                    facts
                        .internet_ingress
                        .first_all_protocols(all_protocols_rule(acl, false, &inbound, &internet));
                    facts
                        .internet_egress
                        .first_all_protocols(all_protocols_rule(acl, true, &outbound, &internet));
                }
                // Replies leave in the family the request came in.
                let served = served_sources(acl, &inbound).intersection(&internet);
                if served.is_empty() {
                    continue;
                }
                let answered = Intervals::of(
                    outbound
                        .admitted
                        .pieces()
                        .iter()
                        .filter(|(_, addresses)| addresses.intersects(&served))
                        .map(|(span, _)| *span),
                );
                facts.ephemeral_return_blocked.spans(transport).extend(
                    ephemeral_ports()
                        .difference(&answered)
                        .spans()
                        .iter()
                        .map(|(from, to)| PortSpan::new(port_number(*from), port_number(*to))),
                );
            }
        }
        for spans in [
            &mut facts.internet_ingress.tcp,
            &mut facts.internet_ingress.udp,
            &mut facts.internet_egress.tcp,
            &mut facts.internet_egress.udp,
            &mut facts.ephemeral_return_blocked.tcp,
            &mut facts.ephemeral_return_blocked.udp,
        ] {
            spans.sort_by_key(|span| (span.from, span.to));
        }
        facts
    }
}

/// The ports admitted for every internet address, cut where the first
/// admitting entry changes and labelled with it.
fn open_spans(decisions: &AclDecisions, internet: &Intervals) -> Vec<PortSpan> {
    let covered = decisions.admitted.ports_covering(internet);
    let mut cuts: Vec<u128> = decisions
        .allowed
        .iter()
        .flat_map(|(_, flows)| flows.pieces().iter().map(|((first, _), _)| *first))
        .chain(
            decisions
                .allowed
                .iter()
                .flat_map(|(_, flows)| flows.pieces().iter().map(|((_, last), _)| last + 1)),
        )
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<PortSpan> = Vec::new();
    for &(first, last) in covered.spans() {
        let mut start = first;
        while start <= last {
            let end = cuts
                .iter()
                .find(|cut| **cut > start)
                .map_or(last, |cut| (cut - 1).min(last));
            let piece = Flows::rect(&Intervals::span(start, end), internet);
            let rule = decisions.allowing(&piece).first().copied();
            match out.last_mut() {
                Some(previous)
                    if previous.rule_number == rule
                        && i64::from(previous.to) + 1 == i64::from(port_number(start)) =>
                {
                    previous.to = port_number(end);
                }
                _ => out.push(PortSpan {
                    from: port_number(start),
                    to: port_number(end),
                    rule_number: rule,
                }),
            }
            start = end + 1;
        }
    }
    out
}

/// The first entry for every protocol that allows some port to every
/// internet address.
fn all_protocols_rule(
    acl: &NetworkAcl,
    egress: bool,
    decisions: &AclDecisions,
    internet: &Intervals,
) -> Option<i32> {
    decisions
        .allowed
        .iter()
        .filter(|(number, _)| {
            acl.entries.iter().any(|e| {
                e.egress == egress && e.rule_number == *number && e.protocol == Protocol::All
            })
        })
        .find(|(_, flows)| !flows.ports_covering(internet).is_empty())
        .map(|(number, _)| *number)
}

/// Whether an inbound entry exists to receive replies: it allows only
/// ports in the ephemeral range, up to 65535.
fn receives_replies(entry: &NetworkAclEntry) -> bool {
    entry.protocol != Protocol::All
        && entry
            .port_range
            .is_some_and(|range| range.from >= 1024 && range.to == 65_535)
}

/// The addresses admitted inbound by entries that serve rather than
/// receive replies.
fn served_sources(acl: &NetworkAcl, inbound: &AclDecisions) -> Intervals {
    inbound
        .allowed
        .iter()
        .filter(|(number, _)| {
            !acl.entries
                .iter()
                .any(|e| !e.egress && e.rule_number == *number && receives_replies(e))
        })
        .fold(Intervals::empty(), |all, (_, flows)| {
            all.union(&flows.addresses_on(&Intervals::span(0, MAX_PORT)))
        })
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
        family: Family,
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
                Family::Ipv4 => entry.cidr_ipv4.as_deref(),
                Family::Ipv6 => entry.cidr_ipv6.as_deref(),
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

    fn ingress(acl: &NetworkAcl) -> Admission {
        AclFacts::of(acl).internet_ingress
    }

    #[test]
    fn an_earlier_deny_closes_its_port_and_the_allow_opens_the_rest() {
        let acl = acl(vec![
            entry(90, Protocol::Tcp, Some((22, 22)), false),
            entry(100, Protocol::All, None, true),
            entry(32767, Protocol::All, None, false),
        ]);
        let admitted = ingress(&acl);
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
        let admitted = ingress(&acl);
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
        assert_eq!(ingress(&acl), Admission::default());
    }

    #[test]
    fn narrower_allows_covering_the_internet_open_a_port_and_a_narrower_deny_closes_it() {
        let half = |rule, cidr: &str, allow| {
            let mut e = entry(rule, Protocol::Tcp, Some((22, 22)), allow);
            e.cidr_ipv4 = Some(cidr.to_owned());
            e
        };
        let halves = acl(vec![
            half(100, "0.0.0.0/1", true),
            half(110, "128.0.0.0/1", true),
        ]);
        assert_eq!(ingress(&halves).tcp, [span(22, 22, 100)]);
        let one_half = acl(vec![half(100, "0.0.0.0/1", true)]);
        assert_eq!(ingress(&one_half).tcp, []);
        let blocklist = acl(vec![
            half(50, "203.0.113.0/24", false),
            entry(100, Protocol::All, None, true),
        ]);
        let admitted = ingress(&blocklist);
        assert_eq!(admitted.tcp, [span(0, 21, 100), span(23, 65_535, 100)]);
        assert_eq!(
            admitted.all_protocols_rule,
            Some(100),
            "other ports stay open"
        );
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

    /// AWS's documented ACL for a private subnet behind a NAT gateway: the
    /// inbound ephemeral entry receives replies to the subnet's own
    /// requests, so nothing is served to the internet and no reply is
    /// owed to it.
    #[test]
    fn the_documented_private_subnet_acl_blocks_no_replies() {
        let from_public = |rule, port| {
            let mut e = entry(rule, Protocol::Tcp, Some((port, port)), true);
            e.cidr_ipv4 = Some("10.0.0.0/24".to_owned());
            e
        };
        let out = |rule, ports: (i32, i32), cidr: &str| {
            let mut e = entry(rule, Protocol::Tcp, Some(ports), true);
            e.egress = true;
            e.cidr_ipv4 = Some(cidr.to_owned());
            e
        };
        let private = acl(vec![
            from_public(100, 1433),
            from_public(120, 3306),
            from_public(130, 22),
            from_public(140, 3389),
            entry(150, Protocol::Tcp, Some((1024, 65_535)), true),
            out(100, (80, 80), "0.0.0.0/0"),
            out(110, (443, 443), "0.0.0.0/0"),
            out(120, (1024, 65_535), "10.0.0.0/24"),
        ]);
        let facts = AclFacts::of(&private);
        assert_eq!(facts.internet_ingress.tcp, [span(1024, 65_535, 150)]);
        assert_eq!(facts.ephemeral_return_blocked, ReturnBlocked::default());
        // Serving SSH to the internet from the same ACL owes replies.
        let mut serving = private.clone();
        serving
            .entries
            .push(entry(160, Protocol::Tcp, Some((22, 22)), true));
        assert_eq!(
            AclFacts::of(&serving).ephemeral_return_blocked.tcp,
            [PortSpan::new(1024, 65_535)]
        );
    }

    #[test]
    fn entries_for_narrower_sources_or_the_other_family_do_not_open_a_port() {
        let mut narrow = entry(50, Protocol::Tcp, Some((22, 22)), true);
        narrow.cidr_ipv4 = Some("203.0.113.0/24".to_owned());
        let mut v6 = entry(60, Protocol::Tcp, Some((80, 80)), true);
        v6.cidr_ipv4 = None;
        v6.cidr_ipv6 = Some("2000::/3".to_owned());
        let facts = AclFacts::of(&acl(vec![narrow, v6]));
        assert_eq!(facts.internet_ingress.tcp, [span(80, 80, 60)]);
        assert_eq!(facts.internet_egress, Admission::default());
    }
}
