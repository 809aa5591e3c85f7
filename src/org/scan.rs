//! One shard of an organization scan: each of the shard's accounts is
//! scanned through a role assumed in it just before it starts (sessions
//! expire, so never all up front), a bounded number at a time; its report
//! is written into its own directory as soon as it is evaluated, and its
//! snapshot dropped, so memory does not grow with the number of accounts.
//! One account failing never stops the others: how each ended goes into
//! the shard's manifest.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_types::SdkConfig;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use indicatif::ProgressBar;

use super::accounts::{AccountsFile, OrgAccount};
use super::manifest::{AccountRun, AccountStatus, MANIFEST_SCHEMA_VERSION, Manifest};
use super::shard::Shard;
use crate::collect::{self, CollectOptions, RoleToAssume};
use crate::error::{CollectError, FileError};
use crate::files;
use crate::pipeline::{Earlier, Gate, Plan, RunClock};
use crate::report::terminal::TerminalOptions;
use crate::report::{self, Format};
use crate::results::{REPORT_SCHEMA_VERSION, Report};
use crate::snapshot::{Snapshot, ToolInfo};

/// The default number of accounts scanned at once.
pub const DEFAULT_ACCOUNTS_IN_FLIGHT: u16 = 16;
/// The default time one account's collection may take.
pub const DEFAULT_ACCOUNT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The default session name: shows in the member's CloudTrail.
pub const DEFAULT_SESSION_NAME: &str = "rampart-{account_id}";

const PARTITION: &str = "{partition}";
const ACCOUNT_ID: &str = "{account_id}";

/// The role to assume in each account: an ARN template with
/// `{partition}` and `{account_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleTemplate(String);

impl RoleTemplate {
    /// `--role-name NAME`: the role NAME (with an optional path) in every
    /// account.
    pub fn from_name(name: &str) -> Result<RoleTemplate, String> {
        let valid = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
        if name.is_empty() || !name.chars().all(valid) || name.starts_with('/') {
            return Err(format!(
                "`{name}` is not an IAM role name: use letters, digits and +=,.@_- (a path before it, as path/NAME, is allowed)"
            ));
        }
        Ok(RoleTemplate(format!(
            "arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{name}"
        )))
    }

    /// `--role-arn-template`: must name the account with `{account_id}`;
    /// `{partition}` is the scanning credentials' partition.
    pub fn from_template(template: &str) -> Result<RoleTemplate, String> {
        let role = RoleTemplate(template.to_owned());
        let sample = role.arn("aws", "123456789012");
        if !template.contains(ACCOUNT_ID) {
            return Err(format!(
                "the role ARN template `{template}` does not contain {ACCOUNT_ID}, so every account would assume the same role"
            ));
        }
        if sample.contains(['{', '}']) {
            return Err(format!(
                "the role ARN template `{template}` has a placeholder other than {PARTITION} and {ACCOUNT_ID}"
            ));
        }
        let parts: Vec<&str> = sample.splitn(6, ':').collect();
        let shaped = matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty() && *account == "123456789012" && resource.starts_with("role/") && resource.len() > 5);
        if !shaped {
            return Err(format!(
                "the role ARN template `{template}` does not give a role ARN in the account: expected arn:{PARTITION}:iam::{ACCOUNT_ID}:role/NAME"
            ));
        }
        Ok(role)
    }

    pub fn arn(&self, partition: &str, account_id: &str) -> String {
        self.0
            .replace(PARTITION, partition)
            .replace(ACCOUNT_ID, account_id)
    }
}

/// The role session name template, `{account_id}` its one placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionName(String);

impl SessionName {
    /// AWS allows 2 to 64 of letters, digits and `+=,.@_-`.
    pub fn new(template: &str) -> Result<SessionName, String> {
        let sample = template.replace(ACCOUNT_ID, "123456789012");
        let valid = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        if !(2..=64).contains(&sample.len()) || !sample.chars().all(valid) {
            return Err(format!(
                "`{template}` is not a role session name: 2 to 64 letters, digits and +=,.@_- once {ACCOUNT_ID} is filled in"
            ));
        }
        Ok(SessionName(template.to_owned()))
    }

    pub fn for_account(&self, account_id: &str) -> String {
        self.0.replace(ACCOUNT_ID, account_id)
    }
}

/// An output written for each account, into its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountOutput {
    pub format: Format,
    pub file_name: String,
}

/// The file every account's JSON report is written to.
pub const REPORT_FILE: &str = "report.json";
pub const SNAPSHOT_FILE: &str = "snapshot.json";

/// Everything a shard's run needs, checked.
pub struct OrgScan {
    pub accounts: AccountsFile,
    /// The accounts file as given, and the digest of its bytes.
    pub accounts_path: PathBuf,
    pub accounts_sha256: String,
    pub shard: Shard,
    pub role: RoleTemplate,
    pub external_id: Option<String>,
    /// Roles assumed in order before each account's role (role chaining).
    pub via_roles: Vec<String>,
    pub session_name: SessionName,
    pub in_flight: usize,
    pub account_timeout: Duration,
    pub out_dir: PathBuf,
    /// Besides `report.json`.
    pub outputs: Vec<AccountOutput>,
    pub keep_snapshots: bool,
    pub collect: CollectOptions,
    pub gate: Gate,
    /// An earlier run's `--out-dir`: each account is compared with its
    /// report there, when it has one.
    pub baseline_dir: Option<PathBuf>,
}

impl OrgScan {
    /// The shard's accounts, in id order.
    pub fn planned(&self) -> Vec<&OrgAccount> {
        planned(&self.accounts, self.shard)
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.out_dir.join(Manifest::file_name(self.shard))
    }
}

/// The accounts of `shard`, in id order.
pub fn planned(accounts: &AccountsFile, shard: Shard) -> Vec<&OrgAccount> {
    accounts
        .accounts
        .iter()
        .filter(|account| shard.contains(&account.id))
        .collect()
}

/// What the whole shard shares while its accounts run.
struct Shared {
    scan: OrgScan,
    plan: Plan,
    /// The configuration each account's role is assumed from (the
    /// scanning credentials, through any `--via-role`).
    base: SdkConfig,
    partition: String,
    progress: ProgressBar,
    /// Accounts being scanned, and those that could not be, for the bar.
    in_flight: AtomicUsize,
    not_scanned: AtomicUsize,
    /// One account is evaluated at a time: evaluation already uses every
    /// core, and two at once would only hold two analyses and reports in
    /// memory.
    evaluating: tokio::sync::Semaphore,
}

impl Shared {
    fn show_progress(&self) {
        self.progress.set_message(format!(
            "{} in flight, {} could not be scanned",
            self.in_flight.load(Ordering::Relaxed),
            self.not_scanned.load(Ordering::Relaxed)
        ));
    }
}

/// Scans the shard's accounts and writes the manifest. Fails only on what
/// concerns every account: the scanning credentials, the manifest.
pub async fn run(
    scan: OrgScan,
    plan: Plan,
    progress: ProgressBar,
) -> Result<Manifest, OrgScanError> {
    let started_at = now();
    let mut base = collect::configuration(&scan.collect).await?;
    // The scanning credentials are checked once, before any account; the
    // partition they are in fills `{partition}`.
    let identity = collect::identify(&base, &scan.collect).await?;
    for (position, via) in scan.via_roles.iter().enumerate() {
        let role = RoleToAssume {
            arn: via.clone(),
            session_name: scan.session_name.for_account(&identity.account_id),
            external_id: None,
        };
        base = collect::assume_role(&base, &role)
            .await
            .map_err(|err| OrgScanError::ViaRole {
                position: position + 1,
                source: err,
            })?;
    }
    let accounts: Vec<OrgAccount> = scan.planned().into_iter().cloned().collect();
    progress.set_length(accounts.len() as u64);
    let in_flight = scan.in_flight;
    let shared = Arc::new(Shared {
        scan,
        plan,
        base,
        partition: identity.partition,
        progress,
        in_flight: AtomicUsize::new(0),
        not_scanned: AtomicUsize::new(0),
        evaluating: tokio::sync::Semaphore::new(1),
    });
    let mut runs: Vec<AccountRun> = futures::stream::iter(accounts)
        .map(|account| {
            let shared = Arc::clone(&shared);
            let task = tokio::spawn({
                let account = account.clone();
                async move { Box::pin(scan_account(&shared, account)).await }
            });
            async move {
                // A task that panicked is a bug, but its account still gets
                // a line in the manifest: an account never goes missing.
                task.await.unwrap_or_else(|err| AccountRun {
                    problem: Some(format!("the scan stopped unexpectedly: {err}")),
                    ..AccountRun::not_scanned(account, AccountStatus::Error, now())
                })
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    runs.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    let scan = &shared.scan;
    let manifest = Manifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        tool: ToolInfo::current(),
        shard: scan.shard,
        accounts_file: scan.accounts_path.display().to_string(),
        accounts_sha256: scan.accounts_sha256.clone(),
        retry_of: scan.accounts.retry_of.clone(),
        organization_id: scan.accounts.organization_id.clone(),
        management_account_id: scan.accounts.management_account_id.clone(),
        rules_version: crate::engine::rules_version(&shared.plan.rules()),
        report_schema_version: REPORT_SCHEMA_VERSION,
        started_at,
        finished_at: now(),
        accounts: runs,
    };
    manifest.write(&scan.manifest_path())?;
    shared.progress.finish_and_clear();
    Ok(manifest)
}

#[expect(clippy::disallowed_methods, reason = "the run's own times")]
fn now() -> DateTime<Utc> {
    Utc::now()
}

/// What stops a whole shard.
#[derive(Debug, thiserror::Error)]
pub enum OrgScanError {
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error("--via-role number {position}: {source}")]
    ViaRole {
        position: usize,
        source: CollectError,
    },
    #[error(transparent)]
    File(#[from] FileError),
}

async fn scan_account(shared: &Shared, account: OrgAccount) -> AccountRun {
    shared.in_flight.fetch_add(1, Ordering::Relaxed);
    shared.show_progress();
    let started_at = now();
    let clock = Instant::now();
    let scan = &shared.scan;
    let outcome = tokio::time::timeout(scan.account_timeout, collect_account(shared, &account))
        .await
        .unwrap_or_else(|_| {
            Err((
                AccountStatus::Timeout,
                format!(
                    "the scan did not finish within {}s (--account-timeout)",
                    scan.account_timeout.as_secs()
                ),
            ))
        });
    let mut run = AccountRun::not_scanned(account.clone(), AccountStatus::Ok, started_at);
    let evaluated = match outcome {
        Ok(snapshot) => evaluate_and_write(shared, &account, snapshot).await,
        Err(failure) => Err(failure),
    };
    match evaluated {
        Ok(written) => {
            run.status = if written.failed_calls.is_empty() {
                AccountStatus::Ok
            } else {
                AccountStatus::Partial
            };
            run.failed_calls = written.failed_calls;
            run.report = Some(format!("{}/{REPORT_FILE}", account.id));
            run.failed = Some(written.failed);
            run.failing = written.failing;
            run.not_evaluated = Some(written.not_evaluated);
        }
        Err((status, problem)) => {
            tracing::warn!(account = account.id, status = status.name(), "{problem}");
            run.status = status;
            run.problem = Some(problem);
        }
    }
    run.seconds = clock.elapsed().as_secs_f64();
    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    if !run.status.scanned() {
        shared.not_scanned.fetch_add(1, Ordering::Relaxed);
    }
    shared.progress.inc(1);
    shared.show_progress();
    run
}

type Failure = (AccountStatus, String);

async fn collect_account(shared: &Shared, account: &OrgAccount) -> Result<Snapshot, Failure> {
    let scan = &shared.scan;
    let role = RoleToAssume {
        arn: scan.role.arn(&shared.partition, &account.id),
        session_name: scan.session_name.for_account(&account.id),
        external_id: scan.external_id.clone(),
    };
    let mut hint = String::new();
    if account.management {
        hint = "; this is the management account, which StackSets do not reach: deploy the role there by hand".to_owned();
    }
    let config = collect::assume_role(&shared.base, &role)
        .await
        .map_err(|err| (AccountStatus::AssumeRoleFailed, format!("{err}{hint}")))?;
    let snapshot = collect::collect_with(&config, &scan.collect, &ProgressBar::hidden())
        .await
        .map_err(|err| (AccountStatus::Error, err.to_string()))?;
    // The role's credentials must land in the account they were asked for.
    if snapshot.account.account_id != account.id {
        return Err((
            AccountStatus::Error,
            format!(
                "the role {} answered as account {}, not {}",
                role.arn, snapshot.account.account_id, account.id
            ),
        ));
    }
    Ok(snapshot)
}

/// What an evaluated account left behind.
struct Written {
    failed_calls: Vec<String>,
    failed: usize,
    failing: Option<usize>,
    not_evaluated: usize,
}

/// The account's report in an earlier run's directory, if it has one, and
/// the name the comparison gives it.
pub fn earlier_report(dir: &Path, account_id: &str) -> Result<(Option<Report>, String), FileError> {
    let path = dir.join(account_id).join(REPORT_FILE);
    if !path.exists() {
        return Ok((
            None,
            format!("{} (none: the account's first scan)", path.display()),
        ));
    }
    let report = Report::read(&path)?;
    if report.scan.account_id != account_id {
        return Err(FileError::Invalid {
            path: path.clone(),
            message: format!(
                "it is the report of account {}, not {account_id}",
                report.scan.account_id
            ),
        });
    }
    Ok((Some(report), path.display().to_string()))
}

/// Evaluates off the async workers (it is CPU work), writes the account's
/// files together, and drops the snapshot and report.
async fn evaluate_and_write(
    shared: &Shared,
    account: &OrgAccount,
    snapshot: Snapshot,
) -> Result<Written, Failure> {
    let failed_calls: Vec<String> = snapshot
        .collection_errors
        .iter()
        .map(|error| {
            format!(
                "{}:{} in {}: {}",
                error.service,
                error.operation,
                error.region.as_deref().unwrap_or("global"),
                error.code
            )
        })
        .collect();
    let dir = shared.scan.out_dir.join(&account.id);
    let _turn = shared.evaluating.acquire().await.map_err(|_| {
        (
            AccountStatus::Error,
            "the scan was shutting down before the account was evaluated".to_owned(),
        )
    })?;
    let written = tokio::task::block_in_place(|| -> Result<Written, FileError> {
        let started_at = now();
        let clock = RunClock {
            started_at,
            today: started_at.date_naive(),
            now: &now,
        };
        let earlier = match &shared.scan.baseline_dir {
            Some(dir) => Some(earlier_report(dir, &account.id)?),
            None => None,
        };
        let earlier = earlier.as_ref().map(|(report, name)| Earlier {
            report: report.as_ref(),
            name,
        });
        let outcome = shared
            .plan
            .run_against(&snapshot, &clock, &[], shared.scan.gate, earlier);
        let report = outcome.report;
        std::fs::create_dir_all(&dir).map_err(|source| FileError::Write {
            what: "account directory".to_owned(),
            path: dir.clone(),
            source,
        })?;
        let options = TerminalOptions {
            width: None,
            color: false,
            show_pass: false,
            show_suppressed: false,
            quiet: false,
            compliance: None,
        };
        let mut staged = vec![files::stage_with(
            &dir.join(REPORT_FILE),
            "report",
            |out| report::write(&report, Format::Json, &options, out),
        )?];
        for output in &shared.scan.outputs {
            staged.push(files::stage_with(
                &dir.join(&output.file_name),
                &format!("{} report", output.format),
                |out| report::write(&report, output.format, &options, out),
            )?);
        }
        if shared.scan.keep_snapshots {
            staged.push(files::stage_with(
                &dir.join(SNAPSHOT_FILE),
                "snapshot",
                |out| serde_json::to_writer(out, &snapshot).map_err(std::io::Error::from),
            )?);
        }
        files::commit_all(staged)?;
        Ok(Written {
            failed_calls,
            failed: report.summary.failed,
            failing: shared
                .scan
                .gate
                .fail_on
                .map(|threshold| report.failing_at(threshold, shared.scan.gate.new_only)),
            not_evaluated: report.unevaluated(),
        })
    })
    .map_err(|err| (AccountStatus::Error, err.to_string()))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_templates_name_a_role_in_the_account() {
        let role = RoleTemplate::from_name("audit/rampart-read").expect("name");
        assert_eq!(
            role.arn("aws-us-gov", "111122223333"),
            "arn:aws-us-gov:iam::111122223333:role/audit/rampart-read"
        );
        let template =
            RoleTemplate::from_template("arn:aws:iam::{account_id}:role/scan").expect("template");
        assert_eq!(
            template.arn("aws", "111122223333"),
            "arn:aws:iam::111122223333:role/scan"
        );
        for (bad, problem) in [
            (
                "arn:aws:iam::123456789012:role/scan",
                "does not contain {account_id}",
            ),
            (
                "arn:aws:iam::{account_id}:role/{name}",
                "a placeholder other than",
            ),
            (
                "arn:aws:iam::{account_id}:user/scan",
                "does not give a role ARN",
            ),
            ("{account_id}", "does not give a role ARN"),
        ] {
            let err = RoleTemplate::from_template(bad).expect_err(bad);
            assert!(err.contains(problem), "{bad}: {err}");
        }
        for bad in ["", "role name", "/scan", "scan*"] {
            assert!(RoleTemplate::from_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_names_stay_within_what_aws_accepts() {
        let name = SessionName::new(DEFAULT_SESSION_NAME).expect("default");
        assert_eq!(name.for_account("111122223333"), "rampart-111122223333");
        for bad in [
            "x",
            "has space",
            "{account_id}-{account_name}",
            &"a".repeat(65),
        ] {
            assert!(SessionName::new(bad).is_err(), "{bad}");
        }
    }
}
