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

use std::collections::{BTreeMap, BTreeSet};

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

/// What went wrong in one denied scan, for one failing finding.
fn violations(denied: &str, full: &[&ReportFinding], scan: &[ReportFinding]) -> Vec<String> {
    let by_fingerprint: BTreeMap<&str, &ReportFinding> = scan
        .iter()
        .map(|f| (f.finding.fingerprint.as_str(), f))
        .collect();
    let unlisted: BTreeSet<(&str, &str)> = scan
        .iter()
        .filter(|f| f.finding.status == Status::NotEvaluated)
        .map(|f| {
            (
                f.finding.rule_id.as_str(),
                f.finding.resource.region.as_str(),
            )
        })
        .collect();
    full.iter()
        .filter_map(|before| {
            let f = &before.finding;
            let what = match by_fingerprint.get(f.fingerprint.as_str()) {
                Some(now) if now.finding.status == Status::Pass => "PASS",
                Some(_) => return None,
                None if unlisted.contains(&(f.rule_id.as_str(), f.resource.region.as_str())) => {
                    return None;
                }
                None => "no result and no NOT_EVALUATED in its region",
            };
            Some(format!(
                "{denied}: {} on {} ({}) failed with the data, now {what}",
                f.rule_id, f.resource.id, f.resource.region
            ))
        })
        .collect()
}

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
                    problems.extend(violations(&name, &failing, &findings));
                    // Denied in one region of several: the other's data must
                    // not stand in for it.
                    if failed_in.len() > 1 {
                        let (_, findings) = scan_with(vec![Fault::deny_in(action, HOME_REGION)]);
                        denied_scans += 1;
                        problems.extend(violations(
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
