//! The compliance view end to end: every control's status on the demo
//! snapshot, `rampart report --compliance`, `--compliance-report`, and the
//! errors for a framework rampart does not know.

mod support;

use std::path::Path;

use serde_json::Value;

fn demo_report(home: &Path, extra: &[&str]) -> Value {
    let out = home.join("report.json");
    let json = format!("json={}", out.display());
    let mut args = vec!["evaluate", support::DEMO, "--fail-on", "never", "-o", &json];
    args.extend(extra);
    let (code, _, stderr) = support::run(home, &args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&std::fs::read_to_string(&out).expect("report written")).expect("JSON")
}

#[test]
fn every_control_of_the_demo_has_its_exact_status() {
    let home = tempfile::tempdir().expect("temp dir");
    let report = demo_report(home.path(), &[]);
    let controls = |framework| support::control_statuses(&report, framework).join(", ");
    // The demo fails most of what it can; root has no access key, peering
    // routes are no wider than their peers, no security group opens a
    // high-risk port and GuardDuty is on in both regions.
    assert_eq!(
        controls("cis-aws-foundations-3.0"),
        "1.1 MANUAL, 1.2 OUT_OF_SCOPE, 1.3 MANUAL, 1.4 PASS, 1.5 FAIL, 1.6 FAIL, 1.7 FAIL, \
         1.8 FAIL, 1.9 FAIL, 1.10 FAIL, 1.11 FAIL, 1.12 PASS, 1.13 FAIL, 1.14 PASS, \
         1.21 MANUAL, 3.7 FAIL, 5.1 FAIL, 5.2 FAIL, 5.3 FAIL, 5.4 FAIL, 5.5 PASS, 5.6 FAIL"
    );
    assert_eq!(controls("cis-aws-foundations-6.0"), CIS_6_DEMO);
    assert_eq!(controls("aws-fsbp"), FSBP_DEMO);
    let fsbp = &report["compliance"][2];
    assert_eq!(
        (&fsbp["counts"], &fsbp["score"]),
        (
            &serde_json::json!({"FAIL": 19, "NOT_EVALUATED": 0, "PASS": 7, "MANUAL": 0, "OUT_OF_SCOPE": 5}),
            &Value::from(26.9)
        )
    );
    let ssh = fsbp["controls"]
        .as_array()
        .and_then(|controls| controls.iter().find(|c| c["id"] == "EC2.13"))
        .expect("EC2.13");
    assert_eq!(
        ssh,
        &serde_json::json!({
            "id": "EC2.13",
            "title": "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22",
            "status": "FAIL",
            "rules": ["ec2-security-group-ssh-open-to-internet"],
            "failed": 1, "suppressed": 0, "passed": 7, "not_evaluated": 0
        })
    );
}

const CIS_6_DEMO: &str = "2.1 MANUAL, 2.2 OUT_OF_SCOPE, 2.3 PASS, 2.4 FAIL, 2.5 FAIL, 2.6 FAIL, \
     2.7 FAIL, 2.8 FAIL, 2.9 FAIL, 2.10 FAIL, 2.11 PASS, 2.12 FAIL, 2.13 PASS, 2.20 MANUAL, \
     4.7 FAIL, 6.1.2 PASS, 6.2 FAIL, 6.3 FAIL, 6.4 FAIL, 6.5 FAIL, 6.6 PASS, 6.7 FAIL";

const FSBP_DEMO: &str = "Account.1 OUT_OF_SCOPE, EC2.2 FAIL, EC2.6 FAIL, EC2.7 FAIL, EC2.8 FAIL, \
     EC2.9 FAIL, EC2.10 OUT_OF_SCOPE, EC2.13 FAIL, EC2.14 FAIL, EC2.15 FAIL, EC2.16 PASS, \
     EC2.18 FAIL, EC2.19 PASS, EC2.20 OUT_OF_SCOPE, EC2.21 FAIL, EC2.22 FAIL, EC2.23 FAIL, \
     GuardDuty.1 PASS, GuardDuty.9 FAIL, GuardDuty.10 FAIL, IAM.3 PASS, IAM.4 PASS, IAM.5 FAIL, \
     IAM.6 FAIL, IAM.7 FAIL, IAM.8 PASS, IAM.9 FAIL, IAM.10 FAIL, IAM.19 OUT_OF_SCOPE, \
     IAM.22 PASS, IAM.26 OUT_OF_SCOPE";

#[test]
fn a_suppressed_failure_passes_its_control_and_unrun_rules_leave_it_open() {
    let home = tempfile::tempdir().expect("temp dir");
    let suppressions = home.path().join("suppressions.yaml");
    std::fs::write(
        &suppressions,
        "suppressions:\n  - rule: ec2-security-group-ssh-open-to-internet\n    reason: a bastion, reviewed\n",
    )
    .expect("write");
    let suppressions = suppressions.display().to_string();
    let report = demo_report(
        home.path(),
        &[
            "--rule",
            "ec2-security-group-ssh-open-to-internet",
            "--suppressions",
            &suppressions,
        ],
    );
    let fsbp = support::control_statuses(&report, "aws-fsbp");
    assert_eq!(fsbp[7], "EC2.13 PASS");
    // Controls whose rules did not run are not evaluated, never passed.
    assert_eq!(fsbp[1], "EC2.2 NOT_EVALUATED");
    assert_eq!(
        report["compliance"][2]["controls"][1]["reason"],
        "not every rule mapped to it ran: ec2-security-group-default-restricts-all-traffic did not"
    );
    assert_eq!(report["compliance"][2]["controls"][7]["suppressed"], 1);
    // CIS 5.2 is SSH, RDP and all ports: the SSH rule passing (suppressed)
    // does not pass it while the other two did not run.
    let cis = &report["compliance"][0]["controls"][17];
    assert_eq!(
        (&cis["id"], &cis["status"], &cis["not_run"]),
        (
            &Value::from("5.2"),
            &Value::from("NOT_EVALUATED"),
            &serde_json::json!([
                "ec2-security-group-all-ports-open-to-internet",
                "ec2-security-group-rdp-open-to-internet"
            ])
        )
    );
}

#[test]
fn report_compliance_prints_the_control_table() {
    let home = tempfile::tempdir().expect("temp dir");
    demo_report(home.path(), &[]);
    let report = home.path().join("report.json").display().to_string();
    let (code, stdout, stderr) = support::run(
        home.path(),
        &["report", &report, "--compliance", "cis-aws-foundations-6.0"],
    );
    assert_eq!((code, stderr.as_str()), (0, ""));
    insta::assert_snapshot!(stdout);
}

#[test]
fn a_framework_rampart_does_not_know_is_refused_before_any_work() {
    let home = tempfile::tempdir().expect("temp dir");
    demo_report(home.path(), &[]);
    let report = home.path().join("report.json").display().to_string();
    assert_eq!(
        support::run(home.path(), &["report", &report, "--compliance", "cis-3.0"]),
        (
            2,
            String::new(),
            "rampart: error: no compliance framework `cis-3.0` in this report; the frameworks are: \
             cis-aws-foundations-3.0, cis-aws-foundations-6.0, aws-fsbp\n"
                .to_owned()
        )
    );
    let written = home.path().join("never.json");
    let json = format!("json={}", written.display());
    assert_eq!(
        support::run(
            home.path(),
            &[
                "evaluate",
                support::DEMO,
                "--compliance-report",
                "pci",
                "-o",
                &json
            ],
        ),
        (
            2,
            String::new(),
            "rampart: error: no compliance framework `pci` given to --compliance-report; the \
             frameworks are: aws-fsbp, cis-aws-foundations-3.0, cis-aws-foundations-6.0\n"
                .to_owned()
        )
    );
    assert!(!written.exists());
    let (code, stdout, stderr) = support::run(
        home.path(),
        &[
            "scan",
            "--accounts",
            "accounts.json",
            "--compliance-report",
            "aws-fsbp",
        ],
    );
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "rampart: error: --compliance-report shows one account's report: with --accounts, run \
         `rampart report ACCOUNT_REPORT --compliance FRAMEWORK` on an account's report in \
         --out-dir\n"
    );
}

#[test]
fn scan_and_evaluate_end_their_table_with_the_framework() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = support::run(
        home.path(),
        &[
            "evaluate",
            support::DEMO,
            "--fail-on",
            "never",
            "-q",
            "--compliance-report",
            "aws-fsbp",
        ],
    );
    assert_eq!((code, stderr.as_str()), (0, ""));
    let view = stdout
        .split_once("\nAWS Foundational Security Best Practices v1.0.0 (aws-fsbp)\n")
        .map(|(_, view)| view)
        .expect("the framework follows the summary");
    assert!(view.starts_with(
        "rampart decides 26 of the 31 controls listed (19 FAIL, 0 NOT_EVALUATED, 7 PASS, 0 MANUAL, 5 OUT_OF_SCOPE).\n\
         Score as Security Hub defines it, controls passed over controls with data (failed, or passed on a resource): 26.9% (7 of 26).\n"
    ), "{view}");
    let rows: Vec<String> = view
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(['│', '┆']).map(str::trim).collect();
            (cells.len() > 3 && !cells[1].is_empty() && cells[1] != "Control")
                .then(|| format!("{} {}", cells[1], cells[2]))
        })
        .collect();
    assert_eq!(rows.join(", "), FSBP_DEMO);
}
