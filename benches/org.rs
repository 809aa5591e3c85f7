//! An organization scan against the emulator: an organization of 100
//! member accounts (moto's defaults in each: a default VPC and its
//! subnets, groups, ACLs and route tables per region, no users), scanned
//! through the test's replay front in one region. Measured with GNU time:
//! wall time, accounts per second and peak resident memory of
//! `rampart scan --accounts` at 16, 48 and 101 accounts with 16 in flight
//! (so memory is compared at the same concurrency: it must not grow with
//! the accounts), at 101 accounts with 32 in flight, and as 4 shard
//! processes at once followed by `rampart merge`; and the requests each
//! account cost, from its report's call counts.
//!
//! `cargo bench --bench org`; needs `/usr/bin/time` and installs moto as
//! the tests do. The emulator, not rampart, bounds the pace: it answers
//! from one Python process on a 2-core machine shared with the scans.
#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use rampart::org::accounts::AccountsFile;
use rampart::results::Report;
use support::moto::MotoServer;
use support::replay::{Replay, ReplayServer};

const MEMBERS: usize = 100;
const REGION: &str = "us-east-1";
const ROLE: &str = "OrganizationAccountAccessRole";

async fn seed(endpoint: &str) {
    let org = aws_sdk_organizations::Client::new(&support::seeding_config(endpoint, REGION).await);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    for n in 0..MEMBERS {
        org.create_account()
            .email(format!("member-{n}@example.com"))
            .account_name(format!("member-{n}"))
            .send()
            .await
            .expect("create account");
    }
}

/// A copy of the accounts file with its first `count` accounts.
fn first_accounts(all: &AccountsFile, count: usize, path: &Path) {
    let mut some = all.clone();
    some.accounts.truncate(count);
    some.write(path).expect("write accounts file");
}

/// Runs `args` under GNU time: (wall seconds, peak resident bytes).
fn timed(home: &Path, args: &[String]) -> (f64, u64) {
    let mut command = Command::new("/usr/bin/time");
    // The tests' environment for rampart: the emulator's credentials only.
    for (name, value) in support::rampart(home).get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = command
        .args(["-f", "%e %M"])
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .stdout(Stdio::null())
        .output()
        .expect("run rampart under /usr/bin/time");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{args:?}: {stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace();
    let seconds: f64 = fields.next().and_then(|s| s.parse().ok()).expect("seconds");
    let kilobytes: u64 = fields.next().and_then(|s| s.parse().ok()).expect("RSS");
    (seconds, kilobytes * 1024)
}

fn scan_args(accounts: &Path, endpoint: &str, in_flight: usize, out: &Path) -> Vec<String> {
    [
        "scan",
        "--accounts",
        &accounts.display().to_string(),
        "--role-name",
        ROLE,
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "--accounts-in-flight",
        &in_flight.to_string(),
        "--out-dir",
        &out.display().to_string(),
        "--fail-on",
        "never",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect()
}

/// Requests per scanned account, from the reports' call counts.
fn requests_per_account(out: &Path) -> f64 {
    let mut accounts = 0;
    let mut calls = 0;
    for entry in std::fs::read_dir(out).expect("list").flatten() {
        let report = entry.path().join("report.json");
        if report.is_file() {
            accounts += 1;
            calls += Report::read(&report)
                .expect("report")
                .scan
                .api_calls
                .values()
                .sum::<u64>();
        }
    }
    calls as f64 / accounts as f64
}

fn row(name: &str, accounts: usize, seconds: f64, rss: u64, requests: f64) {
    println!(
        "| {name} | {accounts} | {seconds:.1} s | {:.2} | {:.0} MB | {requests:.0} |",
        accounts as f64 / seconds,
        rss as f64 / 1e6
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let moto = tokio::task::block_in_place(MotoServer::start);
    seed(&moto.endpoint).await;
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path();
    let all_path = home.join("accounts.json");
    let listed = support::rampart(home)
        .args(["org", "accounts", "--endpoint-url", &front.endpoint, "-o"])
        .arg(&all_path)
        .output()
        .expect("list accounts");
    assert!(listed.status.success(), "{}", support::stderr(&listed));
    let (all, _) = AccountsFile::read(&all_path).expect("accounts file");
    let out = |name: &str| -> PathBuf { home.join(name) };

    println!(
        "| run | accounts | wall time | accounts per second | peak RSS | requests per account |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    tokio::task::block_in_place(|| {
        for (count, in_flight) in [(16, 16), (48, 16), (MEMBERS + 1, 16), (MEMBERS + 1, 32)] {
            let accounts = home.join(format!("accounts-{count}.json"));
            first_accounts(&all, count, &accounts);
            let out = out(&format!("out-{count}-{in_flight}"));
            let (seconds, rss) = timed(
                home,
                &scan_args(&accounts, &front.endpoint, in_flight, &out),
            );
            row(
                &format!("one process, {in_flight} in flight"),
                count,
                seconds,
                rss,
                requests_per_account(&out),
            );
        }

        // Four shards at once, then the merge.
        let sharded = out("sharded");
        let started = Instant::now();
        let shards: Vec<_> = (0..4)
            .map(|shard| {
                let mut args = scan_args(&all_path, &front.endpoint, 16, &sharded);
                args.extend(["--shard".to_owned(), format!("{shard}/4")]);
                std::thread::spawn({
                    let home = home.to_owned();
                    move || timed(&home, &args)
                })
            })
            .collect();
        let peak = shards
            .into_iter()
            .map(|shard| shard.join().expect("shard").1)
            .max()
            .unwrap_or(0);
        let scanned = started.elapsed().as_secs_f64();
        row(
            "4 shards at once, 16 in flight each (peak RSS of one shard)",
            MEMBERS + 1,
            scanned,
            peak,
            requests_per_account(&sharded),
        );
        let merged = home.join("organization.json");
        let (seconds, rss) = timed(
            home,
            &[
                "merge".to_owned(),
                sharded.display().to_string(),
                "--fail-on".to_owned(),
                "never".to_owned(),
                "--output".to_owned(),
                format!("json={}", merged.display()),
            ],
        );
        println!(
            "| merge of the 4 shards | {} | {seconds:.1} s | | {:.0} MB | |",
            MEMBERS + 1,
            rss as f64 / 1e6
        );
    });
    drop(moto);
}
