//! `rampart scan` against a seeded emulator account reports the built-in
//! rules exactly: which resources fail, which pass.

mod support;

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use rampart::engine::{Engine, Selection, Status};
use rampart::snapshot::Snapshot;
use support::moto::MotoServer;
use support::rampart;
use support::replay::{Replay, ReplayServer};
use support::seed::{self, HOME_REGION, SECOND_REGION};

/// The default security group of every VPC in a region, asked of the
/// emulator directly rather than of rampart.
async fn default_groups(endpoint: &str, region: &str) -> Vec<String> {
    support::ec2_client(endpoint, region)
        .await
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .expect("describe default groups")
        .security_groups
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| g.group_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_reports_the_built_in_rules_exactly() {
    let moto = MotoServer::start();
    let seeded = seed::seed_account(&moto.endpoint).await;
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    let collected = rampart(dir.path())
        .args(["collect", "--endpoint-url", &front.endpoint])
        .args(["--region", HOME_REGION, "--region", SECOND_REGION, "-o"])
        .arg(&out)
        .output()
        .expect("run rampart collect");
    assert!(
        collected.status.success(),
        "{}",
        support::stderr(&collected)
    );
    let snapshot = Snapshot::read(&out).expect("snapshot parses");

    let engine = Engine::load(None).expect("built-in rules load");
    let rules = engine.select(&Selection::default()).expect("all rules");
    let findings = engine.evaluate(&snapshot, &rules);
    let failing: BTreeSet<(&str, &str)> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| (f.rule_id.as_str(), f.resource.id.as_str()))
        .collect();

    let mut defaults = default_groups(&moto.endpoint, HOME_REGION).await;
    defaults.extend(default_groups(&moto.endpoint, SECOND_REGION).await);
    assert_eq!(
        defaults.len(),
        5,
        "three VPCs in one region, two in the other"
    );
    let mut expected: BTreeSet<(&str, &str)> = defaults
        .iter()
        .map(|g| {
            (
                "ec2-security-group-default-restricts-all-traffic",
                g.as_str(),
            )
        })
        .collect();
    expected.insert(("ec2-security-group-ssh-open-to-internet", &seeded.web_group));
    // 3389 from 0.0.0.0/1 + 128.0.0.0/1: the whole internet in two halves.
    expected.insert(("ec2-security-group-rdp-open-to-internet", &seeded.rdp_group));
    expected.insert(("iam-root-mfa-not-enabled", "123456789012"));
    assert_eq!(failing, expected);

    // Every other security group passes the four group rules; nothing else.
    let groups: usize = snapshot
        .regions
        .values()
        .map(|r| r.ec2.security_groups.len())
        .sum();
    assert_eq!(groups, 8);
    assert_eq!(findings.len(), 4 * groups + 1);
    assert!(
        findings
            .iter()
            .all(|f| matches!(f.status, Status::Pass | Status::Fail)),
        "no errors, nothing unevaluated"
    );
    let rdp = findings
        .iter()
        .find(|f| {
            f.rule_id == "ec2-security-group-ssh-open-to-internet"
                && f.resource.id == seeded.rdp_group
        })
        .expect("the RDP group is checked");
    assert_eq!(
        rdp.status,
        Status::Pass,
        "3389 from the internet is not SSH"
    );
    let web = findings
        .iter()
        .find(|f| f.resource.id == seeded.web_group && f.status == Status::Fail)
        .expect("web fails");
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
            "arn:aws:ec2:us-east-1:123456789012:security-group/{}",
            seeded.web_group
        )
    );
    assert_eq!(web.fingerprint.len(), 64);

    // The same through `rampart scan`: the failing rows, then the counts.
    let scanned = rampart(dir.path())
        .args(["scan", "--endpoint-url", &front.endpoint])
        .args(["--region", HOME_REGION, "--region", SECOND_REGION])
        .output()
        .expect("run rampart scan");
    assert!(scanned.status.success(), "{}", support::stderr(&scanned));
    let stdout = support::stdout(&scanned);
    assert_eq!(
        stdout.lines().filter(|l| l.contains("┆ FAIL ")).count(),
        8,
        "{stdout}"
    );
    assert!(
        stdout.ends_with("33 check(s): 8 failed, 25 passed, 0 not evaluated, 0 error(s)\n"),
        "{stdout}"
    );
}
