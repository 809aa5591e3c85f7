//! CloudWatch: billing alarms. AWS publishes the `AWS/Billing`
//! `EstimatedCharges` metric only in us-east-1, so that is the only region
//! where a billing alarm can exist.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceMeta;

pub const BILLING_REGION: &str = "us-east-1";
pub const BILLING_NAMESPACE: &str = "AWS/Billing";
pub const BILLING_METRIC: &str = "EstimatedCharges";

/// An alarm on the estimated-charges metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BillingAlarm {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: Option<String>,
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub actions_enabled: bool,
    /// Where the alarm notifies (SNS topic ARNs and the like); an alarm
    /// with none alerts nobody.
    pub alarm_actions: Vec<String>,
}
