//! Arbitrary and mutated input files give a result or a clean error, never
//! a panic: snapshots (as text, and as JSON whose values are replaced by
//! anything at all, then analysed and evaluated), reports, rule files,
//! configuration files, suppression files and accounts files. Each property runs a bounded
//! number of generated cases so CI stays quick.

mod support;

use std::sync::LazyLock;

use proptest::prelude::*;
use rampart::engine::Engine;
use rampart::engine::expr::ExprEnv;
use rampart::engine::rule;
use rampart::org::accounts::AccountsFile;
use rampart::org::scan::planned;
use rampart::org::shard::Shard;
use rampart::pipeline::{Gate, Plan, PlanOptions, RunClock};
use rampart::results::Report;
use rampart::snapshot::Snapshot;
use rampart::triage::suppressions::Suppressions;
use serde_json::Value;

const DEMO: &str = include_str!("../fixtures/demo/snapshot.json");
const RULE: &str = include_str!("../rules/ec2/ec2-security-group-ssh-open-to-internet.yaml");
const CONFIG: &str = "rules:\n  ec2-security-group-ssh-open-to-internet:\n    vars:\n      port: 2222\n  vpc-subnet-nearly-full:\n    vars: {max_used_percent: 80, min_free_addresses: 5}\n";
const ACCOUNTS: &str = include_str!("../fixtures/org/accounts.json");
const SUPPRESSIONS: &str = "suppressions:\n  - rule: ec2-security-group-ssh-open-to-internet\n    resource: sg-*\n    region: us-east-1\n    reason: bastion, reviewed\n    expires: 2027-01-31\n";

/// Loaded once: the built-in rules take a while to compile.
static PLAN: LazyLock<Plan> =
    LazyLock::new(|| Plan::load(&PlanOptions::default()).expect("built-in rules load"));
static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| Engine::load(None).expect("built-in rules load"));
static DEMO_JSON: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(DEMO).expect("the demo is JSON"));
static DEMO_REPORT: LazyLock<String> = LazyLock::new(|| {
    let snapshot = Snapshot::parse(DEMO).expect("demo parses");
    serde_json::to_string(&evaluate(&snapshot)).expect("report serialises")
});

/// The whole pipeline after the snapshot, on its own clock.
fn evaluate(snapshot: &Snapshot) -> Report {
    let now = || snapshot.collected_at;
    let clock = RunClock {
        started_at: now(),
        today: now().date_naive(),
        now: &now,
    };
    PLAN.run(snapshot, &clock, &[], Gate::default()).report
}

/// A byte-level edit of a text.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Replace { at: usize, byte: u8 },
    Truncate { at: usize },
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        (
            any::<usize>(),
            prop::sample::select(b"{}[]\":,0-9aZ \n\t\\#&*|>'".to_vec())
        )
            .prop_map(|(at, byte)| Edit::Replace { at, byte }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
    ];
    prop::collection::vec(edit, 1..6)
}

fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        let position = |at: usize| at % (bytes.len() + 1);
        match edit {
            Edit::Delete { at, len } => {
                let start = position(*at);
                let end = (start + len).min(bytes.len());
                bytes.drain(start..end);
            }
            Edit::Insert { at, bytes: new } => {
                let start = position(*at);
                bytes.splice(start..start, new.iter().copied());
            }
            Edit::Replace { at, byte } => {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = *byte;
                }
            }
            Edit::Truncate { at } => bytes.truncate(position(*at)),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "0.0.0.0/0",
            "::/0",
            "-1",
            "65536",
            "10.0.0.0/33",
            "tcp",
            "-1/0",
            "sg-1",
            "ENABLED",
            "not_supported",
            "N/A",
            "2026-02-30T00:00:00Z",
            "ａｗｓ",
            "\u{0}",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Replaces the value at the `pick`-th node (depth first) with `new`.
fn replace_nth(value: &mut Value, pick: &mut usize, new: &Value) -> bool {
    if *pick == 0 {
        *value = new.clone();
        return true;
    }
    *pick -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|item| replace_nth(item, pick, new)),
        Value::Object(map) => map.values_mut().any(|item| replace_nth(item, pick, new)),
        _ => false,
    }
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_mangled_snapshot_is_read_or_refused(edits in edits()) {
        if let Ok(snapshot) = Snapshot::parse(&mutate(DEMO, &edits)) {
            evaluate(&snapshot);
        }
    }

    #[test]
    fn a_mangled_report_is_read_or_refused(edits in edits()) {
        let _ = Report::parse(&mutate(&DEMO_REPORT, &edits));
    }

    #[test]
    fn a_mangled_rule_file_loads_or_is_refused(edits in edits()) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("rule.yaml"), mutate(RULE, &edits)).expect("write rule");
        if let Ok(engine) = Engine::load_dir(dir.path()) {
            for rule in engine.rules() {
                rule.run_tests();
            }
        }
    }

    #[test]
    fn a_mangled_configuration_applies_or_is_refused(edits in edits()) {
        let env = ExprEnv::new();
        let mut rules = rule::load(&env, true, None).expect("built-in rules load");
        let _ = rule::configure(&env, &mut rules, "rampart.yaml", &mutate(CONFIG, &edits));
    }

    #[test]
    fn a_mangled_suppression_file_is_read_or_refused(edits in edits()) {
        let _ = Suppressions::parse("suppressions.yaml", &mutate(SUPPRESSIONS, &edits), &ENGINE);
    }

    #[test]
    fn a_mangled_accounts_file_is_read_or_refused(edits in edits()) {
        accounts_are_read_or_refused(&mutate(ACCOUNTS, &edits))?;
    }

    #[test]
    fn any_value_anywhere_in_an_accounts_file_is_read_or_refused(
        picks in prop::collection::vec((any::<usize>(), json_value()), 1..4)
    ) {
        let mut document: Value = serde_json::from_str(ACCOUNTS).expect("fixture is JSON");
        for (pick, new) in &picks {
            let mut pick = pick % count_nodes(&document);
            if pick != 0 {
                replace_nth(&mut document, &mut pick, new);
            }
        }
        document["schema_version"] = Value::from(1);
        accounts_are_read_or_refused(&document.to_string())?;
    }

    #[test]
    fn arbitrary_text_is_refused_cleanly(text in "\\PC{0,200}") {
        prop_assert!(Snapshot::parse(&text).is_err());
        prop_assert!(Report::parse(&text).is_err());
        prop_assert!(AccountsFile::parse(&text).is_err());
        let _ = Suppressions::parse("s.yaml", &text, &ENGINE);
    }
}

/// An accounts file that parses and passes its checks puts every account
/// in exactly one shard, whatever the number of shards.
fn accounts_are_read_or_refused(text: &str) -> Result<(), TestCaseError> {
    let Ok(file) = AccountsFile::parse(text) else {
        return Ok(());
    };
    if file.check().is_err() {
        return Ok(());
    }
    for count in 1..=5 {
        let mut seen = 0;
        for index in 0..count {
            seen += planned(&file, Shard::new(index, count).expect("shard")).len();
        }
        prop_assert_eq!(seen, file.accounts.len());
    }
    Ok(())
}

#[test]
fn the_accounts_fixture_is_read() {
    let file = AccountsFile::parse(ACCOUNTS).expect("fixture parses");
    assert_eq!(file.check(), Ok(()));
    assert_eq!(file.accounts.len(), 4);
}

#[test]
fn a_json_array_is_not_a_document() {
    for text in ["[1,null,null]", "[2]", "[]", "  [1]"] {
        assert!(Snapshot::parse(text).is_err(), "{text}");
        assert!(Report::parse(text).is_err(), "{text}");
    }
}

// Most of these parse and run the whole pipeline: fewer cases.
proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn any_value_anywhere_in_a_snapshot_is_evaluated_or_refused(
        picks in prop::collection::vec((any::<usize>(), json_value()), 1..4)
    ) {
        let mut document = DEMO_JSON.clone();
        for (pick, new) in &picks {
            let mut pick = pick % count_nodes(&document);
            // The schema version stays, so the body is what gets tested.
            if pick == 0 {
                continue;
            }
            replace_nth(&mut document, &mut pick, new);
        }
        document["schema_version"] = DEMO_JSON["schema_version"].clone();
        if let Ok(snapshot) = Snapshot::parse(&document.to_string()) {
            evaluate(&snapshot);
        }
    }
}
