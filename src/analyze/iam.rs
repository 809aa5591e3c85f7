//! IAM facts. The root user's state, combined from what IAM reports in
//! three places: the account summary, the virtual MFA devices and the
//! credential report's `<root_account>` row, which stands in when the
//! summary could not be read. And how long each user's credentials have
//! gone unused, on the snapshot's clock.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::snapshot::iam::{
    AccessKeyLastUsed, ConsoleAccess, CredentialReport, CredentialReportRow, IamAccount, IamUser,
    ReportField, ReportLookup,
};
use crate::snapshot::sts::AccountIdentity;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RootFacts {
    pub arn: String,
    /// `null` when neither the summary nor the credential report could be read.
    pub mfa_enabled: Option<bool>,
    /// What kind of device protects root; `null` when that cannot be known.
    pub mfa_type: Option<MfaType>,
    pub access_keys_present: Option<bool>,
    /// The credential report's `<root_account>` row.
    pub credentials: Option<CredentialReportRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MfaType {
    None,
    Virtual,
    /// MFA is enabled and no virtual device is assigned to root: a hardware
    /// key or token (or a passkey, which IAM reports the same way).
    Hardware,
}

impl RootFacts {
    /// Root's MFA is virtual when a virtual device is assigned to the root
    /// ARN, hardware when MFA is on without one; the type is known only
    /// when the virtual devices could be listed.
    pub fn of(account: &AccountIdentity, iam: &IamAccount) -> RootFacts {
        let arn = format!("arn:{}:iam::{}:root", account.partition, account.account_id);
        let credentials = iam
            .credential_report
            .as_ref()
            .and_then(|report| report.root())
            .cloned();
        let summary = iam.summary.as_ref();
        let mfa_enabled = summary
            .map(|s| s.account_mfa_enabled)
            .or_else(|| credentials.as_ref().map(|row| row.mfa_active));
        let access_keys_present = summary.map(|s| s.account_access_keys_present).or_else(|| {
            credentials
                .as_ref()
                .map(|row| row.access_key_1.active || row.access_key_2.active)
        });
        let mfa_type = match (mfa_enabled, &iam.virtual_mfa_devices) {
            (Some(false), _) => Some(MfaType::None),
            (Some(true), Some(devices)) => Some(
                if devices
                    .iter()
                    .any(|d| d.user_arn.as_deref() == Some(arn.as_str()))
                {
                    MfaType::Virtual
                } else {
                    MfaType::Hardware
                },
            ),
            _ => None,
        };
        RootFacts {
            arn,
            mfa_enabled,
            mfa_type,
            access_keys_present,
            credentials,
        }
    }
}

/// A user's credentials as the analysis reads them, and how long each has
/// gone unused when the snapshot was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UserFacts {
    /// `source` (`credential_report`, or `user_calls` for a user the
    /// report does not list), `as_of` (the report's generation time, when
    /// it is the source), `console_password` (`enabled`, `set`,
    /// `last_used`), `mfa_active` and `access_keys` (each with `name`,
    /// `id`, `active`, `created` and `last_used`); a part is `null` when it
    /// could not be read.
    pub credentials: UserCredentials,
    /// The console password (when enabled) and every active access key
    /// whose idle time is known.
    pub idle_credentials: Vec<IdleCredential>,
    /// Credentials whose idle time cannot be known, and why: their data
    /// could not be read.
    pub idle_unknown: Vec<String>,
}

/// The console password, MFA and access keys of a user: from the calls
/// about that user where they were made, otherwise from the credential
/// report's row. Each part is `None` when it cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UserCredentials {
    pub source: CredentialSource,
    /// When the credential report was generated, where it is the source:
    /// IAM serves a report up to four hours old, so a change made since
    /// then is not seen.
    pub as_of: Option<DateTime<Utc>>,
    pub console_password: Option<ConsolePassword>,
    /// Whether any MFA device (virtual, hardware, security key, passkey)
    /// is assigned.
    pub mfa_active: Option<bool>,
    pub access_keys: Option<Vec<UserAccessKey>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSource {
    /// GetLoginProfile, ListMFADevices, ListAccessKeys and
    /// GetAccessKeyLastUsed for this user.
    UserCalls,
    CredentialReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConsolePassword {
    pub enabled: bool,
    /// When the password was set: the login profile's creation, or the
    /// report's `password_last_changed`.
    pub set: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UserAccessKey {
    /// `access key AKIA…`, or `access key 1` and `access key 2` as the
    /// credential report numbers the keys it does not identify.
    pub name: String,
    /// `null` when the credential report is the source.
    pub id: Option<String>,
    pub active: bool,
    pub created: Option<DateTime<Utc>>,
    /// `null` when its last use could not be read; a use with no date
    /// when the key was never used.
    pub last_used: Option<AccessKeyLastUsed>,
}

impl UserCredentials {
    /// `report`: the credential report, when it was read.
    pub fn of(user: &IamUser, report: Option<&ReportLookup<'_>>) -> UserCredentials {
        let asked = user.console_access.is_some()
            || user.mfa_devices.is_some()
            || user.access_keys.is_some();
        let row = report.filter(|_| !asked).and_then(|lookup| {
            let row = lookup.row_for(user)?;
            Some((lookup.report, row))
        });
        match row {
            Some((report, row)) => UserCredentials::from_report(user, report, row),
            None => UserCredentials::from_user_calls(user),
        }
    }

    fn from_user_calls(user: &IamUser) -> UserCredentials {
        UserCredentials {
            source: CredentialSource::UserCalls,
            as_of: None,
            console_password: user.console_access.as_ref().map(|access| match access {
                ConsoleAccess::Disabled => ConsolePassword {
                    enabled: false,
                    set: None,
                    last_used: None,
                },
                ConsoleAccess::Enabled { created, .. } => ConsolePassword {
                    enabled: true,
                    set: *created,
                    last_used: user.password_last_used,
                },
            }),
            mfa_active: user.mfa_devices.as_ref().map(|devices| !devices.is_empty()),
            access_keys: user.access_keys.as_ref().map(|keys| {
                keys.iter()
                    .map(|key| UserAccessKey {
                        name: format!("access key {}", key.id),
                        id: Some(key.id.clone()),
                        active: key.status.as_deref() == Some("Active"),
                        created: key.created,
                        last_used: key.last_used.clone(),
                    })
                    .collect()
            }),
        }
    }

    fn from_report(
        user: &IamUser,
        report: &CredentialReport,
        row: &CredentialReportRow,
    ) -> UserCredentials {
        let console_password = row
            .password_enabled
            .value()
            .map(|&enabled| ConsolePassword {
                enabled,
                set: enabled
                    .then(|| row.password_last_changed.value().copied())
                    .flatten(),
                // ListUsers is read live; the report may be hours old.
                last_used: user
                    .password_last_used
                    .or_else(|| row.password_last_used.value().copied())
                    .filter(|_| enabled),
            });
        let access_keys = [(1, &row.access_key_1), (2, &row.access_key_2)]
            .into_iter()
            // A key that exists has a creation date, active or not.
            .filter(|(_, key)| key.active || key.last_rotated.value().is_some())
            .map(|(slot, key)| UserAccessKey {
                name: format!("access key {slot}"),
                id: None,
                active: key.active,
                created: key.last_rotated.value().copied(),
                last_used: match &key.last_used_date {
                    ReportField::Value(date) => Some(AccessKeyLastUsed {
                        date: Some(*date),
                        region: key.last_used_region.value().cloned(),
                        service: key.last_used_service.value().cloned(),
                    }),
                    ReportField::NotApplicable => Some(AccessKeyLastUsed {
                        date: None,
                        region: None,
                        service: None,
                    }),
                    ReportField::NoInformation | ReportField::NotSupported => None,
                },
            })
            .collect();
        UserCredentials {
            source: CredentialSource::CredentialReport,
            as_of: report.generated_at,
            console_password,
            mfa_active: Some(row.mfa_active),
            access_keys: Some(access_keys),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct IdleCredential {
    /// `console password`, `access key AKIA…` or `access key 1`.
    pub credential: String,
    /// What `since` is: `last used`; `never used, set up` or `never used,
    /// created`; `set up again` (the password set after its last use,
    /// which `last_used` gives).
    pub basis: &'static str,
    pub since: DateTime<Utc>,
    /// Whole days from `since` to the moment the snapshot was collected.
    pub idle_days: i64,
    pub last_used: Option<DateTime<Utc>>,
}

impl UserFacts {
    pub fn of(user: &IamUser, report: Option<&ReportLookup<'_>>, now: DateTime<Utc>) -> UserFacts {
        let credentials = UserCredentials::of(user, report);
        let idle = |credential: String,
                    basis: &'static str,
                    since: Option<DateTime<Utc>>,
                    last_used: Option<DateTime<Utc>>| match since {
            Some(since) => Ok(IdleCredential {
                basis,
                since,
                idle_days: (now - since).num_days(),
                last_used,
                credential,
            }),
            None => Err(format!("{credential}: no date to count from")),
        };
        let mut idle_credentials = Vec::new();
        let password = || "console password".to_owned();
        match &credentials.console_password {
            None => idle_credentials.push(Err(
                "console password: whether there is one could not be read".to_owned(),
            )),
            Some(ConsolePassword { enabled: false, .. }) => {}
            Some(ConsolePassword { set, last_used, .. }) => {
                idle_credentials.push(match (*last_used, *set) {
                    (None, set) => {
                        idle(password(), "never used, set up", set.or(user.created), None)
                    }
                    (Some(used), Some(set)) if set > used => {
                        idle(password(), "set up again", Some(set), Some(used))
                    }
                    (Some(used), _) => idle(password(), "last used", Some(used), None),
                });
            }
        }
        match &credentials.access_keys {
            None => idle_credentials.push(Err("access keys: they could not be listed".to_owned())),
            Some(keys) => {
                for key in keys.iter().filter(|key| key.active) {
                    let credential = key.name.clone();
                    idle_credentials.push(match &key.last_used {
                        None => Err(format!("{credential}: its last use could not be read")),
                        Some(last) => match last.date {
                            Some(date) => idle(credential, "last used", Some(date), None),
                            None => idle(credential, "never used, created", key.created, None),
                        },
                    });
                }
            }
        }
        let mut facts = UserFacts {
            credentials,
            idle_credentials: Vec::new(),
            idle_unknown: Vec::new(),
        };
        for credential in idle_credentials {
            match credential {
                Ok(known) => facts.idle_credentials.push(known),
                Err(unknown) => facts.idle_unknown.push(unknown),
            }
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::iam::{AccountSummary, CredentialReport, VirtualMfaDevice};

    fn summary(mfa: bool, keys: bool) -> AccountSummary {
        AccountSummary {
            account_mfa_enabled: mfa,
            account_access_keys_present: keys,
            ..AccountSummary::default()
        }
    }

    fn root_of(
        summary: Option<AccountSummary>,
        devices: Option<Vec<VirtualMfaDevice>>,
        report: Option<CredentialReport>,
    ) -> RootFacts {
        let account = AccountIdentity {
            account_id: "123456789012".to_owned(),
            partition: "aws".to_owned(),
            caller_arn: "arn:aws:iam::123456789012:user/audit".to_owned(),
        };
        let iam = IamAccount {
            summary,
            virtual_mfa_devices: devices,
            credential_report: report,
            ..IamAccount::default()
        };
        RootFacts::of(&account, &iam)
    }

    #[test]
    fn root_mfa_is_virtual_when_a_virtual_device_is_assigned_to_root_else_hardware() {
        let root_device = VirtualMfaDevice {
            serial_number: "arn:aws:iam::123456789012:mfa/root-account-mfa-device".to_owned(),
            user_arn: Some("arn:aws:iam::123456789012:root".to_owned()),
            enable_date: None,
        };
        let user_device = VirtualMfaDevice {
            serial_number: "arn:aws:iam::123456789012:mfa/alice".to_owned(),
            user_arn: Some("arn:aws:iam::123456789012:user/alice".to_owned()),
            enable_date: None,
        };
        let virtual_root = root_of(
            Some(summary(true, false)),
            Some(vec![user_device.clone(), root_device]),
            None,
        );
        assert_eq!(virtual_root.mfa_type, Some(MfaType::Virtual));
        assert_eq!(virtual_root.arn, "arn:aws:iam::123456789012:root");
        let hardware_root = root_of(Some(summary(true, true)), Some(vec![user_device]), None);
        assert_eq!(hardware_root.mfa_type, Some(MfaType::Hardware));
        assert_eq!(hardware_root.access_keys_present, Some(true));
        assert_eq!(
            root_of(Some(summary(false, false)), None, None).mfa_type,
            Some(MfaType::None)
        );
        let unknown = root_of(Some(summary(true, false)), None, None);
        assert_eq!((unknown.mfa_enabled, unknown.mfa_type), (Some(true), None));
        let nothing = root_of(None, None, None);
        assert_eq!(
            (nothing.mfa_enabled, nothing.access_keys_present),
            (None, None)
        );
    }

    #[test]
    fn without_the_summary_the_credential_report_decides() {
        let report = CredentialReport::parse(
            "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
             <root_account>,arn:aws:iam::123456789012:root,2019-03-01T10:00:00+00:00,not_supported,no_information,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n",
            None,
        )
        .expect("report parses");
        let root = root_of(None, Some(vec![]), Some(report));
        assert_eq!(root.mfa_enabled, Some(false));
        assert_eq!(root.mfa_type, Some(MfaType::None));
        assert_eq!(
            root.access_keys_present,
            Some(true),
            "the second key is active"
        );
        assert!(root.credentials.is_some());
    }
}

#[cfg(test)]
mod idle_tests {
    use super::*;
    use crate::snapshot::ResourceMeta;
    use crate::snapshot::iam::{AccessKey, AccessKeyLastUsed, VirtualMfaDevice};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("a time")
    }

    fn user(
        password_last_used: Option<&str>,
        console: Option<ConsoleAccess>,
        keys: Option<Vec<AccessKey>>,
    ) -> IamUser {
        IamUser {
            meta: ResourceMeta::default(),
            name: "bob".to_owned(),
            path: None,
            created: Some(at("2024-01-01T00:00:00Z")),
            password_last_used: password_last_used.map(at),
            console_access: console,
            mfa_devices: Some(vec![]),
            access_keys: keys,
        }
    }

    fn console(created: Option<&str>) -> Option<ConsoleAccess> {
        Some(ConsoleAccess::Enabled {
            created: created.map(at),
            password_reset_required: false,
        })
    }

    fn key(id: &str, status: &str, created: &str, last_used: Option<Option<&str>>) -> AccessKey {
        AccessKey {
            id: id.to_owned(),
            status: Some(status.to_owned()),
            created: Some(at(created)),
            last_used: last_used.map(|date| AccessKeyLastUsed {
                date: date.map(at),
                region: None,
                service: None,
            }),
        }
    }

    const NOW: &str = "2026-06-01T00:00:00Z";

    fn idle(user: &IamUser) -> Vec<(String, &'static str, i64)> {
        idle_of(&UserFacts::of(user, None, at(NOW)))
    }

    fn idle_of(facts: &UserFacts) -> Vec<(String, &'static str, i64)> {
        facts
            .idle_credentials
            .iter()
            .map(|c| (c.credential.clone(), c.basis, c.idle_days))
            .collect()
    }

    #[test]
    fn idle_days_count_whole_days_to_the_snapshot() {
        for (used, days) in [
            ("2026-04-16T00:00:00Z", 46),
            ("2026-04-17T00:00:00Z", 45),
            ("2026-04-17T00:00:01Z", 44),
            ("2026-04-18T00:00:00Z", 44),
        ] {
            let user = user(
                Some(used),
                console(Some("2024-01-01T00:00:00Z")),
                Some(vec![]),
            );
            assert_eq!(
                idle(&user),
                [("console password".to_owned(), "last used", days)]
            );
        }
    }

    #[test]
    fn the_console_counts_from_its_last_use_its_set_up_or_the_user() {
        let never = user(None, console(Some("2026-05-01T00:00:00Z")), Some(vec![]));
        assert_eq!(
            idle(&never),
            [("console password".to_owned(), "never used, set up", 31)]
        );
        let no_profile_date = user(None, console(None), Some(vec![]));
        assert_eq!(
            idle(&no_profile_date),
            [("console password".to_owned(), "never used, set up", 882)]
        );
        let again = user(
            Some("2025-01-01T00:00:00Z"),
            console(Some("2026-05-31T00:00:00Z")),
            Some(vec![]),
        );
        let facts = UserFacts::of(&again, None, at(NOW));
        assert_eq!(facts.idle_credentials[0].basis, "set up again");
        assert_eq!(facts.idle_credentials[0].idle_days, 1);
        assert_eq!(
            facts.idle_credentials[0].last_used,
            Some(at("2025-01-01T00:00:00Z"))
        );
        let disabled = user(
            Some("2020-01-01T00:00:00Z"),
            Some(ConsoleAccess::Disabled),
            Some(vec![]),
        );
        assert_eq!(idle(&disabled), []);
    }

    #[test]
    fn active_keys_count_from_their_last_use_else_their_creation_and_unknowns_are_named() {
        let keys = vec![
            key(
                "AKIA1",
                "Active",
                "2026-01-01T00:00:00Z",
                Some(Some("2026-05-01T00:00:00Z")),
            ),
            key("AKIA2", "Active", "2026-05-02T00:00:00Z", Some(None)),
            key("AKIA3", "Inactive", "2020-01-01T00:00:00Z", Some(None)),
            key("AKIA4", "Active", "2020-01-01T00:00:00Z", None),
        ];
        let user = user(None, Some(ConsoleAccess::Disabled), Some(keys));
        let facts = UserFacts::of(&user, None, at(NOW));
        assert_eq!(
            idle(&user),
            [
                ("access key AKIA1".to_owned(), "last used", 31),
                ("access key AKIA2".to_owned(), "never used, created", 30),
            ]
        );
        assert_eq!(
            facts.idle_unknown,
            ["access key AKIA4: its last use could not be read"]
        );
        let unread = UserFacts::of(&super::idle_tests::user(None, None, None), None, at(NOW));
        assert_eq!(
            unread.idle_unknown,
            [
                "console password: whether there is one could not be read",
                "access keys: they could not be listed"
            ]
        );
    }

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    /// bob, created 2024-01-01: a password set in 2025 and last used in
    /// April 2026, no MFA, an inactive first key, an active second key
    /// never used.
    fn report() -> CredentialReport {
        CredentialReport::parse(
            &format!(
                "{HEADER}\nbob,arn:aws:iam::123456789012:user/bob,2024-01-01T00:00:00+00:00,true,2026-04-01T00:00:00+00:00,2025-01-01T00:00:00+00:00,N/A,false,false,2024-01-02T00:00:00+00:00,2024-02-01T00:00:00+00:00,us-east-1,s3,true,2026-05-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n"
            ),
            Some(at("2026-05-31T22:00:00Z")),
        )
        .expect("report parses")
    }

    fn with_report(report: CredentialReport) -> IamAccount {
        IamAccount {
            credential_report: Some(report),
            ..IamAccount::default()
        }
    }

    fn listed_bob(created: &str) -> IamUser {
        IamUser {
            meta: ResourceMeta::new(
                "AIDABOB".to_owned(),
                "arn:aws:iam::123456789012:user/bob".to_owned(),
                "global",
            ),
            created: Some(at(created)),
            console_access: None,
            mfa_devices: None,
            access_keys: None,
            ..user(None, None, None)
        }
    }

    #[test]
    fn the_credential_report_answers_for_a_user_it_lists() {
        let report = report();
        let facts = UserFacts::of(
            &listed_bob("2024-01-01T00:00:00.400Z"),
            with_report(report.clone()).report_lookup().as_ref(),
            at(NOW),
        );
        let credentials = &facts.credentials;
        assert_eq!(credentials.source, CredentialSource::CredentialReport);
        assert_eq!(credentials.as_of, Some(at("2026-05-31T22:00:00Z")));
        assert_eq!(
            credentials.console_password,
            Some(ConsolePassword {
                enabled: true,
                set: Some(at("2025-01-01T00:00:00Z")),
                last_used: Some(at("2026-04-01T00:00:00Z")),
            })
        );
        assert_eq!(credentials.mfa_active, Some(false));
        let keys = credentials.access_keys.as_ref().expect("keys known");
        assert_eq!(
            keys.iter()
                .map(|k| (
                    k.name.as_str(),
                    k.active,
                    k.last_used.as_ref().map(|u| u.date)
                ))
                .collect::<Vec<_>>(),
            [
                (
                    "access key 1",
                    false,
                    Some(Some(at("2024-02-01T00:00:00Z")))
                ),
                ("access key 2", true, Some(None)),
            ]
        );
        assert_eq!(
            idle_of(&facts),
            [
                ("console password".to_owned(), "last used", 61),
                ("access key 2".to_owned(), "never used, created", 30),
            ]
        );
    }

    #[test]
    fn a_user_the_report_does_not_list_is_read_from_its_own_calls() {
        let report = report();
        // Deleted and created again under the same name since the report.
        let recreated = listed_bob("2026-05-31T23:00:00Z");
        let facts = UserFacts::of(
            &recreated,
            with_report(report.clone()).report_lookup().as_ref(),
            at(NOW),
        );
        assert_eq!(facts.credentials.source, CredentialSource::UserCalls);
        assert_eq!(facts.credentials.console_password, None);
        assert_eq!(facts.credentials.mfa_active, None);
        assert_eq!(facts.credentials.access_keys, None);
        assert_eq!(facts.idle_unknown.len(), 2);
        // Per-user data, where the calls were made, wins over the report.
        let asked = IamUser {
            mfa_devices: Some(vec![]),
            ..user(None, Some(ConsoleAccess::Disabled), Some(vec![]))
        };
        let asked = IamUser {
            meta: listed_bob("2024-01-01T00:00:00Z").meta,
            ..asked
        };
        let facts = UserFacts::of(
            &asked,
            with_report(report.clone()).report_lookup().as_ref(),
            at(NOW),
        );
        assert_eq!(facts.credentials.source, CredentialSource::UserCalls);
        assert_eq!(facts.credentials.access_keys, Some(vec![]));
    }

    #[test]
    fn a_row_live_data_contradicts_is_not_used() {
        let bob = listed_bob("2024-01-01T00:00:00Z");
        // A virtual MFA device assigned since the report, whose row has none.
        let mut iam = with_report(report());
        iam.virtual_mfa_devices = Some(vec![VirtualMfaDevice {
            serial_number: "arn:aws:iam::123456789012:mfa/bob".to_owned(),
            user_arn: Some(bob.meta.arn.clone()),
            enable_date: None,
        }]);
        assert_eq!(
            UserCredentials::of(&bob, iam.report_lookup().as_ref()).source,
            CredentialSource::UserCalls
        );
        // A password used after the report was generated, where the row
        // has none; one used before it contradicts nothing.
        let no_password = CredentialReport::parse(
            &format!(
                "{HEADER}\nbob,arn:aws:iam::123456789012:user/bob,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
            ),
            Some(at("2026-05-31T22:00:00Z")),
        )
        .expect("report parses");
        let used_since = IamUser {
            password_last_used: Some(at("2026-05-31T23:00:00Z")),
            ..bob.clone()
        };
        assert_eq!(
            UserCredentials::of(
                &used_since,
                with_report(no_password.clone()).report_lookup().as_ref()
            )
            .source,
            CredentialSource::UserCalls
        );
        let used_before = IamUser {
            password_last_used: Some(at("2026-05-01T00:00:00Z")),
            ..bob
        };
        assert_eq!(
            UserCredentials::of(
                &used_before,
                with_report(no_password).report_lookup().as_ref()
            )
            .source,
            CredentialSource::CredentialReport
        );
    }
}
