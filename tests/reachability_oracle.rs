//! The reachability model checked against a brute-force reference: a
//! packet simulator that walks one connection through the hops exactly as
//! AWS documents them (the reply's route by longest prefix, the network
//! ACL inbound by rule number, the ACL outbound for the reply to the
//! client's port, the security groups' union), written without any of the
//! model's set arithmetic. Property tests generate small random VPCs (routes,
//! ACL entries, groups and addresses in both families) and random packets,
//! and the model's facts must agree with the simulator on every packet:
//! which ports an interface's groups open to the whole internet and from
//! which addresses each is reachable (the reachability rules), which ports
//! each group opens to the whole internet (the security-group rules), and
//! which ports the ACL admits from the whole internet (the ACL rules).

use std::net::IpAddr;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use rampart::analyze::Analysis;
use rampart::analyze::exposure::Exposure;
use rampart::snapshot::ec2::{Ec2Region, NetworkAcl, Protocol, RouteTable, SecurityGroup};
use rampart::snapshot::{RegionSnapshot, Snapshot};
use serde_json::json;

mod support;

use support::random_region::{PORTS, REGION, region};

// ---------------------------------------------------------------- reference

/// A CIDR block as its family, first and last address; parsed here, not
/// by the model's code.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Block {
    v6: bool,
    first: u128,
    last: u128,
    prefix: u32,
}

fn block(text: &str) -> Block {
    let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
    let (v6, bits, value) = match address.parse::<IpAddr>().expect("address") {
        IpAddr::V4(ip) => (false, 32, u128::from(u32::from(ip))),
        IpAddr::V6(ip) => (true, 128, u128::from(ip)),
    };
    let prefix = if prefix.is_empty() {
        bits
    } else {
        prefix.parse().expect("prefix")
    };
    let host = bits - prefix;
    let mask = if host == 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    Block {
        v6,
        first: value & !mask,
        last: (value & !mask) | mask,
        prefix,
    }
}

impl Block {
    fn holds(&self, v6: bool, address: u128) -> bool {
        self.v6 == v6 && self.first <= address && address <= self.last
    }
}

/// IPv4 ranges the internet never routes, written out here rather than
/// taken from the model, so the reference stays independent of it.
const NEVER_ROUTED_V4: [&str; 8] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/3",
];

/// Whether an address is one the internet routes: not this-network,
/// private, shared, loopback, link-local, multicast or reserved (IPv4);
/// global unicast 2000::/3 (IPv6).
fn internet(v6: bool, address: u128) -> bool {
    if v6 {
        return block("2000::/3").holds(true, address);
    }
    !NEVER_ROUTED_V4
        .iter()
        .any(|cidr| block(cidr).holds(false, address))
}

/// One connection attempt from the internet.
#[derive(Debug, Clone, Copy)]
struct Packet {
    v6: bool,
    tcp: bool,
    source: u128,
    client_port: i32,
    port: i32,
}

fn protocol_matches(protocol: Protocol, tcp: bool) -> bool {
    match protocol {
        Protocol::All => true,
        Protocol::Tcp => tcp,
        Protocol::Udp => !tcp,
        _ => false,
    }
}

/// The route the reply to `destination` takes, by longest prefix (static
/// before propagated), and whether it leaves through an internet gateway.
fn reply_routed_to_internet(table: &RouteTable, v6: bool, destination: u128) -> bool {
    use rampart::snapshot::ec2::{RouteDestination, RouteTargetKind};
    let mut best: Option<(u32, bool, bool)> = None;
    for route in &table.routes {
        let cidr = match &route.destination {
            RouteDestination::Ipv4(c) | RouteDestination::Ipv6(c) => c,
            _ => continue,
        };
        let b = block(cidr);
        if !b.holds(v6, destination) {
            continue;
        }
        let propagated = route.origin.as_deref() == Some("EnableVgwRoutePropagation");
        let to_igw = route.target.kind == RouteTargetKind::InternetGateway
            && route.state.as_deref() != Some("blackhole");
        let better = match best {
            None => true,
            Some((prefix, best_propagated, _)) => {
                b.prefix > prefix || (b.prefix == prefix && best_propagated && !propagated)
            }
        };
        if better {
            best = Some((b.prefix, propagated, to_igw));
        }
    }
    best.is_some_and(|(_, _, to_igw)| to_igw)
}

/// The first entry matching the packet decides; none matching denies.
fn acl_allows(
    acl: &NetworkAcl,
    egress: bool,
    v6: bool,
    tcp: bool,
    remote: u128,
    port: i32,
) -> bool {
    let mut entries: Vec<_> = acl.entries.iter().filter(|e| e.egress == egress).collect();
    entries.sort_by_key(|e| e.rule_number);
    for entry in entries {
        if !protocol_matches(entry.protocol, tcp) {
            continue;
        }
        let cidr = if v6 {
            &entry.cidr_ipv6
        } else {
            &entry.cidr_ipv4
        };
        let Some(cidr) = cidr else { continue };
        if !block(cidr).holds(v6, remote) {
            continue;
        }
        if entry.protocol != Protocol::All
            && let Some(range) = entry.port_range
            && !(range.from <= port && port <= range.to)
        {
            continue;
        }
        return entry.action == rampart::snapshot::ec2::RuleAction::Allow;
    }
    false
}

fn group_admits(groups: &[&SecurityGroup], v6: bool, tcp: bool, source: u128, port: i32) -> bool {
    groups.iter().flat_map(|g| &g.ingress).any(|permission| {
        protocol_matches(permission.protocol, tcp)
            && (permission.protocol == Protocol::All
                || permission
                    .port_range
                    .is_none_or(|r| r.from <= port && port <= r.to))
            && if v6 {
                &permission.ipv6_ranges
            } else {
                &permission.ipv4_ranges
            }
            .iter()
            .any(|source_range| block(&source_range.cidr).holds(v6, source))
    })
}

/// The scenario the simulator walks: one interface in one subnet.
struct World<'a> {
    table: &'a RouteTable,
    acl: &'a NetworkAcl,
    groups: Vec<&'a SecurityGroup>,
    has_public_ipv4: bool,
    has_global_ipv6: bool,
}

impl World<'_> {
    fn delivered(&self, p: Packet) -> bool {
        let addressed = if p.v6 {
            self.has_global_ipv6
        } else {
            self.has_public_ipv4
        };
        addressed
            && internet(p.v6, p.source)
            && acl_allows(self.acl, false, p.v6, p.tcp, p.source, p.port)
            && group_admits(&self.groups, p.v6, p.tcp, p.source, p.port)
            && acl_allows(self.acl, true, p.v6, p.tcp, p.source, p.client_port)
            && reply_routed_to_internet(self.table, p.v6, p.source)
    }

    /// Whether some client port 1024-65535 gets the connection through.
    /// The outbound decision only changes at entries' port bounds, so
    /// trying each bound and its neighbours tries every case.
    fn reachable(&self, v6: bool, tcp: bool, source: u128, port: i32) -> bool {
        let mut client_ports = vec![1024, 65_535];
        for entry in self.acl.entries.iter().filter(|e| e.egress) {
            if let Some(range) = entry.port_range {
                client_ports.extend([range.from - 1, range.from, range.to, range.to + 1]);
            }
        }
        client_ports
            .into_iter()
            .filter(|c| (1024..=65_535).contains(c))
            .any(|client_port| {
                self.delivered(Packet {
                    v6,
                    tcp,
                    source,
                    client_port,
                    port,
                })
            })
    }

    /// Whether the groups admit the port from every internet address of
    /// the family: checked at the start of every stretch of addresses over
    /// which neither a group source nor the internet's edge changes.
    fn open(&self, v6: bool, tcp: bool, port: i32) -> bool {
        let mut starts = vec![0u128];
        let mut edges = |b: Block| {
            starts.push(b.first);
            if let Some(next) = b.last.checked_add(1) {
                starts.push(next);
            }
        };
        for cidr in self
            .groups
            .iter()
            .flat_map(|g| &g.ingress)
            .flat_map(|p| p.ipv4_ranges.iter().chain(&p.ipv6_ranges))
        {
            edges(block(&cidr.cidr));
        }
        for cidr in NEVER_ROUTED_V4.iter().chain(&["2000::/3"]) {
            edges(block(cidr));
        }
        let top = if v6 { u128::MAX } else { u128::from(u32::MAX) };
        starts
            .into_iter()
            .filter(|start| *start <= top && internet(v6, *start))
            .all(|start| group_admits(&self.groups, v6, tcp, start, port))
    }
}

/// Addresses where some decision may change, and their neighbours: every
/// block's edges in the scenario, plus a few fixed internet addresses.
fn probe_addresses(ec2: &Ec2Region, v6: bool) -> Vec<u128> {
    let mut cidrs: Vec<String> = Vec::new();
    for group in &ec2.security_groups {
        for p in &group.ingress {
            cidrs.extend(
                p.ipv4_ranges
                    .iter()
                    .chain(&p.ipv6_ranges)
                    .map(|c| c.cidr.clone()),
            );
        }
    }
    for acl in &ec2.network_acls {
        for e in &acl.entries {
            cidrs.extend(e.cidr_ipv4.iter().chain(&e.cidr_ipv6).cloned());
        }
    }
    for table in &ec2.route_tables {
        for r in &table.routes {
            if let rampart::snapshot::ec2::RouteDestination::Ipv4(c)
            | rampart::snapshot::ec2::RouteDestination::Ipv6(c) = &r.destination
            {
                cidrs.push(c.clone());
            }
        }
    }
    cidrs.extend(["8.8.8.8", "203.0.113.9", "2600:1f18::1", "2a05:d000::5"].map(str::to_owned));
    let top = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    let mut out: Vec<u128> = cidrs
        .iter()
        .map(|c| block(c))
        .filter(|b| b.v6 == v6)
        .flat_map(|b| {
            [
                b.first.wrapping_sub(1),
                b.first,
                b.last,
                b.last.wrapping_add(1),
            ]
        })
        .filter(|a| *a <= top)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn probe_ports(ec2: &Ec2Region) -> Vec<i32> {
    let mut out: Vec<i32> = PORTS.to_vec();
    let mut edges = |range: Option<rampart::snapshot::ec2::PortRange>| {
        if let Some(r) = range {
            out.extend([r.from - 1, r.from, r.to, r.to + 1]);
        }
    };
    for group in &ec2.security_groups {
        for p in &group.ingress {
            edges(p.port_range);
        }
    }
    for acl in &ec2.network_acls {
        for e in &acl.entries {
            edges(e.port_range);
        }
    }
    out.retain(|p| (0..=65_535).contains(p));
    out.sort_unstable();
    out.dedup();
    out
}

fn analyse(ec2: &Ec2Region) -> Exposure {
    let mut snapshot: Snapshot =
        serde_json::from_str(include_str!("../fixtures/demo/snapshot.json")).expect("demo parses");
    snapshot.regions.clear();
    snapshot.collection_errors.clear();
    let region = RegionSnapshot {
        ec2: ec2.clone(),
        ..RegionSnapshot::default()
    };
    snapshot.regions.insert(REGION.to_owned(), region);
    let analysis = Analysis::of(&snapshot);
    analysis.regions[REGION].network_interfaces["eni-1"].clone()
}

fn world(ec2: &Ec2Region) -> World<'_> {
    let eni = &ec2.network_interfaces[0];
    World {
        table: &ec2.route_tables[0],
        acl: &ec2.network_acls[0],
        groups: ec2.security_groups.iter().collect(),
        has_public_ipv4: eni.public_ip.is_some()
            || eni
                .secondary_public_ips
                .as_ref()
                .is_some_and(|ips| !ips.is_empty()),
        has_global_ipv6: eni
            .ipv6_addresses
            .iter()
            .any(|a| internet(true, block(a).first)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_model_agrees_with_the_packet_simulator_on_every_probe(ec2 in region()) {
        let exposure = analyse(&ec2);
        let world = world(&ec2);
        prop_assert!(exposure.unknown.is_empty(), "{:?}", exposure.unknown);
        for v6 in [false, true] {
            let family = if v6 { "ipv6" } else { "ipv4" };
            let addresses = probe_addresses(&ec2, v6);
            for tcp in [true, false] {
                let protocol = if tcp { "tcp" } else { "udp" };
                for port in probe_ports(&ec2) {
                    let open = world.open(v6, tcp, port);
                    let modelled_open = exposure.open_in_security_groups.iter().any(|o| {
                        o.protocol == protocol && o.family == family && o.from <= port && port <= o.to
                    });
                    prop_assert_eq!(modelled_open, open, "open: {} {} {}", family, protocol, port);
                    for &source in &addresses {
                        let expected = open && world.reachable(v6, tcp, source, port);
                        let modelled = exposure.reachable.iter().any(|p| {
                            p.protocol == protocol && p.family == family
                                && p.from <= port && port <= p.to && p.source_set.contains(source)
                        });
                        prop_assert_eq!(
                            modelled, expected,
                            "{} {} port {} from {:#x}: {:#?}", family, protocol, port, source, exposure.reachable
                        );
                    }
                }
            }
        }
    }
}

/// Whether the ACL admits `port` inbound from every internet address of
/// the family: checked at the start of every stretch of addresses over
/// which neither an entry's range nor the internet's edge changes.
fn acl_open_to_internet(acl: &NetworkAcl, v6: bool, tcp: bool, port: i32) -> bool {
    let mut starts = vec![0u128];
    let cidrs = acl
        .entries
        .iter()
        .flat_map(|e| e.cidr_ipv4.iter().chain(&e.cidr_ipv6))
        .map(String::as_str)
        .chain(NEVER_ROUTED_V4)
        .chain(["2000::/3"]);
    for b in cidrs.map(block).filter(|b| b.v6 == v6) {
        starts.push(b.first);
        starts.extend(b.last.checked_add(1));
    }
    let top = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    starts
        .into_iter()
        .filter(|start| *start <= top && internet(v6, *start))
        .all(|start| acl_allows(acl, false, v6, tcp, start, port))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The ACL rules' fact (ports open to the whole internet inbound) agrees
    /// with first-match evaluation packet by packet.
    #[test]
    fn acl_ports_open_to_the_internet_agree_with_the_simulator(ec2 in region()) {
        let mut snapshot: Snapshot =
            serde_json::from_str(include_str!("../fixtures/demo/snapshot.json")).expect("demo parses");
        snapshot.regions.clear();
        snapshot.regions.insert(REGION.to_owned(), RegionSnapshot { ec2: ec2.clone(), ..RegionSnapshot::default() });
        let analysis = Analysis::of(&snapshot);
        let facts = &analysis.regions[REGION].network_acls["acl-1"];
        let acl = &ec2.network_acls[0];
        for port in probe_ports(&ec2) {
            for tcp in [true, false] {
                let spans = if tcp { &facts.internet_ingress.tcp } else { &facts.internet_ingress.udp };
                let modelled = spans.iter().any(|s| s.from <= port && port <= s.to);
                let expected = acl_open_to_internet(acl, false, tcp, port) || acl_open_to_internet(acl, true, tcp, port);
                prop_assert_eq!(modelled, expected, "port {} tcp {}: {:?}", port, tcp, spans);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The security-group rules' fact (each group's ports open to the whole
    /// internet, its rules' union) agrees with the simulator's check of
    /// every stretch of addresses, group by group.
    #[test]
    fn group_ports_open_to_the_internet_agree_with_the_simulator(ec2 in region()) {
        let mut snapshot: Snapshot =
            serde_json::from_str(include_str!("../fixtures/demo/snapshot.json")).expect("demo parses");
        snapshot.regions.clear();
        snapshot.regions.insert(REGION.to_owned(), RegionSnapshot { ec2: ec2.clone(), ..RegionSnapshot::default() });
        let analysis = Analysis::of(&snapshot);
        for group in &ec2.security_groups {
            let facts = &analysis.regions[REGION].network.security_groups[&group.meta.id].internet_ingress;
            let alone = World { groups: vec![group], ..world(&ec2) };
            for port in probe_ports(&ec2) {
                for tcp in [true, false] {
                    let spans = if tcp { &facts.tcp } else { &facts.udp };
                    let modelled = spans.iter().any(|s| s.from <= port && port <= s.to);
                    let expected = alone.open(false, tcp, port) || alone.open(true, tcp, port);
                    prop_assert_eq!(modelled, expected, "{} port {} tcp {}: {:?}", group.meta.id, port, tcp, spans);
                }
            }
        }
    }
}

/// A missing hop gives no verdict: nothing reachable, and the missing data
/// named.
#[test]
fn a_hop_missing_from_the_snapshot_is_named_not_passed() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let tree = region().new_tree(&mut runner).expect("a region");
    let mut ec2 = tree.current();
    ec2.network_acls.clear();
    ec2.security_groups[0].ingress = serde_json::from_value(json!([{"protocol": "tcp",
        "port_range": {"from": 22, "to": 22}, "ipv4_ranges": [{"cidr": "0.0.0.0/0"}],
        "ipv6_ranges": [], "prefix_list_ids": [], "referenced_groups": []}]))
    .expect("permission parses");
    let exposure = analyse(&ec2);
    assert!(exposure.reachable.is_empty());
    assert_eq!(
        exposure.unknown,
        ["the network ACL of subnet subnet-1 is not in the snapshot"]
    );
}
