//! Baselines: comparing a report with an earlier one by fingerprint (a
//! digest of rule id and resource ARN, stable across scans).

use std::collections::{HashMap, HashSet};

use crate::results::{BaselineState, Report, ResolvedFinding};
use crate::verdict::Status;

/// Marks each FAIL in `report` as new or existing against `old`, and
/// records what failed in `old` and no longer fails. With no earlier
/// report (an account scanned for the first time) every FAIL is new.
///
/// A finding counts as resolved only when it now passes, or when it is
/// missing from `report` where `report` looked: its rule ran, its region
/// was scanned and the listing of its resource type succeeded there (see
/// [`Report::looked_for`]). A check that could not be evaluated this time,
/// or whose resources could not be listed, is neither resolved nor new.
pub fn apply(report: &mut Report, old: Option<&Report>, old_name: &str) {
    let old_findings = old.map_or(&[][..], |old| old.findings.as_slice());
    let failing_before: HashSet<&str> = old_findings
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
    // Where a rule could not evaluate something, an absent result may be
    // that very thing: not resolved.
    let unsure: HashSet<(&str, &str)> = report
        .findings
        .iter()
        .filter(|f| matches!(f.finding.status, Status::NotEvaluated | Status::Error))
        .map(|f| {
            (
                f.finding.rule_id.as_str(),
                f.finding.resource.region.as_str(),
            )
        })
        .collect();
    let now: HashMap<&str, Status> = report
        .findings
        .iter()
        .map(|f| (f.finding.fingerprint.as_str(), f.finding.status))
        .collect();
    let mut resolved: Vec<ResolvedFinding> = old_findings
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .filter_map(|before| {
            let status = now.get(before.finding.fingerprint.as_str()).copied();
            let gone = match status {
                Some(Status::Pass) => true,
                None => {
                    report.looked_for(&before.finding)
                        && !unsure.contains(&(
                            before.finding.rule_id.as_str(),
                            before.finding.resource.region.as_str(),
                        ))
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Gate, Plan, PlanOptions, RunClock};
    use crate::snapshot::{CollectionError, Snapshot};

    const DEMO: &str = include_str!("../../fixtures/demo/snapshot.json");

    fn report(snapshot: &Snapshot) -> Report {
        let plan = Plan::load(&PlanOptions::default()).expect("built-in rules load");
        run(&plan, snapshot)
    }

    /// The plan's run on the snapshot's own clock, as `rampart evaluate`.
    fn run(plan: &Plan, snapshot: &Snapshot) -> Report {
        let now = || snapshot.collected_at;
        let clock = RunClock {
            started_at: now(),
            today: now().date_naive(),
            now: &now,
        };
        plan.run(snapshot, &clock, &[], Gate::default()).report
    }

    fn resolved_groups(report: &Report) -> Vec<(&str, &str)> {
        report
            .resolved
            .iter()
            .flatten()
            .filter(|r| r.resource_arn.contains(":security-group/"))
            .map(|r| (r.region.as_str(), r.rule_id.as_str()))
            .collect()
    }

    fn guardduty_resolved(report: &Report) -> usize {
        report
            .resolved
            .iter()
            .flatten()
            .filter(|r| r.rule_id == "guardduty-finding-active")
            .count()
    }

    #[test]
    fn findings_cut_by_the_cap_or_filtered_by_severity_are_not_resolved() {
        let demo = Snapshot::parse(DEMO).expect("demo parses");
        let before = report(&demo);
        let mut capped = demo.clone();
        let detector = &mut capped
            .regions
            .get_mut("us-east-1")
            .expect("region")
            .guardduty
            .detectors[0];
        detector.findings.truncate(10);
        detector.findings_truncated = true;
        let mut after = report(&capped);
        apply(&mut after, Some(&before), "before.json");
        assert_eq!(guardduty_resolved(&after), 0);

        // The same findings, still active, in a run reporting high and above.
        let dir = tempfile::tempdir().expect("temp dir");
        let baseline = dir.path().join("before.json");
        std::fs::write(&baseline, crate::report::json(&before)).expect("write baseline");
        let plan = Plan::load(&PlanOptions {
            selection: crate::engine::Selection {
                min_severity: Some(crate::verdict::Severity::High),
                ..Default::default()
            },
            baseline: Some(baseline),
            ..PlanOptions::default()
        })
        .expect("plan loads");
        let filtered = run(&plan, &demo);
        assert_eq!(filtered.resolved.as_deref().map(<[_]>::len), Some(0));
        assert!(
            filtered
                .findings
                .iter()
                .all(|f| f.finding.severity >= crate::verdict::Severity::High)
        );
    }

    #[test]
    fn what_could_not_be_listed_is_not_resolved_what_is_gone_is() {
        let demo = Snapshot::parse(DEMO).expect("demo parses");
        let before = report(&demo);

        // Throttled: the groups of eu-west-1 were never seen.
        let mut throttled = demo.clone();
        let region = throttled.regions.get_mut("eu-west-1").expect("region");
        region.ec2.security_groups.clear();
        throttled.collection_errors.push(CollectionError {
            service: "ec2".to_owned(),
            region: Some("eu-west-1".to_owned()),
            operation: "DescribeSecurityGroups".to_owned(),
            resource: None,
            code: "Throttling".to_owned(),
            message: "Rate exceeded".to_owned(),
        });
        let mut after = report(&throttled);
        apply(&mut after, Some(&before), "before.json");
        assert_eq!(resolved_groups(&after), Vec::<(&str, &str)>::new());

        // Deleted: listed fine, and gone.
        let mut deleted = demo.clone();
        let region = deleted.regions.get_mut("eu-west-1").expect("region");
        region.ec2.security_groups.clear();
        let mut after = report(&deleted);
        apply(&mut after, Some(&before), "before.json");
        let resolved = resolved_groups(&after);
        assert!(!resolved.is_empty());
        assert!(
            resolved.iter().all(|(region, _)| *region == "eu-west-1"),
            "{resolved:?}"
        );
    }

    #[test]
    fn without_an_earlier_report_every_failure_is_new_and_nothing_resolved() {
        let demo = Snapshot::parse(DEMO).expect("demo parses");
        let mut first = report(&demo);
        let failing = first
            .findings
            .iter()
            .filter(|f| f.finding.status == Status::Fail)
            .count();
        apply(&mut first, None, "none");
        let new = first
            .findings
            .iter()
            .filter(|f| f.baseline == Some(crate::results::BaselineState::New))
            .count();
        assert!(failing > 0);
        assert_eq!(new, failing);
        assert_eq!(first.resolved.as_deref().map(<[_]>::len), Some(0));
        assert_eq!(first.scan.baseline.as_deref(), Some("none"));
    }
}
