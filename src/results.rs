//! The report: everything one run found, in the versioned JSON format of
//! record. Every other format (terminal, SARIF, OCSF, JUnit, Markdown) is
//! rendered from this model alone, so `rampart report` can re-render a saved
//! report without AWS access and get exactly what the scan would have shown.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::compliance::{self, FrameworkStatus};
use crate::engine::resources::{ResourceRef, ResourceType};
use crate::engine::rule::{Remediation, Rule};
use crate::engine::{self, Finding};
use crate::error::FileError;
use crate::files::{self, Document, Versions};
use crate::snapshot::{CollectionError, Snapshot, ToolInfo};
use crate::verdict::{Severity, Status};

/// Bumped on any change to the format, a field added included: the schema
/// of each version (`schemas/report-v{N}.schema.json`) forbids unknown
/// fields, as the reader does.
pub const REPORT_SCHEMA_VERSION: u32 = 4;

/// Reports of versions 1 (which repeated each rule's documentation in every
/// result), 2 (which listed passes resource by resource) and 3 (without
/// the compliance view, which is derived when they are read) are read too,
/// as baselines and for `rampart report` and `diff`.
const VERSIONS: Versions = Versions {
    current: REPORT_SCHEMA_VERSION,
    oldest: 1,
    upgrade,
};

fn upgrade(found: u32, document: &mut serde_json::Value) {
    if found < 2 {
        upgrade_from_v1(document);
    }
    if found < 3 {
        upgrade_from_v2(document);
    }
    // Version 4 adds the compliance view, derived as the report is read.
    if let Some(object) = document.as_object_mut() {
        object.insert(
            "schema_version".to_owned(),
            serde_json::Value::from(REPORT_SCHEMA_VERSION),
        );
    }
}

/// Version 2 holds a rule's title, remediation, compliance and
/// equivalents once, under `rules`, and derives a result's service from
/// its rule id; empty fields of a result are left out.
fn upgrade_from_v1(document: &mut serde_json::Value) {
    if let Some(findings) = document
        .get_mut("findings")
        .and_then(serde_json::Value::as_array_mut)
    {
        for finding in findings
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            for field in [
                "title",
                "remediation",
                "compliance",
                "equivalents",
                "service",
            ] {
                finding.remove(field);
            }
        }
    }
    if let Some(object) = document.as_object_mut() {
        // Version 1's `findings` held the passes too.
        object.insert("passed".to_owned(), serde_json::Value::Array(Vec::new()));
    }
}

/// Version 3 groups the resources that passed the same rules; a version 2
/// entry (one resource with its rules) is a group of one.
fn upgrade_from_v2(document: &mut serde_json::Value) {
    let Some(passed) = document
        .get_mut("passed")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    for entry in passed.iter_mut() {
        let Some(resource) = entry.as_object_mut() else {
            continue;
        };
        let rules = resource.remove("rules").unwrap_or(serde_json::Value::Null);
        *entry = serde_json::json!({
            "rules": rules,
            "resources": [std::mem::take(resource)],
        });
    }
}

/// A report in memory holds every result in one list; written, passing
/// results are only what identifies them, rule ids and resources
/// (`passed`), with the resources that passed the same rules grouped under
/// them once: the rest of a PASS (its severity, its fingerprint) follows
/// from its rule and resource, and is restored when the report is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ReportFile<'static, ReportFinding, Passed<Arc<ResourceRef>, String>>")]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub scan: ScanInfo,
    pub summary: Summary,
    /// Calls that failed during collection: what they would have returned
    /// could not be evaluated.
    pub collection_errors: Vec<CollectionError>,
    /// Every rule that ran, with its documentation.
    pub rules: Vec<RuleInfo>,
    /// Every result: one per rule and resource, most severe first.
    pub findings: Vec<ReportFinding>,
    /// Suppressions whose expiry date has passed: they no longer apply.
    pub expired_suppressions: Vec<SuppressionSource>,
    /// With a baseline: findings failing there that no longer fail here.
    pub resolved: Option<Vec<ResolvedFinding>>,
    /// Each compliance framework's controls, with their status.
    pub compliance: Vec<FrameworkStatus>,
}

/// The report as written: results other than PASS in full, passes grouped
/// by the rules passed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportFile<'a, F, P> {
    schema_version: u32,
    tool: Cow<'a, ToolInfo>,
    scan: Cow<'a, ScanInfo>,
    summary: Cow<'a, Summary>,
    collection_errors: Cow<'a, [CollectionError]>,
    rules: Cow<'a, [RuleInfo]>,
    findings: Vec<F>,
    passed: Vec<P>,
    expired_suppressions: Cow<'a, [SuppressionSource]>,
    resolved: Cow<'a, Option<Vec<ResolvedFinding>>>,
    /// Absent before version 4.
    #[serde(default)]
    compliance: Option<Cow<'a, [FrameworkStatus]>>,
}

/// Resources that passed the same rules, as written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Passed<R, I> {
    rules: Vec<I>,
    resources: Vec<R>,
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Each resource's passes, in the order results are written...
        let mut by_resource: Vec<(&Arc<ResourceRef>, Vec<&str>)> = Vec::new();
        let mut at: HashMap<(&str, ResourceType), usize> = HashMap::new();
        for finding in self.findings.iter().map(|f| &f.finding) {
            if finding.status != Status::Pass {
                continue;
            }
            let key = (
                finding.resource.arn.as_str(),
                finding.resource.resource_type,
            );
            let index = *at.entry(key).or_insert_with(|| {
                by_resource.push((&finding.resource, Vec::new()));
                by_resource.len() - 1
            });
            by_resource[index].1.push(&finding.rule_id);
        }
        // ...then one group per set of rules passed, in order of first
        // appearance: most resources of a type pass the same rules.
        let mut passed: Vec<Passed<&Arc<ResourceRef>, &str>> = Vec::new();
        let mut group_of: HashMap<Vec<&str>, usize> = HashMap::new();
        for (resource, mut rules) in by_resource {
            rules.sort_unstable();
            let index = *group_of.entry(rules).or_insert_with_key(|rules| {
                passed.push(Passed {
                    rules: rules.clone(),
                    resources: Vec::new(),
                });
                passed.len() - 1
            });
            passed[index].resources.push(resource);
        }
        ReportFile {
            schema_version: self.schema_version,
            tool: Cow::Borrowed(&self.tool),
            scan: Cow::Borrowed(&self.scan),
            summary: Cow::Borrowed(&self.summary),
            collection_errors: Cow::Borrowed(&self.collection_errors),
            rules: Cow::Borrowed(&self.rules),
            findings: self
                .findings
                .iter()
                .filter(|f| f.finding.status != Status::Pass)
                .collect::<Vec<_>>(),
            passed,
            expired_suppressions: Cow::Borrowed(&self.expired_suppressions),
            resolved: Cow::Borrowed(&self.resolved),
            compliance: Some(Cow::Borrowed(&self.compliance)),
        }
        .serialize(serializer)
    }
}

impl TryFrom<ReportFile<'static, ReportFinding, Passed<Arc<ResourceRef>, String>>> for Report {
    type Error = String;

    fn try_from(
        file: ReportFile<'static, ReportFinding, Passed<Arc<ResourceRef>, String>>,
    ) -> Result<Self, String> {
        let mut findings = file.findings;
        for group in file.passed {
            for rule_id in group.rules {
                let Some(rule) = file.rules.iter().find(|rule| rule.id == rule_id) else {
                    return Err(format!(
                        "`passed` names rule `{rule_id}`, which is not under `rules`"
                    ));
                };
                for resource in &group.resources {
                    findings.push(ReportFinding::new(Finding {
                        severity: rule.severity,
                        status: Status::Pass,
                        resource: Arc::clone(resource),
                        message: None,
                        fingerprint: Finding::fingerprint_of(&rule_id, &resource.arn),
                        rule_id: rule_id.clone(),
                    }));
                }
            }
        }
        findings.sort_by(|a, b| Finding::order(&a.finding, &b.finding));
        let rules = file.rules.into_owned();
        let compliance = match file.compliance {
            Some(compliance) => compliance.into_owned(),
            None => compliance::of(&rules, &findings, &compliance::NotRun::new()),
        };
        Ok(Report {
            schema_version: file.schema_version,
            tool: file.tool.into_owned(),
            scan: file.scan.into_owned(),
            summary: file.summary.into_owned(),
            collection_errors: file.collection_errors.into_owned(),
            rules,
            findings,
            expired_suppressions: file.expired_suppressions.into_owned(),
            resolved: file.resolved.into_owned(),
            compliance,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanInfo {
    pub account_id: String,
    pub partition: String,
    pub caller_arn: String,
    pub regions: Vec<String>,
    /// When this run started and finished (collection, evaluation, triage).
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// When the evaluated snapshot was collected.
    pub collected_at: DateTime<Utc>,
    /// The tool version and a digest of the rules that ran and their
    /// parameters: two reports with the same value ran the same checks.
    pub rules_version: String,
    /// AWS calls made per operation (`service:Operation`).
    pub api_calls: BTreeMap<String, u64>,
    /// The baseline report this one was compared with, as given.
    pub baseline: Option<String>,
}

/// Counts over the findings. Failing means status FAIL and not suppressed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub checks: usize,
    pub failed: usize,
    pub passed: usize,
    pub not_evaluated: usize,
    pub errors: usize,
    pub suppressed: usize,
    pub failed_by_severity: BTreeMap<Severity, usize>,
    pub failed_by_service: BTreeMap<String, usize>,
    pub failed_by_region: BTreeMap<String, usize>,
    /// With a baseline: failing findings that were not failing there.
    pub new: Option<usize>,
    pub resolved: Option<usize>,
}

/// A rule's documentation, as SARIF and the terminal need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub resource_type: String,
    pub description: String,
    pub rationale: String,
    pub remediation: Remediation,
    pub compliance: BTreeMap<String, Vec<String>>,
    pub equivalents: BTreeMap<String, Vec<String>>,
    pub references: Vec<String>,
}

impl RuleInfo {
    pub fn of(rule: &Rule) -> Self {
        RuleInfo {
            id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            resource_type: rule.resource.name().to_owned(),
            description: rule.description.trim().to_owned(),
            rationale: rule.rationale.trim().to_owned(),
            remediation: rule.remediation.clone(),
            compliance: rule.compliance.clone(),
            equivalents: rule.equivalents.clone(),
            references: rule.references.clone(),
        }
    }
}

/// An engine result, with what triage decided about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFinding {
    #[serde(flatten)]
    pub finding: Finding,
    /// The suppression that applies to this FAIL, if any: it still counts
    /// as a result, never as failing. Boxed: most results have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Box<AppliedSuppression>>,
    /// With a baseline: whether this FAIL was already failing there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
}

impl ReportFinding {
    pub fn new(finding: Finding) -> Self {
        ReportFinding {
            finding,
            suppression: None,
            baseline: None,
        }
    }

    /// The service the rule checks: the first segment of its id
    /// (`ec2-...`, `iam-...`).
    pub fn service(&self) -> &str {
        service_of(&self.finding.rule_id)
    }

    /// FAIL and not suppressed: what the summary counts and `--fail-on`
    /// looks at.
    pub fn is_failing(&self) -> bool {
        self.finding.status == Status::Fail && self.suppression.is_none()
    }
}

impl std::borrow::Borrow<Finding> for ReportFinding {
    fn borrow(&self) -> &Finding {
        &self.finding
    }
}

/// Rule ids are named service-resource-problem.
pub fn service_of(rule_id: &str) -> &str {
    rule_id.split('-').next().unwrap_or(rule_id)
}

/// Where a suppression is written: the file and line of its entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionSource {
    pub file: String,
    pub line: usize,
    pub reason: String,
    pub expires: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedSuppression {
    pub reason: String,
    pub expires: Option<NaiveDate>,
    /// `FILE:LINE` of the entry.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineState {
    New,
    Existing,
}

/// A finding that failed in the baseline and no longer does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolvedFinding {
    pub fingerprint: String,
    pub rule_id: String,
    pub severity: Severity,
    pub resource_arn: String,
    pub region: String,
    /// PASS when the check now passes; `null` when the resource is gone.
    pub now: Option<Status>,
}

/// What the CLI knows about a run beyond the snapshot and the findings.
pub struct RunInfo<'a> {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub rules: &'a [&'a Rule],
    /// Rules loaded but not selected: the controls they map are not
    /// evaluated unless another of their rules fails.
    pub unselected: &'a [&'a Rule],
}

impl Report {
    pub fn new(snapshot: &Snapshot, run: RunInfo<'_>, findings: Vec<ReportFinding>) -> Report {
        let mut report = Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: ToolInfo::current(),
            scan: ScanInfo {
                account_id: snapshot.account.account_id.clone(),
                partition: snapshot.account.partition.clone(),
                caller_arn: snapshot.account.caller_arn.clone(),
                regions: snapshot.regions.keys().cloned().collect(),
                started_at: run.started_at,
                finished_at: run.finished_at,
                collected_at: snapshot.collected_at,
                rules_version: engine::rules_version(run.rules),
                api_calls: snapshot.api_calls.clone(),
                baseline: None,
            },
            summary: Summary::default(),
            collection_errors: snapshot.collection_errors.clone(),
            rules: run.rules.iter().map(|rule| RuleInfo::of(rule)).collect(),
            findings,
            expired_suppressions: Vec::new(),
            resolved: None,
            compliance: Vec::new(),
        };
        report.refresh_summary();
        report.compliance = compliance::of(
            &report.rules,
            &report.findings,
            &compliance::not_run(
                run.unselected
                    .iter()
                    .map(|rule| (rule.id.as_str(), &rule.compliance)),
            ),
        );
        report
    }

    /// Recounts the summary after triage changed the findings.
    pub fn refresh_summary(&mut self) {
        self.summary = Summary::of(self);
    }

    /// Recounts the compliance view after suppressions changed the
    /// findings; it keeps which mapped rules did not run. `--severity`'s
    /// filter, which comes later, leaves the view as it was: a failure it
    /// drops from the report never makes its control pass.
    pub fn refresh_compliance(&mut self) {
        let not_run = compliance::not_run_in(&self.compliance);
        self.compliance = compliance::of(&self.rules, &self.findings, &not_run);
    }

    pub fn read(path: &Path) -> Result<Report, FileError> {
        files::read_versioned(path, Document::Report, VERSIONS)
    }

    pub fn parse(text: &str) -> Result<Report, FileError> {
        files::parse_versioned(text, Document::Report, VERSIONS)
    }

    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// The title of a result's rule, what a result without a message of
    /// its own (a PASS) is shown as.
    pub fn title_of<'a>(&'a self, finding: &'a Finding) -> &'a str {
        self.rule(&finding.rule_id)
            .map_or(finding.rule_id.as_str(), |rule| rule.title.as_str())
    }

    /// Failing findings at or above `threshold`; with `only_new`, only
    /// those the baseline did not have.
    pub fn failing_at(&self, threshold: Severity, only_new: bool) -> usize {
        self.findings
            .iter()
            .filter(|f| f.is_failing() && f.finding.severity >= threshold)
            .filter(|f| !only_new || f.baseline == Some(BaselineState::New))
            .count()
    }

    /// Failing findings grouped by `key` (a service, a region), counted
    /// per severity in [`Severity::DESCENDING`] order.
    pub fn failing_by<'a>(
        &'a self,
        key: impl Fn(&'a ReportFinding) -> &'a str,
    ) -> BTreeMap<&'a str, [usize; Severity::DESCENDING.len()]> {
        let mut rows: BTreeMap<&str, [usize; Severity::DESCENDING.len()]> = BTreeMap::new();
        for finding in self.findings.iter().filter(|f| f.is_failing()) {
            if let Some(column) = Severity::DESCENDING
                .iter()
                .position(|s| *s == finding.finding.severity)
            {
                rows.entry(key(finding)).or_default()[column] += 1;
            }
        }
        rows
    }

    /// Checks that could say neither pass nor fail (NOT_EVALUATED, ERROR).
    pub fn unevaluated(&self) -> usize {
        self.summary.not_evaluated + self.summary.errors
    }

    /// Whether some of the account could not be read or checked.
    pub fn is_incomplete(&self) -> bool {
        !self.collection_errors.is_empty() || self.unevaluated() > 0
    }

    /// Whether this report would have seen `finding` were it still there:
    /// its rule ran, its region was scanned and every listing of its
    /// resource type succeeded there. A finding absent from a report that
    /// did not look is not resolved, only unseen.
    pub fn looked_for(&self, finding: &Finding) -> bool {
        let region = finding.resource.region.as_str();
        let global = region == crate::snapshot::iam::GLOBAL_REGION;
        self.rule(&finding.rule_id).is_some()
            && (global || self.scan.regions.iter().any(|r| r == region))
            && !self.collection_errors.iter().any(|error| {
                error.region.as_deref() == (!global).then_some(region)
                    && finding.resource.resource_type.listing_failed(error)
            })
    }
}

impl Summary {
    fn of(report: &Report) -> Summary {
        let findings = &report.findings;
        let count = |status: Status| {
            findings
                .iter()
                .filter(|f| f.finding.status == status)
                .count()
        };
        let mut summary = Summary {
            checks: findings.len(),
            failed: 0,
            passed: count(Status::Pass),
            not_evaluated: count(Status::NotEvaluated),
            errors: count(Status::Error),
            suppressed: findings
                .iter()
                .filter(|f| f.finding.status == Status::Fail && f.suppression.is_some())
                .count(),
            new: report.resolved.as_ref().map(|_| {
                findings
                    .iter()
                    .filter(|f| f.is_failing() && f.baseline == Some(BaselineState::New))
                    .count()
            }),
            resolved: report.resolved.as_ref().map(Vec::len),
            ..Summary::default()
        };
        for finding in findings.iter().filter(|f| f.is_failing()) {
            summary.failed += 1;
            *summary
                .failed_by_severity
                .entry(finding.finding.severity)
                .or_default() += 1;
            *summary
                .failed_by_service
                .entry(finding.service().to_owned())
                .or_default() += 1;
            *summary
                .failed_by_region
                .entry(finding.finding.resource.region.clone())
                .or_default() += 1;
        }
        summary
    }
}
