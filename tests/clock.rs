//! Results depend on the snapshot, never on the day it is evaluated: every
//! age a rule computes counts from the snapshot's `collected_at`.
//!
//! - The demo with every timestamp in it moved 400 days back evaluates to
//!   the same results (messages name the moved dates).
//! - `rampart evaluate` of the demo on two different days (under
//!   `faketime`, which `.ci/run` installs) writes the same report in every
//!   format, but for the run's own start and end times.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rampart::pipeline::{Gate, Outcome, Plan, PlanOptions, RunClock};
use rampart::snapshot::Snapshot;
use serde_json::Value;
use support::DEMO;

/// Moves every RFC 3339 timestamp in `value` by `shift`, keeping its
/// spelling (fractional digits, `Z`), and records each change.
fn shift_times(value: &mut Value, shift: Duration, moved: &mut BTreeMap<String, String>) {
    match value {
        Value::String(text) => {
            if let Ok(time) = DateTime::parse_from_rfc3339(text) {
                let time = time.with_timezone(&Utc) + shift;
                let digits = text.split_once('.').map_or(0, |(_, rest)| {
                    rest.chars().take_while(char::is_ascii_digit).count()
                });
                let format = match digits {
                    0 => SecondsFormat::Secs,
                    1..=3 => SecondsFormat::Millis,
                    4..=6 => SecondsFormat::Micros,
                    _ => SecondsFormat::Nanos,
                };
                let shifted = time.to_rfc3339_opts(format, text.ends_with('Z'));
                moved.insert(shifted.clone(), text.clone());
                *text = shifted;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| shift_times(item, shift, moved)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| shift_times(item, shift, moved)),
        _ => {}
    }
}

fn evaluate(snapshot: &Snapshot) -> Outcome {
    let plan = Plan::load(&PlanOptions::default()).expect("built-in rules load");
    // The run's own clock is deliberately far from the snapshot's.
    let now = || "2031-01-01T00:00:00Z".parse().expect("a time");
    let clock = RunClock {
        started_at: now(),
        today: now().date_naive(),
        now: &now,
    };
    plan.run(snapshot, &clock, &[], Gate::default())
}

#[test]
fn the_demo_moved_400_days_back_gives_identical_results() {
    let text = std::fs::read_to_string(DEMO).expect("demo snapshot");
    let original = Snapshot::parse(&text).expect("demo parses");
    let mut json: Value = serde_json::from_str(&text).expect("demo is JSON");
    let mut moved = BTreeMap::new();
    shift_times(&mut json, Duration::days(-400), &mut moved);
    assert!(moved.len() > 50, "the demo holds many timestamps");
    let shifted: Snapshot = serde_json::from_value(json).expect("shifted demo parses");
    assert_eq!(
        shifted.collected_at,
        original.collected_at - Duration::days(400)
    );

    let before = evaluate(&original).report.findings;
    let after = evaluate(&shifted).report.findings;
    assert_eq!(before.len(), after.len());
    for (before, mut after) in before.into_iter().zip(after) {
        // Messages quote the dates they judge; put the moved ones back.
        if let Some(message) = &mut after.finding.message {
            for (shifted, original) in &moved {
                *message = message.replace(shifted, original);
            }
        }
        assert_eq!(after, before);
    }
}

/// The report of the demo in every format, written on `day` as `faketime`
/// makes the process see it.
fn outputs_on(day: &str, dir: &Path) -> BTreeMap<&'static str, String> {
    let formats = ["json", "sarif", "ocsf", "junit", "markdown", "table"];
    let mut command = Command::new("faketime");
    command.arg(day).arg(env!("CARGO_BIN_EXE_rampart"));
    command.args(["evaluate", DEMO, "--fail-on", "never"]);
    for format in formats {
        command
            .arg("--output")
            .arg(format!("{format}={}", dir.join(format).display()));
    }
    let output = command.output().unwrap_or_else(|err| {
        panic!("cannot run faketime ({err}); .ci/run installs it (apt-get install faketime)")
    });
    assert!(output.status.success(), "{}", support::stderr(&output));
    formats
        .into_iter()
        .map(|format| {
            let text = std::fs::read_to_string(dir.join(format)).expect("output written");
            (format, text)
        })
        .collect()
}

/// Blanks the run's own times: the JSON report's and SARIF's start and end,
/// OCSF's finding and creation times, JUnit's timestamp and duration.
fn without_run_times(format: &str, text: &str) -> String {
    match format {
        "json" | "sarif" | "ocsf" => {
            let mut value: Value = serde_json::from_str(text).expect("JSON output");
            blank_keys(
                &mut value,
                &[
                    "started_at",
                    "finished_at",
                    "startTimeUtc",
                    "endTimeUtc",
                    "time",
                    "created_time",
                ],
            );
            serde_json::to_string_pretty(&value).expect("serialises")
        }
        "junit" => {
            let mut out = String::new();
            for line in text.lines() {
                out.push_str(&blank_attribute(
                    &blank_attribute(line, "timestamp"),
                    "time",
                ));
                out.push('\n');
            }
            out
        }
        _ => text.to_owned(),
    }
}

fn blank_keys(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if keys.contains(&key.as_str()) {
                    *child = Value::Null;
                } else {
                    blank_keys(child, keys);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| blank_keys(item, keys)),
        _ => {}
    }
}

fn blank_attribute(line: &str, name: &str) -> String {
    let needle = format!(" {name}=\"");
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find(&needle) {
        let value_start = start + needle.len();
        let Some(len) = rest[value_start..].find('"') else {
            break;
        };
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start + len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn evaluate_writes_the_same_report_on_two_different_days() {
    let (first, second) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let early = outputs_on("2027-02-01 09:00:00", first.path());
    let late = outputs_on("2031-08-15 21:30:00", second.path());
    let started: Value = serde_json::from_str(&late["json"]).expect("JSON report");
    assert!(
        started["scan"]["started_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2031-08-15")),
        "faketime moved the process's clock: {}",
        started["scan"]["started_at"]
    );
    for (format, text) in &early {
        let (early, late) = (
            without_run_times(format, text),
            without_run_times(format, &late[format]),
        );
        let first_difference = early.lines().zip(late.lines()).find(|(a, b)| a != b);
        assert_eq!(
            first_difference, None,
            "{format} differs between the two days"
        );
        assert_eq!(early, late, "{format} differs between the two days");
    }
}
