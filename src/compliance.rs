//! Where a report stands on each control of the compliance frameworks
//! rampart maps: each control's status follows from the results of the
//! rules mapped to it (`compliance:` in a rule file), or from the
//! framework's catalogue (`frameworks/*.yaml`) when no rule can decide it.
//!
//! Reads the report's rules and results only, so a saved report gives the
//! same view on any day.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::results::{ReportFinding, RuleInfo};
use crate::verdict::Status;

/// The frameworks' catalogues, embedded: what each lists, in its order.
const CATALOGUES: [(&str, &str); 3] = [
    (
        "frameworks/cis-aws-foundations-3.0.yaml",
        include_str!("../frameworks/cis-aws-foundations-3.0.yaml"),
    ),
    (
        "frameworks/cis-aws-foundations-6.0.yaml",
        include_str!("../frameworks/cis-aws-foundations-6.0.yaml"),
    ),
    (
        "frameworks/aws-fsbp.yaml",
        include_str!("../frameworks/aws-fsbp.yaml"),
    ),
];

/// A framework's catalogue: the controls rampart lists, and what it does
/// not list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// The key rules use under `compliance:`.
    pub id: String,
    pub name: String,
    /// Which of the framework's controls are left out, and why.
    pub not_listed: String,
    pub controls: Vec<Control>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    /// Why no API can decide this control.
    #[serde(default)]
    pub manual: Option<String>,
    /// What rampart would need to read to decide it.
    #[serde(default)]
    pub out_of_scope: Option<String>,
}

/// The embedded catalogues. A test reads them all, so they cannot fail to
/// read in a build that passed CI.
pub fn frameworks() -> &'static [Framework] {
    static READ: OnceLock<Vec<Framework>> = OnceLock::new();
    READ.get_or_init(|| {
        CATALOGUES
            .iter()
            .filter_map(|(file, text)| match crate::files::parse_yaml(file, text) {
                Ok(framework) => Some(framework),
                Err(error) => {
                    tracing::error!("{error}");
                    None
                }
            })
            .collect()
    })
}

pub fn framework(id: &str) -> Option<&'static Framework> {
    frameworks().iter().find(|framework| framework.id == id)
}

/// A control's status in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControlStatus {
    /// A mapped rule fails on a resource, unsuppressed.
    Fail,
    /// No failure, but a mapped rule could not decide on a resource (its
    /// data is missing or its evaluation failed), or no mapped rule ran.
    NotEvaluated,
    /// Every result of every mapped rule passes (or is suppressed).
    Pass,
    /// No API can decide it.
    Manual,
    /// rampart does not read the data it needs yet.
    OutOfScope,
}

impl ControlStatus {
    pub const ALL: [ControlStatus; 5] = [
        ControlStatus::Fail,
        ControlStatus::NotEvaluated,
        ControlStatus::Pass,
        ControlStatus::Manual,
        ControlStatus::OutOfScope,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ControlStatus::Fail => "FAIL",
            ControlStatus::NotEvaluated => "NOT_EVALUATED",
            ControlStatus::Pass => "PASS",
            ControlStatus::Manual => "MANUAL",
            ControlStatus::OutOfScope => "OUT_OF_SCOPE",
        }
    }
}

/// One framework in a report: every control it lists, with its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkStatus {
    pub framework: String,
    pub name: String,
    /// Which of the framework's controls are not listed, and why.
    pub not_listed: String,
    /// Controls per status, every status present.
    pub counts: BTreeMap<ControlStatus, usize>,
    /// Security Hub's score: controls passed over controls with data
    /// (failed, or passed on at least one resource), in percent with one
    /// decimal; null when no control has data.
    pub score: Option<f64>,
    pub controls: Vec<ControlResult>,
}

/// One control: its status, the rules that decided it and their results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlResult {
    pub id: String,
    pub title: String,
    pub status: ControlStatus,
    /// Why: for MANUAL and OUT_OF_SCOPE the catalogue's reason, for
    /// NOT_EVALUATED what is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rules mapped to it that ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Rules mapped to it that were loaded but not selected for this run
    /// (`--rule`, `--exclude-rule`, `--compliance`, `--severity`): while
    /// nothing fails, the control is not evaluated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
    /// Their results: failing (unsuppressed), suppressed, passed, and not
    /// evaluated (errors included).
    pub failed: usize,
    pub suppressed: usize,
    pub passed: usize,
    pub not_evaluated: usize,
}

impl FrameworkStatus {
    pub fn count(&self, status: ControlStatus) -> usize {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// What the score counts: controls passed on at least one resource, and
    /// those plus the controls failed. A control that passed on no
    /// resource has no data, as Security Hub counts it.
    pub fn scored(&self) -> (usize, usize) {
        scored(&self.controls)
    }

    /// The controls rampart decides: those with a rule.
    pub fn decided(&self) -> usize {
        self.controls.len()
            - self.count(ControlStatus::Manual)
            - self.count(ControlStatus::OutOfScope)
    }
}

/// Rules mapped to controls that did not run: by framework, then control.
pub type NotRun = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Where `unselected` (rules loaded but not run) map.
pub fn not_run<'a>(
    unselected: impl IntoIterator<Item = (&'a str, &'a BTreeMap<String, Vec<String>>)>,
) -> NotRun {
    let mut out = NotRun::new();
    for (rule, compliance) in unselected {
        for (framework, controls) in compliance {
            for control in controls {
                out.entry(framework.clone())
                    .or_default()
                    .entry(control.clone())
                    .or_default()
                    .insert(rule.to_owned());
            }
        }
    }
    out
}

/// The rules a view already records as not run, to recount it after
/// triage changed the results.
pub fn not_run_in(view: &[FrameworkStatus]) -> NotRun {
    let mut out = NotRun::new();
    for framework in view {
        for control in framework.controls.iter().filter(|c| !c.not_run.is_empty()) {
            out.entry(framework.framework.clone())
                .or_default()
                .entry(control.id.clone())
                .or_default()
                .extend(control.not_run.iter().cloned());
        }
    }
    out
}

/// Every catalogued framework, then any other a rule maps (a user's rule
/// may name one rampart has no catalogue of), by id.
pub fn of(
    rules: &[RuleInfo],
    findings: &[ReportFinding],
    not_run: &NotRun,
) -> Vec<FrameworkStatus> {
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for finding in findings {
        let tally = tallies.entry(finding.finding.rule_id.as_str()).or_default();
        match finding.finding.status {
            Status::Fail if finding.suppression.is_some() => tally.suppressed += 1,
            Status::Fail => tally.failed += 1,
            Status::Pass => tally.passed += 1,
            Status::NotEvaluated | Status::Error => tally.not_evaluated += 1,
        }
    }
    let mut out: Vec<FrameworkStatus> = frameworks()
        .iter()
        .map(|framework| {
            let listed = framework.controls.iter().map(|control| {
                (
                    control.id.as_str(),
                    control.title.as_str(),
                    control
                        .manual
                        .as_deref()
                        .map(|reason| (ControlStatus::Manual, reason))
                        .or(control
                            .out_of_scope
                            .as_deref()
                            .map(|reason| (ControlStatus::OutOfScope, reason))),
                )
            });
            status_of(
                &framework.id,
                &framework.name,
                &framework.not_listed,
                listed,
                (rules, not_run.get(&framework.id)),
                &tallies,
            )
        })
        .collect();
    let unknown: BTreeSet<&str> = rules
        .iter()
        .flat_map(|rule| rule.compliance.keys().map(String::as_str))
        .chain(not_run.keys().map(String::as_str))
        .filter(|id| framework(id).is_none())
        .collect();
    for id in unknown {
        out.push(status_of(
            id,
            id,
            "rampart has no catalogue of this framework: only the controls rules map are listed.",
            std::iter::empty(),
            (rules, not_run.get(id)),
            &tallies,
        ));
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Tally {
    failed: usize,
    suppressed: usize,
    passed: usize,
    not_evaluated: usize,
}

fn scored(controls: &[ControlResult]) -> (usize, usize) {
    let passed = controls
        .iter()
        .filter(|c| c.status == ControlStatus::Pass && c.passed + c.suppressed > 0)
        .count();
    let failed = controls
        .iter()
        .filter(|c| c.status == ControlStatus::Fail)
        .count();
    (passed, passed + failed)
}

/// A control's rules: those that ran, and those that did not.
type Mapped<'r> = (BTreeSet<&'r str>, BTreeSet<&'r str>);

fn status_of<'a>(
    framework: &str,
    name: &str,
    not_listed: &str,
    listed: impl Iterator<Item = (&'a str, &'a str, Option<(ControlStatus, &'a str)>)>,
    (rules, not_run): (&[RuleInfo], Option<&BTreeMap<String, BTreeSet<String>>>),
    tallies: &BTreeMap<&str, Tally>,
) -> FrameworkStatus {
    let mut mapped: BTreeMap<&str, Mapped> = BTreeMap::new();
    for rule in rules {
        for control in rule.compliance.get(framework).into_iter().flatten() {
            mapped.entry(control).or_default().0.insert(&rule.id);
        }
    }
    for (control, unrun) in not_run.into_iter().flatten() {
        mapped
            .entry(control)
            .or_default()
            .1
            .extend(unrun.iter().map(String::as_str));
    }
    let mut controls: Vec<ControlResult> = Vec::new();
    for (id, title, undecided) in listed {
        let rules = mapped.remove(id).unwrap_or_default();
        controls.push(control(id, title, undecided, &rules, tallies));
    }
    // Controls a rule maps that the catalogue does not list, in order.
    let mut others: Vec<(&str, Mapped)> = mapped.into_iter().collect();
    others.sort_by(|a, b| natural_order(a.0, b.0));
    for (id, rules) in others {
        controls.push(control(id, "", None, &rules, tallies));
    }
    let counts: BTreeMap<ControlStatus, usize> = ControlStatus::ALL
        .into_iter()
        .map(|status| {
            (
                status,
                controls.iter().filter(|c| c.status == status).count(),
            )
        })
        .collect();
    let (passed, with_data) = scored(&controls);
    let score = (with_data > 0).then(|| {
        // One decimal, rounded half up, in integers so the figure does not
        // depend on how a float prints.
        let tenths = (passed * 1000 + with_data / 2) / with_data;
        tenths as f64 / 10.0
    });
    FrameworkStatus {
        framework: framework.to_owned(),
        name: name.to_owned(),
        not_listed: not_listed.to_owned(),
        counts,
        score,
        controls,
    }
}

fn control(
    id: &str,
    title: &str,
    undecided: Option<(ControlStatus, &str)>,
    (rules, not_run): &Mapped,
    tallies: &BTreeMap<&str, Tally>,
) -> ControlResult {
    let mut total = Tally::default();
    for rule in rules {
        if let Some(tally) = tallies.get(rule) {
            total.failed += tally.failed;
            total.suppressed += tally.suppressed;
            total.passed += tally.passed;
            total.not_evaluated += tally.not_evaluated;
        }
    }
    let (status, reason) = if total.failed > 0 {
        (ControlStatus::Fail, None)
    } else if !not_run.is_empty() {
        let names: Vec<&str> = not_run.iter().copied().collect();
        (
            ControlStatus::NotEvaluated,
            Some(format!(
                "not every rule mapped to it ran: {} did not",
                names.join(", ")
            )),
        )
    } else if rules.is_empty() {
        match undecided {
            Some((status, reason)) => (status, Some(reason.to_owned())),
            None => (
                ControlStatus::NotEvaluated,
                Some("no rule mapped to this control ran".to_owned()),
            ),
        }
    } else if total.not_evaluated > 0 {
        (
            ControlStatus::NotEvaluated,
            Some(format!(
                "{} result(s) of its rules could not be evaluated",
                total.not_evaluated
            )),
        )
    } else {
        (ControlStatus::Pass, None)
    };
    ControlResult {
        id: id.to_owned(),
        title: title.to_owned(),
        status,
        reason,
        rules: rules.iter().map(|rule| (*rule).to_owned()).collect(),
        not_run: not_run.iter().map(|rule| (*rule).to_owned()).collect(),
        failed: total.failed,
        suppressed: total.suppressed,
        passed: total.passed,
        not_evaluated: total.not_evaluated,
    }
}

/// `1.2` before `1.10`, `EC2.9` before `EC2.10`: numbers by value.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(text: &str) -> Vec<(String, u64)> {
        text.split('.')
            .map(|part| {
                let digits = part.trim_start_matches(|c: char| !c.is_ascii_digit());
                let prefix = &part[..part.len() - digits.len()];
                (prefix.to_owned(), digits.parse().unwrap_or(0))
            })
            .collect()
    }
    parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::resources::{ResourceRef, ResourceType};
    use crate::engine::rule::Remediation;
    use crate::engine::{Engine, Finding};
    use crate::results::AppliedSuppression;
    use crate::verdict::Severity;

    #[test]
    fn the_catalogues_list_every_control_a_built_in_rule_maps_and_say_why_for_the_rest() {
        assert_eq!(
            frameworks().len(),
            CATALOGUES.len(),
            "every catalogue reads"
        );
        let engine = Engine::load(None).expect("rules load");
        let mut mapped: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for rule in engine.rules() {
            for (framework, controls) in &rule.compliance {
                for control in controls {
                    mapped
                        .entry((framework.as_str(), control.as_str()))
                        .or_default()
                        .push(&rule.id);
                }
            }
        }
        for ((framework_id, control), rules) in &mapped {
            let framework = framework(framework_id).unwrap_or_else(|| {
                panic!("{rules:?} map `{framework_id}`, which has no catalogue")
            });
            assert!(
                framework.controls.iter().any(|c| c.id == *control),
                "{rules:?} map {framework_id} {control}, which its catalogue does not list"
            );
        }
        for framework in frameworks() {
            let ids: BTreeSet<&str> = framework.controls.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(
                ids.len(),
                framework.controls.len(),
                "{}: an id twice",
                framework.id
            );
            let order: Vec<&str> = framework.controls.iter().map(|c| c.id.as_str()).collect();
            let mut sorted = order.clone();
            sorted.sort_by(|a, b| natural_order(a, b));
            assert_eq!(order, sorted, "{}: controls in their order", framework.id);
            for control in &framework.controls {
                let ruled = mapped.contains_key(&(framework.id.as_str(), control.id.as_str()));
                let why = usize::from(control.manual.is_some())
                    + usize::from(control.out_of_scope.is_some());
                assert_eq!(
                    why,
                    usize::from(!ruled),
                    "{} {}: a control has a rule, or exactly one reason it has none",
                    framework.id,
                    control.id
                );
            }
        }
    }

    fn rule(id: &str, compliance: &[(&str, &[&str])]) -> RuleInfo {
        RuleInfo {
            id: id.to_owned(),
            title: id.to_owned(),
            severity: Severity::High,
            resource_type: "security_group".to_owned(),
            description: String::new(),
            rationale: String::new(),
            remediation: Remediation {
                text: String::new(),
                cli: None,
            },
            compliance: compliance
                .iter()
                .map(|(framework, controls)| {
                    (
                        (*framework).to_owned(),
                        controls.iter().map(|c| (*c).to_owned()).collect(),
                    )
                })
                .collect(),
            equivalents: BTreeMap::new(),
            references: Vec::new(),
        }
    }

    fn result(rule_id: &str, resource: &str, status: Status, suppressed: bool) -> ReportFinding {
        let mut finding = ReportFinding::new(Finding {
            rule_id: rule_id.to_owned(),
            severity: Severity::High,
            status,
            resource: Arc::new(ResourceRef {
                resource_type: ResourceType::SecurityGroup,
                id: resource.to_owned(),
                arn: format!("arn:aws:ec2:eu-west-1:111122223333:security-group/{resource}"),
                region: "eu-west-1".to_owned(),
                account: "111122223333".to_owned(),
            }),
            message: None,
            fingerprint: String::new(),
        });
        if suppressed {
            finding.suppression = Some(Box::new(AppliedSuppression {
                reason: "accepted".to_owned(),
                expires: None,
                source: "suppressions.yaml:3".to_owned(),
            }));
        }
        finding
    }

    fn control<'a>(view: &'a [FrameworkStatus], framework: &str, id: &str) -> &'a ControlResult {
        view.iter()
            .find(|f| f.framework == framework)
            .and_then(|f| f.controls.iter().find(|c| c.id == id))
            .unwrap_or_else(|| panic!("{framework} {id} is listed"))
    }

    const FSBP: &str = "aws-fsbp";
    const CIS: &str = "cis-aws-foundations-3.0";

    #[test]
    fn a_control_fails_on_one_unsuppressed_failure_of_any_of_its_rules() {
        let rules = [
            rule("ec2-a", &[(FSBP, &["EC2.13", "EC2.14"])]),
            rule("ec2-b", &[(FSBP, &["EC2.13"])]),
        ];
        let findings = [
            result("ec2-a", "sg-1", Status::Pass, false),
            result("ec2-a", "sg-2", Status::NotEvaluated, false),
            result("ec2-b", "sg-1", Status::Fail, false),
        ];
        let view = of(&rules, &findings, &NotRun::new());
        let both = control(&view, FSBP, "EC2.13");
        assert_eq!(
            (both.status, both.reason.as_deref(), both.rules.clone()),
            (
                ControlStatus::Fail,
                None,
                vec!["ec2-a".to_owned(), "ec2-b".to_owned()]
            )
        );
        assert_eq!(
            (
                both.failed,
                both.suppressed,
                both.passed,
                both.not_evaluated
            ),
            (1, 0, 1, 1)
        );
        // Without the failure, what could not be evaluated leaves it open.
        let one = control(&view, FSBP, "EC2.14");
        assert_eq!(
            (one.status, one.reason.as_deref()),
            (
                ControlStatus::NotEvaluated,
                Some("1 result(s) of its rules could not be evaluated")
            )
        );
    }

    #[test]
    fn suppressed_failures_and_no_resources_pass_and_an_error_is_not_evaluated() {
        let rules = [
            rule("ec2-a", &[(FSBP, &["EC2.13"])]),
            rule("ec2-b", &[(FSBP, &["EC2.14"])]),
            rule("ec2-c", &[(FSBP, &["EC2.19"])]),
        ];
        let findings = [
            result("ec2-a", "sg-1", Status::Fail, true),
            result("ec2-a", "sg-2", Status::Pass, false),
            result("ec2-c", "sg-1", Status::Error, false),
        ];
        let view = of(&rules, &findings, &NotRun::new());
        let suppressed = control(&view, FSBP, "EC2.13");
        assert_eq!(
            (suppressed.status, suppressed.suppressed, suppressed.passed),
            (ControlStatus::Pass, 1, 1)
        );
        assert_eq!(control(&view, FSBP, "EC2.14").status, ControlStatus::Pass);
        assert_eq!(
            control(&view, FSBP, "EC2.19").status,
            ControlStatus::NotEvaluated
        );
        // A control whose rules did not run is open, never passed; one no
        // rule can decide keeps its catalogue status and reason.
        let unrun = control(&view, FSBP, "IAM.4");
        assert_eq!(
            (unrun.status, unrun.reason.as_deref()),
            (
                ControlStatus::NotEvaluated,
                Some("no rule mapped to this control ran")
            )
        );
        let vpn = control(&view, FSBP, "EC2.20");
        assert_eq!(
            (vpn.status, vpn.reason.as_deref()),
            (
                ControlStatus::OutOfScope,
                Some("rampart does not read Site-to-Site VPN connections yet.")
            )
        );
        let fsbp = view.iter().find(|f| f.framework == FSBP).expect("listed");
        let listed = framework(FSBP).expect("catalogued").controls.len();
        assert_eq!(fsbp.controls.len(), listed);
        assert_eq!(
            (
                fsbp.count(ControlStatus::Pass),
                fsbp.count(ControlStatus::Fail)
            ),
            (2, 0)
        );
        assert_eq!(fsbp.score, Some(100.0));
        assert_eq!(fsbp.decided(), listed - 5);
    }

    #[test]
    fn the_score_is_passed_over_controls_with_data_and_absent_without_any() {
        let rules = [
            rule("ec2-a", &[(FSBP, &["EC2.13"])]),
            rule("ec2-b", &[(FSBP, &["EC2.14", "EC2.19"])]),
        ];
        let findings = [
            result("ec2-a", "sg-1", Status::Fail, false),
            result("ec2-b", "sg-1", Status::Pass, false),
        ];
        let view = of(&rules, &findings, &NotRun::new());
        let fsbp = view.iter().find(|f| f.framework == FSBP).expect("listed");
        // 2 of 3: 66.666... rounds to 66.7.
        assert_eq!(fsbp.score, Some(66.7));
        let cis = view
            .iter()
            .find(|f| f.framework == "cis-aws-foundations-3.0")
            .expect("listed");
        assert_eq!(cis.score, None);
        assert_eq!(cis.count(ControlStatus::Manual), 3);
    }

    #[test]
    fn a_framework_or_control_without_a_catalogue_entry_is_listed_from_its_rules() {
        let rules = [rule(
            "ec2-a",
            &[("acme-baseline", &["NET.10", "NET.9"]), (FSBP, &["EC2.99"])],
        )];
        let findings = [result("ec2-a", "sg-1", Status::Fail, false)];
        let view = of(&rules, &findings, &NotRun::new());
        let acme = view.last().expect("listed last");
        assert_eq!(acme.framework, "acme-baseline");
        let ids: Vec<&str> = acme.controls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["NET.9", "NET.10"]);
        let extra = control(&view, FSBP, "EC2.99");
        assert_eq!(
            (extra.status, extra.title.as_str()),
            (ControlStatus::Fail, "")
        );
    }

    #[test]
    fn a_mapped_rule_that_did_not_run_leaves_its_control_open_unless_another_fails() {
        let rules = [
            rule("ec2-ssh", &[(FSBP, &["EC2.13"]), (CIS, &["5.2"])]),
            rule("ec2-rdp", &[(FSBP, &["EC2.14"]), (CIS, &["5.2"])]),
        ];
        let findings = [
            result("ec2-ssh", "sg-1", Status::Pass, false),
            result("ec2-rdp", "sg-1", Status::Fail, false),
        ];
        let all_ports =
            BTreeMap::from([(CIS.to_owned(), vec!["5.2".to_owned(), "5.3".to_owned()])]);
        let unselected = not_run([("ec2-all-ports", &all_ports)]);
        let view = of(&rules[..1], &findings[..1], &unselected);
        let open = control(&view, CIS, "5.2");
        assert_eq!(
            (open.status, open.reason.as_deref(), open.not_run.clone()),
            (
                ControlStatus::NotEvaluated,
                Some("not every rule mapped to it ran: ec2-all-ports did not"),
                vec!["ec2-all-ports".to_owned()]
            )
        );
        assert_eq!(
            control(&view, CIS, "5.3").status,
            ControlStatus::NotEvaluated
        );
        // A failure of a rule that ran decides it whatever did not run.
        let view = of(&rules, &findings, &unselected);
        assert_eq!(control(&view, CIS, "5.2").status, ControlStatus::Fail);
        // Recounted after triage, the view keeps what did not run.
        assert_eq!(not_run_in(&view), unselected);
    }

    #[test]
    fn a_control_that_passed_on_no_resource_has_no_data_for_the_score() {
        let rules = [
            rule("ec2-a", &[(FSBP, &["EC2.13"])]),
            rule("ec2-tgw", &[(FSBP, &["EC2.23"])]),
        ];
        let findings = [result("ec2-a", "sg-1", Status::Pass, false)];
        let view = of(&rules, &findings, &NotRun::new());
        let fsbp = view.iter().find(|f| f.framework == FSBP).expect("listed");
        assert_eq!(control(&view, FSBP, "EC2.23").status, ControlStatus::Pass);
        assert_eq!(fsbp.count(ControlStatus::Pass), 2);
        assert_eq!(fsbp.score, Some(100.0));
        let only_empty = of(&rules[1..], &[], &NotRun::new());
        assert_eq!(
            only_empty
                .iter()
                .find(|f| f.framework == FSBP)
                .expect("listed")
                .score,
            None
        );
    }

    #[test]
    fn control_ids_sort_by_number() {
        let mut ids = [
            "EC2.10",
            "EC2.9",
            "6.1.2",
            "6.10",
            "6.2",
            "Account.1",
            "1.10",
            "1.2",
        ];
        ids.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            ids,
            [
                "1.2",
                "1.10",
                "6.1.2",
                "6.2",
                "6.10",
                "Account.1",
                "EC2.9",
                "EC2.10"
            ]
        );
    }
}
