//! AWS configuration for a collection run: profile, endpoint, retries and
//! timeouts, and the checks that turn a missing profile or missing
//! credentials into one clear error before any service is called.

use std::error::Error as StdError;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::SdkConfig;
use aws_types::os_shim_internal::{Env, Fs};

use super::CollectOptions;
use super::ledger::describe_error;
use crate::error::CollectError;

/// Throttled Describe calls are retried with the SDK's standard
/// exponential backoff; five attempts ride out a burst of throttling
/// without hiding a real outage for long.
const MAX_ATTEMPTS: u32 = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per attempt; a drained paginator makes one attempt per page.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) async fn load(options: &CollectOptions) -> Result<SdkConfig, CollectError> {
    if let Some(url) = &options.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(CollectError::InvalidEndpoint(url.clone()));
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(profile) = &options.profile {
        // As with the AWS CLI, an explicit --profile wins over credentials
        // in the environment, and a profile that does not exist is an error
        // rather than a silent fall-through to the next provider.
        loader = loader.profile_name(profile).credentials_provider(
            ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;

    if config.credentials_provider().is_none() {
        return Err(CollectError::NoCredentials {
            profile: profile_name(options),
        });
    }
    Ok(config)
}

/// The profile in use, from `--profile` or `AWS_PROFILE`, for messages.
pub(super) fn profile_name(options: &CollectOptions) -> Option<String> {
    options
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .filter(|name| !name.is_empty())
}

/// Credentials are resolved lazily by the first call (so a profile that
/// assumes a role or signs in through Identity Center does it once, into
/// the SDK's cache). When that call fails for want of credentials, this
/// turns the failure into the error a person can act on.
pub(super) async fn credentials_failure(
    err: &(dyn StdError + 'static),
    options: &CollectOptions,
) -> Option<CollectError> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(credentials) = current.downcast_ref::<CredentialsError>() {
            let profile = profile_name(options);
            return Some(match (credentials, profile) {
                (CredentialsError::CredentialsNotLoaded(_), Some(name))
                    if !profile_exists(&name).await =>
                {
                    CollectError::ProfileNotFound { profile: name }
                }
                (CredentialsError::CredentialsNotLoaded(_), profile) => {
                    CollectError::NoCredentials { profile }
                }
                (other, profile) => CollectError::Credentials {
                    profile,
                    message: DisplayErrorContext(other).to_string(),
                },
            });
        }
        cause = current.source();
    }
    None
}

/// Whether ~/.aws/config or ~/.aws/credentials (or the files AWS_CONFIG_FILE
/// and AWS_SHARED_CREDENTIALS_FILE name) define the profile. The SDK reports
/// a missing profile only as "no credentials", which hides the typo.
async fn profile_exists(name: &str) -> bool {
    aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
        .await
        .is_ok_and(|profiles| profiles.get_profile(name).is_some())
}

/// The regions enabled for the account: those that need no opt-in, plus
/// opt-in regions the account has opted in to.
pub(super) async fn enabled_regions(
    client: &aws_sdk_ec2::Client,
    home_region: &str,
) -> Result<Vec<String>, CollectError> {
    let output = client
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|err| {
            let (code, message) = describe_error(&err);
            CollectError::RegionDiscovery {
                region: home_region.to_owned(),
                message: format!("{code}: {message}"),
            }
        })?;
    let mut regions: Vec<String> = output
        .regions
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.opt_in_status.as_deref() != Some("not-opted-in"))
        .filter_map(|r| r.region_name)
        .collect();
    regions.sort();
    Ok(regions)
}

/// Checks the shape of a region name (`us-east-1`, `us-gov-west-1`,
/// `cn-north-1`, `eusc-de-east-1`), so a typo fails at once instead of as a
/// DNS error per call.
pub fn validate_region(name: &str) -> Result<(), CollectError> {
    let parts: Vec<&str> = name.split('-').collect();
    let lowercase = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    let valid = parts.len() >= 3
        && parts[0].len() >= 2
        && parts[..parts.len() - 1].iter().all(lowercase)
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if valid {
        Ok(())
    } else {
        Err(CollectError::InvalidRegion(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_checked_for_shape() {
        for good in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-2",
            "eusc-de-east-1",
        ] {
            assert!(validate_region(good).is_ok(), "{good}");
        }
        for bad in ["us-east", "useast1", "US-EAST-1", "us-east-1a", "", "eu--1"] {
            assert!(
                matches!(validate_region(bad), Err(CollectError::InvalidRegion(ref n)) if n == bad),
                "{bad}"
            );
        }
    }
}
