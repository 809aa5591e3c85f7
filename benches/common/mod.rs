//! The generated snapshot the benchmarks share.

use rampart::snapshot::Snapshot;
use rampart::snapshot::ec2::{CidrSource, Permission, PortRange, Protocol, SecurityGroup};

const DEMO: &str = include_str!("../../fixtures/demo/snapshot.json");

fn cidr(text: &str) -> CidrSource {
    CidrSource {
        cidr: text.to_owned(),
        description: None,
    }
}

fn permission(
    protocol: Protocol,
    ports: Option<(i32, i32)>,
    v4: &[&str],
    v6: &[&str],
) -> Permission {
    Permission {
        protocol,
        port_range: ports.map(|(from, to)| PortRange { from, to }),
        icmp: None,
        ipv4_ranges: v4.iter().map(|c| cidr(c)).collect(),
        ipv6_ranges: v6.iter().map(|c| cidr(c)).collect(),
        prefix_list_ids: vec![],
        referenced_groups: vec![],
    }
}

/// The demo account with its security groups replaced by `groups` groups
/// in a realistic mix: web tiers, SSH from the internet or from an office,
/// default groups, all-traffic rules split across the two halves of IPv4.
pub fn generated_snapshot(groups: usize) -> Snapshot {
    let mut snapshot = Snapshot::parse(DEMO).expect("demo parses");
    let template = snapshot.regions["us-east-1"].ec2.security_groups[0].clone();
    let regions: Vec<String> = snapshot.regions.keys().cloned().collect();
    for region in snapshot.regions.values_mut() {
        region.ec2.security_groups.clear();
    }
    for n in 0..groups {
        let region = &regions[n % regions.len()];
        let id = format!("sg-{n:017x}");
        let mut group: SecurityGroup = template.clone();
        group.meta.arn = format!("arn:aws:ec2:{region}:123456789012:security-group/{id}");
        group.meta.id = id;
        group.meta.region = region.clone();
        group.name = if n % 10 == 0 {
            "default".to_owned()
        } else {
            format!("app-{n}")
        };
        group.ingress = match n % 5 {
            0 => vec![],
            1 => vec![
                permission(Protocol::Tcp, Some((443, 443)), &["0.0.0.0/0"], &["::/0"]),
                permission(Protocol::Tcp, Some((22, 22)), &["0.0.0.0/0"], &[]),
            ],
            2 => vec![
                permission(Protocol::Tcp, Some((80, 80)), &["0.0.0.0/0"], &[]),
                permission(Protocol::Tcp, Some((22, 22)), &["203.0.113.0/24"], &[]),
                permission(Protocol::Udp, Some((53, 53)), &["10.0.0.0/8"], &[]),
            ],
            3 => vec![permission(
                Protocol::All,
                None,
                &["0.0.0.0/1", "128.0.0.0/1"],
                &[],
            )],
            _ => vec![
                permission(Protocol::Tcp, Some((5432, 5432)), &["10.0.0.0/16"], &[]),
                permission(Protocol::Tcp, Some((8000, 9000)), &["172.16.0.0/12"], &[]),
                permission(Protocol::Icmp, None, &["0.0.0.0/0"], &[]),
            ],
        };
        group.egress = vec![permission(Protocol::All, None, &["0.0.0.0/0"], &[])];
        let target = snapshot.regions.get_mut(region).expect("region");
        target.ec2.security_groups.push(group);
    }
    snapshot
}
