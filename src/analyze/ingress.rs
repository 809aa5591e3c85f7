//! What a security group admits from the whole internet. A group's
//! permissions are a union: a port is open to the internet when the
//! permissions admitting it together cover every IPv4 or every IPv6
//! address, whether one rule says 0.0.0.0/0 or two say 0.0.0.0/1 and
//! 128.0.0.0/1, possibly on different port ranges that overlap on it. Every
//! security-group rule and the exposure analysis read this one fact.

use schemars::JsonSchema;
use serde::Serialize;

use super::cidr::Network;
use super::ports::{MAX_PORT, Transport, port_interval};
use super::sets::{Family, Flows, Intervals, PortText};
use crate::snapshot::ec2::{CidrSource, Permission, Protocol, SecurityGroup};

/// The inbound traffic a group admits from every address of a family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct InternetIngress {
    /// Every protocol and port (rules for protocol `all`), when those rules
    /// together cover the internet.
    pub all_protocols: Option<OpenSources>,
    /// TCP ports, rules for every protocol included, as disjoint spans in
    /// port order.
    pub tcp: Vec<OpenPorts>,
    pub udp: Vec<OpenPorts>,
    /// When every TCP port is open to the internet, each in one family or
    /// the other (the spans above may be cut where their sources differ):
    /// the sources of all of them.
    pub every_tcp_port: Option<OpenSources>,
    pub every_udp_port: Option<OpenSources>,
}

/// The sources that together cover the internet, per family; a family's
/// list is empty when its addresses are not all admitted. Ranges inside
/// another listed range are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OpenSources {
    pub ipv4_sources: Vec<String>,
    pub ipv6_sources: Vec<String>,
}

/// Ports `from..=to`, open to the internet through `sources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OpenPorts {
    pub from: i32,
    pub to: i32,
    #[serde(flatten)]
    pub sources: OpenSources,
}

impl OpenSources {
    /// What the permissions admit together; `None` when they cover
    /// neither family.
    fn of<'a>(permissions: impl Iterator<Item = &'a Permission> + Clone) -> Option<OpenSources> {
        let family = |ranges: fn(&Permission) -> &[CidrSource]| {
            covering(permissions.clone().flat_map(ranges))
        };
        let sources = OpenSources {
            ipv4_sources: family(|p| &p.ipv4_ranges),
            ipv6_sources: family(|p| &p.ipv6_ranges),
        };
        (!sources.ipv4_sources.is_empty() || !sources.ipv6_sources.is_empty()).then_some(sources)
    }

    /// Whether every IPv4 address is admitted.
    pub fn covers_ipv4(&self) -> bool {
        !self.ipv4_sources.is_empty()
    }
}

/// The ranges, when together they cover their whole family, as
/// [`outermost`] lists them; otherwise none.
fn covering<'a>(ranges: impl Iterator<Item = &'a CidrSource>) -> Vec<String> {
    let texts: Vec<&str> = ranges.map(|r| r.cidr.as_str()).collect();
    let Some(family) = texts.first().map(|text| Family::of_text(text)) else {
        return Vec::new();
    };
    if Intervals::of_cidrs(texts.iter().copied(), family).covers(&family.internet()) {
        outermost(texts)
    } else {
        Vec::new()
    }
}

/// Ranges sorted, each once, without those another range contains.
/// Unparsable ranges admit nothing AWS would accept, so they are left out.
fn outermost<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let networks: Vec<(Network, &str)> = texts
        .into_iter()
        .filter_map(|text| Network::parse(text).map(|n| (n, text)))
        .collect();
    let mut out: Vec<String> = networks
        .iter()
        .filter(|(network, _)| {
            !networks
                .iter()
                .any(|(other, _)| other != network && other.contains(network))
        })
        .map(|(_, text)| (*text).to_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The ports a TCP or UDP permission admits; every port for `all`.
fn ports(permission: &Permission, protocol: Protocol) -> Option<(i32, i32)> {
    if permission.protocol == Protocol::All {
        return Some((0, MAX_PORT));
    }
    if permission.protocol != protocol {
        return None;
    }
    Some(permission.port_range.map_or((0, MAX_PORT), |range| {
        (range.from.max(0), range.to.min(MAX_PORT))
    }))
}

/// The ports of one protocol open to the internet: the port space is cut
/// at every permission's bounds, and each piece is open when the
/// permissions admitting all of it cover a family together.
fn open_ports(group: &SecurityGroup, protocol: Protocol) -> Vec<OpenPorts> {
    let spans: Vec<((i32, i32), &Permission)> = group
        .ingress
        .iter()
        .filter_map(|p| ports(p, protocol).map(|span| (span, p)))
        .filter(|((from, to), _)| from <= to)
        .collect();
    let mut cuts: Vec<i32> = spans
        .iter()
        .flat_map(|((from, to), _)| [*from, to + 1])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<OpenPorts> = Vec::new();
    for piece in cuts.windows(2) {
        let (from, to) = (piece[0], piece[1] - 1);
        let admitting = spans
            .iter()
            .filter(|((f, t), _)| *f <= from && to <= *t)
            .map(|(_, p)| *p);
        let Some(sources) = OpenSources::of(admitting) else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.to + 1 == from && last.sources == sources => last.to = to,
            _ => out.push(OpenPorts { from, to, sources }),
        }
    }
    out
}

/// The sources of every port, when the spans leave no port out.
fn every_port(spans: &[OpenPorts]) -> Option<OpenSources> {
    let mut next = 0;
    for span in spans {
        if span.from != next {
            return None;
        }
        next = span.to + 1;
    }
    if next != MAX_PORT + 1 {
        return None;
    }
    let union = |family: fn(&OpenSources) -> &Vec<String>| {
        outermost(
            spans
                .iter()
                .flat_map(|span| family(&span.sources).iter().map(String::as_str)),
        )
    };
    Some(OpenSources {
        ipv4_sources: union(|s| &s.ipv4_sources),
        ipv6_sources: union(|s| &s.ipv6_sources),
    })
}

impl InternetIngress {
    pub fn of(group: &SecurityGroup) -> InternetIngress {
        let tcp = open_ports(group, Protocol::Tcp);
        let udp = open_ports(group, Protocol::Udp);
        InternetIngress {
            all_protocols: OpenSources::of(
                group.ingress.iter().filter(|p| p.protocol == Protocol::All),
            ),
            every_tcp_port: every_port(&tcp),
            every_udp_port: every_port(&udp),
            tcp,
            udp,
        }
    }
}

/// One inbound permission of a group as the (port, source address) pairs
/// it admits in one family and transport. Sources that are other groups or
/// prefix lists are not internet addresses the model can name, so they
/// admit nothing here.
#[derive(Debug, Clone)]
pub struct GroupRule {
    pub group_id: String,
    /// `sg-0abc: tcp 22 from 0.0.0.0/0`.
    pub label: String,
    pub flows: Flows,
}

/// The group's inbound permissions for one family and transport.
pub fn group_rules(group: &SecurityGroup, family: Family, transport: Transport) -> Vec<GroupRule> {
    let protocol = match transport {
        Transport::Tcp => Protocol::Tcp,
        Transport::Udp => Protocol::Udp,
    };
    group
        .ingress
        .iter()
        .filter_map(|permission| {
            let (from, to) = ports(permission, protocol)?;
            let cidrs: Vec<&str> = match family {
                Family::Ipv4 => &permission.ipv4_ranges,
                Family::Ipv6 => &permission.ipv6_ranges,
            }
            .iter()
            .map(|source| source.cidr.as_str())
            .collect();
            let flows = Flows::rect(
                &port_interval(from, to),
                &Intervals::of_cidrs(cidrs.iter().copied(), family),
            );
            if flows.is_empty() {
                return None;
            }
            let what = if permission.protocol == Protocol::All {
                "all traffic".to_owned()
            } else {
                format!("{} {}", transport.name(), PortText(from, to))
            };
            Some(GroupRule {
                group_id: group.meta.id.clone(),
                label: format!("{}: {what} from {}", group.meta.id, cidrs.join(", ")),
                flows,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ec2::PortRange;

    fn permission(protocol: Protocol, ports: Option<(i32, i32)>, cidrs: &[&str]) -> Permission {
        let source = |cidr: &&str| CidrSource {
            cidr: (*cidr).to_owned(),
            description: None,
        };
        Permission {
            protocol,
            port_range: ports.map(|(from, to)| PortRange { from, to }),
            icmp: None,
            ipv4_ranges: cidrs
                .iter()
                .filter(|c| !c.contains(':'))
                .map(source)
                .collect(),
            ipv6_ranges: cidrs
                .iter()
                .filter(|c| c.contains(':'))
                .map(source)
                .collect(),
            prefix_list_ids: vec![],
            referenced_groups: vec![],
        }
    }

    fn group(ingress: Vec<Permission>) -> SecurityGroup {
        serde_json::from_value(serde_json::json!({
            "id": "sg-1", "arn": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
            "region": "us-east-1", "name": "g", "vpc_id": "vpc-1", "egress": [], "ingress": [],
        }))
        .map(|mut group: SecurityGroup| {
            group.ingress = ingress;
            group
        })
        .expect("group parses")
    }

    fn open(from: i32, to: i32, v4: &[&str], v6: &[&str]) -> OpenPorts {
        OpenPorts {
            from,
            to,
            sources: OpenSources {
                ipv4_sources: v4.iter().map(|s| (*s).to_owned()).collect(),
                ipv6_sources: v6.iter().map(|s| (*s).to_owned()).collect(),
            },
        }
    }

    #[test]
    fn halves_of_the_internet_on_overlapping_port_ranges_open_only_the_overlap() {
        let facts = InternetIngress::of(&group(vec![
            permission(Protocol::Tcp, Some((20, 30)), &["0.0.0.0/1"]),
            permission(Protocol::Tcp, Some((22, 80)), &["128.0.0.0/1"]),
        ]));
        assert_eq!(
            facts.tcp,
            [open(22, 30, &["0.0.0.0/1", "128.0.0.0/1"], &[])]
        );
        assert_eq!(facts.udp, []);
        assert_eq!(facts.all_protocols, None);
    }

    #[test]
    fn each_family_is_judged_on_its_own_and_narrower_ranges_inside_a_wider_one_are_left_out() {
        let facts = InternetIngress::of(&group(vec![
            permission(Protocol::Tcp, Some((0, 1024)), &["::/0", "10.0.0.0/8"]),
            permission(
                Protocol::Tcp,
                Some((22, 22)),
                &["0.0.0.0/0", "203.0.113.0/24"],
            ),
            permission(Protocol::Udp, Some((53, 53)), &["0.0.0.0/1", "8000::/1"]),
        ]));
        assert_eq!(
            facts.tcp,
            [
                open(0, 21, &[], &["::/0"]),
                open(22, 22, &["0.0.0.0/0"], &["::/0"]),
                open(23, 1024, &[], &["::/0"]),
            ]
        );
        assert_eq!(facts.udp, [], "half of each family is not the internet");
    }

    #[test]
    fn every_internet_address_is_enough_without_the_private_ranges() {
        // The public IPv4 space less nothing routable: open, though 10/8
        // and the other private ranges are left out; ::/1 holds 2000::/3.
        let public = Family::Ipv4.internet().to_cidrs(Family::Ipv4);
        let texts: Vec<&str> = public.iter().map(String::as_str).collect();
        let facts = InternetIngress::of(&group(vec![
            permission(Protocol::Tcp, Some((22, 22)), &texts),
            permission(Protocol::Tcp, Some((443, 443)), &["::/1"]),
        ]));
        assert_eq!(facts.tcp.len(), 2);
        assert_eq!(
            (facts.tcp[0].from, facts.tcp[0].sources.ipv4_sources.len()),
            (22, public.len())
        );
        assert_eq!(facts.tcp[1].sources.ipv6_sources, ["::/1"]);
        let one_short = InternetIngress::of(&group(vec![permission(
            Protocol::Tcp,
            Some((22, 22)),
            &texts[1..],
        )]));
        assert_eq!(one_short.tcp, []);
    }

    #[test]
    fn every_protocol_opens_every_tcp_and_udp_port_but_icmp_opens_none() {
        let facts = InternetIngress::of(&group(vec![
            permission(Protocol::All, None, &["0.0.0.0/0"]),
            permission(Protocol::Icmp, None, &["::/0"]),
        ]));
        let everything = open(0, MAX_PORT, &["0.0.0.0/0"], &[]);
        assert_eq!(facts.tcp, facts.udp);
        assert_eq!(facts.udp, [everything]);
        assert_eq!(
            facts.all_protocols,
            Some(OpenSources {
                ipv4_sources: vec!["0.0.0.0/0".to_owned()],
                ipv6_sources: vec![],
            })
        );
    }

    #[test]
    fn every_port_is_open_even_when_one_port_s_sources_differ() {
        // One more rule on 443 cuts the span, but leaves no port closed.
        let facts = InternetIngress::of(&group(vec![
            permission(Protocol::Tcp, Some((0, MAX_PORT)), &["0.0.0.0/0"]),
            permission(Protocol::Tcp, Some((443, 443)), &["::/0"]),
        ]));
        assert_eq!(facts.tcp.len(), 3);
        assert_eq!(
            facts.every_tcp_port,
            Some(OpenSources {
                ipv4_sources: vec!["0.0.0.0/0".to_owned()],
                ipv6_sources: vec!["::/0".to_owned()],
            })
        );
        assert_eq!(facts.every_udp_port, None);
        let halves_and_one_port = InternetIngress::of(&group(vec![
            permission(
                Protocol::Tcp,
                Some((0, MAX_PORT)),
                &["0.0.0.0/1", "128.0.0.0/1"],
            ),
            permission(Protocol::Tcp, Some((22, 22)), &["0.0.0.0/0"]),
        ]));
        assert_eq!(
            halves_and_one_port.every_tcp_port,
            Some(OpenSources {
                ipv4_sources: vec!["0.0.0.0/0".to_owned()],
                ipv6_sources: vec![],
            })
        );
        let one_port_short = InternetIngress::of(&group(vec![permission(
            Protocol::Tcp,
            Some((1, MAX_PORT)),
            &["0.0.0.0/0"],
        )]));
        assert_eq!(one_port_short.every_tcp_port, None);
    }

    #[test]
    fn a_udp_rule_never_opens_tcp_and_adjacent_pieces_with_the_same_sources_merge() {
        let facts = InternetIngress::of(&group(vec![
            permission(Protocol::Udp, Some((22, 22)), &["0.0.0.0/0"]),
            permission(Protocol::Tcp, Some((80, 80)), &["0.0.0.0/0"]),
            permission(Protocol::Tcp, Some((81, 90)), &["0.0.0.0/0"]),
        ]));
        assert_eq!(facts.tcp, [open(80, 90, &["0.0.0.0/0"], &[])]);
        assert_eq!(facts.udp, [open(22, 22, &["0.0.0.0/0"], &[])]);
    }
}
