//! `rampart merge`: one organization report from the shards of a run. The
//! shards' manifests are checked against each other first (one accounts
//! file, every shard once, no account twice, one rules version and report
//! schema); then the account reports are read one at a time, twice (once
//! for the summary that leads the report, once to write their findings),
//! so memory follows the largest account, not the organization.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::accounts::{OrgAccount, is_account_id};
use super::manifest::{AccountRun, AccountStatus, Manifest};
use super::shard::Shard;
use crate::error::FileError;
use crate::pipeline::Gate;
use crate::report::terminal::{self, TerminalOptions};
use crate::report::{junit, markdown, ocsf, sarif};
use crate::results::{Report, ReportFinding, RuleInfo, Summary};
use crate::snapshot::ToolInfo;
use crate::verdict::{Severity, Status};

pub const ORG_REPORT_SCHEMA_VERSION: u32 = 1;

/// One shard's manifest and the directory it was found in (its account
/// reports are relative to it).
#[derive(Debug, Clone)]
pub struct ShardOutput {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot list {}: {source}", dir.display())]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no shard manifest (manifest-I-of-N.json), as `rampart scan --accounts --out-dir` writes", .0.display())]
    NoManifest(PathBuf),
    #[error("the shards cannot be merged: {0}")]
    Inconsistent(String),
    #[error("cannot write the merged {what}: {source}")]
    Write {
        what: String,
        source: std::io::Error,
    },
}

/// Every `manifest-I-of-N.json` in `dirs`, read.
pub fn find(dirs: &[PathBuf]) -> Result<Vec<ShardOutput>, MergeError> {
    let mut found = Vec::new();
    for dir in dirs {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| MergeError::List {
                dir: dir.clone(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("manifest-") && name.ends_with(".json"))
            })
            .collect();
        if names.is_empty() {
            return Err(MergeError::NoManifest(dir.clone()));
        }
        names.sort();
        for path in names {
            found.push(ShardOutput {
                dir: dir.clone(),
                manifest: Manifest::read(&path)?,
            });
        }
    }
    Ok(found)
}

/// Whether the shards are one whole run: one accounts file, one rules
/// version and report schema, every shard 0..N-1 once, each account once
/// and in its own shard.
pub fn check(shards: &[ShardOutput]) -> Result<(), MergeError> {
    let inconsistent = |text: String| Err(MergeError::Inconsistent(text));
    let Some(first) = shards.first() else {
        return inconsistent("no shard was given".to_owned());
    };
    let first = &first.manifest;
    let count = first.shard.count;
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    let mut owner: BTreeMap<&str, u32> = BTreeMap::new();
    for shard in shards {
        let manifest = &shard.manifest;
        let name = Manifest::file_name(manifest.shard);
        let here = shard.dir.join(&name);
        if manifest.accounts_sha256 != first.accounts_sha256 {
            return inconsistent(format!(
                "{} read another accounts file than shard {} (SHA-256 {} and {})",
                here.display(),
                first.shard,
                manifest.accounts_sha256,
                first.accounts_sha256
            ));
        }
        if manifest.shard.count != count
            || Shard::new(manifest.shard.index, manifest.shard.count).is_err()
        {
            return inconsistent(format!(
                "{} is shard {} but shard {} is one of {count}",
                here.display(),
                manifest.shard,
                first.shard
            ));
        }
        if let Some((what, this, that)) = difference(manifest, first) {
            return inconsistent(format!(
                "{} ran with {what} {this}, shard {} with {that}",
                here.display(),
                first.shard
            ));
        }
        if let Some(other) = by_index.insert(manifest.shard.index, &shard.dir) {
            return inconsistent(format!(
                "shard {} appears twice, in {} and {}",
                manifest.shard,
                other.display(),
                shard.dir.display()
            ));
        }
        for run in &manifest.accounts {
            let id = run.account.id.as_str();
            if !is_account_id(id) {
                return inconsistent(format!(
                    "{} lists `{id}`, which is not an AWS account id",
                    here.display()
                ));
            }
            if run.status.scanned() != run.report.is_some() {
                return inconsistent(format!(
                    "{} says account {id} is {} but {}",
                    here.display(),
                    run.status.name(),
                    if run.report.is_some() {
                        "names a report for it"
                    } else {
                        "names no report for it"
                    }
                ));
            }
            if let Some(report) = &run.report
                && !Path::new(report)
                    .components()
                    .all(|part| matches!(part, Component::Normal(_)))
            {
                return inconsistent(format!(
                    "{} names account {id}'s report as {report}, outside its directory",
                    here.display()
                ));
            }
            if !manifest.shard.contains(id) {
                return inconsistent(format!(
                    "{} lists account {id}, which belongs to another shard",
                    here.display()
                ));
            }
            if owner.insert(id, manifest.shard.index).is_some() {
                return inconsistent(format!("account {id} appears twice"));
            }
        }
    }
    let missing: Vec<u32> = (0..count)
        .filter(|index| !by_index.contains_key(index))
        .collect();
    if !missing.is_empty() {
        // The first few name it; a count says how many more.
        const NAMED: usize = 10;
        let mut named: Vec<String> = missing
            .iter()
            .take(NAMED)
            .map(|index| format!("{index}/{count}"))
            .collect();
        if missing.len() > NAMED {
            named.push(format!("and {} more", missing.len() - NAMED));
        }
        return inconsistent(format!("shard(s) {} are missing", named.join(", ")));
    }
    Ok(())
}

/// The first of what runs merged together must share in which `manifest`
/// differs from `reference`: what it is, its value, the reference's.
fn difference(manifest: &Manifest, reference: &Manifest) -> Option<(&'static str, String, String)> {
    [
        (
            "organization",
            manifest.organization_id.clone(),
            reference.organization_id.clone(),
        ),
        (
            "rules version",
            manifest.rules_version.clone(),
            reference.rules_version.clone(),
        ),
        (
            "report schema version",
            manifest.report_schema_version.to_string(),
            reference.report_schema_version.to_string(),
        ),
    ]
    .into_iter()
    .find(|(_, this, that)| this != that)
}

/// The runs being merged: a first run, and any re-runs of the accounts it
/// could not scan (`merge --emit-failed`, then `scan --accounts` of that
/// file), whose results take the place of the first run's.
pub struct Runs {
    /// Every shard, the first run's first, then each re-run's in the order
    /// they started.
    pub shards: Vec<ShardOutput>,
    /// Each account's result, in the first run's order: the shard (an
    /// index into `shards`) and its place in that shard's manifest.
    results: Vec<(usize, usize)>,
}

/// Groups the shards into runs (one per accounts file), checks each run
/// is whole and that every other run re-scans accounts the first could
/// not, and picks each account's result.
pub fn runs(shards: Vec<ShardOutput>) -> Result<Runs, MergeError> {
    let inconsistent = |text: String| Err(MergeError::Inconsistent(text));
    let mut groups: BTreeMap<String, Vec<ShardOutput>> = BTreeMap::new();
    for shard in shards {
        groups
            .entry(shard.manifest.accounts_sha256.clone())
            .or_default()
            .push(shard);
    }
    for group in groups.values() {
        check(group)?;
    }
    let retry_of = |group: &[ShardOutput]| {
        group
            .first()
            .and_then(|shard| shard.manifest.retry_of.clone())
    };
    if groups.len() == 1
        && let Some(lone) = groups.values().next().and_then(|group| group.first())
        && lone.manifest.retry_of.is_some()
    {
        // Alone it would pass for the whole organization.
        return inconsistent(format!(
            "{} holds a re-run of the accounts another run could not scan; merge it together with that run's directories",
            lone.dir.display()
        ));
    }
    let first_digest = if groups.len() == 1 {
        groups.keys().next().cloned()
    } else {
        groups
            .keys()
            .find(|digest| {
                groups
                    .iter()
                    .filter(|(other, _)| other != digest)
                    .all(|(_, group)| retry_of(group).as_ref() == Some(*digest))
            })
            .cloned()
    };
    let Some(first_digest) = first_digest else {
        let described: Vec<String> = groups
            .iter()
            .map(|(digest, group)| {
                let dir = group.first().map(|shard| shard.dir.display().to_string());
                format!(
                    "{} (accounts file SHA-256 {digest})",
                    dir.unwrap_or_default()
                )
            })
            .collect();
        return inconsistent(format!(
            "the directories hold runs of different accounts files, and no run whose unscanned accounts the others re-scan: {}",
            described.join(", ")
        ));
    };
    let mut first = groups.remove(&first_digest).unwrap_or_default();
    let mut retries: Vec<Vec<ShardOutput>> = groups.into_values().collect();
    retries.sort_by_key(|group| group.iter().map(|shard| shard.manifest.started_at).min());
    let Some(reference) = first.first().map(|shard| shard.manifest.clone()) else {
        return inconsistent("no shard was given".to_owned());
    };
    let first_finished = first.iter().map(|shard| shard.manifest.finished_at).max();
    for shard in retries.iter().flatten() {
        let manifest = &shard.manifest;
        let here = shard.dir.join(Manifest::file_name(manifest.shard));
        // The accounts file may be scanned again on another day: only a
        // re-run made after this run re-scans its failures.
        if first_finished.is_some_and(|finished| manifest.started_at < finished) {
            return inconsistent(format!(
                "{} started before the run it re-scans had finished, so it is not a re-run of that run",
                here.display()
            ));
        }
        if let Some((what, this, that)) = difference(manifest, &reference) {
            return inconsistent(format!(
                "{} re-scans with {what} {this}, the run it re-scans had {that}",
                here.display()
            ));
        }
    }
    let first_shards = first.len();
    first.extend(retries.into_iter().flatten());
    let shards = first;
    let mut results = Vec::new();
    let mut position: BTreeMap<&str, usize> = BTreeMap::new();
    for (shard_index, shard) in shards.iter().enumerate() {
        for (run_index, run) in shard.manifest.accounts.iter().enumerate() {
            let id = run.account.id.as_str();
            if shard_index < first_shards {
                position.insert(id, results.len());
                results.push((shard_index, run_index));
                continue;
            }
            let here = shard.dir.join(Manifest::file_name(shard.manifest.shard));
            let Some(&at) = position.get(id) else {
                return inconsistent(format!(
                    "{} re-scans account {id}, which the run it re-scans does not list",
                    here.display()
                ));
            };
            let (earlier_shard, earlier_run) = results[at];
            let earlier = &shards[earlier_shard];
            if earlier.manifest.accounts[earlier_run].status.scanned() {
                return inconsistent(format!(
                    "account {id} was scanned in {} and again in {}",
                    earlier.dir.display(),
                    shard.dir.display()
                ));
            }
            results[at] = (shard_index, run_index);
        }
    }
    Ok(Runs { shards, results })
}

/// An account in the merged report: who it is, how its scan ended, and
/// what its report counted.
#[derive(Debug, Clone, Serialize)]
pub struct MergedAccount {
    #[serde(flatten)]
    pub account: OrgAccount,
    pub status: AccountStatus,
    pub problem: Option<String>,
    pub failed_calls: Vec<String>,
    /// Failing findings at or above `--fail-on`.
    pub failing: usize,
    pub summary: Option<Summary>,
    /// The account's report, as found.
    #[serde(skip)]
    pub report: Option<PathBuf>,
}

impl MergedAccount {
    /// `ACCOUNT_ID name (OU path)`, as a JUnit suite is named.
    fn suite_name(&self) -> String {
        let account = &self.account;
        format!(
            "{} {} ({})",
            account.id,
            account.name,
            account.ou_path.join("/")
        )
    }

    /// Most failing findings of the most severe band first.
    fn severity_key(&self) -> [usize; 5] {
        let count = |severity| {
            self.summary
                .as_ref()
                .and_then(|summary| summary.failed_by_severity.get(&severity).copied())
                .unwrap_or(0)
        };
        [
            count(Severity::Critical),
            count(Severity::High),
            count(Severity::Medium),
            count(Severity::Low),
            count(Severity::Info),
        ]
    }
}

/// What leads the merged JSON report, before its findings.
#[derive(Debug, Clone, Serialize)]
pub struct OrgSummary {
    pub accounts: usize,
    pub scanned: usize,
    pub partial: usize,
    pub not_scanned: usize,
    pub checks: usize,
    pub failed: usize,
    pub failed_by_severity: BTreeMap<Severity, usize>,
    pub not_evaluated: usize,
    pub suppressed: usize,
}

/// The shards' accounts with their reports' summaries, worst first, and
/// the rules that ran (every report ran the same ones).
pub struct Merged {
    pub shards: Vec<ShardOutput>,
    pub accounts: Vec<MergedAccount>,
    pub rules: Vec<RuleInfo>,
    pub summary: OrgSummary,
}

/// The first pass: each account's report read for its summary, then
/// dropped.
/// `gate` decides which failing findings count: at or above its severity,
/// and with `new_only` only those new against the account's baseline (all
/// of them where the account's report was compared with none).
pub fn summarise(runs: Runs, gate: Gate) -> Result<Merged, MergeError> {
    let Runs { shards, results } = runs;
    let mut accounts = Vec::new();
    let mut rules: Option<Vec<RuleInfo>> = None;
    for &(shard, run) in &results {
        let shard = &shards[shard];
        let run = &shard.manifest.accounts[run];
        let mut merged = merged_account(run);
        if let Some(relative) = &run.report {
            let path = shard.dir.join(relative);
            let report = Report::read(&path)?;
            let manifest = &shard.manifest;
            // A report left by another run (a shard stopped before it
            // rewrote this account) must not pass for this run's.
            let within = manifest.started_at <= report.scan.started_at
                && report.scan.finished_at <= manifest.finished_at;
            if report.scan.rules_version != manifest.rules_version || !within {
                return Err(MergeError::Inconsistent(format!(
                    "{} is not from the run {} describes (rules version {}, started {})",
                    path.display(),
                    Manifest::file_name(manifest.shard),
                    report.scan.rules_version,
                    report.scan.started_at
                )));
            }
            if report.scan.account_id != run.account.id {
                return Err(MergeError::Inconsistent(format!(
                    "{} is account {}'s report, not {}'s",
                    path.display(),
                    report.scan.account_id,
                    run.account.id
                )));
            }
            let only_new = gate.new_only && report.scan.baseline.is_some();
            merged.failing = gate
                .fail_on
                .map_or(0, |threshold| report.failing_at(threshold, only_new));
            if rules.is_none() {
                rules = Some(report.rules.clone());
            }
            merged.summary = Some(report.summary);
            merged.report = Some(path);
        }
        accounts.push(merged);
    }
    accounts.sort_by(|a, b| {
        b.severity_key()
            .cmp(&a.severity_key())
            .then_with(|| a.account.id.cmp(&b.account.id))
    });
    let summary = org_summary(&accounts);
    Ok(Merged {
        shards,
        accounts,
        rules: rules.unwrap_or_default(),
        summary,
    })
}

fn merged_account(run: &AccountRun) -> MergedAccount {
    MergedAccount {
        account: run.account.clone(),
        status: run.status,
        problem: run.problem.clone(),
        failed_calls: run.failed_calls.clone(),
        failing: 0,
        summary: None,
        report: None,
    }
}

fn org_summary(accounts: &[MergedAccount]) -> OrgSummary {
    let mut summary = OrgSummary {
        accounts: accounts.len(),
        scanned: 0,
        partial: 0,
        not_scanned: 0,
        checks: 0,
        failed: 0,
        failed_by_severity: BTreeMap::new(),
        not_evaluated: 0,
        suppressed: 0,
    };
    for account in accounts {
        match account.status {
            AccountStatus::Ok => summary.scanned += 1,
            AccountStatus::Partial => {
                summary.scanned += 1;
                summary.partial += 1;
            }
            _ => summary.not_scanned += 1,
        }
        if let Some(counts) = &account.summary {
            summary.checks += counts.checks;
            summary.failed += counts.failed;
            summary.not_evaluated += counts.not_evaluated + counts.errors;
            summary.suppressed += counts.suppressed;
            for (severity, count) in &counts.failed_by_severity {
                *summary.failed_by_severity.entry(*severity).or_default() += count;
            }
        }
    }
    summary
}

/// The formats `merge` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergedFormat {
    Table,
    Json,
    Sarif,
    Ocsf,
    Markdown,
    Junit,
}

/// The second pass, for one output: each account's report read again,
/// its part written, the report dropped.
pub fn write(merged: &Merged, format: MergedFormat, out: &mut dyn Write) -> Result<(), MergeError> {
    let failed = |source| write_error(format, source);
    match format {
        MergedFormat::Table => out
            .write_all(terminal::render_merged(merged, &TerminalOptions::default()).as_bytes())
            .map_err(failed),
        MergedFormat::Sarif => {
            let mut log = sarif::OrganizationLog::begin(
                out,
                &ToolInfo::current(),
                &merged.rules,
                &format!("rampart/organization/{}/", merged.organization_id()),
            )
            .map_err(failed)?;
            for_each_report(merged, |_, report| log.account(report, out).map_err(failed))?;
            let (started_at, finished_at) = merged.times();
            log.end(out, started_at, finished_at).map_err(failed)
        }
        MergedFormat::Junit => {
            out.write_all(junit::organization_open(merged.organization_id()).as_bytes())
                .map_err(failed)?;
            // Every account is a suite, those not scanned too: CI shows
            // them as errors.
            for account in &merged.accounts {
                let name = account.suite_name();
                let suite = match &account.report {
                    Some(path) => junit::account_suite(&Report::read(path)?, &name),
                    None => junit::unscanned_suite(
                        &name,
                        account.status.name(),
                        account.problem.as_deref().unwrap_or("not scanned"),
                        merged.times().0,
                    ),
                };
                out.write_all(suite.as_bytes()).map_err(failed)?;
            }
            out.write_all(junit::ORGANIZATION_CLOSE.as_bytes())
                .map_err(failed)
        }
        MergedFormat::Json | MergedFormat::Ocsf | MergedFormat::Markdown => {
            begin(merged, format, out).map_err(failed)?;
            // Whether the output has an element yet: the next one needs a
            // comma.
            let mut started = false;
            for_each_report(merged, |account, report| {
                started |= write_account(account, report, format, out, started).map_err(failed)?;
                Ok(())
            })?;
            end(format, out).map_err(failed)
        }
    }
}

/// Each scanned account's report, read in turn and dropped.
fn for_each_report(
    merged: &Merged,
    mut each: impl FnMut(&MergedAccount, &Report) -> Result<(), MergeError>,
) -> Result<(), MergeError> {
    for account in &merged.accounts {
        if let Some(path) = &account.report {
            each(account, &Report::read(path)?)?;
        }
    }
    Ok(())
}

impl Merged {
    fn first_manifest(&self) -> Option<&Manifest> {
        self.shards.first().map(|shard| &shard.manifest)
    }

    fn organization_id(&self) -> &str {
        self.first_manifest()
            .map_or("", |manifest| manifest.organization_id.as_str())
    }

    /// From the first shard's start to the last one's end.
    fn times(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let manifests = self.shards.iter().map(|shard| &shard.manifest);
        let started = manifests.clone().map(|m| m.started_at).min();
        let finished = manifests.map(|m| m.finished_at).max();
        match (started, finished) {
            (Some(started), Some(finished)) => (started, finished),
            _ => (DateTime::<Utc>::UNIX_EPOCH, DateTime::<Utc>::UNIX_EPOCH),
        }
    }
}

fn write_error(format: MergedFormat, source: std::io::Error) -> MergeError {
    let what = match format {
        MergedFormat::Table => "table",
        MergedFormat::Json => "JSON report",
        MergedFormat::Sarif => "SARIF log",
        MergedFormat::Ocsf => "OCSF findings",
        MergedFormat::Markdown => "Markdown report",
        MergedFormat::Junit => "JUnit XML",
    };
    MergeError::Write {
        what: what.to_owned(),
        source,
    }
}

/// The head of the merged JSON report, up to its findings.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    tool: ToolInfo,
    organization_id: &'a str,
    management_account_id: &'a str,
    accounts_sha256: &'a str,
    shards: u32,
    rules_version: &'a str,
    report_schema_version: u32,
    summary: &'a OrgSummary,
    accounts: &'a [MergedAccount],
    rules: &'a [RuleInfo],
}

/// A finding of the merged report: the account's result, with the
/// account's name and OU path beside the id its resource already names.
#[derive(Serialize)]
struct MergedFinding<'a> {
    #[serde(flatten)]
    finding: &'a ReportFinding,
    account_name: &'a str,
    ou_path: &'a [String],
}

fn begin(merged: &Merged, format: MergedFormat, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        MergedFormat::Json => {
            let manifest = merged
                .first_manifest()
                .ok_or_else(|| std::io::Error::other("no shard"))?;
            let head = serde_json::to_string(&Head {
                schema_version: ORG_REPORT_SCHEMA_VERSION,
                tool: ToolInfo::current(),
                organization_id: &manifest.organization_id,
                management_account_id: &manifest.management_account_id,
                accounts_sha256: &manifest.accounts_sha256,
                shards: manifest.shard.count,
                rules_version: &manifest.rules_version,
                report_schema_version: manifest.report_schema_version,
                summary: &merged.summary,
                accounts: &merged.accounts,
                rules: &merged.rules,
            })?;
            // The head's closing brace gives way to the findings.
            let open = head.strip_suffix('}').unwrap_or(&head);
            write!(out, "{open},\"findings\":[")
        }
        MergedFormat::Ocsf => out.write_all(b"["),
        MergedFormat::Markdown => out.write_all(markdown::organization(merged).as_bytes()),
        // Written whole by `write`.
        MergedFormat::Sarif | MergedFormat::Table | MergedFormat::Junit => Ok(()),
    }
}

/// Writes one account's part; whether it wrote an element.
fn write_account(
    account: &MergedAccount,
    report: &Report,
    format: MergedFormat,
    out: &mut dyn Write,
    started: bool,
) -> std::io::Result<bool> {
    match format {
        MergedFormat::Json => {
            let mut wrote = false;
            for finding in report
                .findings
                .iter()
                .filter(|f| f.finding.status != Status::Pass)
            {
                if started || wrote {
                    out.write_all(b",")?;
                }
                wrote = true;
                serde_json::to_writer(
                    &mut *out,
                    &MergedFinding {
                        finding,
                        account_name: &account.account.name,
                        ou_path: &account.account.ou_path,
                    },
                )?;
            }
            Ok(wrote)
        }
        MergedFormat::Ocsf => ocsf::write_elements(report, out, !started),
        // Written whole by `write`.
        MergedFormat::Sarif | MergedFormat::Table | MergedFormat::Junit => Ok(false),
        MergedFormat::Markdown => {
            writeln!(out, "\n---\n")?;
            out.write_all(markdown::render(report).as_bytes())?;
            Ok(true)
        }
    }
}

fn end(format: MergedFormat, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        MergedFormat::Json => out.write_all(b"]}\n"),
        MergedFormat::Ocsf => out.write_all(b"]\n"),
        MergedFormat::Markdown
        | MergedFormat::Sarif
        | MergedFormat::Table
        | MergedFormat::Junit => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn account(id: &str) -> AccountRun {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("time");
        let account = OrgAccount {
            id: id.to_owned(),
            name: format!("account-{id}"),
            email: "a@example.com".to_owned(),
            ou_path: vec!["Root".to_owned()],
            parent_id: "r-abcd".to_owned(),
            management: false,
        };
        AccountRun {
            report: Some(format!("{id}/report.json")),
            ..AccountRun::not_scanned(account, AccountStatus::Ok, at)
        }
    }

    fn shard(index: u32, count: u32, ids: &[&str]) -> ShardOutput {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("time");
        ShardOutput {
            dir: PathBuf::from(format!("out-{index}")),
            manifest: Manifest {
                schema_version: 1,
                tool: ToolInfo::current(),
                shard: Shard { index, count },
                accounts_file: "accounts.json".to_owned(),
                accounts_sha256: "aa".repeat(32),
                retry_of: None,
                organization_id: "o-abcdefghij".to_owned(),
                management_account_id: "111111111111".to_owned(),
                rules_version: "0.1.0+abc".to_owned(),
                report_schema_version: 3,
                started_at: at,
                finished_at: at,
                accounts: ids.iter().map(|id| account(id)).collect(),
            },
        }
    }

    fn problem(shards: &[ShardOutput]) -> String {
        match check(shards) {
            Err(MergeError::Inconsistent(problem)) => problem,
            other => panic!("expected an inconsistency, got {other:?}"),
        }
    }

    /// A shard of a re-run of the first run's unscanned accounts.
    fn retry(index: u32, count: u32, ids: &[&str]) -> ShardOutput {
        let mut retry = shard(index, count, ids);
        retry.dir = PathBuf::from(format!("retry-{index}"));
        retry.manifest.accounts_sha256 = "bb".repeat(32);
        retry.manifest.retry_of = Some("aa".repeat(32));
        retry
    }

    /// The first run: 222222222222 scanned, 111111111111 not.
    fn first_run() -> Vec<ShardOutput> {
        let mut denied = shard(1, 2, &[]);
        let at = denied.manifest.started_at;
        denied.manifest.accounts = vec![AccountRun::not_scanned(
            account("111111111111").account,
            AccountStatus::AssumeRoleFailed,
            at,
        )];
        vec![shard(0, 2, &["222222222222"]), denied]
    }

    fn runs_problem(shards: Vec<ShardOutput>) -> String {
        match runs(shards) {
            Err(MergeError::Inconsistent(problem)) => problem,
            Err(other) => panic!("expected an inconsistency, got {other:?}"),
            Ok(_) => panic!("expected an inconsistency, got runs"),
        }
    }

    #[test]
    fn a_re_run_takes_the_place_of_the_accounts_it_scans_again() {
        // Given re-run first: the order of the directories does not matter.
        let mut shards = vec![retry(0, 1, &["111111111111"])];
        shards.extend(first_run());
        let merged = runs(shards).expect("runs");
        let sources: Vec<(&str, &Path)> = merged
            .results
            .iter()
            .map(|&(shard, run)| {
                let shard = &merged.shards[shard];
                (
                    shard.manifest.accounts[run].account.id.as_str(),
                    shard.dir.as_path(),
                )
            })
            .collect();
        assert_eq!(
            sources,
            [
                ("222222222222", Path::new("out-0")),
                ("111111111111", Path::new("retry-0")),
            ]
        );
        assert_eq!(merged.shards[0].dir, Path::new("out-0"));
    }

    #[test]
    fn a_re_run_must_re_scan_what_the_first_run_could_not() {
        let mut again = first_run();
        again.push(retry(0, 1, &["222222222222"]));
        assert_eq!(
            runs_problem(again),
            "account 222222222222 was scanned in out-0 and again in retry-0"
        );
        let mut stranger = first_run();
        stranger.push(retry(0, 1, &["333333333333"]));
        assert_eq!(
            runs_problem(stranger),
            "retry-0/manifest-0-of-1.json re-scans account 333333333333, which the run it re-scans does not list"
        );
        let mut unrelated = first_run();
        let mut other = retry(0, 1, &["111111111111"]);
        other.manifest.retry_of = None;
        unrelated.push(other);
        assert_eq!(
            runs_problem(unrelated),
            format!(
                "the directories hold runs of different accounts files, and no run whose unscanned accounts the others re-scan: out-0 (accounts file SHA-256 {}), retry-0 (accounts file SHA-256 {})",
                "aa".repeat(32),
                "bb".repeat(32)
            )
        );
        assert_eq!(
            runs_problem(vec![retry(0, 1, &["111111111111"])]),
            "retry-0 holds a re-run of the accounts another run could not scan; merge it together with that run's directories"
        );
        // The same accounts file scanned the day before: not a re-run.
        let mut day_before = first_run();
        let mut earlier = retry(0, 1, &["111111111111"]);
        earlier.manifest.started_at -= chrono::Duration::days(1);
        day_before.push(earlier);
        assert_eq!(
            runs_problem(day_before),
            "retry-0/manifest-0-of-1.json started before the run it re-scans had finished, so it is not a re-run of that run"
        );
        let mut newer_rules = first_run();
        let mut newer = retry(0, 1, &["111111111111"]);
        newer.manifest.rules_version = "0.2.0+def".to_owned();
        newer_rules.push(newer);
        assert_eq!(
            runs_problem(newer_rules),
            "retry-0/manifest-0-of-1.json re-scans with rules version 0.2.0+def, the run it re-scans had 0.1.0+abc"
        );
    }

    #[test]
    fn with_fail_on_new_only_new_failures_count_and_all_where_no_baseline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/report/report.json");
        let report = Report::read(Path::new(fixture)).expect("fixture report");
        let id = report.scan.account_id.clone();
        std::fs::create_dir_all(dir.path().join(&id)).expect("mkdir");
        std::fs::copy(fixture, dir.path().join(&id).join("report.json")).expect("copy");
        let mut merged_shard = shard(0, 1, &[id.as_str()]);
        merged_shard.dir = dir.path().to_owned();
        merged_shard.manifest.rules_version = report.scan.rules_version.clone();
        merged_shard.manifest.started_at = report.scan.started_at;
        merged_shard.manifest.finished_at = report.scan.finished_at;
        let failing = |new_only: bool| {
            let runs = runs(vec![merged_shard.clone()]).expect("runs");
            let gate = Gate {
                fail_on: Some(Severity::Low),
                new_only,
                strict: false,
            };
            summarise(runs, gate).expect("summarise").accounts[0].failing
        };
        let new = report.failing_at(Severity::Low, true);
        assert!(report.scan.baseline.is_some());
        assert!(0 < new && new < report.failing_at(Severity::Low, false));
        assert_eq!(failing(true), new);
        assert_eq!(failing(false), report.failing_at(Severity::Low, false));
    }

    #[test]
    fn the_shards_of_one_run_merge() {
        // 111111111111 % 2 = 1, 222222222222 % 2 = 0.
        let whole = [
            shard(0, 2, &["222222222222"]),
            shard(1, 2, &["111111111111"]),
        ];
        assert!(check(&whole).is_ok());
    }

    #[test]
    fn a_missing_or_doubled_shard_is_named() {
        assert_eq!(
            problem(&[shard(0, 3, &[]), shard(2, 3, &[])]),
            "shard(s) 1/3 are missing"
        );
        assert_eq!(
            problem(&[shard(0, 2, &[]), shard(0, 2, &[]), shard(1, 2, &[])]),
            "shard 0/2 appears twice, in out-0 and out-0"
        );
        assert_eq!(
            problem(&[shard(0, 2, &[]), shard(1, 3, &[])]),
            "out-1/manifest-1-of-3.json is shard 1/3 but shard 0/2 is one of 2"
        );
    }

    #[test]
    fn an_account_twice_or_in_the_wrong_shard_is_refused() {
        assert_eq!(
            problem(&[shard(0, 1, &["111111111111", "111111111111"])]),
            "account 111111111111 appears twice"
        );
        assert_eq!(
            problem(&[shard(0, 2, &["111111111111"]), shard(1, 2, &[])]),
            "out-0/manifest-0-of-2.json lists account 111111111111, which belongs to another shard"
        );
    }

    #[test]
    fn a_manifest_that_contradicts_itself_is_refused() {
        let mut no_report = [shard(0, 1, &["111111111111"])];
        no_report[0].manifest.accounts[0].report = None;
        assert_eq!(
            problem(&no_report),
            "out-0/manifest-0-of-1.json says account 111111111111 is ok but names no report for it"
        );
        let mut outside = [shard(0, 1, &["111111111111"])];
        outside[0].manifest.accounts[0].report = Some("../elsewhere/report.json".to_owned());
        assert_eq!(
            problem(&outside),
            "out-0/manifest-0-of-1.json names account 111111111111's report as \
             ../elsewhere/report.json, outside its directory"
        );
        assert_eq!(
            problem(&[shard(0, 1, &["+11111111111"])]),
            "out-0/manifest-0-of-1.json lists `+11111111111`, which is not an AWS account id"
        );
    }

    #[test]
    fn mixed_inputs_rules_or_schemas_are_refused() {
        let mut other_file = [shard(0, 2, &[]), shard(1, 2, &[])];
        other_file[1].manifest.accounts_sha256 = "bb".repeat(32);
        assert!(
            problem(&other_file).starts_with(
                "out-1/manifest-1-of-2.json read another accounts file than shard 0/2"
            )
        );
        let mut other_rules = [shard(0, 2, &[]), shard(1, 2, &[])];
        other_rules[1].manifest.rules_version = "0.2.0+def".to_owned();
        assert_eq!(
            problem(&other_rules),
            "out-1/manifest-1-of-2.json ran with rules version 0.2.0+def, shard 0/2 with 0.1.0+abc"
        );
        let mut other_schema = [shard(0, 2, &[]), shard(1, 2, &[])];
        other_schema[0].manifest.report_schema_version = 2;
        other_schema[1].manifest.report_schema_version = 3;
        assert_eq!(
            problem(&other_schema),
            "out-1/manifest-1-of-2.json ran with report schema version 3, shard 0/2 with 2"
        );
    }
}
