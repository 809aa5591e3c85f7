//! IAM Identity Center (SSO Admin): instances and their permission sets,
//! and which permission sets are assigned to the scanned account.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceMeta;

/// What one region's SSO Admin endpoint reports. An Identity Center
/// instance lives in one region; other regions report none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityCenterRegion {
    pub instances: Vec<SsoInstance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SsoInstance {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub name: Option<String>,
    pub identity_store_id: Option<String>,
    pub owner_account_id: Option<String>,
    pub status: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub permission_sets: Vec<PermissionSet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PermissionSet {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub name: Option<String>,
    pub description: Option<String>,
    /// ISO 8601 duration, e.g. `PT1H`.
    pub session_duration: Option<String>,
    /// `null` when ListManagedPoliciesInPermissionSet failed.
    pub managed_policy_arns: Option<Vec<String>>,
    /// `null` when GetInlinePolicyForPermissionSet failed.
    pub inline_policy: Option<InlinePolicy>,
    /// Users and groups this permission set is assigned to in the scanned
    /// account; empty when it is not assigned here, `null` when
    /// ListAccountAssignments failed.
    pub account_assignments: Option<Vec<AccountAssignment>>,
}

/// GetInlinePolicyForPermissionSet: no inline policy is a fact about the
/// permission set, not a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", content = "document", rename_all = "snake_case")]
pub enum InlinePolicy {
    None,
    /// The policy document as IAM Identity Center returned it (JSON text).
    Set(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountAssignment {
    /// `USER` or `GROUP`.
    pub principal_type: Option<String>,
    pub principal_id: Option<String>,
}
