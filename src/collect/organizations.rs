//! AWS Organizations: the organization's ACTIVE accounts with their place
//! in the OU tree, for `rampart org accounts`. The tree is walked from the
//! root (or the OUs asked for) down, one listing per OU, so an account's
//! OU path costs no call of its own. Unlike a scan, a listing that fails
//! stops the run: a partial list of accounts would silently leave
//! accounts unscanned.

use std::collections::BTreeMap;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{AccountState, AccountStatus, ParentType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::ledger::describe_error;
use crate::error::CollectError;
use crate::org::accounts::OrgAccount;

/// Deeper than Organizations allows (five levels of OUs below the root).
const MAX_DEPTH: usize = 8;

/// The organization and its accounts as listed.
pub struct Listing {
    pub organization_id: String,
    pub management_account_id: String,
    /// ACTIVE accounts under the starting points, sorted by id.
    pub accounts: Vec<OrgAccount>,
}

fn failed<E>(operation: &'static str) -> impl FnOnce(SdkError<E, HttpResponse>) -> CollectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |err| {
        let (code, message) = describe_error(&err);
        CollectError::Organizations {
            operation,
            message: format!("{code}: {message}"),
        }
    }
}

fn malformed(operation: &'static str, what: &str) -> CollectError {
    CollectError::Organizations {
        operation,
        message: format!("MalformedResponse: {what}"),
    }
}

/// Lists the organization's ACTIVE accounts, all of them or those under
/// `units` (organizational unit ids, each with everything below it).
pub async fn list(client: &Client, units: &[String]) -> Result<Listing, CollectError> {
    let organization = client
        .describe_organization()
        .send()
        .await
        .map_err(failed("DescribeOrganization"))?
        .organization
        .ok_or_else(|| malformed("DescribeOrganization", "no organization in the answer"))?;
    let (Some(organization_id), Some(management_account_id)) =
        (organization.id, organization.master_account_id)
    else {
        return Err(malformed(
            "DescribeOrganization",
            "the organization has no id or management account id",
        ));
    };

    // Where the walk starts: (parent id, path of names down to it).
    let mut pending: Vec<(String, Vec<String>)> = Vec::new();
    if units.is_empty() {
        for root in roots(client).await? {
            pending.push((root.0, vec![root.1]));
        }
    } else {
        for unit in units {
            pending.push((unit.clone(), path_to(client, unit).await?));
        }
    }

    let mut accounts: BTreeMap<String, OrgAccount> = BTreeMap::new();
    while let Some((parent, path)) = pending.pop() {
        let pages: Vec<_> = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(failed("ListAccountsForParent"))?;
        for account in pages
            .into_iter()
            .flat_map(|page| page.accounts.unwrap_or_default())
        {
            let operation = "ListAccountsForParent";
            let id = account
                .id
                .clone()
                .ok_or_else(|| malformed(operation, "an account without an id"))?;
            if !is_active(&account.state, &account.status)
                .ok_or_else(|| malformed(operation, &format!("account {id} has no state")))?
            {
                tracing::info!(account = id, "not ACTIVE, left out");
                continue;
            }
            let (Some(name), Some(email)) = (account.name, account.email) else {
                return Err(malformed(
                    operation,
                    &format!("account {id} has no name or email"),
                ));
            };
            accounts.insert(
                id.clone(),
                OrgAccount {
                    management: id == management_account_id,
                    id,
                    name,
                    email,
                    ou_path: path.clone(),
                    parent_id: parent.clone(),
                },
            );
        }
        let pages: Vec<_> = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(failed("ListOrganizationalUnitsForParent"))?;
        let children = pages
            .into_iter()
            .flat_map(|page| page.organizational_units.unwrap_or_default());
        for child in children {
            let (Some(id), Some(name)) = (child.id, child.name) else {
                return Err(malformed(
                    "ListOrganizationalUnitsForParent",
                    "an organizational unit without an id or name",
                ));
            };
            let mut child_path = path.clone();
            child_path.push(name);
            pending.push((id, child_path));
        }
    }
    Ok(Listing {
        organization_id,
        management_account_id,
        accounts: accounts.into_values().collect(),
    })
}

/// `State` where the answer has it (it replaces the deprecated `Status`);
/// `None` when it has neither.
fn is_active(state: &Option<AccountState>, status: &Option<AccountStatus>) -> Option<bool> {
    match (state, status) {
        (Some(state), _) => Some(*state == AccountState::Active),
        (None, Some(status)) => Some(*status == AccountStatus::Active),
        (None, None) => None,
    }
}

/// The organization's roots: (id, name).
async fn roots(client: &Client) -> Result<Vec<(String, String)>, CollectError> {
    let pages: Vec<_> = client
        .list_roots()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(failed("ListRoots"))?;
    pages
        .into_iter()
        .flat_map(|page| page.roots.unwrap_or_default())
        .map(|root| match (root.id, root.name) {
            (Some(id), Some(name)) => Ok((id, name)),
            _ => Err(malformed("ListRoots", "a root without an id or name")),
        })
        .collect()
}

/// The names from the root down to the organizational unit `unit`,
/// itself included.
async fn path_to(client: &Client, unit: &str) -> Result<Vec<String>, CollectError> {
    let mut path = Vec::new();
    let mut current = unit.to_owned();
    let roots = roots(client).await?;
    loop {
        if let Some((_, name)) = roots.iter().find(|(id, _)| *id == current) {
            path.push(name.clone());
            break;
        }
        // Organizations nests at most five levels below the root; an answer
        // that goes on is not a tree.
        if path.len() > MAX_DEPTH {
            return Err(malformed(
                "ListParents",
                &format!("{unit} is more than {MAX_DEPTH} levels below any root"),
            ));
        }
        let name = client
            .describe_organizational_unit()
            .organizational_unit_id(&current)
            .send()
            .await
            .map_err(failed("DescribeOrganizationalUnit"))?
            .organizational_unit
            .and_then(|unit| unit.name)
            .ok_or_else(|| {
                malformed(
                    "DescribeOrganizationalUnit",
                    &format!("organizational unit {current} has no name"),
                )
            })?;
        path.push(name);
        let parents = client
            .list_parents()
            .child_id(&current)
            .send()
            .await
            .map_err(failed("ListParents"))?
            .parents
            .unwrap_or_default();
        let Some(parent) = parents.into_iter().next() else {
            return Err(malformed(
                "ListParents",
                &format!("organizational unit {current} has no parent"),
            ));
        };
        match (parent.id, parent.r#type) {
            (Some(id), Some(ParentType::Root | ParentType::OrganizationalUnit)) => current = id,
            _ => {
                return Err(malformed(
                    "ListParents",
                    &format!("the parent of {current} has no id or type"),
                ));
            }
        }
    }
    path.reverse();
    Ok(path)
}
