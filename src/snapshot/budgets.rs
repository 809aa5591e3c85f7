//! AWS Budgets: budgets with their notifications and subscribers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceMeta;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Budget {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub name: String,
    /// `COST`, `USAGE`, `RI_UTILIZATION`, ...
    pub budget_type: Option<String>,
    pub time_unit: Option<String>,
    pub limit_amount: Option<String>,
    pub limit_unit: Option<String>,
    /// `null` when DescribeNotificationsForBudget failed.
    pub notifications: Option<Vec<BudgetNotification>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BudgetNotification {
    /// `ACTUAL` or `FORECASTED`.
    pub notification_type: Option<String>,
    pub comparison_operator: Option<String>,
    pub threshold: f64,
    /// `PERCENTAGE` or `ABSOLUTE_VALUE`.
    pub threshold_type: Option<String>,
    pub state: Option<String>,
    /// `null` when DescribeSubscribersForNotification failed.
    pub subscribers: Option<Vec<Subscriber>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Subscriber {
    /// `EMAIL` or `SNS`.
    pub subscription_type: Option<String>,
    pub address: String,
}
