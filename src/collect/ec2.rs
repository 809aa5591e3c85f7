//! EC2 collector: VPC networking, security groups, interfaces, instances and
//! the region's EC2 settings. Calls only Describe*/Get* operations, every
//! paginator drained, all of them concurrently.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types as aws;

use super::{Malformed, Scope, convert_all, required, to_utc};
use crate::snapshot::ResourceMeta;
use crate::snapshot::ec2::*;

const SERVICE: &str = "ec2";

/// Collects one region. Calls that fail are recorded in the ledger and
/// leave their part of the result empty.
pub async fn collect_region(client: &Client, scope: &Scope<'_>) -> Ec2Region {
    let (
        vpcs,
        subnets,
        route_tables,
        internet_gateways,
        nat_gateways,
        network_acls,
        security_groups,
        network_interfaces,
        reservations,
        flow_logs,
        transit_gateways,
        vpc_peering_connections,
        ebs_encryption_by_default,
        instance_metadata_defaults,
    ) = tokio::join!(
        scope.call_named(
            client
                .describe_vpcs()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_subnets()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_route_tables()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_internet_gateways()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_nat_gateways()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_network_acls()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_security_groups()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_network_interfaces()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_instances()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_flow_logs()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_transit_gateways()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_vpc_peering_connections()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call(client.get_ebs_encryption_by_default().send()),
        scope.call(client.get_instance_metadata_defaults().send()),
    );

    Ec2Region {
        vpcs: convert_all(vpcs, scope, vpc),
        subnets: convert_all(subnets, scope, subnet),
        route_tables: convert_all(route_tables, scope, route_table),
        internet_gateways: convert_all(internet_gateways, scope, internet_gateway),
        nat_gateways: convert_all(nat_gateways, scope, nat_gateway),
        network_acls: convert_all(network_acls, scope, network_acl),
        security_groups: convert_all(security_groups, scope, security_group),
        network_interfaces: convert_all(network_interfaces, scope, network_interface),
        instances: convert_all(
            reservations.map(|(reservations, operation)| {
                let instances = reservations
                    .into_iter()
                    .flat_map(|reservation| reservation.instances.unwrap_or_default())
                    .collect();
                (instances, operation)
            }),
            scope,
            instance,
        ),
        flow_logs: convert_all(flow_logs, scope, flow_log),
        transit_gateways: convert_all(transit_gateways, scope, transit_gateway),
        vpc_peering_connections: convert_all(vpc_peering_connections, scope, peering_connection),
        ebs_encryption_by_default: ebs_encryption_by_default
            .and_then(|output| output.ebs_encryption_by_default),
        instance_metadata_defaults: instance_metadata_defaults.map(|output| {
            let defaults = output.account_level;
            InstanceMetadataDefaults {
                http_tokens: defaults
                    .as_ref()
                    .and_then(|d| d.http_tokens.as_ref())
                    .map(|t| t.as_str().to_owned()),
                http_endpoint: defaults
                    .as_ref()
                    .and_then(|d| d.http_endpoint.as_ref())
                    .map(|e| e.as_str().to_owned()),
                http_put_response_hop_limit: defaults
                    .as_ref()
                    .and_then(|d| d.http_put_response_hop_limit),
            }
        }),
    }
}

fn meta(
    scope: &Scope<'_>,
    resource_type: &str,
    id: Option<String>,
    arn: Option<String>,
    tags: Option<Vec<aws::Tag>>,
) -> Result<ResourceMeta, Malformed> {
    let id = required(
        id.filter(|id| !id.is_empty()),
        "an id",
        &format!("a {resource_type}"),
    )?;
    Ok(ResourceMeta {
        arn: arn.unwrap_or_else(|| scope.arn(SERVICE, &format!("{resource_type}/{id}"))),
        id,
        region: scope.region.to_owned(),
        tags: tag_map(tags),
    })
}

fn tag_map(tags: Option<Vec<aws::Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .filter_map(|tag| Some((tag.key?, tag.value.unwrap_or_default())))
        .collect()
}

fn vpc(v: aws::Vpc, scope: &Scope<'_>) -> Result<Vpc, Malformed> {
    let association = |cidr: Option<String>, state: Option<aws::VpcCidrBlockState>| {
        Some(CidrAssociation {
            cidr: cidr?,
            state: state.and_then(|s| s.state).map(|s| s.as_str().to_owned()),
        })
    };
    Ok(Vpc {
        meta: meta(scope, "vpc", v.vpc_id, None, v.tags)?,
        owner_id: v.owner_id,
        state: v.state.map(|s| s.as_str().to_owned()),
        is_default: v.is_default.unwrap_or(false),
        cidr_block: v.cidr_block,
        cidr_blocks: v
            .cidr_block_association_set
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| association(a.cidr_block, a.cidr_block_state))
            .collect(),
        ipv6_cidr_blocks: v
            .ipv6_cidr_block_association_set
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| association(a.ipv6_cidr_block, a.ipv6_cidr_block_state))
            .collect(),
        dhcp_options_id: v.dhcp_options_id,
        instance_tenancy: v.instance_tenancy.map(|t| t.as_str().to_owned()),
    })
}

fn subnet(s: aws::Subnet, scope: &Scope<'_>) -> Result<Subnet, Malformed> {
    Ok(Subnet {
        meta: meta(scope, "subnet", s.subnet_id, s.subnet_arn, s.tags)?,
        vpc_id: required(s.vpc_id, "a VPC id", "a subnet")?,
        cidr_block: s.cidr_block,
        ipv6_cidr_blocks: s
            .ipv6_cidr_block_association_set
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| {
                Some(CidrAssociation {
                    cidr: a.ipv6_cidr_block?,
                    state: a
                        .ipv6_cidr_block_state
                        .and_then(|s| s.state)
                        .map(|s| s.as_str().to_owned()),
                })
            })
            .collect(),
        availability_zone: s.availability_zone,
        availability_zone_id: s.availability_zone_id,
        available_ip_address_count: s
            .available_ip_address_count
            .and_then(|n| u32::try_from(n).ok()),
        map_public_ip_on_launch: s.map_public_ip_on_launch.unwrap_or(false),
        assign_ipv6_address_on_creation: s.assign_ipv6_address_on_creation.unwrap_or(false),
        default_for_az: s.default_for_az.unwrap_or(false),
        state: s.state.map(|s| s.as_str().to_owned()),
    })
}

fn route_table(t: aws::RouteTable, scope: &Scope<'_>) -> Result<RouteTable, Malformed> {
    let associations: Vec<RouteTableAssociation> = t
        .associations
        .unwrap_or_default()
        .into_iter()
        .map(|a| RouteTableAssociation {
            id: a.route_table_association_id,
            main: a.main.unwrap_or(false),
            subnet_id: a.subnet_id,
            gateway_id: a.gateway_id,
            state: a
                .association_state
                .and_then(|s| s.state)
                .map(|s| s.as_str().to_owned()),
        })
        .collect();
    Ok(RouteTable {
        meta: meta(scope, "route-table", t.route_table_id, None, t.tags)?,
        vpc_id: required(t.vpc_id, "a VPC id", "a route table")?,
        is_main: associations.iter().any(|a| a.main),
        routes: t
            .routes
            .unwrap_or_default()
            .into_iter()
            .map(route)
            .collect(),
        associations,
        propagating_vgw_ids: t
            .propagating_vgws
            .unwrap_or_default()
            .into_iter()
            .filter_map(|vgw| vgw.gateway_id)
            .collect(),
    })
}

fn route(r: aws::Route) -> Route {
    let destination = match (
        r.destination_cidr_block,
        r.destination_ipv6_cidr_block,
        r.destination_prefix_list_id,
    ) {
        (Some(cidr), _, _) => RouteDestination::Ipv4(cidr),
        (None, Some(cidr), _) => RouteDestination::Ipv6(cidr),
        (None, None, Some(list)) => RouteDestination::PrefixList(list),
        (None, None, None) => RouteDestination::Unknown,
    };
    // Exactly one target field is set on a route; `gateway_id` is shared by
    // local, internet, virtual private and VPC endpoint gateways, told apart
    // by the id's prefix.
    let (kind, id) = if let Some(id) = r.nat_gateway_id {
        (RouteTargetKind::NatGateway, Some(id))
    } else if let Some(id) = r.transit_gateway_id {
        (RouteTargetKind::TransitGateway, Some(id))
    } else if let Some(id) = r.vpc_peering_connection_id {
        (RouteTargetKind::VpcPeering, Some(id))
    } else if let Some(id) = r.egress_only_internet_gateway_id {
        (RouteTargetKind::EgressOnlyInternetGateway, Some(id))
    } else if let Some(id) = r.carrier_gateway_id {
        (RouteTargetKind::CarrierGateway, Some(id))
    } else if let Some(id) = r.local_gateway_id {
        (RouteTargetKind::LocalGateway, Some(id))
    } else if let Some(id) = r.core_network_arn {
        (RouteTargetKind::CoreNetwork, Some(id))
    } else if let Some(id) = r.odb_network_arn {
        (RouteTargetKind::OdbNetwork, Some(id))
    } else if let Some(id) = r.instance_id {
        (RouteTargetKind::Instance, Some(id))
    } else if let Some(id) = r.network_interface_id {
        (RouteTargetKind::NetworkInterface, Some(id))
    } else if let Some(id) = r.gateway_id {
        (gateway_kind(&id), Some(id))
    } else {
        (RouteTargetKind::Unknown, None)
    };
    Route {
        destination,
        target: RouteTarget { kind, id },
        state: r.state.map(|s| s.as_str().to_owned()),
        origin: r.origin.map(|o| o.as_str().to_owned()),
    }
}

fn gateway_kind(id: &str) -> RouteTargetKind {
    match id.split('-').next() {
        Some("local") => RouteTargetKind::Local,
        Some("igw") => RouteTargetKind::InternetGateway,
        Some("vgw") => RouteTargetKind::VirtualPrivateGateway,
        Some("vpce") => RouteTargetKind::VpcEndpoint,
        _ => RouteTargetKind::Unknown,
    }
}

fn internet_gateway(
    g: aws::InternetGateway,
    scope: &Scope<'_>,
) -> Result<InternetGateway, Malformed> {
    Ok(InternetGateway {
        meta: meta(
            scope,
            "internet-gateway",
            g.internet_gateway_id,
            None,
            g.tags,
        )?,
        owner_id: g.owner_id,
        attachments: g
            .attachments
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| {
                Some(GatewayAttachment {
                    vpc_id: a.vpc_id?,
                    state: a.state.map(|s| s.as_str().to_owned()),
                })
            })
            .collect(),
    })
}

fn nat_gateway(g: aws::NatGateway, scope: &Scope<'_>) -> Result<NatGateway, Malformed> {
    Ok(NatGateway {
        meta: meta(scope, "natgateway", g.nat_gateway_id, None, g.tags)?,
        vpc_id: g.vpc_id,
        subnet_id: g.subnet_id,
        state: g.state.map(|s| s.as_str().to_owned()),
        connectivity_type: g.connectivity_type.map(|c| c.as_str().to_owned()),
        addresses: g
            .nat_gateway_addresses
            .unwrap_or_default()
            .into_iter()
            .map(|a| NatGatewayAddress {
                allocation_id: a.allocation_id,
                network_interface_id: a.network_interface_id,
                private_ip: a.private_ip,
                public_ip: a.public_ip,
            })
            .collect(),
    })
}

fn network_acl(acl: aws::NetworkAcl, scope: &Scope<'_>) -> Result<NetworkAcl, Malformed> {
    // One entry left out could open or close a port, so an entry that
    // cannot be read makes the whole ACL unusable.
    let id = acl
        .network_acl_id
        .clone()
        .unwrap_or_else(|| "a network ACL".to_owned());
    let mut entries = acl
        .entries
        .unwrap_or_default()
        .into_iter()
        .map(|entry| network_acl_entry(entry).map_err(|why| format!("{id}: {why}")))
        .collect::<Result<Vec<NetworkAclEntry>, Malformed>>()?;
    // Evaluation order is by rule number within each direction; store it so.
    entries.sort_by_key(|entry| (entry.egress, entry.rule_number));
    Ok(NetworkAcl {
        meta: meta(scope, "network-acl", acl.network_acl_id, None, acl.tags)?,
        vpc_id: required(acl.vpc_id, "a VPC id", "a network ACL")?,
        is_default: acl.is_default.unwrap_or(false),
        entries,
        associations: acl
            .associations
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| {
                Some(NetworkAclAssociation {
                    id: a.network_acl_association_id,
                    subnet_id: a.subnet_id?,
                })
            })
            .collect(),
    })
}

fn network_acl_entry(entry: aws::NetworkAclEntry) -> Result<NetworkAclEntry, Malformed> {
    const ENTRY: &str = "an entry";
    let protocol = parse_protocol(entry.protocol.as_deref())?;
    let ports = |range: Option<aws::PortRange>| -> Result<PortRange, Malformed> {
        let range = required(range, "a port range", ENTRY)?;
        Ok(PortRange {
            from: required(range.from, "a first port", ENTRY)?,
            to: required(range.to, "a last port", ENTRY)?,
        })
    };
    Ok(NetworkAclEntry {
        rule_number: required(entry.rule_number, "a rule number", ENTRY)?,
        egress: required(entry.egress, "a direction", ENTRY)?,
        protocol,
        action: match entry.rule_action {
            Some(aws::RuleAction::Allow) => RuleAction::Allow,
            // Anything not explicitly an allow is treated as a deny: an
            // unknown action must never make a port look open.
            _ => RuleAction::Deny,
        },
        cidr_ipv4: entry.cidr_block,
        cidr_ipv6: entry.ipv6_cidr_block,
        port_range: if protocol.has_ports() {
            Some(ports(entry.port_range)?)
        } else {
            None
        },
        icmp: if protocol.is_icmp() {
            entry.icmp_type_code.map(|icmp| IcmpTypeCode {
                icmp_type: icmp.r#type.unwrap_or(-1),
                code: icmp.code.unwrap_or(-1),
            })
        } else {
            None
        },
    })
}

/// Parses a protocol from the API: a missing or unknown one is malformed,
/// since guessing could invent or hide an open port.
fn parse_protocol(text: Option<&str>) -> Result<Protocol, Malformed> {
    required(text, "a protocol", "an entry")?
        .parse()
        .map_err(|err| format!("an entry with an unknown protocol: {err}"))
}

fn security_group(g: aws::SecurityGroup, scope: &Scope<'_>) -> Result<SecurityGroup, Malformed> {
    // As with ACL entries, a rule left out could hide an open port.
    let id = g
        .group_id
        .clone()
        .unwrap_or_else(|| "a security group".to_owned());
    let permissions = |perms: Option<Vec<aws::IpPermission>>| {
        perms
            .unwrap_or_default()
            .into_iter()
            .map(|p| permission(p).map_err(|why| format!("{id}: {why}")))
            .collect::<Result<Vec<Permission>, Malformed>>()
    };
    Ok(SecurityGroup {
        meta: meta(
            scope,
            "security-group",
            g.group_id,
            g.security_group_arn,
            g.tags,
        )?,
        name: required(g.group_name, "a name", &id)?,
        description: g.description,
        vpc_id: g.vpc_id,
        owner_id: g.owner_id,
        ingress: permissions(g.ip_permissions)?,
        egress: permissions(g.ip_permissions_egress)?,
    })
}

fn permission(p: aws::IpPermission) -> Result<Permission, Malformed> {
    const RULE: &str = "a rule";
    let protocol = parse_protocol(p.ip_protocol.as_deref())?;
    let (from, to) = (p.from_port, p.to_port);
    Ok(Permission {
        protocol,
        port_range: if protocol.has_ports() {
            Some(PortRange {
                from: required(from, "a first port", RULE)?,
                to: required(to, "a last port", RULE)?,
            })
        } else {
            None
        },
        // For ICMP, AWS reuses the port fields for type and code.
        icmp: if protocol.is_icmp() {
            Some(IcmpTypeCode {
                icmp_type: from.unwrap_or(-1),
                code: to.unwrap_or(-1),
            })
        } else {
            None
        },
        ipv4_ranges: p
            .ip_ranges
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(CidrSource {
                    cidr: r.cidr_ip?,
                    description: r.description,
                })
            })
            .collect(),
        ipv6_ranges: p
            .ipv6_ranges
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(CidrSource {
                    cidr: r.cidr_ipv6?,
                    description: r.description,
                })
            })
            .collect(),
        prefix_list_ids: p
            .prefix_list_ids
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(PrefixListSource {
                    prefix_list_id: r.prefix_list_id?,
                    description: r.description,
                })
            })
            .collect(),
        referenced_groups: p
            .user_id_group_pairs
            .unwrap_or_default()
            .into_iter()
            .map(|pair| GroupSource {
                group_id: pair.group_id,
                group_name: pair.group_name,
                user_id: pair.user_id,
                vpc_id: pair.vpc_id,
                vpc_peering_connection_id: pair.vpc_peering_connection_id,
                description: pair.description,
            })
            .collect(),
    })
}

fn network_interface(
    n: aws::NetworkInterface,
    scope: &Scope<'_>,
) -> Result<NetworkInterface, Malformed> {
    Ok(NetworkInterface {
        meta: meta(
            scope,
            "network-interface",
            n.network_interface_id,
            None,
            n.tag_set,
        )?,
        vpc_id: n.vpc_id,
        subnet_id: n.subnet_id,
        availability_zone: n.availability_zone,
        interface_type: n.interface_type.map(|t| t.as_str().to_owned()),
        status: n.status.map(|s| s.as_str().to_owned()),
        description: n.description.filter(|d| !d.is_empty()),
        owner_id: n.owner_id,
        requester_managed: n.requester_managed.unwrap_or(false),
        private_ip: n.private_ip_address,
        public_ip: n.association.and_then(|a| a.public_ip),
        // EC2 omits an empty list, so an absent one holds no addresses.
        secondary_public_ips: Some(
            n.private_ip_addresses
                .unwrap_or_default()
                .into_iter()
                .filter(|address| address.primary != Some(true))
                .filter_map(|address| address.association.and_then(|a| a.public_ip))
                .collect(),
        ),
        ipv6_addresses: n
            .ipv6_addresses
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| a.ipv6_address)
            .collect(),
        security_group_ids: n
            .groups
            .unwrap_or_default()
            .into_iter()
            .filter_map(|g| g.group_id)
            .collect(),
        attachment: n.attachment.map(|a| InterfaceAttachment {
            instance_id: a.instance_id,
            instance_owner_id: a.instance_owner_id,
            device_index: a.device_index,
            status: a.status.map(|s| s.as_str().to_owned()),
        }),
    })
}

fn instance(i: aws::Instance, scope: &Scope<'_>) -> Result<Instance, Malformed> {
    let interfaces = i.network_interfaces.unwrap_or_default();
    // Groups of every interface, not just the primary: a secondary ENI can
    // carry a more open group than the one the console shows.
    let security_group_ids: BTreeSet<String> = interfaces
        .iter()
        .flat_map(|eni| eni.groups.iter().flatten())
        .chain(i.security_groups.iter().flatten())
        .filter_map(|g| g.group_id.clone())
        .collect();
    Ok(Instance {
        meta: meta(scope, "instance", i.instance_id, None, i.tags)?,
        state: i
            .state
            .and_then(|s| s.name)
            .map(|name| name.as_str().to_owned()),
        instance_type: i.instance_type.map(|t| t.as_str().to_owned()),
        image_id: i.image_id,
        vpc_id: i.vpc_id,
        subnet_id: i.subnet_id,
        private_ip: i.private_ip_address,
        public_ip: i.public_ip_address,
        launch_time: to_utc(i.launch_time),
        network_interface_ids: interfaces
            .into_iter()
            .filter_map(|eni| eni.network_interface_id)
            .collect(),
        security_group_ids: security_group_ids.into_iter().collect(),
        metadata_options: i.metadata_options.map(|m| MetadataOptions {
            http_tokens: m.http_tokens.map(|t| t.as_str().to_owned()),
            http_endpoint: m.http_endpoint.map(|e| e.as_str().to_owned()),
            http_put_response_hop_limit: m.http_put_response_hop_limit,
            instance_metadata_tags: m.instance_metadata_tags.map(|t| t.as_str().to_owned()),
        }),
        iam_instance_profile_arn: i.iam_instance_profile.and_then(|p| p.arn),
    })
}

fn flow_log(f: aws::FlowLog, scope: &Scope<'_>) -> Result<FlowLog, Malformed> {
    Ok(FlowLog {
        meta: meta(scope, "vpc-flow-log", f.flow_log_id, None, f.tags)?,
        resource_id: f.resource_id,
        traffic_type: f.traffic_type.map(|t| t.as_str().to_owned()),
        log_destination_type: f.log_destination_type.map(|t| t.as_str().to_owned()),
        log_destination: f.log_destination.or(f.log_group_name),
        flow_log_status: f.flow_log_status,
        deliver_logs_status: f.deliver_logs_status,
    })
}

fn transit_gateway(t: aws::TransitGateway, scope: &Scope<'_>) -> Result<TransitGateway, Malformed> {
    let options = t
        .options
        .unwrap_or_else(|| aws::TransitGatewayOptions::builder().build());
    Ok(TransitGateway {
        meta: meta(
            scope,
            "transit-gateway",
            t.transit_gateway_id,
            t.transit_gateway_arn,
            t.tags,
        )?,
        owner_id: t.owner_id,
        state: t.state.map(|s| s.as_str().to_owned()),
        auto_accept_shared_attachments: options.auto_accept_shared_attachments
            == Some(aws::AutoAcceptSharedAttachmentsValue::Enable),
        default_route_table_association: options.default_route_table_association
            == Some(aws::DefaultRouteTableAssociationValue::Enable),
        default_route_table_propagation: options.default_route_table_propagation
            == Some(aws::DefaultRouteTablePropagationValue::Enable),
        amazon_side_asn: options.amazon_side_asn,
    })
}

fn peering_connection(
    p: aws::VpcPeeringConnection,
    scope: &Scope<'_>,
) -> Result<VpcPeeringConnection, Malformed> {
    let side = |info: aws::VpcPeeringConnectionVpcInfo| PeeringSide {
        vpc_id: info.vpc_id,
        owner_id: info.owner_id,
        region: info.region,
        cidr_blocks: info
            .cidr_block_set
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.cidr_block)
            .chain(info.cidr_block)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        ipv6_cidr_blocks: info
            .ipv6_cidr_block_set
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.ipv6_cidr_block)
            .collect(),
    };
    Ok(VpcPeeringConnection {
        meta: meta(
            scope,
            "vpc-peering-connection",
            p.vpc_peering_connection_id,
            None,
            p.tags,
        )?,
        status: p
            .status
            .and_then(|s| s.code)
            .map(|code| code.as_str().to_owned()),
        requester: p.requester_vpc_info.map(side),
        accepter: p.accepter_vpc_info.map(side),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::ledger::{Ledger, Operation};
    use crate::snapshot::sts::AccountIdentity;

    fn with_scope<T>(f: impl FnOnce(&Scope<'_>) -> T) -> T {
        let account = AccountIdentity {
            account_id: "111122223333".to_owned(),
            partition: "aws-us-gov".to_owned(),
            caller_arn: "arn:aws-us-gov:iam::111122223333:user/auditor".to_owned(),
        };
        let ledger = Ledger::default();
        f(&Scope::regional("us-gov-west-1", &account, &ledger))
    }

    #[test]
    fn arns_are_built_in_the_account_partition_when_the_api_gives_none() {
        let vpc = with_scope(|scope| {
            vpc(
                aws::Vpc::builder()
                    .vpc_id("vpc-1")
                    .is_default(false)
                    .build(),
                scope,
            )
        })
        .expect("converts");
        assert_eq!(
            vpc.meta.arn,
            "arn:aws-us-gov:ec2:us-gov-west-1:111122223333:vpc/vpc-1"
        );
    }

    #[test]
    fn nacl_icmp_entries_keep_type_and_code_and_drop_ports() {
        let entry = aws::NetworkAclEntry::builder()
            .rule_number(120)
            .protocol("58")
            .rule_action(aws::RuleAction::Allow)
            .egress(false)
            .ipv6_cidr_block("::/0")
            .icmp_type_code(aws::IcmpTypeCode::builder().r#type(128).code(0).build())
            .port_range(aws::PortRange::builder().from(1).to(2).build())
            .build();
        assert_eq!(
            network_acl_entry(entry),
            Ok(NetworkAclEntry {
                rule_number: 120,
                egress: false,
                protocol: Protocol::Icmpv6,
                action: RuleAction::Allow,
                cidr_ipv4: None,
                cidr_ipv6: Some("::/0".to_owned()),
                port_range: None,
                icmp: Some(IcmpTypeCode {
                    icmp_type: 128,
                    code: 0
                }),
            })
        );
    }

    #[test]
    fn an_entry_with_an_unknown_action_counts_as_deny() {
        let unknown_action = aws::NetworkAclEntry::builder()
            .rule_number(1)
            .egress(false)
            .protocol("6")
            .port_range(aws::PortRange::builder().from(22).to(22).build())
            .rule_action(aws::RuleAction::from("maybe"))
            .build();
        assert_eq!(
            network_acl_entry(unknown_action).map(|e| e.action),
            Ok(RuleAction::Deny)
        );
    }

    /// A network ACL as AWS would send it, with one entry changed.
    fn acl_with(entry: aws::builders::NetworkAclEntryBuilder) -> aws::NetworkAcl {
        aws::NetworkAcl::builder()
            .network_acl_id("acl-1")
            .vpc_id("vpc-1")
            .entries(entry.build())
            .build()
    }

    fn ssh_entry() -> aws::builders::NetworkAclEntryBuilder {
        aws::NetworkAclEntry::builder()
            .rule_number(90)
            .egress(false)
            .protocol("6")
            .rule_action(aws::RuleAction::Deny)
            .cidr_block("0.0.0.0/0")
            .port_range(aws::PortRange::builder().from(22).to(22).build())
    }

    #[test]
    fn nothing_the_reasoning_needs_is_invented_the_item_is_malformed_instead() {
        let acl = |entry| with_scope(|scope| network_acl(acl_with(entry), scope));
        assert!(acl(ssh_entry()).is_ok());
        // A missing rule number would have become 0 and decided first.
        assert_eq!(
            acl(ssh_entry().set_rule_number(None)).err().as_deref(),
            Some("acl-1: an entry without a rule number")
        );
        assert_eq!(
            acl(ssh_entry().set_protocol(None)).err().as_deref(),
            Some("acl-1: an entry without a protocol")
        );
        assert!(
            acl(ssh_entry().protocol("carrier-pigeon"))
                .is_err_and(|why| why.starts_with("acl-1: an entry with an unknown protocol: "))
        );
        assert_eq!(
            acl(ssh_entry().set_port_range(None)).err().as_deref(),
            Some("acl-1: an entry without a port range")
        );
        let no_vpc = with_scope(|scope| {
            network_acl(
                aws::NetworkAcl::builder().network_acl_id("acl-2").build(),
                scope,
            )
        });
        assert_eq!(
            no_vpc.err().as_deref(),
            Some("a network ACL without a VPC id")
        );
        let no_id =
            with_scope(|scope| vpc(aws::Vpc::builder().cidr_block("10.0.0.0/16").build(), scope));
        assert_eq!(no_id.err().as_deref(), Some("a vpc without an id"));
        let tcp_without_ports = with_scope(|scope| {
            security_group(
                aws::SecurityGroup::builder()
                    .group_id("sg-1")
                    .group_name("web")
                    .ip_permissions(
                        aws::IpPermission::builder()
                            .ip_protocol("tcp")
                            .ip_ranges(aws::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                            .build(),
                    )
                    .build(),
                scope,
            )
        });
        assert_eq!(
            tcp_without_ports.err().as_deref(),
            Some("sg-1: a rule without a first port")
        );
    }

    #[test]
    fn a_malformed_item_is_left_out_and_its_listing_recorded() {
        let account = AccountIdentity {
            account_id: "111122223333".to_owned(),
            partition: "aws".to_owned(),
            caller_arn: "arn:aws:iam::111122223333:user/auditor".to_owned(),
        };
        let ledger = Ledger::default();
        let scope = Scope::regional("eu-west-1", &account, &ledger);
        let listed = vec![
            acl_with(ssh_entry()),
            acl_with(ssh_entry().set_rule_number(None)),
        ];
        let operation = Operation {
            service: "ec2".to_owned(),
            name: "DescribeNetworkAcls".to_owned(),
        };
        let acls = convert_all(Some((listed, operation)), &scope, network_acl);
        assert_eq!(acls.len(), 1);
        let (_, errors) = ledger.take();
        assert_eq!(
            errors,
            [crate::snapshot::CollectionError {
                service: "ec2".to_owned(),
                region: Some("eu-west-1".to_owned()),
                operation: "DescribeNetworkAcls".to_owned(),
                resource: None,
                code: "MalformedResponse".to_owned(),
                message: "skipped acl-1: an entry without a rule number".to_owned(),
            }]
        );
    }

    #[test]
    fn gateway_routes_are_told_apart_by_id_prefix() {
        let kind_of = |builder: aws::builders::RouteBuilder| route(builder.build()).target.kind;
        let via_gateway = |id: &str| kind_of(aws::Route::builder().gateway_id(id));
        assert_eq!(via_gateway("local"), RouteTargetKind::Local);
        assert_eq!(via_gateway("igw-1"), RouteTargetKind::InternetGateway);
        assert_eq!(via_gateway("vgw-1"), RouteTargetKind::VirtualPrivateGateway);
        assert_eq!(via_gateway("vpce-1"), RouteTargetKind::VpcEndpoint);
        assert_eq!(via_gateway("xyz-1"), RouteTargetKind::Unknown);
        assert_eq!(
            kind_of(aws::Route::builder().egress_only_internet_gateway_id("eigw-1")),
            RouteTargetKind::EgressOnlyInternetGateway
        );
        assert_eq!(
            kind_of(aws::Route::builder().transit_gateway_id("tgw-1")),
            RouteTargetKind::TransitGateway
        );
        // An instance route also reports the instance's interface; the
        // instance is the more specific target.
        assert_eq!(
            kind_of(
                aws::Route::builder()
                    .instance_id("i-1")
                    .network_interface_id("eni-1")
            ),
            RouteTargetKind::Instance
        );
        let blackhole = route(
            aws::Route::builder()
                .destination_prefix_list_id("pl-1")
                .nat_gateway_id("nat-1")
                .state(aws::RouteState::Blackhole)
                .build(),
        );
        assert_eq!(
            blackhole.destination,
            RouteDestination::PrefixList("pl-1".to_owned())
        );
        assert_eq!(blackhole.state.as_deref(), Some("blackhole"));
    }

    #[test]
    fn an_instance_carries_the_groups_of_every_interface() {
        let eni = |id: &str, group: &str| {
            aws::InstanceNetworkInterface::builder()
                .network_interface_id(id)
                .groups(aws::GroupIdentifier::builder().group_id(group).build())
                .build()
        };
        let instance = with_scope(|scope| {
            instance(
                aws::Instance::builder()
                    .instance_id("i-1")
                    .network_interfaces(eni("eni-1", "sg-b"))
                    .network_interfaces(eni("eni-2", "sg-a"))
                    .security_groups(aws::GroupIdentifier::builder().group_id("sg-b").build())
                    .build(),
                scope,
            )
        })
        .expect("converts");
        assert_eq!(instance.security_group_ids, ["sg-a", "sg-b"]);
        assert_eq!(instance.network_interface_ids, ["eni-1", "eni-2"]);
    }

    #[test]
    fn an_all_protocol_permission_has_neither_ports_nor_icmp() {
        let permission = permission(
            aws::IpPermission::builder()
                .ip_protocol("-1")
                .from_port(-1)
                .to_port(-1)
                .ip_ranges(aws::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .expect("converts");
        assert_eq!(permission.protocol, Protocol::All);
        assert_eq!(permission.port_range, None);
        assert_eq!(permission.icmp, None);
    }
}
