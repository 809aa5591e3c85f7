//! SARIF 2.1.0, shaped for GitHub code scanning (`upload-sarif` or the
//! code-scanning API) and readable by any SARIF viewer.
//!
//! Choices, and why:
//!
//! - **Results.** One per FAIL finding. PASS and NOT_EVALUATED are not
//!   results: GitHub ignores `result.kind`, so each would open an alert.
//!   Checks that could not be evaluated (NOT_EVALUATED, ERROR) and failed
//!   collection calls become warning `toolExecutionNotifications` instead.
//! - **Suppressed FAILs** are left out. GitHub ignores SARIF
//!   `suppressions` and would open (or keep open) an alert for each; left
//!   out, the next upload closes it. The JSON report keeps them, with their
//!   reasons.
//! - **Location.** GitHub rejects the whole file when a result has no
//!   physical location, an empty URI, or an absolute URI whose scheme is not
//!   `file`, and an ARN is an absolute URI (scheme `arn`). A relative path
//!   that is not in the repository is accepted (the alert shows no code).
//!   So the artifact URI is the synthetic path
//!   `<partition>/<account>/<region>/<resource type>/<resource id>`, each
//!   segment percent-encoded: stable across scans, because GitHub matches
//!   alerts on it. The ARN itself is in `logicalLocations` (kind
//!   `resource`, which GitHub ignores but other viewers show), in the
//!   location's message and in the result's properties.
//! - **Fingerprints.** GitHub reads only `primaryLocationLineHash` and
//!   cannot compute one for a file that does not exist, so it is set to the
//!   finding's fingerprint (a digest of the rule id and the ARN), as is
//!   `rampart/v1`, which names how it is computed.
//! - **Severity.** `security-severity` sits on each rule, where GitHub
//!   reads it, at mid-band values (critical 9.5, high 8.0, medium 5.5,
//!   low 2.0) so no score lands on a band edge; info rules get none, which
//!   keeps them out of the security alerts. Each result repeats its own
//!   score because a rule's findings can take another severity (GuardDuty
//!   findings keep GuardDuty's). `level` is error for critical and high,
//!   warning for medium, note for low and info.
//! - **Category.** `automationDetails.id` is `rampart/<partition>/<account>/`:
//!   a later upload in the same category closes the alerts it lacks, so two
//!   accounts must never share one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::results::{BaselineState, Report, ReportFinding, RuleInfo};
use crate::snapshot::ToolInfo;
use crate::verdict::Severity;
use crate::verdict::Status;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// GitHub keeps at most 20 tags per rule.
const MAX_TAGS: usize = 20;

pub fn render(report: &Report) -> String {
    super::pretty_json(&Log::of(report))
}

pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    super::write_pretty_json(&Log::of(report), out)
}

/// An organization's merged log, written account by account: one run
/// (GitHub code scanning takes at most 20 runs per file), each result's
/// location naming its account; the accounts' notifications (failed
/// calls, checks not evaluated) are kept, serialised, for the run's one
/// invocation at the end.
pub struct OrganizationLog {
    notifications: Vec<String>,
    results: usize,
}

impl OrganizationLog {
    /// The opening, up to the first result. `rules` are every account's
    /// (one rules version across the organization); `category` keeps the
    /// organization's alerts apart from single-account uploads.
    pub fn begin(
        out: &mut dyn std::io::Write,
        tool: &ToolInfo,
        rules: &[RuleInfo],
        category: &str,
    ) -> std::io::Result<OrganizationLog> {
        write!(
            out,
            "{{\"$schema\":\"{SCHEMA}\",\"version\":\"2.1.0\",\"runs\":[{{\"tool\":"
        )?;
        serde_json::to_writer(&mut *out, &driver(tool, rules))?;
        out.write_all(b",\"automationDetails\":")?;
        serde_json::to_writer(
            &mut *out,
            &AutomationDetails {
                id: category.to_owned(),
            },
        )?;
        out.write_all(b",\"results\":[")?;
        Ok(OrganizationLog {
            notifications: Vec::new(),
            results: 0,
        })
    }

    /// One account's results.
    pub fn account(
        &mut self,
        report: &Report,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let index = rule_indices(report);
        for result in results_of(report, &index) {
            if self.results > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, &result)?;
            self.results += 1;
        }
        for mut notification in notifications_of(report, &index) {
            notification.message.text = format!(
                "account {}: {}",
                report.scan.account_id, notification.message.text
            );
            self.notifications
                .push(serde_json::to_string(&notification)?);
        }
        Ok(())
    }

    /// The run's invocation (from the first shard's start to the last
    /// one's end) with every account's notifications, and the closing.
    pub fn end(
        self,
        out: &mut dyn std::io::Write,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    ) -> std::io::Result<()> {
        let times = serde_json::to_string(&Invocation {
            execution_successful: true,
            start_time_utc: started_at,
            end_time_utc: finished_at,
            tool_execution_notifications: Vec::new(),
        })?;
        let open = times.strip_suffix('}').unwrap_or(&times);
        writeln!(
            out,
            "],\"invocations\":[{open},\"toolExecutionNotifications\":[{}]}}]}}]}}",
            self.notifications.join(",")
        )
    }
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    automation_details: AutomationDetails,
    invocations: [Invocation<'a>; 1],
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    semantic_version: &'a str,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    name: &'a str,
    short_description: Message,
    full_description: Message,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

impl Message {
    fn new(text: impl Into<String>) -> Message {
        Message { text: text.into() }
    }
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: Level,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Error,
    Warning,
    Note,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    start_time_utc: DateTime<Utc>,
    end_time_utc: DateTime<Utc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    level: Level,
    message: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_rule: Option<RuleReference<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location<'a>>,
}

#[derive(Serialize)]
struct RuleReference<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: Level,
    message: Message,
    locations: [Location<'a>; 1],
    partial_fingerprints: Fingerprints<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
struct Fingerprints<'a> {
    #[serde(rename = "primaryLocationLineHash")]
    github: &'a str,
    #[serde(rename = "rampart/v1")]
    rampart: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation,
    logical_locations: [LogicalLocation<'a>; 1],
    message: Message,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

/// GitHub documents all four as required; there are no lines, so the
/// region is the start of the (nonexistent) file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    severity: Severity,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
    resource_arn: &'a str,
    resource_type: &'static str,
    region: &'a str,
    account: &'a str,
}

/// Each rule's position in the report's rules, as results refer to it.
fn rule_indices(report: &Report) -> BTreeMap<&str, usize> {
    report
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| (rule.id.as_str(), i))
        .collect()
}

/// The report's results: one per failing finding.
fn results_of<'a>(
    report: &'a Report,
    index: &BTreeMap<&str, usize>,
) -> impl Iterator<Item = SarifResult<'a>> {
    report
        .findings
        .iter()
        .filter(|f| f.is_failing())
        .map(move |f| result(report, f, index.get(f.finding.rule_id.as_str()).copied()))
}

/// What the run could not do: each failed call, each check not evaluated.
fn notifications_of<'a>(
    report: &'a Report,
    index: &BTreeMap<&str, usize>,
) -> Vec<Notification<'a>> {
    report
        .collection_errors
        .iter()
        .map(|error| {
            let mut text = format!(
                "{}:{} failed in {} ({}): {}",
                error.service,
                error.operation,
                error.region.as_deref().unwrap_or("global"),
                error.code,
                error.message
            );
            if let Some(resource) = &error.resource {
                text.push_str(&format!(" (resource {resource})"));
            }
            Notification {
                level: Level::Warning,
                message: Message::new(text),
                associated_rule: None,
                locations: Vec::new(),
            }
        })
        .chain(
            report
                .findings
                .iter()
                .filter(|f| matches!(f.finding.status, Status::NotEvaluated | Status::Error))
                .map(|f| unevaluated(report, f, index.get(f.finding.rule_id.as_str()).copied())),
        )
        .collect()
}

fn driver<'a>(tool: &'a ToolInfo, rules: &'a [RuleInfo]) -> Tool<'a> {
    Tool {
        driver: Driver {
            name: &tool.name,
            semantic_version: &tool.version,
            rules: rules.iter().map(rule).collect(),
        },
    }
}

impl<'a> Log<'a> {
    fn of(report: &'a Report) -> Log<'a> {
        let index = rule_indices(report);
        let results = results_of(report, &index).collect();
        let notifications = notifications_of(report, &index);
        Log {
            schema: SCHEMA,
            version: "2.1.0",
            runs: [Run {
                tool: driver(&report.tool, &report.rules),
                automation_details: AutomationDetails {
                    id: format!(
                        "{}/{}/{}/",
                        report.tool.name, report.scan.partition, report.scan.account_id
                    ),
                },
                invocations: [Invocation {
                    execution_successful: true,
                    start_time_utc: report.scan.started_at,
                    end_time_utc: report.scan.finished_at,
                    tool_execution_notifications: notifications,
                }],
                results,
            }],
        }
    }
}

fn rule(rule: &RuleInfo) -> Rule<'_> {
    let service = crate::results::service_of(&rule.id);
    let mut tags = vec!["security".to_owned(), service.to_owned()];
    for (framework, controls) in &rule.compliance {
        tags.extend(
            controls
                .iter()
                .map(|control| format!("{framework}/{control}")),
        );
    }
    tags.truncate(MAX_TAGS);
    Rule {
        id: &rule.id,
        name: &rule.id,
        short_description: Message::new(rule.title.as_str()),
        full_description: Message::new(rule.description.as_str()),
        help: Help {
            text: help_text(rule),
            markdown: help_markdown(rule),
        },
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: RuleProperties {
            tags,
            // Rules evaluate recorded configuration: a FAIL is a fact about
            // the account, not a guess.
            precision: "very-high",
            security_severity: security_severity(rule.severity),
        },
    }
}

/// Rationale, remediation, CLI steps, compliance and references, as plain
/// text for viewers without Markdown.
fn help_text(rule: &RuleInfo) -> String {
    let mut text = format!(
        "{}\n\nRemediation: {}",
        rule.rationale,
        rule.remediation.text.trim()
    );
    if let Some(cli) = cli(rule) {
        text.push_str(&format!("\n\nAWS CLI:\n{cli}"));
    }
    if !rule.compliance.is_empty() {
        text.push_str(&format!("\n\nCompliance: {}", compliance(rule, "; ")));
    }
    if !rule.references.is_empty() {
        text.push_str("\n\nReferences:");
        for reference in &rule.references {
            text.push_str(&format!("\n- {reference}"));
        }
    }
    text
}

/// What GitHub shows on the alert page in place of the plain text.
fn help_markdown(rule: &RuleInfo) -> String {
    let mut text = format!(
        "{}\n\n**Remediation.** {}",
        rule.rationale,
        rule.remediation.text.trim()
    );
    if let Some(cli) = cli(rule) {
        let fence = fence_for(cli);
        text.push_str(&format!("\n\n{fence}shell\n{cli}\n{fence}"));
    }
    if !rule.compliance.is_empty() {
        text.push_str(&format!("\n\n**Compliance.** {}", compliance(rule, "; ")));
    }
    if !rule.references.is_empty() {
        text.push_str("\n\n**References**\n");
        for reference in &rule.references {
            text.push_str(&format!("\n- {reference}"));
        }
    }
    text
}

fn cli(rule: &RuleInfo) -> Option<&str> {
    rule.remediation
        .cli
        .as_deref()
        .map(str::trim_end)
        .filter(|cli| !cli.is_empty())
}

/// `framework control, control` per framework.
fn compliance(rule: &RuleInfo, separator: &str) -> String {
    rule.compliance
        .iter()
        .map(|(framework, controls)| format!("{framework} {}", controls.join(", ")))
        .collect::<Vec<_>>()
        .join(separator)
}

/// A code fence longer than any run of backticks in `code`, so the code
/// cannot close it.
fn fence_for(code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

fn result<'a>(
    report: &'a Report,
    finding: &'a ReportFinding,
    rule_index: Option<usize>,
) -> SarifResult<'a> {
    let f = &finding.finding;
    SarifResult {
        rule_id: &f.rule_id,
        rule_index,
        level: level(f.severity),
        message: Message::new(f.message.as_deref().unwrap_or(report.title_of(f))),
        locations: [location(report, finding)],
        partial_fingerprints: Fingerprints {
            github: &f.fingerprint,
            rampart: &f.fingerprint,
        },
        // Set only when the report was compared with a baseline.
        baseline_state: finding.baseline.map(|state| match state {
            BaselineState::New => "new",
            BaselineState::Existing => "unchanged",
        }),
        properties: ResultProperties {
            severity: f.severity,
            security_severity: security_severity(f.severity),
            resource_arn: &f.resource.arn,
            resource_type: f.resource.resource_type.name(),
            region: &f.resource.region,
            account: &f.resource.account,
        },
    }
}

/// A check that could not say pass or fail, as a warning about the run.
fn unevaluated<'a>(
    report: &'a Report,
    finding: &'a ReportFinding,
    rule_index: Option<usize>,
) -> Notification<'a> {
    let f = &finding.finding;
    let what = match f.status {
        Status::Error => "could not be evaluated (error)",
        _ => "was not evaluated",
    };
    let mut text = format!("{} {what} for {}", f.rule_id, f.resource.arn);
    if let Some(message) = &f.message {
        text.push_str(&format!(": {message}"));
    }
    Notification {
        level: Level::Warning,
        message: Message::new(text),
        associated_rule: Some(RuleReference {
            id: &f.rule_id,
            index: rule_index,
        }),
        locations: vec![location(report, finding)],
    }
}

fn location<'a>(report: &Report, finding: &'a ReportFinding) -> Location<'a> {
    let resource = &finding.finding.resource;
    let uri = [
        report.scan.partition.as_str(),
        &resource.account,
        &resource.region,
        resource.resource_type.name(),
        &resource.id,
    ]
    .map(encode_segment)
    .join("/");
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri },
            region: Region {
                start_line: 1,
                start_column: 1,
                end_line: 1,
                end_column: 1,
            },
        },
        logical_locations: [LogicalLocation {
            name: &resource.id,
            fully_qualified_name: &resource.arn,
            kind: "resource",
        }],
        message: Message::new(resource.arn.as_str()),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so the
/// path has no scheme, no `:` in its first segment and no `/` inside a
/// segment. A segment of dots alone is encoded too: `.` and `..` would
/// otherwise be read as path steps.
fn encode_segment(segment: &str) -> String {
    let dots_only = !segment.is_empty() && segment.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || (matches!(byte, b'-' | b'.' | b'_' | b'~') && !dots_only)
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn level(severity: Severity) -> Level {
    match severity {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low | Severity::Info => Level::Note,
    }
}

/// GitHub's bands: critical above 9.0, high 7.0 to 8.9, medium 4.0 to 6.9,
/// low 0.1 to 3.9.
fn security_severity(severity: Severity) -> Option<&'static str> {
    match severity {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("2.0"),
        Severity::Info => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("sg-0a1B_c.d~e"), "sg-0a1B_c.d~e");
        assert_eq!(encode_segment("user/path name:x"), "user%2Fpath%20name%3Ax");
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn fences_outrun_the_code() {
        assert_eq!(fence_for("aws s3 ls"), "```");
        assert_eq!(fence_for("echo ````x````"), "`````");
    }
}
