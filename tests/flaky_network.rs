//! A scan through a flaky network: the replay front throttles, fails,
//! drops or holds calls on their way to the emulator. Retries ride out
//! partial faults with the same results as a clean scan; total throttling
//! evaluates nothing and passes nothing, and resolves nothing against a
//! baseline; a call that never answers is given up at its deadline.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rampart::results::Report;
use rampart::snapshot::Snapshot;
use rampart::verdict::Status;
use support::faults::{Effect, Fault};
use support::moto::MotoServer;
use support::replay::{Replay, ReplayServer};
use support::seed::{self, HOME_REGION, SECOND_REGION};

/// The verdict on every (rule, resource), by fingerprint.
fn verdicts(snapshot: &Snapshot) -> BTreeMap<String, Status> {
    support::evaluate(snapshot)
        .into_iter()
        .map(|f| (f.finding.fingerprint, f.finding.status))
        .collect()
}

fn front(moto: &MotoServer, faults: Vec<Fault>) -> ReplayServer {
    ReplayServer::start(
        &moto.endpoint,
        Replay {
            faults,
            ..Replay::standard()
        },
    )
}

/// `rampart collect` of both regions through `front`, with `extra` flags.
fn collect(front: &ReplayServer, dir: &Path, extra: &[&str]) -> Snapshot {
    support::collect(&front.endpoint, &[HOME_REGION, SECOND_REGION], extra, dir)
}

async fn seeded() -> MotoServer {
    let moto = tokio::task::block_in_place(MotoServer::start);
    seed::seed_account(&moto.endpoint).await;
    seed::seed_account_services(&moto.endpoint).await;
    moto
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_faults_are_retried_to_the_same_results_as_a_clean_scan() {
    let moto = seeded().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let clean = tokio::task::block_in_place(|| collect(&front(&moto, vec![]), dir.path(), &[]));
    assert_eq!(clean.collection_errors, []);
    let expected = verdicts(&clean);
    assert!(expected.values().any(|s| *s == Status::Fail));
    assert!(expected.values().any(|s| *s == Status::Pass));

    for (name, faults) in [
        (
            "10% throttling",
            vec![Fault::everywhere(Effect::Throttle, 0.1)],
        ),
        (
            "50% throttling",
            vec![Fault::everywhere(Effect::Throttle, 0.5)],
        ),
        (
            "20% server errors",
            vec![Fault::everywhere(Effect::ServerError, 0.2)],
        ),
        (
            "20% dropped connections",
            vec![Fault::everywhere(Effect::Drop, 0.2)],
        ),
    ] {
        let faulty = front(&moto, faults);
        let snapshot = tokio::task::block_in_place(|| collect(&faulty, dir.path(), &[]));
        let injected = faulty
            .served()
            .iter()
            .filter(|entry| {
                ["Throttle ", "ServerError ", "Drop "]
                    .iter()
                    .any(|e| entry.starts_with(e))
            })
            .count();
        let calls: u64 = snapshot.api_calls.values().sum();
        let rate = faulty_rate(name);
        assert!(
            injected as f64 >= rate * calls as f64 / 2.0,
            "{name}: {injected} faults injected over {calls} calls"
        );
        assert_eq!(snapshot.collection_errors, [], "{name}");
        assert_eq!(verdicts(&snapshot), expected, "{name}");
    }
}

/// The rate a case's name states, `50% throttling` → 0.5.
fn faulty_rate(name: &str) -> f64 {
    let percent: f64 = name
        .split('%')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a rate in the name");
    percent / 100.0
}

#[tokio::test(flavor = "multi_thread")]
async fn total_throttling_evaluates_nothing_passes_nothing_and_resolves_nothing() {
    let moto = seeded().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let baseline = dir.path().join("baseline.json");
    let clean = front(&moto, vec![]);
    let output = support::rampart(dir.path())
        .args(["scan", "--endpoint-url", &clean.endpoint])
        .args(["--region", HOME_REGION, "--region", SECOND_REGION])
        .args(["--fail-on", "never", "--output"])
        .arg(format!("json={}", baseline.display()))
        .output()
        .expect("run rampart scan");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        support::stderr(&output)
    );

    // Every call throttled, on every attempt; only the identity answers,
    // without which there is no scan at all.
    let throttled = front(
        &moto,
        vec![
            Fault {
                action: Some("sts:GetCallerIdentity".to_owned()),
                region: None,
                effect: Effect::Throttle,
                rate: 0.0,
                body_contains: None,
            },
            Fault::everywhere(Effect::Throttle, 1.0),
        ],
    );
    let report_path = dir.path().join("report.json");
    let output = support::rampart(dir.path())
        .args(["scan", "--endpoint-url", &throttled.endpoint])
        .args(["--region", HOME_REGION, "--region", SECOND_REGION])
        .args(["--fail-on", "never", "--strict", "--baseline"])
        .arg(&baseline)
        .arg("--output")
        .arg(format!("json={}", report_path.display()))
        .output()
        .expect("run rampart scan");
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        support::stderr(&output)
    );
    let report = Report::read(&report_path).expect("report parses");
    let statuses: BTreeMap<Status, usize> =
        report
            .findings
            .iter()
            .fold(BTreeMap::new(), |mut counts, f| {
                *counts.entry(f.finding.status).or_default() += 1;
                counts
            });
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [Status::NotEvaluated],
        "{statuses:?}"
    );
    assert!(
        report
            .collection_errors
            .iter()
            .all(|e| e.code == "Throttling"
                || e.code == "RequestLimitExceeded"
                || e.code == "ThrottlingException"
                || e.code == "TooManyRequestsException"),
        "{:?}",
        report.collection_errors
    );
    assert_eq!(report.resolved.as_deref().map(<[_]>::len), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_never_answers_is_given_up_at_its_deadline() {
    let moto = seeded().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let hanging = front(
        &moto,
        vec![Fault {
            action: Some("ec2:DescribeSubnets".to_owned()),
            region: None,
            effect: Effect::Hang,
            rate: 1.0,
            body_contains: None,
        }],
    );
    let snapshot = tokio::task::block_in_place(|| {
        collect(
            &hanging,
            dir.path(),
            // Long enough that the emulator answers every other call in
            // time on a loaded machine (one second once timed out a
            // listing that did answer).
            &["--call-timeout", "3", "--operation-deadline", "7"],
        )
    });
    let failed: Vec<(&str, Option<&str>, &str)> = snapshot
        .collection_errors
        .iter()
        .map(|e| (e.operation.as_str(), e.region.as_deref(), e.code.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("DescribeSubnets", Some(SECOND_REGION), "Timeout"),
            ("DescribeSubnets", Some(HOME_REGION), "Timeout"),
        ]
    );
    let findings = support::evaluate(&snapshot);
    let subnet_results: Vec<(&str, Status)> = findings
        .iter()
        .filter(|f| f.finding.rule_id.starts_with("vpc-subnet-"))
        .map(|f| (f.finding.resource.region.as_str(), f.finding.status))
        .collect();
    assert!(!subnet_results.is_empty());
    assert!(
        subnet_results
            .iter()
            .all(|(_, status)| *status == Status::NotEvaluated),
        "{subnet_results:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_killed_mid_scan_passes_nothing_it_could_not_read() {
    // Killed after a third, then after two thirds, of the calls a whole
    // scan forwards: early in the listings, and among the details.
    for (part, of) in [(1, 3), (2, 3)] {
        let problems = killed_after(part, of).await;
        assert_eq!(problems, Vec::<String>::new(), "killed after {part}/{of}");
    }
}

/// A scan during which the emulator is killed once `part / of` of a clean
/// scan's forwarded calls were made: where it says less than the clean
/// scan, with missing data passing.
async fn killed_after(part: usize, of: usize) -> Vec<String> {
    let mut moto = seeded().await;
    // The root user's row agrees with the account summary, as AWS's own two
    // answers do: whichever of them the dying emulator still gave, the
    // verdict on the root user's MFA is the same.
    let credential_report = seed::credential_report(&moto.endpoint, false, None, Some(1)).await;
    let front = |moto: &MotoServer| {
        ReplayServer::start(
            &moto.endpoint,
            Replay {
                credential_report: Some(credential_report.clone()),
                ..Replay::standard()
            },
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let clean_front = front(&moto);
    let clean = tokio::task::block_in_place(|| collect(&clean_front, dir.path(), &[]));
    let full = support::evaluate(&clean);
    let failing: Vec<&rampart::results::ReportFinding> = full
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .collect();
    assert!(!failing.is_empty());
    let kill_after = clean_front.forwarded.load(Ordering::SeqCst) * part / of;
    let dying = front(&moto);
    let forwarded = dying.forwarded.clone();
    let run = tempfile::tempdir_in(dir.path()).expect("run dir");
    let finished = AtomicBool::new(false);
    let snapshot = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while forwarded.load(Ordering::SeqCst) < kill_after
                    && !finished.load(Ordering::SeqCst)
                {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                moto.kill();
            });
            let snapshot = collect(&dying, run.path(), &["--operation-deadline", "20s"]);
            finished.store(true, Ordering::SeqCst);
            snapshot
        })
    });
    assert!(
        forwarded.load(Ordering::SeqCst) >= kill_after,
        "the scan ended before the emulator was killed"
    );
    // Refused connections, or answers cut off as the emulator died.
    assert!(!snapshot.collection_errors.is_empty());
    support::passes_or_vanishes(
        &format!("killed after {part}/{of}"),
        &failing,
        &support::evaluate(&snapshot),
    )
}
