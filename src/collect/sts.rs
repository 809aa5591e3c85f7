//! STS: who the credentials belong to, which fixes the account id and the
//! partition that every ARN in the snapshot is built from.

use aws_sdk_sts::Client;

use super::ledger::describe_error;
use crate::error::CollectError;
use crate::snapshot::sts::AccountIdentity;

pub async fn caller_identity(
    client: &Client,
    region: &str,
) -> Result<AccountIdentity, CollectError> {
    let identity = client.get_caller_identity().send().await.map_err(|err| {
        let (code, message) = describe_error(&err);
        CollectError::Identity {
            region: region.to_owned(),
            message: format!("{code}: {message}"),
        }
    })?;
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
