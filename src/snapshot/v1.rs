//! Reading a version-1 snapshot. Version 1 stored conclusions where version
//! 2 stores what AWS said; the upgrade drops the conclusions (the analysis
//! draws them again) and, where the data behind one was never kept, records
//! that it is missing rather than guessing it:
//!
//! - `global.iam.root` (derived) goes. The virtual MFA devices become
//!   `null` where their listing had failed, as version 2 records it.
//! - Each permission set's `inline_policy_allows_everything` and
//!   `grants_administrator` go. Version 1 kept no inline policy document,
//!   so `inline_policy` is `null` and a collection error names
//!   `sso:GetInlinePolicyForPermissionSet` for that permission set: rules
//!   that need it say so instead of passing.

use serde_json::{Map, Value, json};

/// The collection-error code of data a version-1 snapshot never kept.
pub const NOT_IN_SNAPSHOT: &str = "NotInSnapshot";

pub fn upgrade(version: u32, document: &mut Value) {
    if version != 1 {
        return;
    }
    let Some(snapshot) = document.as_object_mut() else {
        return;
    };
    let mut errors = take_array(snapshot, "collection_errors");
    upgrade_iam(snapshot, &errors);
    if let Some(regions) = snapshot.get_mut("regions").and_then(Value::as_object_mut) {
        for (region, data) in regions {
            let instances = data
                .pointer_mut("/identity_center/instances")
                .and_then(Value::as_array_mut);
            for instance in instances.into_iter().flatten() {
                let sets = instance
                    .get_mut("permission_sets")
                    .and_then(Value::as_array_mut);
                for set in sets.into_iter().flatten() {
                    upgrade_permission_set(region, set, &mut errors);
                }
            }
        }
    }
    // Collection errors are kept sorted, as a collection writes them.
    errors.sort_by_key(error_key);
    snapshot.insert("collection_errors".to_owned(), Value::Array(errors));
    snapshot.insert("schema_version".to_owned(), json!(super::SCHEMA_VERSION));
}

fn take_array(object: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match object.remove(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn upgrade_iam(snapshot: &mut Map<String, Value>, errors: &[Value]) {
    let Some(iam) = snapshot
        .get_mut("global")
        .and_then(|global| global.get_mut("iam"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    iam.remove("root");
    let listing_failed = errors
        .iter()
        .any(|error| error["service"] == "iam" && error["operation"] == "ListVirtualMFADevices");
    if listing_failed {
        iam.insert("virtual_mfa_devices".to_owned(), Value::Null);
    }
}

fn upgrade_permission_set(region: &str, set: &mut Value, errors: &mut Vec<Value>) {
    let Some(set) = set.as_object_mut() else {
        return;
    };
    set.remove("grants_administrator");
    let inline_read = set
        .remove("inline_policy_allows_everything")
        .is_some_and(|read| !read.is_null());
    set.insert("inline_policy".to_owned(), Value::Null);
    // Where the call had failed, its error is already recorded.
    if inline_read {
        errors.push(json!({
            "service": "sso",
            "region": region,
            "operation": "GetInlinePolicyForPermissionSet",
            "resource": set.get("arn").cloned().unwrap_or(Value::Null),
            "code": NOT_IN_SNAPSHOT,
            "message": "a version-1 snapshot keeps no inline policy documents; collect again to evaluate them",
        }));
    }
}

/// The order of `CollectionError`'s fields, which is how collections sort.
fn error_key(error: &Value) -> Vec<String> {
    [
        "service",
        "region",
        "operation",
        "resource",
        "code",
        "message",
    ]
    .iter()
    .map(|key| match &error[key] {
        Value::Null => String::new(),
        Value::String(text) => format!("\u{1}{text}"),
        other => other.to_string(),
    })
    .collect()
}
