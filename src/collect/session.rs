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
use aws_runtime::env_config::EnvConfigValue;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_runtime::env_config::section::EnvConfigSections;
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
/// Per attempt (`--call-timeout`); a drained paginator makes one attempt
/// per page. A slow page of a large account takes seconds, not tens.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Every attempt of one call together (`--operation-deadline`): a call
/// that hangs costs this, not five attempts' worth, and is then recorded
/// as failed so its checks are not evaluated.
pub const DEFAULT_OPERATION_DEADLINE: Duration = Duration::from_secs(60);

/// The environment variables the SDK reads endpoints from:
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`.
const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL";
/// Set to `true`, the SDK ignores endpoints from the environment and the
/// config file.
const IGNORE_CONFIGURED_ENDPOINTS: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

pub(super) async fn load(options: &CollectOptions) -> Result<SdkConfig, CollectError> {
    let endpoint = match &options.endpoint_url {
        Some(url) => Some(check_endpoint(url, "--endpoint-url")?),
        None => {
            check_endpoint_variables()?;
            None
        }
    };
    if options.profile.as_deref() == Some("") {
        return Err(CollectError::EmptyProfile);
    }
    if options.call_timeout > options.operation_deadline {
        return Err(CollectError::Timeouts {
            call: options.call_timeout,
            deadline: options.operation_deadline,
        });
    }
    let profiles = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &EnvConfigFiles::default(),
        options.profile.clone().map(Into::into),
    )
    .await
    .map_err(|err| CollectError::ConfigFile(one_line(&err)))?;
    if endpoint.is_none() {
        check_configured_endpoints(&profiles)?;
    }
    // As with the AWS CLI, a profile named by --profile or AWS_PROFILE must
    // exist even when credentials in the environment would do: the typo
    // would otherwise scan whatever account those credentials reach.
    if let Some(name) = profile_name(options)
        && name != "default"
        && profiles.get_profile(&name).is_none()
    {
        return Err(CollectError::ProfileNotFound { profile: name });
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(options.call_timeout)
                .operation_timeout(options.operation_deadline)
                .build(),
        );
    if let Some(profile) = &options.profile {
        // As with the AWS CLI, an explicit --profile wins over credentials
        // in the environment.
        loader = loader.profile_name(profile).credentials_provider(
            ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(url) = &endpoint {
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

/// An endpoint URL checked before any call: http or https in any case
/// (schemes are case-insensitive; the scheme is passed on in lower case),
/// a host, a port in range. `given_as` names the option or variable.
pub fn check_endpoint(url: &str, given_as: &str) -> Result<String, CollectError> {
    let invalid = |problem: String| CollectError::InvalidEndpoint {
        url: url.to_owned(),
        given_as: given_as.to_owned(),
        problem,
    };
    // The URL parser drops surrounding spaces and inner tabs and line
    // breaks, the SDK would not: refuse them rather than fail at the first
    // call.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains whitespace".to_owned()));
    }
    let parsed = url::Url::parse(url).map_err(|err| invalid(err.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || !url.contains("://") {
        return Err(invalid("expected an http:// or https:// URL".to_owned()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host".to_owned()));
    }
    let scheme_end = url.find("://").unwrap_or(0);
    Ok(format!("{}{}", parsed.scheme(), &url[scheme_end..]))
}

/// `AWS_ENDPOINT_URL` and each `AWS_ENDPOINT_URL_<SERVICE>`, checked; the
/// SDK reads them itself, the service-specific ones winning.
fn check_endpoint_variables() -> Result<(), CollectError> {
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name != ENDPOINT_VARIABLE && !name.starts_with(&format!("{ENDPOINT_VARIABLE}_")) {
            continue;
        }
        let value = value.to_string_lossy();
        if !value.is_empty() {
            check_endpoint(&value, name)?;
        }
    }
    Ok(())
}

/// The services rampart calls, by the id the SDK looks their endpoint up
/// under (`AWS_ENDPOINT_URL_<ID>`, a `services` section's key).
const SERVICE_IDS: [&str; 11] = [
    "STS",
    "EC2",
    "IAM",
    "GuardDuty",
    "SSO Admin",
    "SSO",
    "CloudWatch",
    "Budgets",
    "Elastic Load Balancing",
    "Elastic Load Balancing v2",
    "Organizations",
];

/// The endpoint each service would be sent to from the environment or the
/// config file (a profile's `endpoint_url`, or its `services` section),
/// checked as `--endpoint-url` is, unless configured endpoints are ignored.
fn check_configured_endpoints(profiles: &EnvConfigSections) -> Result<(), CollectError> {
    let env = Env::real();
    let ignored = env
        .get(IGNORE_CONFIGURED_ENDPOINTS)
        .is_ok_and(|value| value.eq_ignore_ascii_case("true"));
    if ignored {
        return Ok(());
    }
    for service in SERVICE_IDS {
        let configured = EnvConfigValue::new()
            .env(ENDPOINT_VARIABLE)
            .profile("endpoint_url")
            .service_id(service)
            .load(&env, Some(profiles));
        if let Some((url, source)) = configured {
            // The variables were checked already: what fails here is
            // from the config file.
            check_endpoint(
                &url,
                &format!("endpoint URL in the AWS config file ({source})"),
            )?;
        }
    }
    Ok(())
}

/// The SDK renders a parse error of a config file as `error parsing PATH on
/// line N:` and the problem on the next line; one sentence is wanted.
fn one_line(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    if let Some(source) = err.source() {
        text = source.to_string();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
pub(super) fn credentials_failure(
    err: &(dyn StdError + 'static),
    options: &CollectOptions,
) -> Option<CollectError> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(credentials) = current.downcast_ref::<CredentialsError>() {
            let profile = profile_name(options);
            return Some(match credentials {
                CredentialsError::CredentialsNotLoaded(_) => {
                    CollectError::NoCredentials { profile }
                }
                other => CollectError::Credentials {
                    profile,
                    message: DisplayErrorContext(other).to_string(),
                },
            });
        }
        cause = current.source();
    }
    None
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
    if name == "all" {
        return Err(CollectError::AllWithOthers);
    }
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
