//! The exit codes a CI job relies on, the triage flags that decide them
//! (`--fail-on`, `--fail-on-new`, `--baseline`, `--suppressions`,
//! `--strict`), and the outputs a run writes, through the real binary on
//! the demo snapshot (no AWS access).

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::assert::OutputAssertExt;
use serde_json::Value;

use support::DEMO;

/// `rampart evaluate DEMO ARGS...`: (exit code, stdout, stderr).
fn evaluate(home: &Path, args: &[&str]) -> (i32, String, String) {
    support::run(home, &[&["evaluate", DEMO], args].concat())
}

/// Evaluates the demo into a JSON report and returns its path.
fn json_report(home: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = home.join(name);
    let output = format!("json={}", path.display());
    let mut all = vec!["--fail-on", "never", "--output", &output];
    all.extend(args);
    let (code, _, stderr) = evaluate(home, &all);
    assert_eq!(code, 0, "{stderr}");
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("read")).expect("JSON")
}

#[test]
fn failing_findings_at_or_above_the_threshold_exit_1() {
    let home = tempfile::tempdir().expect("temp dir");
    // 136 failing findings, one of them info: the default threshold is low.
    let (code, stdout, stderr) = evaluate(home.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(stderr, "rampart: 135 failing finding(s) at or above low\n");
    assert!(stdout.ends_with(
        "450 check(s): 136 failed, 314 passed, 0 not evaluated, 0 error(s), 0 suppressed\n"
    ));

    let (code, _, stderr) = evaluate(home.path(), &["--fail-on", "critical"]);
    assert_eq!(
        (code, stderr.as_str()),
        (1, "rampart: 7 failing finding(s) at or above critical\n")
    );
    let (code, _, stderr) = evaluate(home.path(), &["--fail-on", "info"]);
    assert_eq!(
        (code, stderr.as_str()),
        (1, "rampart: 136 failing finding(s) at or above info\n")
    );
}

#[test]
fn nothing_at_or_above_the_threshold_exits_0() {
    let home = tempfile::tempdir().expect("temp dir");
    support::rampart(home.path())
        .args(["evaluate", DEMO, "--fail-on", "never", "--quiet"])
        .assert()
        .code(0)
        .stderr("");
    // Flow logs findings are medium at most.
    support::rampart(home.path())
        .args(["evaluate", DEMO, "--rule", "vpc-flow-logs-disabled"])
        .args(["--fail-on", "high"])
        .assert()
        .code(0)
        .stderr("");
}

#[test]
fn usage_errors_exit_2_before_anything_is_written() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = evaluate(home.path(), &["--fail-on", "severe"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains(
            "invalid value 'severe' for '--fail-on <SEVERITY>': `severe` is not a severity: use info, low, medium, high, critical or never"
        ),
        "{stderr}"
    );

    let (code, _, stderr) = evaluate(home.path(), &["--fail-on-new"]);
    assert_eq!(code, 2);
    assert!(
        stderr
            .contains("the following required arguments were not provided:\n  --baseline <REPORT>"),
        "{stderr}"
    );

    let (code, _, stderr) = evaluate(home.path(), &["--output", "report.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`report.json` is not FORMAT=PATH, e.g. json=report.json or sarif=-"),
        "{stderr}"
    );
    let (code, _, stderr) = evaluate(home.path(), &["--output", "xml=report.xml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "`xml` is not a report format: use table, json, sarif, ocsf, junit, markdown, html"
        ),
        "{stderr}"
    );

    let (code, stdout, stderr) =
        evaluate(home.path(), &["--output", "json=-", "--output", "sarif=-"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "rampart: error: two --output options write to stdout\n"
    );

    let unwritable = home.path().join("no-such-dir").join("report.json");
    let (code, stdout, stderr) = evaluate(
        home.path(),
        &["--output", &format!("json={}", unwritable.display())],
    );
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        format!(
            "rampart: error: cannot write json report {}: No such file or directory (os error 2)\n",
            unwritable.display()
        )
    );
    assert_eq!(fs::read_dir(home.path()).expect("list").count(), 0);
}

#[test]
fn strict_exits_3_when_data_is_missing_and_nothing_fails_the_threshold() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut snapshot = read_json(Path::new(DEMO));
    snapshot["collection_errors"] = serde_json::json!([{
        "service": "ec2",
        "region": "eu-west-1",
        "operation": "DescribeFlowLogs",
        "resource": null,
        "code": "UnauthorizedOperation",
        "message": "You are not authorized to perform this operation."
    }]);
    let incomplete = home.path().join("incomplete.json");
    fs::write(&incomplete, snapshot.to_string()).expect("write");
    let run = |args: &[&str]| {
        support::rampart(home.path())
            .arg("evaluate")
            .arg(&incomplete)
            .args(["--rule", "vpc-flow-logs-disabled", "--quiet"])
            .args(args)
            .output()
            .expect("run")
    };

    let output = run(&["--fail-on", "high", "--strict"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        support::stderr(&output),
        "rampart: the scan is incomplete (1 failed call(s), 2 check(s) not evaluated) and --strict was given\n"
    );
    assert!(
        support::stdout(&output).contains(
            "Incomplete: 2 check(s) could not be evaluated; 1 API call(s) failed during collection.\n"
        ),
        "{}",
        support::stdout(&output)
    );
    // Without --strict, missing data does not fail the job.
    assert_eq!(run(&["--fail-on", "high"]).status.code(), Some(0));
    // Failing findings win over missing data.
    assert_eq!(
        run(&["--fail-on", "low", "--strict"]).status.code(),
        Some(1)
    );
}

#[test]
fn a_baseline_marks_findings_new_and_fail_on_new_counts_only_those() {
    let home = tempfile::tempdir().expect("temp dir");
    let full = json_report(home.path(), "full.json", &[]);

    // The same scan is no news.
    let (code, stdout, stderr) = evaluate(
        home.path(),
        &[
            "--baseline",
            full.to_str().expect("utf-8"),
            "--fail-on-new",
            "--quiet",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "Compared with {}: 0 new, 136 existing, 0 resolved.\n",
            full.display()
        )),
        "{stdout}"
    );

    // A baseline without the root user's MFA finding, and with a finding
    // on a security group since deleted.
    let mut old = read_json(&full);
    let findings = old["findings"].as_array_mut().expect("findings");
    let root = findings
        .iter()
        .position(|f| f["rule_id"] == "iam-root-mfa-not-enabled")
        .expect("root MFA finding");
    findings.remove(root);
    let mut gone = findings
        .iter()
        .find(|f| {
            f["rule_id"] == "ec2-security-group-ssh-open-to-internet" && f["status"] == "FAIL"
        })
        .expect("an SSH finding")
        .clone();
    gone["resource"]["arn"] = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0gone".into();
    gone["fingerprint"] = "f".repeat(64).into();
    findings.push(gone);
    let last = home.path().join("last.json");
    fs::write(&last, old.to_string()).expect("write");

    let now = home.path().join("now.json");
    let (code, _, stderr) = evaluate(
        home.path(),
        &[
            "--baseline",
            last.to_str().expect("utf-8"),
            "--fail-on-new",
            "--fail-on",
            "high",
            "--quiet",
            "--output",
            &format!("json={}", now.display()),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "rampart: 1 new failing finding(s) at or above high\n"
    );
    let report = read_json(&now);
    assert_eq!(report["summary"]["new"], 1);
    assert_eq!(report["summary"]["resolved"], 1);
    assert_eq!(report["resolved"][0]["fingerprint"], "f".repeat(64));
    assert_eq!(report["resolved"][0]["now"], Value::Null);
    let new: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["baseline"] == "new")
        .map(|f| f["rule_id"].as_str().expect("id"))
        .collect();
    assert_eq!(new, ["iam-root-mfa-not-enabled"]);

    // `rampart diff` tells the same story.
    let diff = support::rampart(home.path())
        .arg("diff")
        .arg(&last)
        .arg(&now)
        .output()
        .expect("run");
    assert_eq!(diff.status.code(), Some(0));
    let diff = support::stdout(&diff);
    assert!(
        diff.starts_with("New (1)\n") && diff.contains("iam-root-mfa-not-enabled"),
        "{diff}"
    );
    assert!(
        diff.ends_with("1 new, 1 resolved, 135 unchanged failing finding(s)\n"),
        "{diff}"
    );

    let missing = home.path().join("missing.json");
    let (code, _, stderr) = evaluate(
        home.path(),
        &["--baseline", missing.to_str().expect("utf-8")],
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: cannot read report {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    let (code, _, stderr) = evaluate(home.path(), &["--baseline", DEMO]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {DEMO}: not a rampart report: it is a snapshot; use `rampart evaluate` to evaluate it\n"
        )
    );
}

#[test]
fn suppressed_findings_stay_in_the_report_and_do_not_fail_the_job() {
    let home = tempfile::tempdir().expect("temp dir");
    let file = home.path().join("suppressions.yaml");
    fs::write(
        &file,
        "suppressions:\n  - rule: guardduty-finding-active\n    reason: Triaged in the SOC queue\n  - rule: iam-root-mfa-not-enabled\n    account: 123456789012\n    reason: Hardware key on order\n    expires: 2000-01-31\n",
    )
    .expect("write");
    let report = home.path().join("report.json");
    let (code, stdout, stderr) = evaluate(
        home.path(),
        &[
            "--fail-on",
            "critical",
            "--suppressions",
            file.to_str().expect("utf-8"),
            "--output",
            &format!("json={}", report.display()),
            "--output",
            "table=-",
        ],
    );
    // GuardDuty's six critical findings are suppressed; the root user's
    // suppression has expired, so it still fails.
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "rampart: warning: the suppression at {}:4 expired on 2000-01-31 and no longer applies\nrampart: 1 failing finding(s) at or above critical\n",
            file.display()
        )
    );
    assert!(
        stdout.contains(&format!(
            "60 finding(s) suppressed (listed with --show suppressed).\nExpired suppression {}:4 (expired 2000-01-31) no longer applies: Hardware key on order\n",
            file.display()
        )),
        "{stdout}"
    );
    let json = read_json(&report);
    assert_eq!(json["summary"]["suppressed"], 60);
    assert_eq!(json["summary"]["failed"], 76);
    let suppressed = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule_id"] == "guardduty-finding-active")
        .expect("a GuardDuty finding");
    assert_eq!(suppressed["status"], "FAIL");
    assert_eq!(
        suppressed["suppression"],
        serde_json::json!({
            "reason": "Triaged in the SOC queue",
            "expires": null,
            "source": format!("{}:2", file.display())
        })
    );
    assert_eq!(json["expired_suppressions"][0]["line"], 4);
}

#[test]
fn a_bad_suppression_file_is_named_by_file_and_line() {
    let home = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "suppressions:\n  - rule: guardduty-finding-active\n",
            "2:5: a suppression needs a `reason`",
        ),
        (
            "suppressions:\n  - reason: everything\n",
            "2:5: a suppression needs a `rule` or a `resource`; one with neither would hide everything",
        ),
        (
            "suppressions:\n  - rule: ssh-open\n    reason: typo\n",
            "2:5: no rule has the id or alias `ssh-open`",
        ),
        (
            "suppressions:\n  - rule: guardduty-finding-active\n    reason: x\n    until: 2027-01-01\n",
            "4:5: unknown field `until`, expected one of rule, account, region, resource, reason, expires",
        ),
        (
            "suppressions:\n  - rule: guardduty-finding-active\n    reason: x\n    expires: next year\n",
            "4:14: input contains invalid characters",
        ),
    ];
    for (text, expected) in cases {
        let file = home.path().join("suppressions.yaml");
        fs::write(&file, text).expect("write");
        let (code, stdout, stderr) = evaluate(
            home.path(),
            &["--suppressions", file.to_str().expect("utf-8")],
        );
        assert_eq!((code, stdout.as_str()), (2, ""), "{text}");
        assert_eq!(
            stderr,
            format!("rampart: error: {}:{expected}\n", file.display()),
            "{text}"
        );
    }
    let missing = home.path().join("none.yaml");
    let (code, _, stderr) = evaluate(
        home.path(),
        &["--suppressions", missing.to_str().expect("utf-8")],
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}: cannot read the suppression file: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
}

#[test]
fn report_re_renders_a_saved_report_without_aws() {
    let home = tempfile::tempdir().expect("temp dir");
    let saved = json_report(home.path(), "saved.json", &[]);
    let (_, table, _) = evaluate(home.path(), &["--fail-on", "never"]);
    support::rampart(home.path())
        .arg("report")
        .arg(&saved)
        .assert()
        .code(0)
        .stdout(table);
    let json = support::rampart(home.path())
        .arg("report")
        .arg(&saved)
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert_eq!(
        support::stdout(&json),
        fs::read_to_string(&saved).expect("read")
    );

    let (code, _, stderr) = support::run(home.path(), &["report", DEMO]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {DEMO}: not a rampart report: it is a snapshot; use `rampart evaluate` to evaluate it\n"
        )
    );
    support::rampart(home.path())
        .arg("evaluate")
        .arg(&saved)
        .assert()
        .code(2)
        .stderr(format!(
            "rampart: error: {}: not a rampart snapshot: it is a report; use `rampart report` to render it\n",
            saved.display()
        ));
}
