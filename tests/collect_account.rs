//! Account-level collection against moto, with the replay front answering
//! what moto cannot (GuardDuty findings, the credential report's root row,
//! CloudWatch over CBOR, budget subscribers): IAM root and users, the
//! password policy, Identity Center, billing alarms, budgets, GuardDuty.

mod support;

use std::collections::BTreeMap;

use rampart::analyze::Analysis;
use rampart::analyze::iam::{MfaType, RootFacts};
use rampart::snapshot::guardduty::SeverityLabel;
use rampart::snapshot::iam::*;
use rampart::snapshot::ssoadmin::InlinePolicy;
use rampart::snapshot::{CollectionError, Snapshot};
use support::moto::MotoServer;
use support::rampart;
use support::replay::{Replay, ReplayServer};
use support::seed::{self, HOME_REGION, SECOND_REGION, SeededServices};

const ACCOUNT: &str = "123456789012";
const DENIED_REGION: &str = "us-west-2";

struct Scan {
    _moto: MotoServer,
    front: ReplayServer,
    seeded: SeededServices,
    snapshot: Snapshot,
}

/// Seeds moto, puts the replay front before it (GuardDuty denied in
/// us-west-2) and collects three regions through the binary.
async fn scan(extra_args: &[&str]) -> Scan {
    scan_with(
        Replay {
            guardduty_denied_regions: vec![DENIED_REGION.to_owned()],
            ..Replay::standard()
        },
        extra_args,
    )
    .await
}

async fn scan_with(replay: Replay, extra_args: &[&str]) -> Scan {
    let moto = MotoServer::start();
    let seeded = seed::seed_account_services(&moto.endpoint).await;
    let front = ReplayServer::start(&moto.endpoint, replay);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let output = rampart(dir.path())
        .args(["collect", "--endpoint-url", &front.endpoint])
        .args(["--region", HOME_REGION, "--region", SECOND_REGION])
        .args(["--region", DENIED_REGION])
        .args(extra_args)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    let snapshot = Snapshot::read(&out).expect("snapshot parses");
    Scan {
        _moto: moto,
        front,
        seeded,
        snapshot,
    }
}

fn time(text: &str) -> ReportField<chrono::DateTime<chrono::Utc>> {
    ReportField::Value(
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("test timestamp")
            .with_timezone(&chrono::Utc),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn account_level_state_is_collected_and_typed() {
    let Scan {
        seeded, snapshot, ..
    } = scan(&[]).await;
    let iam = &snapshot.global.iam;

    assert_eq!(
        iam.summary,
        Some(AccountSummary {
            account_mfa_enabled: false,
            account_access_keys_present: false,
            account_signing_certificates_present: false,
            users: 3,
            groups: 0,
            roles: 0,
            policies: 0,
            mfa_devices: 1,
            mfa_devices_in_use: 1,
        })
    );

    // Root, as the analysis reads it: MFA and key flags from the account
    // summary, use from the credential report's root row.
    let root = RootFacts::of(&snapshot.account, iam);
    assert_eq!(root.arn, "arn:aws:iam::123456789012:root");
    assert_eq!(root.mfa_enabled, Some(false));
    assert_eq!(root.mfa_type, Some(MfaType::None));
    assert_eq!(root.access_keys_present, Some(false));
    let root_row = root.credentials.as_ref().expect("root row");
    assert_eq!(root_row.user, ROOT_ROW);
    assert_eq!(root_row.password_enabled, ReportField::NotSupported);
    assert_eq!(root_row.password_last_used, time("2026-11-20T08:15:00Z"));
    assert!(root_row.access_key_1.active);
    assert_eq!(
        root_row.access_key_1.last_used_date,
        time("2026-10-30T12:00:00Z")
    );

    let report = iam.credential_report.as_ref().expect("credential report");
    assert_eq!(
        report
            .rows
            .iter()
            .map(|r| r.user.as_str())
            .collect::<Vec<_>>(),
        [ROOT_ROW, "alice", "bob", "ci-bot"]
    );
    assert_eq!(
        report.generated_at,
        Some("2026-11-24T10:00:00Z".parse().expect("time"))
    );
    assert_eq!(
        report.rows[2].password_last_used,
        ReportField::NoInformation
    );

    assert_eq!(
        iam.password_policy,
        Some(PasswordPolicyState::Set(PasswordPolicy {
            minimum_password_length: Some(12),
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: false,
            allow_users_to_change_password: true,
            expire_passwords: true,
            max_password_age: Some(90),
            password_reuse_prevention: Some(5),
            hard_expiry: false,
        }))
    );

    let devices = iam.virtual_mfa_devices.as_ref().expect("listed");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].serial_number, seeded.alice_mfa_serial);
    assert_eq!(
        devices[0].user_arn.as_deref(),
        Some("arn:aws:iam::123456789012:user/alice")
    );

    // Users: console access, MFA and keys, in name order.
    // (name, console access, MFA devices, access key ids)
    type UserState<'a> = (&'a str, bool, Option<usize>, Option<Vec<&'a str>>);
    let users: Vec<UserState> = iam
        .users
        .iter()
        .map(|u| {
            (
                u.name.as_str(),
                matches!(u.console_access, Some(ConsoleAccess::Enabled { .. })),
                u.mfa_devices.as_ref().map(Vec::len),
                u.access_keys
                    .as_ref()
                    .map(|keys| keys.iter().map(|k| k.id.as_str()).collect()),
            )
        })
        .collect();
    let bob_keys: Vec<&str> = seeded.bob_keys.iter().map(String::as_str).collect();
    assert_eq!(
        users,
        [
            (
                "alice",
                true,
                Some(1),
                Some(vec![seeded.alice_key.as_str()])
            ),
            ("bob", true, Some(0), Some(bob_keys)),
            (
                "ci-bot",
                false,
                Some(0),
                Some(vec![seeded.ci_bot_key.as_str()])
            ),
        ]
    );
    assert_eq!(iam.users[2].console_access, Some(ConsoleAccess::Disabled));
    assert!(matches!(
        iam.users[0].console_access,
        Some(ConsoleAccess::Enabled {
            created: Some(_),
            password_reset_required: false
        })
    ));
    let ci_bot = &iam.users[2];
    assert_eq!(
        ci_bot.meta.arn,
        "arn:aws:iam::123456789012:user/automation/ci-bot"
    );
    assert_eq!(ci_bot.meta.region, GLOBAL_REGION);
    assert_eq!(ci_bot.path.as_deref(), Some("/automation/"));
    assert_eq!(
        ci_bot.meta.tags,
        BTreeMap::from([("team".to_owned(), "platform".to_owned())])
    );
    let key = &ci_bot.access_keys.as_ref().expect("keys collected")[0];
    assert_eq!(key.status.as_deref(), Some("Active"));
    assert!(key.created.is_some());
    assert_eq!(
        key.last_used,
        Some(AccessKeyLastUsed {
            date: None,
            region: None,
            service: None
        }),
        "a key never used has last-used data with no date"
    );

    // Identity Center: the administrator permission set is assigned here.
    let instances = &snapshot.regions[HOME_REGION].identity_center.instances;
    assert_eq!(instances.len(), 1);
    let sets = &instances[0].permission_sets;
    let admin = sets
        .iter()
        .find(|p| p.meta.arn == seeded.admin_permission_set)
        .expect("admin permission set");
    assert_eq!(admin.name.as_deref(), Some("AdministratorAccess"));
    assert_eq!(admin.session_duration.as_deref(), Some("PT4H"));
    assert_eq!(
        admin.managed_policy_arns,
        Some(vec![
            "arn:aws:iam::aws:policy/AdministratorAccess".to_owned()
        ])
    );
    assert_eq!(admin.inline_policy, Some(InlinePolicy::None));
    let assignments = admin.account_assignments.as_ref().expect("assignments");
    assert_eq!(assignments.len(), 1);
    assert_eq!(
        assignments[0].principal_id.as_deref(),
        Some(seeded.admin_principal.as_str())
    );
    assert_eq!(assignments[0].principal_type.as_deref(), Some("USER"));
    let readonly = sets
        .iter()
        .find(|p| p.meta.arn == seeded.readonly_permission_set)
        .expect("read-only permission set");
    assert_eq!(
        readonly.inline_policy,
        Some(InlinePolicy::Set(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","s3:List*"],"Resource":"*"}]}"#
                .to_owned()
        ))
    );
    // The analysis reads the policies: the managed AdministratorAccess
    // grants, the read-only inline document does not.
    let analysis = Analysis::of(&snapshot);
    let grants: Vec<(Option<&str>, Option<bool>)> = analysis
        .account
        .identity_center_instances
        .iter()
        .flat_map(|i| &i.permission_sets)
        .map(|p| (p.set.name.as_deref(), p.grants_administrator))
        .collect();
    assert_eq!(
        grants,
        [
            (Some("AdministratorAccess"), Some(true)),
            (Some("ReadOnly"), Some(false))
        ]
    );
    assert_eq!(readonly.account_assignments, Some(vec![]));

    // Billing: only alarms on EstimatedCharges, metric math included.
    let alarms: Vec<(&str, bool, usize)> = snapshot
        .global
        .billing_alarms
        .iter()
        .map(|a| (a.meta.id.as_str(), a.actions_enabled, a.alarm_actions.len()))
        .collect();
    assert_eq!(
        alarms,
        [
            ("billing-over-100-usd", true, 1),
            ("billing-silent", false, 0),
            ("billing-daily-increase", true, 1),
        ]
    );
    assert_eq!(snapshot.global.billing_alarms[0].threshold, Some(100.0));

    assert_eq!(snapshot.global.budgets.len(), 1);
    let budget = &snapshot.global.budgets[0];
    assert_eq!(
        budget.meta.arn,
        "arn:aws:budgets::123456789012:budget/monthly-cost"
    );
    assert_eq!(budget.limit_amount.as_deref(), Some("200"));
    let notifications = budget.notifications.as_ref().expect("notifications");
    assert_eq!(notifications.len(), 1);
    let notification = &notifications[0];
    assert_eq!(notification.threshold, 80.0);
    assert_eq!(notification.threshold_type.as_deref(), Some("PERCENTAGE"));
    assert_eq!(
        notification
            .subscribers
            .as_ref()
            .map(|s| s.iter().map(|s| s.address.as_str()).collect::<Vec<_>>()),
        Some(vec![
            "finance@example.com",
            "arn:aws:sns:us-east-1:123456789012:billing-alerts"
        ])
    );

    for operation in snapshot.api_calls.keys() {
        let name = operation.split(':').nth(1).unwrap_or_default();
        assert!(
            rampart::collect::ledger::is_read_only(name),
            "{operation} is not read-only"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn guardduty_detectors_findings_and_counts_per_region() {
    let Scan {
        front,
        seeded,
        snapshot,
        ..
    } = scan(&[]).await;

    assert_eq!(
        snapshot.collection_errors,
        [CollectionError {
            service: "guardduty".to_owned(),
            region: Some(DENIED_REGION.to_owned()),
            operation: "ListDetectors".to_owned(),
            resource: None,
            code: "AccessDeniedException".to_owned(),
            message: format!(
                "User: arn:aws:iam::123456789012:user/moto is not authorized to perform: guardduty:ListDetectors in {DENIED_REGION}"
            ),
        }]
    );
    assert!(
        snapshot.regions[DENIED_REGION]
            .guardduty
            .detectors
            .is_empty()
    );

    let home = &snapshot.regions[HOME_REGION].guardduty.detectors;
    assert_eq!(home.len(), 1);
    let detector = &home[0];
    assert_eq!(detector.meta.id, seeded.home_detector);
    assert_eq!(
        detector.meta.arn,
        format!(
            "arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/{}",
            seeded.home_detector
        )
    );
    assert_eq!(detector.status.as_deref(), Some("ENABLED"));
    assert_eq!(
        detector.finding_publishing_frequency.as_deref(),
        Some("FIFTEEN_MINUTES")
    );
    assert_eq!(
        detector
            .features
            .iter()
            .map(|f| (f.name.as_str(), f.status.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("S3_DATA_EVENTS", Some("ENABLED")),
            ("EKS_AUDIT_LOGS", Some("DISABLED"))
        ]
    );
    assert_eq!(
        detector.active_findings_by_severity,
        Some(BTreeMap::from([
            (SeverityLabel::Low, 18),
            (SeverityLabel::Medium, 18),
            (SeverityLabel::High, 18),
            (SeverityLabel::Critical, 6),
        ]))
    );
    assert!(!detector.findings_truncated);
    let findings = &detector.findings;
    assert_eq!(findings.len(), 60);
    assert!(
        findings.windows(2).all(|w| w[0].severity >= w[1].severity),
        "most severe first"
    );
    assert_eq!(findings[0].severity_label, SeverityLabel::Critical);
    assert_eq!(findings[59].severity_label, SeverityLabel::Low);

    let by_id = |id: &str| {
        findings
            .iter()
            .find(|f| f.meta.id == id)
            .unwrap_or_else(|| panic!("finding {id}"))
    };
    let s3 = by_id("00c9b3f2e1d4a5b6c7d8e9f0a1b2c3d4");
    assert_eq!(s3.finding_type, "AttackSequence:S3/CompromisedData");
    assert_eq!(s3.severity, 9.0);
    assert_eq!(s3.resource.resource_type.as_deref(), Some("S3Bucket"));
    assert_eq!(s3.resource.bucket_names, ["rampart-demo-bucket-00"]);
    assert_eq!(s3.first_seen.as_deref(), Some("2026-11-01T09:00:00.000Z"));
    assert_eq!(s3.last_seen.as_deref(), Some("2026-11-02T09:00:00.000Z"));
    assert_eq!(s3.count, Some(1));
    let key = by_id("01c9b3f2e1d4a5b6c7d8e9f0a1b2c3d4");
    assert_eq!(key.severity_label, SeverityLabel::High);
    assert_eq!(key.resource.resource_type.as_deref(), Some("AccessKey"));
    assert_eq!(
        key.resource.access_key_id.as_deref(),
        Some("ASIA0000000000000001")
    );
    assert_eq!(key.resource.user_name.as_deref(), Some("deploy-1"));
    let ec2 = by_id("02c9b3f2e1d4a5b6c7d8e9f0a1b2c3d4");
    assert_eq!(ec2.finding_type, "CryptoCurrency:EC2/BitcoinTool.B!DNS");
    assert_eq!(
        ec2.resource.instance_id.as_deref(),
        Some("i-00000000000000002")
    );
    assert_eq!(ec2.meta.region, HOME_REGION);

    let second = &snapshot.regions[SECOND_REGION].guardduty.detectors;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].meta.id, seeded.second_detector);
    assert!(second[0].findings.is_empty());
    assert!(second[0].features.is_empty());

    // 60 ids in pages of 50 + 10, read in two batches; one empty page in
    // the second region.
    assert_eq!(snapshot.api_calls["guardduty:ListFindings"], 3);
    assert_eq!(snapshot.api_calls["guardduty:GetFindings"], 2);
    let served = front.served();
    assert_eq!(
        served
            .iter()
            .filter(|op| *op == "guardduty:GetFindings")
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_findings_cap_cuts_the_list_but_not_the_counts() {
    let Scan { snapshot, .. } = scan(&["--guardduty-max-findings", "55"]).await;
    let detector = &snapshot.regions[HOME_REGION].guardduty.detectors[0];
    assert_eq!(detector.findings.len(), 55);
    assert!(detector.findings_truncated);
    assert_eq!(
        detector
            .active_findings_by_severity
            .as_ref()
            .map(|c| c.values().sum::<u64>()),
        Some(60)
    );
    // The most severe are kept: all 6 critical and all 18 high.
    let critical_or_high = detector
        .findings
        .iter()
        .filter(|f| f.severity_label >= SeverityLabel::High)
        .count();
    assert_eq!(critical_or_high, 24);
    assert_eq!(snapshot.api_calls["guardduty:GetFindings"], 2);

    let counts_only = scan(&["--guardduty-max-findings", "0"]).await.snapshot;
    let detector = &counts_only.regions[HOME_REGION].guardduty.detectors[0];
    assert!(detector.findings.is_empty());
    assert!(detector.findings_truncated);
    assert!(!counts_only.api_calls.contains_key("guardduty:ListFindings"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cap_equal_to_the_number_of_findings_cuts_nothing() {
    let Scan { snapshot, .. } = scan(&["--guardduty-max-findings", "60"]).await;
    let detector = &snapshot.regions[HOME_REGION].guardduty.detectors[0];
    assert_eq!(detector.findings.len(), 60);
    assert!(!detector.findings_truncated);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detector_whose_details_are_denied_is_kept_not_read_as_off() {
    let replay = Replay {
        deny_get_detector: true,
        ..Replay::standard()
    };
    let Scan {
        seeded, snapshot, ..
    } = scan_with(replay, &[]).await;
    let detectors = &snapshot.regions[HOME_REGION].guardduty.detectors;
    assert_eq!(detectors.len(), 1);
    assert_eq!(detectors[0].meta.id, seeded.home_detector);
    assert_eq!(detectors[0].status, None);
    assert!(detectors[0].features.is_empty());
    // Its findings are still read.
    assert_eq!(detectors[0].findings.len(), 60);
    let denied: Vec<(Option<&str>, Option<&str>, &str)> = snapshot
        .collection_errors
        .iter()
        .map(|e| {
            (
                e.region.as_deref(),
                e.resource.as_deref(),
                e.operation.as_str(),
            )
        })
        .collect();
    // us-west-2 has no detector; each failure names its detector's ARN.
    let arn =
        |region: &str, id: &str| format!("arn:aws:guardduty:{region}:{ACCOUNT}:detector/{id}");
    let (second, home) = (
        arn(SECOND_REGION, &seeded.second_detector),
        arn(HOME_REGION, &seeded.home_detector),
    );
    assert_eq!(
        denied,
        [
            (Some(SECOND_REGION), Some(second.as_str()), "GetDetector"),
            (Some(HOME_REGION), Some(home.as_str()), "GetDetector"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_the_commercial_partition_billing_alarms_are_not_collected_and_say_why() {
    let moto = MotoServer::start();
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let output = rampart(dir.path())
        .env("AWS_REGION", "cn-north-1")
        .args(["collect", "--endpoint-url", &front.endpoint])
        .args(["--region", "cn-north-1", "-o"])
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    let snapshot = Snapshot::read(&out).expect("snapshot parses");
    assert_eq!(snapshot.account.partition, "aws-cn");
    assert_eq!(
        snapshot.collection_errors,
        [CollectionError {
            service: "cloudwatch".to_owned(),
            region: None,
            operation: "DescribeAlarms".to_owned(),
            resource: None,
            code: "UnsupportedPartition".to_owned(),
            message: "billing metrics exist only in the aws partition's us-east-1, not in aws-cn"
                .to_owned(),
        }]
    );
    assert!(!snapshot.api_calls.contains_key("cloudwatch:DescribeAlarms"));
    assert_eq!(snapshot.api_calls["budgets:DescribeBudgets"], 1);
}
