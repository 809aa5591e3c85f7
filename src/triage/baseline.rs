//! Baselines: comparing a report with an earlier one by fingerprint (a
//! digest of rule id and resource ARN, stable across scans).

use std::collections::{HashMap, HashSet};

use crate::results::{BaselineState, Report, ResolvedFinding};
use crate::verdict::Status;

/// Marks each FAIL in `report` as new or existing against `old`, and
/// records what failed in `old` and no longer fails.
///
/// A finding missing from `report` counts as resolved only where `report`
/// looked: its rule ran and its region was scanned. A check that could not
/// be evaluated this time is neither resolved nor new.
pub fn apply(report: &mut Report, old: &Report, old_name: &str) {
    let failing_before: HashSet<&str> = old
        .findings
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .map(|f| f.finding.fingerprint.as_str())
        .collect();
    for finding in &mut report.findings {
        if finding.finding.status == Status::Fail {
            finding.baseline = Some(
                if failing_before.contains(finding.finding.fingerprint.as_str()) {
                    BaselineState::Existing
                } else {
                    BaselineState::New
                },
            );
        }
    }
    let now: HashMap<&str, Status> = report
        .findings
        .iter()
        .map(|f| (f.finding.fingerprint.as_str(), f.finding.status))
        .collect();
    let mut resolved: Vec<ResolvedFinding> = old
        .findings
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .filter_map(|before| {
            let status = now.get(before.finding.fingerprint.as_str()).copied();
            let gone = match status {
                Some(Status::Pass) => true,
                None => report.covers(&before.finding.rule_id, &before.finding.resource.region),
                Some(Status::Fail | Status::Error | Status::NotEvaluated) => false,
            };
            gone.then(|| ResolvedFinding {
                fingerprint: before.finding.fingerprint.clone(),
                rule_id: before.finding.rule_id.clone(),
                severity: before.finding.severity,
                resource_arn: before.finding.resource.arn.clone(),
                region: before.finding.resource.region.clone(),
                now: status,
            })
        })
        .collect();
    resolved.sort_by(|a, b| {
        (b.severity, &a.rule_id, &a.resource_arn).cmp(&(a.severity, &b.rule_id, &b.resource_arn))
    });
    report.resolved = Some(resolved);
    report.scan.baseline = Some(old_name.to_owned());
    report.refresh_summary();
}
