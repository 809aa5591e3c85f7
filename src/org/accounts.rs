//! The accounts file: an organization's accounts as `rampart org accounts`
//! listed them, once. Every shard of an organization scan reads this file
//! rather than the Organizations API, so every shard sees the same list.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{AccountsError, FileError};
use crate::files::{self, Document, Versions};

pub const ACCOUNTS_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsFile {
    pub schema_version: u32,
    /// The organization listed (`o-...`).
    pub organization_id: String,
    pub management_account_id: String,
    /// When the list was taken.
    pub listed_at: DateTime<Utc>,
    /// The organizational units the list was limited to (and everything
    /// below them); empty for the whole organization.
    pub organizational_units: Vec<String>,
    /// Accounts left out with `--exclude-account`.
    pub excluded: Vec<String>,
    /// ACTIVE accounts, sorted by id.
    pub accounts: Vec<OrgAccount>,
    /// For the accounts `merge --emit-failed` writes: the SHA-256 of the
    /// accounts file of the run they could not be scanned in, so that
    /// `merge` takes this run's results in place of theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    pub email: String,
    /// The names of the organizational units from the root down to the
    /// account's parent, the root's own name first (`Root/prod/web`).
    pub ou_path: Vec<String>,
    /// The id of the account's parent: the root or an organizational unit.
    pub parent_id: String,
    /// The organization's management account, which StackSets do not
    /// reach: its scanning role is usually deployed by hand.
    pub management: bool,
}

impl OrgAccount {
    pub fn ou_path_text(&self) -> String {
        self.ou_path.join("/")
    }
}

impl AccountsFile {
    /// Reads and checks an accounts file (every id is twelve digits and
    /// listed once, in order, and there is at least one), with the SHA-256
    /// of its bytes: shards of one run must have read the same file.
    pub fn read(path: &Path) -> Result<(AccountsFile, String), AccountsError> {
        let text = files::read_bounded(path, files::MAX_DOCUMENT_BYTES).map_err(|source| {
            FileError::Read {
                kind: Document::Accounts.name(),
                path: path.to_owned(),
                source,
            }
        })?;
        let file = AccountsFile::parse(&text).map_err(|err| err.at(path))?;
        file.check().map_err(|problem| AccountsError::Invalid {
            path: path.to_owned(),
            problem,
        })?;
        Ok((file, crate::engine::sha256_hex(text.as_bytes())))
    }

    pub fn parse(text: &str) -> Result<AccountsFile, FileError> {
        files::parse_versioned(
            text,
            Document::Accounts,
            Versions::only(ACCOUNTS_SCHEMA_VERSION),
        )
    }

    /// What makes the list unusable, if anything.
    pub fn check(&self) -> Result<(), String> {
        if self.accounts.is_empty() {
            return Err("it lists no accounts".to_owned());
        }
        let mut seen = BTreeSet::new();
        for account in &self.accounts {
            if !is_account_id(&account.id) {
                return Err(format!(
                    "`{}` is not an AWS account id (twelve digits)",
                    account.id
                ));
            }
            if !seen.insert(account.id.as_str()) {
                return Err(format!("account {} is listed twice", account.id));
            }
        }
        if !self.accounts.is_sorted_by(|a, b| a.id < b.id) {
            return Err("its accounts are not sorted by id".to_owned());
        }
        Ok(())
    }

    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        let mut text = serde_json::to_vec_pretty(self).map_err(FileError::json)?;
        text.push(b'\n');
        files::write_atomically(path, "accounts file", &text)
    }
}

/// Twelve ASCII digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}
