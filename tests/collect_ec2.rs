//! `rampart collect` against a seeded moto account: every seeded resource
//! must come back with its rules, entries and routes intact.

mod support;

use std::collections::BTreeMap;

use rampart::snapshot::ec2::*;
use rampart::snapshot::{ResourceMeta, Snapshot};
use support::moto::MotoServer;
use support::rampart;
use support::replay::{Replay, ReplayServer};
use support::seed::{self, HOME_REGION, SECOND_REGION, SeededAccount};

const ACCOUNT: &str = "123456789012";

fn find<'a, T>(items: &'a [T], id: &str, meta: impl Fn(&T) -> &ResourceMeta) -> &'a T {
    items
        .iter()
        .find(|item| meta(item).id == id)
        .unwrap_or_else(|| panic!("{id} missing from the snapshot"))
}

fn arn(region: &str, resource: &str) -> String {
    format!("arn:aws:ec2:{region}:{ACCOUNT}:{resource}")
}

fn tags(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Name".to_owned(), name.to_owned()),
        ("env".to_owned(), "test".to_owned()),
    ])
}

fn meta(region: &str, kind: &str, id: &str, name: Option<&str>) -> ResourceMeta {
    ResourceMeta {
        id: id.to_owned(),
        arn: arn(region, &format!("{kind}/{id}")),
        region: region.to_owned(),
        tags: name.map(tags).unwrap_or_default(),
    }
}

fn route(destination: RouteDestination, kind: RouteTargetKind, id: &str, origin: &str) -> Route {
    Route {
        destination,
        target: RouteTarget {
            kind,
            id: Some(id.to_owned()),
        },
        state: Some("active".to_owned()),
        origin: Some(origin.to_owned()),
    }
}

fn cidr_source(cidr: &str, description: Option<&str>) -> CidrSource {
    CidrSource {
        cidr: cidr.to_owned(),
        description: description.map(str::to_owned),
    }
}

fn tcp(from: i32, to: i32) -> Option<PortRange> {
    Some(PortRange { from, to })
}

fn permission(protocol: Protocol, port_range: Option<PortRange>) -> Permission {
    Permission {
        protocol,
        port_range,
        icmp: None,
        ipv4_ranges: vec![],
        ipv6_ranges: vec![],
        prefix_list_ids: vec![],
        referenced_groups: vec![],
    }
}

fn default_egress() -> Vec<Permission> {
    vec![Permission {
        ipv4_ranges: vec![cidr_source("0.0.0.0/0", None)],
        ipv6_ranges: vec![cidr_source("::/0", None)],
        ..permission(Protocol::All, None)
    }]
}

async fn collect_seeded() -> (MotoServer, SeededAccount, Snapshot) {
    let moto = MotoServer::start();
    let seeded = seed::seed_account(&moto.endpoint).await;
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let output = rampart(dir.path())
        .args(["collect", "--endpoint-url", &front.endpoint])
        .args(["--region", HOME_REGION, "--region", SECOND_REGION, "-o"])
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(
        output.status.success(),
        "rampart collect failed: {}",
        support::stderr(&output)
    );
    assert!(
        support::stdout(&output).is_empty(),
        "with -o FILE nothing goes to stdout"
    );
    let snapshot = Snapshot::read(&out).expect("snapshot parses");
    (moto, seeded, snapshot)
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_writes_every_seeded_network_resource_intact() {
    let (_moto, s, snapshot) = collect_seeded().await;

    assert_eq!(snapshot.account.account_id, ACCOUNT);
    assert_eq!(snapshot.account.partition, "aws");
    assert_eq!(snapshot.regions_requested, [HOME_REGION, SECOND_REGION]);
    assert_eq!(
        snapshot.regions.keys().collect::<Vec<_>>(),
        [SECOND_REGION, HOME_REGION]
    );
    assert_eq!(snapshot.collection_errors, []);

    let ec2 = &snapshot.regions[HOME_REGION].ec2;
    let r = HOME_REGION;

    // VPC with secondary IPv4 and Amazon-provided IPv6 ranges.
    let prod = find(&ec2.vpcs, &s.prod_vpc, |v| &v.meta);
    assert_eq!(prod.meta, meta(r, "vpc", &s.prod_vpc, Some("prod")));
    assert!(!prod.is_default);
    assert_eq!(prod.cidr_block.as_deref(), Some("10.0.0.0/16"));
    let associated = |cidr: &str| CidrAssociation {
        cidr: cidr.to_owned(),
        state: Some("associated".to_owned()),
    };
    assert_eq!(
        prod.cidr_blocks,
        [associated("10.0.0.0/16"), associated("10.1.0.0/16")]
    );
    assert_eq!(prod.ipv6_cidr_blocks.len(), 1);
    let prod_v6 = prod.ipv6_cidr_blocks[0].cidr.clone();
    assert!(prod_v6.ends_with("::/56"), "{prod_v6}");
    assert_eq!(ec2.vpcs.iter().filter(|v| v.is_default).count(), 1);

    // Subnets.
    let public = find(&ec2.subnets, &s.public_subnet, |x| &x.meta);
    assert_eq!(public.vpc_id, s.prod_vpc);
    assert_eq!(public.cidr_block.as_deref(), Some("10.0.1.0/24"));
    assert_eq!(public.availability_zone.as_deref(), Some("us-east-1a"));
    assert!(public.map_public_ip_on_launch);
    assert!(!public.assign_ipv6_address_on_creation);
    assert_eq!(
        public.meta.tags,
        tags("prod-public"),
        "subnet ARN comes from the API: {}",
        public.meta.arn
    );
    let private = find(&ec2.subnets, &s.private_subnet, |x| &x.meta);
    assert!(!private.map_public_ip_on_launch);
    assert_eq!(private.cidr_block.as_deref(), Some("10.0.2.0/24"));

    // Route tables: targets typed, the main table flagged.
    let local = |cidr: &str| {
        let destination = if cidr.contains(':') {
            RouteDestination::Ipv6(cidr.to_owned())
        } else {
            RouteDestination::Ipv4(cidr.to_owned())
        };
        route(
            destination,
            RouteTargetKind::Local,
            "local",
            "CreateRouteTable",
        )
    };
    let public_rt = find(&ec2.route_tables, &s.public_route_table, |t| &t.meta);
    assert!(!public_rt.is_main);
    assert_eq!(
        public_rt.routes,
        [
            local("10.0.0.0/16"),
            local("10.1.0.0/16"),
            local(&prod_v6),
            route(
                RouteDestination::Ipv4("0.0.0.0/0".to_owned()),
                RouteTargetKind::InternetGateway,
                &s.internet_gateway,
                "CreateRoute"
            ),
            route(
                RouteDestination::Ipv6("::/0".to_owned()),
                RouteTargetKind::InternetGateway,
                &s.internet_gateway,
                "CreateRoute"
            ),
        ]
    );
    assert_eq!(
        public_rt
            .associations
            .iter()
            .map(|a| (a.main, a.subnet_id.as_deref()))
            .collect::<Vec<_>>(),
        [(false, Some(s.public_subnet.as_str()))]
    );
    let private_rt = find(&ec2.route_tables, &s.private_route_table, |t| &t.meta);
    assert_eq!(
        private_rt.routes[3..],
        [
            route(
                RouteDestination::Ipv4("0.0.0.0/0".to_owned()),
                RouteTargetKind::NatGateway,
                &s.nat_gateway,
                "CreateRoute"
            ),
            route(
                RouteDestination::Ipv4("10.2.0.0/16".to_owned()),
                RouteTargetKind::VpcPeering,
                &s.peering,
                "CreateRoute"
            ),
        ]
    );
    let main_tables: Vec<_> = ec2
        .route_tables
        .iter()
        .filter(|t| t.vpc_id == s.prod_vpc && t.is_main)
        .collect();
    assert_eq!(main_tables.len(), 1, "prod has exactly one main table");

    // Internet and NAT gateways.
    let igw = find(&ec2.internet_gateways, &s.internet_gateway, |g| &g.meta);
    assert_eq!(
        igw.meta,
        meta(r, "internet-gateway", &s.internet_gateway, Some("prod-igw"))
    );
    assert_eq!(
        igw.attachments,
        [GatewayAttachment {
            vpc_id: s.prod_vpc.clone(),
            state: Some("available".to_owned())
        }]
    );
    let nat = find(&ec2.nat_gateways, &s.nat_gateway, |g| &g.meta);
    assert_eq!(
        nat.meta,
        meta(r, "natgateway", &s.nat_gateway, Some("prod-nat"))
    );
    assert_eq!(nat.subnet_id.as_deref(), Some(s.public_subnet.as_str()));
    assert_eq!(nat.vpc_id.as_deref(), Some(s.prod_vpc.as_str()));
    assert_eq!(nat.state.as_deref(), Some("available"));
    assert_eq!(nat.addresses.len(), 1);
    assert_eq!(
        nat.addresses[0].allocation_id.as_deref(),
        Some(s.nat_allocation.as_str())
    );
    assert!(nat.addresses[0].public_ip.is_some());

    // Network ACL: every entry, ordered by direction then rule number.
    let acl = find(&ec2.network_acls, &s.public_acl, |a| &a.meta);
    assert_eq!(
        acl.meta,
        meta(r, "network-acl", &s.public_acl, Some("prod-public-acl"))
    );
    assert!(!acl.is_default);
    assert_eq!(acl.vpc_id, s.prod_vpc);
    let entry =
        |rule_number, egress, protocol, action, v4: Option<&str>, v6: Option<&str>, ports| {
            NetworkAclEntry {
                rule_number,
                egress,
                protocol,
                action,
                cidr_ipv4: v4.map(str::to_owned),
                cidr_ipv6: v6.map(str::to_owned),
                port_range: ports,
                // moto 5.2.5 does not return IcmpTypeCode from DescribeNetworkAcls;
                // the conversion is covered by the collector's unit tests.
                icmp: None,
            }
        };
    use RuleAction::{Allow, Deny};
    assert_eq!(
        acl.entries,
        [
            entry(
                90,
                false,
                Protocol::Tcp,
                Deny,
                Some("0.0.0.0/0"),
                None,
                tcp(22, 22)
            ),
            entry(
                100,
                false,
                Protocol::All,
                Allow,
                Some("0.0.0.0/0"),
                None,
                None
            ),
            entry(
                110,
                false,
                Protocol::Tcp,
                Allow,
                None,
                Some("::/0"),
                tcp(443, 443)
            ),
            entry(
                120,
                false,
                Protocol::Icmp,
                Allow,
                Some("0.0.0.0/0"),
                None,
                None
            ),
            entry(
                100,
                true,
                Protocol::Tcp,
                Allow,
                Some("0.0.0.0/0"),
                None,
                tcp(1024, 65535)
            ),
        ]
    );
    assert_eq!(
        acl.associations
            .iter()
            .map(|a| a.subnet_id.as_str())
            .collect::<Vec<_>>(),
        [s.public_subnet.as_str()]
    );

    // Security groups: IPv4, IPv6, ICMP, prefix-list and group sources.
    let web = find(&ec2.security_groups, &s.web_group, |g| &g.meta);
    assert_eq!(
        web.meta,
        meta(r, "security-group", &s.web_group, Some("web"))
    );
    assert_eq!(web.name, "web");
    assert_eq!(web.vpc_id.as_deref(), Some(s.prod_vpc.as_str()));
    assert_eq!(
        web.ingress,
        [
            Permission {
                ipv4_ranges: vec![cidr_source("0.0.0.0/0", Some("ssh from anywhere"))],
                ..permission(Protocol::Tcp, tcp(22, 22))
            },
            Permission {
                ipv4_ranges: vec![cidr_source("0.0.0.0/0", Some("https"))],
                ipv6_ranges: vec![cidr_source("::/0", Some("https v6"))],
                ..permission(Protocol::Tcp, tcp(443, 443))
            },
            Permission {
                ipv4_ranges: vec![cidr_source("10.0.0.0/8", Some("dns"))],
                ..permission(Protocol::Udp, tcp(53, 53))
            },
            Permission {
                icmp: Some(IcmpTypeCode {
                    icmp_type: 8,
                    code: -1
                }),
                ipv4_ranges: vec![cidr_source("0.0.0.0/0", Some("ping"))],
                ..permission(Protocol::Icmp, None)
            },
            Permission {
                prefix_list_ids: vec![PrefixListSource {
                    prefix_list_id: s.prefix_list.clone(),
                    // moto drops prefix-list descriptions.
                    description: None,
                }],
                ..permission(Protocol::Tcp, tcp(8080, 8080))
            },
        ]
    );
    assert_eq!(web.egress, default_egress());
    let db = find(&ec2.security_groups, &s.db_group, |g| &g.meta);
    assert_eq!(
        db.ingress,
        [Permission {
            referenced_groups: vec![GroupSource {
                group_id: Some(s.web_group.clone()),
                group_name: None,
                user_id: Some(ACCOUNT.to_owned()),
                vpc_id: None,
                vpc_peering_connection_id: None,
                description: Some("from web".to_owned()),
            }],
            ..permission(Protocol::Tcp, tcp(5432, 5432))
        }]
    );

    // Instances and their interfaces.
    let web_1 = find(&ec2.instances, &s.web_instance, |i| &i.meta);
    assert_eq!(
        web_1.meta,
        meta(r, "instance", &s.web_instance, Some("web-1"))
    );
    assert_eq!(web_1.state.as_deref(), Some("running"));
    assert_eq!(web_1.instance_type.as_deref(), Some("t3.micro"));
    assert_eq!(web_1.subnet_id.as_deref(), Some(s.public_subnet.as_str()));
    assert_eq!(web_1.vpc_id.as_deref(), Some(s.prod_vpc.as_str()));
    assert!(web_1.public_ip.is_some(), "public subnet maps a public IP");
    assert_eq!(web_1.security_group_ids, [s.web_group.as_str()]);
    assert_eq!(
        web_1.metadata_options,
        Some(MetadataOptions {
            http_tokens: Some("optional".to_owned()),
            http_endpoint: Some("enabled".to_owned()),
            http_put_response_hop_limit: Some(1),
            instance_metadata_tags: Some("disabled".to_owned()),
        })
    );
    let db_1 = find(&ec2.instances, &s.db_instance, |i| &i.meta);
    assert_eq!(db_1.public_ip, None);
    assert_eq!(db_1.security_group_ids, [s.db_group.as_str()]);
    assert_eq!(
        db_1.metadata_options
            .as_ref()
            .and_then(|m| m.http_tokens.as_deref()),
        Some("required")
    );
    assert_eq!(web_1.network_interface_ids.len(), 1);
    let web_eni = find(
        &ec2.network_interfaces,
        &web_1.network_interface_ids[0],
        |n| &n.meta,
    );
    assert_eq!(web_eni.subnet_id.as_deref(), Some(s.public_subnet.as_str()));
    assert_eq!(web_eni.security_group_ids, [s.web_group.as_str()]);
    assert_eq!(web_eni.public_ip, web_1.public_ip);
    assert_eq!(web_eni.interface_type.as_deref(), Some("interface"));
    assert_eq!(
        web_eni
            .attachment
            .as_ref()
            .and_then(|a| a.instance_id.as_deref()),
        Some(s.web_instance.as_str())
    );

    // Flow log, transit gateway, peering, EBS default encryption.
    let flow_log = find(&ec2.flow_logs, &s.flow_log, |f| &f.meta);
    assert_eq!(flow_log.meta, meta(r, "vpc-flow-log", &s.flow_log, None));
    assert_eq!(flow_log.resource_id.as_deref(), Some(s.prod_vpc.as_str()));
    assert_eq!(flow_log.traffic_type.as_deref(), Some("ALL"));
    assert_eq!(
        flow_log.log_destination_type.as_deref(),
        Some("cloud-watch-logs")
    );
    assert_eq!(flow_log.log_destination.as_deref(), Some("prod-flow-logs"));
    assert_eq!(flow_log.flow_log_status.as_deref(), Some("ACTIVE"));

    let tgw = find(&ec2.transit_gateways, &s.transit_gateway, |t| &t.meta);
    assert!(tgw.auto_accept_shared_attachments);
    assert!(tgw.default_route_table_association);
    assert!(!tgw.default_route_table_propagation);

    let peering = find(&ec2.vpc_peering_connections, &s.peering, |p| &p.meta);
    assert_eq!(peering.status.as_deref(), Some("active"));
    let side = |vpc: &str, cidr: &str| PeeringSide {
        vpc_id: Some(vpc.to_owned()),
        owner_id: Some(ACCOUNT.to_owned()),
        region: Some(HOME_REGION.to_owned()),
        cidr_blocks: vec![cidr.to_owned()],
        ipv6_cidr_blocks: vec![],
    };
    assert_eq!(peering.requester, Some(side(&s.prod_vpc, "10.0.0.0/16")));
    assert_eq!(peering.accepter, Some(side(&s.staging_vpc, "10.2.0.0/16")));

    assert_eq!(ec2.ebs_encryption_by_default, Some(true));
    assert_eq!(
        ec2.instance_metadata_defaults,
        Some(InstanceMetadataDefaults {
            http_tokens: Some("required".to_owned()),
            http_endpoint: None,
            http_put_response_hop_limit: Some(2),
        })
    );

    // The second region holds its own resources, and only those.
    let eu = &snapshot.regions[SECOND_REGION].ec2;
    assert_eq!(eu.ebs_encryption_by_default, Some(false));
    assert_eq!(
        eu.instance_metadata_defaults,
        Some(InstanceMetadataDefaults::default()),
        "no account-level default set"
    );
    let analytics = find(&eu.vpcs, &s.analytics_vpc, |v| &v.meta);
    assert_eq!(
        analytics.meta,
        meta(SECOND_REGION, "vpc", &s.analytics_vpc, Some("analytics"))
    );
    let tiny = find(&eu.subnets, &s.analytics_subnet, |x| &x.meta);
    assert_eq!(tiny.cidr_block.as_deref(), Some("10.0.0.0/28"));
    assert_eq!(tiny.available_ip_address_count, Some(11));
    let rdp = find(&eu.security_groups, &s.rdp_group, |g| &g.meta);
    assert_eq!(
        rdp.ingress,
        [
            Permission {
                ipv4_ranges: vec![
                    cidr_source("0.0.0.0/1", Some("half the internet")),
                    cidr_source("128.0.0.0/1", Some("the other half")),
                ],
                ..permission(Protocol::Tcp, tcp(3389, 3389))
            },
            Permission {
                ipv4_ranges: vec![cidr_source("192.168.0.0/16", Some("office vpn"))],
                ..permission(Protocol::All, None)
            },
        ]
    );
    assert!(eu.instances.is_empty());
    assert!(
        !eu.vpcs.iter().any(|v| v.meta.id == s.prod_vpc),
        "regions do not leak into each other"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_counts_every_call_and_calls_only_read_operations() {
    let (_moto, _seeded, snapshot) = collect_seeded().await;
    let mut expected: BTreeMap<String, u64> = [
        "DescribeFlowLogs",
        "DescribeInstances",
        "DescribeInternetGateways",
        "DescribeNatGateways",
        "DescribeNetworkAcls",
        "DescribeNetworkInterfaces",
        "DescribeRouteTables",
        "DescribeSecurityGroups",
        "DescribeSubnets",
        "DescribeTransitGateways",
        "DescribeVpcPeeringConnections",
        "DescribeVpcs",
        "GetEbsEncryptionByDefault",
        "GetInstanceMetadataDefaults",
    ]
    .into_iter()
    .map(|op| (format!("ec2:{op}"), 2)) // one page in each of two regions
    .collect();
    for (operation, calls) in [
        ("sts:GetCallerIdentity", 1),
        ("guardduty:ListDetectors", 2),
        ("sso:ListInstances", 2),
        // moto has an Identity Center instance in every region.
        ("sso:ListPermissionSets", 2),
        ("iam:GetAccountSummary", 1),
        ("iam:ListVirtualMFADevices", 1),
        ("iam:GetAccountPasswordPolicy", 1),
        // STARTED, then COMPLETE.
        ("iam:GenerateCredentialReport", 2),
        ("iam:GetCredentialReport", 1),
        ("iam:ListUsers", 1),
        ("iam:GetAccountAuthorizationDetails", 1),
        ("cloudwatch:DescribeAlarms", 1),
        ("budgets:DescribeBudgets", 1),
        // Application and network, then classic, in each region.
        ("elasticloadbalancing:DescribeLoadBalancers", 4),
        ("elasticloadbalancing:DescribeTargetGroups", 2),
    ] {
        expected.insert(operation.to_owned(), calls);
    }
    assert_eq!(snapshot.api_calls, expected);
    for operation in snapshot.api_calls.keys() {
        let name = operation.split(':').nth(1).unwrap_or_default();
        assert!(
            rampart::collect::ledger::is_read_only(name),
            "{operation} is not read-only"
        );
    }
}
