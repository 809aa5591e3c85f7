//! OCSF: one Detection Finding (class 2004) per finding, every status
//! included, as a JSON array — the shape Prowler's `json-ocsf` output has,
//! so pipelines that load that (Security Lake, SIEMs) load this too.
//!
//! Mapping, and why:
//!
//! - `status_code` is rampart's status (`FAIL`, `PASS`, `NOT_EVALUATED`,
//!   `ERROR`); `status_id` is the triage state OCSF defines for findings:
//!   Suppressed (3) when a suppression applies, New (1) otherwise, as
//!   Prowler does. `status_detail` says why, where the message does not:
//!   the suppression's reason, or why the check could not be made.
//!   `is_alert` marks the failing findings, the ones that call for action.
//! - `finding_info.uid` is the fingerprint, stable across scans, so a
//!   consumer updates one finding rather than piling up copies;
//!   `metadata.event_code` and `finding_info.analytic` name the rule.
//! - `time` and `finding_info.created_time` are when the scan finished, in
//!   epoch milliseconds (OCSF's `timestamp_t`).
//! - The resource's region is left out for account-wide resources: rampart
//!   calls them `global`, which is no AWS region.
//! - Compliance mappings, equivalent checks in other tools, the CLI steps,
//!   the suppression and the baseline state have no attribute in the
//!   Detection Finding class (`compliance` belongs to Compliance Finding),
//!   so they go in `unmapped`.
//! - OCSF 1.5.0, the release Prowler emits; every attribute used but
//!   `is_alert` exists from 1.1 on.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::results::{AppliedSuppression, BaselineState, Report, ReportFinding};
use crate::snapshot::iam::GLOBAL_REGION;
use crate::verdict::Severity;
use crate::verdict::Status;

/// The OCSF schema release these events follow.
pub const OCSF_VERSION: &str = "1.5.0";

const CLASS_UID: u32 = 2004;
/// Activity Create: rampart reports findings afresh on every scan.
const ACTIVITY_ID: u32 = 1;

pub fn render(report: &Report) -> String {
    super::pretty_json(&Findings(report))
}

/// Streams the findings to `out`, one built at a time.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    super::write_pretty_json(&Findings(report), out)
}

/// One report's findings as elements of a larger array (an organization's
/// merged findings): each compact, preceded by a comma unless `first`.
/// Whether any was written.
pub fn write_elements(
    report: &Report,
    out: &mut dyn std::io::Write,
    first: bool,
) -> std::io::Result<bool> {
    let mut wrote = false;
    for finding in &report.findings {
        if !first || wrote {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &DetectionFinding::of(report, finding))?;
        wrote = true;
    }
    Ok(wrote)
}

/// Every result of a report as an OCSF Detection Finding, serialised as a
/// sequence without collecting them first.
struct Findings<'a>(&'a Report);

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        serializer.collect_seq(
            report
                .findings
                .iter()
                .map(|finding| DetectionFinding::of(report, finding)),
        )
    }
}

#[derive(Serialize)]
struct DetectionFinding<'a> {
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    time: i64,
    severity_id: u32,
    severity: &'static str,
    status_id: u32,
    status: &'static str,
    status_code: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_detail: Option<&'a str>,
    /// Set on failing findings only: the ones that call for action.
    #[serde(skip_serializing_if = "Option::is_none")]
    is_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    metadata: Metadata<'a>,
    finding_info: FindingInfo<'a>,
    cloud: Cloud<'a>,
    resources: [Resource<'a>; 1],
    remediation: Remediation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk_details: Option<&'a str>,
    #[serde(skip_serializing_if = "Unmapped::is_empty")]
    unmapped: Unmapped<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product<'a>,
    event_code: &'a str,
    profiles: [&'static str; 1],
}

#[derive(Serialize)]
struct Product<'a> {
    uid: &'a str,
    name: &'a str,
    vendor_name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    desc: Option<&'a str>,
    /// `service/resource type`: what the rule looks at, for filtering.
    types: [String; 1],
    created_time: i64,
    analytic: Analytic<'a>,
}

#[derive(Serialize)]
struct Analytic<'a> {
    uid: &'a str,
    name: &'a str,
    /// 1: Rule.
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    account: Account<'a>,
}

#[derive(Serialize)]
struct Account<'a> {
    uid: &'a str,
    /// 10: AWS Account.
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Resource<'a> {
    uid: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    cloud_partition: &'a str,
}

#[derive(Serialize)]
struct Remediation<'a> {
    desc: &'a str,
    #[serde(skip_serializing_if = "no_references")]
    references: &'a [String],
}

#[derive(Serialize)]
struct Unmapped<'a> {
    #[serde(skip_serializing_if = "no_entries")]
    compliance: &'a BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "no_entries")]
    equivalents: &'a BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation_cli: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<&'a AppliedSuppression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<BaselineState>,
}

fn no_references(references: &&[String]) -> bool {
    references.is_empty()
}

fn no_entries(map: &&BTreeMap<String, Vec<String>>) -> bool {
    map.is_empty()
}

impl Unmapped<'_> {
    fn is_empty(&self) -> bool {
        self.compliance.is_empty()
            && self.equivalents.is_empty()
            && self.remediation_cli.is_none()
            && self.suppression.is_none()
            && self.baseline.is_none()
    }
}

impl<'a> DetectionFinding<'a> {
    fn of(report: &'a Report, finding: &'a ReportFinding) -> DetectionFinding<'a> {
        let f = &finding.finding;
        let rule = report.rule(&f.rule_id);
        let time = report.scan.finished_at.timestamp_millis();
        let (severity_id, severity) = severity(f.severity);
        let (status_id, status) = match finding.suppression {
            Some(_) => (3, "Suppressed"),
            None => (1, "New"),
        };
        // Why the finding has its status, where that is not its message:
        // the suppression's reason, or why the check could not be made.
        let status_detail = match (&finding.suppression, f.status) {
            (Some(suppression), _) => Some(suppression.reason.as_str()),
            (None, Status::NotEvaluated | Status::Error) => f.message.as_deref(),
            (None, _) => None,
        };
        let region = Some(f.resource.region.as_str()).filter(|region| *region != GLOBAL_REGION);
        let resource_type = f.resource.resource_type.name();
        DetectionFinding {
            category_uid: 2,
            category_name: "Findings",
            class_uid: CLASS_UID,
            class_name: "Detection Finding",
            activity_id: ACTIVITY_ID,
            activity_name: "Create",
            type_uid: CLASS_UID * 100 + ACTIVITY_ID,
            type_name: "Detection Finding: Create",
            time,
            severity_id,
            severity,
            status_id,
            status,
            status_code: f.status,
            status_detail,
            is_alert: finding.is_failing().then_some(true),
            message: f.message.as_deref(),
            metadata: Metadata {
                version: OCSF_VERSION,
                product: Product {
                    uid: &report.tool.name,
                    name: &report.tool.name,
                    vendor_name: &report.tool.name,
                    version: &report.tool.version,
                },
                event_code: &f.rule_id,
                profiles: ["cloud"],
            },
            finding_info: FindingInfo {
                uid: &f.fingerprint,
                title: report.title_of(f),
                desc: rule.map(|rule| rule.description.as_str()),
                types: [format!("{}/{resource_type}", finding.service())],
                created_time: time,
                analytic: Analytic {
                    uid: &f.rule_id,
                    name: &f.rule_id,
                    type_id: 1,
                    kind: "Rule",
                },
            },
            cloud: Cloud {
                provider: "AWS",
                region,
                account: Account {
                    uid: &f.resource.account,
                    type_id: 10,
                    kind: "AWS Account",
                },
            },
            resources: [Resource {
                uid: &f.resource.arn,
                name: &f.resource.id,
                kind: resource_type,
                region,
                cloud_partition: &report.scan.partition,
            }],
            remediation: Remediation {
                desc: rule.map_or("", |rule| rule.remediation.text.trim_end()),
                references: rule.map_or(&[], |rule| rule.references.as_slice()),
            },
            risk_details: rule.map(|rule| rule.rationale.as_str()),
            unmapped: Unmapped {
                compliance: rule.map_or(NONE, |rule| &rule.compliance),
                equivalents: rule.map_or(NONE, |rule| &rule.equivalents),
                remediation_cli: rule
                    .and_then(|rule| rule.remediation.cli.as_deref())
                    .map(str::trim_end)
                    .filter(|cli| !cli.is_empty()),
                suppression: finding.suppression.as_deref(),
                baseline: finding.baseline,
            },
        }
    }
}

/// A rule missing from the report maps to no controls.
const NONE: &BTreeMap<String, Vec<String>> = &BTreeMap::new();

/// OCSF `severity_id` and its caption.
fn severity(severity: Severity) -> (u32, &'static str) {
    match severity {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}
