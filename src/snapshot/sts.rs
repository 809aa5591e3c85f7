//! Who the snapshot was taken as (STS GetCallerIdentity).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountIdentity {
    pub account_id: String,
    /// `aws`, `aws-cn` or `aws-us-gov`: every ARN rampart builds uses it.
    pub partition: String,
    /// The principal the collection ran as.
    pub caller_arn: String,
}
