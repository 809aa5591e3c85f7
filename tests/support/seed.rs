//! Seeds a small, realistic account into the emulator through the SDK: a
//! production VPC with public and private tiers, a staging VPC peered to it,
//! and an analytics VPC in a second region. Every resource kind the EC2
//! collector reads appears at least once, with the rule and entry shapes
//! the checks care about (IPv4, IPv6, group and prefix-list sources, NACL
//! deny-before-allow, ICMP).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::*;

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
        iam.create_login_profile()
            .user_name(user)
            .password("Correct-Horse-Battery-9")
            .send()
            .await
            .expect("create login profile");
    }
    let alice_mfa_serial = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice")
        .send()
        .await
        .expect("create virtual MFA")
        .virtual_mfa_device
        .expect("device")
        .serial_number;
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(&alice_mfa_serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .expect("enable MFA");
    let key = |user: &'static str| {
        let iam = iam.clone();
        async move {
            iam.create_access_key()
                .user_name(user)
                .send()
                .await
                .expect("create access key")
                .access_key
                .expect("key")
                .access_key_id
        }
    };
    let alice_key = key("alice").await;
    let bob_keys = vec![key("bob").await, key("bob").await];
    let ci_bot_key = key("ci-bot").await;
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
    let instance = sso
        .list_instances()
        .send()
        .await
        .expect("list SSO instances")
        .instances
        .unwrap_or_default()
        .into_iter()
        .find_map(|i| i.instance_arn)
        .expect("moto has an Identity Center instance per region");
    let permission_set = |name: &'static str| {
        let (sso, instance) = (sso.clone(), instance.clone());
        async move {
            sso.create_permission_set()
                .instance_arn(&instance)
                .name(name)
                .description(format!("{name} for the platform team"))
                .session_duration("PT4H")
                .send()
                .await
                .expect("create permission set")
                .permission_set
                .and_then(|p| p.permission_set_arn)
                .expect("permission set ARN")
        }
    };
    let admin_permission_set = permission_set("AdministratorAccess").await;
    let readonly_permission_set = permission_set("ReadOnly").await;
    sso.attach_managed_policy_to_permission_set()
        .instance_arn(&instance)
        .permission_set_arn(&admin_permission_set)
        .managed_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .expect("attach AdministratorAccess");
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
    sso.create_account_assignment()
        .instance_arn(&instance)
        .target_id("123456789012")
        .target_type(sso::TargetType::AwsAccount)
        .permission_set_arn(&admin_permission_set)
        .principal_type(sso::PrincipalType::User)
        .principal_id(&admin_principal)
        .send()
        .await
        .expect("assign administrator");

    let budgets_client = aws_sdk_budgets::Client::new(&config);
    budgets_client
        .create_budget()
        .account_id("123456789012")
        .budget(
            budgets::Budget::builder()
                .budget_name("monthly-cost")
                .budget_type(budgets::BudgetType::Cost)
                .time_unit(budgets::TimeUnit::Monthly)
                .budget_limit(
                    budgets::Spend::builder()
                        .amount("200")
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
                        .notification_type(budgets::NotificationType::Actual)
                        .comparison_operator(budgets::ComparisonOperator::GreaterThan)
                        .threshold(80.0)
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
