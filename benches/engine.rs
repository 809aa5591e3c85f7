//! Rule evaluation speed: three built-in rules through the engine over a
//! generated snapshot of 100,000 security groups plus the account, with
//! the compiled evaluator and with the CEL interpreter it replaced, next to
//! hand-written Rust predicates for the same three rules over the same
//! snapshot, measured in the same run.
//!
//! The end-to-end figure is the pipeline every run takes (analysis,
//! evaluation, the report, a suppression file applied); its reference is
//! the analysis, the hand-written predicates and the same results built.
//! Then the report of that run rendered as JSON and SARIF.
//!
//! `cargo bench --bench engine`; throughput is in rule-resource evaluations,
//! or findings for the report.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart::analyze::Analysis;
use rampart::analyze::cidr::{self, Network};
use rampart::engine::Finding;
use rampart::engine::Selection;
use rampart::engine::expr::Needs;
use rampart::engine::resources::{self, Extracted, ResourceRef, ResourceType};
use rampart::pipeline::{Gate, Plan, PlanOptions, RunClock};
use rampart::report::{self, Format};
use rampart::snapshot::Snapshot;
use rampart::snapshot::ec2::{Protocol, SecurityGroup};
use rampart::verdict::Status;

const GROUPS: usize = 100_000;

fn covers_internet(cidrs: &[&str]) -> bool {
    let networks: Vec<Network> = cidrs.iter().filter_map(|c| Network::parse(c)).collect();
    cidr::covers_internet(&networks)
}

/// SSH open to the whole internet, written directly in Rust.
fn ssh_open(group: &SecurityGroup) -> bool {
    group.ingress.iter().any(|p| {
        let port = p.protocol == Protocol::All
            || (p.protocol == Protocol::Tcp
                && p.port_range.is_some_and(|r| r.from <= 22 && 22 <= r.to));
        let sources: Vec<&str> = p
            .ipv4_ranges
            .iter()
            .chain(&p.ipv6_ranges)
            .map(|r| r.cidr.as_str())
            .collect();
        port && covers_internet(&sources)
    })
}

/// A default group with rules, written directly in Rust.
fn default_open(group: &SecurityGroup) -> bool {
    group.name == "default" && (!group.ingress.is_empty() || !group.egress.is_empty())
}

/// The three rules written directly in Rust over the typed snapshot.
fn hand_written(snapshot: &Snapshot) -> usize {
    let root_mfa = snapshot
        .global
        .iam
        .summary
        .as_ref()
        .map(|s| s.account_mfa_enabled);
    let mut failures = usize::from(root_mfa == Some(false));
    for region in snapshot.regions.values() {
        for group in &region.ec2.security_groups {
            let (ssh, default_open) = (ssh_open(group), default_open(group));
            failures += usize::from(ssh) + usize::from(default_open);
        }
    }
    failures
}

/// The results the engine builds for the same three rules, from the
/// hand-written predicates: the reference for the pipeline end to end.
fn hand_written_results(snapshot: &Snapshot) -> Vec<Finding> {
    let analysis = Analysis::of(snapshot);
    black_box(&analysis);
    let account = &snapshot.account.account_id;
    let result = |rule: &str, resource: &Arc<ResourceRef>, failed: bool| Finding {
        rule_id: rule.to_owned(),
        severity: rampart::verdict::Severity::High,
        status: if failed { Status::Fail } else { Status::Pass },
        resource: Arc::clone(resource),
        message: failed.then(|| format!("{} fails {rule}", resource.id)),
        fingerprint: Finding::fingerprint_of(rule, &resource.arn),
    };
    let mut findings = Vec::new();
    for region in snapshot.regions.values() {
        for group in &region.ec2.security_groups {
            let reference = Arc::new(ResourceRef {
                resource_type: ResourceType::SecurityGroup,
                id: group.meta.id.clone(),
                arn: group.meta.arn.clone(),
                region: group.meta.region.clone(),
                account: account.clone(),
            });
            let (ssh, default_open) = (ssh_open(group), default_open(group));
            findings.push(result(
                "ec2-security-group-ssh-open-to-internet",
                &reference,
                ssh,
            ));
            findings.push(result(
                "ec2-security-group-default-restricts-all-traffic",
                &reference,
                default_open,
            ));
        }
    }
    findings.sort_by(Finding::order);
    findings
}

fn bench(c: &mut Criterion) {
    let snapshot = common::generated_snapshot(GROUPS);
    let dir = tempfile::tempdir().expect("temp dir");
    let suppressions = dir.path().join("suppressions.yaml");
    std::fs::write(
        &suppressions,
        "suppressions:\n  - rule: ec2-security-group-ssh-open-to-internet\n    resource: \"sg-*7\"\n    reason: benchmark\n",
    )
    .expect("write suppressions");
    let plan_options = PlanOptions {
        selection: Selection {
            rules: [
                "ec2-security-group-ssh-open-to-internet",
                "ec2-security-group-default-restricts-all-traffic",
                "iam-root-mfa-not-enabled",
            ]
            .map(str::to_owned)
            .to_vec(),
            ..Selection::default()
        },
        suppressions: Some(suppressions),
        ..PlanOptions::default()
    };
    let plan = Plan::load(&plan_options).expect("the three rules and the suppressions load");
    let mut interpreted_plan = Plan::load(&plan_options).expect("the plan loads");
    interpreted_plan.use_interpreter();
    let now = || snapshot.collected_at;
    let clock = RunClock {
        started_at: snapshot.collected_at,
        today: snapshot.collected_at.date_naive(),
        now: &now,
    };
    let run = || plan.run(&snapshot, &clock, &[], Gate::default());
    let run_interpreted = || interpreted_plan.run(&snapshot, &clock, &[], Gate::default());
    let outcome = run();
    assert_eq!(
        run_interpreted().report.findings,
        outcome.report.findings,
        "both evaluators give the same results"
    );
    let report = &outcome.report;
    let evaluations = report.findings.len() as u64;
    let failing = report
        .findings
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .count();
    assert_eq!(failing, hand_written(&snapshot), "both must agree");
    let rules = plan.rules();

    let interpreted_rules = interpreted_plan.rules();

    // Where the engine's time goes: converting resources for each
    // evaluator, then the conditions alone on one thread.
    let analysis = Analysis::of(&snapshot);
    // What each evaluator needs of a resource of the type, as the engine
    // works it out.
    let needs = |rules: &[&rampart::engine::rule::Rule], resource_type: ResourceType| {
        Needs::of(
            rules
                .iter()
                .filter(|rule| rule.resource == resource_type)
                .flat_map(|rule| rule.evaluated()),
        )
    };
    let extract = |rules: &[&rampart::engine::rule::Rule]| -> Vec<(ResourceType, Vec<Extracted>)> {
        [ResourceType::SecurityGroup, ResourceType::Account]
            .into_iter()
            .map(|t| {
                (
                    t,
                    resources::extract(&snapshot, &analysis, t, &needs(rules, t)),
                )
            })
            .collect()
    };
    let for_interpreter = extract(&interpreted_rules);
    let for_compiled = extract(&rules);
    let conditions_only = |rules: &[&rampart::engine::rule::Rule],
                           subjects: &[(ResourceType, Vec<Extracted>)]| {
        let mut failures = 0usize;
        for rule in rules {
            for (resource_type, extracted) in subjects {
                if *resource_type != rule.resource {
                    continue;
                }
                for (_, subject) in extracted {
                    let subject = subject.as_ref().expect("converted");
                    failures += usize::from(rule.check(subject).expect("evaluates") == Some(true));
                }
            }
        }
        failures
    };
    assert_eq!(
        conditions_only(&interpreted_rules, &for_interpreter),
        failing
    );
    assert_eq!(conditions_only(&rules, &for_compiled), failing);
    let reference = hand_written_results(&snapshot);
    assert_eq!(
        reference
            .iter()
            .filter(|f| f.status == Status::Fail)
            .count()
            + 1,
        failing,
        "the reference builds the same failures, the root's MFA aside"
    );

    let mut group = c.benchmark_group("three rules over 100k security groups");
    group.sample_size(10);
    group.throughput(Throughput::Elements(evaluations));
    group.bench_function(
        "pipeline end to end (analysis, compiled, report, suppressions; all threads)",
        |b| b.iter(|| black_box(run())),
    );
    group.bench_function(
        "pipeline end to end (analysis, CEL, report, suppressions; all threads)",
        |b| b.iter(|| black_box(run_interpreted())),
    );
    group.bench_function(
        "reference end to end (analysis, hand-written, the same results; one thread)",
        |b| b.iter(|| black_box(hand_written_results(black_box(&snapshot)))),
    );
    group.bench_function("conditions only (compiled, one thread)", |b| {
        b.iter(|| black_box(conditions_only(&rules, &for_compiled)))
    });
    group.bench_function("conditions only (CEL, one thread)", |b| {
        b.iter(|| black_box(conditions_only(&interpreted_rules, &for_interpreter)))
    });
    group.bench_function("hand-written Rust (one thread)", |b| {
        b.iter(|| black_box(hand_written(black_box(&snapshot))))
    });
    group.finish();

    let mut group = c.benchmark_group("converting 100k security groups");
    group.sample_size(10);
    group.throughput(Throughput::Elements(GROUPS as u64));
    for (name, needs) in [
        (
            "for the interpreter (resources::extract)",
            needs(&interpreted_rules, ResourceType::SecurityGroup),
        ),
        (
            "for the compiled evaluator (resources::extract, the fields the rules read)",
            needs(&rules, ResourceType::SecurityGroup),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(resources::extract(
                    black_box(&snapshot),
                    &analysis,
                    ResourceType::SecurityGroup,
                    &needs,
                ))
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("loading the rules");
    group.sample_size(10);
    group.bench_function("the whole catalogue, parsed and compiled", |b| {
        b.iter(|| black_box(rampart::engine::Engine::load(None).expect("rules load")))
    });
    group.finish();

    let mut group = c.benchmark_group("analysing a snapshot of 100k security groups");
    group.sample_size(10);
    group.throughput(Throughput::Elements(GROUPS as u64));
    group.bench_function("Analysis::of", |b| {
        b.iter(|| black_box(Analysis::of(black_box(&snapshot))))
    });
    group.finish();

    let mut group = c.benchmark_group("the report of 200k results");
    group.sample_size(10);
    group.throughput(Throughput::Elements(evaluations));
    for format in [Format::Json, Format::Sarif] {
        group.bench_function(format!("render {format}"), |b| {
            b.iter(|| black_box(report::render(report, format, &Default::default())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
