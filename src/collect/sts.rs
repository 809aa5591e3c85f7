//! STS: who the credentials belong to, which fixes the account id and the
//! partition that every ARN in the snapshot is built from.

use aws_sdk_sts::Client;

use super::ledger::describe_error;
use super::{CollectOptions, session};
use crate::error::CollectError;
use crate::snapshot::sts::AccountIdentity;

/// The first call of a run, so it is also where missing or unusable
/// credentials show up.
pub async fn caller_identity(
    client: &Client,
    region: &str,
    options: &CollectOptions,
) -> Result<AccountIdentity, CollectError> {
    let identity = match client.get_caller_identity().send().await {
        Ok(identity) => identity,
        Err(err) => {
            if let Some(credentials) = session::credentials_failure(&err, options) {
                return Err(credentials);
            }
            let (code, message) = describe_error(&err);
            return Err(CollectError::Identity {
                region: region.to_owned(),
                message: format!("{code}: {message}"),
            });
        }
    };
    // Every fingerprint and ARN is built from the account id, so an answer
    // without one (or without the caller's ARN) cannot be used.
    let (Some(account_id), Some(caller_arn)) = (
        identity.account.filter(|id| !id.is_empty()),
        identity.arn.filter(|arn| !arn.is_empty()),
    ) else {
        return Err(CollectError::Identity {
            region: region.to_owned(),
            message: "MalformedResponse: the answer names no account id or caller ARN".to_owned(),
        });
    };
    // arn:PARTITION:iam::ACCOUNT:...
    let Some(partition) = caller_arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').next())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
    else {
        return Err(CollectError::Identity {
            region: region.to_owned(),
            message: format!("MalformedResponse: the caller ARN `{caller_arn}` names no partition"),
        });
    };
    Ok(AccountIdentity {
        account_id,
        partition,
        caller_arn,
    })
}
