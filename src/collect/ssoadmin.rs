//! IAM Identity Center collector (SSO Admin), per region: instances,
//! permission sets with their policies, and their assignments to the
//! scanned account.

use aws_sdk_ssoadmin::Client;
use aws_sdk_ssoadmin::types as aws;

use super::{Scope, to_utc};
use crate::snapshot::ResourceMeta;
use crate::snapshot::ssoadmin::*;

pub async fn collect_region(client: &Client, scope: &Scope<'_>) -> IdentityCenterRegion {
    let Some(listed) = scope
        .call(
            client
                .list_instances()
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await
    else {
        return IdentityCenterRegion::default();
    };
    let mut instances = Vec::with_capacity(listed.len());
    for instance in listed {
        let Some(arn) = instance.instance_arn.clone() else {
            continue;
        };
        instances.push(SsoInstance {
            meta: ResourceMeta::new(last_segment(&arn), arn.clone(), scope.region),
            name: instance.name,
            identity_store_id: instance.identity_store_id,
            owner_account_id: instance.owner_account_id,
            status: instance.status.map(|s| s.as_str().to_owned()),
            created: to_utc(instance.created_date),
            permission_sets: permission_sets(client, scope, &arn).await,
        });
    }
    IdentityCenterRegion { instances }
}

async fn permission_sets(client: &Client, scope: &Scope<'_>, instance: &str) -> Vec<PermissionSet> {
    let Some(arns) = scope
        .call(
            client
                .list_permission_sets()
                .instance_arn(instance)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await
    else {
        return Vec::new();
    };
    let mut sets = Vec::with_capacity(arns.len());
    for arn in arns {
        sets.push(permission_set(client, scope, instance, arn).await);
    }
    sets
}

async fn permission_set(
    client: &Client,
    scope: &Scope<'_>,
    instance: &str,
    arn: String,
) -> PermissionSet {
    let scope = &scope.about(&arn);
    let (described, managed, inline, assignments) = tokio::join!(
        scope.call(
            client
                .describe_permission_set()
                .instance_arn(instance)
                .permission_set_arn(&arn)
                .send(),
        ),
        scope.call(
            client
                .list_managed_policies_in_permission_set()
                .instance_arn(instance)
                .permission_set_arn(&arn)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        ),
        scope.call(
            client
                .get_inline_policy_for_permission_set()
                .instance_arn(instance)
                .permission_set_arn(&arn)
                .send(),
        ),
        scope.call(
            client
                .list_account_assignments()
                .instance_arn(instance)
                .account_id(&scope.account.account_id)
                .permission_set_arn(&arn)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        ),
    );
    let details = described.and_then(|output| output.permission_set);
    let managed_policy_arns: Option<Vec<String>> = managed.map(|policies| {
        policies
            .into_iter()
            .filter_map(|policy: aws::AttachedManagedPolicy| policy.arn)
            .collect()
    });
    // The API answers an empty string when the permission set has none.
    let inline_policy = inline.map(|output| match output.inline_policy {
        Some(document) if !document.is_empty() => InlinePolicy::Set(document),
        _ => InlinePolicy::None,
    });
    PermissionSet {
        meta: ResourceMeta::new(last_segment(&arn), arn.clone(), scope.region),
        name: details.as_ref().and_then(|d| d.name.clone()),
        description: details.as_ref().and_then(|d| d.description.clone()),
        session_duration: details.and_then(|d| d.session_duration),
        managed_policy_arns,
        inline_policy,
        account_assignments: assignments.map(|assignments| {
            assignments
                .into_iter()
                .map(|assignment: aws::AccountAssignment| AccountAssignment {
                    principal_type: assignment.principal_type.map(|t| t.as_str().to_owned()),
                    principal_id: assignment.principal_id,
                })
                .collect()
        }),
    }
}

/// The id at the end of an Identity Center ARN (`ssoins-…`, `ps-…`).
fn last_segment(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}
