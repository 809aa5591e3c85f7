//! IAM as AWS reports it: the account summary, virtual MFA devices, IAM users and their
//! credentials, the password policy, and the credential report.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceMeta;

/// The region recorded on global (IAM) resources.
pub const GLOBAL_REGION: &str = "global";

/// Everything the IAM collector gathers; account-wide, collected once.
/// A part whose call failed is `None` (or empty) and has a matching entry
/// in the snapshot's `collection_errors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IamAccount {
    /// GetAccountSummary.
    pub summary: Option<AccountSummary>,
    /// Virtual MFA devices assigned to a user (root included); `null` when
    /// ListVirtualMFADevices failed.
    pub virtual_mfa_devices: Option<Vec<VirtualMfaDevice>>,
    pub password_policy: Option<PasswordPolicyState>,
    pub credential_report: Option<CredentialReport>,
    pub users: Vec<IamUser>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountSummary {
    /// Whether the root user has an MFA device (virtual or hardware).
    pub account_mfa_enabled: bool,
    /// Whether the root user has access keys.
    pub account_access_keys_present: bool,
    pub account_signing_certificates_present: bool,
    pub users: i64,
    pub groups: i64,
    pub roles: i64,
    pub policies: i64,
    pub mfa_devices: i64,
    pub mfa_devices_in_use: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VirtualMfaDevice {
    pub serial_number: String,
    /// The user the device is assigned to; the root ARN for root's device.
    pub user_arn: Option<String>,
    pub enable_date: Option<DateTime<Utc>>,
}

/// GetAccountPasswordPolicy: no policy set is a fact about the account,
/// not a collection failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", content = "policy", rename_all = "snake_case")]
pub enum PasswordPolicyState {
    NotSet,
    Set(PasswordPolicy),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PasswordPolicy {
    pub minimum_password_length: Option<i32>,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    pub expire_passwords: bool,
    pub max_password_age: Option<i32>,
    /// How many previous passwords cannot be reused.
    pub password_reuse_prevention: Option<i32>,
    pub hard_expiry: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IamUser {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub name: String,
    pub path: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub password_last_used: Option<DateTime<Utc>>,
    /// Whether the user can sign in to the console. This and the lists
    /// below are read per user only for a user the credential report does
    /// not cover (`ReportLookup::row_for`); otherwise the report
    /// answers and they are `null`. They are `null` too when their call
    /// failed (see `collection_errors`, which names the user), so a
    /// failure never reads as "no console, no MFA, no keys".
    pub console_access: Option<ConsoleAccess>,
    pub mfa_devices: Option<Vec<MfaDevice>>,
    pub access_keys: Option<Vec<AccessKey>>,
}

/// From GetLoginProfile: a login profile means a console password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConsoleAccess {
    Disabled,
    Enabled {
        created: Option<DateTime<Utc>>,
        password_reset_required: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MfaDevice {
    pub serial_number: String,
    pub enable_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccessKey {
    pub id: String,
    /// `Active` or `Inactive`.
    pub status: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// `null` when GetAccessKeyLastUsed failed; a value with no date when
    /// the key was never used.
    pub last_used: Option<AccessKeyLastUsed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccessKeyLastUsed {
    pub date: Option<DateTime<Utc>>,
    pub region: Option<String>,
    pub service: Option<String>,
}

/// The IAM credential report: one row per user plus `<root_account>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CredentialReport {
    pub generated_at: Option<DateTime<Utc>>,
    pub rows: Vec<CredentialReportRow>,
}

/// A report field that may hold a value or one of the report's documented
/// absences, each of which means something different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportField<T> {
    Value(T),
    /// `N/A`: the credential does not exist (no password, no key).
    NotApplicable,
    /// `no_information`: never used, or not since IAM began tracking.
    NoInformation,
    /// `not_supported`: the field does not apply to this principal (root).
    NotSupported,
}

impl<T> ReportField<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            ReportField::Value(value) => Some(value),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CredentialReportRow {
    /// The user name, or `<root_account>`.
    pub user: String,
    pub arn: String,
    pub user_creation_time: ReportField<DateTime<Utc>>,
    pub password_enabled: ReportField<bool>,
    pub password_last_used: ReportField<DateTime<Utc>>,
    pub password_last_changed: ReportField<DateTime<Utc>>,
    pub password_next_rotation: ReportField<DateTime<Utc>>,
    pub mfa_active: bool,
    pub access_key_1: AccessKeyReport,
    pub access_key_2: AccessKeyReport,
    pub cert_1: CertificateReport,
    pub cert_2: CertificateReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccessKeyReport {
    pub active: bool,
    pub last_rotated: ReportField<DateTime<Utc>>,
    pub last_used_date: ReportField<DateTime<Utc>>,
    pub last_used_region: ReportField<String>,
    pub last_used_service: ReportField<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertificateReport {
    pub active: bool,
    pub last_rotated: ReportField<DateTime<Utc>>,
}

pub const ROOT_ROW: &str = "<root_account>";

impl IamAccount {
    /// The credential report, ready to look users up in, when it was read.
    pub fn report_lookup(&self) -> Option<ReportLookup<'_>> {
        let report = self.credential_report.as_ref()?;
        Some(ReportLookup::new(
            report,
            self.virtual_mfa_devices.as_deref(),
        ))
    }
}

/// The credential report's rows by ARN, and the users a virtual MFA device
/// is assigned to as listed now: each user is looked up in constant time,
/// not by a scan of every row and device.
pub struct ReportLookup<'a> {
    pub report: &'a CredentialReport,
    rows: HashMap<&'a str, &'a CredentialReportRow>,
    virtual_mfa_users: HashSet<&'a str>,
}

impl<'a> ReportLookup<'a> {
    /// `virtual_mfa_devices`: the devices as listed now; `None` when they
    /// could not be listed.
    pub fn new(
        report: &'a CredentialReport,
        virtual_mfa_devices: Option<&'a [VirtualMfaDevice]>,
    ) -> ReportLookup<'a> {
        ReportLookup {
            report,
            rows: report
                .rows
                .iter()
                .map(|row| (row.arn.as_str(), row))
                .collect(),
            virtual_mfa_users: virtual_mfa_devices
                .into_iter()
                .flatten()
                .filter_map(|device| device.user_arn.as_deref())
                .collect(),
        }
    }

    /// The row that still describes `user`, if any. A user created after
    /// the report has none, and neither has one deleted and created again
    /// under the same name: the row with its ARN describes the user before
    /// (creation times are compared to the second, the report's
    /// precision). Nor has a user whose row live data contradicts: a
    /// password used since the report was generated where the row has
    /// none, or a virtual MFA device assigned where the row has no MFA.
    pub fn row_for(&self, user: &IamUser) -> Option<&'a CredentialReportRow> {
        let created = user.created?.timestamp();
        let row = *self.rows.get(user.meta.arn.as_str())?;
        if row
            .user_creation_time
            .value()
            .is_none_or(|time| time.timestamp() != created)
        {
            return None;
        }
        let password_since = row.password_enabled != ReportField::Value(true)
            && user.password_last_used.is_some_and(|used| {
                self.report
                    .generated_at
                    .is_none_or(|generated_at| used > generated_at)
            });
        let mfa_since = !row.mfa_active && self.virtual_mfa_users.contains(user.meta.arn.as_str());
        (!password_since && !mfa_since).then_some(row)
    }
}

/// Why a credential report could not be parsed: the line (1-based, header
/// included) and what was wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credential report line {line}: {message}")]
pub struct ReportParseError {
    pub line: usize,
    pub message: String,
}

impl CredentialReport {
    pub fn root(&self) -> Option<&CredentialReportRow> {
        self.rows.iter().find(|row| row.user == ROOT_ROW)
    }

    /// Parses the report's CSV. Columns are found by header name, so a
    /// report with added or reordered columns still parses.
    pub fn parse(
        csv_text: &str,
        generated_at: Option<DateTime<Utc>>,
    ) -> Result<CredentialReport, ReportParseError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(csv_text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|err| ReportParseError {
                line: 1,
                message: err.to_string(),
            })?
            .clone();
        let mut rows = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let record = record.map_err(|err| ReportParseError {
                line,
                message: err.to_string(),
            })?;
            let row = Row {
                headers: &headers,
                record: &record,
                line,
            };
            rows.push(row.parse()?);
        }
        Ok(CredentialReport { generated_at, rows })
    }
}

struct Row<'a> {
    headers: &'a csv::StringRecord,
    record: &'a csv::StringRecord,
    line: usize,
}

impl Row<'_> {
    fn error(&self, message: String) -> ReportParseError {
        ReportParseError {
            line: self.line,
            message,
        }
    }

    fn raw(&self, column: &str) -> Result<&str, ReportParseError> {
        self.headers
            .iter()
            .position(|header| header == column)
            .and_then(|index| self.record.get(index))
            .ok_or_else(|| self.error(format!("no `{column}` column")))
    }

    fn field<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<ReportField<T>, ReportParseError> {
        let raw = self.raw(column)?;
        Ok(match raw {
            "N/A" | "" => ReportField::NotApplicable,
            "no_information" => ReportField::NoInformation,
            "not_supported" => ReportField::NotSupported,
            value => ReportField::Value(parse(value).ok_or_else(|| {
                self.error(format!("`{column}` has an unexpected value `{value}`"))
            })?),
        })
    }

    fn time(&self, column: &str) -> Result<ReportField<DateTime<Utc>>, ReportParseError> {
        self.field(column, parse_report_time)
    }

    fn text(&self, column: &str) -> Result<ReportField<String>, ReportParseError> {
        self.field(column, |value| Some(value.to_owned()))
    }

    fn flag(&self, column: &str) -> Result<ReportField<bool>, ReportParseError> {
        self.field(column, parse_bool)
    }

    /// A yes/no column where an absence means no.
    fn active(&self, column: &str) -> Result<bool, ReportParseError> {
        Ok(matches!(self.flag(column)?, ReportField::Value(true)))
    }

    fn access_key(&self, n: u8) -> Result<AccessKeyReport, ReportParseError> {
        Ok(AccessKeyReport {
            active: self.active(&format!("access_key_{n}_active"))?,
            last_rotated: self.time(&format!("access_key_{n}_last_rotated"))?,
            last_used_date: self.time(&format!("access_key_{n}_last_used_date"))?,
            last_used_region: self.text(&format!("access_key_{n}_last_used_region"))?,
            last_used_service: self.text(&format!("access_key_{n}_last_used_service"))?,
        })
    }

    fn certificate(&self, n: u8) -> Result<CertificateReport, ReportParseError> {
        Ok(CertificateReport {
            active: self.active(&format!("cert_{n}_active"))?,
            last_rotated: self.time(&format!("cert_{n}_last_rotated"))?,
        })
    }

    fn parse(&self) -> Result<CredentialReportRow, ReportParseError> {
        Ok(CredentialReportRow {
            user: self.raw("user")?.to_owned(),
            arn: self.raw("arn")?.to_owned(),
            user_creation_time: self.time("user_creation_time")?,
            password_enabled: self.flag("password_enabled")?,
            password_last_used: self.time("password_last_used")?,
            password_last_changed: self.time("password_last_changed")?,
            password_next_rotation: self.time("password_next_rotation")?,
            mfa_active: self.active("mfa_active")?,
            access_key_1: self.access_key(1)?,
            access_key_2: self.access_key(2)?,
            cert_1: self.certificate(1)?,
            cert_2: self.certificate(2)?,
        })
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" | "TRUE" | "True" => Some(true),
        "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The report writes ISO 8601 with an offset (`2014-09-01T22:28:48+00:00`);
/// older reports have been seen with a bare date.
fn parse_report_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|time| time.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|time| time.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn time(text: &str) -> ReportField<DateTime<Utc>> {
        ReportField::Value(
            DateTime::parse_from_rfc3339(text)
                .expect("test timestamp")
                .with_timezone(&Utc),
        )
    }

    fn unused_key() -> AccessKeyReport {
        AccessKeyReport {
            active: false,
            last_rotated: ReportField::NotApplicable,
            last_used_date: ReportField::NotApplicable,
            last_used_region: ReportField::NotApplicable,
            last_used_service: ReportField::NotApplicable,
        }
    }

    fn no_cert() -> CertificateReport {
        CertificateReport {
            active: false,
            last_rotated: ReportField::NotApplicable,
        }
    }

    #[test]
    fn the_root_row_parses_with_its_not_supported_fields() {
        let csv = format!(
            "{HEADER}\n<root_account>,arn:aws:iam::123456789012:root,2019-03-01T10:00:00+00:00,not_supported,2026-11-20T08:15:00+00:00,not_supported,not_supported,true,true,2020-01-01T00:00:00+00:00,2026-11-01T12:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let report = CredentialReport::parse(&csv, None).expect("parses");
        let root = report.root().expect("root row");
        assert_eq!(
            *root,
            CredentialReportRow {
                user: ROOT_ROW.to_owned(),
                arn: "arn:aws:iam::123456789012:root".to_owned(),
                user_creation_time: time("2019-03-01T10:00:00Z"),
                password_enabled: ReportField::NotSupported,
                password_last_used: time("2026-11-20T08:15:00Z"),
                password_last_changed: ReportField::NotSupported,
                password_next_rotation: ReportField::NotSupported,
                mfa_active: true,
                access_key_1: AccessKeyReport {
                    active: true,
                    last_rotated: time("2020-01-01T00:00:00Z"),
                    last_used_date: time("2026-11-01T12:00:00Z"),
                    last_used_region: ReportField::Value("us-east-1".to_owned()),
                    last_used_service: ReportField::Value("s3".to_owned()),
                },
                access_key_2: unused_key(),
                cert_1: no_cert(),
                cert_2: no_cert(),
            }
        );
    }

    #[test]
    fn users_with_and_without_keys_and_every_absence_parse() {
        let csv = format!(
            "{HEADER}\n\
             alice,arn:aws:iam::123456789012:user/alice,2024-05-01T09:00:00+00:00,true,no_information,2024-05-01T09:00:00+00:00,N/A,false,true,2024-05-01T09:05:00+00:00,N/A,N/A,N/A,true,2025-01-01T00:00:00+00:00,2026-11-23T22:10:00+00:00,eu-west-1,ec2,true,2024-06-01T00:00:00+00:00,false,N/A\n\
             ci-bot,arn:aws:iam::123456789012:user/ci/ci-bot,2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let report = CredentialReport::parse(&csv, None).expect("parses");
        assert_eq!(report.rows.len(), 2);
        assert!(report.root().is_none());
        let alice = &report.rows[0];
        assert_eq!(alice.password_enabled, ReportField::Value(true));
        assert_eq!(alice.password_last_used, ReportField::NoInformation);
        assert_eq!(alice.password_next_rotation, ReportField::NotApplicable);
        assert!(alice.access_key_1.active);
        assert_eq!(
            alice.access_key_1.last_used_date,
            ReportField::NotApplicable
        );
        assert_eq!(
            alice.access_key_2.last_used_service,
            ReportField::Value("ec2".to_owned())
        );
        assert!(alice.cert_1.active);
        let bot = &report.rows[1];
        assert_eq!(bot.arn, "arn:aws:iam::123456789012:user/ci/ci-bot");
        assert_eq!(bot.password_enabled, ReportField::Value(false));
        assert_eq!(bot.access_key_1, unused_key());
        assert_eq!(bot.access_key_2, unused_key());
    }

    #[test]
    fn a_bad_value_names_its_line_and_column() {
        let csv = format!(
            "{HEADER}\nbob,arn:aws:iam::123456789012:user/bob,yesterday,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        assert_eq!(
            CredentialReport::parse(&csv, None),
            Err(ReportParseError {
                line: 2,
                message: "`user_creation_time` has an unexpected value `yesterday`".to_owned()
            })
        );
        let missing = "user,arn\nbob,arn:aws:iam::1:user/bob\n";
        assert_eq!(
            CredentialReport::parse(missing, None).map_err(|e| e.to_string()),
            Err("credential report line 2: no `user_creation_time` column".to_owned())
        );
    }
}
