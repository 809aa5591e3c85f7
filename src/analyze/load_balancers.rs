//! Exposure through load balancers. An internet-facing load balancer is an
//! endpoint like an interface: its listener port is reachable when the
//! exposure model admits it in one of its subnets (an internet-routed
//! subnet, the subnet's ACL both ways, the load balancer's security groups,
//! or every client for a network load balancer without groups). Through
//! each such listener, every registered instance target is reachable on its
//! target port when the instance's security groups admit the load balancer:
//! its security group, or an address range holding one of its subnets, or,
//! when a network load balancer preserves client addresses, every internet
//! address.
//!
//! Not modelled here: IP and Lambda targets, listener rules other than the
//! default action, IPv6 clients of dual-stack load balancers, and the
//! network ACLs between the load balancer and its targets.

use std::collections::HashMap;

use super::exposure::{Endpoint, Exposure, PortPath, RegionModel, exposure};
use super::ports::{Transport, port_interval};
use super::sets::{Family, Flows, Intervals};
use crate::snapshot::RegionSnapshot;
use crate::snapshot::ec2::{Ec2Region, Instance};

/// One way traffic crosses a load balancer to an instance.
struct Forward<'a> {
    listener_protocol: &'a str,
    listener_port: i32,
    transport: Transport,
    target_group: Option<&'a str>,
    instance_id: &'a str,
    target_port: i32,
    /// Whether the target sees the client's address (network load
    /// balancers preserving it); `None` when the attribute is unknown.
    preserves_client: Option<bool>,
}

/// A load balancer as the model needs it.
struct Balancer<'a> {
    name: &'a str,
    /// `application`, `network` or `classic`.
    kind: &'a str,
    internet_facing: bool,
    subnet_ids: &'a [String],
    security_group_ids: &'a [String],
    forwards: Vec<Forward<'a>>,
}

/// The transport a listener protocol rides on, and the application
/// protocol when the load balancer terminates it.
fn listener_transport(protocol: &str) -> (Transport, Option<&'static str>) {
    match protocol.to_ascii_uppercase().as_str() {
        "UDP" => (Transport::Udp, None),
        "HTTP" => (Transport::Tcp, Some("HTTP")),
        "HTTPS" => (Transport::Tcp, Some("HTTPS")),
        _ => (Transport::Tcp, None),
    }
}

/// The region's load balancers, and what their data lacks.
fn balancers(region: &RegionSnapshot) -> (Vec<Balancer<'_>>, Vec<String>) {
    let mut unknown = Vec::new();
    let mut out = Vec::new();
    match &region.elbv2 {
        None => unknown.push(
            "application and network load balancers are not in this snapshot (taken before rampart collected them)"
                .to_owned(),
        ),
        Some(elbv2) => {
            let groups: HashMap<&str, &crate::snapshot::elbv2::TargetGroup> = elbv2
                .target_groups
                .iter()
                .map(|group| (group.meta.arn.as_str(), group))
                .collect();
            for lb in &elbv2.load_balancers {
                let Some(listeners) = &lb.listeners else {
                    unknown.push(format!(
                        "the listeners of load balancer {} could not be read",
                        lb.meta.id
                    ));
                    continue;
                };
                let mut forwards = Vec::new();
                for listener in listeners {
                    let (Some(protocol), Some(port)) = (&listener.protocol, listener.port) else {
                        continue;
                    };
                    for arn in &listener.forwards_to {
                        let Some(group) = groups.get(arn.as_str()) else {
                            unknown.push(format!("target group {arn} is not in the snapshot"));
                            continue;
                        };
                        if group.target_type.as_deref() != Some("instance") {
                            continue;
                        }
                        let Some(targets) = &group.targets else {
                            unknown.push(format!(
                                "the targets of target group {} could not be read",
                                group.meta.id
                            ));
                            continue;
                        };
                        for target in targets {
                            let Some(target_port) = target.port.or(group.port) else {
                                continue;
                            };
                            forwards.push(Forward {
                                listener_protocol: protocol,
                                listener_port: port,
                                transport: listener_transport(protocol).0,
                                target_group: Some(&group.meta.id),
                                instance_id: &target.id,
                                target_port,
                                preserves_client: if lb.kind == "network" {
                                    group.preserve_client_ip
                                } else {
                                    Some(false)
                                },
                            });
                        }
                    }
                }
                out.push(Balancer {
                    name: &lb.meta.id,
                    kind: &lb.kind,
                    internet_facing: lb.scheme.as_deref() == Some("internet-facing"),
                    subnet_ids: &lb.subnet_ids,
                    security_group_ids: &lb.security_group_ids,
                    forwards,
                });
            }
        }
    }
    match &region.elb {
        None => unknown.push(
            "classic load balancers are not in this snapshot (taken before rampart collected them)"
                .to_owned(),
        ),
        Some(elb) => {
            for lb in &elb.load_balancers {
                let forwards = lb
                    .listeners
                    .iter()
                    .flat_map(|listener| {
                        lb.instance_ids.iter().map(move |instance_id| Forward {
                            listener_protocol: &listener.protocol,
                            listener_port: listener.load_balancer_port,
                            transport: Transport::Tcp,
                            target_group: None,
                            instance_id,
                            target_port: listener.instance_port,
                            preserves_client: Some(false),
                        })
                    })
                    .collect();
                out.push(Balancer {
                    name: &lb.meta.id,
                    kind: "classic",
                    internet_facing: lb.scheme.as_deref() == Some("internet-facing"),
                    subnet_ids: &lb.subnet_ids,
                    security_group_ids: &lb.security_group_ids,
                    forwards,
                });
            }
        }
    }
    (out, unknown)
}

/// Whether the instance's groups admit the load balancer on `port`: a
/// rule naming one of its groups, or an IPv4 range holding one of its
/// subnets (its nodes take addresses there).
fn admits_balancer(
    ec2: &Ec2Region,
    instance: &Instance,
    balancer: &Balancer,
    transport: Transport,
    port: i32,
) -> Option<String> {
    let subnets = Intervals::of_cidrs(
        ec2.subnets
            .iter()
            .filter(|s| balancer.subnet_ids.contains(&s.meta.id))
            .filter_map(|s| s.cidr_block.as_deref()),
        Family::Ipv4,
    );
    ec2.security_groups
        .iter()
        .filter(|group| instance.security_group_ids.contains(&group.meta.id))
        .flat_map(|group| group.ingress.iter().map(move |p| (group, p)))
        .filter(|(_, permission)| transport.matches(permission.protocol))
        .filter(|(_, permission)| {
            permission.protocol == crate::snapshot::ec2::Protocol::All
                || permission
                    .port_range
                    .is_none_or(|range| range.from <= port && port <= range.to)
        })
        .find_map(|(group, permission)| {
            let by_group = permission.referenced_groups.iter().find(|source| {
                source
                    .group_id
                    .as_ref()
                    .is_some_and(|id| balancer.security_group_ids.contains(id))
            });
            if let Some(source) = by_group {
                return Some(format!(
                    "{}: {} {port} from the load balancer's group {}",
                    group.meta.id,
                    transport.name(),
                    source.group_id.as_deref().unwrap_or_default()
                ));
            }
            permission
                .ipv4_ranges
                .iter()
                .find(|range| {
                    Intervals::of_cidrs([range.cidr.as_str()], Family::Ipv4).intersects(&subnets)
                })
                .map(|range| {
                    format!(
                        "{}: {} {port} from {}, which holds the load balancer's subnets",
                        group.meta.id,
                        transport.name(),
                        range.cidr
                    )
                })
        })
}

/// Adds to each instance's exposure the paths through internet-facing load
/// balancers, the hops that block the others, and what is unknown.
pub fn add_paths(
    region: &RegionSnapshot,
    model: &RegionModel<'_>,
    instances: &mut HashMap<String, Exposure>,
) {
    let ec2 = &region.ec2;
    let (balancers, unknown) = balancers(region);
    if !unknown.is_empty() {
        for exposure in instances.values_mut() {
            exposure.unknown.extend(unknown.iter().cloned());
        }
    }
    for balancer in balancers.iter().filter(|b| b.internet_facing) {
        let label = format!("load balancer {}", balancer.name);
        let front: Vec<Exposure> = balancer
            .subnet_ids
            .iter()
            .map(|subnet| {
                exposure(
                    model,
                    &Endpoint {
                        network_interface_id: &label,
                        public_ipv4: vec!["its public addresses"],
                        ipv6_addresses: &[],
                        subnet_id: Some(subnet),
                        security_group_ids: balancer.security_group_ids,
                        open_without_groups: balancer.kind == "network"
                            && balancer.security_group_ids.is_empty(),
                        unknown: Vec::new(),
                    },
                )
            })
            .collect();
        for forward in &balancer.forwards {
            let Some(instance) = ec2
                .instances
                .iter()
                .find(|i| i.meta.id == forward.instance_id)
            else {
                continue;
            };
            let Some(facts) = instances.get_mut(forward.instance_id) else {
                continue;
            };
            let entry = front.iter().flat_map(|f| &f.reachable).find(|p| {
                p.family == "ipv4"
                    && p.protocol == forward.transport.name()
                    && p.from <= forward.listener_port
                    && forward.listener_port <= p.to
            });
            let Some(entry) = entry else {
                let why: Vec<&String> = front
                    .iter()
                    .flat_map(|f| f.blocked_by.iter().chain(&f.unknown))
                    .collect();
                if !why.is_empty() || front.is_empty() {
                    facts.blocked_by.push(format!(
                        "{label} does not admit {} {} from the internet: {}",
                        forward.listener_protocol,
                        forward.listener_port,
                        if why.is_empty() {
                            "it has no subnets".to_owned()
                        } else {
                            why.iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        }
                    ));
                }
                continue;
            };
            let admitted = match forward.preserves_client {
                None => {
                    facts.unknown.push(format!(
                        "whether {label} preserves client addresses for {} is unknown",
                        forward.target_group.unwrap_or("its targets")
                    ));
                    continue;
                }
                Some(true) => {
                    let rules = model.group_rules(
                        &instance.security_group_ids,
                        Family::Ipv4,
                        forward.transport,
                    );
                    let port = port_interval(forward.target_port, forward.target_port);
                    let internet = Family::Ipv4.internet();
                    let admitted = rules
                        .iter()
                        .fold(Flows::empty(), |all, r| all.union(&r.flows));
                    admitted.ports_covering(&internet).covers(&port).then(|| {
                        rules
                            .iter()
                            .filter(|r| r.flows.intersects(&Flows::rect(&port, &internet)))
                            .map(|r| r.label.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                }
                Some(false) => admits_balancer(
                    ec2,
                    instance,
                    balancer,
                    forward.transport,
                    forward.target_port,
                ),
            };
            let Some(admitted_by) = admitted else {
                facts.blocked_by.push(format!(
                    "{label} forwards {} {} to port {} of {}, but the instance's security groups do not admit {}",
                    forward.listener_protocol,
                    forward.listener_port,
                    forward.target_port,
                    instance.meta.id,
                    if forward.preserves_client == Some(true) {
                        "every internet address (the load balancer preserves client addresses)"
                    } else {
                        "the load balancer"
                    }
                ));
                continue;
            };
            let application_protocol = if balancer.kind == "network" {
                None
            } else {
                listener_transport(forward.listener_protocol).1
            };
            let through = forward
                .target_group
                .map_or(String::new(), |group| format!(" and target group {group}"));
            facts.reachable.push(PortPath {
                protocol: forward.transport.name(),
                family: "ipv4",
                from: forward.target_port,
                to: forward.target_port,
                network_interface_id: instance.meta.id.clone(),
                addresses: Vec::new(),
                sources: entry.sources.clone(),
                source_set: entry.source_set.clone(),
                internet_gateway_id: entry.internet_gateway_id.clone(),
                route_table_id: entry.route_table_id.clone(),
                routes: entry.routes.clone(),
                network_acl_id: entry.network_acl_id.clone(),
                network_acl_inbound_rules: entry.network_acl_inbound_rules.clone(),
                network_acl_outbound_rules: entry.network_acl_outbound_rules.clone(),
                security_group_ids: entry.security_group_ids.clone(),
                security_group_rules: entry.security_group_rules.clone(),
                load_balancer: Some(balancer.name.to_owned()),
                application_protocol: application_protocol.map(str::to_owned),
                path: format!(
                    "through internet-facing {} {label} listener {} {}{through} to port {} of {}, admitted by {admitted_by}; the listener's path: {}",
                    balancer.kind,
                    forward.listener_protocol,
                    forward.listener_port,
                    forward.target_port,
                    instance.meta.id,
                    entry.path
                ),
            });
        }
    }
}
