//! IAM Identity Center (SSO Admin): instances and their permission sets,
//! and which permission sets are assigned to the scanned account.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ResourceMeta;

/// The AWS managed policy that makes a permission set an administrator.
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// What one region's SSO Admin endpoint reports. An Identity Center
/// instance lives in one region; other regions report none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityCenterRegion {
    pub instances: Vec<SsoInstance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionSet {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub name: Option<String>,
    pub description: Option<String>,
    /// ISO 8601 duration, e.g. `PT1H`.
    pub session_duration: Option<String>,
    /// `None` when ListManagedPoliciesInPermissionSet failed.
    pub managed_policy_arns: Option<Vec<String>>,
    /// Whether an inline policy allows every action on every resource;
    /// `None` when GetInlinePolicyForPermissionSet failed.
    pub inline_policy_allows_everything: Option<bool>,
    /// AdministratorAccess attached, or an inline policy allowing `*` on
    /// `*`. `None` when a policy call failed and neither was seen.
    pub grants_administrator: Option<bool>,
    /// Users and groups this permission set is assigned to in the scanned
    /// account; empty when it is not assigned here, `None` when
    /// ListAccountAssignments failed.
    pub account_assignments: Option<Vec<AccountAssignment>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAssignment {
    /// `USER` or `GROUP`.
    pub principal_type: Option<String>,
    pub principal_id: Option<String>,
}
