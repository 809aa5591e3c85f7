//! Missing data never passes: the whole catalogue runs over the seeded
//! emulator account (the demo account and a failing and passing case of
//! each rule) once with everything answered, then once per collection call
//! with that call denied, in one region and everywhere. Wherever a rule
//! failed with the data present, the denied scan must still fail there or
//! say it could not evaluate it (on the resource, or on the region whose
//! listing failed); a PASS, or a failure that silently vanished, is a rule
//! whose data dependencies are not declared (`requires`) or not derived.
//!
//! The calls come from the full scan's own call counts, so a rule or a
//! collector added later is covered without touching this test.

mod support;

use std::collections::BTreeSet;

use rampart::results::ReportFinding;
use rampart::verdict::Status;
use rayon::prelude::*;
use support::faults::Fault;
use support::moto::MotoServer;
use support::replay::{Replay, ReplayServer};
use support::seed::{self, HOME_REGION, SECOND_REGION};

/// Without the caller's identity there is no scan at all (exit 2), which
/// `tests/cli.rs` covers.
const FATAL: [&str; 1] = ["sts:GetCallerIdentity"];

/// Rules the seeded account does not fail, and why: each is either the
/// other side of a rule that fails here, or a state the emulator cannot
/// give. Their failing cases are tested in `tests/scan_rules.rs` and
/// their inline tests, not denied call by call.
const NOT_FAILING_HERE: [(&str, &str); 12] = [
    (
        "billing-account-no-alarm-or-budget",
        "the front answers with billing alarms and budgets, which the other billing rules' failing cases need",
    ),
    (
        "guardduty-region-not-enabled",
        "both regions have a detector, which the GuardDuty finding rules need",
    ),
    (
        "iam-identity-center-no-admin-assigned",
        "the seeded instance assigns an administrator, which the permission-set rules need",
    ),
    (
        "iam-identity-center-not-enabled",
        "Identity Center is enabled, as the permission-set rules need",
    ),
    (
        "iam-password-policy-max-age-too-long",
        "one password policy per account: these clauses fail under the complementary policy only",
    ),
    (
        "iam-password-policy-numbers-not-required",
        "one password policy per account: these clauses fail under the complementary policy only",
    ),
    (
        "iam-password-policy-symbols-not-required",
        "one password policy per account: these clauses fail under the complementary policy only",
    ),
    (
        "iam-password-policy-uppercase-not-required",
        "one password policy per account: these clauses fail under the complementary policy only",
    ),
    (
        "iam-root-access-keys-present",
        "the credential report agrees with the account summary, which moto gives without root keys",
    ),
    (
        "iam-user-access-key-older-than-90-days",
        "moto dates every access key at its creation, today",
    ),
    (
        "iam-user-credentials-unused",
        "moto dates every credential at its creation, today",
    ),
    (
        "vpc-route-table-blackhole-route",
        "moto never reports a route as a blackhole",
    ),
];

/// Denied scans run this many at a time; the emulator answers each on
/// its own thread.
const SCANS_IN_FLIGHT: usize = 3;

#[tokio::test(flavor = "multi_thread")]
async fn no_check_passes_or_vanishes_when_the_data_it_reads_was_denied() {
    let moto = tokio::task::block_in_place(MotoServer::start);
    let seeded = seed::seed_account(&moto.endpoint).await;
    let services = seed::seed_account_services(&moto.endpoint).await;
    seed::seed_rule_cases(&moto.endpoint, &seeded, &services).await;
    // The root user's row agrees with the account summary, as AWS's own
    // two answers do, so either one alone gives the same verdict.
    let credential_report = seed::credential_report(&moto.endpoint, false, None, Some(1)).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let scan_with = |faults: Vec<Fault>| {
        let front = ReplayServer::start(
            &moto.endpoint,
            Replay {
                faults,
                credential_report: Some(credential_report.clone()),
                ..Replay::standard()
            },
        );
        let run = tempfile::tempdir_in(dir.path()).expect("run dir");
        let snapshot = support::collect(
            &front.endpoint,
            &[HOME_REGION, SECOND_REGION],
            &[],
            run.path(),
        );
        let findings = support::evaluate(&snapshot);
        (snapshot, findings)
    };

    let (full_snapshot, full) = tokio::task::block_in_place(|| scan_with(vec![]));
    assert_eq!(
        full_snapshot.collection_errors,
        [],
        "the full scan is complete"
    );
    let failing: Vec<&ReportFinding> = full
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .collect();
    assert!(failing.len() > 100, "{} failing findings", failing.len());
    // Only a rule that fails here is checked by the matrix: a rule added
    // later must be seeded to fail, or stated in `NOT_FAILING_HERE` with
    // the reason it cannot be.
    let engine = rampart::engine::Engine::load(None).expect("built-in rules load");
    let covered: BTreeSet<&str> = failing.iter().map(|f| f.finding.rule_id.as_str()).collect();
    let uncovered: BTreeSet<&str> = engine
        .rules()
        .iter()
        .map(|rule| rule.id.as_str())
        .filter(|id| !covered.contains(id))
        .collect();
    assert_eq!(
        uncovered,
        NOT_FAILING_HERE.iter().map(|(id, _)| *id).collect()
    );

    let actions: Vec<&String> = full_snapshot
        .api_calls
        .keys()
        .filter(|action| !FATAL.contains(&action.as_str()))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(SCANS_IN_FLIGHT)
        .build()
        .expect("thread pool");
    let outcomes: Vec<(Vec<String>, usize)> = tokio::task::block_in_place(|| {
        pool.install(|| {
            actions
                .par_iter()
                .map(|action| {
                    let mut problems = Vec::new();
                    let mut denied_scans = 0;
                    let (snapshot, findings) = scan_with(vec![Fault::deny(action)]);
                    let failed_in: BTreeSet<Option<String>> = snapshot
                        .collection_errors
                        .iter()
                        .filter(|e| format!("{}:{}", e.service, e.operation) == **action)
                        .map(|e| e.region.clone())
                        .collect();
                    let name = format!("{action} denied everywhere");
                    if failed_in.is_empty() {
                        problems.push(format!("{name}: no collection error records it"));
                    }
                    denied_scans += 1;
                    problems.extend(support::passes_or_vanishes(&name, &failing, &findings));
                    // Denied in one region of several: the other's data must
                    // not stand in for it.
                    if failed_in.len() > 1 {
                        let (_, findings) = scan_with(vec![Fault::deny_in(action, HOME_REGION)]);
                        denied_scans += 1;
                        problems.extend(support::passes_or_vanishes(
                            &format!("{action} denied in {HOME_REGION}"),
                            &failing,
                            &findings,
                        ));
                    }
                    (problems, denied_scans)
                })
                .collect()
        })
    });
    let problems: Vec<String> = outcomes.iter().flat_map(|(p, _)| p.clone()).collect();
    assert_eq!(problems, Vec::<String>::new());
    let denied_scans: usize = outcomes.iter().map(|(_, n)| n).sum();
    assert!(denied_scans > 50, "{denied_scans} denied scans");
}
