//! Derived facts computed from a snapshot before rules run: which subnets
//! are public, what is reachable from the internet, which VPC ranges
//! overlap. Analysis reads only the snapshot, never AWS, and rules see its
//! facts as fields of the resources they describe.

pub mod cidr;
pub mod exposure;
pub mod guardduty;
pub mod iam;
pub mod identity_center;
pub mod ingress;
pub mod load_balancers;
pub mod nacl;
pub mod network;
pub mod ports;
pub mod routes;
pub mod sets;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::snapshot::{RegionSnapshot, Snapshot};
use exposure::{Endpoint, Exposure, RegionModel};
use guardduty::GuardDutyFacts;
use iam::{RootFacts, UserFacts};
use identity_center::InstanceFacts;
use nacl::AclFacts;
use network::RegionNetwork;

/// Every derived fact of a snapshot: account-wide, and per region and
/// resource id.
#[derive(Debug, Default)]
pub struct Analysis {
    pub account: AccountFacts,
    pub regions: HashMap<String, RegionAnalysis>,
}

/// Facts about the account as a whole.
#[derive(Debug, Default)]
pub struct AccountFacts {
    pub root: RootFacts,
    /// Per IAM user id.
    pub users: HashMap<String, UserFacts>,
    /// IAM Identity Center instances found in any region.
    pub identity_center_instances: Vec<InstanceFacts>,
    /// Whether the billing alarms and the budgets were listed: a failed
    /// listing leaves its list empty in the snapshot, which must not read
    /// as "none".
    pub billing_alarms_listed: bool,
    pub budgets_listed: bool,
}

#[derive(Debug, Default)]
pub struct RegionAnalysis {
    pub guardduty: GuardDutyFacts,
    pub network: RegionNetwork,
    pub network_acls: HashMap<String, AclFacts>,
    pub network_interfaces: HashMap<String, Exposure>,
    pub instances: HashMap<String, Exposure>,
}

impl Analysis {
    pub fn of(snapshot: &Snapshot) -> Analysis {
        let mut regions: HashMap<String, RegionAnalysis> = snapshot
            .regions
            .par_iter()
            .map(|(name, region)| (name.clone(), analyze_region(region)))
            .collect();
        let vpcs: Vec<_> = snapshot
            .regions
            .iter()
            .flat_map(|(name, region)| region.ec2.vpcs.iter().map(move |vpc| (name.as_str(), vpc)))
            .collect();
        let unlisted: Vec<&str> = snapshot
            .collection_errors
            .iter()
            .filter(|e| e.service == "ec2" && e.operation == "DescribeVpcs")
            .filter_map(|e| e.region.as_deref())
            .collect();
        if !unlisted.is_empty() {
            for (name, region) in regions.iter_mut() {
                for facts in region.network.vpcs.values_mut() {
                    facts.unlisted_regions = unlisted
                        .iter()
                        .filter(|other| **other != name.as_str())
                        .map(|other| (*other).to_owned())
                        .collect();
                    facts.unlisted_regions.sort();
                    facts.unlisted_regions.dedup();
                }
            }
        }
        for ((region, vpc_id), mut overlaps) in network::overlaps(&vpcs) {
            overlaps.sort();
            if let Some(facts) = regions
                .get_mut(region)
                .and_then(|r| r.network.vpcs.get_mut(vpc_id))
            {
                facts.overlapping_vpcs = overlaps;
            }
        }
        let report = snapshot.global.iam.report_lookup();
        let account = AccountFacts {
            root: RootFacts::of(&snapshot.account, &snapshot.global.iam),
            users: snapshot
                .global
                .iam
                .users
                .iter()
                .map(|user| {
                    let facts = UserFacts::of(user, report.as_ref(), snapshot.collected_at);
                    (user.meta.id.clone(), facts)
                })
                .collect(),
            identity_center_instances: identity_center::instances(snapshot),
            billing_alarms_listed: !failed(snapshot, "cloudwatch", "DescribeAlarms"),
            budgets_listed: !failed(snapshot, "budgets", "DescribeBudgets"),
        };
        Analysis { account, regions }
    }

    pub fn region(&self, name: &str) -> Option<&RegionAnalysis> {
        self.regions.get(name)
    }
}

/// Whether a call failed anywhere in the collection.
fn failed(snapshot: &Snapshot, service: &str, operation: &str) -> bool {
    snapshot
        .collection_errors
        .iter()
        .any(|e| e.service == service && e.operation == operation)
}

fn analyze_region(region: &RegionSnapshot) -> RegionAnalysis {
    RegionAnalysis {
        guardduty: GuardDutyFacts::of(&region.guardduty),
        ..analyze_ec2(region)
    }
}

/// The network facts of a region, load balancers included; GuardDuty's
/// are added by the caller.
fn analyze_ec2(region: &RegionSnapshot) -> RegionAnalysis {
    let ec2 = &region.ec2;
    let network = RegionNetwork::of(ec2);
    let model = RegionModel::of(region, &network);
    let network_interfaces: HashMap<String, Exposure> = ec2
        .network_interfaces
        .iter()
        .map(|eni| {
            let mut unknown = Vec::new();
            let mut public_ipv4: Vec<&str> = eni.public_ip.as_deref().into_iter().collect();
            match &eni.secondary_public_ips {
                Some(ips) => public_ipv4.extend(ips.iter().map(String::as_str)),
                None => unknown.push(format!(
                    "the Elastic IPs of {}'s secondary private addresses are not in the snapshot",
                    eni.meta.id
                )),
            }
            let endpoint = Endpoint {
                network_interface_id: &eni.meta.id,
                public_ipv4,
                ipv6_addresses: &eni.ipv6_addresses,
                subnet_id: eni.subnet_id.as_deref(),
                security_group_ids: &eni.security_group_ids,
                open_without_groups: false,
                unknown,
            };
            (eni.meta.id.clone(), exposure::exposure(&model, &endpoint))
        })
        .collect();
    let mut instances: HashMap<String, Exposure> = ec2
        .instances
        .iter()
        .map(|instance| {
            // Without interfaces listed, the instance's own primary
            // address, subnet and groups describe its one interface.
            let facts = if instance.network_interface_ids.is_empty() {
                let endpoint = Endpoint {
                    network_interface_id: &instance.meta.id,
                    public_ipv4: instance.public_ip.as_deref().into_iter().collect(),
                    ipv6_addresses: &[],
                    subnet_id: instance.subnet_id.as_deref(),
                    security_group_ids: &instance.security_group_ids,
                    open_without_groups: false,
                    unknown: Vec::new(),
                };
                exposure::exposure(&model, &endpoint)
            } else {
                Exposure::merge(instance.network_interface_ids.iter().map(|id| {
                    network_interfaces
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| Exposure {
                            unknown: vec![format!(
                                "network interface {id} of {} is not in the snapshot",
                                instance.meta.id
                            )],
                            ..Exposure::default()
                        })
                }))
            };
            (instance.meta.id.clone(), facts)
        })
        .collect();
    load_balancers::add_paths(region, &model, &mut instances);
    RegionAnalysis {
        guardduty: GuardDutyFacts::default(),
        network_acls: ec2
            .network_acls
            .iter()
            .map(|acl| (acl.meta.id.clone(), AclFacts::of(acl)))
            .collect(),
        network,
        network_interfaces,
        instances,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::ec2::Ec2Region;
    use serde_json::{Value, json};

    fn meta(id: &str) -> Value {
        json!({"id": id, "arn": format!("arn:aws:ec2:us-east-1:123456789012:x/{id}"), "region": "us-east-1"})
    }

    fn with_meta(id: &str, fields: Value) -> Value {
        let mut out = meta(id);
        if let (Some(out), Some(fields)) = (out.as_object_mut(), fields.as_object()) {
            out.extend(fields.clone());
        }
        out
    }

    fn acl_entry(
        rule_number: i32,
        egress: bool,
        protocol: &str,
        ports: Option<(i32, i32)>,
        action: &str,
    ) -> Value {
        json!({
            "rule_number": rule_number, "egress": egress, "protocol": protocol, "action": action,
            "cidr_ipv4": "0.0.0.0/0",
            "port_range": ports.map(|(from, to)| json!({"from": from, "to": to})),
        })
    }

    fn subnet(id: &str, cidr: &str, available: u32) -> Value {
        with_meta(
            id,
            json!({
                "vpc_id": "vpc-1", "cidr_block": cidr, "available_ip_address_count": available,
                "map_public_ip_on_launch": false, "default_for_az": false,
            "ipv6_cidr_blocks": [], "assign_ipv6_address_on_creation": false,
            }),
        )
    }

    fn group(id: &str, cidr: &str) -> Value {
        with_meta(
            id,
            json!({
                "name": id, "vpc_id": "vpc-1", "egress": [],
                "ingress": [{"protocol": "tcp", "port_range": {"from": 22, "to": 22},
                    "ipv4_ranges": [{"cidr": cidr}], "ipv6_ranges": [], "prefix_list_ids": [],
                    "referenced_groups": []}],
            }),
        )
    }

    fn interface(id: &str, subnet: &str, public_ip: Option<&str>, group: &str) -> Value {
        with_meta(
            id,
            json!({
                "vpc_id": "vpc-1", "subnet_id": subnet, "requester_managed": false,
                "public_ip": public_ip, "secondary_public_ips": [], "ipv6_addresses": [],
                "security_group_ids": [group],
            }),
        )
    }

    /// One VPC: a public subnet (explicit table with a default route to an
    /// IGW), a private one (main table, local only), a public one whose ACL
    /// denies SSH at 90 before allowing everything at 100, and a public one
    /// whose ACL lets only HTTPS out.
    fn region() -> Ec2Region {
        let allow_all = |egress| acl_entry(100, egress, "all", None, "allow");
        let deny_all = |egress| acl_entry(32767, egress, "all", None, "deny");
        let region = json!({
            "vpcs": [with_meta("vpc-1", json!({"is_default": false, "cidr_block": "10.0.0.0/16",
                "cidr_blocks": [{"cidr": "10.0.0.0/16", "state": "associated"}], "ipv6_cidr_blocks": []}))],
            "subnets": [
                subnet("subnet-public", "10.0.1.0/24", 241),
                subnet("subnet-private", "10.0.2.0/24", 251),
                subnet("subnet-no-ssh", "10.0.3.0/24", 251),
                subnet("subnet-no-replies", "10.0.4.0/28", 1),
            ],
            "route_tables": [
                with_meta("rtb-main", json!({"vpc_id": "vpc-1", "is_main": true, "propagating_vgw_ids": [],
                    "routes": [{"destination": {"kind": "ipv4", "value": "10.0.0.0/16"}, "target": {"kind": "local", "id": "local"}, "state": "active"}],
                    "associations": [{"main": true}]})),
                with_meta("rtb-public", json!({"vpc_id": "vpc-1", "is_main": false, "propagating_vgw_ids": [],
                    "routes": [{"destination": {"kind": "ipv4", "value": "0.0.0.0/0"}, "target": {"kind": "internet_gateway", "id": "igw-1"}, "state": "active"}],
                    "associations": [{"main": false, "subnet_id": "subnet-public"}, {"main": false, "subnet_id": "subnet-no-ssh"},
                        {"main": false, "subnet_id": "subnet-no-replies"}]})),
            ],
            "internet_gateways": [], "nat_gateways": [], "instances": [], "flow_logs": [],
            "transit_gateways": [], "vpc_peering_connections": [],
            "network_acls": [
                with_meta("acl-default", json!({"vpc_id": "vpc-1", "is_default": true,
                    "entries": [allow_all(false), deny_all(false), allow_all(true), deny_all(true)],
                    "associations": [{"subnet_id": "subnet-public"}, {"subnet_id": "subnet-private"}]})),
                with_meta("acl-no-ssh", json!({"vpc_id": "vpc-1", "is_default": false,
                    "entries": [acl_entry(90, false, "tcp", Some((22, 22)), "deny"), allow_all(false), allow_all(true)],
                    "associations": [{"subnet_id": "subnet-no-ssh"}]})),
                with_meta("acl-no-replies", json!({"vpc_id": "vpc-1", "is_default": false,
                    "entries": [allow_all(false), acl_entry(100, true, "tcp", Some((443, 443)), "allow")],
                    "associations": [{"subnet_id": "subnet-no-replies"}]})),
            ],
            "security_groups": [group("sg-ssh", "0.0.0.0/0"), group("sg-internal", "10.0.0.0/8")],
            "network_interfaces": [
                interface("eni-reachable", "subnet-public", Some("203.0.113.10"), "sg-ssh"),
                interface("eni-private-subnet", "subnet-private", Some("203.0.113.11"), "sg-ssh"),
                interface("eni-acl-denies", "subnet-no-ssh", Some("203.0.113.12"), "sg-ssh"),
                interface("eni-no-public-ip", "subnet-public", None, "sg-ssh"),
                interface("eni-internal-group", "subnet-public", Some("203.0.113.13"), "sg-internal"),
                interface("eni-no-replies", "subnet-no-replies", Some("203.0.113.14"), "sg-ssh"),
            ],
            "ebs_encryption_by_default": true,
        });
        serde_json::from_value(region).expect("test region parses")
    }

    #[test]
    fn a_subnet_is_public_through_its_explicit_table_else_the_main_one() {
        let facts = RegionNetwork::of(&region());
        let public = &facts.subnets["subnet-public"];
        assert_eq!(
            (public.public_ipv4, public.public_ipv6),
            (Some(true), Some(false))
        );
        assert_eq!(public.route_table_id.as_deref(), Some("rtb-public"));
        assert!(!public.uses_main_route_table);
        assert_eq!(public.internet_gateway_id.as_deref(), Some("igw-1"));
        assert_eq!(public.network_acl_id.as_deref(), Some("acl-default"));
        let private = &facts.subnets["subnet-private"];
        assert_eq!(private.public_ipv4, Some(false));
        assert_eq!(private.route_table_id.as_deref(), Some("rtb-main"));
        assert!(private.uses_main_route_table);
        // A /24 has 251 usable addresses; 241 free means 10 used.
        assert_eq!(public.usable_addresses, Some(251));
        assert_eq!(public.used_addresses, Some(10));
        let full = &facts.subnets["subnet-no-replies"];
        assert_eq!(
            (full.usable_addresses, full.used_addresses),
            (Some(11), Some(10))
        );
    }

    #[test]
    fn only_ports_every_hop_admits_are_reachable_and_each_carries_its_path() {
        let analysis = analyze_ec2(&RegionSnapshot {
            ec2: region(),
            elbv2: Some(Default::default()),
            elb: Some(Default::default()),
            ..RegionSnapshot::default()
        });
        let exposure = |id: &str| &analysis.network_interfaces[id];

        let reachable = exposure("eni-reachable");
        assert_eq!(reachable.blocked_by, Vec::<String>::new());
        assert_eq!(reachable.unknown, Vec::<String>::new());
        assert_eq!(reachable.reachable.len(), 1);
        let path = &reachable.reachable[0];
        assert_eq!(
            (path.protocol, path.family, path.from, path.to),
            ("tcp", "ipv4", 22, 22)
        );
        assert_eq!(path.security_group_ids, ["sg-ssh"]);
        assert_eq!(path.security_group_rules, ["sg-ssh: tcp 22 from 0.0.0.0/0"]);
        assert_eq!(path.sources, "every internet IPv4 address");
        assert_eq!(path.addresses, ["203.0.113.10"]);
        assert_eq!(path.internet_gateway_id.as_deref(), Some("igw-1"));
        assert_eq!(path.route_table_id, "rtb-public");
        assert_eq!(path.routes, ["0.0.0.0/0 → igw-1"]);
        assert_eq!(path.network_acl_id, "acl-default");
        assert_eq!(path.network_acl_inbound_rules, [100]);
        assert_eq!(path.network_acl_outbound_rules, [100]);
        assert_eq!(
            path.path,
            "from every internet IPv4 address through igw-1 to 203.0.113.10 on eni-reachable: \
             route table rtb-public (0.0.0.0/0 → igw-1), network ACL acl-default inbound entry 100 \
             and outbound entry 100 for the replies, security group rule sg-ssh: tcp 22 from 0.0.0.0/0"
        );

        let private = exposure("eni-private-subnet");
        assert_eq!(private.open_in_security_groups.len(), 1);
        assert!(private.reachable.is_empty());
        assert_eq!(
            private.blocked_by,
            [
                "route table rtb-main sends no internet IPv4 address to an internet gateway (no route matches), so replies to TCP 22 cannot return"
            ]
        );

        let denied = exposure("eni-acl-denies");
        assert!(denied.reachable.is_empty());
        assert_eq!(
            denied.blocked_by,
            [
                "network ACL acl-no-ssh admits no inbound TCP 22 from the internet over IPv4 (denied by entry 90)"
            ]
        );

        let no_ip = exposure("eni-no-public-ip");
        assert!(no_ip.reachable.is_empty());
        assert_eq!(
            no_ip.blocked_by,
            ["eni-no-public-ip has no public IPv4 address the internet can reach"]
        );

        let internal = exposure("eni-internal-group");
        assert!(internal.open_in_security_groups.is_empty());
        assert!(internal.reachable.is_empty());
        assert!(internal.blocked_by.is_empty());

        let no_replies = exposure("eni-no-replies");
        assert!(no_replies.reachable.is_empty());
        assert_eq!(
            no_replies.blocked_by,
            [
                "network ACL acl-no-replies admits no outbound TCP over IPv4 to clients' ephemeral ports 1024-65535 at the addresses admitted inbound, so replies on TCP 22 cannot leave"
            ]
        );
        let acl = &analysis.network_acls["acl-no-replies"];
        assert_eq!(
            acl.ephemeral_return_blocked.tcp,
            [ports::PortSpan::new(1024, 65_535)]
        );
    }

    #[test]
    fn a_peering_route_is_within_the_peer_when_its_ranges_hold_it_together() {
        let mut ec2 = region();
        ec2.vpc_peering_connections = serde_json::from_value(json!([with_meta("pcx-1", json!({
            "status": "active",
            "requester": {"vpc_id": "vpc-1", "cidr_blocks": ["10.0.0.0/16"], "ipv6_cidr_blocks": []},
            "accepter": {"vpc_id": "vpc-2", "cidr_blocks": ["10.2.0.0/16", "10.3.0.0/16"], "ipv6_cidr_blocks": []},
        }))]))
        .expect("peering parses");
        let peering = |cidr: &str, pcx: &str| {
            serde_json::from_value(json!({"destination": {"kind": "ipv4", "value": cidr},
                "target": {"kind": "vpc_peering", "id": pcx}, "state": "active"}))
            .expect("route parses")
        };
        ec2.route_tables[0].routes = vec![
            peering("10.2.0.0/15", "pcx-1"),
            peering("10.2.0.0/14", "pcx-1"),
            peering("10.9.0.0/16", "pcx-gone"),
        ];
        let facts = RegionNetwork::of(&ec2);
        let routes = &facts.route_tables["rtb-main"].peering_routes;
        let within: Vec<(&str, Option<bool>)> = routes
            .iter()
            .map(|r| (r.destination.as_str(), r.within_peer))
            .collect();
        assert_eq!(
            within,
            [
                ("10.2.0.0/15", Some(true)),
                ("10.2.0.0/14", Some(false)),
                ("10.9.0.0/16", None)
            ]
        );
    }

    #[test]
    fn overlapping_ranges_are_found_across_regions_but_not_between_default_vpcs() {
        let vpc = |id: &str, cidr: &str, is_default: bool| -> crate::snapshot::ec2::Vpc {
            serde_json::from_value(with_meta(
                id,
                json!({"is_default": is_default, "cidr_block": cidr,
                "cidr_blocks": [{"cidr": cidr, "state": "associated"}], "ipv6_cidr_blocks": []}),
            ))
            .expect("vpc parses")
        };
        let (a, b, c, d) = (
            vpc("vpc-a", "10.0.0.0/16", false),
            vpc("vpc-b", "10.0.128.0/17", false),
            vpc("vpc-default-1", "172.31.0.0/16", true),
            vpc("vpc-default-2", "172.31.0.0/16", true),
        );
        let overlaps = network::overlaps(&[
            ("us-east-1", &a),
            ("eu-west-1", &b),
            ("us-east-1", &c),
            ("eu-west-1", &d),
        ]);
        assert_eq!(overlaps.len(), 2, "{overlaps:?}");
        let of_a = &overlaps[&("us-east-1", "vpc-a")];
        assert_eq!(of_a.len(), 1);
        assert_eq!(
            (
                of_a[0].vpc_id.as_str(),
                of_a[0].region.as_str(),
                of_a[0].cidr.as_str(),
                of_a[0].other_cidr.as_str()
            ),
            ("vpc-b", "eu-west-1", "10.0.0.0/16", "10.0.128.0/17")
        );
        assert_eq!(overlaps[&("eu-west-1", "vpc-b")][0].vpc_id, "vpc-a");
    }
}
