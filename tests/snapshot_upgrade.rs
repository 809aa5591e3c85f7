//! A version-1 snapshot still evaluates: it is upgraded on read, and what
//! version 1 never kept (permission sets' inline policy documents, the
//! Elastic IPs of interfaces' secondary addresses, load balancers) is
//! recorded as missing, never guessed. `fixtures/demo/snapshot-v1.json` is
//! the demo as version 1 wrote it; `fixtures/demo/snapshot.json` the same
//! collection in the current version.

mod support;

use std::path::Path;

use rampart::snapshot::{CollectionError, SCHEMA_VERSION, Snapshot};
use rampart::verdict::Status;
use support::DEMO;

const DEMO_V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/demo/snapshot-v1.json"
);

#[test]
fn a_version_1_snapshot_is_upgraded_with_a_note_where_data_is_missing() {
    let old = Snapshot::read(Path::new(DEMO_V1)).expect("a version-1 snapshot reads");
    let current = Snapshot::read(Path::new(DEMO)).expect("the demo reads");
    assert_eq!(old.schema_version, SCHEMA_VERSION);

    // What version 1 never kept is missing, and said to be.
    let notes: Vec<&CollectionError> = old
        .collection_errors
        .iter()
        .filter(|e| e.code == "NotInSnapshot")
        .collect();
    let sets: Vec<&str> = old
        .regions
        .values()
        .flat_map(|r| &r.identity_center.instances)
        .flat_map(|i| &i.permission_sets)
        .map(|p| p.meta.arn.as_str())
        .collect();
    assert_eq!(notes.len(), sets.len());
    for (note, arn) in notes.iter().zip(&sets) {
        assert_eq!(
            (
                note.service.as_str(),
                note.operation.as_str(),
                note.resource.as_deref()
            ),
            ("sso", "GetInlinePolicyForPermissionSet", Some(*arn))
        );
    }

    // Everything else is the same collection.
    let mut upgraded = old.clone();
    upgraded
        .collection_errors
        .retain(|e| e.code != "NotInSnapshot");
    for (region, data) in upgraded.regions.iter_mut() {
        for (instance, same) in data
            .identity_center
            .instances
            .iter_mut()
            .zip(&current.regions[region].identity_center.instances)
        {
            for (set, same) in instance
                .permission_sets
                .iter_mut()
                .zip(&same.permission_sets)
            {
                assert_eq!(set.inline_policy, None);
                set.inline_policy = same.inline_policy.clone();
            }
        }
        // Version 1 had no load balancers; the demo account has none.
        assert_eq!((&data.elbv2, &data.elb), (&None, &None));
        data.elbv2 = current.regions[region].elbv2.clone();
        data.elb = current.regions[region].elb.clone();
        for (interface, same) in data
            .ec2
            .network_interfaces
            .iter_mut()
            .zip(&current.regions[region].ec2.network_interfaces)
        {
            assert_eq!(interface.secondary_public_ips, None);
            interface.secondary_public_ips = same.secondary_public_ips.clone();
        }
    }
    // Nor did it make the load balancing calls, which the demo account
    // answers with nothing.
    for (call, count) in &current.api_calls {
        if call.starts_with("elasticloadbalancing:") {
            assert_eq!(upgraded.api_calls.insert(call.clone(), *count), None);
        }
    }
    assert_eq!(upgraded, current);
}

#[test]
fn a_version_1_snapshot_evaluates_to_the_same_findings() {
    let evaluate =
        |path: &str| support::evaluate(&Snapshot::read(Path::new(path)).expect("snapshot reads"));
    // The administrator permission set is known from its managed policy,
    // so no verdict needed the inline documents. Reachability did need the
    // secondary addresses' Elastic IPs: where no path is proven without
    // them, the verdict is NOT_EVALUATED, naming them; all else is equal.
    let old = evaluate(DEMO_V1);
    let current = evaluate(DEMO);
    assert_eq!(old.len(), current.len());
    let mut unknown = 0;
    for (old, current) in old.iter().zip(&current) {
        let reachability = old.finding.rule_id.starts_with("ec2-instance-")
            && (old.finding.rule_id.ends_with("-reachable-from-internet")
                || old.finding.rule_id == "ec2-instance-open-but-not-reachable");
        if reachability && old.finding.status != current.finding.status {
            assert_eq!(
                (old.finding.status, current.finding.status),
                (Status::NotEvaluated, Status::Pass),
                "{}",
                old.finding.rule_id
            );
            let message = old.finding.message.as_deref().unwrap_or_default();
            assert!(
                message.contains("secondary private addresses are not in the snapshot"),
                "{message}"
            );
            unknown += 1;
        } else {
            assert_eq!(old, current);
        }
    }
    assert!(unknown > 0);
}
