//! Collection: a read-only snapshot of one account. This module is the
//! orchestrator (credentials, identity, regions, concurrency); each AWS
//! service has its own collector file beside it.

pub mod ec2;
pub mod ledger;
mod session;
pub mod sts;

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::future::Future;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::SdkConfig;
use aws_types::region::Region;
use chrono::Utc;
use futures::StreamExt;
use indicatif::ProgressBar;

use crate::error::CollectError;
use crate::snapshot::sts::AccountIdentity;
use crate::snapshot::{RegionSnapshot, SCHEMA_VERSION, Snapshot, ToolInfo};
use ledger::Ledger;

pub use session::validate_region;

/// Regions are collected this many at a time; each runs its services'
/// calls concurrently as well, and AWS throttles per region, so this bounds
/// open connections rather than API rate.
const MAX_CONCURRENT_REGIONS: usize = 8;

/// Region used for global calls (STS, region discovery) when neither the
/// profile nor the environment names one.
const FALLBACK_HOME_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    /// Named profile from ~/.aws/config (SSO profiles included).
    pub profile: Option<String>,
    pub regions: RegionSelection,
    /// Sends every service to this endpoint, e.g. an emulator on loopback.
    pub endpoint_url: Option<String>,
}

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
        if regions.is_empty() || regions.iter().any(|r| r == "all") {
            return Ok(RegionSelection::Enabled);
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

/// What a collector needs to know about where it runs.
pub struct RegionScope<'a> {
    pub region: &'a str,
    pub account: &'a AccountIdentity,
    ledger: &'a Ledger,
}

impl RegionScope<'_> {
    /// An ARN in this region and account, for resources whose API gives none.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.account.partition, self.region, self.account.account_id
        )
    }

    /// Awaits one call (or drained paginator). A failure is recorded and
    /// yields `None`, so one denied or throttled service never stops a scan.
    pub async fn call<T, E, R>(
        &self,
        service: &str,
        operation: &str,
        call: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Option<T>
    where
        E: ProvideErrorMetadata + StdError + 'static,
        R: std::fmt::Debug + 'static,
    {
        match call.await {
            Ok(value) => Some(value),
            Err(err) => {
                self.ledger
                    .record_error(service, Some(self.region), operation, &err);
                None
            }
        }
    }
}

/// Takes a snapshot of the account the credentials belong to.
pub async fn collect(
    options: &CollectOptions,
    progress: &ProgressBar,
) -> Result<Snapshot, CollectError> {
    let config = session::load(options).await?;
    let ledger = Ledger::default();
    let home_region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| FALLBACK_HOME_REGION.to_owned());

    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&config)
            .region(Region::new(home_region.clone()))
            .interceptor(ledger.interceptor())
            .build(),
    );
    let account = sts::caller_identity(&sts, &home_region).await?;
    tracing::info!(account = account.account_id, "collecting");

    let regions = match &options.regions {
        RegionSelection::Listed(regions) => regions.clone(),
        RegionSelection::Enabled => {
            session::enabled_regions(&ec2_client(&config, &home_region, &ledger), &home_region)
                .await?
        }
    };

    progress.set_length(regions.len() as u64);
    let collected: BTreeMap<String, RegionSnapshot> = futures::stream::iter(&regions)
        .map(|region| {
            let (config, ledger, account) = (&config, &ledger, &account);
            async move {
                let scope = RegionScope {
                    region,
                    account,
                    ledger,
                };
                let snapshot = collect_region(config, &scope).await;
                progress.inc(1);
                progress.set_message(format!("collected {region}"));
                (region.clone(), snapshot)
            }
        })
        .buffer_unordered(MAX_CONCURRENT_REGIONS)
        .collect()
        .await;
    progress.finish_and_clear();

    let (api_calls, collection_errors) = ledger.take();
    Ok(Snapshot {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        account,
        collected_at: Utc::now(),
        regions_requested: regions,
        regions: collected,
        collection_errors,
        api_calls,
    })
}

async fn collect_region(config: &SdkConfig, scope: &RegionScope<'_>) -> RegionSnapshot {
    let ec2 = ec2_client(config, scope.region, scope.ledger);
    RegionSnapshot {
        ec2: ec2::collect_region(&ec2, scope).await,
    }
}

fn ec2_client(config: &SdkConfig, region: &str, ledger: &Ledger) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(config)
            .region(Region::new(region.to_owned()))
            .interceptor(ledger.interceptor())
            .build(),
    )
}
