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
pub mod nacl;
pub mod network;
pub mod ports;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::snapshot::ec2::Ec2Region;
use crate::snapshot::{RegionSnapshot, Snapshot};
use exposure::{AclIpv4, Endpoint, Exposure};
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
        for ((region, vpc_id), mut overlaps) in network::overlaps(&vpcs) {
            overlaps.sort();
            if let Some(facts) = regions
                .get_mut(region)
                .and_then(|r| r.network.vpcs.get_mut(vpc_id))
            {
                facts.overlapping_vpcs = overlaps;
            }
        }
        let account = AccountFacts {
            root: RootFacts::of(&snapshot.account, &snapshot.global.iam),
            users: snapshot
                .global
                .iam
                .users
                .iter()
                .map(|user| {
                    let facts = UserFacts::of(user, snapshot.collected_at);
                    (user.meta.id.clone(), facts)
                })
                .collect(),
            identity_center_instances: identity_center::instances(snapshot),
        };
        Analysis { account, regions }
    }

    pub fn region(&self, name: &str) -> Option<&RegionAnalysis> {
        self.regions.get(name)
    }
}

fn analyze_region(region: &RegionSnapshot) -> RegionAnalysis {
    RegionAnalysis {
        guardduty: GuardDutyFacts::of(&region.guardduty),
        ..analyze_ec2(&region.ec2)
    }
}

/// The network facts of a region; GuardDuty's are added by the caller.
fn analyze_ec2(ec2: &Ec2Region) -> RegionAnalysis {
    let network = RegionNetwork::of(ec2);
    let acls: HashMap<&str, AclIpv4> = ec2
        .network_acls
        .iter()
        .map(|acl| (acl.meta.id.as_str(), AclIpv4::of(acl)))
        .collect();
    let network_interfaces: HashMap<String, Exposure> = ec2
        .network_interfaces
        .iter()
        .map(|eni| {
            let endpoint = Endpoint {
                network_interface_id: &eni.meta.id,
                public_ip: eni.public_ip.as_deref(),
                subnet_id: eni.subnet_id.as_deref(),
                security_group_ids: &eni.security_group_ids,
            };
            let facts = exposure::exposure(&acls, &network, &endpoint);
            (eni.meta.id.clone(), facts)
        })
        .collect();
    let instances = ec2
        .instances
        .iter()
        .map(|instance| {
            let interfaces: Vec<Exposure> = instance
                .network_interface_ids
                .iter()
                .filter_map(|id| network_interfaces.get(id).cloned())
                .collect();
            // Without its interfaces in the snapshot, the instance's own
            // primary address, subnet and groups stand in for them.
            let facts = if interfaces.is_empty() {
                let endpoint = Endpoint {
                    network_interface_id: &instance.meta.id,
                    public_ip: instance.public_ip.as_deref(),
                    subnet_id: instance.subnet_id.as_deref(),
                    security_group_ids: &instance.security_group_ids,
                };
                exposure::exposure(&acls, &network, &endpoint)
            } else {
                Exposure::merge(interfaces)
            };
            (instance.meta.id.clone(), facts)
        })
        .collect();
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
                "public_ip": public_ip, "ipv6_addresses": [], "security_group_ids": [group],
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
        assert!(public.public);
        assert_eq!(public.route_table_id.as_deref(), Some("rtb-public"));
        assert!(!public.uses_main_route_table);
        assert_eq!(public.internet_gateway_id.as_deref(), Some("igw-1"));
        assert_eq!(public.network_acl_id.as_deref(), Some("acl-default"));
        let private = &facts.subnets["subnet-private"];
        assert!(!private.public);
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
        let analysis = analyze_ec2(&region());
        let exposure = |id: &str| &analysis.network_interfaces[id];

        let reachable = exposure("eni-reachable");
        assert_eq!(reachable.blocked_by, Vec::<String>::new());
        assert_eq!(reachable.reachable.len(), 1);
        let path = &reachable.reachable[0];
        assert_eq!(
            (path.protocol.as_str(), path.from, path.to),
            ("tcp", 22, 22)
        );
        assert_eq!(path.security_group_id, "sg-ssh");
        assert_eq!(path.sources, ["0.0.0.0/0"]);
        assert_eq!(path.public_ip.as_deref(), Some("203.0.113.10"));
        assert_eq!(path.internet_gateway_id.as_deref(), Some("igw-1"));
        assert_eq!(path.route_table_id.as_deref(), Some("rtb-public"));
        assert_eq!(path.network_acl_id.as_deref(), Some("acl-default"));
        assert_eq!(path.network_acl_rule, Some(100));

        let private = exposure("eni-private-subnet");
        assert_eq!(private.open_in_security_groups.len(), 1);
        assert!(private.reachable.is_empty());
        assert_eq!(
            private.blocked_by,
            [
                "subnet subnet-private has no default route to an internet gateway (route table rtb-main)"
            ]
        );

        let denied = exposure("eni-acl-denies");
        assert!(denied.reachable.is_empty());
        assert_eq!(
            denied.blocked_by,
            [
                "network ACL acl-no-ssh denies inbound traffic from the internet to some ports the security groups open"
            ]
        );

        let no_ip = exposure("eni-no-public-ip");
        assert!(no_ip.reachable.is_empty());
        assert_eq!(
            no_ip.blocked_by,
            ["eni-no-public-ip has no public IPv4 address"]
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
                "network ACL acl-no-replies admits no outbound TCP to the internet on ephemeral ports 1024-65535, so replies cannot leave"
            ]
        );
        let acl = &analysis.network_acls["acl-no-replies"];
        assert_eq!(
            acl.ephemeral_return_blocked.tcp,
            [ports::PortSpan::new(1024, 65_535)]
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
