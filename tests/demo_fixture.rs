//! `fixtures/demo/snapshot.json` is a real collection of the seeded emulator
//! account. This test collects the account afresh and checks the committed
//! demo still has the same shape (ids differ between emulator runs).
//! Regenerate it with `RAMPART_REGENERATE_DEMO=1 cargo test --test demo_fixture`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use rampart::snapshot::Snapshot;
use support::moto::MotoServer;
use support::rampart;
use support::seed::{self, HOME_REGION, SECOND_REGION};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");

/// Resource counts per kind, and `kind:Name` of every named resource.
type RegionShape = (Vec<(&'static str, usize)>, Vec<String>);

fn shape(snapshot: &Snapshot) -> BTreeMap<String, RegionShape> {
    snapshot
        .regions
        .iter()
        .map(|(region, data)| {
            let json = serde_json::to_value(&data.ec2).expect("serialise region");
            let mut names: Vec<String> = json
                .as_object()
                .into_iter()
                .flat_map(|kinds| kinds.iter())
                .filter_map(|(kind, items)| Some((kind, items.as_array()?)))
                .flat_map(|(kind, items)| {
                    items.iter().filter_map(move |item| {
                        Some(format!("{kind}:{}", item.pointer("/tags/Name")?.as_str()?))
                    })
                })
                .collect();
            names.sort();
            (region.clone(), (data.ec2.resource_counts(), names))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_snapshot_is_a_collection_of_the_seeded_account() {
    let moto = MotoServer::start();
    seed::seed_account(&moto.endpoint).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let fresh_path = dir.path().join("snapshot.json");
    let output = rampart(dir.path())
        .args(["collect", "--endpoint-url", &moto.endpoint])
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
    assert_eq!(demo.schema_version, fresh.schema_version);
}
