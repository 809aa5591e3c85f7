//! What is really reachable from the internet, per network interface and
//! instance, per address family and transport, computed over exact sets
//! of (port, remote address) pairs. A connection from an internet address
//! to a port of an interface is delivered when every hop admits it:
//!
//! 1. the interface has an address of that family the internet can reach
//!    (a public IPv4 address or Elastic IP, on any of its private
//!    addresses; a global IPv6 address);
//! 2. the subnet's route table (explicit association, else main) sends
//!    the reply to that address through an internet gateway, by
//!    longest-prefix match;
//! 3. the subnet's network ACL admits the packet inbound, first match per
//!    address and port;
//! 4. the ACL admits the reply outbound to some client ephemeral port
//!    (ACLs are stateless);
//! 5. the interface's security groups admit it (their union; stateful, so
//!    the reply needs nothing).
//!
//! A port counts as open to the internet when the groups admit it from
//! every internet address of the family (what the security-group rules
//! check); it is reachable when, after every other hop, some internet
//! address still gets through. Each reachable span carries its path with
//! the deciding element at every hop; each open span that is not reachable
//! says which hop blocks it. Where a hop's data is missing the facts say
//! so in `unknown`, and rules give no verdict unless the data present
//! already proves an exposure.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;
use serde::Serialize;

use super::ingress::{GroupRule, group_rules};
use super::nacl::AclDecisions;
use super::network::RegionNetwork;
use super::ports::{Transport, ephemeral_ports, port_number};
use super::routes::Routing;
use super::sets::{Family, Flows, Intervals, MAX_PORT, PortText};
use crate::snapshot::RegionSnapshot;
use crate::snapshot::ec2::{NetworkAcl, SecurityGroup};

/// The internet exposure of an interface or of an instance (all of its
/// interfaces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Exposure {
    /// Public IPv4 addresses and Elastic IPs, on any private address.
    pub public_ips: Vec<String>,
    /// Global (internet-routable) IPv6 addresses.
    pub ipv6_addresses: Vec<String>,
    /// Ports the security groups together open to every internet address
    /// of a family.
    pub open_in_security_groups: Vec<OpenPort>,
    /// Of those, the ports every hop admits from some internet address.
    pub reachable: Vec<PortPath>,
    /// Why open ports are not reachable, one sentence per blocking hop.
    pub blocked_by: Vec<String>,
    /// Data the verdict needs that the snapshot lacks; when not empty and
    /// nothing is reachable, there is no verdict.
    pub unknown: Vec<String>,
}

/// A span of ports the security groups open to the whole internet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OpenPort {
    /// `tcp` or `udp`.
    pub protocol: &'static str,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    pub from: i32,
    pub to: i32,
    pub network_interface_id: String,
    pub security_group_ids: Vec<String>,
    /// The group rules admitting it, e.g. `sg-0abc: tcp 22 from 0.0.0.0/0`.
    pub security_group_rules: Vec<String>,
}

/// A span of reachable ports and the element deciding every hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PortPath {
    pub protocol: &'static str,
    pub family: &'static str,
    pub from: i32,
    pub to: i32,
    pub network_interface_id: String,
    /// The interface's addresses of the family the internet reaches.
    pub addresses: Vec<String>,
    /// The internet addresses that get through, in words: `every internet
    /// IPv4 address`, `… except 203.0.113.0/24`, or the ranges.
    pub sources: String,
    /// The same addresses, exactly.
    #[serde(skip)]
    pub source_set: Intervals,
    pub internet_gateway_id: Option<String>,
    pub route_table_id: String,
    /// The routes sending the replies to the internet gateway.
    pub routes: Vec<String>,
    pub network_acl_id: String,
    pub network_acl_inbound_rules: Vec<i32>,
    /// The entries admitting the replies.
    pub network_acl_outbound_rules: Vec<i32>,
    pub security_group_ids: Vec<String>,
    pub security_group_rules: Vec<String>,
    /// The load balancer the traffic passes through, when it does.
    pub load_balancer: Option<String>,
    /// `HTTP` or `HTTPS` when a load balancer terminates the connection
    /// and forwards requests, so the port only ever receives HTTP.
    pub application_protocol: Option<String>,
    /// The whole path in one line, for messages.
    pub path: String,
}

/// Every direction, family and transport of one ACL, decided once.
pub struct AclModel {
    id: String,
    /// By direction (inbound, outbound), family and transport.
    decisions: [[[AclDecisions; 2]; 2]; 2],
}

impl AclModel {
    pub fn of(acl: &NetworkAcl) -> AclModel {
        AclModel {
            id: acl.meta.id.clone(),
            decisions: std::array::from_fn(|egress| {
                std::array::from_fn(|family| {
                    std::array::from_fn(|transport| {
                        AclDecisions::of(
                            acl,
                            egress == 1,
                            Family::BOTH[family],
                            Transport::BOTH[transport],
                        )
                    })
                })
            }),
        }
    }

    fn get(&self, egress: bool, family: Family, transport: Transport) -> &AclDecisions {
        &self.decisions[usize::from(egress)][family.index()][transport.index()]
    }
}

/// A group's inbound rules per family and transport, built once.
pub struct GroupModel {
    rules: [[Vec<GroupRule>; 2]; 2],
}

impl GroupModel {
    pub fn of(group: &SecurityGroup) -> GroupModel {
        GroupModel {
            rules: std::array::from_fn(|family| {
                std::array::from_fn(|transport| {
                    group_rules(group, Family::BOTH[family], Transport::BOTH[transport])
                })
            }),
        }
    }

    fn rules(&self, family: Family, transport: Transport) -> &[GroupRule] {
        &self.rules[family.index()][transport.index()]
    }
}

/// The region's hops, each modelled once and shared by every interface.
pub struct RegionModel<'a> {
    network: &'a RegionNetwork,
    /// What an endpoint without security groups admits, per family.
    admit_all: [GroupRule; 2],
    acls: HashMap<&'a str, AclModel>,
    routing: HashMap<&'a str, [Routing; 2]>,
    groups: HashMap<&'a str, GroupModel>,
}

impl<'a> RegionModel<'a> {
    /// The hops of a region. Only groups some interface, instance or load
    /// balancer names are modelled: a region may hold many more.
    pub fn of(region: &'a RegionSnapshot, network: &'a RegionNetwork) -> RegionModel<'a> {
        let ec2 = &region.ec2;
        let named: HashSet<&str> = ec2
            .network_interfaces
            .iter()
            .flat_map(|eni| &eni.security_group_ids)
            .chain(ec2.instances.iter().flat_map(|i| &i.security_group_ids))
            .chain(
                region
                    .elbv2
                    .iter()
                    .flat_map(|elbv2| &elbv2.load_balancers)
                    .flat_map(|lb| &lb.security_group_ids),
            )
            .chain(
                region
                    .elb
                    .iter()
                    .flat_map(|elb| &elb.load_balancers)
                    .flat_map(|lb| &lb.security_group_ids),
            )
            .map(String::as_str)
            .collect();
        RegionModel {
            network,
            admit_all: Family::BOTH.map(|family| GroupRule {
                group_id: "no security group".to_owned(),
                label: "no security group: every client admitted".to_owned(),
                flows: Flows::rect(&Intervals::span(0, MAX_PORT), &family.everything()),
            }),
            acls: ec2
                .network_acls
                .iter()
                .map(|acl| (acl.meta.id.as_str(), AclModel::of(acl)))
                .collect(),
            routing: ec2
                .route_tables
                .iter()
                .map(|table| {
                    let routing = [
                        Routing::of(table, Family::Ipv4),
                        Routing::of(table, Family::Ipv6),
                    ];
                    (table.meta.id.as_str(), routing)
                })
                .collect(),
            groups: ec2
                .security_groups
                .iter()
                .filter(|group| named.contains(group.meta.id.as_str()))
                .map(|group| (group.meta.id.as_str(), GroupModel::of(group)))
                .collect(),
        }
    }
}

impl RegionModel<'_> {
    /// The inbound rules of the named groups that the snapshot holds, for
    /// one family and transport.
    pub fn group_rules(
        &self,
        group_ids: &[String],
        family: Family,
        transport: Transport,
    ) -> Vec<&GroupRule> {
        group_ids
            .iter()
            .filter_map(|id| self.groups.get(id.as_str()))
            .flat_map(|group| group.rules(family, transport))
            .collect()
    }
}

/// Where an interface sits and what guards it.
pub struct Endpoint<'a> {
    pub network_interface_id: &'a str,
    pub public_ipv4: Vec<&'a str>,
    pub ipv6_addresses: &'a [String],
    pub subnet_id: Option<&'a str>,
    pub security_group_ids: &'a [String],
    /// A network load balancer without security groups admits every
    /// client.
    pub open_without_groups: bool,
    /// What the snapshot lacks about the interface itself.
    pub unknown: Vec<String>,
}

/// The hops of an interface that the snapshot holds.
struct Hops<'m> {
    groups: Vec<&'m GroupModel>,
    routing: Option<&'m [Routing; 2]>,
    acl: Option<&'m AclModel>,
}

fn hops<'m>(
    model: &'m RegionModel<'_>,
    endpoint: &Endpoint,
    unknown: &mut Vec<String>,
) -> Hops<'m> {
    let eni = endpoint.network_interface_id;
    let mut groups = Vec::new();
    for id in endpoint.security_group_ids {
        match model.groups.get(id.as_str()) {
            Some(group) => groups.push(group),
            None => unknown.push(format!(
                "security group {id} of {eni} is not in the snapshot"
            )),
        }
    }
    let subnet = match endpoint.subnet_id {
        None => {
            unknown.push(format!("{eni} names no subnet"));
            None
        }
        Some(id) => {
            let found = model.network.subnets.get(id);
            if found.is_none() {
                unknown.push(format!("subnet {id} of {eni} is not in the snapshot"));
            }
            found.map(|facts| (id, facts))
        }
    };
    let routing = subnet.and_then(|(id, facts)| {
        let found = facts
            .route_table_id
            .as_deref()
            .and_then(|table| model.routing.get(table));
        if found.is_none() {
            unknown.push(format!(
                "the route table of subnet {id} is not in the snapshot"
            ));
        }
        found
    });
    let acl = subnet.and_then(|(id, facts)| {
        let found = facts
            .network_acl_id
            .as_deref()
            .and_then(|acl| model.acls.get(acl));
        if found.is_none() {
            unknown.push(format!(
                "the network ACL of subnet {id} is not in the snapshot"
            ));
        }
        found
    });
    Hops {
        groups,
        routing,
        acl,
    }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    }
}

pub(super) fn ports_text(ports: &Intervals) -> String {
    ports
        .spans()
        .iter()
        .map(|(from, to)| PortText(*from, *to).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn numbers_text(numbers: &[i32]) -> String {
    numbers
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The internet addresses in `addresses`, in words.
fn describe_sources(addresses: &Intervals, family: Family) -> String {
    const MOST: usize = 4;
    let internet = family.internet();
    let everyone = format!("every internet {} address", family.name());
    let missing = internet.difference(addresses).to_cidrs(family);
    if missing.is_empty() {
        return everyone;
    }
    if missing.len() <= MOST {
        return format!("{everyone} except {}", missing.join(", "));
    }
    let cidrs = addresses.to_cidrs(family);
    if cidrs.len() <= MOST {
        return cidrs.join(", ");
    }
    format!(
        "{} and {} more ranges",
        cidrs[..MOST].join(", "),
        cidrs.len() - MOST
    )
}

/// The exposure of one interface.
pub fn exposure(model: &RegionModel<'_>, endpoint: &Endpoint) -> Exposure {
    let eni = endpoint.network_interface_id;
    let mut exposure = Exposure {
        public_ips: endpoint
            .public_ipv4
            .iter()
            .map(|ip| (*ip).to_owned())
            .collect(),
        ipv6_addresses: endpoint
            .ipv6_addresses
            .iter()
            .filter(|ip| {
                Intervals::of_cidrs([ip.as_str()], Family::Ipv6)
                    .intersects(&Family::Ipv6.internet())
            })
            .cloned()
            .collect(),
        unknown: endpoint.unknown.clone(),
        ..Exposure::default()
    };
    let hops = hops(model, endpoint, &mut exposure.unknown);
    let every_port = Intervals::span(0, MAX_PORT);
    for family in Family::BOTH {
        let addresses = match family {
            Family::Ipv4 => exposure.public_ips.clone(),
            Family::Ipv6 => exposure.ipv6_addresses.clone(),
        };
        let internet = family.internet();
        let mut no_address_said = false;
        for transport in Transport::BOTH {
            let mut rules: Vec<&GroupRule> = hops
                .groups
                .iter()
                .flat_map(|group| group.rules(family, transport))
                .collect();
            if endpoint.open_without_groups {
                rules.push(&model.admit_all[family.index()]);
            }
            let admitted = rules
                .iter()
                .fold(Flows::empty(), |all, rule| all.union(&rule.flows));
            let open = admitted.ports_covering(&internet);
            if open.is_empty() {
                continue;
            }
            let upper = transport.name().to_uppercase();
            for &(from, to) in open.spans() {
                let span = Flows::rect(&Intervals::span(from, to), &internet);
                let deciding: Vec<&&GroupRule> =
                    rules.iter().filter(|r| r.flows.intersects(&span)).collect();
                exposure.open_in_security_groups.push(OpenPort {
                    protocol: transport.name(),
                    family: family_name(family),
                    from: port_number(from),
                    to: port_number(to),
                    network_interface_id: eni.to_owned(),
                    security_group_ids: dedup(deciding.iter().map(|r| r.group_id.clone())),
                    security_group_rules: deciding.iter().map(|r| r.label.clone()).collect(),
                });
            }
            let (Some(routing), Some(acl)) = (hops.routing, hops.acl) else {
                continue;
            };
            if addresses.is_empty() {
                if !no_address_said {
                    exposure.blocked_by.push(format!(
                        "{eni} has no {} address the internet can reach",
                        match family {
                            Family::Ipv4 => "public IPv4",
                            Family::Ipv6 => "global IPv6",
                        }
                    ));
                    no_address_said = true;
                }
                continue;
            }
            let routing = &routing[family.index()];
            let alive = admitted.restrict(&open, &internet);
            let routable = internet.intersection(&routing.to_internet);
            if routable.is_empty() {
                let routes: Vec<&str> = routing
                    .deciding(&internet)
                    .map(|d| d.label.as_str())
                    .collect();
                exposure.blocked_by.push(format!(
                    "route table {} sends no internet {} address to an internet gateway ({}), so replies to {upper} {} cannot return",
                    routing.table_id,
                    family.name(),
                    if routes.is_empty() { "no route matches".to_owned() } else { routes.join(", ") },
                    ports_text(&open),
                ));
                continue;
            }
            let after_route = alive.restrict(&every_port, &routable);
            let inbound = acl.get(false, family, transport);
            let after_in = after_route.intersection(&inbound.admitted);
            let denied_in = after_route.ports().difference(&after_in.ports());
            if !denied_in.is_empty() {
                let entries = inbound.denying(&after_route.restrict(&denied_in, &routable));
                exposure.blocked_by.push(format!(
                    "network ACL {} admits no inbound {upper} {} from the internet over {} ({})",
                    acl.id,
                    ports_text(&denied_in),
                    family.name(),
                    if entries.is_empty() {
                        "no entry allows it".to_owned()
                    } else {
                        format!("denied by entry {}", numbers_text(&entries))
                    },
                ));
            }
            let outbound = acl.get(true, family, transport);
            let reach = after_in.restrict(&every_port, &outbound.reply_addresses());
            let unanswered = after_in.ports().difference(&reach.ports());
            if !unanswered.is_empty() {
                exposure.blocked_by.push(format!(
                    "network ACL {} admits no outbound {upper} over {} to clients' ephemeral ports 1024-65535 at the addresses admitted inbound, so replies on {upper} {} cannot leave",
                    acl.id,
                    family.name(),
                    ports_text(&unanswered),
                ));
            }
            for ((from, to), sources) in reach.pieces() {
                let piece = Flows::rect(&Intervals::span(*from, *to), sources);
                let replies = Flows::rect(&ephemeral_ports(), sources);
                let routes: Vec<_> = routing.deciding(sources).collect();
                let group_rules: Vec<&&GroupRule> = rules
                    .iter()
                    .filter(|r| r.flows.intersects(&piece))
                    .collect();
                let inbound_rules = inbound.allowing(&piece);
                let outbound_rules = outbound.allowing(&replies);
                let sources_text = describe_sources(sources, family);
                let internet_gateway_id = routes.iter().find_map(|d| d.target_id.clone());
                let route_labels: Vec<String> = routes.iter().map(|d| d.label.clone()).collect();
                let rule_labels: Vec<String> =
                    group_rules.iter().map(|r| r.label.clone()).collect();
                let path = format!(
                    "from {sources_text} through {} to {} on {eni}: route table {} ({}), network ACL {} inbound entry {} and outbound entry {} for the replies, security group rule {}",
                    internet_gateway_id
                        .as_deref()
                        .unwrap_or("an internet gateway"),
                    addresses.join(", "),
                    routing.table_id,
                    route_labels.join(", "),
                    acl.id,
                    numbers_text(&inbound_rules),
                    numbers_text(&outbound_rules),
                    rule_labels.join("; "),
                );
                exposure.reachable.push(PortPath {
                    protocol: transport.name(),
                    family: family_name(family),
                    from: port_number(*from),
                    to: port_number(*to),
                    network_interface_id: eni.to_owned(),
                    addresses: addresses.clone(),
                    sources: sources_text,
                    source_set: sources.clone(),
                    internet_gateway_id,
                    route_table_id: routing.table_id.clone(),
                    routes: route_labels,
                    network_acl_id: acl.id.clone(),
                    network_acl_inbound_rules: inbound_rules,
                    network_acl_outbound_rules: outbound_rules,
                    security_group_ids: dedup(group_rules.iter().map(|r| r.group_id.clone())),
                    security_group_rules: rule_labels,
                    load_balancer: None,
                    application_protocol: None,
                    path,
                });
            }
        }
    }
    exposure
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = items.collect();
    out.sort();
    out.dedup();
    out
}

impl Exposure {
    /// An instance's exposure: the union of its interfaces'.
    pub fn merge(parts: impl IntoIterator<Item = Exposure>) -> Exposure {
        let mut out = Exposure::default();
        for part in parts {
            out.public_ips.extend(part.public_ips);
            out.ipv6_addresses.extend(part.ipv6_addresses);
            out.open_in_security_groups
                .extend(part.open_in_security_groups);
            out.reachable.extend(part.reachable);
            out.blocked_by.extend(part.blocked_by);
            out.unknown.extend(part.unknown);
        }
        out.unknown.dedup();
        out
    }
}
