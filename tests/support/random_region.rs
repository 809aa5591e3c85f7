//! Random snapshot parts for property tests: security groups, network
//! ACL entries, routes and a region with one interface, as the snapshot's
//! JSON holds them.

use proptest::prelude::*;
use rampart::snapshot::ec2::Ec2Region;
use serde_json::{Value, json};

pub const REGION: &str = "us-east-1";

pub const V4_BLOCKS: &[&str] = &[
    "0.0.0.0/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "64.0.0.0/2",
    "8.0.0.0/8",
    "8.8.8.0/24",
    "10.0.0.0/8",
    "52.0.0.0/8",
    "52.94.0.0/16",
    "100.64.0.0/10",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "203.0.113.7/32",
];

pub const V6_BLOCKS: &[&str] = &[
    "::/0",
    "::/1",
    "8000::/1",
    "2000::/3",
    "2600::/16",
    "2600:1f18::/32",
    "2a05:d000::/25",
    "fc00::/7",
];

pub const PORTS: &[i32] = &[
    0, 21, 22, 23, 80, 443, 1023, 1024, 3306, 3389, 32_768, 49_152, 65_535,
];

pub fn cidr(v6: bool) -> BoxedStrategy<String> {
    if v6 {
        prop_oneof![
            3 => prop::sample::select(V6_BLOCKS).prop_map(str::to_owned),
            1 => (any::<u128>(), 0u32..=128).prop_map(|(a, p)| {
                let first = if p == 0 { 0 } else { a & (u128::MAX << (128 - p)) };
                format!("{}/{p}", std::net::Ipv6Addr::from(first))
            }),
        ]
        .boxed()
    } else {
        prop_oneof![
            3 => prop::sample::select(V4_BLOCKS).prop_map(str::to_owned),
            1 => (any::<u32>(), 0u32..=32).prop_map(|(a, p)| {
                let first = if p == 0 { 0 } else { a & (u32::MAX << (32 - p)) };
                format!("{}/{p}", std::net::Ipv4Addr::from(first))
            }),
        ]
        .boxed()
    }
}

pub fn port_range() -> impl Strategy<Value = (i32, i32)> {
    (prop::sample::select(PORTS), prop::sample::select(PORTS))
        .prop_map(|(a, b)| (a.min(b), a.max(b)))
}

pub fn protocol() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["tcp", "udp", "-1", "icmp"][..])
}

pub fn meta(id: &str, fields: Value) -> Value {
    let mut out = json!({"id": id, "arn": format!("arn:aws:ec2:{REGION}:123456789012:x/{id}"), "region": REGION});
    if let (Some(out), Some(fields)) = (out.as_object_mut(), fields.as_object()) {
        out.extend(fields.clone());
    }
    out
}

pub fn ports_json(protocol: &str, (from, to): (i32, i32)) -> Value {
    if matches!(protocol, "tcp" | "udp") {
        json!({"from": from, "to": to})
    } else {
        Value::Null
    }
}

pub fn permission() -> impl Strategy<Value = Value> {
    (
        protocol(),
        port_range(),
        prop::collection::vec(cidr(false), 0..3),
        prop::collection::vec(cidr(true), 0..2),
    )
        .prop_map(|(protocol, ports, v4, v6)| {
            let sources = |cidrs: Vec<String>| -> Vec<Value> {
                cidrs.into_iter().map(|c| json!({"cidr": c})).collect()
            };
            json!({
                "protocol": protocol, "port_range": ports_json(protocol, ports),
                "ipv4_ranges": sources(v4), "ipv6_ranges": sources(v6),
                "prefix_list_ids": [], "referenced_groups": [],
            })
        })
}

pub fn acl_entry() -> impl Strategy<Value = Value> {
    (
        1..60i32,
        any::<bool>(),
        protocol(),
        any::<bool>(),
        any::<bool>(),
        port_range(),
    )
        .prop_flat_map(|(rule, egress, protocol, allow, v6, ports)| {
            cidr(v6).prop_map(move |cidr| {
                json!({
                    "rule_number": rule * 10, "egress": egress, "protocol": protocol,
                    "action": if allow { "allow" } else { "deny" },
                    "cidr_ipv4": if v6 { Value::Null } else { json!(cidr) },
                    "cidr_ipv6": if v6 { json!(cidr) } else { Value::Null },
                    "port_range": ports_json(protocol, ports),
                })
            })
        })
}

pub fn route() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        prop::sample::select(
            &[
                ("internet_gateway", "igw-1"),
                ("internet_gateway", "igw-1"),
                ("nat_gateway", "nat-1"),
                ("transit_gateway", "tgw-1"),
                ("vpc_peering", "pcx-1"),
                ("egress_only_internet_gateway", "eigw-1"),
            ][..],
        ),
        prop::sample::select(&["active", "active", "active", "blackhole"][..]),
        any::<bool>(),
    )
        .prop_flat_map(|(v6, (kind, id), state, propagated)| {
            cidr(v6).prop_map(move |cidr| {
                json!({
                    "destination": {"kind": if v6 { "ipv6" } else { "ipv4" }, "value": cidr},
                    "target": {"kind": kind, "id": id}, "state": state,
                    "origin": if propagated { "EnableVgwRoutePropagation" } else { "CreateRoute" },
                })
            })
        })
}

/// A region with one interface in one subnet. Most start from an open
/// configuration (a group admitting the internet on some ports, ACL entries
/// allowing everything late in the order, default routes to the internet
/// gateway) so that random entries ahead of them have something to
/// narrow; the ACL's entries have distinct rule numbers per direction, as
/// AWS requires.
pub fn region() -> impl Strategy<Value = Ec2Region> {
    (
        prop::collection::vec(prop::collection::vec(permission(), 0..4), 1..3),
        prop::collection::vec(acl_entry(), 0..8),
        prop::collection::vec(route(), 0..5),
        (any::<bool>(), any::<bool>()),
        prop::sample::select(&[None, Some("2600:1f18::10"), Some("fd00::10")][..]),
        (prop::bool::weighted(0.8), prop::bool::weighted(0.8), prop::bool::weighted(0.8)),
        (protocol(), port_range()),
    )
        .prop_map(|(mut groups, mut entries, mut routes, (public_ipv4, secondary_eip), ipv6, (open_acl, open_routes, open_group), (open_protocol, open_ports))| {
            let mut seen = std::collections::BTreeSet::new();
            entries.retain(|e| seen.insert((e["egress"].as_bool(), e["rule_number"].as_i64())));
            if open_acl {
                for egress in [false, true] {
                    entries.push(json!({"rule_number": 32_000, "egress": egress, "protocol": "-1",
                        "action": "allow", "cidr_ipv4": "0.0.0.0/0"}));
                    entries.push(json!({"rule_number": 32_001, "egress": egress, "protocol": "-1",
                        "action": "allow", "cidr_ipv6": "::/0"}));
                }
            }
            if open_routes {
                for (kind, cidr) in [("ipv4", "0.0.0.0/0"), ("ipv6", "::/0")] {
                    routes.push(json!({"destination": {"kind": kind, "value": cidr},
                        "target": {"kind": "internet_gateway", "id": "igw-1"}, "state": "active",
                        "origin": "CreateRoute"}));
                }
            }
            if open_group {
                groups[0].push(json!({"protocol": open_protocol, "port_range": ports_json(open_protocol, open_ports),
                    "ipv4_ranges": [{"cidr": "0.0.0.0/0"}], "ipv6_ranges": [{"cidr": "::/0"}],
                    "prefix_list_ids": [], "referenced_groups": []}));
            }
            routes.push(json!({"destination": {"kind": "ipv4", "value": "10.0.0.0/16"},
                "target": {"kind": "local", "id": "local"}, "state": "active", "origin": "CreateRouteTable"}));
            let group_ids: Vec<String> = (0..groups.len()).map(|i| format!("sg-{i}")).collect();
            // The public address is the primary's or an Elastic IP on a
            // secondary private address: either makes the interface public.
            let (public_ip, secondary) = match (public_ipv4, secondary_eip) {
                (false, _) => (Value::Null, json!([])),
                (true, false) => (json!("54.1.2.3"), json!([])),
                (true, true) => (Value::Null, json!(["54.1.2.4"])),
            };
            let region = json!({
                "vpcs": [meta("vpc-1", json!({"is_default": false, "cidr_block": "10.0.0.0/16",
                    "cidr_blocks": [{"cidr": "10.0.0.0/16", "state": "associated"}], "ipv6_cidr_blocks": []}))],
                "subnets": [meta("subnet-1", json!({"vpc_id": "vpc-1", "cidr_block": "10.0.1.0/24",
                    "available_ip_address_count": 250, "map_public_ip_on_launch": false,
                    "default_for_az": false, "ipv6_cidr_blocks": [], "assign_ipv6_address_on_creation": false}))],
                "route_tables": [meta("rtb-1", json!({"vpc_id": "vpc-1", "is_main": true,
                    "propagating_vgw_ids": [], "routes": routes, "associations": [{"main": true}]}))],
                "internet_gateways": [], "nat_gateways": [], "instances": [], "flow_logs": [],
                "transit_gateways": [], "vpc_peering_connections": [],
                "network_acls": [meta("acl-1", json!({"vpc_id": "vpc-1", "is_default": true,
                    "entries": entries, "associations": [{"subnet_id": "subnet-1"}]}))],
                "security_groups": groups.iter().enumerate().map(|(i, ingress)| meta(&format!("sg-{i}"),
                    json!({"name": format!("g{i}"), "vpc_id": "vpc-1", "egress": [], "ingress": ingress}))).collect::<Vec<_>>(),
                "network_interfaces": [meta("eni-1", json!({"vpc_id": "vpc-1", "subnet_id": "subnet-1",
                    "requester_managed": false, "private_ip": "10.0.1.10",
                    "public_ip": public_ip, "secondary_public_ips": secondary,
                    "ipv6_addresses": ipv6.into_iter().collect::<Vec<_>>(), "security_group_ids": group_ids}))],
                "ebs_encryption_by_default": true,
            });
            serde_json::from_value(region).expect("generated region parses")
        })
}
