//! IAM collector (global, once per scan): account summary, virtual MFA
//! devices, password policy, the credential report, and every user with
//! console, MFA and access key state.

use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::types as aws;
use futures::StreamExt;

use super::{Scope, to_utc};
use crate::snapshot::ResourceMeta;
use crate::snapshot::iam::*;

/// Per-user calls run this many users at a time: IAM's request rate limit
/// is account-wide, so more would only earn throttling.
const USER_CONCURRENCY: usize = 8;
/// GenerateCredentialReport is polled until the report is complete, with
/// backoff from the first delay up to the cap, for at most the deadline.
const REPORT_FIRST_DELAY: Duration = Duration::from_millis(250);
const REPORT_MAX_DELAY: Duration = Duration::from_secs(4);
const REPORT_DEADLINE: Duration = Duration::from_secs(120);

pub async fn collect(client: &Client, scope: &Scope<'_>) -> IamAccount {
    let (summary, virtual_mfa_devices, password_policy, credential_report, users) = tokio::join!(
        account_summary(client, scope),
        virtual_mfa_devices(client, scope),
        password_policy(client, scope),
        credential_report(client, scope),
        users(client, scope),
    );
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

async fn users(client: &Client, scope: &Scope<'_>) -> Vec<IamUser> {
    let Some(listed) = scope
        .call(
            client
                .list_users()
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await
    else {
        return Vec::new();
    };
    let mut users: Vec<IamUser> = futures::stream::iter(listed)
        .map(|user| user_details(client, scope, user))
        .buffer_unordered(USER_CONCURRENCY)
        .collect()
        .await;
    users.sort_by(|a, b| a.name.cmp(&b.name));
    users
}

async fn user_details(client: &Client, scope: &Scope<'_>, user: aws::User) -> IamUser {
    let name = user.user_name.clone();
    let arn = user.arn.clone();
    let scope = &scope.about(&arn);
    // ListUsers leaves tags out; ListUserTags has them.
    let (console_access, mfa_devices, access_keys, tags) = tokio::join!(
        console_access(client, scope, &name),
        scope.call(
            client
                .list_mfa_devices()
                .user_name(&name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        ),
        access_keys(client, scope, &name),
        scope.call(
            client
                .list_user_tags()
                .user_name(&name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        ),
    );
    IamUser {
        meta: ResourceMeta {
            tags: tags
                .unwrap_or_default()
                .into_iter()
                .map(|tag: aws::Tag| (tag.key, tag.value))
                .collect(),
            ..ResourceMeta::new(user.user_id, user.arn, GLOBAL_REGION)
        },
        name: name.clone(),
        path: Some(user.path),
        created: to_utc(Some(user.create_date)),
        password_last_used: to_utc(user.password_last_used),
        console_access,
        mfa_devices: mfa_devices.map(|devices: Vec<aws::MfaDevice>| {
            devices
                .into_iter()
                .map(|device| MfaDevice {
                    serial_number: device.serial_number,
                    enable_date: to_utc(Some(device.enable_date)),
                })
                .collect()
        }),
        access_keys,
    }
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
