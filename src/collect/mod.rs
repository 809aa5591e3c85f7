//! Collection: a read-only snapshot of one account. This module is the
//! orchestrator (credentials, identity, regions, concurrency); each AWS
//! service has its own collector file beside it.

pub mod budgets;
pub mod cloudwatch;
pub mod ec2;
pub mod elb;
pub mod elbv2;
pub mod guardduty;
pub mod iam;
pub mod ledger;
pub mod organizations;
mod request_rate;
mod session;
pub mod ssoadmin;
pub mod sts;

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime::client::retries::RetryPartition;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SdkConfig;
use aws_types::region::Region;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use indicatif::ProgressBar;

use crate::error::CollectError;
use crate::snapshot::cloudwatch::BILLING_REGION;
use crate::snapshot::iam::GLOBAL_REGION;
use crate::snapshot::sts::AccountIdentity;
use crate::snapshot::{GlobalSnapshot, RegionSnapshot, SCHEMA_VERSION, Snapshot, ToolInfo};
use ledger::{CallSite, Ledger, Operation};

use session::validate_region;
pub use session::{DEFAULT_CALL_TIMEOUT, DEFAULT_OPERATION_DEADLINE, check_endpoint};

/// Requests a second for one account unless told otherwise, every service
/// and region together: about what one of the quotas rampart meets allows
/// (EC2's describe calls refill at 20 a second in each region), so the
/// account's own work keeps most of them.
pub const DEFAULT_MAX_REQUEST_RATE: u32 = 25;

/// Regions are collected this many at a time; each runs its services'
/// calls concurrently as well, and AWS throttles per region, so this bounds
/// open connections rather than API rate.
const MAX_CONCURRENT_REGIONS: usize = 8;

/// Region used for global calls (STS, region discovery) when neither the
/// profile nor the environment names one.
const FALLBACK_HOME_REGION: &str = "us-east-1";

/// Default cap on GuardDuty findings fetched per region.
pub const DEFAULT_GUARDDUTY_MAX_FINDINGS: usize = 1000;

#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Named profile from ~/.aws/config (SSO profiles included).
    pub profile: Option<String>,
    pub regions: RegionSelection,
    /// Sends every service to this endpoint, e.g. an emulator on loopback.
    pub endpoint_url: Option<String>,
    /// At most this many active GuardDuty findings are fetched per region;
    /// the per-severity counts stay complete.
    pub guardduty_max_findings: usize,
    /// One attempt of one call.
    pub call_timeout: Duration,
    /// Every attempt of one call together.
    pub operation_deadline: Duration,
    /// Requests a second for the account, every client together; `None`
    /// for no limit.
    pub max_request_rate: Option<NonZeroU32>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            profile: None,
            regions: RegionSelection::default(),
            endpoint_url: None,
            guardduty_max_findings: DEFAULT_GUARDDUTY_MAX_FINDINGS,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            operation_deadline: DEFAULT_OPERATION_DEADLINE,
            max_request_rate: NonZeroU32::new(DEFAULT_MAX_REQUEST_RATE),
        }
    }
}

/// Regional services collected per region, for progress accounting.
const REGIONAL_SERVICES: u64 = 5;
/// Global services collected once per scan.
const GLOBAL_SERVICES: u64 = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RegionSelection {
    /// Every region enabled for the account (ec2:DescribeRegions).
    #[default]
    Enabled,
    Listed(Vec<String>),
}

impl RegionSelection {
    /// From `--region` values: none or `all` means every enabled region.
    pub fn from_args(regions: &[String]) -> Result<Self, CollectError> {
        match regions {
            [] => return Ok(RegionSelection::Enabled),
            [only] if only == "all" => return Ok(RegionSelection::Enabled),
            _ => {}
        }
        let mut listed = Vec::with_capacity(regions.len());
        for region in regions {
            validate_region(region)?;
            if !listed.contains(region) {
                listed.push(region.clone());
            }
        }
        Ok(RegionSelection::Listed(listed))
    }
}

/// A client of one service for one region, with the ledger installed and
/// a retry partition of its own.
macro_rules! client {
    ($sdk:ident, $config:expr, $region:expr, $ledger:expr, $account:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .region(Region::new(($region).to_owned()))
                .interceptor(($ledger).interceptor())
                .retry_partition(retry_partition($account, stringify!($sdk), $region))
                .build(),
        )
    };
}

/// The SDK shares one retry token bucket per service and region across
/// the whole process, so in an organization scan one throttled account
/// would use up the retries of every other. Each client gets a bucket of
/// its own; the name says whose it is.
fn retry_partition(account: &str, sdk: &str, region: &str) -> RetryPartition {
    RetryPartition::custom(format!("{account}/{sdk}/{region}")).build()
}

/// Before the account is identified.
const UNIDENTIFIED: &str = "unidentified";

/// What a collector needs to know about where it runs: a region, or the
/// account as a whole for global services.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The region name, or `global` for account-wide services.
    pub region: &'a str,
    pub account: &'a AccountIdentity,
    global: bool,
    /// The resource whose details are being read, named in failures.
    resource: Option<&'a str>,
    ledger: &'a Ledger,
}

impl<'a> Scope<'a> {
    pub fn regional(region: &'a str, account: &'a AccountIdentity, ledger: &'a Ledger) -> Self {
        Scope {
            region,
            account,
            global: false,
            resource: None,
            ledger,
        }
    }

    pub fn global(account: &'a AccountIdentity, ledger: &'a Ledger) -> Self {
        Scope {
            region: GLOBAL_REGION,
            account,
            global: true,
            resource: None,
            ledger,
        }
    }

    /// An ARN in this scope's region (empty for global services) and
    /// account, for resources whose API gives none.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        let region = if self.global { "" } else { self.region };
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.account.partition, self.account.account_id
        )
    }

    /// The same scope, reading the details of one resource: failures name it.
    pub fn about(&self, resource: &'a str) -> Scope<'a> {
        Scope {
            resource: Some(resource),
            ..*self
        }
    }

    fn call_site<'b>(&'b self, service: &'b str, operation: &'b str) -> CallSite<'b> {
        CallSite {
            service,
            // None for global services.
            region: (!self.global).then_some(self.region),
            operation,
            resource: self.resource,
        }
    }

    /// Awaits one call (or drained paginator). A failure is recorded under
    /// the operation the SDK names and yields `None`, so one denied or
    /// throttled service never stops a scan.
    pub async fn call<T, E>(
        &self,
        call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Option<T>
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        self.call_allowing_absent(call, |_| false).await.flatten()
    }

    /// Like [`Scope::call`], also naming the operation that answered, for
    /// listings whose items may turn out malformed.
    pub async fn call_named<T, E>(
        &self,
        call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Option<(T, Operation)>
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        match ledger::named(call).await {
            (Ok(value), Some(operation)) => Some((value, operation)),
            (Ok(_), None) => {
                // The interceptor names every request before it is sent.
                self.record_failure(
                    &Operation::unknown(),
                    "Unnamed",
                    "a call answered without the SDK naming its operation".to_owned(),
                );
                None
            }
            (Err(err), operation) => {
                self.record_call_error(operation, &err);
                None
            }
        }
    }

    /// Records that a listing answered with an item rampart cannot use; the
    /// item is left out.
    pub fn record_malformed(&self, operation: &Operation, why: String) {
        self.record_failure(operation, "MalformedResponse", why);
    }

    fn record_call_error<E>(&self, operation: Option<Operation>, err: &SdkError<E, HttpResponse>)
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let operation = operation.unwrap_or_else(Operation::unknown);
        self.ledger
            .record_error(self.call_site(&operation.service, &operation.name), err);
    }

    /// Like [`Scope::call`], for reads whose "not found" error is an
    /// answer (no password policy, no login profile): `Some(None)` then.
    pub async fn call_allowing_absent<T, E>(
        &self,
        call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        means_absent: impl Fn(&E) -> bool,
    ) -> Option<Option<T>>
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        match ledger::named(call).await {
            (Ok(value), _) => Some(Some(value)),
            (Err(err), _) if err.as_service_error().is_some_and(&means_absent) => Some(None),
            (Err(err), operation) => {
                self.record_call_error(operation, &err);
                None
            }
        }
    }

    /// Records a failure that is not an API error, such as a response that
    /// arrived but could not be understood.
    pub fn record_failure(&self, operation: &Operation, code: &str, message: String) {
        self.ledger.record(
            self.call_site(&operation.service, &operation.name),
            code,
            message,
        );
    }
}

/// Takes a snapshot of the account the credentials belong to.
pub async fn collect(
    options: &CollectOptions,
    progress: &ProgressBar,
) -> Result<Snapshot, CollectError> {
    let config = configuration(options).await?;
    collect_with(&config, options, progress).await
}

/// The AWS configuration `options` name (profile, endpoint, retries,
/// timeouts), checked; no call is made.
pub async fn configuration(options: &CollectOptions) -> Result<SdkConfig, CollectError> {
    session::load(options).await
}

fn home_region(config: &SdkConfig) -> String {
    config
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| FALLBACK_HOME_REGION.to_owned())
}

/// Who `config`'s credentials belong to: the first call, so also where
/// missing or unusable credentials show up.
pub async fn identify(
    config: &SdkConfig,
    options: &CollectOptions,
) -> Result<AccountIdentity, CollectError> {
    let home_region = home_region(config);
    let ledger = Ledger::default();
    let sts = client!(aws_sdk_sts, config, &home_region, &ledger, UNIDENTIFIED);
    sts::caller_identity(&sts, &home_region, options).await
}

/// A role to assume, and how the session is named in the member's
/// CloudTrail.
#[derive(Debug, Clone)]
pub struct RoleToAssume {
    pub arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
}

/// `base` with credentials of `role`, assumed now (so a role that cannot
/// be assumed is known before anything else is called) and renewed by the
/// SDK before they expire.
pub async fn assume_role(base: &SdkConfig, role: &RoleToAssume) -> Result<SdkConfig, CollectError> {
    // STS is called in the home region, as for every other global call.
    let mut builder = AssumeRoleProvider::builder(&role.arn)
        .session_name(&role.session_name)
        .configure(base)
        .region(Region::new(home_region(base)));
    if let Some(external_id) = &role.external_id {
        builder = builder.external_id(external_id);
    }
    let provider = builder.build().await;
    provider
        .provide_credentials()
        .await
        .map_err(|err| CollectError::AssumeRole {
            role: role.arn.clone(),
            message: DisplayErrorContext(&err).to_string(),
        })?;
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// The organization's ACTIVE accounts (all, or those under `units`), as
/// the credentials of `config` see them.
pub async fn list_organization(
    config: &SdkConfig,
    units: &[String],
) -> Result<organizations::Listing, CollectError> {
    let home_region = home_region(config);
    let ledger = Ledger::default();
    let client = client!(
        aws_sdk_organizations,
        config,
        &home_region,
        &ledger,
        UNIDENTIFIED
    );
    organizations::list(&client, units).await
}

/// Takes a snapshot of the account `config`'s credentials belong to.
pub async fn collect_with(
    config: &SdkConfig,
    options: &CollectOptions,
    progress: &ProgressBar,
) -> Result<Snapshot, CollectError> {
    // One cap per collection, so per account in an organization scan.
    let config = match options.max_request_rate {
        Some(rate) => request_rate::limited(config, rate.get()),
        None => config.clone(),
    };
    let ledger = Ledger::default();
    let home_region = home_region(&config);

    let sts = client!(aws_sdk_sts, &config, &home_region, &ledger, UNIDENTIFIED);
    let account = sts::caller_identity(&sts, &home_region, options).await?;
    tracing::info!(account = account.account_id, "collecting");

    let regions = match &options.regions {
        RegionSelection::Listed(regions) => regions.clone(),
        RegionSelection::Enabled => {
            let ec2 = client!(
                aws_sdk_ec2,
                &config,
                &home_region,
                &ledger,
                &account.account_id
            );
            session::enabled_regions(&ec2, &home_region).await?
        }
    };

    progress.set_length(regions.len() as u64 * REGIONAL_SERVICES + GLOBAL_SERVICES);
    let global = collect_global(&config, &home_region, &account, &ledger, progress);
    // Owned names: a borrowed item would tie the stream to a lifetime the
    // compiler cannot prove `Send` for when an organization scan spawns it.
    let regional = futures::stream::iter(regions.clone())
        .map(|region| {
            let (config, ledger, account) = (&config, &ledger, &account);
            async move {
                let scope = Scope::regional(&region, account, ledger);
                let snapshot = collect_region(config, &scope, options, progress).await;
                (region, snapshot)
            }
        })
        .buffer_unordered(MAX_CONCURRENT_REGIONS)
        .collect::<BTreeMap<String, RegionSnapshot>>();
    let (global, collected) = tokio::join!(global, regional);

    let (api_calls, collection_errors) = ledger.take();
    #[expect(
        clippy::disallowed_methods,
        reason = "the snapshot's clock, which every later stage reads instead"
    )]
    let collected_at = Utc::now();
    Ok(Snapshot {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        account,
        collected_at,
        regions_requested: regions,
        global,
        regions: collected,
        collection_errors,
        api_calls,
    })
}

/// Ticks the progress bar when a service's collection finishes.
async fn tracked<T>(
    progress: &ProgressBar,
    label: String,
    collection: impl Future<Output = T>,
) -> T {
    let value = collection.await;
    progress.inc(1);
    progress.set_message(label);
    value
}

async fn collect_region(
    config: &SdkConfig,
    scope: &Scope<'_>,
    options: &CollectOptions,
    progress: &ProgressBar,
) -> RegionSnapshot {
    let region = scope.region;
    let ec2 = client!(
        aws_sdk_ec2,
        config,
        region,
        scope.ledger,
        &scope.account.account_id
    );
    let guardduty = client!(
        aws_sdk_guardduty,
        config,
        region,
        scope.ledger,
        &scope.account.account_id
    );
    let ssoadmin = client!(
        aws_sdk_ssoadmin,
        config,
        region,
        scope.ledger,
        &scope.account.account_id
    );
    let elbv2 = client!(
        aws_sdk_elasticloadbalancingv2,
        config,
        region,
        scope.ledger,
        &scope.account.account_id
    );
    let elb = client!(
        aws_sdk_elasticloadbalancing,
        config,
        region,
        scope.ledger,
        &scope.account.account_id
    );
    let (ec2, elbv2, elb, guardduty, identity_center) = tokio::join!(
        tracked(
            progress,
            format!("ec2 in {region}"),
            ec2::collect_region(&ec2, scope)
        ),
        tracked(
            progress,
            format!("load balancers in {region}"),
            elbv2::collect_region(&elbv2, scope)
        ),
        tracked(
            progress,
            format!("classic load balancers in {region}"),
            elb::collect_region(&elb, scope)
        ),
        tracked(
            progress,
            format!("guardduty in {region}"),
            guardduty::collect_region(&guardduty, scope, options.guardduty_max_findings)
        ),
        tracked(
            progress,
            format!("identity center in {region}"),
            ssoadmin::collect_region(&ssoadmin, scope)
        ),
    );
    RegionSnapshot {
        ec2,
        elbv2: Some(elbv2),
        elb: Some(elb),
        guardduty,
        identity_center,
    }
}

/// Account-wide services: IAM, billing alarms (CloudWatch in us-east-1,
/// the only region with billing metrics) and Budgets.
async fn collect_global(
    config: &SdkConfig,
    home_region: &str,
    account: &AccountIdentity,
    ledger: &Ledger,
    progress: &ProgressBar,
) -> GlobalSnapshot {
    let scope = Scope::global(account, ledger);
    // Billing metrics and the Budgets endpoint live in us-east-1 in the
    // commercial partition; elsewhere Budgets answers in the home region
    // and there are no billing metrics to alarm on.
    let commercial = account.partition == "aws";
    let budgets_region = if commercial {
        BILLING_REGION
    } else {
        home_region
    };
    let iam = client!(
        aws_sdk_iam,
        config,
        home_region,
        ledger,
        &account.account_id
    );
    let cloudwatch = client!(
        aws_sdk_cloudwatch,
        config,
        BILLING_REGION,
        ledger,
        &account.account_id
    );
    let budgets = client!(
        aws_sdk_budgets,
        config,
        budgets_region,
        ledger,
        &account.account_id
    );
    let billing_alarms = async {
        if commercial {
            cloudwatch::billing_alarms(&cloudwatch, &scope).await
        } else {
            // No call is made, so the SDK names none.
            let not_made = Operation {
                service: "cloudwatch".to_owned(),
                name: "DescribeAlarms".to_owned(),
            };
            scope.record_failure(
                &not_made,
                "UnsupportedPartition",
                format!(
                    "billing metrics exist only in the aws partition's {BILLING_REGION}, not in {}",
                    account.partition
                ),
            );
            Vec::new()
        }
    };
    let (iam, billing_alarms, budgets) = tokio::join!(
        tracked(progress, "iam".to_owned(), iam::collect(&iam, &scope)),
        tracked(progress, "billing alarms".to_owned(), billing_alarms),
        tracked(
            progress,
            "budgets".to_owned(),
            budgets::collect(&budgets, &scope)
        ),
    );
    GlobalSnapshot {
        iam,
        billing_alarms,
        budgets,
    }
}

/// Converts an SDK timestamp; `None` for one outside chrono's range.
pub(crate) fn to_utc(value: Option<aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let value = value?;
    DateTime::from_timestamp(value.secs(), value.subsec_nanos())
}

/// Why a listed item cannot be used: AWS left out something the reasoning
/// needs (an id, a VPC, an ACL entry's rule number, a protocol or its
/// ports, a listener's port). Nothing is guessed in its place: the item is skipped and its
/// listing recorded as malformed, so rules on its type are not evaluated
/// in the region rather than decided without it.
pub(crate) type Malformed = String;

/// Converts what a listing returned, skipping and recording what is
/// malformed.
pub(crate) fn convert_all<A, T>(
    listed: Option<(Vec<A>, Operation)>,
    scope: &Scope<'_>,
    convert: impl Fn(A, &Scope<'_>) -> Result<T, Malformed>,
) -> Vec<T> {
    let Some((items, operation)) = listed else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| match convert(item, scope) {
            Ok(converted) => Some(converted),
            Err(why) => {
                scope.record_malformed(&operation, format!("skipped {why}"));
                None
            }
        })
        .collect()
}

/// A value the reasoning needs, or why the item is malformed.
pub(crate) fn required<T>(value: Option<T>, what: &str, item: &str) -> Result<T, Malformed> {
    value.ok_or_else(|| format!("{item} without {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_retries_on_a_bucket_of_its_own() {
        let config = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let ledger = Ledger::default();
        let partition = |account: &str| {
            let client = client!(aws_sdk_ec2, &config, "us-east-1", &ledger, account);
            client.config().retry_partition().cloned()
        };
        let first = partition("111111111111");
        assert_eq!(
            first.as_ref().map(ToString::to_string).as_deref(),
            Some("111111111111/aws_sdk_ec2/us-east-1")
        );
        assert_ne!(first, partition("222222222222"));
        // Not the partition the SDK shares across the process by default.
        assert_ne!(first, Some(RetryPartition::new("ec2")));
    }
}
