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
            if let Some(credentials) = session::credentials_failure(&err, options).await {
                return Err(credentials);
            }
            let (code, message) = describe_error(&err);
            return Err(CollectError::Identity {
                region: region.to_owned(),
                message: format!("{code}: {message}"),
            });
        }
    };
    let caller_arn = identity.arn.unwrap_or_default();
    // arn:PARTITION:iam::ACCOUNT:...
    let partition = caller_arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_owned();
    Ok(AccountIdentity {
        account_id: identity.account.unwrap_or_default(),
        partition,
        caller_arn,
    })
}
