//! What is really reachable from the internet. A port of a network
//! interface is reachable when every hop admits it: the interface has a
//! public IPv4 address, its subnet's route table sends the default route
//! to an internet gateway, the subnet's network ACL admits the port inbound
//! and the return traffic to ephemeral ports outbound (ACLs are
//! stateless), and an attached security group admits the port from every
//! IPv4 address (its rules' union, as `ingress` computes it). Each
//! reachable port carries the path that admits it.
//!
//! Only IPv4 is analysed so far; reachability over IPv6 (an interface's
//! IPv6 addresses, ::/0 routes and sources) is not yet.

use std::collections::HashMap;

use serde::Serialize;

use super::nacl::{Admission, Family, admission};
use super::network::RegionNetwork;
use super::ports::{EPHEMERAL, PortSpan};
use crate::snapshot::ec2::{NetworkAcl, Protocol};

/// The internet exposure of an interface or of an instance (all of its
/// interfaces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub public_ips: Vec<String>,
    /// Ports the attached security groups open to any IPv4 address.
    pub open_in_security_groups: Vec<PortPath>,
    /// Of those, the ports every hop admits.
    pub reachable: Vec<PortPath>,
    /// Why ports the security groups open are not reachable, one sentence
    /// per blocking hop; empty when nothing is open or all of it is
    /// reachable.
    pub blocked_by: Vec<String>,
}

/// A port range and the hops that admit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortPath {
    /// `tcp` or `udp`.
    pub protocol: String,
    pub from: i32,
    pub to: i32,
    pub network_interface_id: String,
    pub security_group_id: String,
    /// The group rule's sources, e.g. `0.0.0.0/0`.
    pub sources: Vec<String>,
    pub public_ip: Option<String>,
    pub internet_gateway_id: Option<String>,
    pub route_table_id: Option<String>,
    pub network_acl_id: Option<String>,
    /// The ACL entry admitting the port inbound.
    pub network_acl_rule: Option<i32>,
}

/// What an ACL admits from (`inbound`) and to (`outbound`) any IPv4
/// address: computed once per ACL, read for every interface behind it.
pub struct AclIpv4 {
    id: String,
    inbound: Admission,
    outbound: Admission,
}

impl AclIpv4 {
    pub fn of(acl: &NetworkAcl) -> AclIpv4 {
        AclIpv4 {
            id: acl.meta.id.clone(),
            inbound: admission(acl, false, Family::Ipv4),
            outbound: admission(acl, true, Family::Ipv4),
        }
    }
}

/// Where an interface sits and what guards it.
pub struct Endpoint<'a> {
    pub network_interface_id: &'a str,
    pub public_ip: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub security_group_ids: &'a [String],
}

/// The exposure of one interface.
pub fn exposure(
    acls: &HashMap<&str, AclIpv4>,
    network: &RegionNetwork,
    endpoint: &Endpoint,
) -> Exposure {
    let subnets = &network.subnets;
    let mut exposure = Exposure {
        public_ips: endpoint.public_ip.map(str::to_owned).into_iter().collect(),
        ..Exposure::default()
    };
    let subnet = endpoint.subnet_id.and_then(|id| subnets.get(id));
    let acl = subnet
        .and_then(|facts| facts.network_acl_id.as_deref())
        .and_then(|id| acls.get(id));
    let path = |protocol: Protocol, span: PortSpan, group: &str, sources: &[String]| PortPath {
        protocol: protocol.to_string(),
        from: span.from,
        to: span.to,
        network_interface_id: endpoint.network_interface_id.to_owned(),
        security_group_id: group.to_owned(),
        sources: sources.to_vec(),
        public_ip: endpoint.public_ip.map(str::to_owned),
        internet_gateway_id: subnet.and_then(|s| s.internet_gateway_id.clone()),
        route_table_id: subnet.and_then(|s| s.route_table_id.clone()),
        network_acl_id: subnet.and_then(|s| s.network_acl_id.clone()),
        network_acl_rule: span.rule_number,
    };
    for group_id in endpoint.security_group_ids {
        let Some(group) = network.security_groups.get(group_id.as_str()) else {
            continue;
        };
        let ingress = &group.internet_ingress;
        for (protocol, open) in [(Protocol::Tcp, &ingress.tcp), (Protocol::Udp, &ingress.udp)] {
            for ports in open.iter().filter(|ports| ports.sources.covers_ipv4()) {
                let span = PortSpan::new(ports.from, ports.to);
                exposure.open_in_security_groups.push(path(
                    protocol,
                    span,
                    group_id,
                    &ports.sources.ipv4_sources,
                ));
            }
        }
    }
    if exposure.open_in_security_groups.is_empty() {
        return exposure;
    }
    if endpoint.public_ip.is_none() {
        exposure.blocked_by.push(format!(
            "{} has no public IPv4 address",
            endpoint.network_interface_id
        ));
    }
    match subnet {
        None => exposure.blocked_by.push(format!(
            "the subnet of {} is not in the snapshot",
            endpoint.network_interface_id
        )),
        Some(facts) if !facts.public => exposure.blocked_by.push(format!(
            "subnet {} has no default route to an internet gateway (route table {})",
            endpoint.subnet_id.unwrap_or("?"),
            facts.route_table_id.as_deref().unwrap_or("none")
        )),
        Some(_) => {}
    }
    let Some(acl) = acl else {
        if subnet.is_some() {
            exposure.blocked_by.push(format!(
                "the network ACL of subnet {} is not in the snapshot",
                endpoint.subnet_id.unwrap_or("?")
            ));
        }
        return exposure;
    };
    if !exposure.blocked_by.is_empty() {
        return exposure;
    }
    let (inbound, outbound) = (&acl.inbound, &acl.outbound);
    let mut reachable = Vec::new();
    let mut returns_blocked = Vec::new();
    let mut inbound_blocked = false;
    for open in &exposure.open_in_security_groups {
        let (admitted_in, admitted_out) = if open.protocol == "tcp" {
            (&inbound.tcp, &outbound.tcp)
        } else {
            (&inbound.udp, &outbound.udp)
        };
        if !admitted_out
            .iter()
            .any(|span| span.intersect(EPHEMERAL).is_some())
        {
            returns_blocked.push(open.protocol.clone());
            continue;
        }
        let mut any = false;
        for span in admitted_in {
            if let Some(span) = span.intersect((open.from, open.to)) {
                any = true;
                reachable.push(PortPath {
                    from: span.from,
                    to: span.to,
                    network_acl_rule: span.rule_number,
                    ..open.clone()
                });
            }
        }
        inbound_blocked |= !any;
    }
    returns_blocked.dedup();
    for protocol in returns_blocked {
        exposure.blocked_by.push(format!(
            "network ACL {} admits no outbound {} to the internet on ephemeral ports 1024-65535, so replies cannot leave",
            acl.id,
            protocol.to_uppercase()
        ));
    }
    if inbound_blocked {
        exposure.blocked_by.push(format!(
            "network ACL {} denies inbound traffic from the internet to some ports the security groups open",
            acl.id
        ));
    }
    exposure.reachable = reachable;
    exposure
}

impl Exposure {
    /// An instance's exposure: the union of its interfaces'.
    pub fn merge(parts: impl IntoIterator<Item = Exposure>) -> Exposure {
        let mut out = Exposure::default();
        for part in parts {
            out.public_ips.extend(part.public_ips);
            out.open_in_security_groups
                .extend(part.open_in_security_groups);
            out.reachable.extend(part.reachable);
            out.blocked_by.extend(part.blocked_by);
        }
        out
    }
}
