//! Seeds a small, realistic account into the emulator through the SDK: a
//! production VPC with public and private tiers, a staging VPC peered to it,
//! and an analytics VPC in a second region. Every resource kind the EC2
//! collector reads appears at least once, with the rule and entry shapes
//! the checks care about (IPv4, IPv6, group and prefix-list sources, NACL
//! deny-before-allow, ICMP).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::*;
use chrono::{Duration, SecondsFormat, Utc};

/// The account moto answers as.
const ACCOUNT_ID: &str = "123456789012";

pub const HOME_REGION: &str = "us-east-1";
pub const SECOND_REGION: &str = "eu-west-1";

/// Ids of what was seeded, so tests can assert on exactly these resources.
#[derive(Debug, Clone)]
pub struct SeededAccount {
    pub prod_vpc: String,
    pub staging_vpc: String,
    pub public_subnet: String,
    pub private_subnet: String,
    pub internet_gateway: String,
    pub public_route_table: String,
    pub private_route_table: String,
    pub nat_gateway: String,
    pub nat_allocation: String,
    pub public_acl: String,
    pub web_group: String,
    pub db_group: String,
    pub prefix_list: String,
    pub web_instance: String,
    pub db_instance: String,
    pub flow_log: String,
    pub transit_gateway: String,
    pub peering: String,
    pub analytics_vpc: String,
    pub analytics_subnet: String,
    pub rdp_group: String,
}

fn tags(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .tags(Tag::builder().key("env").value("test").build())
        .build()
}

fn cidr(cidr: &str, description: &str) -> IpRange {
    IpRange::builder()
        .cidr_ip(cidr)
        .description(description)
        .build()
}

pub async fn seed_account(endpoint: &str) -> SeededAccount {
    let ec2 = super::ec2_client(endpoint, HOME_REGION).await;

    let prod_vpc = create_vpc(&ec2, "10.0.0.0/16", "prod", true).await;
    ec2.associate_vpc_cidr_block()
        .vpc_id(&prod_vpc)
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .expect("associate secondary CIDR");
    let staging_vpc = create_vpc(&ec2, "10.2.0.0/16", "staging", false).await;

    let public_subnet = create_subnet(&ec2, &prod_vpc, "10.0.1.0/24", "prod-public").await;
    ec2.modify_subnet_attribute()
        .subnet_id(&public_subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("map public IPs");
    let private_subnet = create_subnet(&ec2, &prod_vpc, "10.0.2.0/24", "prod-private").await;

    let internet_gateway = ec2
        .create_internet_gateway()
        .tag_specifications(tags(ResourceType::InternetGateway, "prod-igw"))
        .send()
        .await
        .expect("create IGW")
        .internet_gateway
        .and_then(|igw| igw.internet_gateway_id)
        .expect("IGW id");
    ec2.attach_internet_gateway()
        .internet_gateway_id(&internet_gateway)
        .vpc_id(&prod_vpc)
        .send()
        .await
        .expect("attach IGW");

    let public_route_table = create_route_table(&ec2, &prod_vpc, "prod-public-rt").await;
    ec2.create_route()
        .route_table_id(&public_route_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&internet_gateway)
        .send()
        .await
        .expect("default route to IGW");
    ec2.create_route()
        .route_table_id(&public_route_table)
        .destination_ipv6_cidr_block("::/0")
        .gateway_id(&internet_gateway)
        .send()
        .await
        .expect("IPv6 default route to IGW");
    associate(&ec2, &public_route_table, &public_subnet).await;

    let nat_allocation = ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .expect("allocate EIP")
        .allocation_id
        .expect("allocation id");
    let nat_gateway = ec2
        .create_nat_gateway()
        .subnet_id(&public_subnet)
        .allocation_id(&nat_allocation)
        .tag_specifications(tags(ResourceType::Natgateway, "prod-nat"))
        .send()
        .await
        .expect("create NAT gateway")
        .nat_gateway
        .and_then(|nat| nat.nat_gateway_id)
        .expect("NAT id");

    let private_route_table = create_route_table(&ec2, &prod_vpc, "prod-private-rt").await;
    ec2.create_route()
        .route_table_id(&private_route_table)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat_gateway)
        .send()
        .await
        .expect("default route to NAT");
    associate(&ec2, &private_route_table, &private_subnet).await;

    let peering = ec2
        .create_vpc_peering_connection()
        .vpc_id(&prod_vpc)
        .peer_vpc_id(&staging_vpc)
        .send()
        .await
        .expect("create peering")
        .vpc_peering_connection
        .and_then(|p| p.vpc_peering_connection_id)
        .expect("peering id");
    ec2.accept_vpc_peering_connection()
        .vpc_peering_connection_id(&peering)
        .send()
        .await
        .expect("accept peering");
    ec2.create_route()
        .route_table_id(&private_route_table)
        .destination_cidr_block("10.2.0.0/16")
        .vpc_peering_connection_id(&peering)
        .send()
        .await
        .expect("route to peer");

    let public_acl = ec2
        .create_network_acl()
        .vpc_id(&prod_vpc)
        .tag_specifications(tags(ResourceType::NetworkAcl, "prod-public-acl"))
        .send()
        .await
        .expect("create NACL")
        .network_acl
        .and_then(|acl| acl.network_acl_id)
        .expect("NACL id");
    // (rule, protocol, action, egress, IPv4 CIDR, IPv6 CIDR, ports, ICMP type/code)
    let entries = [
        (
            90,
            "6",
            RuleAction::Deny,
            false,
            Some("0.0.0.0/0"),
            None,
            Some((22, 22)),
            None,
        ),
        (
            100,
            "-1",
            RuleAction::Allow,
            false,
            Some("0.0.0.0/0"),
            None,
            None,
            None,
        ),
        (
            110,
            "6",
            RuleAction::Allow,
            false,
            None,
            Some("::/0"),
            Some((443, 443)),
            None,
        ),
        (
            120,
            "1",
            RuleAction::Allow,
            false,
            Some("0.0.0.0/0"),
            None,
            None,
            Some((8, -1)),
        ),
        (
            100,
            "6",
            RuleAction::Allow,
            true,
            Some("0.0.0.0/0"),
            None,
            Some((1024, 65535)),
            None,
        ),
    ];
    for (rule_number, protocol, action, egress, v4, v6, ports, icmp) in entries {
        ec2.create_network_acl_entry()
            .network_acl_id(&public_acl)
            .rule_number(rule_number)
            .protocol(protocol)
            .rule_action(action)
            .egress(egress)
            .set_cidr_block(v4.map(str::to_owned))
            .set_ipv6_cidr_block(v6.map(str::to_owned))
            .set_port_range(ports.map(|(from, to)| PortRange::builder().from(from).to(to).build()))
            .set_icmp_type_code(
                icmp.map(|(kind, code)| IcmpTypeCode::builder().r#type(kind).code(code).build()),
            )
            .send()
            .await
            .expect("create NACL entry");
    }
    let current_association = ec2
        .describe_network_acls()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(&public_subnet)
                .build(),
        )
        .send()
        .await
        .expect("find subnet's NACL")
        .network_acls
        .unwrap_or_default()
        .into_iter()
        .flat_map(|acl| acl.associations.unwrap_or_default())
        .find(|a| a.subnet_id.as_deref() == Some(public_subnet.as_str()))
        .and_then(|a| a.network_acl_association_id)
        .expect("subnet's NACL association");
    ec2.replace_network_acl_association()
        .association_id(current_association)
        .network_acl_id(&public_acl)
        .send()
        .await
        .expect("associate NACL");

    let prefix_list = ec2
        .create_managed_prefix_list()
        .prefix_list_name("office")
        .address_family("IPv4")
        .max_entries(5)
        .entries(
            AddPrefixListEntry::builder()
                .cidr("203.0.113.0/24")
                .description("office")
                .build(),
        )
        .send()
        .await
        .expect("create prefix list")
        .prefix_list
        .and_then(|pl| pl.prefix_list_id)
        .expect("prefix list id");

    let web_group = create_group(&ec2, &prod_vpc, "web", "web tier").await;
    let db_group = create_group(&ec2, &prod_vpc, "db", "database tier").await;
    ec2.authorize_security_group_ingress()
        .group_id(&web_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(cidr("0.0.0.0/0", "ssh from anywhere"))
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(cidr("0.0.0.0/0", "https"))
                .ipv6_ranges(
                    Ipv6Range::builder()
                        .cidr_ipv6("::/0")
                        .description("https v6")
                        .build(),
                )
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("udp")
                .from_port(53)
                .to_port(53)
                .ip_ranges(cidr("10.0.0.0/8", "dns"))
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("icmp")
                .from_port(8)
                .to_port(-1)
                .ip_ranges(cidr("0.0.0.0/0", "ping"))
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .prefix_list_ids(
                    PrefixListId::builder()
                        .prefix_list_id(&prefix_list)
                        .description("office")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("web ingress");
    ec2.authorize_security_group_ingress()
        .group_id(&db_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .user_id_group_pairs(
                    UserIdGroupPair::builder()
                        .group_id(&web_group)
                        .description("from web")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("db ingress");

    let image = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .expect("list images")
        .images
        .unwrap_or_default()
        .into_iter()
        .find_map(|image| image.image_id)
        .expect("moto ships at least one AMI");
    let web_instance = run_instance(
        &ec2,
        &image,
        &public_subnet,
        &web_group,
        HttpTokensState::Optional,
        "web-1",
    )
    .await;
    let db_instance = run_instance(
        &ec2,
        &image,
        &private_subnet,
        &db_group,
        HttpTokensState::Required,
        "db-1",
    )
    .await;

    let flow_log = ec2
        .create_flow_logs()
        .resource_ids(&prod_vpc)
        .resource_type(FlowLogsResourceType::Vpc)
        .traffic_type(TrafficType::All)
        .log_destination_type(LogDestinationType::CloudWatchLogs)
        .log_group_name("prod-flow-logs")
        .deliver_logs_permission_arn("arn:aws:iam::123456789012:role/flow-logs")
        .send()
        .await
        .expect("create flow log")
        .flow_log_ids
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("flow log id");

    let transit_gateway = ec2
        .create_transit_gateway()
        .description("shared hub")
        .options(
            TransitGatewayRequestOptions::builder()
                .auto_accept_shared_attachments(AutoAcceptSharedAttachmentsValue::Enable)
                .default_route_table_association(DefaultRouteTableAssociationValue::Enable)
                .default_route_table_propagation(DefaultRouteTablePropagationValue::Disable)
                .build(),
        )
        .send()
        .await
        .expect("create TGW")
        .transit_gateway
        .and_then(|tgw| tgw.transit_gateway_id)
        .expect("TGW id");

    ec2.enable_ebs_encryption_by_default()
        .send()
        .await
        .expect("enable EBS default encryption");

    // The second region: an analytics VPC reusing prod's range (a classic
    // overlap) with a group open to RDP from anywhere.
    let ec2_second = super::ec2_client(endpoint, SECOND_REGION).await;
    let analytics_vpc = create_vpc(&ec2_second, "10.0.0.0/16", "analytics", false).await;
    let analytics_subnet =
        create_subnet(&ec2_second, &analytics_vpc, "10.0.0.0/28", "analytics-tiny").await;
    let rdp_group = create_group(&ec2_second, &analytics_vpc, "rdp", "remote desktop").await;
    ec2_second
        .authorize_security_group_ingress()
        .group_id(&rdp_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3389)
                .to_port(3389)
                .ip_ranges(cidr("0.0.0.0/1", "half the internet"))
                .ip_ranges(cidr("128.0.0.0/1", "the other half"))
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(cidr("192.168.0.0/16", "office vpn"))
                .build(),
        )
        .send()
        .await
        .expect("rdp ingress");

    SeededAccount {
        prod_vpc,
        staging_vpc,
        public_subnet,
        private_subnet,
        internet_gateway,
        public_route_table,
        private_route_table,
        nat_gateway,
        nat_allocation,
        public_acl,
        web_group,
        db_group,
        prefix_list,
        web_instance,
        db_instance,
        flow_log,
        transit_gateway,
        peering,
        analytics_vpc,
        analytics_subnet,
        rdp_group,
    }
}

async fn create_vpc(ec2: &Client, cidr: &str, name: &str, ipv6: bool) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .amazon_provided_ipv6_cidr_block(ipv6)
        .tag_specifications(tags(ResourceType::Vpc, name))
        .send()
        .await
        .expect("create VPC")
        .vpc
        .and_then(|vpc| vpc.vpc_id)
        .expect("VPC id")
}

async fn create_subnet(ec2: &Client, vpc: &str, cidr: &str, name: &str) -> String {
    let region = ec2
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    ec2.create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(format!("{region}a"))
        .tag_specifications(tags(ResourceType::Subnet, name))
        .send()
        .await
        .expect("create subnet")
        .subnet
        .and_then(|subnet| subnet.subnet_id)
        .expect("subnet id")
}

async fn create_route_table(ec2: &Client, vpc: &str, name: &str) -> String {
    ec2.create_route_table()
        .vpc_id(vpc)
        .tag_specifications(tags(ResourceType::RouteTable, name))
        .send()
        .await
        .expect("create route table")
        .route_table
        .and_then(|table| table.route_table_id)
        .expect("route table id")
}

async fn associate(ec2: &Client, route_table: &str, subnet: &str) {
    ec2.associate_route_table()
        .route_table_id(route_table)
        .subnet_id(subnet)
        .send()
        .await
        .expect("associate route table");
}

async fn create_group(ec2: &Client, vpc: &str, name: &str, description: &str) -> String {
    ec2.create_security_group()
        .vpc_id(vpc)
        .group_name(name)
        .description(description)
        .tag_specifications(tags(ResourceType::SecurityGroup, name))
        .send()
        .await
        .expect("create security group")
        .group_id
        .expect("group id")
}

async fn run_instance(
    ec2: &Client,
    image: &str,
    subnet: &str,
    group: &str,
    tokens: HttpTokensState,
    name: &str,
) -> String {
    ec2.run_instances()
        .image_id(image)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet)
        .security_group_ids(group)
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(tokens)
                .build(),
        )
        .tag_specifications(tags(ResourceType::Instance, name))
        .send()
        .await
        .expect("run instance")
        .instances
        .unwrap_or_default()
        .into_iter()
        .find_map(|instance| instance.instance_id)
        .expect("instance id")
}

/// Ids of the account-level resources seeded by [`seed_account_services`].
#[derive(Debug, Clone)]
pub struct SeededServices {
    pub alice_mfa_serial: String,
    pub alice_key: String,
    pub bob_keys: Vec<String>,
    pub ci_bot_key: String,
    pub admin_permission_set: String,
    pub readonly_permission_set: String,
    pub admin_principal: String,
    pub home_detector: String,
    pub second_detector: String,
}

/// IAM users with console, MFA and key variations; a password policy below
/// CIS; Identity Center permission sets (one administrator, assigned here);
/// a budget with a notification; GuardDuty detectors in both regions.
pub async fn seed_account_services(endpoint: &str) -> SeededServices {
    use aws_sdk_budgets::types as budgets;
    use aws_sdk_guardduty::types as guardduty;
    use aws_sdk_ssoadmin::types as sso;

    let config = super::seeding_config(endpoint, HOME_REGION).await;
    let iam = aws_sdk_iam::Client::new(&config);
    for (user, path) in [("alice", "/"), ("bob", "/"), ("ci-bot", "/automation/")] {
        iam.create_user()
            .user_name(user)
            .path(path)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("team")
                    .value("platform")
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("create user");
    }
    for user in ["alice", "bob"] {
        give_console_password(&iam, user).await;
    }
    let alice_mfa_serial = enable_virtual_mfa(&iam, "alice").await;
    let key_id = async |user| create_access_key(&iam, user).await.access_key_id;
    let alice_key = key_id("alice").await;
    let bob_keys = vec![key_id("bob").await, key_id("bob").await];
    let ci_bot_key = key_id("ci-bot").await;
    iam.update_account_password_policy()
        .minimum_password_length(12)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(false)
        .allow_users_to_change_password(true)
        .password_reuse_prevention(5)
        .max_password_age(90)
        .send()
        .await
        .expect("password policy");

    let sso = aws_sdk_ssoadmin::Client::new(&config);
    let instance = sso_instance(&sso).await;
    let permission_set = |name: &'static str| {
        let description = format!("{name} for the platform team");
        let (sso, instance) = (&sso, &instance);
        async move { create_permission_set(sso, instance, name, &description, "PT4H").await }
    };
    let admin_permission_set = permission_set("AdministratorAccess").await;
    let readonly_permission_set = permission_set("ReadOnly").await;
    attach_managed_policy(
        &sso,
        &instance,
        &admin_permission_set,
        "arn:aws:iam::aws:policy/AdministratorAccess",
    )
    .await;
    sso.put_inline_policy_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&readonly_permission_set)
        .inline_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","s3:List*"],"Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("inline policy");
    let admin_principal = "94482488-3041-7026-18f3-be45837cd0e4".to_owned();
    assign_to_account(
        &sso,
        &instance,
        &admin_permission_set,
        sso::PrincipalType::User,
        &admin_principal,
    )
    .await;

    create_notifying_budget(&config, "200", budgets::NotificationType::Actual, 80.0).await;

    let detector =
        |region: &'static str,
         features: Vec<(guardduty::DetectorFeature, guardduty::FeatureStatus)>| async move {
            let client =
                aws_sdk_guardduty::Client::new(&super::seeding_config(endpoint, region).await);
            let mut request = client
                .create_detector()
                .enable(true)
                .finding_publishing_frequency(
                    guardduty::FindingPublishingFrequency::FifteenMinutes,
                );
            for (name, status) in features {
                request = request.features(
                    guardduty::DetectorFeatureConfiguration::builder()
                        .name(name)
                        .status(status)
                        .build(),
                );
            }
            request
                .send()
                .await
                .expect("create detector")
                .detector_id
                .expect("detector id")
        };
    let home_detector = detector(
        HOME_REGION,
        vec![
            (
                guardduty::DetectorFeature::S3DataEvents,
                guardduty::FeatureStatus::Enabled,
            ),
            (
                guardduty::DetectorFeature::EksAuditLogs,
                guardduty::FeatureStatus::Disabled,
            ),
        ],
    )
    .await;
    let second_detector = detector(SECOND_REGION, vec![]).await;

    SeededServices {
        alice_mfa_serial,
        alice_key,
        bob_keys,
        ci_bot_key,
        admin_permission_set,
        readonly_permission_set,
        admin_principal,
        home_detector,
        second_detector,
    }
}

/// A security group permission: protocol (`tcp`, `udp`, `-1`), an optional
/// port range and IPv4 and IPv6 sources.
fn permission(protocol: &str, ports: Option<(i32, i32)>, v4: &[&str], v6: &[&str]) -> IpPermission {
    let mut builder = IpPermission::builder()
        .ip_protocol(protocol)
        .set_from_port(ports.map(|(from, _)| from))
        .set_to_port(ports.map(|(_, to)| to));
    for source in v4 {
        builder = builder.ip_ranges(IpRange::builder().cidr_ip(*source).build());
    }
    for source in v6 {
        builder = builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(*source).build());
    }
    builder.build()
}

fn tcp(port: i32, v4: &[&str], v6: &[&str]) -> IpPermission {
    permission("tcp", Some((port, port)), v4, v6)
}

/// `count` single addresses from 203.0.113.0/24, as /32 sources of TCP 443.
fn many_sources(count: u8) -> IpPermission {
    let addresses: Vec<String> = (1..=count).map(|i| format!("203.0.113.{i}/32")).collect();
    let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
    tcp(443, &addresses, &[])
}

const ANYWHERE: &[&str] = &["0.0.0.0/0"];
const ANYWHERE_V6: &[&str] = &["::/0"];
const PRIVATE: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// The security groups of the rules VPC (10.20.0.0/16), by name: each opens
/// one thing, so a rule's failing groups are exactly the ones that open
/// what it looks for. `orphan` stays unattached; the rest are attached to
/// network interfaces.
fn rule_groups() -> Vec<(&'static str, Vec<IpPermission>)> {
    vec![
        ("open-all", vec![permission("-1", None, ANYWHERE, &[])]),
        (
            "tcp-all-v6",
            vec![permission("tcp", Some((0, 65535)), &[], ANYWHERE_V6)],
        ),
        ("ssh-v6", vec![tcp(22, &[], ANYWHERE_V6)]),
        (
            "ftp",
            vec![permission("tcp", Some((20, 21)), ANYWHERE, &[])],
        ),
        (
            "telnet-halves",
            vec![tcp(23, &["0.0.0.0/1", "128.0.0.0/1"], &[])],
        ),
        ("smb", vec![tcp(445, ANYWHERE, &[])]),
        (
            "kerberos-udp",
            vec![permission("udp", Some((88, 88)), ANYWHERE, &[])],
        ),
        ("ldaps-v6", vec![tcp(636, &[], ANYWHERE_V6)]),
        ("mysql", vec![tcp(3306, ANYWHERE, &[])]),
        ("postgresql", vec![tcp(5432, ANYWHERE, &[])]),
        ("oracle", vec![tcp(1521, ANYWHERE, &[])]),
        (
            "sqlserver",
            vec![permission("tcp", Some((1433, 1434)), ANYWHERE, &[])],
        ),
        ("mongodb-v6", vec![tcp(27017, &[], ANYWHERE_V6)]),
        ("redis", vec![tcp(6379, ANYWHERE, &[])]),
        ("memcached", vec![tcp(11211, ANYWHERE, &[])]),
        ("kibana", vec![tcp(5601, ANYWHERE, &[])]),
        ("kafka", vec![tcp(9092, ANYWHERE, &[])]),
        ("cassandra", vec![tcp(9160, ANYWHERE, &[])]),
        (
            "https-public",
            vec![
                tcp(443, ANYWHERE, ANYWHERE_V6),
                tcp(80, ANYWHERE, ANYWHERE_V6),
            ],
        ),
        (
            "udp-lookalikes",
            [22, 3389, 3306, 5432, 6379, 27017]
                .into_iter()
                .map(|port| permission("udp", Some((port, port)), ANYWHERE, &[]))
                .collect(),
        ),
        (
            "private-sources",
            vec![
                tcp(22, PRIVATE, &[]),
                tcp(3389, PRIVATE, &[]),
                tcp(3306, PRIVATE, &[]),
                permission("-1", None, &["10.20.0.0/16"], &[]),
            ],
        ),
        (
            "neighbours",
            vec![
                tcp(3305, ANYWHERE, &[]),
                tcp(3307, ANYWHERE, &[]),
                tcp(2222, ANYWHERE, &[]),
            ],
        ),
        ("half-internet", vec![tcp(22, &["0.0.0.0/1"], &[])]),
        ("wide-public-23", vec![tcp(443, &["52.0.0.0/23"], &[])]),
        (
            "narrow-public",
            vec![
                tcp(8443, &["203.0.113.0/24"], &[]),
                permission("tcp", Some((8000, 8009)), &["198.51.100.0/24"], &[]),
            ],
        ),
        (
            "wide-range-partner",
            vec![permission(
                "tcp",
                Some((1000, 2000)),
                &["203.0.113.0/24"],
                &[],
            )],
        ),
        ("too-many", vec![many_sources(50)]),
        ("at-limit", vec![many_sources(49)]),
        ("launch-wizard-1", vec![tcp(22, &["203.0.113.10/32"], &[])]),
        ("orphan", vec![]),
    ]
}

/// Ids of what [`seed_rule_cases`] adds, so the rule test can say of every
/// rule exactly which resources fail.
#[derive(Debug, Clone)]
pub struct RuleCases {
    /// 10.20.0.0/16 in the home region: security groups, ACLs, a tiny subnet.
    pub rules_vpc: String,
    /// Its default group, emptied of every rule.
    pub rules_default_group: String,
    pub rules_subnet: String,
    /// 10.20.3.0/28 with ten interfaces in it: 1 of 11 addresses free.
    pub tiny_subnet: String,
    /// Admits TCP 443 from the internet; egress allows only TCP 443.
    pub return_blocked_acl: String,
    /// Associated with no subnet; allows SSH at 100 before denying 0-1023.
    pub spare_acl: String,
    /// 10.30.0.0/16 in the home region: its main table routes to an IGW.
    pub edge_vpc: String,
    pub edge_main_route_table: String,
    /// Public, maps public IPs on launch, default network ACL.
    pub edge_open_subnet: String,
    /// Public, with `edge_guarded_acl`.
    pub edge_guarded_subnet: String,
    /// Admits TCP 443 (IPv4) and 3389 (IPv6) only; returns on 1024-65535.
    pub edge_guarded_acl: String,
    /// Security groups by name: those of [`rule_groups`] and the edge VPC's
    /// `bastion` (SSH from anywhere) and `services` (a port of each
    /// service family from anywhere).
    pub groups: std::collections::BTreeMap<&'static str, String>,
    /// A 198.51.100.0/24 VPC in the second region.
    pub partner_vpc: String,
    pub staging_subnet: String,
    pub staging_main_route_table: String,
    /// A public NAT gateway in the staging subnet, which has no IGW route.
    pub staging_nat: String,
    /// A private NAT gateway in the same subnet.
    pub staging_private_nat: String,
    pub isolated_transit_gateway: String,
    /// An interface in the home region's default VPC.
    pub legacy_interface: String,
    /// SSH from anywhere, public IP, public subnet, open ACL.
    pub bastion_instance: String,
    /// Every service family's port from anywhere, public IP and subnet.
    pub services_instance: String,
    /// SSH open in its group, public IP, but the ACL admits only 443.
    pub guarded_instance: String,
    /// MySQL open in its group, no public IP, private subnet.
    pub internal_instance: String,
}

/// Adds to an account seeded with [`seed_account`] and
/// [`seed_account_services`] a failing and a passing case for each rule
/// the emulator can express: security groups for each port family and
/// source shape, network ACLs, route tables, NAT and transit gateways,
/// instances reachable or not from the internet, two more IAM users and
/// GuardDuty protection plans in the second region.
pub async fn seed_rule_cases(
    endpoint: &str,
    account: &SeededAccount,
    services: &SeededServices,
) -> RuleCases {
    let ec2 = super::ec2_client(endpoint, HOME_REGION).await;
    let image = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .expect("list images")
        .images
        .unwrap_or_default()
        .into_iter()
        .find_map(|image| image.image_id)
        .expect("moto ships at least one AMI");

    // The rules VPC: one group per exposure shape.
    let rules_vpc = create_vpc(&ec2, "10.20.0.0/16", "rules", false).await;
    let rules_subnet = create_subnet(&ec2, &rules_vpc, "10.20.1.0/24", "rules-a").await;
    let tiny_subnet = create_subnet(&ec2, &rules_vpc, "10.20.3.0/28", "rules-tiny").await;
    let mut groups = std::collections::BTreeMap::new();
    for (name, permissions) in rule_groups() {
        let id = create_group(&ec2, &rules_vpc, name, name).await;
        if !permissions.is_empty() {
            ec2.authorize_security_group_ingress()
                .group_id(&id)
                .set_ip_permissions(Some(permissions))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name} ingress: {e:?}"));
        }
        groups.insert(name, id);
    }
    // At most five groups per interface, as in AWS.
    let attached: Vec<&String> = groups
        .iter()
        .filter(|(name, _)| **name != "orphan")
        .map(|(_, id)| id)
        .collect();
    for chunk in attached.chunks(5) {
        create_interface(&ec2, &rules_subnet, chunk, "rules").await;
    }
    // Ten of a /28's eleven usable addresses: more than 90% used.
    for _ in 0..10 {
        create_interface(&ec2, &tiny_subnet, &[], "fills the tiny subnet").await;
    }
    let rules_default_group = default_group(&ec2, &rules_vpc).await;
    empty_group(&ec2, &rules_default_group).await;

    let return_blocked_acl = create_acl(
        &ec2,
        &rules_vpc,
        "return-blocked",
        &[
            (
                100,
                "6",
                RuleAction::Allow,
                false,
                "0.0.0.0/0",
                Some((443, 443)),
            ),
            (
                100,
                "6",
                RuleAction::Allow,
                true,
                "0.0.0.0/0",
                Some((443, 443)),
            ),
        ],
    )
    .await;
    associate_acl(&ec2, &return_blocked_acl, &rules_subnet).await;
    let spare_acl = create_acl(
        &ec2,
        &rules_vpc,
        "spare",
        &[
            (
                100,
                "6",
                RuleAction::Allow,
                false,
                "0.0.0.0/0",
                Some((22, 22)),
            ),
            (
                200,
                "6",
                RuleAction::Deny,
                false,
                "0.0.0.0/0",
                Some((0, 1023)),
            ),
        ],
    )
    .await;

    // The edge VPC: its main route table sends everything to an IGW.
    let edge_vpc = create_vpc(&ec2, "10.30.0.0/16", "edge", false).await;
    let edge_igw = ec2
        .create_internet_gateway()
        .tag_specifications(tags(ResourceType::InternetGateway, "edge-igw"))
        .send()
        .await
        .expect("create edge IGW")
        .internet_gateway
        .and_then(|igw| igw.internet_gateway_id)
        .expect("IGW id");
    ec2.attach_internet_gateway()
        .internet_gateway_id(&edge_igw)
        .vpc_id(&edge_vpc)
        .send()
        .await
        .expect("attach edge IGW");
    let edge_main_route_table = main_route_table(&ec2, &edge_vpc).await;
    ec2.create_route()
        .route_table_id(&edge_main_route_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&edge_igw)
        .send()
        .await
        .expect("main table default route");
    let edge_open_subnet = create_subnet(&ec2, &edge_vpc, "10.30.1.0/24", "edge-open").await;
    ec2.modify_subnet_attribute()
        .subnet_id(&edge_open_subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("map public IPs");
    let edge_guarded_subnet = create_subnet(&ec2, &edge_vpc, "10.30.2.0/24", "edge-guarded").await;
    let edge_guarded_acl = create_acl(
        &ec2,
        &edge_vpc,
        "edge-guarded",
        &[
            (
                100,
                "6",
                RuleAction::Allow,
                false,
                "0.0.0.0/0",
                Some((443, 443)),
            ),
            (
                110,
                "6",
                RuleAction::Allow,
                false,
                "::/0",
                Some((3389, 3389)),
            ),
            (
                100,
                "6",
                RuleAction::Allow,
                true,
                "0.0.0.0/0",
                Some((1024, 65535)),
            ),
        ],
    )
    .await;
    associate_acl(&ec2, &edge_guarded_acl, &edge_guarded_subnet).await;
    let bastion = create_group(&ec2, &edge_vpc, "bastion", "ssh jump host").await;
    ec2.authorize_security_group_ingress()
        .group_id(&bastion)
        .ip_permissions(tcp(22, ANYWHERE, &[]))
        .send()
        .await
        .expect("bastion ingress");
    let service_ports = [
        (20, 21),
        (23, 23),
        (88, 88),
        (389, 389),
        (445, 445),
        (1433, 1433),
        (1521, 1521),
        (3306, 3306),
        (5432, 5432),
        (6379, 6379),
        (9092, 9092),
        (9160, 9160),
        (9200, 9200),
        (11211, 11211),
        (27017, 27017),
    ];
    let services_group = create_group(&ec2, &edge_vpc, "services", "every service").await;
    ec2.authorize_security_group_ingress()
        .group_id(&services_group)
        .set_ip_permissions(Some(
            service_ports
                .iter()
                .map(|ports| permission("tcp", Some(*ports), ANYWHERE, &[]))
                .collect(),
        ))
        .send()
        .await
        .expect("services ingress");
    let bastion_instance = run_instance(
        &ec2,
        &image,
        &edge_open_subnet,
        &bastion,
        HttpTokensState::Required,
        "bastion-1",
    )
    .await;
    let services_instance = run_instance(
        &ec2,
        &image,
        &edge_open_subnet,
        &services_group,
        HttpTokensState::Required,
        "exposed-1",
    )
    .await;
    let guarded_instance = ec2
        .run_instances()
        .image_id(&image)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&edge_guarded_subnet)
                .groups(&bastion)
                .associate_public_ip_address(true)
                .build(),
        )
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(HttpTokensState::Required)
                .build(),
        )
        .tag_specifications(tags(ResourceType::Instance, "guarded-1"))
        .send()
        .await
        .expect("run guarded instance")
        .instances
        .unwrap_or_default()
        .into_iter()
        .find_map(|instance| instance.instance_id)
        .expect("instance id");
    let internal_instance = run_instance(
        &ec2,
        &image,
        &rules_subnet,
        &groups["mysql"],
        HttpTokensState::Required,
        "internal-1",
    )
    .await;
    groups.insert("bastion", bastion);
    groups.insert("services", services_group);

    // Staging: a private subnet with a public and a private NAT gateway,
    // and a main table routing all of 10/8 over the peering to prod.
    let staging_subnet =
        create_subnet(&ec2, &account.staging_vpc, "10.2.1.0/24", "staging-app").await;
    let staging_main_route_table = main_route_table(&ec2, &account.staging_vpc).await;
    ec2.create_route()
        .route_table_id(&staging_main_route_table)
        .destination_cidr_block("10.0.0.0/8")
        .vpc_peering_connection_id(&account.peering)
        .send()
        .await
        .expect("wide route to peer");
    let allocation = ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .expect("allocate EIP")
        .allocation_id
        .expect("allocation id");
    let nat = |connectivity: ConnectivityType, allocation: Option<String>, name: &'static str| {
        let (ec2, subnet) = (ec2.clone(), staging_subnet.clone());
        async move {
            ec2.create_nat_gateway()
                .subnet_id(subnet)
                .connectivity_type(connectivity)
                .set_allocation_id(allocation)
                .tag_specifications(tags(ResourceType::Natgateway, name))
                .send()
                .await
                .expect("create NAT gateway")
                .nat_gateway
                .and_then(|nat| nat.nat_gateway_id)
                .expect("NAT id")
        }
    };
    let staging_nat = nat(ConnectivityType::Public, Some(allocation), "staging-nat").await;
    let staging_private_nat = nat(ConnectivityType::Private, None, "staging-private-nat").await;

    let isolated_transit_gateway = ec2
        .create_transit_gateway()
        .description("isolated hub")
        .options(
            TransitGatewayRequestOptions::builder()
                .auto_accept_shared_attachments(AutoAcceptSharedAttachmentsValue::Disable)
                .build(),
        )
        .send()
        .await
        .expect("create TGW")
        .transit_gateway
        .and_then(|tgw| tgw.transit_gateway_id)
        .expect("TGW id");

    // Something still runs in the home region's default VPC.
    let default_subnet = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .filters(
            Filter::builder()
                .name("availability-zone")
                .values(format!("{HOME_REGION}a"))
                .build(),
        )
        .send()
        .await
        .expect("find default subnet")
        .subnets
        .unwrap_or_default()
        .into_iter()
        .find_map(|subnet| subnet.subnet_id)
        .expect("default subnet in the first zone");
    let legacy_interface = create_interface(&ec2, &default_subnet, &[], "legacy").await;

    // The second region: a VPC outside the private ranges.
    let ec2_second = super::ec2_client(endpoint, SECOND_REGION).await;
    let partner_vpc = create_vpc(&ec2_second, "198.51.100.0/24", "partner", false).await;

    seed_rule_users(endpoint).await;
    // GuardDuty in the second region: every protection plan but S3.
    use aws_sdk_guardduty::types as guardduty;
    let guardduty =
        aws_sdk_guardduty::Client::new(&super::seeding_config(endpoint, SECOND_REGION).await);
    let mut update = guardduty
        .update_detector()
        .detector_id(&services.second_detector);
    for feature in [
        guardduty::DetectorFeature::EbsMalwareProtection,
        guardduty::DetectorFeature::EksAuditLogs,
        guardduty::DetectorFeature::LambdaNetworkLogs,
        guardduty::DetectorFeature::RdsLoginEvents,
        guardduty::DetectorFeature::RuntimeMonitoring,
    ] {
        update = update.features(
            guardduty::DetectorFeatureConfiguration::builder()
                .name(feature)
                .status(guardduty::FeatureStatus::Enabled)
                .build(),
        );
    }
    update.send().await.expect("enable protection plans");

    // An internal network load balancer forwarding to an empty target
    // group: its listeners, targets and attributes are read, and it
    // exposes nothing.
    network_load_balancer(
        endpoint,
        NetworkLoadBalancer {
            name: "rules-internal-nlb",
            target_group: "rules-empty",
            internet_facing: false,
            subnet: &rules_subnet,
            vpc: &rules_vpc,
            port: 8443,
            targets: &[],
        },
    )
    .await;

    RuleCases {
        rules_vpc,
        rules_default_group,
        rules_subnet,
        tiny_subnet,
        return_blocked_acl,
        spare_acl,
        edge_vpc,
        edge_main_route_table,
        edge_open_subnet,
        edge_guarded_subnet,
        edge_guarded_acl,
        groups,
        partner_vpc,
        staging_subnet,
        staging_main_route_table,
        staging_nat,
        staging_private_nat,
        isolated_transit_gateway,
        legacy_interface,
        bastion_instance,
        services_instance,
        guarded_instance,
        internal_instance,
    }
}

/// `carol`: console with MFA and one access key, used right away. `dave`:
/// no console, two access keys of which one is deactivated.
async fn seed_rule_users(endpoint: &str) {
    let config = super::seeding_config(endpoint, HOME_REGION).await;
    let iam = aws_sdk_iam::Client::new(&config);
    for user in ["carol", "dave"] {
        iam.create_user()
            .user_name(user)
            .send()
            .await
            .expect("create user");
    }
    give_console_password(&iam, "carol").await;
    enable_virtual_mfa(&iam, "carol").await;
    let carol_key = create_access_key(&iam, "carol").await;
    // A call signed with the key: the emulator records its last use.
    let as_carol = super::seeding_config_as(
        endpoint,
        HOME_REGION,
        &carol_key.access_key_id,
        &carol_key.secret_access_key,
    )
    .await;
    aws_sdk_iam::Client::new(&as_carol)
        .get_user()
        .user_name("carol")
        .send()
        .await
        .expect("use carol's key");
    create_access_key(&iam, "dave").await;
    let retired = create_access_key(&iam, "dave").await;
    iam.update_access_key()
        .user_name("dave")
        .access_key_id(retired.access_key_id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .expect("deactivate dave's second key");
}

async fn give_console_password(iam: &aws_sdk_iam::Client, user: &str) {
    iam.create_login_profile()
        .user_name(user)
        .password("Correct-Horse-Battery-9")
        .send()
        .await
        .expect("create login profile");
}

/// A virtual MFA device named after the user, enabled for them; its serial.
pub async fn enable_virtual_mfa(iam: &aws_sdk_iam::Client, user: &str) -> String {
    let serial = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(user)
        .send()
        .await
        .expect("create virtual MFA")
        .virtual_mfa_device
        .expect("device")
        .serial_number;
    iam.enable_mfa_device()
        .user_name(user)
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .expect("enable MFA");
    serial
}

async fn create_access_key(iam: &aws_sdk_iam::Client, user: &str) -> aws_sdk_iam::types::AccessKey {
    iam.create_access_key()
        .user_name(user)
        .send()
        .await
        .expect("create access key")
        .access_key
        .expect("key")
}

async fn create_interface(ec2: &Client, subnet: &str, groups: &[&String], name: &str) -> String {
    ec2.create_network_interface()
        .subnet_id(subnet)
        .set_groups(Some(groups.iter().map(|g| (*g).clone()).collect()))
        .description(name)
        .send()
        .await
        .expect("create network interface")
        .network_interface
        .and_then(|eni| eni.network_interface_id)
        .expect("interface id")
}

async fn default_group(ec2: &Client, vpc: &str) -> String {
    ec2.describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .expect("find default group")
        .security_groups
        .unwrap_or_default()
        .into_iter()
        .find_map(|group| group.group_id)
        .expect("default group")
}

/// Revokes every inbound and outbound rule of a group.
async fn empty_group(ec2: &Client, group: &str) {
    let current = ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .expect("describe group")
        .security_groups
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("group");
    if let Some(ingress) = current.ip_permissions.filter(|p| !p.is_empty()) {
        ec2.revoke_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(ingress))
            .send()
            .await
            .expect("revoke ingress");
    }
    if let Some(egress) = current.ip_permissions_egress.filter(|p| !p.is_empty()) {
        ec2.revoke_security_group_egress()
            .group_id(group)
            .set_ip_permissions(Some(egress))
            .send()
            .await
            .expect("revoke egress");
    }
}

async fn main_route_table(ec2: &Client, vpc: &str) -> String {
    ec2.describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(
            Filter::builder()
                .name("association.main")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("find main route table")
        .route_tables
        .unwrap_or_default()
        .into_iter()
        .find_map(|table| table.route_table_id)
        .expect("main route table")
}

/// A network ACL entry: rule number, protocol, action, egress, CIDR (IPv6
/// when it has a colon), port range.
type AclEntry<'a> = (i32, &'a str, RuleAction, bool, &'a str, Option<(i32, i32)>);

/// A network ACL with these entries.
async fn create_acl(ec2: &Client, vpc: &str, name: &str, entries: &[AclEntry<'_>]) -> String {
    let acl = ec2
        .create_network_acl()
        .vpc_id(vpc)
        .tag_specifications(tags(ResourceType::NetworkAcl, name))
        .send()
        .await
        .expect("create NACL")
        .network_acl
        .and_then(|acl| acl.network_acl_id)
        .expect("NACL id");
    for (rule_number, protocol, action, egress, cidr, ports) in entries {
        let (v4, v6) = if cidr.contains(':') {
            (None, Some((*cidr).to_owned()))
        } else {
            (Some((*cidr).to_owned()), None)
        };
        ec2.create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(*rule_number)
            .protocol(*protocol)
            .rule_action(action.clone())
            .egress(*egress)
            .set_cidr_block(v4)
            .set_ipv6_cidr_block(v6)
            .set_port_range(ports.map(|(from, to)| PortRange::builder().from(from).to(to).build()))
            .send()
            .await
            .expect("create NACL entry");
    }
    acl
}

/// Moves a subnet from whatever ACL it has to `acl`.
async fn associate_acl(ec2: &Client, acl: &str, subnet: &str) {
    let association = ec2
        .describe_network_acls()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(subnet)
                .build(),
        )
        .send()
        .await
        .expect("find subnet's NACL")
        .network_acls
        .unwrap_or_default()
        .into_iter()
        .flat_map(|acl| acl.associations.unwrap_or_default())
        .find(|a| a.subnet_id.as_deref() == Some(subnet))
        .and_then(|a| a.network_acl_association_id)
        .expect("subnet's NACL association");
    ec2.replace_network_acl_association()
        .association_id(association)
        .network_acl_id(acl)
        .send()
        .await
        .expect("associate NACL");
}

/// A bare account whose password policy is the complement of
/// [`seed_account_services`]'s: 14 characters, lower case, no reuse for 24
/// generations, but no symbols, numbers or upper case, and no expiry.
/// Nothing else: no IAM users, budgets, GuardDuty or default encryption.
pub async fn seed_complementary_password_policy(endpoint: &str) {
    let config = super::seeding_config(endpoint, HOME_REGION).await;
    aws_sdk_iam::Client::new(&config)
        .update_account_password_policy()
        .minimum_password_length(14)
        .require_lowercase_characters(true)
        .require_uppercase_characters(false)
        .require_symbols(false)
        .require_numbers(false)
        .password_reuse_prevention(24)
        .send()
        .await
        .expect("password policy");
}

/// A bare account with IAM Identity Center but no administrator: only a
/// read-only permission set is assigned. A budget notifies a subscriber,
/// EBS encrypts by default, and the GuardDuty detector is suspended. No
/// IAM users and no password policy.
pub async fn seed_identity_center_without_admin(endpoint: &str) {
    use aws_sdk_budgets::types as budgets;
    use aws_sdk_ssoadmin::types as sso;

    let config = super::seeding_config(endpoint, HOME_REGION).await;
    let sso = aws_sdk_ssoadmin::Client::new(&config);
    let instance = sso_instance(&sso).await;
    let readonly = create_permission_set(
        &sso,
        &instance,
        "ReadOnly",
        "read-only for auditors",
        "PT1H",
    )
    .await;
    attach_managed_policy(
        &sso,
        &instance,
        &readonly,
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    )
    .await;
    assign_to_account(
        &sso,
        &instance,
        &readonly,
        sso::PrincipalType::Group,
        "a4e8f4d8-7071-70b5-4b45-1a2b3c4d5e6f",
    )
    .await;

    create_notifying_budget(&config, "50", budgets::NotificationType::Forecasted, 100.0).await;

    super::ec2_client(endpoint, HOME_REGION)
        .await
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .expect("enable EBS default encryption");
    aws_sdk_guardduty::Client::new(&config)
        .create_detector()
        .enable(false)
        .send()
        .await
        .expect("create suspended detector");
}

/// The emulator's IAM Identity Center instance (moto has one per region).
async fn sso_instance(sso: &aws_sdk_ssoadmin::Client) -> String {
    sso.list_instances()
        .send()
        .await
        .expect("list SSO instances")
        .instances
        .unwrap_or_default()
        .into_iter()
        .find_map(|i| i.instance_arn)
        .expect("moto has an Identity Center instance per region")
}

async fn create_permission_set(
    sso: &aws_sdk_ssoadmin::Client,
    instance: &str,
    name: &str,
    description: &str,
    session_duration: &str,
) -> String {
    sso.create_permission_set()
        .instance_arn(instance)
        .name(name)
        .description(description)
        .session_duration(session_duration)
        .send()
        .await
        .expect("create permission set")
        .permission_set
        .and_then(|p| p.permission_set_arn)
        .expect("permission set ARN")
}

async fn attach_managed_policy(
    sso: &aws_sdk_ssoadmin::Client,
    instance: &str,
    permission_set: &str,
    policy_arn: &str,
) {
    sso.attach_managed_policy_to_permission_set()
        .instance_arn(instance)
        .permission_set_arn(permission_set)
        .managed_policy_arn(policy_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("attach {policy_arn}: {e}"));
}

/// Assigns a permission set to a principal in the seeded account.
async fn assign_to_account(
    sso: &aws_sdk_ssoadmin::Client,
    instance: &str,
    permission_set: &str,
    principal_type: aws_sdk_ssoadmin::types::PrincipalType,
    principal_id: &str,
) {
    sso.create_account_assignment()
        .instance_arn(instance)
        .target_id("123456789012")
        .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
        .permission_set_arn(permission_set)
        .principal_type(principal_type)
        .principal_id(principal_id)
        .send()
        .await
        .expect("assign permission set");
}

/// A monthly cost budget of `amount` USD that emails finance when the
/// `kind` spend passes `threshold` percent.
async fn create_notifying_budget(
    config: &aws_config::SdkConfig,
    amount: &str,
    kind: aws_sdk_budgets::types::NotificationType,
    threshold: f64,
) {
    use aws_sdk_budgets::types as budgets;
    aws_sdk_budgets::Client::new(config)
        .create_budget()
        .account_id("123456789012")
        .budget(
            budgets::Budget::builder()
                .budget_name("monthly-cost")
                .budget_type(budgets::BudgetType::Cost)
                .time_unit(budgets::TimeUnit::Monthly)
                .budget_limit(
                    budgets::Spend::builder()
                        .amount(amount)
                        .unit("USD")
                        .build()
                        .expect("spend"),
                )
                .build()
                .expect("budget"),
        )
        .notifications_with_subscribers(
            budgets::NotificationWithSubscribers::builder()
                .notification(
                    budgets::Notification::builder()
                        .notification_type(kind)
                        .comparison_operator(budgets::ComparisonOperator::GreaterThan)
                        .threshold(threshold)
                        .threshold_type(budgets::ThresholdType::Percentage)
                        .build()
                        .expect("notification"),
                )
                .subscribers(
                    budgets::Subscriber::builder()
                        .subscription_type(budgets::SubscriptionType::Email)
                        .address("finance@example.com")
                        .build()
                        .expect("subscriber"),
                )
                .build()
                .expect("notification with subscribers"),
        )
        .send()
        .await
        .expect("create budget");
}

/// A network load balancer with one TCP listener forwarding to an instance
/// target group on the same port.
pub struct NetworkLoadBalancer<'a> {
    pub name: &'a str,
    pub target_group: &'a str,
    pub internet_facing: bool,
    pub subnet: &'a str,
    pub vpc: &'a str,
    pub port: i32,
    /// Instance ids registered in the target group.
    pub targets: &'a [&'a str],
}

pub async fn network_load_balancer(endpoint: &str, lb: NetworkLoadBalancer<'_>) {
    use aws_sdk_elasticloadbalancingv2::types as v2;
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(
        &super::seeding_config(endpoint, HOME_REGION).await,
    );
    let balancer = elbv2
        .create_load_balancer()
        .name(lb.name)
        .subnets(lb.subnet)
        .scheme(if lb.internet_facing {
            v2::LoadBalancerSchemeEnum::InternetFacing
        } else {
            v2::LoadBalancerSchemeEnum::Internal
        })
        .r#type(v2::LoadBalancerTypeEnum::Network)
        .send()
        .await
        .expect("network load balancer")
        .load_balancers()[0]
        .load_balancer_arn()
        .expect("load balancer arn")
        .to_owned();
    let target_group = elbv2
        .create_target_group()
        .name(lb.target_group)
        .protocol(v2::ProtocolEnum::Tcp)
        .port(lb.port)
        .vpc_id(lb.vpc)
        .target_type(v2::TargetTypeEnum::Instance)
        .send()
        .await
        .expect("target group")
        .target_groups()[0]
        .target_group_arn()
        .expect("target group arn")
        .to_owned();
    if !lb.targets.is_empty() {
        elbv2
            .register_targets()
            .target_group_arn(&target_group)
            .set_targets(Some(
                lb.targets
                    .iter()
                    .map(|id| v2::TargetDescription::builder().id(*id).build())
                    .collect(),
            ))
            .send()
            .await
            .expect("register targets");
    }
    elbv2
        .create_listener()
        .load_balancer_arn(&balancer)
        .protocol(v2::ProtocolEnum::Tcp)
        .port(lb.port)
        .default_actions(
            v2::Action::builder()
                .r#type(v2::ActionTypeEnum::Forward)
                .target_group_arn(&target_group)
                .build(),
        )
        .send()
        .await
        .expect("listener");
}

#[expect(
    clippy::disallowed_methods,
    reason = "the emulator's collection stamps the wall clock"
)]
fn timestamp(days_ago: i64) -> String {
    (Utc::now() - Duration::days(days_ago)).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The emulator's credential report with the `<root_account>` row it
/// lacks: MFA, the access keys' state, when the password and the first
/// key were last used (days ago; `None`: never).
pub async fn credential_report(
    endpoint: &str,
    mfa: bool,
    key: Option<i64>,
    password_used: Option<i64>,
) -> String {
    let config = super::seeding_config(endpoint, HOME_REGION).await;
    let iam = aws_sdk_iam::Client::new(&config);
    iam.generate_credential_report()
        .send()
        .await
        .expect("generate report");
    let content = iam
        .get_credential_report()
        .send()
        .await
        .expect("get report")
        .content
        .expect("report content");
    let report = String::from_utf8(content.into_inner()).expect("report is text");
    let (header, users) = report.split_once('\n').expect("report header");
    let password = password_used.map_or("no_information".to_owned(), timestamp);
    let key = match key {
        Some(days) => format!("true,{},{},us-east-1,s3", timestamp(2000), timestamp(days)),
        None => "false,N/A,N/A,N/A,N/A".to_owned(),
    };
    let root = format!(
        "<root_account>,arn:aws:iam::{ACCOUNT_ID}:root,{},not_supported,{password},not_supported,not_supported,{mfa},{key},false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        timestamp(2500),
    );
    format!("{header}\n{root}\n{users}")
}

/// `count` users named `user-0000`…, in a repeating mix: every second one
/// has a console password, every fourth a virtual MFA device, every third
/// an access key and every tenth another one. Their names, in order.
pub async fn seed_many_users(endpoint: &str, count: usize) -> Vec<String> {
    use futures::StreamExt;
    let config = super::seeding_config(endpoint, HOME_REGION).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let names: Vec<String> = (0..count).map(|n| format!("user-{n:04}")).collect();
    futures::stream::iter(names.iter().enumerate())
        .for_each_concurrent(16, |(n, name)| {
            let iam = &iam;
            async move {
                iam.create_user()
                    .user_name(name)
                    .send()
                    .await
                    .expect("create user");
                if n % 2 == 0 {
                    give_console_password(iam, name).await;
                }
                if n % 4 == 0 {
                    enable_virtual_mfa(iam, name).await;
                }
                if n % 3 == 0 {
                    create_access_key(iam, name).await;
                }
                if n % 10 == 0 {
                    create_access_key(iam, name).await;
                }
            }
        })
        .await;
    names
}
