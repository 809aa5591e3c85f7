//! Rule evaluation speed: three built-in rules through the engine (CEL) over
//! a generated snapshot of 100,000 security groups plus the account, next
//! to hand-written Rust predicates for the same three rules over the same
//! snapshot, measured in the same run.
//!
//! The end-to-end figure is the pipeline every run takes (analysis,
//! evaluation, the report, a suppression file applied); then the report of
//! that run rendered as JSON and SARIF.
//!
//! `cargo bench --bench engine`; throughput is in rule-resource evaluations,
//! or findings for the report.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart::analyze::Analysis;
use rampart::analyze::cidr::{self, Network};
use rampart::engine::Selection;
use rampart::engine::resources::{self, Extracted, ResourceType};
use rampart::pipeline::{Gate, Plan, PlanOptions, RunClock};
use rampart::report::{self, Format};
use rampart::snapshot::Snapshot;
use rampart::snapshot::ec2::Protocol;
use rampart::verdict::Status;

const GROUPS: usize = 100_000;

fn covers_internet(cidrs: &[&str]) -> bool {
    let networks: Vec<Network> = cidrs.iter().filter_map(|c| Network::parse(c)).collect();
    cidr::covers_internet(&networks)
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
            let ssh = group.ingress.iter().any(|p| {
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
            });
            let default_open =
                group.name == "default" && (!group.ingress.is_empty() || !group.egress.is_empty());
            failures += usize::from(ssh) + usize::from(default_open);
        }
    }
    failures
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
    let plan = Plan::load(&PlanOptions {
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
    })
    .expect("the three rules and the suppressions load");
    let now = || snapshot.collected_at;
    let clock = RunClock {
        started_at: snapshot.collected_at,
        today: snapshot.collected_at.date_naive(),
        now: &now,
    };
    let run = || plan.run(&snapshot, &clock, &[], Gate::default());
    let outcome = run();
    let report = &outcome.report;
    let evaluations = report.findings.len() as u64;
    let failing = report
        .findings
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .count();
    assert_eq!(failing, hand_written(&snapshot), "both must agree");
    let rules = plan.rules();

    // Where the engine's time goes: converting resources for the
    // interpreter, then the conditions alone on one thread.
    let analysis = Analysis::of(&snapshot);
    let subjects: Vec<(ResourceType, Vec<Extracted>)> =
        [ResourceType::SecurityGroup, ResourceType::Account]
            .into_iter()
            .map(|t| (t, resources::extract(&snapshot, &analysis, t)))
            .collect();
    let conditions_only = || {
        let mut failures = 0usize;
        for rule in &rules {
            for (resource_type, extracted) in &subjects {
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
    assert_eq!(conditions_only(), failing);

    let mut group = c.benchmark_group("three rules over 100k security groups");
    group.sample_size(10);
    group.throughput(Throughput::Elements(evaluations));
    group.bench_function(
        "pipeline end to end (analysis, CEL, report, suppressions; all threads)",
        |b| b.iter(|| black_box(run())),
    );
    group.bench_function("conditions only (CEL, one thread)", |b| {
        b.iter(|| black_box(conditions_only()))
    });
    group.bench_function("hand-written Rust (one thread)", |b| {
        b.iter(|| black_box(hand_written(black_box(&snapshot))))
    });
    group.finish();

    let mut group = c.benchmark_group("converting 100k security groups for the interpreter");
    group.sample_size(10);
    group.throughput(Throughput::Elements(GROUPS as u64));
    group.bench_function("resources::extract", |b| {
        b.iter(|| {
            black_box(resources::extract(
                black_box(&snapshot),
                &analysis,
                ResourceType::SecurityGroup,
            ))
        })
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
