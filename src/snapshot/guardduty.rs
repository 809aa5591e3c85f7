//! GuardDuty: the detector of a region, its protection features, and its
//! active (not archived) findings.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceMeta;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardDutyRegion {
    /// At most one per account and region; none means GuardDuty is off.
    pub detectors: Vec<Detector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Detector {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    /// `ENABLED`, or `DISABLED` when suspended; `null` when GetDetector
    /// failed (the detector exists, its state is unknown).
    pub status: Option<String>,
    pub finding_publishing_frequency: Option<String>,
    pub service_role: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub features: Vec<DetectorFeature>,
    /// Active findings per severity band, from GetFindingsStatistics;
    /// complete even when `findings` was cut. `null` when it failed.
    pub active_findings_by_severity: Option<BTreeMap<SeverityLabel, u64>>,
    /// Active findings, most severe first, at most the configured cap.
    pub findings: Vec<Finding>,
    /// True when `findings` holds fewer findings than GuardDuty counts as
    /// active: cut by the cap, or a call failed (see `collection_errors`).
    /// Without counts, true when the cap stopped the listing.
    pub findings_truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DetectorFeature {
    /// `S3_DATA_EVENTS`, `EKS_AUDIT_LOGS`, `EBS_MALWARE_PROTECTION`,
    /// `RDS_LOGIN_EVENTS`, `LAMBDA_NETWORK_LOGS`, `RUNTIME_MONITORING`, ...
    pub name: String,
    pub status: Option<String>,
    pub additional_configuration: Vec<FeatureConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeatureConfiguration {
    pub name: String,
    pub status: Option<String>,
}

/// GuardDuty's severity bands: Low below 4, Medium below 7, High below 9,
/// Critical from 9.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SeverityLabel {
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityLabel {
    pub fn from_score(score: f64) -> SeverityLabel {
        if score >= 9.0 {
            SeverityLabel::Critical
        } else if score >= 7.0 {
            SeverityLabel::High
        } else if score >= 4.0 {
            SeverityLabel::Medium
        } else {
            SeverityLabel::Low
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub account_id: Option<String>,
    /// e.g. `UnauthorizedAccess:EC2/SSHBruteForce`.
    pub finding_type: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// GuardDuty's own score, 1.0 to 10.0.
    pub severity: f64,
    pub severity_label: SeverityLabel,
    pub resource: FindingResource,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// How many times GuardDuty saw this activity.
    pub count: Option<i32>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// Findings are listed active, but one archived between ListFindings
    /// and GetFindings comes back archived.
    #[serde(default)]
    pub archived: bool,
}

/// The resource a finding is about; which fields are set depends on
/// `resource_type` (`Instance`, `AccessKey`, `S3Bucket`, `EKSCluster`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FindingResource {
    pub resource_type: Option<String>,
    pub instance_id: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    pub user_type: Option<String>,
    pub bucket_names: Vec<String>,
    pub eks_cluster_name: Option<String>,
    pub lambda_function_arn: Option<String>,
    pub rds_db_instance_identifier: Option<String>,
    pub ecs_cluster_name: Option<String>,
    pub container_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands_follow_guardduty() {
        for (score, label) in [
            (1.0, SeverityLabel::Low),
            (3.9, SeverityLabel::Low),
            (4.0, SeverityLabel::Medium),
            (6.9, SeverityLabel::Medium),
            (7.0, SeverityLabel::High),
            (8.9, SeverityLabel::High),
            (9.0, SeverityLabel::Critical),
            (10.0, SeverityLabel::Critical),
        ] {
            assert_eq!(SeverityLabel::from_score(score), label, "{score}");
        }
    }
}
