//! The organization recipes in `examples/org/`: each file parses, every
//! rampart command line in it is one rampart accepts, and each shard's
//! scan line, run with `--plan` over the fixture accounts file the way its
//! platform runs it (the index in its variable, the matrix value filled
//! in), plans exactly that shard's accounts without calling AWS.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use clap::Parser;
use rampart::cli::Cli;
use serde_json::Value;

const ACCOUNTS_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/org/accounts.json");
const FIXTURE_IDS: [&str; 4] = [
    "111111111111",
    "222222222222",
    "333333333333",
    "444444444444",
];

fn recipe(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/org")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Every array of strings under `value` whose first element is `rampart`
/// or that follows a `command: ["rampart"]`, as the argument list after it.
fn argument_lists(value: &Value, found: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            let strings = |value: Option<&Value>| -> Option<Vec<String>> {
                value?
                    .as_array()?
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect()
            };
            match (strings(map.get("command")), strings(map.get("args"))) {
                (Some(command), Some(args)) if command == ["rampart"] => found.push(args),
                (Some(command), None) if command.first().is_some_and(|c| c == "rampart") => {
                    found.push(command[1..].to_vec());
                }
                _ => {}
            }
            for (key, nested) in map {
                if key == "run"
                    && let Some(script) = nested.as_str()
                {
                    for line in script.lines().map(str::trim) {
                        if let Some(rest) = line.strip_prefix("rampart ") {
                            found.push(rest.split_whitespace().map(str::to_owned).collect());
                        }
                    }
                }
                argument_lists(nested, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| argument_lists(item, found)),
        _ => {}
    }
}

/// Runs a recipe's scan line with `--plan` (any other output flag
/// dropped), its accounts file swapped for the fixture: the ids planned.
fn planned(args: &[String], env: &[(&str, &str)]) -> BTreeSet<String> {
    let home = tempfile::tempdir().expect("temp dir");
    let mut planned_args: Vec<String> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        planned_args.push(arg.clone());
        if arg == "--accounts" {
            iter.next();
            planned_args.push(ACCOUNTS_FIXTURE.to_owned());
        }
    }
    planned_args.push("--plan".to_owned());
    let output = support::rampart(home.path())
        .args(&planned_args)
        .envs(env.iter().copied())
        .output()
        .expect("run rampart");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{planned_args:?}: {}",
        support::stderr(&output)
    );
    support::stdout(&output)
        .lines()
        .map(|line| line.split('\t').next().unwrap_or_default().to_owned())
        .collect()
}

/// The fixture's accounts in shard `index` of `count`.
fn shard_of(index: u64, count: u64) -> BTreeSet<String> {
    FIXTURE_IDS
        .iter()
        .filter(|id| id.parse::<u64>().expect("id") % count == index)
        .map(|id| (*id).to_owned())
        .collect()
}

fn accepted(args: &[String]) {
    let mut line = vec!["rampart".to_owned()];
    line.extend_from_slice(args);
    if let Err(err) = Cli::try_parse_from(&line) {
        panic!("{line:?} is not accepted: {err}");
    }
}

/// The subcommands (and their positional arguments) of the lines found.
fn subcommands(lists: &[Vec<String>]) -> BTreeSet<String> {
    lists
        .iter()
        .map(|args| {
            args.iter()
                .take_while(|arg| !arg.starts_with('-'))
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// The one `scan` line.
fn scan_line(lists: &[Vec<String>]) -> &[String] {
    let scans: Vec<&Vec<String>> = lists.iter().filter(|args| args[0] == "scan").collect();
    assert_eq!(scans.len(), 1, "{lists:?}");
    scans[0]
}

#[test]
fn the_kubernetes_indexed_job_plans_each_shard_from_its_completion_index() {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&recipe("kubernetes.yaml")).expect("the recipe parses");
    assert_eq!(documents.len(), 3);
    let mut lists = Vec::new();
    documents.iter().for_each(|d| argument_lists(d, &mut lists));
    assert_eq!(subcommands(&lists), set(&["scan", "merge /reports/latest"]));
    lists.iter().for_each(|args| accepted(args));
    for index in 0..4u64 {
        assert_eq!(
            planned(
                scan_line(&lists),
                &[("JOB_COMPLETION_INDEX", &index.to_string())]
            ),
            shard_of(index, 4),
            "shard {index}"
        );
    }
}

#[test]
fn the_aws_batch_array_job_plans_each_shard_from_its_array_index() {
    let definition: Value =
        serde_json::from_str(&recipe("aws-batch.json")).expect("the recipe parses");
    let mut lists = Vec::new();
    argument_lists(&definition, &mut lists);
    assert_eq!(
        subcommands(&lists),
        set(&["scan", "merge /rampart/reports"])
    );
    lists.iter().for_each(|args| accepted(args));
    for index in 0..4u64 {
        assert_eq!(
            planned(
                scan_line(&lists),
                &[("AWS_BATCH_JOB_ARRAY_INDEX", &index.to_string())]
            ),
            shard_of(index, 4),
            "shard {index}"
        );
    }
}

#[test]
fn the_github_actions_matrix_plans_each_shard_it_lists() {
    let text = recipe("github-actions.yml");
    let workflow: Value = serde_saphyr::from_str(&text).expect("the recipe parses");
    let shards: Vec<u64> = workflow["jobs"]["scan"]["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("a shard matrix")
        .iter()
        .map(|shard| shard.as_u64().expect("a shard index"))
        .collect();
    assert_eq!(shards, [0, 1, 2, 3]);
    assert_eq!(
        workflow["jobs"]["scan"]["strategy"]["fail-fast"],
        Value::Bool(false)
    );
    for shard in shards {
        // GitHub's expressions, as the runner fills them in for this shard.
        let filled = text
            .replace("${{ matrix.shard }}", &shard.to_string())
            .replace(
                "${{ vars.RAMPART_ORG_ROLE_ARN }}",
                "arn:aws:iam::111111111111:role/org-reader",
            );
        let workflow: Value = serde_saphyr::from_str(&filled).expect("the recipe parses");
        let mut lists = Vec::new();
        argument_lists(&workflow, &mut lists);
        assert_eq!(
            subcommands(&lists),
            set(&[
                "org accounts",
                "scan",
                "merge shards/rampart-shard-0 shards/rampart-shard-1 shards/rampart-shard-2 \
                 shards/rampart-shard-3",
            ])
        );
        lists.iter().for_each(|args| accepted(args));
        assert_eq!(
            planned(scan_line(&lists), &[]),
            shard_of(shard, 4),
            "shard {shard}"
        );
    }
}
