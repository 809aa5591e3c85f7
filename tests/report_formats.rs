//! Every report format rendered from the committed fixture report
//! (`fixtures/report/report.json`): snapshots of each, then exact checks of
//! what the snapshots could let slip — SARIF against the official schema
//! and GitHub's ingestion rules, the OCSF mapping, JUnit counts and
//! well-formedness, Markdown escaping and limits.
//! Update snapshots with `INSTA_UPDATE=always cargo test --test report_formats`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use rampart::report::terminal::TerminalOptions;
use rampart::report::{self, Format, markdown};
use rampart::results::{BaselineState, Report, ReportFinding};
use rampart::verdict::Severity;
use rampart::verdict::Status;
use serde_json::{Value, json};

fn fixture() -> Report {
    Report::read(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/report/report.json"
    )))
    .expect("the fixture report reads")
}

fn render(report: &Report, format: Format) -> String {
    report::render(
        report,
        format,
        &TerminalOptions {
            width: None,
            color: false,
            show_pass: true,
            show_suppressed: true,
            quiet: false,
            compliance: Some("aws-fsbp".to_owned()),
        },
    )
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the output is JSON")
}

fn finding<'a>(report: &'a Report, rule: &str, resource: &str) -> &'a ReportFinding {
    report
        .findings
        .iter()
        .find(|f| f.finding.rule_id == rule && f.finding.resource.id == resource)
        .expect("the fixture has this finding")
}

// Snapshots: the review of each format's whole output.

#[test]
fn every_format_matches_its_snapshot() {
    let report = fixture();
    for format in Format::ALL {
        let mut text = render(&report, format);
        // The report of record is written compact; reviewed indented.
        if format == Format::Json {
            let parsed = Report::parse(&text).expect("the JSON report parses");
            text = serde_json::to_string_pretty(&parsed).expect("serialises") + "\n";
        }
        insta::assert_snapshot!(format.name(), text);
    }
}

#[test]
fn every_format_has_a_name_that_parses_back() {
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "table", "json", "sarif", "ocsf", "junit", "markdown", "html"
        ]
    );
    for format in Format::ALL {
        assert_eq!(format.name().parse::<Format>(), Ok(format));
    }
}

// SARIF.

const SARIF_SCHEMA: &str = "sarif-schema-2.1.0.json";

fn assert_valid_sarif(sarif: &Value) {
    let errors = support::schema_errors(SARIF_SCHEMA, sarif);
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

#[test]
fn sarif_validates_against_the_schema() {
    let report = fixture();
    assert_valid_sarif(&parse(&render(&report, Format::Sarif)));

    // And with the awkward values: no baseline, an info rule, a resource id
    // that needs encoding, a suppression without expiry.
    let mut report = fixture();
    report.resolved = None;
    report.scan.baseline = None;
    for f in &mut report.findings {
        f.baseline = None;
    }
    report.rules[0].severity = Severity::Info;
    let f = &mut report.findings[0];
    f.finding.severity = Severity::Info;
    std::sync::Arc::make_mut(&mut f.finding.resource).id = "path/with space:and%".to_owned();
    let sarif = parse(&render(&report, Format::Sarif));
    assert_valid_sarif(&sarif);
    assert!(
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r.get("baselineState").is_none())
    );
}

#[test]
fn the_sarif_validator_rejects_what_the_schema_forbids() {
    let mut sarif = parse(&render(&fixture(), Format::Sarif));
    sarif["runs"][0]["results"][0]["level"] = json!("fatal");
    sarif["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"] = json!({});
    sarif["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("no file here");
    let validator = support::schema_validator(SARIF_SCHEMA);
    let paths: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|error| error.instance_path().to_string())
        .collect();
    for path in [
        "/runs/0/results/0/level",
        "/runs/0/results/1/locations/0/physicalLocation/region",
        "/runs/0/results/2/locations/0/physicalLocation/artifactLocation/uri",
    ] {
        assert!(paths.iter().any(|p| p == path), "{path} not in {paths:?}");
    }
}

/// What GitHub checks beyond the schema; each breaks the whole upload.
#[test]
fn sarif_meets_github_ingestion_rules() {
    let sarif = parse(&render(&fixture(), Format::Sarif));
    let run = &sarif["runs"][0];
    for rule in run["tool"]["driver"]["rules"].as_array().expect("rules") {
        let tags = rule["properties"]["tags"].as_array().expect("tags");
        assert!(tags.len() <= 20, "{rule}");
        if let Some(score) = rule["properties"]["security-severity"].as_str() {
            let score: f64 = score.parse().expect("a number");
            assert!(score > 0.0 && score <= 10.0, "{score}");
        }
        assert!(rule["name"].as_str().expect("name").len() <= 255);
        assert!(
            rule["shortDescription"]["text"]
                .as_str()
                .expect("short")
                .len()
                <= 1024
        );
        assert!(rule["help"]["text"].is_string() && rule["fullDescription"]["text"].is_string());
    }
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty() && results.len() <= 25_000);
    for result in results {
        let locations = result["locations"].as_array().expect("locations");
        assert_eq!(locations.len(), 1, "{result}");
        let uri = locations[0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("a uri");
        let first = uri.split('/').next().unwrap_or_default();
        assert!(!uri.is_empty() && !first.contains(':'), "{uri}");
        assert!(
            uri.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%/".contains(&b)),
            "{uri}"
        );
        assert!(result["partialFingerprints"]["primaryLocationLineHash"].is_string());
    }
}

#[test]
fn sarif_levels_and_scores_follow_severity() {
    let expected = [
        (Severity::Critical, "error", Some("9.5")),
        (Severity::High, "error", Some("8.0")),
        (Severity::Medium, "warning", Some("5.5")),
        (Severity::Low, "note", Some("2.0")),
        (Severity::Info, "note", None),
    ];
    for (severity, level, score) in expected {
        let mut report = fixture();
        let rule = report
            .rules
            .iter_mut()
            .find(|rule| rule.id == "iam-root-mfa-not-enabled")
            .expect("the rule");
        rule.severity = severity;
        let index = report
            .findings
            .iter()
            .position(|f| f.finding.rule_id == "iam-root-mfa-not-enabled")
            .expect("its finding");
        report.findings[index].finding.severity = severity;
        let sarif = parse(&render(&report, Format::Sarif));
        let run = &sarif["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        let (rule_index, rule) = rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule["id"] == "iam-root-mfa-not-enabled")
            .expect("the rule is listed");
        assert_eq!(rule["defaultConfiguration"]["level"], level, "{severity}");
        assert_eq!(
            rule["properties"]["security-severity"].as_str(),
            score,
            "{severity}"
        );
        let result = run["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["ruleId"] == "iam-root-mfa-not-enabled")
            .expect("its result");
        assert_eq!(result["ruleIndex"], rule_index);
        assert_eq!(result["level"], level, "{severity}");
        assert_eq!(
            result["properties"]["security-severity"].as_str(),
            score,
            "{severity}"
        );
        assert_eq!(result["properties"]["severity"], severity.to_string());
    }
}

#[test]
fn sarif_results_carry_fingerprints_and_baselines_and_leave_out_suppressed_findings() {
    let report = fixture();
    let sarif = parse(&render(&report, Format::Sarif));
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().expect("results");
    let failing: Vec<&ReportFinding> = report.findings.iter().filter(|f| f.is_failing()).collect();
    assert_eq!(results.len(), failing.len());
    assert_eq!(results.len(), 64, "the 2 suppressed are left out");
    for (result, finding) in results.iter().zip(&failing) {
        let f = &finding.finding;
        assert_eq!(result["ruleId"], f.rule_id.as_str());
        assert_eq!(
            result["partialFingerprints"],
            json!({ "primaryLocationLineHash": f.fingerprint, "rampart/v1": f.fingerprint })
        );
        let state = match finding.baseline.expect("the fixture has a baseline") {
            BaselineState::New => "new",
            BaselineState::Existing => "unchanged",
        };
        assert_eq!(result["baselineState"], state);
        let location = &result["locations"][0];
        assert_eq!(
            location["logicalLocations"],
            json!([{ "name": f.resource.id, "fullyQualifiedName": f.resource.arn, "kind": "resource" }])
        );
        assert!(result.get("suppressions").is_none(), "{result}");
    }
    assert_eq!(
        results
            .iter()
            .filter(|r| r["baselineState"] == "new")
            .count(),
        1
    );

    let sg = finding(
        &report,
        "ec2-security-group-ssh-open-to-internet",
        "sg-993080de9800979db",
    );
    assert!(sg.suppression.is_some());
    assert!(
        !results
            .iter()
            .any(|r| r["partialFingerprints"]["rampart/v1"] == sg.finding.fingerprint.as_str()),
        "a suppressed finding is no result"
    );
    let guardduty = results
        .iter()
        .find(|r| r["ruleId"] == "guardduty-finding-active")
        .expect("a GuardDuty result");
    assert_eq!(
        guardduty["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "aws/123456789012/us-east-1/guardduty_finding/00c9b3f2e1d4a5b6c7d8e9f0a1b2c3d4"
    );

    assert_eq!(run["automationDetails"]["id"], "rampart/aws/123456789012/");
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert_eq!(invocation["startTimeUtc"], "2026-11-25T02:00:00Z");
    assert_eq!(invocation["endTimeUtc"], "2026-11-25T02:00:03Z");
    let notifications = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    // One collection error, two checks not evaluated.
    assert_eq!(notifications.len(), 3);
    assert!(notifications.iter().all(|n| n["level"] == "warning"));
    assert_eq!(
        notifications[0]["message"]["text"],
        "ec2:DescribeFlowLogs failed in eu-west-1 (UnauthorizedOperation): You are not authorized to perform this operation."
    );
    assert_eq!(
        notifications[1]["associatedRule"]["id"],
        "vpc-flow-logs-disabled"
    );
}

// OCSF.

#[test]
fn ocsf_maps_a_fail_a_pass_and_a_suppressed_finding() {
    let report = fixture();
    let events = parse(&render(&report, Format::Ocsf));
    let events = events.as_array().expect("an array");
    assert_eq!(events.len(), report.findings.len());
    let time = report.scan.finished_at.timestamp_millis();
    assert_eq!(time, 1_795_572_003_000);
    let event = |f: &ReportFinding| {
        events
            .iter()
            .find(|e| e["finding_info"]["uid"] == f.finding.fingerprint.as_str())
            .expect("an event per finding")
            .clone()
    };
    for e in events {
        assert_eq!(e["class_uid"], 2004);
        assert_eq!(e["category_uid"], 2);
        assert_eq!(e["activity_id"], 1);
        assert_eq!(e["type_uid"], 200_401);
        assert_eq!(e["time"], time);
        assert_eq!(e["finding_info"]["created_time"], time);
        assert_eq!(e["cloud"]["provider"], "AWS");
        assert_eq!(e["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(e["cloud"]["account"]["type_id"], 10);
    }

    let fail = event(finding(&report, "iam-root-mfa-not-enabled", "123456789012"));
    assert_eq!(fail["severity_id"], 5);
    assert_eq!(fail["severity"], "Critical");
    assert_eq!(fail["status_id"], 1);
    assert_eq!(fail["status"], "New");
    assert_eq!(fail["status_code"], "FAIL");
    assert_eq!(fail["is_alert"], true);
    assert!(fail.get("status_detail").is_none());
    assert_eq!(fail["metadata"]["event_code"], "iam-root-mfa-not-enabled");
    assert_eq!(fail["metadata"]["version"], "1.5.0");
    assert_eq!(
        fail["message"],
        "The root user of account 123456789012 has no MFA device"
    );
    assert_eq!(
        fail["resources"],
        json!([{
            "uid": "arn:aws:iam::123456789012:root",
            "name": "123456789012",
            "type": "account",
            "cloud_partition": "aws",
        }])
    );
    assert!(fail["cloud"].get("region").is_none(), "global is no region");
    assert_eq!(
        fail["unmapped"]["compliance"]["cis-aws-foundations-3.0"],
        json!(["1.5"])
    );
    assert_eq!(fail["unmapped"]["baseline"], "existing");

    let pass = event(finding(
        &report,
        "ec2-region-imdsv2-default-not-required",
        "us-east-1",
    ));
    assert_eq!(pass["severity_id"], 3);
    assert_eq!(pass["status_id"], 1);
    assert_eq!(pass["status_code"], "PASS");
    assert!(pass.get("message").is_none());
    assert!(pass.get("is_alert").is_none());
    assert_eq!(pass["cloud"]["region"], "us-east-1");
    assert_eq!(pass["resources"][0]["region"], "us-east-1");

    let suppressed = event(finding(
        &report,
        "ec2-security-group-ssh-open-to-internet",
        "sg-993080de9800979db",
    ));
    assert_eq!(suppressed["severity_id"], 4);
    assert_eq!(suppressed["status_id"], 3);
    assert_eq!(suppressed["status"], "Suppressed");
    assert_eq!(suppressed["status_code"], "FAIL");
    assert!(suppressed.get("is_alert").is_none());
    assert_eq!(
        suppressed["status_detail"],
        "Bastion host reached only through the VPN (SEC-142)"
    );
    assert_eq!(
        suppressed["unmapped"]["suppression"]["source"],
        "fixtures/report/suppressions.yaml:3"
    );

    let not_evaluated = event(finding(
        &report,
        "vpc-flow-logs-disabled",
        "vpc-4b9b2a459e65eb3ea",
    ));
    assert_eq!(not_evaluated["status_code"], "NOT_EVALUATED");
    assert_eq!(not_evaluated["status_id"], 1);
    assert_eq!(
        not_evaluated["status_detail"],
        "ec2:DescribeFlowLogs failed (UnauthorizedOperation), so the data this rule reads is missing"
    );
}

// JUnit.

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

/// Parses the document with a real XML parser, failing on anything that is
/// not well-formed, and returns each suite's counts as declared and as
/// counted from its test cases.
fn junit_suites(xml: &str) -> BTreeMap<String, (Counts, Counts)> {
    let mut reader = Reader::from_str(xml);
    let mut suites = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut current: Option<(String, Counts, Counts)> = None;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|err| panic!("malformed at {}: {err}", reader.buffer_position()));
        let (element, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = element {
            let name = e.name().as_ref().to_owned();
            let mut attributes = BTreeMap::new();
            for attribute in e.attributes() {
                let attribute = attribute.expect("a well-formed attribute");
                let key = attribute.key.as_ref().to_owned();
                let value = attribute
                    .normalized_value(XmlVersion::Explicit1_0)
                    .expect("valid references");
                assert!(
                    attributes.insert(key, value.into_owned()).is_none(),
                    "duplicate attribute"
                );
            }
            if stack.is_empty() {
                roots += 1;
            }
            let number = |key: &str| -> usize {
                attributes
                    .get(key)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{name} has a numeric {key}"))
            };
            match name.as_str() {
                "testsuite" => {
                    let declared = Counts {
                        tests: number("tests"),
                        failures: number("failures"),
                        errors: number("errors"),
                        skipped: number("skipped"),
                    };
                    current = Some((attributes["name"].clone(), declared, Counts::default()));
                }
                "testcase" => current.as_mut().expect("inside a suite").2.tests += 1,
                "failure" => current.as_mut().expect("inside a suite").2.failures += 1,
                "error" => current.as_mut().expect("inside a suite").2.errors += 1,
                "skipped" => current.as_mut().expect("inside a suite").2.skipped += 1,
                _ => {}
            }
            if !empty {
                stack.push(name);
            }
        }
        match event {
            Event::End(e) => {
                let name = e.name().as_ref().to_owned();
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()));
                if name == "testsuite" {
                    let (suite, declared, counted) = current.take().expect("a suite");
                    suites.insert(suite, (declared, counted));
                }
            }
            Event::GeneralRef(r) => {
                let known = ["amp", "lt", "gt", "quot", "apos"].contains(&&*r);
                let char_ref = r.resolve_char_ref().expect("a valid character reference");
                assert!(known || char_ref.is_some(), "unknown entity &{};", &*r);
            }
            Event::Text(t) => {
                let text = t.xml10_content();
                assert!(text.chars().all(|c| c >= ' ' || "\t\n\r".contains(c)));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(roots, 1, "one root element");
    suites
}

#[test]
fn junit_is_well_formed_and_counts_each_suite() {
    let report = fixture();
    let xml = render(&report, Format::Junit);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    let suites = junit_suites(&xml);
    for (suite, (declared, counted)) in &suites {
        assert_eq!(declared, counted, "{suite}");
    }
    let counts = |tests, failures, errors, skipped| Counts {
        tests,
        failures,
        errors,
        skipped,
    };
    let expected = [
        ("billing-account-no-alarm-or-budget", counts(1, 0, 0, 0)),
        ("collection", counts(1, 0, 1, 0)),
        ("ec2-region-imdsv2-default-not-required", counts(2, 1, 0, 0)),
        (
            "ec2-security-group-ssh-open-to-internet",
            counts(8, 0, 0, 1),
        ),
        ("guardduty-finding-active", counts(60, 59, 0, 1)),
        ("iam-root-mfa-not-enabled", counts(1, 1, 0, 0)),
        ("iam-root-mfa-not-hardware", counts(1, 1, 0, 0)),
        ("vpc-flow-logs-disabled", counts(5, 2, 0, 2)),
    ];
    let actual: Vec<(&str, Counts)> = suites
        .iter()
        .map(|(name, (declared, _))| (name.as_str(), *declared))
        .collect();
    assert_eq!(actual, expected);
    assert!(xml.contains(
        "<testsuites name=\"rampart\" tests=\"79\" failures=\"64\" errors=\"1\" skipped=\"4\" time=\"3.000\">"
    ));
}

/// The fixture, its first failing finding given `message`.
fn with_first_failing_message(message: &str) -> Report {
    let mut report = fixture();
    let f = report
        .findings
        .iter_mut()
        .find(|f| f.is_failing())
        .expect("a failing finding");
    f.finding.message = Some(message.to_owned());
    report
}

#[test]
fn junit_escapes_what_it_takes_from_the_report() {
    let mut report =
        with_first_failing_message("<a href=\"x\">&'q'</a>\u{0}\u{7}\r\nnext\tline ]]>");
    if let Some(f) = report.findings.iter_mut().find(|f| f.is_failing()) {
        std::sync::Arc::make_mut(&mut f.finding.resource).id = "id\"with<odd>&chars'".to_owned();
    }
    let xml = render(&report, Format::Junit);
    junit_suites(&xml);
    assert!(xml.contains("name=\"id&quot;with&lt;odd&gt;&amp;chars&apos; (us-east-1)\""));
    assert!(xml.contains(
        "<failure message=\"&lt;a href=&quot;x&quot;&gt;&amp;&apos;q&apos;&lt;/a&gt;&#13;&#10;next&#9;line ]]&gt;\" type=\"critical\">&lt;a href=\"x\"&gt;&amp;'q'&lt;/a&gt;&#13;\nnext\tline ]]&gt;\n"
    ));
}

// Markdown.

#[test]
fn markdown_escapes_cells() {
    let report = with_first_failing_message("open | to `all`\nnow");
    let text = render(&report, Format::Markdown);
    let row = text
        .lines()
        .find(|line| line.contains("open \\| to"))
        .expect("the row");
    assert!(row.ends_with("| open \\| to \\`all\\`<br>now |"), "{row}");
    // Cells split on unescaped pipes only: the header's six columns.
    let cells = row.replace("\\|", "").matches('|').count() - 1;
    assert_eq!(cells, 6, "{row}");
}

#[test]
fn markdown_caps_the_findings_table() {
    let mut report = fixture();
    let failing: Vec<ReportFinding> = report
        .findings
        .iter()
        .filter(|f| f.is_failing())
        .cloned()
        .collect();
    while report.findings.iter().filter(|f| f.is_failing()).count() < 250 {
        report.findings.extend(failing.iter().cloned());
    }
    report.refresh_summary();
    let failing = report.summary.failed;
    let text = render(&report, Format::Markdown);
    let rows = text
        .lines()
        .filter(|line| {
            line.starts_with("| critical |")
                || line.starts_with("| high |")
                || line.starts_with("| medium |")
                || line.starts_with("| low |")
        })
        .count();
    // The severity table has one row per severity too.
    assert_eq!(rows - 4, markdown::MAX_ROWS);
    // The findings end the table; the frameworks' controls follow, as
    // many as fit the same budget.
    let more = format!("\n…and {} more.\n", failing - markdown::MAX_ROWS);
    let at = text
        .find(&more)
        .expect("the count of the findings left out");
    let after = &text[at + more.len()..];
    assert!(
        after.is_empty() || after.starts_with("<details>"),
        "{after}"
    );
    assert!(text.len() <= markdown::ROW_BUDGET, "{}", text.len());

    // Long messages: fewer rows, the document still fits a comment.
    for f in &mut report.findings {
        f.finding.message = Some("x".repeat(2_000));
    }
    let text = render(&report, Format::Markdown);
    assert!(text.chars().count() < 65_536, "{}", text.len());
    assert!(text.contains(" more.\n"));

    // A role denied everywhere: the errors are cut short, the findings stay.
    let error = report.collection_errors[0].clone();
    report.collection_errors = vec![error; 300];
    let text = render(&report, Format::Markdown);
    assert_eq!(
        text.lines()
            .filter(|line| line.starts_with("- ec2:DescribeFlowLogs"))
            .count(),
        markdown::MAX_LIST
    );
    assert!(text.contains("\n- …and 250 more.\n"));
    assert!(text.contains("### Failing findings"));
    assert!(text.chars().count() < 65_536, "{}", text.len());
}

#[test]
fn markdown_without_failing_findings_says_so() {
    let mut report = fixture();
    report.findings.retain(|f| !f.is_failing());
    report.collection_errors.clear();
    report
        .findings
        .retain(|f| f.finding.status == Status::Pass || f.suppression.is_some());
    report.expired_suppressions.clear();
    report.resolved = None;
    report.scan.baseline = None;
    report.refresh_summary();
    let text = render(&report, Format::Markdown);
    assert!(text.contains("No failing findings."), "{text}");
    assert!(text.contains("Everything requested was collected and evaluated."));
    assert!(!text.contains("### Failing findings"));
    assert!(!text.contains("Baseline"));
}
