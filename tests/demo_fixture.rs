//! `fixtures/demo/snapshot.json` is a real collection of the seeded emulator
//! account (through the replay front for what moto lacks). This test
//! collects the account afresh and checks the committed demo still has the
//! same structure: ids and timestamps differ between emulator runs, so it
//! compares how many values stand at every path of the JSON.
//! Regenerate with `RAMPART_REGENERATE_DEMO=1 cargo test --test demo_fixture`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use rampart::snapshot::Snapshot;
use serde_json::Value;
use support::moto::MotoServer;
use support::replay::{Replay, ReplayServer};
use support::seed::{self, HOME_REGION, SECOND_REGION};
use support::{DEMO, rampart};

/// How many values stand at each path (array indices folded to `[]`).
fn shape(snapshot: &Snapshot) -> BTreeMap<String, usize> {
    fn walk(value: &Value, path: String, counts: &mut BTreeMap<String, usize>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    walk(child, format!("{path}.{key}"), counts);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, format!("{path}[]"), counts);
                }
            }
            _ => *counts.entry(path).or_default() += 1,
        }
    }
    let mut counts = BTreeMap::new();
    let json = serde_json::to_value(snapshot).expect("serialise snapshot");
    walk(&json, String::new(), &mut counts);
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_snapshot_is_a_collection_of_the_seeded_account() {
    let moto = MotoServer::start();
    seed::seed_account(&moto.endpoint).await;
    seed::seed_account_services(&moto.endpoint).await;
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let fresh_path = dir.path().join("snapshot.json");
    let output = rampart(dir.path())
        .args(["collect", "--endpoint-url", &front.endpoint])
        .args(["--region", HOME_REGION, "--region", SECOND_REGION, "-o"])
        .arg(&fresh_path)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    if std::env::var_os("RAMPART_REGENERATE_DEMO").is_some() {
        std::fs::copy(&fresh_path, DEMO).expect("write demo snapshot");
    }

    let fresh = Snapshot::read(&fresh_path).expect("fresh snapshot");
    let demo = Snapshot::read(Path::new(DEMO)).expect("demo snapshot parses");
    assert_eq!(shape(&demo), shape(&fresh));
    assert_eq!(demo.api_calls, fresh.api_calls);
    assert_eq!(demo.collection_errors, fresh.collection_errors);
    assert_eq!(demo.regions_requested, fresh.regions_requested);
}
