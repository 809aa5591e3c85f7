//! The snapshot: a typed, serialisable record of one read-only collection run.
//!
//! Everything downstream (analysis, rules, reports) reads this model and
//! nothing else, so a saved snapshot can be evaluated offline exactly as a
//! live scan would be. The model holds no AWS SDK types: collectors convert.

pub mod budgets;
pub mod cloudwatch;
pub mod ec2;
pub mod elb;
pub mod elbv2;
pub mod guardduty;
pub mod iam;
pub mod ssoadmin;
pub mod sts;
mod v1;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::FileError;
use crate::files::{self, Document, Versions};

/// Bumped whenever a change to the model would make an older reader
/// misunderstand a newer file (or the reverse). Version 2 records what
/// version 1 derived (the root user's state, which permission sets grant
/// administrator rights) as AWS said it: the virtual MFA devices as listed
/// (or not), each permission set's inline policy document.
pub const SCHEMA_VERSION: u32 = 2;

/// The versions `rampart evaluate` reads: version 1 is upgraded on read.
const VERSIONS: Versions = Versions {
    current: SCHEMA_VERSION,
    oldest: 1,
    upgrade: v1::upgrade,
};

/// One collection run over one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub account: sts::AccountIdentity,
    pub collected_at: DateTime<Utc>,
    /// The regions this run was asked to cover, after `all` was expanded.
    pub regions_requested: Vec<String>,
    /// Account-wide data, collected once whatever the regions.
    pub global: GlobalSnapshot,
    /// Per-region data, keyed by region name.
    pub regions: BTreeMap<String, RegionSnapshot>,
    /// Every API call that failed; the data it would have returned is absent
    /// from the snapshot and must be treated as not evaluated, never as clean.
    pub collection_errors: Vec<CollectionError>,
    /// Calls made per operation (`service:Operation`), paginated pages included.
    pub api_calls: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    pub fn current() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Account-wide data from global services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalSnapshot {
    pub iam: iam::IamAccount,
    /// Alarms on estimated charges (CloudWatch in us-east-1).
    pub billing_alarms: Vec<cloudwatch::BillingAlarm>,
    pub budgets: Vec<budgets::Budget>,
}

/// Everything collected in one region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionSnapshot {
    pub ec2: ec2::Ec2Region,
    /// Load balancers; `null` in snapshots taken before rampart collected
    /// them.
    #[serde(default)]
    pub elbv2: Option<elbv2::Elbv2Region>,
    #[serde(default)]
    pub elb: Option<elb::ElbRegion>,
    pub guardduty: guardduty::GuardDutyRegion,
    pub identity_center: ssoadmin::IdentityCenterRegion,
}

/// Identity fields every collected resource carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceMeta {
    pub id: String,
    /// From the API where it gives one, otherwise built from partition,
    /// region, account and id in the documented ARN format.
    pub arn: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl ResourceMeta {
    /// A resource with no tags.
    pub fn new(id: String, arn: String, region: &str) -> Self {
        ResourceMeta {
            id,
            arn,
            region: region.to_owned(),
            tags: BTreeMap::new(),
        }
    }
}

/// One API call that failed during collection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CollectionError {
    pub service: String,
    /// `null` for global services such as STS or IAM.
    pub region: Option<String>,
    pub operation: String,
    /// The ARN of the resource the call was about, when the call reads one
    /// resource's detail (a user's MFA devices, a detector's settings);
    /// `null` for calls that list a whole service.
    pub resource: Option<String>,
    /// The AWS error code (`AccessDenied`, `UnauthorizedOperation`, ...), or
    /// `Timeout` / `DispatchFailure` when no response came back.
    pub code: String,
    pub message: String,
}

impl Snapshot {
    /// Reads and validates a snapshot file written by `rampart collect`.
    pub fn read(path: &Path) -> Result<Snapshot, FileError> {
        files::read_versioned(path, Document::Snapshot, VERSIONS)
    }

    pub fn parse(text: &str) -> Result<Snapshot, FileError> {
        files::parse_versioned(text, Document::Snapshot, VERSIONS)
    }

    /// Writes the snapshot as pretty JSON, atomically.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        let mut text = serde_json::to_vec_pretty(self).map_err(|err| FileError::Write {
            what: "snapshot".to_owned(),
            path: path.to_owned(),
            source: err.into(),
        })?;
        text.push(b'\n');
        files::write_atomically(path, "snapshot", &text)
    }

    /// How many resources the snapshot holds, everything counted once:
    /// account-wide resources, and per region the EC2 resources, GuardDuty
    /// detectors and findings, Identity Center instances and permission sets.
    pub fn resource_count(&self) -> usize {
        let iam = &self.global.iam;
        let global = iam.users.len()
            + iam.virtual_mfa_devices.as_ref().map_or(0, Vec::len)
            + self.global.billing_alarms.len()
            + self.global.budgets.len();
        let regional: usize = self
            .regions
            .values()
            .map(|region| {
                let ec2: usize = region.ec2.resource_counts().iter().map(|(_, n)| n).sum();
                let guardduty: usize = region
                    .guardduty
                    .detectors
                    .iter()
                    .map(|d| 1 + d.findings.len())
                    .sum();
                let identity_center: usize = region
                    .identity_center
                    .instances
                    .iter()
                    .map(|i| 1 + i.permission_sets.len())
                    .sum();
                ec2 + guardduty + identity_center
            })
            .sum();
        global + regional
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const DEMO: &str = include_str!("../../fixtures/demo/snapshot.json");

    #[test]
    fn a_snapshot_round_trips_through_json_byte_for_byte() {
        let snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let text = serde_json::to_string_pretty(&snapshot).expect("serialises") + "\n";
        assert_eq!(text, DEMO);
        assert_eq!(Snapshot::parse(&text).expect("reparses"), snapshot);
    }

    #[test]
    fn every_variant_of_the_model_round_trips() {
        use ec2::*;
        let mut snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let region = snapshot.regions.get_mut("us-east-1").expect("region");
        let table = region.ec2.route_tables.first_mut().expect("a route table");
        table.routes.push(Route {
            destination: RouteDestination::PrefixList("pl-63a5400a".to_owned()),
            target: RouteTarget {
                kind: RouteTargetKind::VpcEndpoint,
                id: Some("vpce-0123".to_owned()),
            },
            state: Some("blackhole".to_owned()),
            origin: None,
        });
        table.routes.push(Route {
            destination: RouteDestination::Unknown,
            target: RouteTarget {
                kind: RouteTargetKind::Unknown,
                id: None,
            },
            state: None,
            origin: None,
        });
        let group = region.ec2.security_groups.first_mut().expect("a group");
        group.ingress.push(Permission {
            protocol: Protocol::Number(50),
            port_range: None,
            icmp: None,
            ipv4_ranges: vec![],
            ipv6_ranges: vec![],
            prefix_list_ids: vec![],
            referenced_groups: vec![],
        });
        snapshot.collection_errors.push(CollectionError {
            service: "ec2".to_owned(),
            region: None,
            operation: "DescribeRegions".to_owned(),
            resource: None,
            code: "Timeout".to_owned(),
            message: "timed out".to_owned(),
        });
        let text = serde_json::to_string(&snapshot).expect("serialises");
        assert!(text.contains(r#"{"kind":"prefix_list","value":"pl-63a5400a"}"#));
        assert!(text.contains(r#"{"kind":"unknown"}"#));
        assert!(text.contains(r#""protocol":"50""#));
        assert_eq!(Snapshot::parse(&text).expect("reparses"), snapshot);
    }

    #[test]
    fn write_replaces_the_file_whole_and_fails_cleanly_where_it_cannot() {
        let snapshot = Snapshot::parse(DEMO).expect("demo parses");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("snapshot.json");
        fs::write(&path, "old contents").expect("seed old file");
        snapshot.write(&path).expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read back"), DEMO);
        assert_eq!(
            fs::read_dir(dir.path()).expect("list").count(),
            1,
            "no temporary file left behind"
        );

        let missing_dir = dir.path().join("no-such-dir").join("snapshot.json");
        let err = snapshot
            .write(&missing_dir)
            .expect_err("cannot write there");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write snapshot {}", missing_dir.display())),
            "{err}"
        );
        assert!(!missing_dir.exists());
    }
}
