//! A scan of seeded emulator accounts reports every built-in rule exactly:
//! for each rule, which resources fail; every other resource passes.
//!
//! The main account is the demo account ([`seed::seed_account`] and
//! [`seed::seed_account_services`]) plus [`seed::seed_rule_cases`], a
//! failing and a passing case for each rule. Rules on the account as a
//! whole have one resource per account, so two more bare accounts turn
//! their verdicts around. The replay front answers what no API can set or
//! the emulator cannot be: the root user's MFA, access keys and last use,
//! and an account without IAM Identity Center. Resources the emulator
//! creates by itself (default VPCs, subnets, groups, ACLs) are asked of the
//! emulator directly, never of rampart.
//!
//! Not seeded, because the emulator cannot express them (the rules' inline
//! tests cover them): an access key older than 90 days and credentials
//! unused for 45 days (every IAM timestamp is the time of the call), and a
//! blackhole route (every route the emulator reports is active).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aws_sdk_ec2::types::Filter;
use rampart::analyze::Analysis;
use rampart::engine::resources::ResourceType;
use rampart::engine::{Engine, Finding, Selection};
use rampart::snapshot::Snapshot;
use rampart::verdict::Severity;
use rampart::verdict::Status;
use serde_json::{Value, json};
use support::moto::MotoServer;
use support::rampart;
use support::replay::{Canned, Replay, ReplayServer, fixture_json};
use support::seed::{self, HOME_REGION, SECOND_REGION};

const ACCOUNT: &str = "123456789012";

/// Rules the emulator cannot make fail (see the module documentation).
const NEVER_FAILING_HERE: [&str; 3] = [
    "iam-user-access-key-older-than-90-days",
    "iam-user-credentials-unused",
    "vpc-route-table-blackhole-route",
];

/// The security group rules about one service's ports open to the internet.
const SERVICE_GROUP_RULES: [&str; 15] = [
    "ec2-security-group-ftp-open-to-internet",
    "ec2-security-group-telnet-open-to-internet",
    "ec2-security-group-kerberos-open-to-internet",
    "ec2-security-group-ldap-open-to-internet",
    "ec2-security-group-smb-open-to-internet",
    "ec2-security-group-sqlserver-open-to-internet",
    "ec2-security-group-oracle-open-to-internet",
    "ec2-security-group-mysql-open-to-internet",
    "ec2-security-group-postgresql-open-to-internet",
    "ec2-security-group-redis-open-to-internet",
    "ec2-security-group-kafka-open-to-internet",
    "ec2-security-group-cassandra-open-to-internet",
    "ec2-security-group-elasticsearch-kibana-open-to-internet",
    "ec2-security-group-memcached-open-to-internet",
    "ec2-security-group-mongodb-open-to-internet",
];

/// The instance rules about one service's ports reachable from the
/// internet (the administration ports have their own).
const SERVICE_INSTANCE_RULES: [&str; 15] = [
    "ec2-instance-ftp-reachable-from-internet",
    "ec2-instance-telnet-reachable-from-internet",
    "ec2-instance-kerberos-reachable-from-internet",
    "ec2-instance-ldap-reachable-from-internet",
    "ec2-instance-cifs-reachable-from-internet",
    "ec2-instance-sql-server-reachable-from-internet",
    "ec2-instance-oracle-reachable-from-internet",
    "ec2-instance-mysql-reachable-from-internet",
    "ec2-instance-postgresql-reachable-from-internet",
    "ec2-instance-redis-reachable-from-internet",
    "ec2-instance-kafka-reachable-from-internet",
    "ec2-instance-cassandra-reachable-from-internet",
    "ec2-instance-elasticsearch-kibana-reachable-from-internet",
    "ec2-instance-memcached-reachable-from-internet",
    "ec2-instance-mongodb-reachable-from-internet",
];

const SSH: &str = "ec2-security-group-ssh-open-to-internet";
const RDP: &str = "ec2-security-group-rdp-open-to-internet";
const ALL_PORTS: &str = "ec2-security-group-all-ports-open-to-internet";
const UNAUTHORIZED: &str = "ec2-security-group-unauthorized-port-open-to-internet";
const WIDE_RANGE: &str = "ec2-security-group-wide-port-range-open-beyond-vpc";
const WIDE_SOURCE: &str = "ec2-security-group-wide-public-ipv4-source";

/// What each seeded security group fails, by group name; every other
/// security group rule passes on it.
fn group_failures(name: &str) -> Vec<&'static str> {
    let every_port = || {
        let mut rules = vec![SSH, RDP, ALL_PORTS, UNAUTHORIZED, WIDE_RANGE];
        rules.extend(SERVICE_GROUP_RULES);
        rules
    };
    let service = |rule: &'static str| vec![rule, UNAUTHORIZED];
    match name {
        // All protocols from 0.0.0.0/0; all TCP ports from ::/0.
        "open-all" | "tcp-all-v6" => every_port(),
        "ssh-v6" => vec![SSH, UNAUTHORIZED],
        "ftp" => service("ec2-security-group-ftp-open-to-internet"),
        // 0.0.0.0/1 + 128.0.0.0/1 is the internet, and each half is a
        // wide public source.
        "telnet-halves" => vec![
            "ec2-security-group-telnet-open-to-internet",
            UNAUTHORIZED,
            WIDE_SOURCE,
        ],
        "smb" => service("ec2-security-group-smb-open-to-internet"),
        // Kerberos is checked over UDP too.
        "kerberos-udp" => service("ec2-security-group-kerberos-open-to-internet"),
        "ldaps-v6" => service("ec2-security-group-ldap-open-to-internet"),
        "mysql" => service("ec2-security-group-mysql-open-to-internet"),
        "postgresql" => service("ec2-security-group-postgresql-open-to-internet"),
        "oracle" => service("ec2-security-group-oracle-open-to-internet"),
        "sqlserver" => service("ec2-security-group-sqlserver-open-to-internet"),
        "mongodb-v6" => service("ec2-security-group-mongodb-open-to-internet"),
        "redis" => service("ec2-security-group-redis-open-to-internet"),
        "memcached" => service("ec2-security-group-memcached-open-to-internet"),
        "kibana" => service("ec2-security-group-elasticsearch-kibana-open-to-internet"),
        "kafka" => service("ec2-security-group-kafka-open-to-internet"),
        "cassandra" => service("ec2-security-group-cassandra-open-to-internet"),
        // 80 and 443 from anywhere are what a web server is for; the same
        // ports over UDP, from private ranges, or their neighbours do not
        // open the services (but anything else public is unauthorised).
        "https-public" | "private-sources" | "narrow-public" | "at-limit" => vec![],
        "udp-lookalikes" | "neighbours" => vec![UNAUTHORIZED],
        // Half of the internet is not the internet, but it is a wide source.
        "half-internet" | "wide-public-23" => vec![WIDE_SOURCE],
        "wide-range-partner" => vec![WIDE_RANGE],
        // 50 inbound sources plus the default outbound rule.
        "too-many" => vec!["ec2-security-group-too-many-rules"],
        "launch-wizard-1" => vec!["ec2-security-group-launch-wizard"],
        "orphan" => vec!["ec2-security-group-unused"],
        "bastion" => vec![SSH, UNAUTHORIZED],
        "services" => {
            let mut rules = SERVICE_GROUP_RULES.to_vec();
            rules.push(UNAUTHORIZED);
            rules
        }
        other => panic!("no expectation for security group {other}"),
    }
}

/// Ids of resources the emulator made by itself, and of every VPC,
/// in one region, asked of the emulator.
#[derive(Debug, Default)]
struct Implicit {
    vpcs: Vec<String>,
    default_vpcs: Vec<String>,
    default_subnets: Vec<String>,
    default_acls: Vec<String>,
    default_groups: Vec<String>,
}

async fn implicit(endpoint: &str, region: &str) -> Implicit {
    let ec2 = support::ec2_client(endpoint, region).await;
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    let vpcs = ec2
        .describe_vpcs()
        .send()
        .await
        .expect("describe VPCs")
        .vpcs
        .unwrap_or_default();
    Implicit {
        default_vpcs: vpcs
            .iter()
            .filter(|v| v.is_default == Some(true))
            .filter_map(|v| v.vpc_id.clone())
            .collect(),
        vpcs: vpcs.into_iter().filter_map(|v| v.vpc_id).collect(),
        default_subnets: ec2
            .describe_subnets()
            .filters(filter("default-for-az", "true"))
            .send()
            .await
            .expect("describe default subnets")
            .subnets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.subnet_id)
            .collect(),
        default_acls: ec2
            .describe_network_acls()
            .filters(filter("default", "true"))
            .send()
            .await
            .expect("describe default ACLs")
            .network_acls
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| a.network_acl_id)
            .collect(),
        default_groups: ec2
            .describe_security_groups()
            .filters(filter("group-name", "default"))
            .send()
            .await
            .expect("describe default groups")
            .security_groups
            .unwrap_or_default()
            .into_iter()
            .filter_map(|g| g.group_id)
            .collect(),
    }
}

/// IAM user ids by name, asked of the emulator.
async fn user_ids(endpoint: &str) -> BTreeMap<String, String> {
    let config = support::seeding_config(endpoint, HOME_REGION).await;
    aws_sdk_iam::Client::new(&config)
        .list_users()
        .send()
        .await
        .expect("list users")
        .users
        .into_iter()
        .map(|u| (u.user_name, u.user_id))
        .collect()
}

/// A time `days_ago` before the collection, which happens now.
/// Collects the regions through the replay front and evaluates every
/// built-in rule.
fn scan(front: &ReplayServer, regions: &[&str], dir: &Path) -> (Snapshot, Vec<Finding>) {
    let snapshot = support::collect(&front.endpoint, regions, &[], dir);
    assert_eq!(snapshot.collection_errors, [], "nothing failed to collect");
    let engine = Engine::load(None).expect("built-in rules load");
    let rules = engine.select(&Selection::default()).expect("all rules");
    let findings = engine.evaluate(&snapshot, &Analysis::of(&snapshot), &rules);
    let undecided: Vec<_> = findings
        .iter()
        .filter(|f| !matches!(f.status, Status::Pass | Status::Fail))
        .map(|f| (&f.rule_id, &f.resource.id, &f.message))
        .collect();
    assert_eq!(undecided, [], "no errors, nothing unevaluated");
    (snapshot, findings)
}

fn failing(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| (f.rule_id.clone(), f.resource.id.clone()))
        .collect()
}

/// The (rule, failing resource) pairs a scan must report, no more, no less.
#[derive(Default)]
struct Expected(BTreeSet<(String, String)>);

impl Expected {
    fn fail<I, S>(&mut self, rule: &str, ids: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for id in ids {
            self.0.insert((rule.to_owned(), id.as_ref().to_owned()));
        }
    }

    /// Asserts the failing pairs are exactly these, naming what is missing
    /// and what is extra.
    fn check(&self, scenario: &str, actual: &BTreeSet<(String, String)>) {
        let missing: Vec<_> = self.0.difference(actual).collect();
        let extra: Vec<_> = actual.difference(&self.0).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{scenario}: expected to fail but did not: {missing:#?}\nfailed but not expected: {extra:#?}"
        );
    }
}

/// The verdicts on the account and on each region.
fn account_and_region(findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| {
            matches!(
                f.resource.resource_type,
                ResourceType::Account | ResourceType::Region
            )
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_reports_the_built_in_rules_exactly() {
    // The three accounts are independent: each has its own emulator.
    let main = tokio::spawn(main_account());
    let protected_root = tokio::spawn(protected_root_account());
    let identity_center = tokio::spawn(identity_center_without_admin_account());
    let joined = |result: Result<Vec<Finding>, tokio::task::JoinError>| {
        result.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    };
    let (main, protected_root, identity_center) = (
        joined(main.await),
        joined(protected_root.await),
        joined(identity_center.await),
    );

    // Every rule fails somewhere and passes somewhere, except those the
    // emulator cannot make fail.
    let engine = Engine::load(None).expect("built-in rules load");
    let all = [main, protected_root, identity_center].concat();
    let mut verdicts: BTreeMap<&str, BTreeSet<Status>> = BTreeMap::new();
    for finding in &all {
        verdicts
            .entry(finding.rule_id.as_str())
            .or_default()
            .insert(finding.status);
    }
    for rule in engine.rules() {
        let seen = verdicts.get(rule.id.as_str()).cloned().unwrap_or_default();
        let wanted: BTreeSet<Status> = if NEVER_FAILING_HERE.contains(&rule.id.as_str()) {
            [Status::Pass].into()
        } else {
            [Status::Fail, Status::Pass].into()
        };
        assert_eq!(seen, wanted, "{}", rule.id);
    }
}

/// The demo account and a case of each rule: every resource-level rule
/// fails exactly where expected.
async fn main_account() -> Vec<Finding> {
    let moto = tokio::task::block_in_place(MotoServer::start);
    let seeded = seed::seed_account(&moto.endpoint).await;
    let services = seed::seed_account_services(&moto.endpoint).await;
    // The credential report is taken before the rule cases' users (carol,
    // dave) exist, as if they were created since: they are read with
    // their own calls, the demo's users from the report. The root user
    // signed in yesterday.
    let credential_report = seed::credential_report(&moto.endpoint, false, None, Some(1)).await;
    let cases = seed::seed_rule_cases(&moto.endpoint, &seeded, &services).await;
    // One GuardDuty finding was archived while it was being listed.
    let mut findings = fixture_json("guardduty/findings.json")["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let active: Vec<String> = findings
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect();
    let mut archived = findings.last().cloned().expect("a finding");
    archived["id"] = json!("a7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5");
    archived["arn"] = json!(format!(
        "arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/{}/finding/a7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5",
        services.home_detector
    ));
    archived["service"]["archived"] = Value::Bool(true);
    findings.push(archived);
    let replay = Replay {
        findings,
        credential_report: Some(credential_report),
        ..Replay::standard()
    };
    let front = ReplayServer::start(&moto.endpoint, replay);
    let dir = tempfile::tempdir().expect("temp dir");
    let (snapshot, findings) =
        tokio::task::block_in_place(|| scan(&front, &[HOME_REGION, SECOND_REGION], dir.path()));

    let home = implicit(&moto.endpoint, HOME_REGION).await;
    let second = implicit(&moto.endpoint, SECOND_REGION).await;
    let both = |pick: fn(&Implicit) -> &Vec<String>| -> Vec<String> {
        pick(&home).iter().chain(pick(&second)).cloned().collect()
    };
    assert_eq!(home.default_vpcs.len(), 1);
    assert_eq!(second.default_vpcs.len(), 1);
    let users = user_ids(&moto.endpoint).await;

    let mut expected = Expected::default();

    // Security groups.
    for (name, id) in &cases.groups {
        for rule in group_failures(name) {
            expected.fail(rule, [id]);
        }
    }
    expected.fail(SSH, [&seeded.web_group]);
    expected.fail(UNAUTHORIZED, [&seeded.web_group]);
    // 3389 from 0.0.0.0/1 + 128.0.0.0/1: the whole internet in two halves;
    // everything from the office VPN, beyond the VPC; attached to nothing.
    for rule in [RDP, UNAUTHORIZED, WIDE_RANGE, WIDE_SOURCE] {
        expected.fail(rule, [&seeded.rdp_group]);
    }
    expected.fail("ec2-security-group-unused", [&seeded.rdp_group]);
    let defaults = both(|i| &i.default_groups);
    assert_eq!(
        defaults.len(),
        8,
        "five VPCs in one region, three in the other"
    );
    expected.fail(
        "ec2-security-group-default-restricts-all-traffic",
        defaults.iter().filter(|g| **g != cases.rules_default_group),
    );

    // Network ACLs. Every default ACL allows everything; prod's public ACL
    // denies SSH (rule 90) before allowing all (100) and returns only TCP;
    // the guarded edge ACL admits RDP over IPv6; the spare one allows SSH
    // (100) before denying 0-1023 (200).
    let default_acls = both(|i| &i.default_acls);
    assert_eq!(default_acls.len(), 8);
    let all_ports = "ec2-network-acl-all-ports-open-to-internet";
    expected.fail(all_ports, &default_acls);
    expected.fail(all_ports, [&seeded.public_acl]);
    let acl_ssh = "ec2-network-acl-ssh-open-to-internet";
    expected.fail(acl_ssh, &default_acls);
    expected.fail(acl_ssh, [&cases.spare_acl]);
    let acl_rdp = "ec2-network-acl-rdp-open-to-internet";
    expected.fail(acl_rdp, &default_acls);
    expected.fail(acl_rdp, [&seeded.public_acl, &cases.edge_guarded_acl]);
    expected.fail("ec2-network-acl-unused", [&cases.spare_acl]);
    // The edge ACL admits RDP from ::/0 but lets replies out over IPv4
    // only.
    expected.fail(
        "ec2-network-acl-blocks-return-traffic",
        [
            &cases.return_blocked_acl,
            &seeded.public_acl,
            &cases.edge_guarded_acl,
        ],
    );

    // VPCs, subnets, routes and gateways.
    let vpcs = both(|i| &i.vpcs);
    assert_eq!(vpcs.len(), 8);
    expected.fail(
        "vpc-flow-logs-disabled",
        vpcs.iter().filter(|v| **v != seeded.prod_vpc),
    );
    expected.fail("vpc-default-exists", both(|i| &i.default_vpcs));
    expected.fail("vpc-default-in-use", &home.default_vpcs);
    expected.fail("vpc-cidr-not-private", [&cases.partner_vpc]);
    expected.fail(
        "vpc-cidr-overlaps-other-vpc",
        [&seeded.prod_vpc, &seeded.analytics_vpc],
    );
    expected.fail(
        "vpc-subnet-auto-assigns-public-ip",
        both(|i| &i.default_subnets),
    );
    expected.fail(
        "vpc-subnet-auto-assigns-public-ip",
        [&seeded.public_subnet, &cases.edge_open_subnet],
    );
    expected.fail("vpc-subnet-nearly-full", [&cases.tiny_subnet]);
    expected.fail(
        "vpc-route-table-main-routes-to-internet-gateway",
        [&cases.edge_main_route_table],
    );
    expected.fail(
        "vpc-route-table-peering-route-wider-than-peer",
        [&cases.staging_main_route_table],
    );
    expected.fail("vpc-nat-gateway-in-private-subnet", [&cases.staging_nat]);
    expected.fail(
        "ec2-transit-gateway-auto-accepts-shared-attachments",
        [&seeded.transit_gateway],
    );

    // Instances: the bastion is reachable on SSH, the exposed one on a port
    // of every service family; web-1 is open on SSH but its ACL denies it
    // (443 is reachable); guarded-1's ACL admits only 443 and internal-1
    // has no public address or route.
    expected.fail(
        "ec2-instance-admin-port-reachable-from-internet",
        [&cases.bastion_instance],
    );
    for rule in SERVICE_INSTANCE_RULES {
        expected.fail(rule, [&cases.services_instance]);
    }
    expected.fail(
        "ec2-instance-open-but-not-reachable",
        [&cases.guarded_instance, &cases.internal_instance],
    );
    expected.fail(
        "ec2-instance-public-ip",
        [
            &seeded.web_instance,
            &cases.bastion_instance,
            &cases.services_instance,
            &cases.guarded_instance,
        ],
    );
    expected.fail("ec2-instance-imdsv2-not-required", [&seeded.web_instance]);

    // Regions: EBS encryption and IMDSv2 are defaults only at home.
    expected.fail(
        "ec2-region-ebs-default-encryption-disabled",
        [SECOND_REGION],
    );
    expected.fail("ec2-region-imdsv2-default-not-required", [SECOND_REGION]);

    // GuardDuty: S3 protection only at home, every other plan only in the
    // second region; the findings are all at home.
    for rule in [
        "guardduty-detector-ec2-malware-protection-disabled",
        "guardduty-detector-eks-audit-log-monitoring-disabled",
        "guardduty-detector-lambda-protection-disabled",
        "guardduty-detector-rds-protection-disabled",
        "guardduty-detector-runtime-monitoring-disabled",
        "guardduty-detector-high-severity-findings",
    ] {
        expected.fail(rule, [&services.home_detector]);
    }
    expected.fail(
        "guardduty-detector-s3-protection-disabled",
        [&services.second_detector],
    );
    expected.fail("guardduty-finding-active", &active);

    // IAM users: bob has console access without MFA and two active keys;
    // alice's and bob's keys were made with the user and never used.
    // carol used hers; dave and ci-bot have no console.
    expected.fail("iam-user-console-without-mfa", [&users["bob"]]);
    expected.fail("iam-user-two-active-access-keys", [&users["bob"]]);
    expected.fail(
        "iam-user-access-key-created-at-setup-never-used",
        [&users["alice"], &users["bob"]],
    );

    // The account: root without MFA (so not behind hardware MFA either)
    // and signed in yesterday; a password policy short of CIS on length,
    // lower case and reuse; IAM users beside Identity Center.
    for rule in [
        "iam-root-mfa-not-enabled",
        "iam-root-mfa-not-hardware",
        "iam-root-recently-used",
        "iam-password-policy-minimum-length-too-short",
        "iam-password-policy-lowercase-not-required",
        "iam-password-policy-reuse-prevention-too-low",
        "iam-users-present-with-identity-center",
    ] {
        expected.fail(rule, [ACCOUNT]);
    }

    expected.check("main account", &failing(&findings));

    // Every rule ran once on every resource of its type.
    let engine = Engine::load(None).expect("built-in rules load");
    let evaluations: usize = engine
        .rules()
        .iter()
        .map(|rule| resources_of(&snapshot, rule.resource))
        .sum();
    assert_eq!(findings.len(), evaluations);
    let finding = |rule: &str, id: &str| {
        findings
            .iter()
            .position(|f| f.rule_id == rule && f.resource.id == id)
            .unwrap_or_else(|| panic!("{rule} checked {id}"))
    };
    let rdp = &findings[finding(SSH, &seeded.rdp_group)];
    assert_eq!(
        rdp.status,
        Status::Pass,
        "3389 from the internet is not SSH"
    );
    let web = &findings[finding(SSH, &seeded.web_group)];
    assert_eq!(
        web.message.as_deref(),
        Some(
            format!(
                "Security group {} (web) allows TCP 22 from 0.0.0.0/0",
                seeded.web_group
            )
            .as_str()
        )
    );
    assert_eq!(
        web.resource.arn,
        format!(
            "arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{}",
            seeded.web_group
        )
    );
    assert_eq!(web.fingerprint.len(), 64);

    // Most severe first: an instance reachable from the internet ranks
    // above every group that is merely open to it, its own included.
    let reachable = finding(
        "ec2-instance-admin-port-reachable-from-internet",
        &cases.bastion_instance,
    );
    let open = finding(SSH, &cases.groups["bastion"]);
    assert_eq!(findings[reachable].severity, Severity::Critical);
    assert_eq!(findings[open].severity, Severity::High);
    let failed_at = |pick: &dyn Fn(&Finding) -> bool| -> Vec<usize> {
        (0..findings.len())
            .filter(|i| findings[*i].status == Status::Fail && pick(&findings[*i]))
            .collect()
    };
    let instances_reachable = failed_at(&|f| {
        f.rule_id.starts_with("ec2-instance-") && f.rule_id.ends_with("-reachable-from-internet")
    });
    let groups_open = failed_at(&|f| {
        f.resource.resource_type == ResourceType::SecurityGroup
            && f.rule_id.ends_with("-open-to-internet")
            && f.severity < Severity::Critical
    });
    assert_eq!(instances_reachable.len(), 16);
    assert!(groups_open.len() > 40);
    assert!(
        instances_reachable.iter().max() < groups_open.iter().min(),
        "reachable instances at {instances_reachable:?}, open groups from {:?}",
        groups_open.iter().min()
    );

    // The same through `rampart scan`: the failing rows in that order,
    // then the counts.
    let scanned = tokio::task::block_in_place(|| {
        rampart(dir.path())
            .args(["scan", "--endpoint-url", &front.endpoint])
            .args(["--region", HOME_REGION, "--region", SECOND_REGION])
            .args(["--fail-on", "never"])
            .output()
            .expect("run rampart scan")
    });
    assert!(scanned.status.success(), "{}", support::stderr(&scanned));
    let stdout = support::stdout(&scanned);
    let fail_rows: Vec<&str> = stdout
        .split("\nFailing\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("│ ") && !l.starts_with("│ Severity"))
        .collect();
    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    assert_eq!(fail_rows.len(), failed, "{stdout}");
    let row = |rule: &str, id: &str| {
        fail_rows
            .iter()
            .position(|l| l.contains(rule) && l.contains(id))
            .unwrap_or_else(|| panic!("a FAIL row for {rule} on {id}:\n{stdout}"))
    };
    assert!(
        row(
            "ec2-instance-admin-port-reachable-from-internet",
            &cases.bastion_instance
        ) < row(SSH, &cases.groups["bastion"])
    );
    assert!(
        stdout.ends_with(&format!(
            "{} check(s): {failed} failed, {} passed, 0 not evaluated, 0 error(s), 0 suppressed\n",
            findings.len(),
            findings.len() - failed
        )),
        "{stdout}"
    );

    // The scheduled CI job: JSON and SARIF, failing on high, against the
    // previous run's report. Nothing is new, but high findings remain.
    let ci_scan = |args: &[String]| {
        tokio::task::block_in_place(|| {
            rampart(dir.path())
                .args(["scan", "--endpoint-url", &front.endpoint])
                .args(["--region", HOME_REGION, "--region", SECOND_REGION])
                .args(args)
                .output()
                .expect("run rampart scan")
        })
    };
    let path = |name: &str| dir.path().join(name).display().to_string();
    let first = ci_scan(&[
        "--fail-on".to_owned(),
        "never".to_owned(),
        "--output".to_owned(),
        format!("json={}", path("last.json")),
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", support::stderr(&first));
    let job = ci_scan(&[
        "--output".to_owned(),
        format!("json={}", path("report.json")),
        "--output".to_owned(),
        format!("sarif={}", path("report.sarif")),
        "--fail-on".to_owned(),
        "high".to_owned(),
        "--baseline".to_owned(),
        path("last.json"),
    ]);
    let high = findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.severity >= Severity::High)
        .count();
    assert_eq!(job.status.code(), Some(1));
    assert_eq!(
        support::stderr(&job),
        format!("rampart: {high} failing finding(s) at or above high\n")
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(path("report.json")).expect("report"))
            .expect("JSON");
    assert_eq!(
        support::schema_errors("report-v4.schema.json", &report),
        Vec::<String>::new()
    );
    assert_eq!(report["summary"]["failed"], failed);
    // Every control's status, from the exact findings asserted above: the
    // seeded account fails most of what it can; root has no access key
    // and GuardDuty is on.
    let controls = |framework| support::control_statuses(&report, framework).join(", ");
    assert_eq!(
        controls("cis-aws-foundations-3.0"),
        "1.1 MANUAL, 1.2 OUT_OF_SCOPE, 1.3 MANUAL, 1.4 PASS, 1.5 FAIL, 1.6 FAIL, 1.7 FAIL, \
         1.8 FAIL, 1.9 FAIL, 1.10 FAIL, 1.11 FAIL, 1.12 PASS, 1.13 FAIL, 1.14 PASS, \
         1.21 MANUAL, 3.7 FAIL, 5.1 FAIL, 5.2 FAIL, 5.3 FAIL, 5.4 FAIL, 5.5 FAIL, 5.6 FAIL"
    );
    assert_eq!(
        controls("cis-aws-foundations-6.0"),
        "2.1 MANUAL, 2.2 OUT_OF_SCOPE, 2.3 PASS, 2.4 FAIL, 2.5 FAIL, 2.6 FAIL, 2.7 FAIL, \
         2.8 FAIL, 2.9 FAIL, 2.10 FAIL, 2.11 PASS, 2.12 FAIL, 2.13 PASS, 2.20 MANUAL, \
         4.7 FAIL, 6.1.2 FAIL, 6.2 FAIL, 6.3 FAIL, 6.4 FAIL, 6.5 FAIL, 6.6 FAIL, 6.7 FAIL"
    );
    assert_eq!(
        controls("aws-fsbp"),
        "Account.1 OUT_OF_SCOPE, EC2.2 FAIL, EC2.6 FAIL, EC2.7 FAIL, EC2.8 FAIL, EC2.9 FAIL, \
         EC2.10 OUT_OF_SCOPE, EC2.13 FAIL, EC2.14 FAIL, EC2.15 FAIL, EC2.16 FAIL, \
         EC2.18 FAIL, EC2.19 FAIL, EC2.20 OUT_OF_SCOPE, EC2.21 FAIL, EC2.22 FAIL, \
         EC2.23 FAIL, GuardDuty.1 PASS, GuardDuty.9 FAIL, GuardDuty.10 FAIL, IAM.3 PASS, \
         IAM.4 PASS, IAM.5 FAIL, IAM.6 FAIL, IAM.7 FAIL, IAM.8 PASS, IAM.9 FAIL, \
         IAM.10 FAIL, IAM.19 OUT_OF_SCOPE, IAM.22 PASS, IAM.26 OUT_OF_SCOPE"
    );
    assert_eq!(report["summary"]["new"], 0);
    assert_eq!(report["summary"]["resolved"], 0);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(path("report.sarif")).expect("sarif"))
            .expect("JSON");
    assert_eq!(
        support::schema_errors("sarif-schema-2.1.0.json", &sarif),
        Vec::<String>::new()
    );
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(failed)
    );

    // A collection of every enabled region (found with DescribeRegions)
    // makes exactly the calls the example IAM policy allows.
    let all_regions = dir.path().join("all-regions.json");
    let collected = tokio::task::block_in_place(|| {
        rampart(dir.path())
            .args(["collect", "--endpoint-url", &front.endpoint])
            .env("AWS_REGION", HOME_REGION)
            .arg("-o")
            .arg(&all_regions)
            .output()
            .expect("run rampart collect")
    });
    assert!(
        collected.status.success(),
        "{}",
        support::stderr(&collected)
    );
    let everywhere = Snapshot::read(&all_regions).expect("snapshot parses");
    assert!(everywhere.regions.len() > 2);
    assert_eq!(everywhere.collection_errors, []);
    assert_eq!(
        iam_actions(everywhere.api_calls.keys().chain(snapshot.api_calls.keys())),
        example_policy_actions()
    );

    // Every call a rule `requires`, and every listing a resource type
    // comes from, is an operation the collectors really make, named as the
    // SDK names it: a typo there would never match a failure.
    let made: BTreeSet<&str> = everywhere
        .api_calls
        .keys()
        .chain(snapshot.api_calls.keys())
        .map(String::as_str)
        .collect();
    let engine = Engine::load(None).expect("built-in rules load");
    for rule in engine.rules() {
        let listing = rule.resource.listings().iter().copied();
        for (service, operation) in rule
            .requires
            .iter()
            .map(|(s, o)| (s.as_str(), o.as_str()))
            .chain(listing)
        {
            let call = format!("{service}:{operation}");
            assert!(
                made.contains(call.as_str()),
                "{}: {call} is never made",
                rule.id
            );
        }
    }
    findings
}

/// The IAM action that authorises each call (`service:Operation` as the
/// snapshot counts them); GetCallerIdentity needs none.
fn iam_actions<'a>(calls: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    calls
        .filter(|call| *call != "sts:GetCallerIdentity")
        .map(|call| match call.split_once(':') {
            // Every Budgets read is authorised by one action.
            Some(("budgets", _)) => "budgets:ViewBudget".to_owned(),
            _ => call.clone(),
        })
        .collect()
}

fn example_policy_actions() -> BTreeSet<String> {
    let policy = support::replay::fixture_json("../examples/iam-policy.json");
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|statement| {
            assert_eq!(statement["Effect"], "Allow");
            assert_eq!(statement["Resource"], "*");
            statement["Action"].as_array().expect("actions").clone()
        })
        .map(|action| action.as_str().expect("an action").to_owned())
        .collect()
}

/// Root protected by a virtual MFA device but holding an access key, both
/// long unused; no Identity Center, no billing alerts, no GuardDuty; a
/// password policy failing what the main account's passes.
async fn protected_root_account() -> Vec<Finding> {
    let moto = tokio::task::block_in_place(MotoServer::start);
    seed::seed_complementary_password_policy(&moto.endpoint).await;
    let replay = Replay {
        credential_report: Some(
            seed::credential_report(&moto.endpoint, true, Some(200), Some(120)).await,
        ),
        cloudwatch_alarms: Some(json!({"MetricAlarms": []})),
        canned: vec![
            Canned::iam(
                "GetAccountSummary",
                "iam/get-account-summary-root-mfa-and-access-key.xml",
            ),
            Canned::iam(
                "ListVirtualMFADevices",
                "iam/list-virtual-mfa-devices-root.xml",
            ),
            Canned::sso("ListInstances", "ssoadmin/list-instances-none.json"),
        ],
        ..Replay::standard()
    };
    let front = ReplayServer::start(&moto.endpoint, replay);
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, findings) = tokio::task::block_in_place(|| scan(&front, &[HOME_REGION], dir.path()));
    let findings = account_and_region(&findings);
    let mut expected = Expected::default();
    for rule in [
        "billing-account-no-alarm-or-budget",
        "iam-identity-center-not-enabled",
        "iam-password-policy-symbols-not-required",
        "iam-password-policy-numbers-not-required",
        "iam-password-policy-uppercase-not-required",
        "iam-password-policy-max-age-too-long",
        "iam-root-access-keys-present",
        "iam-root-mfa-not-hardware",
    ] {
        expected.fail(rule, [ACCOUNT]);
    }
    expected.fail("ec2-region-ebs-default-encryption-disabled", [HOME_REGION]);
    expected.fail("guardduty-region-not-enabled", [HOME_REGION]);
    expected.check("protected root account", &failing(&findings));
    findings
}

/// Identity Center assigning only a read-only permission set; root behind
/// a hardware MFA device and never used; a budget that notifies; a
/// suspended GuardDuty detector; no password policy at all.
async fn identity_center_without_admin_account() -> Vec<Finding> {
    let moto = tokio::task::block_in_place(MotoServer::start);
    seed::seed_identity_center_without_admin(&moto.endpoint).await;
    let replay = Replay {
        credential_report: Some(seed::credential_report(&moto.endpoint, true, None, None).await),
        cloudwatch_alarms: Some(json!({"MetricAlarms": []})),
        imdsv2_default_regions: vec![],
        canned: vec![Canned::iam(
            "GetAccountSummary",
            "iam/get-account-summary-root-mfa.xml",
        )],
        ..Replay::standard()
    };
    let front = ReplayServer::start(&moto.endpoint, replay);
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, findings) = tokio::task::block_in_place(|| scan(&front, &[HOME_REGION], dir.path()));
    let findings = account_and_region(&findings);
    let mut expected = Expected::default();
    for rule in [
        "iam-identity-center-no-admin-assigned",
        "iam-password-policy-minimum-length-too-short",
        "iam-password-policy-lowercase-not-required",
        "iam-password-policy-uppercase-not-required",
        "iam-password-policy-numbers-not-required",
        "iam-password-policy-symbols-not-required",
        "iam-password-policy-reuse-prevention-too-low",
        "iam-password-policy-max-age-too-long",
    ] {
        expected.fail(rule, [ACCOUNT]);
    }
    expected.fail("ec2-region-imdsv2-default-not-required", [HOME_REGION]);
    expected.fail("guardduty-region-not-enabled", [HOME_REGION]);
    expected.check(
        "Identity Center without an administrator",
        &failing(&findings),
    );
    findings
}

/// How many resources of a type the snapshot holds.
fn resources_of(snapshot: &Snapshot, resource_type: ResourceType) -> usize {
    let regions = snapshot.regions.values();
    match resource_type {
        ResourceType::Account => 1,
        ResourceType::Region => snapshot.regions.len(),
        ResourceType::IamUser => snapshot.global.iam.users.len(),
        ResourceType::Vpc => regions.map(|r| r.ec2.vpcs.len()).sum(),
        ResourceType::Subnet => regions.map(|r| r.ec2.subnets.len()).sum(),
        ResourceType::RouteTable => regions.map(|r| r.ec2.route_tables.len()).sum(),
        ResourceType::InternetGateway => regions.map(|r| r.ec2.internet_gateways.len()).sum(),
        ResourceType::NatGateway => regions.map(|r| r.ec2.nat_gateways.len()).sum(),
        ResourceType::NetworkAcl => regions.map(|r| r.ec2.network_acls.len()).sum(),
        ResourceType::SecurityGroup => regions.map(|r| r.ec2.security_groups.len()).sum(),
        ResourceType::NetworkInterface => regions.map(|r| r.ec2.network_interfaces.len()).sum(),
        ResourceType::Instance => regions.map(|r| r.ec2.instances.len()).sum(),
        ResourceType::FlowLog => regions.map(|r| r.ec2.flow_logs.len()).sum(),
        ResourceType::TransitGateway => regions.map(|r| r.ec2.transit_gateways.len()).sum(),
        ResourceType::VpcPeeringConnection => {
            regions.map(|r| r.ec2.vpc_peering_connections.len()).sum()
        }
        ResourceType::GuarddutyDetector => regions.map(|r| r.guardduty.detectors.len()).sum(),
        ResourceType::GuarddutyFinding => regions
            .flat_map(|r| &r.guardduty.detectors)
            .map(|d| d.findings.len())
            .sum(),
    }
}
