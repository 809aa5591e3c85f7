//! `fixtures/report/report.json` is the fixed report every format's
//! snapshot test renders: the demo snapshot, seven rules, a failed
//! collection call, the suppressions in `fixtures/report/suppressions.yaml`
//! (one live, one without expiry, one expired) and a baseline comparison
//! with new, existing and resolved findings. This test rebuilds it and
//! checks the committed file is current and valid against the JSON Schema.
//! Regenerate with `RAMPART_REGENERATE_REPORT=1 cargo test --test report_fixture`.

mod support;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rampart::analyze::Analysis;
use rampart::compliance::{self, NotRun};
use rampart::engine::rule::Rule;
use rampart::engine::{Engine, Selection};
use rampart::results::{Report, ReportFinding, RunInfo};
use rampart::snapshot::{CollectionError, Snapshot};
use rampart::triage::{baseline, suppressions::Suppressions};
use rampart::verdict::Status;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/report");

const RULES: [&str; 7] = [
    "billing-account-no-alarm-or-budget",
    "ec2-region-imdsv2-default-not-required",
    "ec2-security-group-ssh-open-to-internet",
    "guardduty-finding-active",
    "iam-root-mfa-not-enabled",
    "iam-root-mfa-not-hardware",
    "vpc-flow-logs-disabled",
];

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a fixed time")
}

fn build(snapshot: &Snapshot, engine: &Engine) -> Report {
    let selection = Selection {
        rules: RULES.iter().map(|id| (*id).to_owned()).collect(),
        ..Selection::default()
    };
    let rules = engine.select(&selection).expect("the rules exist");
    let unselected: Vec<&Rule> = engine
        .rules()
        .iter()
        .filter(|rule| !RULES.contains(&rule.id.as_str()))
        .collect();
    let findings = engine.evaluate(snapshot, &Analysis::of(snapshot), &rules);
    let run = RunInfo {
        started_at: at("2026-11-25T02:00:00Z"),
        finished_at: at("2026-11-25T02:00:03Z"),
        rules: &rules,
        unselected: &unselected,
    };
    Report::new(
        snapshot,
        run,
        findings.into_iter().map(ReportFinding::new).collect(),
    )
}

/// The report of record, built from committed inputs only.
fn fixture() -> Report {
    let mut snapshot = Snapshot::read(Path::new(support::DEMO)).expect("demo snapshot");
    snapshot.collection_errors.push(CollectionError {
        service: "ec2".to_owned(),
        region: Some("eu-west-1".to_owned()),
        operation: "DescribeFlowLogs".to_owned(),
        resource: None,
        code: "UnauthorizedOperation".to_owned(),
        message: "You are not authorized to perform this operation.".to_owned(),
    });
    let engine = Engine::load(None).expect("built-in rules");
    let mut report = build(&snapshot, &engine);

    // The baseline: the same scan, where the first failing finding did not
    // fail yet, the first passing check still failed, and a security group
    // since deleted failed too.
    let mut old = report.clone();
    let first_failing = old
        .findings
        .iter()
        .position(|f| f.finding.status == Status::Fail)
        .expect("a failing finding");
    old.findings.remove(first_failing);
    let passing = old
        .findings
        .iter_mut()
        .find(|f| f.finding.status == Status::Pass)
        .expect("a passing check");
    passing.finding.status = Status::Fail;
    let mut deleted = old
        .findings
        .iter()
        .find(|f| f.finding.rule_id == "ec2-security-group-ssh-open-to-internet")
        .expect("an SSH finding")
        .clone();
    let resource = std::sync::Arc::make_mut(&mut deleted.finding.resource);
    resource.id = "sg-0deleted0000000000".to_owned();
    resource.arn =
        "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0deleted0000000000".to_owned();
    resource.region = "us-east-1".to_owned();
    deleted.finding.fingerprint = "0".repeat(64);
    deleted.finding.status = Status::Fail;
    old.findings.push(deleted);

    let suppressions = Suppressions::read(&Path::new(DIR).join("suppressions.yaml"), &engine)
        .expect("suppressions parse");
    suppressions.apply(
        &mut report,
        NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
    );
    baseline::apply(&mut report, Some(&old), "last.json");
    report
}

/// The fixture is committed indented, for review; rampart writes reports
/// compact.
fn pretty(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("report serialises");
    text.push('\n');
    text
}

#[test]
fn the_committed_fixture_report_is_current() {
    let fresh = pretty(&fixture())
        // The source of each suppression is the absolute path of the file.
        .replace(DIR, "fixtures/report");
    let path = Path::new(DIR).join("report.json");
    if std::env::var_os("RAMPART_REGENERATE_REPORT").is_some() {
        std::fs::write(&path, &fresh).expect("write fixture");
    }
    let committed = std::fs::read_to_string(&path).expect("committed fixture");
    assert!(
        committed == fresh,
        "fixtures/report/report.json is stale: regenerate with RAMPART_REGENERATE_REPORT=1 cargo test --test report_fixture"
    );
    let report = Report::parse(&committed).expect("the fixture parses");
    assert_eq!(pretty(&report), committed, "round trip");
    let written = rampart::report::json(&report);
    assert_eq!(written.lines().count(), 1, "written compact");
    assert_eq!(Report::parse(&written).expect("compact parses"), report);
}

#[test]
fn the_fixture_covers_every_triage_state() {
    let report = fixture();
    let summary = &report.summary;
    assert_eq!(
        (
            summary.checks,
            summary.failed,
            summary.passed,
            summary.not_evaluated,
            summary.suppressed
        ),
        (78, 64, 10, 2, 2)
    );
    assert_eq!((summary.new, summary.resolved), (Some(1), Some(2)));
    assert_eq!(report.expired_suppressions.len(), 1);
    assert_eq!(report.expired_suppressions[0].line, 11);
}

#[test]
fn reports_validate_against_the_published_schema() {
    let committed = std::fs::read_to_string(Path::new(DIR).join("report.json")).expect("fixture");
    let fixture: serde_json::Value = serde_json::from_str(&committed).expect("JSON");
    assert_eq!(
        support::schema_errors("report-v4.schema.json", &fixture),
        Vec::<String>::new()
    );

    // A real run of the binary over the whole catalogue.
    let home = tempfile::tempdir().expect("temp dir");
    let out = home.path().join("report.json");
    let output = support::rampart(home.path())
        .args(["evaluate", support::DEMO])
        .args(["--fail-on", "never", "--output"])
        .arg(format!("json={}", out.display()))
        .output()
        .expect("run rampart");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        support::stderr(&output)
    );
    let real: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report written"))
            .expect("JSON");
    assert_eq!(real["summary"]["checks"], 450);
    assert_eq!(
        support::schema_errors("report-v4.schema.json", &real),
        Vec::<String>::new()
    );

    // The schema is strict: an unknown field or a wrong severity is caught.
    let mut broken = fixture.clone();
    broken["findings"][0]["severity"] = "severe".into();
    broken["summary"]["extra"] = 1.into();
    assert_eq!(
        support::schema_errors("report-v4.schema.json", &broken).len(),
        2
    );
}

#[test]
fn reports_of_earlier_versions_read_as_the_same_report() {
    let current = Report::read(&Path::new(DIR).join("report.json")).expect("current reads");
    // Version 1 repeated its rule's title, remediation, compliance,
    // equivalents and service in each result; version 2 listed the passes
    // resource by resource; version 3 had no compliance view, which is
    // derived from the rules and results as it is read.
    for (file, schema) in [
        ("report-v1.json", "report-v1.schema.json"),
        ("report-v2.json", "report-v2.schema.json"),
        ("report-v3.json", "report-v3.schema.json"),
    ] {
        let path = Path::new(DIR).join(file);
        assert_eq!(
            Report::read(&path).unwrap_or_else(|e| panic!("{file}: {e}")),
            Report {
                // Which mapped rules did not run is not in those versions:
                // the view is what their rules and results tell.
                compliance: compliance::of(&current.rules, &current.findings, &NotRun::new()),
                ..current.clone()
            },
            "{file}"
        );
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        assert_eq!(
            support::schema_errors(schema, &written),
            Vec::<String>::new(),
            "{file}"
        );
    }
}

#[test]
fn passes_are_written_once_per_set_of_rules_passed() {
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(DIR).join("report.json")).expect("fixture"),
    )
    .expect("JSON");
    let groups = written["passed"].as_array().expect("passed");
    let rule_sets: Vec<Vec<&str>> = groups
        .iter()
        .map(|group| {
            let mut rules: Vec<&str> = group["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .map(|rule| rule.as_str().expect("rule id"))
                .collect();
            rules.sort_unstable();
            rules
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = rule_sets.iter().collect();
    assert_eq!(distinct.len(), rule_sets.len(), "a set of rules twice");
    let resources: Vec<(&str, &str)> = groups
        .iter()
        .flat_map(|group| group["resources"].as_array().expect("resources"))
        .map(|resource| {
            (
                resource["type"].as_str().expect("type"),
                resource["arn"].as_str().expect("arn"),
            )
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = resources.iter().collect();
    assert_eq!(distinct.len(), resources.len(), "a resource in two groups");
    assert_eq!((groups.len(), resources.len()), (4, 10));
}
