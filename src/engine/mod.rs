//! The rule engine: loads declarative rules (YAML with CEL conditions),
//! compiles them once, and evaluates every selected rule against every
//! resource of its type in parallel.

pub mod check;
pub mod compiled;
pub mod data;
pub mod expr;
pub mod resources;
pub mod rule;
pub mod schema;
pub mod vars;

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analyze::Analysis;
use crate::error::SourceError;
use crate::snapshot::{CollectionError, Snapshot};
use crate::verdict::{Severity, Status};
use expr::{Backend, ExprEnv, Needs, Subject};
use resources::{ResourceRef, ResourceType};
use rule::Rule;

/// The result of one rule on one resource. The rule's documentation
/// (title, remediation, compliance, equivalents) is not repeated here: a
/// report holds it once per rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub status: Status,
    /// Shared by every result on the same resource.
    pub resource: Arc<ResourceRef>,
    /// What is wrong with this resource (FAIL), why it could not be
    /// checked (ERROR, NOT_EVALUATED); absent for PASS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Stable across scans: a digest of the rule id and the resource ARN.
    pub fingerprint: String,
}

impl Finding {
    /// The order of results in a report: most severe first, then by rule
    /// and resource.
    pub fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
        b.severity.cmp(&a.severity).then_with(|| {
            (&a.rule_id, &a.resource.region, &a.resource.id, a.status).cmp(&(
                &b.rule_id,
                &b.resource.region,
                &b.resource.id,
                b.status,
            ))
        })
    }

    /// Stable across scans: a digest of the rule id and the resource ARN.
    pub fn fingerprint_of(rule_id: &str, arn: &str) -> String {
        sha256_hex(format!("{rule_id}\n{arn}").as_bytes())
    }
}

/// Which rules run. Empty lists select everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub rules: Vec<String>,
    pub exclude: Vec<String>,
    pub min_severity: Option<Severity>,
    /// A compliance framework, e.g. `cis-aws-foundations-3.0`.
    pub compliance: Option<String>,
}

impl Selection {
    /// Drops findings below the minimum severity: rules whose severity
    /// depends on the resource (`severity_from`) are selected whatever
    /// their nominal level, and only their findings are filtered.
    /// A rule whose severity depends on the resource has no severity of
    /// its own to judge what it could not evaluate by: those results stay.
    pub fn retain<T: Borrow<Finding>>(&self, findings: &mut Vec<T>, rules: &[&Rule]) {
        let Some(min) = self.min_severity else {
            return;
        };
        let per_resource: BTreeSet<&str> = rules
            .iter()
            .filter(|rule| rule.severity_from.is_some())
            .map(|rule| rule.id.as_str())
            .collect();
        findings.retain(|finding| {
            let finding = finding.borrow();
            finding.severity >= min
                || (matches!(finding.status, Status::NotEvaluated | Status::Error)
                    && per_resource.contains(finding.rule_id.as_str()))
        });
    }
}

pub struct Engine {
    rules: Vec<Rule>,
}

impl Engine {
    /// The embedded rules, plus every rule file under `extra`.
    pub fn load(extra: Option<&Path>) -> Result<Engine, SourceError> {
        Ok(Engine {
            rules: rule::load(&ExprEnv::new(), true, extra)?,
        })
    }

    /// Like [`Engine::load`], then the parameters a configuration file sets.
    pub fn load_configured(extra: Option<&Path>, config: &Path) -> Result<Engine, SourceError> {
        let env = ExprEnv::new();
        let mut rules = rule::load(&env, true, extra)?;
        let file = config.display().to_string();
        let text =
            crate::files::read_bounded(config, crate::files::MAX_SOURCE_BYTES).map_err(|err| {
                SourceError {
                    file: file.clone(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read the configuration file: {err}"),
                }
            })?;
        rule::configure(&env, &mut rules, &file, &text)?;
        Ok(Engine { rules })
    }

    /// Only the rule files under `dir`, as `rampart rules test DIR` checks them.
    pub fn load_dir(dir: &Path) -> Result<Engine, SourceError> {
        Ok(Engine {
            rules: rule::load(&ExprEnv::new(), false, Some(dir))?,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Runs every rule on the interpreter: the reference the compiled
    /// evaluator is checked against.
    pub fn use_interpreter(&mut self) {
        for rule in &mut self.rules {
            let _ = rule.set_backend(Backend::Interpreter);
        }
    }

    /// A rule by id or alias.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.id == name || r.aliases.iter().any(|a| a == name))
    }

    /// The rules a selection picks, or the names it gives that match none.
    pub fn select(&self, selection: &Selection) -> Result<Vec<&Rule>, String> {
        for name in selection.rules.iter().chain(&selection.exclude) {
            if self.rule(name).is_none() {
                return Err(format!("no rule has the id or alias `{name}`"));
            }
        }
        if let Some(framework) = &selection.compliance {
            let known: BTreeSet<&str> = self
                .rules
                .iter()
                .flat_map(|rule| rule.compliance.keys().map(String::as_str))
                .collect();
            if !known.contains(framework.as_str()) {
                return Err(format!(
                    "no rule is mapped to the compliance framework `{framework}` given to --compliance; the frameworks are: {}",
                    known.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        let named = |names: &[String], rule: &Rule| {
            names
                .iter()
                .any(|n| *n == rule.id || rule.aliases.contains(n))
        };
        Ok(self
            .rules
            .iter()
            .filter(|rule| selection.rules.is_empty() || named(&selection.rules, rule))
            .filter(|rule| !named(&selection.exclude, rule))
            .filter(|rule| {
                selection
                    .min_severity
                    .is_none_or(|min| rule.severity >= min || rule.severity_from.is_some())
            })
            .filter(|rule| {
                selection
                    .compliance
                    .as_ref()
                    .is_none_or(|framework| rule.compliance.contains_key(framework))
            })
            .collect())
    }

    /// Evaluates the selected rules over a snapshot and its analysis, on the
    /// snapshot's clock. The order of the results depends only on the rules
    /// and the snapshot, never on the thread count or the day.
    pub fn evaluate(
        &self,
        snapshot: &Snapshot,
        analysis: &Analysis,
        rules: &[&Rule],
    ) -> Vec<Finding> {
        self.evaluate_into(snapshot, analysis, rules, |finding| finding)
    }

    /// Like [`Engine::evaluate`], each result wrapped by `wrap` as it is
    /// made (into what the caller keeps, such as a report's result), so
    /// the results are never held twice.
    pub fn evaluate_into<T: Send + Borrow<Finding>>(
        &self,
        snapshot: &Snapshot,
        analysis: &Analysis,
        rules: &[&Rule],
        wrap: impl Fn(Finding) -> T + Sync,
    ) -> Vec<T> {
        // Resource by resource: each is converted once, every rule of its
        // type evaluated on it, and its converted value dropped.
        let types: BTreeSet<ResourceType> = rules.iter().map(|r| r.resource).collect();
        let mut findings: Vec<T> = Vec::new();
        for resource_type in types {
            let of_type: Vec<&Rule> = rules
                .iter()
                .filter(|rule| rule.resource == resource_type)
                .copied()
                .collect();
            let needs = Needs::of(of_type.iter().flat_map(|rule| rule.evaluated()));
            resources::extract_into(
                snapshot,
                analysis,
                resource_type,
                &needs,
                &mut findings,
                |reference, subject| {
                    let reference = Arc::new(reference);
                    of_type
                        .iter()
                        .map(|rule| {
                            wrap(evaluate_one(
                                rule,
                                &reference,
                                &subject,
                                &snapshot.collection_errors,
                            ))
                        })
                        .collect::<Vec<T>>()
                },
            );
        }
        for rule in rules {
            findings.extend(unlisted(rule, snapshot).into_iter().map(&wrap));
            findings.extend(cut_short(rule, snapshot).into_iter().map(&wrap));
        }
        findings.sort_by(|a, b| Finding::order(a.borrow(), b.borrow()));
        findings
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut text = String::with_capacity(digest.len() * 2);
    for byte in digest {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    text
}

/// Names the exact checks a run made: the tool version and a digest of the
/// selected rules' files and parameters.
pub fn rules_version(rules: &[&Rule]) -> String {
    let mut text = String::new();
    for rule in rules {
        text.push_str(&rule.id);
        text.push('\n');
        text.push_str(&rule.digest);
        text.push('\n');
        text.push_str(&serde_json::to_string(&rule.vars).unwrap_or_default());
        text.push('\n');
    }
    let digest = sha256_hex(text.as_bytes());
    format!("{}+{}", env!("CARGO_PKG_VERSION"), &digest[..12])
}

fn finding(
    rule: &Rule,
    resource: Arc<ResourceRef>,
    status: Status,
    message: Option<String>,
) -> Finding {
    finding_with_severity(rule, rule.severity, resource, status, message)
}

fn finding_with_severity(
    rule: &Rule,
    severity: Severity,
    resource: Arc<ResourceRef>,
    status: Status,
    message: Option<String>,
) -> Finding {
    let fingerprint = Finding::fingerprint_of(&rule.id, &resource.arn);
    Finding {
        rule_id: rule.id.clone(),
        severity,
        status,
        resource,
        message,
        fingerprint,
    }
}

fn evaluate_one(
    rule: &Rule,
    reference: &Arc<ResourceRef>,
    subject: &Result<Subject, String>,
    errors: &[CollectionError],
) -> Finding {
    let resource = Arc::clone(reference);
    // A call the rule relies on failed for this resource: its data is
    // missing, so the rule cannot say pass or fail.
    let missing = errors.iter().find(|error| {
        rule.requires
            .iter()
            .any(|(service, operation)| error.service == *service && error.operation == *operation)
            // An account-wide resource gathers facts from every region,
            // so a failure in any region leaves it incomplete.
            && error.region.as_deref().is_none_or(|region| {
                region == reference.region || rule.resource.is_global()
            })
            && error
                .resource
                .as_deref()
                .is_none_or(|arn| arn == reference.arn)
    });
    if let Some(error) = missing {
        return finding(
            rule,
            resource,
            Status::NotEvaluated,
            Some(format!(
                "{}:{} failed ({}), so the data this rule reads is missing",
                error.service, error.operation, error.code
            )),
        );
    }
    let subject = match subject {
        Ok(subject) => subject,
        Err(err) => {
            return finding(rule, resource, Status::Error, Some(err.clone()));
        }
    };
    match rule.check(subject) {
        Ok(Some(false)) => finding(rule, resource, Status::Pass, None),
        Ok(Some(true)) => {
            let severity = match rule.severity_of(subject) {
                Ok(severity) => severity,
                Err(err) => return finding(rule, resource, Status::Error, Some(err)),
            };
            let message = match rule.render_message(subject) {
                Ok(message) => message,
                Err(err) => format!("{} (message failed: {err})", rule.title),
            };
            finding_with_severity(rule, severity, resource, Status::Fail, Some(message))
        }
        Ok(None) => {
            let message = rule.render_unknown(subject).unwrap_or_else(|err| {
                format!("the data this rule reads is missing (message failed: {err})")
            });
            finding(rule, resource, Status::NotEvaluated, Some(message))
        }
        Err(err) => finding(
            rule,
            resource,
            Status::Error,
            Some(format!("the condition failed on this resource: {err}")),
        ),
    }
}

/// GuardDuty detectors whose active findings were read only up to
/// `--guardduty-max-findings`: one NOT_EVALUATED result each, for the
/// findings beyond the cap, unless a failed listing already says so.
fn cut_short(rule: &Rule, snapshot: &Snapshot) -> Vec<Finding> {
    if rule.resource != ResourceType::GuarddutyFinding {
        return Vec::new();
    }
    let failed = |region: &str, arn: &str| {
        snapshot.collection_errors.iter().any(|error| {
            rule.resource.listing_failed(error)
                && error.region.as_deref() == Some(region)
                && error
                    .resource
                    .as_deref()
                    .is_none_or(|resource| resource == arn)
        })
    };
    snapshot
        .regions
        .values()
        .flat_map(|region| &region.guardduty.detectors)
        .filter(|detector| detector.findings_truncated)
        .filter(|detector| !failed(&detector.meta.region, &detector.meta.arn))
        .map(|detector| {
            let read = detector.findings.len();
            let message = match &detector.active_findings_by_severity {
                Some(counts) => format!(
                    "GuardDuty counts {} active findings for detector {}; {read} were read (--guardduty-max-findings) and the others were not evaluated",
                    counts.values().sum::<u64>(),
                    detector.meta.id
                ),
                None => format!(
                    "the active findings of detector {} were read up to --guardduty-max-findings ({read}); any others were not evaluated",
                    detector.meta.id
                ),
            };
            let resource = Arc::new(ResourceRef {
                resource_type: rule.resource,
                id: detector.meta.id.clone(),
                arn: detector.meta.arn.clone(),
                region: detector.meta.region.clone(),
                account: snapshot.account.account_id.clone(),
            });
            finding(rule, resource, Status::NotEvaluated, Some(message))
        })
        .collect()
}

/// Where the listing of the rule's resource type failed, one NOT_EVALUATED
/// result per region, or per resource when the listing was about one (a
/// GuardDuty detector's findings), or one for a global type: there may be
/// resources there that nobody saw.
fn unlisted(rule: &Rule, snapshot: &Snapshot) -> Vec<Finding> {
    let mut first_failures: BTreeMap<(Option<&str>, Option<&str>), &CollectionError> =
        BTreeMap::new();
    for error in &snapshot.collection_errors {
        if rule.resource.listing_failed(error)
            && rule.resource.is_global() == error.region.is_none()
        {
            first_failures
                .entry((error.region.as_deref(), error.resource.as_deref()))
                .or_insert(error);
        }
    }
    first_failures
        .into_values()
        .map(|error| {
            let region = error
                .region
                .clone()
                .unwrap_or_else(|| crate::snapshot::iam::GLOBAL_REGION.to_owned());
            let (id, arn) = match &error.resource {
                Some(arn) => (
                    arn.rsplit('/').next().unwrap_or(arn).to_owned(),
                    arn.clone(),
                ),
                None => (
                    region.clone(),
                    format!(
                        "arn:{}:{}:{}:{}:{}",
                        snapshot.account.partition,
                        error.service,
                        error.region.as_deref().unwrap_or(""),
                        snapshot.account.account_id,
                        rule.resource.name()
                    ),
                ),
            };
            let resource = Arc::new(ResourceRef {
                resource_type: rule.resource,
                id,
                arn,
                region,
                account: snapshot.account.account_id.clone(),
            });
            finding(
                rule,
                resource,
                Status::NotEvaluated,
                Some(format!(
                    "{}:{} failed ({}): {}",
                    error.service, error.operation, error.code, error.message
                )),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../fixtures/demo/snapshot.json");

    /// These three rules: the tests must not change as the catalogue grows.
    const RULES: [&str; 3] = [
        "ec2-security-group-ssh-open-to-internet",
        "ec2-security-group-default-restricts-all-traffic",
        "iam-root-mfa-not-enabled",
    ];

    fn evaluate_all(snapshot: &Snapshot) -> Vec<Finding> {
        let engine = Engine::load(None).expect("built-in rules load");
        let selection = Selection {
            rules: RULES.iter().map(|id| (*id).to_owned()).collect(),
            ..Selection::default()
        };
        let rules = engine.select(&selection).expect("the rules exist");
        engine.evaluate(snapshot, &Analysis::of(snapshot), &rules)
    }

    fn error(region: Option<&str>, service: &str, operation: &str) -> CollectionError {
        CollectionError {
            service: service.to_owned(),
            region: region.map(str::to_owned),
            operation: operation.to_owned(),
            resource: None,
            code: "AccessDenied".to_owned(),
            message: "denied".to_owned(),
        }
    }

    #[test]
    fn missing_data_is_not_evaluated_never_passed() {
        let mut snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let region = snapshot.regions.get_mut("eu-west-1").expect("region");
        region.ec2.security_groups.clear();
        snapshot
            .collection_errors
            .push(error(Some("eu-west-1"), "ec2", "DescribeSecurityGroups"));
        snapshot
            .collection_errors
            .push(error(None, "iam", "GetAccountSummary"));
        snapshot.global.iam.summary = None;
        // Root's MFA falls back on the credential report; without it too,
        // nothing says.
        let with_report = evaluate_all(&snapshot);
        let root = with_report
            .iter()
            .find(|f| f.rule_id == "iam-root-mfa-not-enabled")
            .expect("the root finding");
        assert_eq!(root.status, Status::Pass, "the report's root row has MFA");
        snapshot.global.iam.credential_report = None;

        let findings = evaluate_all(&snapshot);
        let unevaluated: Vec<(&str, &str)> = findings
            .iter()
            .filter(|f| f.status == Status::NotEvaluated)
            .map(|f| (f.rule_id.as_str(), f.resource.region.as_str()))
            .collect();
        assert_eq!(
            unevaluated,
            [
                ("iam-root-mfa-not-enabled", "global"),
                (
                    "ec2-security-group-default-restricts-all-traffic",
                    "eu-west-1"
                ),
                ("ec2-security-group-ssh-open-to-internet", "eu-west-1"),
            ]
        );
        let root = &findings[0];
        assert_eq!(
            root.message.as_deref(),
            Some(
                "Whether the root user of account 123456789012 has MFA is unknown: neither the \
                 account summary nor the credential report could be read"
            )
        );
        assert!(
            !findings
                .iter()
                .any(|f| f.resource.region == "eu-west-1" && f.status == Status::Pass),
            "nothing in the unlisted region passes"
        );
    }

    #[test]
    fn a_failed_batch_of_guardduty_findings_leaves_its_detector_not_evaluated() {
        let mut snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let detector = &mut snapshot
            .regions
            .get_mut("us-east-1")
            .expect("region")
            .guardduty
            .detectors[0];
        let arn = detector.meta.arn.clone();
        // Two batches of ids could not be read: their findings are unseen.
        detector.findings.truncate(10);
        for _ in 0..2 {
            snapshot.collection_errors.push(CollectionError {
                resource: Some(arn.clone()),
                ..error(Some("us-east-1"), "guardduty", "GetFindings")
            });
        }
        let engine = Engine::load(None).expect("built-in rules load");
        let rule = engine.rule("guardduty-finding-active").expect("the rule");
        let findings = engine.evaluate(&snapshot, &Analysis::of(&snapshot), &[rule]);
        let unevaluated: Vec<(&str, &str, Option<&str>)> = findings
            .iter()
            .filter(|f| f.status == Status::NotEvaluated)
            .map(|f| {
                (
                    f.resource.id.as_str(),
                    f.resource.arn.as_str(),
                    f.message.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            unevaluated,
            [(
                "33161f0067caa9ff550402aa31b1ce4f",
                arn.as_str(),
                Some("guardduty:GetFindings failed (AccessDenied): denied")
            )]
        );
        assert_eq!(
            findings.iter().filter(|f| f.status == Status::Fail).count(),
            10,
            "the findings that were read are still reported"
        );
    }

    #[test]
    fn findings_beyond_the_cap_are_not_evaluated_not_silently_dropped() {
        let mut snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let detector = &mut snapshot
            .regions
            .get_mut("us-east-1")
            .expect("region")
            .guardduty
            .detectors[0];
        detector.findings.truncate(10);
        detector.findings_truncated = true;
        let engine = Engine::load(None).expect("built-in rules load");
        let rule = engine.rule("guardduty-finding-active").expect("the rule");
        let findings = engine.evaluate(&snapshot, &Analysis::of(&snapshot), &[rule]);
        let unevaluated: Vec<(&str, Option<&str>)> = findings
            .iter()
            .filter(|f| f.status == Status::NotEvaluated)
            .map(|f| (f.resource.id.as_str(), f.message.as_deref()))
            .collect();
        assert_eq!(
            unevaluated,
            [(
                "33161f0067caa9ff550402aa31b1ce4f",
                Some(
                    "GuardDuty counts 60 active findings for detector 33161f0067caa9ff550402aa31b1ce4f; \
                     10 were read (--guardduty-max-findings) and the others were not evaluated"
                )
            )]
        );
    }

    #[test]
    fn reachability_without_a_hop_s_data_is_not_evaluated() {
        // A region whose ACLs could not all be read (denied, or one came
        // back malformed and was left out): no instance there passes.
        let mut snapshot = Snapshot::parse(DEMO).expect("demo parses");
        snapshot
            .collection_errors
            .push(error(Some("us-east-1"), "ec2", "DescribeNetworkAcls"));
        let engine = Engine::load(None).expect("built-in rules load");
        let selection = Selection {
            rules: vec!["ec2-instance-admin-port-reachable-from-internet".to_owned()],
            ..Selection::default()
        };
        let rules = engine.select(&selection).expect("the rule exists");
        let findings = engine.evaluate(&snapshot, &Analysis::of(&snapshot), &rules);
        let in_region: Vec<(Status, Option<&str>)> = findings
            .iter()
            .filter(|f| f.resource.region == "us-east-1")
            .map(|f| (f.status, f.message.as_deref()))
            .collect();
        let instances = snapshot.regions["us-east-1"].ec2.instances.len();
        assert!(instances > 0);
        assert_eq!(
            in_region,
            vec![
                (
                    Status::NotEvaluated,
                    Some(
                        "ec2:DescribeNetworkAcls failed (AccessDenied), so the data this rule reads is missing"
                    )
                );
                instances
            ]
        );
    }

    #[test]
    fn a_condition_that_fails_on_a_resource_is_an_error_result() {
        // A rule that reads a tag one group lacks: that group's result is
        // ERROR with the evaluator's reason, the others still decide.
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("rule.yaml"),
            r#"id: ec2-security-group-test-field
title: t
severity: low
resource: security_group
description: d
rationale: r
remediation: {text: x}
when: 'resource.name == "db" ? resource.tags.no_such_tag == "1" : false'
message: m
tests:
  - {name: other, expect: pass, resource: {name: web}}
  - {name: db, expect: fail, resource: {name: db, tags: {no_such_tag: "1"}}}
"#,
        )
        .expect("write rule");
        let engine = Engine::load_dir(dir.path()).expect("rule loads");
        let snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let rules: Vec<&Rule> = engine.rules().iter().collect();
        let findings = engine.evaluate(&snapshot, &Analysis::of(&snapshot), &rules);
        let errors: Vec<(&str, &str)> = findings
            .iter()
            .filter(|f| f.status == Status::Error)
            .map(|f| {
                (
                    f.resource.region.as_str(),
                    f.message.as_deref().unwrap_or(""),
                )
            })
            .collect();
        let db_groups = snapshot
            .regions
            .values()
            .flat_map(|r| &r.ec2.security_groups)
            .filter(|g| g.name == "db")
            .count();
        assert_eq!(errors.len(), db_groups);
        assert!(db_groups > 0);
        for (_, message) in errors {
            assert!(
                message.starts_with("the condition failed on this resource:"),
                "{message}"
            );
        }
        assert!(findings.iter().any(|f| f.status == Status::Pass));
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let with_threads = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| evaluate_all(&snapshot))
        };
        assert_eq!(with_threads(1), with_threads(4));
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let findings = evaluate_all(&snapshot);
        let fingerprints: BTreeSet<&str> =
            findings.iter().map(|f| f.fingerprint.as_str()).collect();
        assert_eq!(fingerprints.len(), findings.len());
        assert_eq!(evaluate_all(&snapshot), findings);
    }
}
