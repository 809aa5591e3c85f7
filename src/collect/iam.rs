//! IAM collector (global, once per scan): account summary, virtual MFA
//! devices, password policy, the credential report, and every user with
//! its tags, plus console, MFA and access key state for the users the
//! report does not cover.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::types as aws;
use futures::StreamExt;

use super::{Scope, to_utc};
use crate::snapshot::ResourceMeta;
use crate::snapshot::iam::*;

type Tags = BTreeMap<String, String>;

/// Per-user calls run this many users at a time: IAM's request rate limit
/// is account-wide, so more would only earn throttling.
const USER_CONCURRENCY: usize = 8;
/// The most items IAM returns per page; fewer pages, fewer calls.
const PAGE_SIZE: i32 = 1000;
/// GenerateCredentialReport is polled until the report is complete, with
/// backoff from the first delay up to the cap, for at most the deadline.
const REPORT_FIRST_DELAY: Duration = Duration::from_millis(250);
const REPORT_MAX_DELAY: Duration = Duration::from_secs(4);
const REPORT_DEADLINE: Duration = Duration::from_secs(120);

pub async fn collect(client: &Client, scope: &Scope<'_>) -> IamAccount {
    let (summary, virtual_mfa_devices, password_policy, credential_report, listed, tags) = tokio::join!(
        account_summary(client, scope),
        virtual_mfa_devices(client, scope),
        password_policy(client, scope),
        credential_report(client, scope),
        list_users(client, scope),
        user_tags(client, scope),
    );
    let users = match listed {
        Some(listed) => {
            users(
                client,
                scope,
                listed,
                credential_report.as_ref(),
                virtual_mfa_devices.as_deref(),
                tags.as_ref(),
            )
            .await
        }
        None => Vec::new(),
    };
    IamAccount {
        summary,
        virtual_mfa_devices,
        password_policy,
        credential_report,
        users,
    }
}

async fn account_summary(client: &Client, scope: &Scope<'_>) -> Option<AccountSummary> {
    let output = scope.call(client.get_account_summary().send()).await?;
    let map = output.summary_map.unwrap_or_default();
    let get = |key: aws::SummaryKeyType| map.get(&key).copied().unwrap_or(0);
    Some(AccountSummary {
        account_mfa_enabled: get(aws::SummaryKeyType::AccountMfaEnabled) > 0,
        account_access_keys_present: get(aws::SummaryKeyType::AccountAccessKeysPresent) > 0,
        account_signing_certificates_present: get(
            aws::SummaryKeyType::AccountSigningCertificatesPresent,
        ) > 0,
        users: get(aws::SummaryKeyType::Users).into(),
        groups: get(aws::SummaryKeyType::Groups).into(),
        roles: get(aws::SummaryKeyType::Roles).into(),
        policies: get(aws::SummaryKeyType::Policies).into(),
        mfa_devices: get(aws::SummaryKeyType::MfaDevices).into(),
        mfa_devices_in_use: get(aws::SummaryKeyType::MfaDevicesInUse).into(),
    })
}

async fn virtual_mfa_devices(client: &Client, scope: &Scope<'_>) -> Option<Vec<VirtualMfaDevice>> {
    let devices = scope
        .call(
            client
                .list_virtual_mfa_devices()
                .assignment_status(aws::AssignmentStatusType::Assigned)
                .into_paginator()
                .page_size(PAGE_SIZE)
                .items()
                .send()
                .try_collect(),
        )
        .await?;
    Some(
        devices
            .into_iter()
            .map(|device| VirtualMfaDevice {
                serial_number: device.serial_number,
                user_arn: device.user.map(|user| user.arn),
                enable_date: to_utc(device.enable_date),
            })
            .collect(),
    )
}

async fn password_policy(client: &Client, scope: &Scope<'_>) -> Option<PasswordPolicyState> {
    let output = scope
        .call_allowing_absent(client.get_account_password_policy().send(), |e| {
            e.is_no_such_entity_exception()
        })
        .await?;
    let Some(policy) = output.and_then(|output| output.password_policy) else {
        return Some(PasswordPolicyState::NotSet);
    };
    Some(PasswordPolicyState::Set(PasswordPolicy {
        minimum_password_length: policy.minimum_password_length,
        require_symbols: policy.require_symbols,
        require_numbers: policy.require_numbers,
        require_uppercase_characters: policy.require_uppercase_characters,
        require_lowercase_characters: policy.require_lowercase_characters,
        allow_users_to_change_password: policy.allow_users_to_change_password,
        expire_passwords: policy.expire_passwords,
        max_password_age: policy.max_password_age,
        password_reuse_prevention: policy.password_reuse_prevention,
        hard_expiry: policy.hard_expiry.unwrap_or(false),
    }))
}

/// Asks IAM to (re)generate the report, waits until it is complete, then
/// downloads and parses it.
async fn credential_report(client: &Client, scope: &Scope<'_>) -> Option<CredentialReport> {
    let started = tokio::time::Instant::now();
    let mut delay = REPORT_FIRST_DELAY;
    loop {
        let (output, operation) = scope
            .call_named(client.generate_credential_report().send())
            .await?;
        if output.state == Some(aws::ReportStateType::Complete) {
            break;
        }
        if started.elapsed() >= REPORT_DEADLINE {
            scope.record_failure(
                &operation,
                "Timeout",
                format!(
                    "the credential report was not complete after {}s",
                    REPORT_DEADLINE.as_secs()
                ),
            );
            return None;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(REPORT_MAX_DELAY);
    }

    let (output, operation) = scope
        .call_named(client.get_credential_report().send())
        .await?;
    let content = output
        .content
        .map(|blob| blob.into_inner())
        .unwrap_or_default();
    let text = match String::from_utf8(content) {
        Ok(text) => text,
        Err(err) => {
            scope.record_failure(
                &operation,
                "MalformedCredentialReport",
                format!("the report is not UTF-8: {err}"),
            );
            return None;
        }
    };
    match CredentialReport::parse(&text, to_utc(output.generated_time)) {
        Ok(report) => Some(report),
        Err(err) => {
            scope.record_failure(&operation, "MalformedCredentialReport", err.to_string());
            None
        }
    }
}

async fn list_users(client: &Client, scope: &Scope<'_>) -> Option<Vec<aws::User>> {
    scope
        .call(
            client
                .list_users()
                .into_paginator()
                .page_size(PAGE_SIZE)
                .items()
                .send()
                .try_collect(),
        )
        .await
}

/// Every user's tags by user id, from GetAccountAuthorizationDetails: one
/// call per thousand users where ListUserTags takes one per user.
async fn user_tags(client: &Client, scope: &Scope<'_>) -> Option<HashMap<String, Tags>> {
    let pages: Vec<_> = scope
        .call(
            client
                .get_account_authorization_details()
                .filter(aws::EntityType::User)
                .into_paginator()
                .page_size(PAGE_SIZE)
                .send()
                .try_collect(),
        )
        .await?;
    Some(
        pages
            .into_iter()
            .flat_map(|page| page.user_detail_list.unwrap_or_default())
            .filter_map(|user| Some((user.user_id?, tags_of(user.tags.unwrap_or_default()))))
            .collect(),
    )
}

fn tags_of(tags: Vec<aws::Tag>) -> Tags {
    tags.into_iter().map(|tag| (tag.key, tag.value)).collect()
}

/// Per-user calls are made only for what the credential report and the
/// account-wide listings do not answer: the console password, MFA devices
/// and access keys of a user the report does not describe
/// (`ReportLookup::row_for`), and the tags of a user the authorization
/// details left out.
async fn users(
    client: &Client,
    scope: &Scope<'_>,
    listed: Vec<aws::User>,
    report: Option<&CredentialReport>,
    virtual_mfa_devices: Option<&[VirtualMfaDevice]>,
    tags: Option<&HashMap<String, Tags>>,
) -> Vec<IamUser> {
    let lookup = report.map(|report| ReportLookup::new(report, virtual_mfa_devices));
    let mut users: Vec<IamUser> = futures::stream::iter(listed)
        .map(|listed| {
            let user = IamUser {
                meta: ResourceMeta::new(listed.user_id, listed.arn, GLOBAL_REGION),
                name: listed.user_name,
                path: Some(listed.path),
                created: to_utc(Some(listed.create_date)),
                password_last_used: to_utc(listed.password_last_used),
                console_access: None,
                mfa_devices: None,
                access_keys: None,
            };
            let described = lookup
                .as_ref()
                .is_some_and(|lookup| lookup.row_for(&user).is_some());
            let tags = tags.and_then(|tags| tags.get(&user.meta.id)).cloned();
            user_details(client, scope, user, described, tags)
        })
        .buffer_unordered(USER_CONCURRENCY)
        .collect()
        .await;
    users.sort_by(|a, b| a.name.cmp(&b.name));
    users
}

async fn user_details(
    client: &Client,
    scope: &Scope<'_>,
    user: IamUser,
    described: bool,
    tags: Option<Tags>,
) -> IamUser {
    let scope = &scope.about(&user.meta.arn);
    let name = user.name.as_str();
    let credentials = async {
        if described {
            return (None, None, None);
        }
        tokio::join!(
            console_access(client, scope, name),
            mfa_devices(client, scope, name),
            access_keys(client, scope, name),
        )
    };
    let tags = async {
        match tags {
            Some(tags) => tags,
            None => scope
                .call(
                    client
                        .list_user_tags()
                        .user_name(name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect(),
                )
                .await
                .map(tags_of)
                .unwrap_or_default(),
        }
    };
    let ((console_access, mfa_devices, access_keys), tags) = tokio::join!(credentials, tags);
    IamUser {
        meta: ResourceMeta { tags, ..user.meta },
        console_access,
        mfa_devices,
        access_keys,
        ..user
    }
}

async fn mfa_devices(client: &Client, scope: &Scope<'_>, user: &str) -> Option<Vec<MfaDevice>> {
    let devices: Vec<aws::MfaDevice> = scope
        .call(
            client
                .list_mfa_devices()
                .user_name(user)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await?;
    Some(
        devices
            .into_iter()
            .map(|device| MfaDevice {
                serial_number: device.serial_number,
                enable_date: to_utc(Some(device.enable_date)),
            })
            .collect(),
    )
}

/// A login profile means a console password; NoSuchEntity means none.
async fn console_access(client: &Client, scope: &Scope<'_>, user: &str) -> Option<ConsoleAccess> {
    let output = scope
        .call_allowing_absent(client.get_login_profile().user_name(user).send(), |e| {
            e.is_no_such_entity_exception()
        })
        .await?;
    Some(match output.and_then(|output| output.login_profile) {
        Some(profile) => ConsoleAccess::Enabled {
            created: to_utc(Some(profile.create_date)),
            password_reset_required: profile.password_reset_required,
        },
        None => ConsoleAccess::Disabled,
    })
}

async fn access_keys(client: &Client, scope: &Scope<'_>, user: &str) -> Option<Vec<AccessKey>> {
    let keys = scope
        .call(
            client
                .list_access_keys()
                .user_name(user)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await?;
    let mut collected = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(id) = key.access_key_id else {
            continue;
        };
        let last_used = scope
            .call(client.get_access_key_last_used().access_key_id(&id).send())
            .await
            .map(|output| {
                let used = output.access_key_last_used;
                // IAM says `N/A` for the region and service of a key never used.
                let known = |text: String| (text != "N/A" && !text.is_empty()).then_some(text);
                AccessKeyLastUsed {
                    date: to_utc(used.as_ref().and_then(|u| u.last_used_date)),
                    region: used.as_ref().and_then(|u| known(u.region.clone())),
                    service: used.and_then(|u| known(u.service_name)),
                }
            });
        collected.push(AccessKey {
            id,
            status: key.status.map(|s| s.as_str().to_owned()),
            created: to_utc(key.create_date),
            last_used,
        });
    }
    Some(collected)
}
