//! Facts about one region's VPC networking: which route table and ACL each
//! subnet really uses, which subnets are public, how full they are, which
//! VPCs have flow logs, and what each security group is attached to.

use super::ingress::InternetIngress;
use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::cidr::Network;
use super::routes::Routing;
use super::sets::{Family, Intervals};
use crate::snapshot::ec2::{
    Ec2Region, FlowLog, Permission, RouteDestination, RouteTable, RouteTargetKind, Vpc,
    VpcPeeringConnection,
};

/// AWS reserves the first four addresses and the last one of every subnet.
const RESERVED_PER_SUBNET: u128 = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct SubnetFacts {
    /// The explicitly associated route table, else the VPC's main table.
    pub route_table_id: Option<String>,
    /// True when the subnet has no explicit association and follows the
    /// main table (and every change made to it).
    pub uses_main_route_table: bool,
    /// The internet gateway the subnet's table sends internet addresses to.
    pub internet_gateway_id: Option<String>,
    /// Whether the table sends some internet IPv4 addresses to an internet
    /// gateway, by longest prefix; `null` when the subnet's table is not in
    /// the snapshot.
    pub public_ipv4: Option<bool>,
    /// The same for IPv6: a ::/0 route to an internet gateway makes a
    /// subnet IPv6-public, not IPv4-public.
    pub public_ipv6: Option<bool>,
    /// The network ACL associated with the subnet.
    pub network_acl_id: Option<String>,
    /// Addresses instances can use: the IPv4 block less the five AWS keeps.
    pub usable_addresses: Option<u64>,
    /// Usable addresses that are not available.
    pub used_addresses: Option<u64>,
    /// `used_addresses` as a percentage of `usable_addresses`.
    pub used_percent: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VpcFacts {
    /// Every associated IPv4 CIDR.
    pub ipv4_cidrs: Vec<String>,
    /// Flow logs attached to the VPC itself and active.
    pub active_flow_log_ids: Vec<String>,
    /// Of those, the ones recording rejected traffic (traffic type `ALL`
    /// or `REJECT`), as CIS 3.7 and EC2.6 ask.
    pub rejected_traffic_flow_log_ids: Vec<String>,
    /// Subnets in the VPC.
    pub subnet_count: usize,
    /// Network interfaces in the VPC.
    pub network_interface_count: usize,
    /// Other VPCs of the account, in any region, whose IPv4 ranges overlap
    /// this one's; two default VPCs are not compared (filled in across
    /// regions by the caller).
    pub overlapping_vpcs: Vec<VpcOverlap>,
    /// Other regions whose VPCs could not be listed, so overlaps with them
    /// are unknown (filled in by the caller).
    pub unlisted_regions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct VpcOverlap {
    pub vpc_id: String,
    pub region: String,
    pub is_default: bool,
    /// This VPC's range.
    pub cidr: String,
    /// The other VPC's range it overlaps.
    pub other_cidr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SecurityGroupFacts {
    /// Every IPv4 and IPv6 range of the group's VPC.
    pub vpc_cidrs: Vec<String>,
    /// Interfaces the group is attached to.
    pub network_interface_ids: Vec<String>,
    /// Rules as AWS counts them against the quota: one per source.
    pub rule_count: usize,
    /// What the group's inbound rules together admit from the whole
    /// internet: `tcp` and `udp` (disjoint port spans `from`-`to`, rules
    /// for every protocol included, each with `ipv4_sources` and
    /// `ipv6_sources`, the ranges covering that family, empty when they do
    /// not), `all_protocols` (the same sources for rules of protocol `all`,
    /// or `null`), and `every_tcp_port` and `every_udp_port` (the sources,
    /// when every port of the protocol is open to the internet in one
    /// family or the other, else `null`).
    pub internet_ingress: InternetIngress,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RouteTableFacts {
    /// Subnets explicitly associated with the table.
    pub subnet_ids: Vec<String>,
    /// The internet gateway the table sends internet addresses to (by
    /// longest prefix, in either family): every subnet using the table is
    /// public.
    pub internet_gateway_id: Option<String>,
    /// Routes over VPC peering connections: the destination, the peer's
    /// ranges and `within_peer` (inside the union of the peer's ranges);
    /// both `null` when the peering connection is not in the snapshot.
    pub peering_routes: Vec<PeeringRoute>,
}

/// A route sending traffic over a VPC peering connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PeeringRoute {
    pub destination: String,
    pub peering_connection_id: String,
    /// The ranges of the VPC on the other side; `null` when the peering
    /// connection is not in the snapshot.
    pub peer_cidrs: Option<Vec<String>>,
    /// Whether the destination lies inside the union of the peer's ranges;
    /// false when it also covers addresses the peer does not hold, `null`
    /// when the peer's ranges are unknown.
    pub within_peer: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NatGatewayFacts {
    /// Whether the gateway's subnet routes internet IPv4 addresses to an
    /// internet gateway (an IPv6 route does not let a NAT gateway reach
    /// the IPv4 internet); `null` when the subnet or its route table is not
    /// in the snapshot.
    pub subnet_public: Option<bool>,
}

/// The facts of one region, keyed by resource id.
#[derive(Debug, Default)]
pub struct RegionNetwork {
    pub subnets: HashMap<String, SubnetFacts>,
    pub vpcs: HashMap<String, VpcFacts>,
    pub security_groups: HashMap<String, SecurityGroupFacts>,
    pub route_tables: HashMap<String, RouteTableFacts>,
    pub nat_gateways: HashMap<String, NatGatewayFacts>,
}

impl RegionNetwork {
    pub fn of(ec2: &Ec2Region) -> RegionNetwork {
        let subnets: HashMap<String, SubnetFacts> = ec2
            .subnets
            .iter()
            .map(|subnet| (subnet.meta.id.clone(), subnet_facts(ec2, subnet)))
            .collect();
        let nat_gateways = ec2
            .nat_gateways
            .iter()
            .map(|nat| {
                let subnet_public = nat
                    .subnet_id
                    .as_ref()
                    .and_then(|id| subnets.get(id))
                    .and_then(|facts| facts.public_ipv4);
                (nat.meta.id.clone(), NatGatewayFacts { subnet_public })
            })
            .collect();
        RegionNetwork {
            vpcs: ec2
                .vpcs
                .iter()
                .map(|vpc| (vpc.meta.id.clone(), vpc_facts(ec2, vpc)))
                .collect(),
            security_groups: security_group_facts(ec2),
            route_tables: ec2
                .route_tables
                .iter()
                .map(|table| (table.meta.id.clone(), route_table_facts(ec2, table)))
                .collect(),
            nat_gateways,
            subnets,
        }
    }
}

/// The route table a subnet uses: its explicit association, else the main
/// table of its VPC.
pub fn route_table_of<'a>(
    ec2: &'a Ec2Region,
    subnet_id: &str,
    vpc_id: &str,
) -> Option<(&'a RouteTable, bool)> {
    let explicit = ec2.route_tables.iter().find(|table| {
        table
            .associations
            .iter()
            .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
    });
    match explicit {
        Some(table) => Some((table, false)),
        None => ec2
            .route_tables
            .iter()
            .find(|table| table.vpc_id == vpc_id && table.is_main)
            .map(|table| (table, true)),
    }
}

/// Where a table sends internet addresses: per family, whether some go
/// through an internet gateway (by longest prefix, so split defaults
/// such as 0.0.0.0/1 and 128.0.0.0/1 count and a more specific route
/// elsewhere takes its addresses away), and the gateway.
pub struct InternetRouting {
    pub ipv4: bool,
    pub ipv6: bool,
    pub internet_gateway_id: Option<String>,
}

impl InternetRouting {
    pub fn of(table: &RouteTable) -> InternetRouting {
        let mut gateway = None;
        let mut public = |family: Family| {
            let routing = Routing::of(table, family);
            let internet = family.internet();
            let to_gateway = routing
                .deciding(&internet)
                .find(|decision| decision.to_internet_gateway());
            if gateway.is_none() {
                gateway = to_gateway.and_then(|d| d.target_id.clone());
            }
            to_gateway.is_some()
        };
        let ipv4 = public(Family::Ipv4);
        let ipv6 = public(Family::Ipv6);
        InternetRouting {
            ipv4,
            ipv6,
            internet_gateway_id: gateway,
        }
    }
}

fn subnet_facts(ec2: &Ec2Region, subnet: &crate::snapshot::ec2::Subnet) -> SubnetFacts {
    let table = route_table_of(ec2, &subnet.meta.id, &subnet.vpc_id);
    let routing = table.map(|(table, _)| InternetRouting::of(table));
    let network_acl_id = ec2
        .network_acls
        .iter()
        .find(|acl| {
            acl.associations
                .iter()
                .any(|a| a.subnet_id == subnet.meta.id)
        })
        .map(|acl| acl.meta.id.clone());
    let usable_addresses = subnet
        .cidr_block
        .as_deref()
        .and_then(Network::parse)
        .map(|network| network.size().saturating_sub(RESERVED_PER_SUBNET))
        .and_then(|n| u64::try_from(n).ok());
    let used_addresses = usable_addresses
        .zip(subnet.available_ip_address_count)
        .map(|(usable, available)| usable.saturating_sub(u64::from(available)));
    let used_percent = usable_addresses
        .zip(used_addresses)
        .filter(|(usable, _)| *usable > 0)
        .map(|(usable, used)| used as f64 * 100.0 / usable as f64);
    SubnetFacts {
        route_table_id: table.map(|(table, _)| table.meta.id.clone()),
        uses_main_route_table: table.is_some_and(|(_, main)| main),
        public_ipv4: routing.as_ref().map(|r| r.ipv4),
        public_ipv6: routing.as_ref().map(|r| r.ipv6),
        internet_gateway_id: routing.and_then(|r| r.internet_gateway_id),
        network_acl_id,
        usable_addresses,
        used_addresses,
        used_percent,
    }
}

fn vpc_facts(ec2: &Ec2Region, vpc: &Vpc) -> VpcFacts {
    let active: Vec<&FlowLog> = ec2
        .flow_logs
        .iter()
        .filter(|log| {
            log.resource_id.as_deref() == Some(vpc.meta.id.as_str())
                && log.flow_log_status.as_deref() == Some("ACTIVE")
        })
        .collect();
    let ids = |logs: &mut dyn Iterator<Item = &&FlowLog>| -> Vec<String> {
        logs.map(|log| log.meta.id.clone()).collect()
    };
    VpcFacts {
        ipv4_cidrs: ipv4_cidrs(vpc),
        active_flow_log_ids: ids(&mut active.iter()),
        rejected_traffic_flow_log_ids: ids(&mut active
            .iter()
            .filter(|log| matches!(log.traffic_type.as_deref(), Some("ALL" | "REJECT")))),
        subnet_count: ec2
            .subnets
            .iter()
            .filter(|s| s.vpc_id == vpc.meta.id)
            .count(),
        network_interface_count: ec2
            .network_interfaces
            .iter()
            .filter(|eni| eni.vpc_id.as_deref() == Some(vpc.meta.id.as_str()))
            .count(),
        overlapping_vpcs: Vec::new(),
        unlisted_regions: Vec::new(),
    }
}

/// A VPC's associated IPv4 ranges (disassociated ones no longer count).
pub fn ipv4_cidrs(vpc: &Vpc) -> Vec<String> {
    let mut cidrs: Vec<String> = vpc
        .cidr_blocks
        .iter()
        .filter(|block| block.state.as_deref().is_none_or(|s| s == "associated"))
        .map(|block| block.cidr.clone())
        .collect();
    if cidrs.is_empty() {
        cidrs.extend(vpc.cidr_block.clone());
    }
    cidrs
}

fn security_group_facts(ec2: &Ec2Region) -> HashMap<String, SecurityGroupFacts> {
    let mut attached: HashMap<&str, Vec<String>> = HashMap::new();
    for eni in &ec2.network_interfaces {
        for group in &eni.security_group_ids {
            attached.entry(group).or_default().push(eni.meta.id.clone());
        }
    }
    let vpc_cidrs: HashMap<&str, Vec<String>> = ec2
        .vpcs
        .iter()
        .map(|vpc| {
            let mut cidrs = ipv4_cidrs(vpc);
            cidrs.extend(vpc.ipv6_cidr_blocks.iter().map(|b| b.cidr.clone()));
            (vpc.meta.id.as_str(), cidrs)
        })
        .collect();
    ec2.security_groups
        .iter()
        .map(|group| {
            let sources = |p: &Permission| {
                p.ipv4_ranges.len()
                    + p.ipv6_ranges.len()
                    + p.prefix_list_ids.len()
                    + p.referenced_groups.len()
            };
            let facts = SecurityGroupFacts {
                vpc_cidrs: group
                    .vpc_id
                    .as_deref()
                    .and_then(|id| vpc_cidrs.get(id))
                    .cloned()
                    .unwrap_or_default(),
                network_interface_ids: attached
                    .get(group.meta.id.as_str())
                    .cloned()
                    .unwrap_or_default(),
                rule_count: group.ingress.iter().chain(&group.egress).map(sources).sum(),
                internet_ingress: InternetIngress::of(group),
            };
            (group.meta.id.clone(), facts)
        })
        .collect()
}

fn route_table_facts(ec2: &Ec2Region, table: &RouteTable) -> RouteTableFacts {
    // The other side's ranges; `None` when the connection names no side.
    let peer_cidrs = |peering: &VpcPeeringConnection| -> Option<Vec<String>> {
        let (requester, accepter) = (peering.requester.as_ref(), peering.accepter.as_ref());
        let other =
            if requester.and_then(|side| side.vpc_id.as_deref()) == Some(table.vpc_id.as_str()) {
                accepter
            } else {
                requester
            };
        other.map(|side| {
            side.cidr_blocks
                .iter()
                .chain(&side.ipv6_cidr_blocks)
                .cloned()
                .collect()
        })
    };
    let peering_routes = table
        .routes
        .iter()
        .filter(|route| route.target.kind == RouteTargetKind::VpcPeering)
        .filter_map(|route| {
            let destination = match &route.destination {
                RouteDestination::Ipv4(cidr) | RouteDestination::Ipv6(cidr) => cidr.clone(),
                _ => return None,
            };
            let peering_connection_id = route.target.id.clone()?;
            let peer_cidrs: Option<Vec<String>> = ec2
                .vpc_peering_connections
                .iter()
                .find(|p| p.meta.id == peering_connection_id)
                .and_then(peer_cidrs);
            // Inside the peer when the peer's ranges together hold it,
            // even if no single range does.
            let within_peer = peer_cidrs.as_ref().map(|peer| {
                let family = Family::of_text(&destination);
                Intervals::of_cidrs(peer.iter().map(String::as_str), family)
                    .covers(&Intervals::of_cidrs([destination.as_str()], family))
            });
            Some(PeeringRoute {
                destination,
                peering_connection_id,
                peer_cidrs,
                within_peer,
            })
        })
        .collect();
    RouteTableFacts {
        subnet_ids: table
            .associations
            .iter()
            .filter_map(|a| a.subnet_id.clone())
            .collect(),
        internet_gateway_id: InternetRouting::of(table).internet_gateway_id,
        peering_routes,
    }
}

/// A VPC, its region, and its IPv4 ranges as text and parsed.
type RegionalRanges<'a> = (&'a str, &'a Vpc, Vec<(String, Network)>);

/// Every pair of VPCs, across all regions, whose IPv4 ranges overlap. Two
/// default VPCs (172.31.0.0/16 in every region) are not reported against
/// each other: that overlap is by AWS's design, and default VPCs have their
/// own rule.
pub fn overlaps<'a>(vpcs: &[(&'a str, &'a Vpc)]) -> HashMap<(&'a str, &'a str), Vec<VpcOverlap>> {
    let ranges: Vec<RegionalRanges> = vpcs
        .iter()
        .map(|(region, vpc)| {
            let networks = ipv4_cidrs(vpc)
                .into_iter()
                .filter_map(|cidr| Network::parse(&cidr).map(|n| (cidr, n)))
                .collect();
            (*region, *vpc, networks)
        })
        .collect();
    let mut out: HashMap<(&str, &str), Vec<VpcOverlap>> = HashMap::new();
    for (i, (region, vpc, networks)) in ranges.iter().enumerate() {
        for (other_region, other, other_networks) in &ranges[i + 1..] {
            if vpc.is_default && other.is_default {
                continue;
            }
            for (cidr, network) in networks {
                for (other_cidr, other_network) in other_networks {
                    if !network.overlaps(other_network) {
                        continue;
                    }
                    // Each side learns of the other.
                    for ((this_region, this, this_cidr), (that_region, that, that_cidr)) in [
                        ((region, vpc, cidr), (other_region, other, other_cidr)),
                        ((other_region, other, other_cidr), (region, vpc, cidr)),
                    ] {
                        out.entry((this_region, &this.meta.id))
                            .or_default()
                            .push(VpcOverlap {
                                vpc_id: that.meta.id.clone(),
                                region: (*that_region).to_owned(),
                                is_default: that.is_default,
                                cidr: this_cidr.clone(),
                                other_cidr: that_cidr.clone(),
                            });
                    }
                }
            }
        }
    }
    out
}
