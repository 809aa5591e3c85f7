//! CloudWatch collector: alarms on the estimated-charges billing metric,
//! which exists only in us-east-1.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::MetricAlarm;

use super::Scope;
use crate::snapshot::ResourceMeta;
use crate::snapshot::cloudwatch::*;

pub async fn billing_alarms(client: &Client, scope: &Scope<'_>) -> Vec<BillingAlarm> {
    let Some(pages) = scope
        .call(
            client
                .describe_alarms()
                .into_paginator()
                .send()
                .try_collect(),
        )
        .await
    else {
        return Vec::new();
    };
    pages
        .into_iter()
        .flat_map(|page| page.metric_alarms.unwrap_or_default())
        .filter(watches_estimated_charges)
        .map(|alarm| {
            let name = alarm.alarm_name.unwrap_or_default();
            BillingAlarm {
                meta: ResourceMeta::new(
                    name.clone(),
                    alarm.alarm_arn.unwrap_or_else(|| {
                        format!(
                            "arn:{}:cloudwatch:{BILLING_REGION}:{}:alarm:{name}",
                            scope.account.partition, scope.account.account_id
                        )
                    }),
                    BILLING_REGION,
                ),
                state: alarm.state_value.map(|s| s.as_str().to_owned()),
                threshold: alarm.threshold,
                comparison_operator: alarm.comparison_operator.map(|c| c.as_str().to_owned()),
                actions_enabled: alarm.actions_enabled.unwrap_or(false),
                alarm_actions: alarm.alarm_actions.unwrap_or_default(),
            }
        })
        .collect()
}

/// A plain metric alarm on the metric, or a metric-math alarm with the
/// metric among its inputs.
fn watches_estimated_charges(alarm: &MetricAlarm) -> bool {
    let is_billing = |namespace: Option<&str>, metric: Option<&str>| {
        namespace == Some(BILLING_NAMESPACE) && metric == Some(BILLING_METRIC)
    };
    is_billing(alarm.namespace.as_deref(), alarm.metric_name.as_deref())
        || alarm.metrics.iter().flatten().any(|query| {
            query
                .metric_stat
                .as_ref()
                .and_then(|stat| stat.metric.as_ref())
                .is_some_and(|metric| {
                    is_billing(metric.namespace.as_deref(), metric.metric_name.as_deref())
                })
        })
}
