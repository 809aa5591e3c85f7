//! The compiled evaluator checked against the reference, the `cel`
//! interpreter: every built-in rule runs with both on the demo snapshot,
//! on every inline test, and on generated snapshots (random security
//! groups, network ACLs, routes, interfaces and IAM users), and both must
//! give the same status, severity and message for every result. An
//! ERROR's message names the evaluator's own reason, so for errors only
//! the status is compared.

use chrono::{Duration, SecondsFormat};
use proptest::prelude::*;
use rampart::analyze::Analysis;
use rampart::engine::expr::Backend;
use rampart::engine::rule::Rule;
use rampart::engine::{Engine, Finding};
use rampart::snapshot::{RegionSnapshot, Snapshot};
use rampart::verdict::Status;
use serde_json::{Value, json};

mod support;

use support::random_region::{REGION, region};

const DEMO: &str = include_str!("../fixtures/demo/snapshot.json");

struct Backends {
    compiled: Engine,
    interpreted: Engine,
}

fn backends() -> Backends {
    let compiled = Engine::load(None).expect("built-in rules load");
    let mut interpreted = Engine::load(None).expect("built-in rules load");
    interpreted.use_interpreter();
    Backends {
        compiled,
        interpreted,
    }
}

/// What a result says, the message left out for an ERROR.
fn verdict(finding: &Finding) -> (String, String, Status, String, Option<String>) {
    (
        finding.rule_id.clone(),
        finding.resource.arn.clone(),
        finding.status,
        format!("{:?}", finding.severity),
        (finding.status != Status::Error)
            .then(|| finding.message.clone())
            .flatten(),
    )
}

/// Both evaluators' results on `snapshot`, which must agree; returns how
/// many results there were.
fn agree(backends: &Backends, snapshot: &Snapshot) -> Result<usize, TestCaseError> {
    let analysis = Analysis::of(snapshot);
    let run = |engine: &Engine| {
        let rules: Vec<&Rule> = engine.rules().iter().collect();
        engine
            .evaluate(snapshot, &analysis, &rules)
            .iter()
            .map(verdict)
            .collect::<Vec<_>>()
    };
    let compiled = run(&backends.compiled);
    let interpreted = run(&backends.interpreted);
    prop_assert_eq!(compiled.len(), interpreted.len());
    for (compiled, interpreted) in compiled.iter().zip(&interpreted) {
        prop_assert_eq!(compiled, interpreted);
    }
    Ok(compiled.len())
}

#[test]
fn every_built_in_rule_runs_compiled() {
    let engine = Engine::load(None).expect("built-in rules load");
    let interpreted: Vec<(&str, String)> = engine
        .rules()
        .iter()
        .filter(|rule| rule.backend() != Backend::Compiled)
        .map(|rule| (rule.id.as_str(), format!("{:?}", rule.unsupported())))
        .collect();
    assert_eq!(interpreted, Vec::<(&str, String)>::new());
    assert!(
        backends()
            .interpreted
            .rules()
            .iter()
            .all(|rule| rule.backend() == Backend::Interpreter)
    );
}

#[test]
fn both_evaluators_agree_on_the_demo_snapshot() {
    let snapshot = Snapshot::parse(DEMO).expect("demo parses");
    let backends = backends();
    let results = agree(&backends, &snapshot).expect("the evaluators agree");
    assert!(results > 100, "{results} results");
    let failing = backends
        .compiled
        .evaluate(
            &snapshot,
            &Analysis::of(&snapshot),
            &backends.compiled.rules().iter().collect::<Vec<_>>(),
        )
        .iter()
        .filter(|f| f.status == Status::Fail)
        .count();
    assert!(failing > 20, "{failing} failures");
}

#[test]
fn both_evaluators_agree_on_every_inline_test() {
    let backends = backends();
    let pairs = backends
        .compiled
        .rules()
        .iter()
        .zip(backends.interpreted.rules());
    let mut tests = 0;
    for (compiled, interpreted) in pairs {
        assert_eq!(compiled.id, interpreted.id);
        let (count, failures) = compiled.run_tests();
        assert_eq!(
            (count, failures),
            interpreted.run_tests(),
            "rule {}",
            compiled.id
        );
        assert_eq!(
            compiled.failing_test_messages(),
            interpreted.failing_test_messages(),
            "rule {}",
            compiled.id
        );
        tests += count;
    }
    assert!(tests > 600, "{tests} inline tests");
}

/// A timestamp `days` before the demo's collection, as the snapshot holds
/// it.
fn days_ago(snapshot: &Value, days: i64) -> Value {
    let collected = snapshot["collected_at"]
        .as_str()
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .expect("the demo states when it was collected");
    json!((collected - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// How one of the demo's IAM users is changed: console access, MFA, each
/// access key's state, age and last use, and whether and how the credential
/// report lists the user.
#[derive(Debug, Clone)]
struct UserChange {
    console: bool,
    mfa: bool,
    keys: Vec<(bool, i64, Option<i64>)>,
    report: Option<(bool, bool, Option<i64>)>,
}

fn user_change() -> impl Strategy<Value = UserChange> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(
            (any::<bool>(), 0i64..400, prop::option::of(0i64..200)),
            0..3,
        ),
        prop::option::of((any::<bool>(), any::<bool>(), prop::option::of(0i64..200))),
    )
        .prop_map(|(console, mfa, keys, report)| UserChange {
            console,
            mfa,
            keys,
            report,
        })
}

fn with_users(mut snapshot: Value, changes: &[UserChange], root_mfa: Option<bool>) -> Value {
    let template_row = snapshot["global"]["iam"]["credential_report"]["rows"][1].clone();
    let mut rows = vec![snapshot["global"]["iam"]["credential_report"]["rows"][0].clone()];
    let users = snapshot["global"]["iam"]["users"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut changed = Vec::new();
    for (user, change) in users.into_iter().zip(changes) {
        let mut user = user;
        user["console_access"] = if change.console {
            json!({"state": "enabled", "created": days_ago(&snapshot, 300), "password_reset_required": false})
        } else {
            json!({"state": "disabled"})
        };
        if !change.mfa {
            user["mfa_devices"] = json!([]);
        }
        user["access_keys"] = change
            .keys
            .iter()
            .enumerate()
            .map(|(i, (active, age, used))| {
                json!({
                    "id": format!("AKIAGENERATED{i}"),
                    "status": if *active { "Active" } else { "Inactive" },
                    "created": days_ago(&snapshot, *age),
                    "last_used": {
                        "date": used.map(|days| days_ago(&snapshot, days)),
                        "region": used.map(|_| "us-east-1"),
                        "service": used.map(|_| "s3"),
                    },
                })
            })
            .collect();
        if let Some((password, mfa, used)) = change.report {
            let mut row = template_row.clone();
            row["user"] = user["name"].clone();
            row["arn"] = user["arn"].clone();
            row["user_creation_time"] = json!({"value": user["created"].clone()});
            row["password_enabled"] = json!({"value": password});
            row["mfa_active"] = json!(mfa);
            row["password_last_used"] = match used {
                Some(days) if password => json!({"value": days_ago(&snapshot, days)}),
                _ => json!("no_information"),
            };
            rows.push(row);
        }
        changed.push(user);
    }
    snapshot["global"]["iam"]["users"] = json!(changed);
    snapshot["global"]["iam"]["credential_report"]["rows"] = json!(rows);
    snapshot["global"]["iam"]["summary"] = match root_mfa {
        Some(enabled) => {
            let mut summary = snapshot["global"]["iam"]["summary"].clone();
            summary["account_mfa_enabled"] = json!(enabled);
            summary
        }
        None => Value::Null,
    };
    snapshot
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn both_evaluators_agree_on_generated_snapshots(
        ec2 in region(),
        changes in prop::collection::vec(user_change(), 3),
        root_mfa in prop::option::of(any::<bool>()),
    ) {
        let demo: Value = serde_json::from_str(DEMO).expect("demo parses");
        let changed = with_users(demo, &changes, root_mfa);
        let mut snapshot: Snapshot = serde_json::from_value(changed).expect("generated snapshot parses");
        snapshot.regions.insert(REGION.to_owned(), RegionSnapshot { ec2, ..RegionSnapshot::default() });
        let backends = BACKENDS.with(std::rc::Rc::clone);
        let results = agree(&backends, &snapshot)?;
        prop_assert!(results > 50);
    }
}

thread_local! {
    static BACKENDS: std::rc::Rc<Backends> = std::rc::Rc::new(backends());
}
