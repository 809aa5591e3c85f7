//! JUnit XML, for CI systems that show test results (GitLab, Jenkins,
//! Azure DevOps, test-reporter actions): one `<testsuite>` per rule, one
//! `<testcase>` per finding.
//!
//! A failing finding is a `<failure>` whose type is its severity; an ERROR
//! is an `<error>`; a check that was not evaluated, and a suppressed FAIL,
//! is `<skipped>` with the reason. Failed collection calls form one more
//! suite, `collection`, of errors: data that could not be read is a fault
//! of the run, and no rule may report it otherwise. Checks are not timed:
//! suites and cases say `time="0"` (reporters parse it as a number), and
//! `<testsuites>` carries the whole run's.
//!
//! Written by hand: the format is small, and [`escape`] is the one place
//! that makes text safe for it.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::results::{BaselineState, Report, ReportFinding};
use crate::snapshot::CollectionError;
use crate::verdict::Status;

/// The suite of failed collection calls.
pub const COLLECTION_SUITE: &str = "collection";

pub fn render(report: &Report) -> String {
    let mut suites: Vec<Suite<'_>> = Vec::new();
    for finding in &report.findings {
        let id = finding.finding.rule_id.as_str();
        match suites.iter_mut().find(|suite| suite.name == id) {
            Some(suite) => suite.findings.push(finding),
            None => suites.push(Suite {
                name: id,
                findings: vec![finding],
            }),
        }
    }
    // Rules in the report's order (with any finding of an unlisted rule
    // last), so the document does not depend on which rule failed first.
    suites.sort_by_key(|suite| {
        report
            .rules
            .iter()
            .position(|rule| rule.id == suite.name)
            .unwrap_or(usize::MAX)
    });

    let mut total = Counts::default();
    let mut body = String::new();
    // UTC, without a zone: the JUnit schema's timestamp has none.
    let timestamp = report
        .scan
        .started_at
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    for suite in &suites {
        let counts = Counts::of(&suite.findings);
        total.add(counts);
        body.push_str(&suite_open(suite.name, counts, &timestamp));
        if let Some(rule) = report.rule(suite.name) {
            body.push_str("    <properties>\n");
            for (name, value) in [
                ("title", rule.title.clone()),
                ("severity", rule.severity.to_string()),
            ] {
                let _ = writeln!(
                    body,
                    "      <property name=\"{name}\" value=\"{}\"/>",
                    escape(&value, true)
                );
            }
            body.push_str("    </properties>\n");
        }
        for finding in &suite.findings {
            body.push_str(&testcase(report, finding));
        }
        body.push_str("  </testsuite>\n");
    }
    if !report.collection_errors.is_empty() {
        let counts = Counts {
            tests: report.collection_errors.len(),
            errors: report.collection_errors.len(),
            ..Counts::default()
        };
        total.add(counts);
        body.push_str(&suite_open(COLLECTION_SUITE, counts, &timestamp));
        for error in &report.collection_errors {
            body.push_str(&collection_case(error));
        }
        body.push_str("  </testsuite>\n");
    }

    let seconds =
        (report.scan.finished_at - report.scan.started_at).num_milliseconds() as f64 / 1000.0;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\">\n{body}</testsuites>\n",
        escape(&report.tool.name, true),
        total.tests,
        total.failures,
        total.errors,
        total.skipped,
    )
}

/// A failed collection call, as an error of the `collection` class.
fn collection_case(error: &CollectionError) -> String {
    let region = error.region.as_deref().unwrap_or("global");
    let call = format!("{}:{}", error.service, error.operation);
    let mut text = format!("{call} failed in {region}: {}", error.message);
    if let Some(resource) = &error.resource {
        let _ = write!(text, "\nResource: {resource}");
    }
    format!(
        "    <testcase classname=\"{COLLECTION_SUITE}\" name=\"{}\" time=\"0\">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n",
        escape(&format!("{call} ({region})"), true),
        escape(&error.message, true),
        escape(&error.code, true),
        escape(&text, false),
    )
}

/// The head of an organization's document. Its suites are written one
/// account at a time, so the totals a single report's `<testsuites>`
/// carries are left out (the attributes are optional; readers add up the
/// suites).
pub fn organization_open(organization_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\">\n",
        escape(&format!("rampart organization {organization_id}"), true)
    )
}

pub const ORGANIZATION_CLOSE: &str = "</testsuites>\n";

/// One scanned account of an organization's document: a suite named
/// `name` with every result of its report (the rule is each case's class)
/// and its failed collection calls as errors.
pub fn account_suite(report: &Report, name: &str) -> String {
    let mut counts = Counts::default();
    let mut cases = String::new();
    for finding in &report.findings {
        counts.add(Counts::of(&[finding]));
        cases.push_str(&testcase(report, finding));
    }
    for error in &report.collection_errors {
        counts.add(Counts {
            tests: 1,
            errors: 1,
            ..Counts::default()
        });
        cases.push_str(&collection_case(error));
    }
    let timestamp = report
        .scan
        .started_at
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    format!(
        "{}{cases}  </testsuite>\n",
        suite_open(name, counts, &timestamp)
    )
}

/// An account of an organization's document that was not scanned: one
/// error saying why (`status` is its manifest status).
pub fn unscanned_suite(
    name: &str,
    status: &str,
    problem: &str,
    timestamp: DateTime<Utc>,
) -> String {
    let counts = Counts {
        tests: 1,
        errors: 1,
        ..Counts::default()
    };
    format!(
        "{}    <testcase classname=\"scan\" name=\"{}\" time=\"0\">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n  </testsuite>\n",
        suite_open(
            name,
            counts,
            &timestamp.format("%Y-%m-%dT%H:%M:%S").to_string()
        ),
        escape(name, true),
        escape(problem, true),
        escape(status, true),
        escape(problem, false),
    )
}

struct Suite<'a> {
    name: &'a str,
    findings: Vec<&'a ReportFinding>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(findings: &[&ReportFinding]) -> Counts {
        let mut counts = Counts::default();
        for finding in findings {
            counts.tests += 1;
            match outcome(finding) {
                Outcome::Failure => counts.failures += 1,
                Outcome::Error => counts.errors += 1,
                Outcome::Skipped => counts.skipped += 1,
                Outcome::Pass => {}
            }
        }
        counts
    }

    fn add(&mut self, other: Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }
}

enum Outcome {
    Pass,
    Failure,
    Error,
    Skipped,
}

fn outcome(finding: &ReportFinding) -> Outcome {
    match finding.finding.status {
        Status::Pass => Outcome::Pass,
        Status::Fail if finding.suppression.is_some() => Outcome::Skipped,
        Status::Fail => Outcome::Failure,
        Status::Error => Outcome::Error,
        Status::NotEvaluated => Outcome::Skipped,
    }
}

fn suite_open(name: &str, counts: Counts, timestamp: &str) -> String {
    format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\" timestamp=\"{timestamp}\">\n",
        escape(name, true),
        counts.tests,
        counts.failures,
        counts.errors,
        counts.skipped,
    )
}

fn testcase(report: &Report, finding: &ReportFinding) -> String {
    let f = &finding.finding;
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
        escape(&f.rule_id, true),
        escape(&case_name(finding), true),
    );
    let message = f.message.as_deref().unwrap_or(report.title_of(f));
    let inner = match outcome(finding) {
        Outcome::Pass => return format!("{open}/>\n"),
        Outcome::Failure => {
            let mut text = format!("{message}\n\nResource: {}", f.resource.arn);
            match finding.baseline {
                Some(BaselineState::New) => text.push_str("\nBaseline: new"),
                Some(BaselineState::Existing) => text.push_str("\nBaseline: existing"),
                None => {}
            }
            let remediation = report.rule(&f.rule_id).map(|rule| &rule.remediation);
            if let Some(remediation) = remediation {
                let _ = write!(text, "\n\nRemediation: {}", remediation.text.trim_end());
            }
            if let Some(cli) = remediation
                .and_then(|remediation| remediation.cli.as_deref())
                .map(str::trim_end)
            {
                let _ = write!(text, "\n\nAWS CLI:\n{cli}");
            }
            format!(
                "<failure message=\"{}\" type=\"{}\">{}</failure>",
                escape(message, true),
                f.severity,
                escape(&text, false)
            )
        }
        Outcome::Error => format!(
            "<error message=\"{}\" type=\"{}\">{}</error>",
            escape(message, true),
            f.severity,
            escape(&format!("{message}\n\nResource: {}", f.resource.arn), false)
        ),
        Outcome::Skipped => {
            let reason = match &finding.suppression {
                Some(suppression) => {
                    let mut reason =
                        format!("suppressed: {} ({}", suppression.reason, suppression.source);
                    if let Some(expires) = suppression.expires {
                        let _ = write!(reason, ", expires {expires}");
                    }
                    reason.push(')');
                    reason
                }
                None => format!("not evaluated: {message}"),
            };
            // Jenkins reads the attribute, GitLab the text.
            format!(
                "<skipped message=\"{}\">{}</skipped>",
                escape(&reason, true),
                escape(&reason, false)
            )
        }
    };
    format!("{open}>\n      {inner}\n    </testcase>\n")
}

/// The resource and its region; a region resource is named by its region
/// alone.
fn case_name(finding: &ReportFinding) -> String {
    let resource = &finding.finding.resource;
    if resource.id == resource.region {
        resource.id.clone()
    } else {
        format!("{} ({})", resource.id, resource.region)
    }
}

/// Makes `text` safe in XML 1.0 element content, or in a double- or
/// single-quoted attribute value when `attribute` is set. Characters XML 1.0
/// cannot carry at all (most C0 controls, U+FFFE, U+FFFF) are dropped; a
/// carriage return is written as a reference, which parsers keep, where a
/// literal one would be turned into a newline. In attributes, newlines and
/// tabs are references too: parsers would otherwise turn them into spaces.
pub fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => {
                out.push(c)
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            escape("a<b>&\"c'\u{0}\u{1b}\u{FFFE}d", false),
            "a&lt;b&gt;&amp;\"c'd"
        );
        assert_eq!(
            escape("\"x'\ty\nz\r", true),
            "&quot;x&apos;&#9;y&#10;z&#13;"
        );
        assert_eq!(escape("l1\nl2\r\n", false), "l1\nl2&#13;\n");
        assert_eq!(escape("😀 é", true), "😀 é");
    }
}
