//! AWS Budgets collector: every budget with its notifications and their
//! subscribers.

use aws_sdk_budgets::Client;
use aws_sdk_budgets::types as aws;

use super::Scope;
use crate::snapshot::ResourceMeta;
use crate::snapshot::budgets::*;

const SERVICE: &str = "budgets";

pub async fn collect(client: &Client, scope: &Scope<'_>) -> Vec<Budget> {
    let account = scope.account.account_id.as_str();
    // Budgets answers NotFound for an account that has no budgets.
    let listed = scope
        .call_allowing_absent(
            client
                .describe_budgets()
                .account_id(account)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            |e| e.is_not_found_exception(),
        )
        .await
        .flatten()
        .unwrap_or_default();
    let mut budgets = Vec::with_capacity(listed.len());
    for budget in listed {
        let name = budget.budget_name;
        let arn = scope.arn(SERVICE, &format!("budget/{name}"));
        budgets.push(Budget {
            notifications: notifications(client, &scope.about(&arn), &name).await,
            meta: ResourceMeta::new(name.clone(), arn, scope.region),
            budget_type: Some(budget.budget_type.as_str().to_owned()),
            time_unit: Some(budget.time_unit.as_str().to_owned()),
            limit_amount: budget
                .budget_limit
                .as_ref()
                .map(|limit| limit.amount.clone()),
            limit_unit: budget.budget_limit.map(|limit| limit.unit),
            name,
        });
    }
    budgets
}

async fn notifications(
    client: &Client,
    scope: &Scope<'_>,
    budget: &str,
) -> Option<Vec<BudgetNotification>> {
    let account = scope.account.account_id.as_str();
    // NotFound: the budget has no notifications.
    let listed = scope
        .call_allowing_absent(
            client
                .describe_notifications_for_budget()
                .account_id(account)
                .budget_name(budget)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            |e| e.is_not_found_exception(),
        )
        .await?
        .unwrap_or_default();
    let mut notifications = Vec::with_capacity(listed.len());
    for notification in listed {
        let subscribers = scope
            .call(
                client
                    .describe_subscribers_for_notification()
                    .account_id(account)
                    .budget_name(budget)
                    .notification(notification.clone())
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            )
            .await
            .map(|subscribers: Vec<aws::Subscriber>| {
                subscribers
                    .into_iter()
                    .map(|subscriber| Subscriber {
                        subscription_type: Some(subscriber.subscription_type.as_str().to_owned()),
                        address: subscriber.address,
                    })
                    .collect()
            });
        notifications.push(BudgetNotification {
            notification_type: Some(notification.notification_type.as_str().to_owned()),
            comparison_operator: Some(notification.comparison_operator.as_str().to_owned()),
            threshold: notification.threshold,
            threshold_type: notification.threshold_type.map(|t| t.as_str().to_owned()),
            state: notification
                .notification_state
                .map(|s| s.as_str().to_owned()),
            subscribers,
        });
    }
    Some(notifications)
}
