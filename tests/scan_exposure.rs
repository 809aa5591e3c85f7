//! Internet exposure found by a real collection of a seeded emulator
//! account: a host reachable over IPv6 only, an instance in a private subnet
//! reachable through an internet-facing classic load balancer, one behind a
//! network load balancer whose client-address preservation the emulator
//! does not report (no verdict), an Elastic IP on a secondary private
//! address, and a denied route table listing. Each finding is checked
//! exactly, path included.

mod support;

use std::path::Path;

use aws_sdk_ec2::types::{
    InstanceNetworkInterfaceSpecification, IpPermission, IpRange, Ipv6Range, UserIdGroupPair,
};
use rampart::results::ReportFinding;
use rampart::snapshot::Snapshot;
use rampart::verdict::Status;
use support::moto::MotoServer;
use support::replay::{Canned, Replay, ReplayServer};

const REGION: &str = "us-east-1";

/// What the seeding made, by role.
struct Seeded {
    ipv6_host: String,
    ipv6_interface: String,
    ipv6_address: String,
    /// The VPC's own IPv6 block: routed locally, so never a source from
    /// the internet.
    vpc_ipv6_block: String,
    behind_classic: String,
    behind_network: String,
    igw: String,
    public_table: String,
    classic_group: String,
    backend_group: String,
}

fn tcp(port: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
}

async fn seed(endpoint: &str) -> Seeded {
    let config = support::seeding_config(endpoint, REGION).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.60.0.0/16")
        .amazon_provided_ipv6_cidr_block(true)
        .send()
        .await
        .expect("vpc")
        .vpc
        .and_then(|v| v.vpc_id)
        .expect("vpc id");
    let described = ec2
        .describe_vpcs()
        .vpc_ids(&vpc)
        .send()
        .await
        .expect("describe vpc");
    let block = described.vpcs()[0].ipv6_cidr_block_association_set()[0]
        .ipv6_cidr_block()
        .expect("an IPv6 block")
        .to_owned();
    let ipv6_block = block.replace("/56", "/64");
    // The emulator may write leading zeros ("…:0400::/56"); rampart writes
    // addresses the standard way.
    let (address, prefix) = block.split_once('/').expect("a CIDR block");
    let vpc_ipv6_block = format!(
        "{}/{prefix}",
        address
            .parse::<std::net::Ipv6Addr>()
            .expect("an IPv6 address")
    );
    let subnet = |cidr: &'static str, ipv6: Option<String>| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            ec2.create_subnet()
                .vpc_id(vpc)
                .cidr_block(cidr)
                .set_ipv6_cidr_block(ipv6)
                .send()
                .await
                .expect("subnet")
                .subnet
                .and_then(|s| s.subnet_id)
                .expect("subnet id")
        }
    };
    let public = subnet("10.60.1.0/24", Some(ipv6_block)).await;
    let private = subnet("10.60.2.0/24", None).await;
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("igw")
        .internet_gateway
        .and_then(|g| g.internet_gateway_id)
        .expect("igw id");
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .expect("attach");
    let public_table = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .expect("table")
        .route_table
        .and_then(|t| t.route_table_id)
        .expect("table id");
    for (v4, v6) in [(Some("0.0.0.0/0"), None), (None, Some("::/0"))] {
        ec2.create_route()
            .route_table_id(&public_table)
            .set_destination_cidr_block(v4.map(str::to_owned))
            .set_destination_ipv6_cidr_block(v6.map(str::to_owned))
            .gateway_id(&igw)
            .send()
            .await
            .expect("route");
    }
    ec2.associate_route_table()
        .route_table_id(&public_table)
        .subnet_id(&public)
        .send()
        .await
        .expect("associate");
    // AWS adds ::/0 entries (rule 101) to a default ACL when the VPC gets
    // an IPv6 block; the emulator does not, so they are added here.
    let default_acl = ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .send()
        .await
        .expect("acls")
        .network_acls()[0]
        .network_acl_id()
        .expect("acl id")
        .to_owned();
    for egress in [false, true] {
        ec2.create_network_acl_entry()
            .network_acl_id(&default_acl)
            .rule_number(101)
            .protocol("-1")
            .rule_action(aws_sdk_ec2::types::RuleAction::Allow)
            .egress(egress)
            .ipv6_cidr_block("::/0")
            .send()
            .await
            .expect("IPv6 entry");
    }
    let group = |name: &'static str, permissions: Vec<IpPermission>| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            let id = ec2
                .create_security_group()
                .group_name(name)
                .description(name)
                .vpc_id(vpc)
                .send()
                .await
                .expect("group")
                .group_id
                .expect("group id");
            if !permissions.is_empty() {
                ec2.authorize_security_group_ingress()
                    .group_id(&id)
                    .set_ip_permissions(Some(permissions))
                    .send()
                    .await
                    .expect("ingress");
            }
            id
        }
    };
    // SSH from every IPv6 address only: no IPv4 exposure at all.
    let ssh_v6 = group(
        "ssh-v6",
        vec![
            tcp(22)
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        ],
    )
    .await;
    let classic_group = group(
        "classic-front",
        vec![
            tcp(2222)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        ],
    )
    .await;
    let backend_group = group(
        "ssh-from-classic",
        vec![
            tcp(22)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&classic_group).build())
                .build(),
        ],
    )
    .await;
    let postgres_open = group(
        "postgres-open",
        vec![
            tcp(5432)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        ],
    )
    .await;

    let interface = ec2
        .create_network_interface()
        .subnet_id(&public)
        .ipv6_address_count(1)
        .groups(&ssh_v6)
        .send()
        .await
        .expect("interface")
        .network_interface
        .expect("interface body");
    let ipv6_interface = interface.network_interface_id.clone().expect("eni id");
    let ipv6_address = interface.ipv6_addresses()[0]
        .ipv6_address()
        .expect("an IPv6 address")
        .to_owned();
    let launch = |spec: Option<InstanceNetworkInterfaceSpecification>,
                  subnet: Option<String>,
                  group: Option<String>| {
        let ec2 = ec2.clone();
        async move {
            ec2.run_instances()
                .image_id("ami-12c6146b")
                .min_count(1)
                .max_count(1)
                .set_network_interfaces(spec.map(|s| vec![s]))
                .set_subnet_id(subnet)
                .set_security_group_ids(group.map(|g| vec![g]))
                .send()
                .await
                .expect("instance")
                .instances()[0]
                .instance_id()
                .expect("instance id")
                .to_owned()
        }
    };
    let ipv6_host = launch(
        Some(
            InstanceNetworkInterfaceSpecification::builder()
                .network_interface_id(&ipv6_interface)
                .device_index(0)
                .build(),
        ),
        None,
        None,
    )
    .await;
    let behind_classic = launch(None, Some(private.clone()), Some(backend_group.clone())).await;
    let behind_network = launch(None, Some(private.clone()), Some(postgres_open)).await;

    let elb = aws_sdk_elasticloadbalancing::Client::new(&config);
    elb.create_load_balancer()
        .load_balancer_name("classic-ssh")
        .listeners(
            aws_sdk_elasticloadbalancing::types::Listener::builder()
                .protocol("TCP")
                .load_balancer_port(2222)
                .instance_protocol("TCP")
                .instance_port(22)
                .build()
                .expect("listener"),
        )
        .subnets(&public)
        .security_groups(&classic_group)
        .scheme("internet-facing")
        .send()
        .await
        .expect("classic load balancer");
    elb.register_instances_with_load_balancer()
        .load_balancer_name("classic-ssh")
        .instances(
            aws_sdk_elasticloadbalancing::types::Instance::builder()
                .instance_id(&behind_classic)
                .build(),
        )
        .send()
        .await
        .expect("register");

    support::seed::network_load_balancer(
        endpoint,
        support::seed::NetworkLoadBalancer {
            name: "postgres-nlb",
            target_group: "postgres",
            internet_facing: true,
            subnet: &public,
            vpc: &vpc,
            port: 5432,
            targets: &[&behind_network],
        },
    )
    .await;
    Seeded {
        ipv6_host,
        ipv6_interface,
        ipv6_address,
        vpc_ipv6_block,
        behind_classic,
        behind_network,
        igw,
        public_table,
        classic_group,
        backend_group,
    }
}

fn finding<'a>(findings: &'a [ReportFinding], rule: &str, resource: &str) -> &'a ReportFinding {
    findings
        .iter()
        .find(|f| f.finding.rule_id == rule && f.finding.resource.id == resource)
        .unwrap_or_else(|| panic!("no {rule} finding for {resource}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_and_load_balancer_paths_are_reported_with_their_hops() {
    let moto = tokio::task::block_in_place(MotoServer::start);
    let seeded = seed(&moto.endpoint).await;
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let output = support::rampart(dir.path())
        .args([
            "collect",
            "--endpoint-url",
            &front.endpoint,
            "--region",
            REGION,
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    let snapshot = Snapshot::read(Path::new(&out)).expect("snapshot reads");
    let findings = support::evaluate(&snapshot);
    let admin = "ec2-instance-admin-port-reachable-from-internet";

    let ipv6 = finding(&findings, admin, &seeded.ipv6_host);
    assert_eq!(ipv6.finding.status, Status::Fail);
    assert_eq!(
        ipv6.finding.message.as_deref(),
        Some(
            format!(
                "Instance {host} is reachable from the internet on administration port(s) 22: \
                 TCP 22 from every internet IPv6 address except {local} through {igw} to \
                 {address} on {eni}: \
                 route table {table} (::/0 → {igw}), network ACL {acl} inbound entry 101 and \
                 outbound entry 101 for the replies, security group rule {group}: tcp 22 from ::/0",
                host = seeded.ipv6_host,
                igw = seeded.igw,
                address = seeded.ipv6_address,
                local = seeded.vpc_ipv6_block,
                eni = seeded.ipv6_interface,
                table = seeded.public_table,
                acl = default_acl(&snapshot),
                group = group_of(&snapshot, "ssh-v6"),
            )
            .as_str()
        )
    );

    let classic = finding(&findings, admin, &seeded.behind_classic);
    assert_eq!(classic.finding.status, Status::Fail);
    assert_eq!(
        classic.finding.message.as_deref(),
        Some(
            format!(
                "Instance {host} is reachable from the internet on administration port(s) 22: \
                 TCP 22 through internet-facing classic load balancer classic-ssh listener TCP \
                 2222 to port 22 of {host}, admitted by {backend}: tcp 22 from the load \
                 balancer's group {front}; the listener's path: from every internet IPv4 address \
                 through {igw} to its public addresses on load balancer classic-ssh: route table \
                 {table} (0.0.0.0/0 → {igw}), network ACL {acl} inbound entry 100 and outbound \
                 entry 100 for the replies, security group rule {front}: tcp 2222 from 0.0.0.0/0",
                host = seeded.behind_classic,
                backend = seeded.backend_group,
                front = seeded.classic_group,
                igw = seeded.igw,
                table = seeded.public_table,
                acl = default_acl(&snapshot),
            )
            .as_str()
        )
    );

    // The emulator leaves out preserve_client_ip.enabled, so whether the
    // target's group must admit the internet or the load balancer is not
    // known: no verdict, naming why.
    let network = finding(
        &findings,
        "ec2-instance-postgresql-reachable-from-internet",
        &seeded.behind_network,
    );
    assert_eq!(network.finding.status, Status::NotEvaluated);
    assert_eq!(
        network.finding.message.as_deref(),
        Some(
            format!(
                "Whether instance {} is reachable from the internet is unknown: whether load \
                 balancer postgres-nlb preserves client addresses for postgres is unknown",
                seeded.behind_network
            )
            .as_str()
        )
    );
}

/// The id of the VPC's default network ACL, which every seeded subnet uses.
fn default_acl(snapshot: &Snapshot) -> String {
    let ec2 = &snapshot.regions[REGION].ec2;
    let vpc = ec2
        .vpcs
        .iter()
        .find(|v| v.cidr_block.as_deref() == Some("10.60.0.0/16"))
        .expect("the seeded VPC");
    ec2.network_acls
        .iter()
        .find(|acl| acl.vpc_id == vpc.meta.id && acl.is_default)
        .expect("its default ACL")
        .meta
        .id
        .clone()
}

fn group_of(snapshot: &Snapshot, name: &str) -> String {
    snapshot.regions[REGION]
        .ec2
        .security_groups
        .iter()
        .find(|g| g.name == name)
        .expect("the seeded group")
        .meta
        .id
        .clone()
}

/// With DescribeRouteTables denied, no instance's reachability can be
/// judged in the region, not even one whose group is open to the world.
#[tokio::test(flavor = "multi_thread")]
async fn a_denied_route_table_listing_leaves_reachability_not_evaluated() {
    // Three seeding calls: a group, its SSH rule, an instance.
    let (moto, access_key, secret_key) =
        support::server_denying("ec2:DescribeRouteTables", 3).await;
    let ec2 = aws_sdk_ec2::Client::new(&support::seeding_config(&moto.endpoint, REGION).await);
    let group = ec2
        .create_security_group()
        .group_name("ssh-open")
        .description("ssh-open")
        .send()
        .await
        .expect("group")
        .group_id
        .expect("group id");
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            tcp(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("ingress");
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .security_group_ids(&group)
        .send()
        .await
        .expect("instance")
        .instances()[0]
        .instance_id()
        .expect("instance id")
        .to_owned();
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let output = support::rampart(dir.path())
        .env("AWS_ACCESS_KEY_ID", &access_key)
        .env("AWS_SECRET_ACCESS_KEY", &secret_key)
        .args([
            "collect",
            "--endpoint-url",
            &front.endpoint,
            "--region",
            REGION,
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    let snapshot = Snapshot::read(Path::new(&out)).expect("snapshot reads");
    let findings = support::evaluate(&snapshot);
    for rule in [
        "ec2-instance-admin-port-reachable-from-internet",
        "ec2-instance-open-but-not-reachable",
    ] {
        let verdict = finding(&findings, rule, &instance);
        assert_eq!(verdict.finding.status, Status::NotEvaluated, "{rule}");
        assert_eq!(
            verdict.finding.message.as_deref(),
            Some(
                "ec2:DescribeRouteTables failed (AccessDenied), so the data this rule reads is \
                 missing"
            ),
            "{rule}"
        );
    }
}

/// An Elastic IP on a secondary private address makes the interface
/// public. The emulator moves such an address to the interface's own
/// association, so DescribeNetworkInterfaces is answered in AWS's format
/// (`fixtures/ec2/`) for the seeded interface, through the SDK's own
/// deserializer.
#[tokio::test(flavor = "multi_thread")]
async fn an_elastic_ip_on_a_secondary_address_is_an_internet_path() {
    let moto = tokio::task::block_in_place(MotoServer::start);
    let ec2 = aws_sdk_ec2::Client::new(&support::seeding_config(&moto.endpoint, REGION).await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.70.0.0/16")
        .send()
        .await
        .expect("vpc")
        .vpc
        .and_then(|v| v.vpc_id)
        .expect("vpc id");
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.70.1.0/24")
        .send()
        .await
        .expect("subnet")
        .subnet
        .and_then(|s| s.subnet_id)
        .expect("subnet id");
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("igw")
        .internet_gateway
        .and_then(|g| g.internet_gateway_id)
        .expect("igw id");
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .expect("attach");
    let main_table = ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .send()
        .await
        .expect("tables")
        .route_tables()[0]
        .route_table_id()
        .expect("table id")
        .to_owned();
    ec2.create_route()
        .route_table_id(&main_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .expect("route");
    let group = ec2
        .create_security_group()
        .group_name("ssh-open")
        .description("ssh-open")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("group")
        .group_id
        .expect("group id");
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            tcp(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("ingress");
    let eni = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .groups(&group)
        .send()
        .await
        .expect("interface")
        .network_interface
        .and_then(|n| n.network_interface_id)
        .expect("interface id");
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .network_interface_id(&eni)
                .device_index(0)
                .build(),
        )
        .send()
        .await
        .expect("instance")
        .instances()[0]
        .instance_id()
        .expect("instance id")
        .to_owned();
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/ec2/describe-network-interfaces-secondary-eip.xml"
    ))
    .expect("fixture")
    .replace("{eni}", &eni)
    .replace("{subnet}", &subnet)
    .replace("{vpc}", &vpc)
    .replace("{group}", &group)
    .replace("{instance}", &instance);
    let replay = Replay {
        canned: vec![Canned {
            service: "ec2",
            operation: "DescribeNetworkInterfaces",
            content_type: "text/xml",
            body,
        }],
        ..Replay::standard()
    };
    let front = ReplayServer::start(&moto.endpoint, replay);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let output = support::rampart(dir.path())
        .args([
            "collect",
            "--endpoint-url",
            &front.endpoint,
            "--region",
            REGION,
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    let snapshot = Snapshot::read(Path::new(&out)).expect("snapshot reads");
    let interface = snapshot.regions[REGION]
        .ec2
        .network_interfaces
        .iter()
        .find(|n| n.meta.id == eni)
        .expect("the interface");
    assert_eq!(
        (
            interface.public_ip.as_deref(),
            interface.secondary_public_ips.as_deref()
        ),
        (None, Some(&["198.51.100.20".to_owned()][..]))
    );
    let findings = support::evaluate(&snapshot);
    let ssh = finding(
        &findings,
        "ec2-instance-admin-port-reachable-from-internet",
        &instance,
    );
    assert_eq!(ssh.finding.status, Status::Fail);
    let acl = snapshot.regions[REGION]
        .ec2
        .network_acls
        .iter()
        .find(|acl| acl.vpc_id == vpc)
        .expect("the VPC's ACL")
        .meta
        .id
        .clone();
    assert_eq!(
        ssh.finding.message.as_deref(),
        Some(
            format!(
                "Instance {instance} is reachable from the internet on administration port(s) 22: \
                 TCP 22 from every internet IPv4 address through {igw} to 198.51.100.20 on {eni}: \
                 route table {main_table} (0.0.0.0/0 → {igw}), network ACL {acl} inbound entry 100 \
                 and outbound entry 100 for the replies, security group rule {group}: tcp 22 from \
                 0.0.0.0/0"
            )
            .as_str()
        )
    );
}
