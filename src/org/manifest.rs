//! The manifest of one shard of an organization scan: which accounts file
//! it read (by digest), which rules ran, and per account how its scan
//! ended and how long it took. `rampart merge` checks the shards of a run
//! against each other with it.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::accounts::OrgAccount;
use super::shard::Shard;
use crate::error::FileError;
use crate::files::{self, Document, Versions};
use crate::snapshot::ToolInfo;

pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub shard: Shard,
    /// The accounts file as given, and the SHA-256 of its bytes: every
    /// shard of a run must have read the same list.
    pub accounts_file: String,
    pub accounts_sha256: String,
    /// The accounts file's `retry_of`: the run whose unscanned accounts
    /// this one scans again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    pub organization_id: String,
    pub management_account_id: String,
    /// The rules that ran and their parameters (as in each report).
    pub rules_version: String,
    pub report_schema_version: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// This shard's accounts, sorted by id.
    pub accounts: Vec<AccountRun>,
}

/// How one account's scan ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRun {
    /// The account as the accounts file lists it.
    #[serde(flatten)]
    pub account: OrgAccount,
    pub status: AccountStatus,
    /// Why the account could not be scanned; `None` when it was.
    pub problem: Option<String>,
    /// With `partial`: each call that failed, `service:Operation in
    /// region: code`.
    pub failed_calls: Vec<String>,
    /// The account's report, relative to the output directory; `None`
    /// when it could not be scanned.
    pub report: Option<String>,
    /// Failing findings (FAIL, not suppressed) of any severity; those at
    /// or above `--fail-on` (`None` with `--fail-on never`); checks not
    /// evaluated. `None` when the account has no report.
    pub failed: Option<usize>,
    pub failing: Option<usize>,
    pub not_evaluated: Option<usize>,
    pub started_at: DateTime<Utc>,
    pub seconds: f64,
}

impl AccountRun {
    /// An account with no report (yet), in `status`.
    pub fn not_scanned(
        account: OrgAccount,
        status: AccountStatus,
        started_at: DateTime<Utc>,
    ) -> AccountRun {
        AccountRun {
            account,
            status,
            problem: None,
            failed_calls: Vec::new(),
            report: None,
            failed: None,
            failing: None,
            not_evaluated: None,
            started_at,
            seconds: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Scanned with every call answered.
    Ok,
    /// Scanned; some calls failed, and the checks needing them are
    /// NOT_EVALUATED in the report.
    Partial,
    /// The scanning role could not be assumed: nothing was scanned.
    AssumeRoleFailed,
    /// The scan did not finish within `--account-timeout`.
    Timeout,
    /// The scan could not run (the account could not be identified, its
    /// regions not listed, its report not written).
    Error,
}

impl AccountStatus {
    /// Whether the account has a report.
    pub fn scanned(self) -> bool {
        matches!(self, AccountStatus::Ok | AccountStatus::Partial)
    }

    pub fn name(self) -> &'static str {
        match self {
            AccountStatus::Ok => "ok",
            AccountStatus::Partial => "partial",
            AccountStatus::AssumeRoleFailed => "assume_role_failed",
            AccountStatus::Timeout => "timeout",
            AccountStatus::Error => "error",
        }
    }
}

impl Manifest {
    /// `manifest-I-of-N.json`.
    pub fn file_name(shard: Shard) -> String {
        format!("manifest-{}-of-{}.json", shard.index, shard.count)
    }

    pub fn read(path: &Path) -> Result<Manifest, FileError> {
        files::read_versioned(
            path,
            Document::Manifest,
            Versions::only(MANIFEST_SCHEMA_VERSION),
        )
    }

    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        let mut text = serde_json::to_vec_pretty(self).map_err(FileError::json)?;
        text.push(b'\n');
        files::write_atomically(path, "manifest", &text)
    }
}
