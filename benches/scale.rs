//! Time, memory and report size as an account grows: `rampart evaluate`
//! with the whole catalogue over generated snapshots of 2,000, 10,000,
//! 50,000 and 100,000 security groups, writing the JSON report; the
//! process's wall time and peak resident memory (GNU time's elapsed time
//! and maximum RSS) and the report's size, per 1,000 groups. `RAMPART_COMPARE_WITH=BINARY` measures another build of
//! rampart (an earlier version) on the same snapshots, side by side.
//!
//! `cargo bench --bench scale`; needs `/usr/bin/time`.
#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

const SIZES: [usize; 4] = [2_000, 10_000, 50_000, 100_000];

/// What one run took.
struct Run {
    seconds: f64,
    peak_memory: u64,
    report_size: u64,
}

fn measure(rampart: &Path, snapshot: &Path, dir: &Path) -> Run {
    let report = dir.join("report.json");
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%e %M"])
        .arg(rampart)
        .arg("evaluate")
        .arg(snapshot)
        .args(["--fail-on", "never", "--quiet", "--output"])
        .arg(format!("json={}", report.display()))
        .output()
        .expect("run /usr/bin/time rampart");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (seconds, kilobytes) = stderr
        .lines()
        .last()
        .and_then(|line| line.trim().split_once(' '))
        .and_then(|(seconds, kilobytes)| {
            Some((seconds.parse::<f64>().ok()?, kilobytes.parse::<u64>().ok()?))
        })
        .unwrap_or_else(|| panic!("no elapsed time and maximum RSS in {stderr}"));
    Run {
        seconds,
        peak_memory: kilobytes * 1024,
        report_size: std::fs::metadata(&report).expect("report written").len(),
    }
}

fn per_thousand(bytes: u64, groups: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6 / (groups as f64 / 1000.0))
}

fn main() {
    let rampart = Path::new(env!("CARGO_BIN_EXE_rampart"));
    let earlier = std::env::var_os("RAMPART_COMPARE_WITH");
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "| groups | build | time | peak memory | per 1,000 groups | JSON report | per 1,000 groups |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for groups in SIZES {
        let snapshot = common::generated_snapshot(groups);
        let path = dir.path().join(format!("snapshot-{groups}.json"));
        snapshot.write(&path).expect("write snapshot");
        let mut builds = vec![("this", rampart.to_owned())];
        if let Some(earlier) = &earlier {
            builds.push(("earlier", earlier.into()));
        }
        for (name, binary) in builds {
            let run = measure(&binary, &path, dir.path());
            println!(
                "| {groups} | {name} | {:.2} s | {:.0} MB | {} | {:.1} MB | {} |",
                run.seconds,
                run.peak_memory as f64 / 1e6,
                per_thousand(run.peak_memory, groups),
                run.report_size as f64 / 1e6,
                per_thousand(run.report_size, groups),
            );
        }
    }
}
