//! IAM Identity Center as the account sees it: the instances found in any
//! region, and which permission sets grant administrator rights, from their
//! managed policies and inline policy documents.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use chrono::{DateTime, Utc};

use crate::snapshot::ssoadmin::{InlinePolicy, PermissionSet, SsoInstance};
use crate::snapshot::{ResourceMeta, Snapshot};

/// An instance with every permission set's derived facts, for the account
/// resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct InstanceFacts {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub name: Option<String>,
    pub identity_store_id: Option<String>,
    pub owner_account_id: Option<String>,
    pub status: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub permission_sets: Vec<PermissionSetFacts>,
}

/// A permission set as collected, and what its policies grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PermissionSetFacts {
    #[serde(flatten)]
    pub set: PermissionSet,
    /// Whether the inline policy allows every action on every resource
    /// without conditions; `null` when it could not be read.
    pub inline_policy_allows_everything: Option<bool>,
    /// AdministratorAccess attached, or an inline policy allowing `*` on
    /// `*`; `null` when a policy could not be read and the other did not
    /// grant.
    pub grants_administrator: Option<bool>,
}

/// Every Identity Center instance of the snapshot, regions in name order.
pub fn instances(snapshot: &Snapshot) -> Vec<InstanceFacts> {
    snapshot
        .regions
        .values()
        .flat_map(|region| &region.identity_center.instances)
        .map(InstanceFacts::of)
        .collect()
}

impl InstanceFacts {
    fn of(instance: &SsoInstance) -> InstanceFacts {
        InstanceFacts {
            meta: instance.meta.clone(),
            name: instance.name.clone(),
            identity_store_id: instance.identity_store_id.clone(),
            owner_account_id: instance.owner_account_id.clone(),
            status: instance.status.clone(),
            created: instance.created,
            permission_sets: instance
                .permission_sets
                .iter()
                .map(PermissionSetFacts::of)
                .collect(),
        }
    }
}

impl PermissionSetFacts {
    fn of(set: &PermissionSet) -> PermissionSetFacts {
        let inline_policy_allows_everything =
            set.inline_policy.as_ref().map(|policy| match policy {
                InlinePolicy::None => false,
                InlinePolicy::Set(document) => allows_everything(document),
            });
        let attaches_administrator = set.managed_policy_arns.as_ref().map(|arns| {
            arns.iter()
                .any(|policy| policy.ends_with(":iam::aws:policy/AdministratorAccess"))
        });
        // Either source granting is enough; a source that could not be read
        // only matters when the other did not grant.
        let grants_administrator = match (attaches_administrator, inline_policy_allows_everything) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        };
        PermissionSetFacts {
            set: set.clone(),
            inline_policy_allows_everything,
            grants_administrator,
        }
    }
}

/// Whether an IAM policy document has a statement allowing every action
/// on every resource without conditions: administrator in all but name. A
/// document that is not JSON grants nothing IAM would accept.
fn allows_everything(policy: &str) -> bool {
    let Ok(document) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    };
    let includes_star = |value: Option<&Value>| match value {
        Some(Value::String(text)) => text == "*",
        Some(Value::Array(items)) => items.iter().any(|item| item == "*"),
        _ => false,
    };
    statements.into_iter().any(|statement| {
        statement.get("Effect").and_then(Value::as_str) == Some("Allow")
            && statement.get("Condition").is_none()
            && includes_star(statement.get("Action"))
            && includes_star(statement.get("Resource"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unconditional_allow_of_everything_counts_as_administrator() {
        assert!(allows_everything(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#
        ));
        assert!(allows_everything(
            r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":["ec2:*","*"],"Resource":["*"]}]}"#
        ));
        assert!(!allows_everything(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        ));
        assert!(!allows_everything(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#
        ));
        assert!(!allows_everything("not json"));
    }

    fn set(managed: Option<&[&str]>, inline: Option<InlinePolicy>) -> PermissionSetFacts {
        PermissionSetFacts::of(&PermissionSet {
            meta: ResourceMeta::default(),
            name: None,
            description: None,
            session_duration: None,
            managed_policy_arns: managed.map(|arns| arns.iter().map(|a| (*a).to_owned()).collect()),
            inline_policy: inline,
            account_assignments: None,
        })
    }

    #[test]
    fn either_policy_granting_is_enough_and_an_unread_one_is_unknown_otherwise() {
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        let everything = || {
            InlinePolicy::Set(
                r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#.to_owned(),
            )
        };
        assert_eq!(set(Some(&[admin]), None).grants_administrator, Some(true));
        assert_eq!(
            set(None, Some(everything())).grants_administrator,
            Some(true)
        );
        assert_eq!(
            set(Some(&[]), Some(InlinePolicy::None)).grants_administrator,
            Some(false)
        );
        assert_eq!(set(Some(&[]), None).grants_administrator, None);
        assert_eq!(
            set(None, Some(InlinePolicy::None)).grants_administrator,
            None
        );
        assert_eq!(
            set(Some(&[]), Some(InlinePolicy::None)).inline_policy_allows_everything,
            Some(false)
        );
    }
}
