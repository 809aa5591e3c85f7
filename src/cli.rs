//! The command line: argument definitions and what each command does.
//! Conventions follow the AWS CLI (`--profile`, `--region`,
//! `--endpoint-url`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`). The only module
//! that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use chrono::Utc;

use crate::collect::{self, CollectOptions, RegionSelection};
use crate::compliance;
use crate::engine::resources::ResourceType;
use crate::engine::rule::Rule;
use crate::engine::{Engine, Selection};
use crate::files;
use crate::org;
use crate::org::accounts::{AccountsFile, is_account_id};
use crate::org::manifest::Manifest;
use crate::org::merge::MergedFormat;
use crate::org::scan::{AccountOutput, OrgScan, RoleTemplate, SessionName};
use crate::org::shard::Shard;
use crate::pipeline::{Gate, Plan, PlanOptions, RunClock, Verdict};
use crate::report::terminal::TerminalOptions;
use crate::report::{self, Format};
use crate::results::Report;
use crate::snapshot::Snapshot;
use crate::triage::baseline;
use crate::verdict::Severity;

/// How a run ends, as its exit code tells it; documented in `--help` and
/// the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing failing at or above `--fail-on`; every rule test passed.
    Success,
    /// Failing findings at or above `--fail-on`; a rule test failed.
    Failing,
    /// Bad flags or input, missing profile or credentials, an unreadable
    /// snapshot, an unwritable output.
    Error,
    /// `--strict` was given and some data could not be collected or
    /// evaluated; in an organization scan, an account could not be scanned.
    Incomplete,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failing => 1,
            Exit::Error => 2,
            Exit::Incomplete => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Read-only AWS security posture scanner",
    after_help = "Exit codes:\n  0  nothing failing at or above --fail-on (rules test: every rule test passed)\n  1  failing findings at or above --fail-on (rules test: a rule test failed)\n  2  usage, configuration, rule, suppression, credential or input error\n  3  the scan ran but some data could not be collected or evaluated, and --strict was given;\n     with --accounts, an account could not be scanned at all"
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect a read-only snapshot of the account and write it as JSON.
    Collect(CollectArgs),
    /// Collect, evaluate the rules and report in one go.
    Scan(Box<ScanArgs>),
    /// Evaluate the rules on a saved snapshot and report, with no AWS access at all.
    Evaluate(EvaluateArgs),
    /// Render a saved JSON report in another format, with no AWS access at all.
    Report(ReportArgs),
    /// Compare two JSON reports: new, resolved and unchanged failing findings.
    Diff(DiffArgs),
    /// List, document and test the rules.
    Rules(RulesArgs),
    /// Work with an AWS Organization: list its accounts for `scan --accounts`.
    Org(OrgArgs),
    /// Merge the shards of an organization scan (`scan --accounts --out-dir`) into one report.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output directories (each with its manifest-I-of-N.json and account reports).
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,

    /// Write the organization report as FORMAT to PATH (`-` for stdout); repeat for
    /// several. Formats: table, json, sarif, ocsf, junit, markdown. Without one that
    /// goes to stdout, the table of accounts is printed there.
    #[arg(short, long = "output", value_name = "FORMAT=PATH", value_parser = parse_output)]
    pub outputs: Vec<Output>,

    /// Exit 1 when a failing finding of any account is at or above this severity: info,
    /// low, medium, high, critical, or `never`.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_threshold)]
    pub fail_on: Threshold,

    /// Count only failing findings new against each account's baseline (a
    /// `scan --accounts --baseline DIR`) for --fail-on; an account's report
    /// compared with no baseline counts every failure.
    #[arg(long)]
    pub fail_on_new: bool,

    /// Exit 3 when more accounts than this could not be scanned: a count, or a percentage
    /// of the accounts such as 5%.
    #[arg(long, value_name = "N|P%", default_value = "0", value_parser = parse_max_failed)]
    pub max_failed_accounts: MaxFailed,

    /// Write the accounts that could not be scanned as an accounts file, for a re-run.
    #[arg(long, value_name = "FILE")]
    pub emit_failed: Option<PathBuf>,

    /// No colour, even on a terminal (NO_COLOR is honoured too).
    #[arg(long)]
    pub no_color: bool,
}

/// `--max-failed-accounts`: how many accounts may fail to be scanned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxFailed {
    Count(usize),
    Percent(f64),
}

impl MaxFailed {
    fn exceeded(self, failed: usize, accounts: usize) -> bool {
        match self {
            MaxFailed::Count(most) => failed > most,
            MaxFailed::Percent(most) => failed as f64 * 100.0 > most * accounts as f64,
        }
    }
}

fn parse_max_failed(text: &str) -> Result<MaxFailed, String> {
    let parsed = match text.strip_suffix('%') {
        Some(percent) => percent
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=100.0).contains(p))
            .map(MaxFailed::Percent),
        None => text.parse::<usize>().ok().map(MaxFailed::Count),
    };
    parsed.ok_or_else(|| {
        format!("`{text}` is not a count of accounts or a percentage from 0% to 100%, e.g. 3 or 5%")
    })
}

#[derive(Debug, Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    pub command: OrgCommand,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// List the organization's ACTIVE accounts into an accounts file, from the
    /// management account or a delegated administrator.
    Accounts(OrgAccountsArgs),
}

#[derive(Debug, Args)]
pub struct OrgAccountsArgs {
    /// Named profile from ~/.aws/config or ~/.aws/credentials; AWS_PROFILE is honoured too.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Send every AWS call to this endpoint (e.g. an emulator).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Assume this role (in the management or delegated administrator account) to list.
    #[arg(long, value_name = "ARN")]
    pub org_role: Option<String>,

    /// List only the accounts under this organizational unit, recursively; repeat for several.
    #[arg(long = "ou", value_name = "OU_ID")]
    pub units: Vec<String>,

    /// Leave this account out; repeat for several.
    #[arg(long = "exclude-account", value_name = "ID")]
    pub exclude: Vec<String>,

    /// Where to write the accounts file; `-` for stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct RuleSelection {
    /// Also load every rule file (*.yaml) under DIR.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,

    /// Run only this rule (id or alias); repeat for several.
    #[arg(long = "rule", value_name = "ID")]
    pub rule: Vec<String>,

    /// Skip this rule (id or alias); repeat for several.
    #[arg(long = "exclude-rule", value_name = "ID")]
    pub exclude_rule: Vec<String>,

    /// Report only findings of this severity or higher: info, low, medium, high, critical.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub severity: Option<Severity>,

    /// Run only rules mapped to this compliance framework, e.g. cis-aws-foundations-3.0.
    #[arg(long, value_name = "FRAMEWORK")]
    pub compliance: Option<String>,

    /// Rule parameters from a YAML file: `rules: {RULE_ID: {vars: {NAME: VALUE}}}`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
}

impl RuleSelection {
    fn selection(&self) -> Selection {
        Selection {
            rules: self.rule.clone(),
            exclude: self.exclude_rule.clone(),
            min_severity: self.severity,
            compliance: self.compliance.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// A table of the rules: id, severity, resource type, a column per compliance framework, the Prowler check, the evaluator.
    List {
        /// Also load every rule file (*.yaml) under DIR.
        #[arg(long = "rules", value_name = "DIR")]
        rules_dir: Option<PathBuf>,
    },
    /// A rule's full documentation.
    Show {
        /// Rule id or alias.
        id: String,
        /// Also load every rule file (*.yaml) under DIR.
        #[arg(long = "rules", value_name = "DIR")]
        rules_dir: Option<PathBuf>,
    },
    /// Run the inline tests of the rules in DIR (default: the built-in rules).
    Test {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The fields a rule reads as `resource` on TYPE, with their types and
    /// meaning; without TYPE, the resource types.
    Schema {
        #[arg(value_name = "TYPE", value_parser = resource_type)]
        resource_type: Option<ResourceType>,
    },
}

fn resource_type(name: &str) -> Result<ResourceType, String> {
    ResourceType::ALL
        .into_iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = ResourceType::ALL.iter().map(|t| t.name()).collect();
            format!("no resource type `{name}` (one of: {})", names.join(", "))
        })
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config or ~/.aws/credentials (SSO profiles included);
    /// wins over credentials in the environment. AWS_PROFILE is honoured too.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Region to scan; repeat for several, or `all`. Default: every region enabled for the account.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    /// Send every AWS call to this endpoint (e.g. an emulator). AWS_ENDPOINT_URL and
    /// AWS_ENDPOINT_URL_<SERVICE> are honoured too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Fetch at most N active GuardDuty findings per region, most severe first;
    /// the per-severity counts stay complete and the snapshot says when the list was cut.
    #[arg(long, value_name = "N", default_value_t = collect::DEFAULT_GUARDDUTY_MAX_FINDINGS)]
    pub guardduty_max_findings: usize,

    /// Give up one attempt of an AWS call after this long (seconds, or with
    /// an s or m suffix); the call is retried within --operation-deadline.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value_t = Seconds(collect::DEFAULT_CALL_TIMEOUT))]
    pub call_timeout: Seconds,

    /// Give up an AWS call, every attempt together, after this long; the
    /// call is recorded as failed and the checks that need it are not evaluated.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value_t = Seconds(collect::DEFAULT_OPERATION_DEADLINE))]
    pub operation_deadline: Seconds,

    /// Send N AWS requests a second for an account on average, every
    /// service, region and retry together (after a first burst of N), so the
    /// scan leaves the account's API quotas to its own workloads; the wait
    /// counts toward --call-timeout. 0 for no limit.
    #[arg(long, value_name = "N", env = "RAMPART_MAX_REQUEST_RATE",
          default_value_t = collect::DEFAULT_MAX_REQUEST_RATE)]
    pub max_request_rate: u32,
}

/// A duration given in whole seconds, shown as `20s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}s", self.0.as_secs())
    }
}

/// `30`, `30s` or `2m`: a whole number of seconds or minutes, above zero.
fn parse_duration(text: &str) -> Result<Seconds, String> {
    let (number, unit) = match text.strip_suffix('m') {
        Some(minutes) => (minutes, 60),
        None => (text.strip_suffix('s').unwrap_or(text), 1),
    };
    match number
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit))
    {
        Some(secs) if secs > 0 => Ok(Seconds(Duration::from_secs(secs))),
        _ => Err(format!(
            "`{text}` is not a duration: use whole seconds or minutes above zero, e.g. 30, 30s or 2m"
        )),
    }
}

impl AwsArgs {
    fn options(&self) -> anyhow::Result<CollectOptions> {
        Ok(CollectOptions {
            profile: self.profile.clone(),
            regions: RegionSelection::from_args(&self.regions)?,
            endpoint_url: self.endpoint_url.clone(),
            guardduty_max_findings: self.guardduty_max_findings,
            call_timeout: self.call_timeout.0,
            operation_deadline: self.operation_deadline.0,
            max_request_rate: NonZeroU32::new(self.max_request_rate),
        })
    }
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub aws: AwsArgs,

    /// Where to write the snapshot; `-` for stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub organization: OrgScanArgs,

    #[command(flatten)]
    pub evaluation: EvaluationArgs,
}

/// Scanning many accounts of an organization, each through a role.
#[derive(Debug, Args)]
#[command(next_help_heading = "Organization")]
pub struct OrgScanArgs {
    /// Scan every account of this accounts file (`rampart org accounts`), each
    /// through a role assumed in it.
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,

    /// The role to assume in each account, by name (or path/NAME).
    #[arg(
        long,
        value_name = "NAME",
        requires = "accounts",
        conflicts_with = "role_arn_template"
    )]
    pub role_name: Option<String>,

    /// The role to assume in each account, as an ARN with {partition} and {account_id},
    /// e.g. 'arn:{partition}:iam::{account_id}:role/path/NAME'.
    #[arg(long, value_name = "TEMPLATE", requires = "accounts")]
    pub role_arn_template: Option<String>,

    /// The external id the accounts' roles require; RAMPART_EXTERNAL_ID keeps it
    /// off the command line.
    #[arg(
        long,
        value_name = "ID",
        env = "RAMPART_EXTERNAL_ID",
        hide_env_values = true
    )]
    pub external_id: Option<String>,

    /// Assume this role first and each account's role from it; repeat to chain several.
    #[arg(long = "via-role", value_name = "ARN", requires = "accounts")]
    pub via_roles: Vec<String>,

    /// The role session name, which shows in each account's CloudTrail; {account_id} is filled in.
    #[arg(long, value_name = "TEMPLATE", requires = "accounts")]
    pub session_name: Option<String>,

    /// Scan shard I of N (counting from 0): the accounts whose id modulo N is I.
    #[arg(
        long,
        value_name = "I/N",
        requires = "accounts",
        conflicts_with = "shard_from_env"
    )]
    pub shard: Option<org::shard::Shard>,

    /// Take the shard index from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job); needs --shards.
    #[arg(long, requires_all = ["accounts", "shards"])]
    pub shard_from_env: bool,

    /// The number of shards, with --shard-from-env.
    #[arg(long, value_name = "N", requires = "shard_from_env")]
    pub shards: Option<u32>,

    /// Scan at most this many accounts at once.
    #[arg(long, value_name = "K", requires = "accounts",
          default_value_t = org::scan::DEFAULT_ACCOUNTS_IN_FLIGHT,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub accounts_in_flight: u16,

    /// Give up an account whose collection takes longer than this (status `timeout`).
    #[arg(long, value_name = "DURATION", requires = "accounts", value_parser = parse_duration,
          default_value_t = Seconds(org::scan::DEFAULT_ACCOUNT_TIMEOUT))]
    pub account_timeout: Seconds,

    /// Write each account's report to DIR/ACCOUNT_ID/ and the shard's manifest to DIR.
    #[arg(long, value_name = "DIR", requires = "accounts")]
    pub out_dir: Option<PathBuf>,

    /// Also keep each account's snapshot, as DIR/ACCOUNT_ID/snapshot.json.
    #[arg(long, requires = "accounts")]
    pub keep_snapshots: bool,

    /// Print the accounts this shard would scan and exit, without calling AWS.
    #[arg(long, requires = "accounts")]
    pub plan: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A snapshot written by `rampart collect`.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: PathBuf,

    #[command(flatten)]
    pub evaluation: EvaluationArgs,
}

/// Everything `scan` and `evaluate` share: which rules, what has been
/// triaged, where the report goes and how it looks.
#[derive(Debug, Args)]
pub struct EvaluationArgs {
    #[command(flatten)]
    pub rules: RuleSelection,

    #[command(flatten)]
    pub triage: TriageArgs,

    #[command(flatten)]
    pub outputs: OutputArgs,

    #[command(flatten)]
    pub terminal: TerminalArgs,

    /// After the table, this framework's controls with their status (FAIL,
    /// NOT_EVALUATED, PASS, MANUAL, OUT_OF_SCOPE), e.g. cis-aws-foundations-3.0;
    /// Markdown reports list every framework's.
    #[arg(long, value_name = "FRAMEWORK")]
    pub compliance_report: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A JSON report written by `scan` or `evaluate` (`--output json=FILE`).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,

    /// Render to stdout in this format (when no --output is given).
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: Format,

    #[command(flatten)]
    pub outputs: OutputArgs,

    #[command(flatten)]
    pub terminal: TerminalArgs,

    /// Print this framework's controls with their status (FAIL,
    /// NOT_EVALUATED, PASS, MANUAL, OUT_OF_SCOPE) instead of the findings,
    /// e.g. cis-aws-foundations-3.0; tables written with --output end with it.
    #[arg(long, value_name = "FRAMEWORK", conflicts_with = "format")]
    pub compliance: Option<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier JSON report.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The later JSON report.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    #[command(flatten)]
    pub terminal: TerminalArgs,
}

/// What decides the exit code, and what a team has already accepted.
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Exit 1 when a failing finding is at or above this severity: info, low,
    /// medium, high, critical, or `never`.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_threshold)]
    pub fail_on: Threshold,

    /// Compare with an earlier JSON report: each failing finding is marked
    /// new or existing, and findings no longer failing are listed as resolved.
    /// With --accounts, an earlier run's --out-dir: each account is compared
    /// with its report there (an account without one has every failure new).
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,

    /// Count only new findings (against --baseline) for --fail-on.
    #[arg(long, requires = "baseline")]
    pub fail_on_new: bool,

    /// Accepted findings: a YAML file of rule/account/region/resource
    /// patterns, each with a reason and an optional expiry date.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,

    /// Exit 3 when some data could not be collected or evaluated (and
    /// nothing fails at or above --fail-on).
    #[arg(long)]
    pub strict: bool,
}

/// Colour only on a terminal, and never with `--no-color` or a non-empty
/// `NO_COLOR` (no-color.org).
fn use_color(terminal: bool, no_color_flag: bool, no_color_env: Option<OsString>) -> bool {
    terminal && !no_color_flag && no_color_env.is_none_or(|value| value.is_empty())
}

/// `--fail-on`: a severity, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold(pub Option<Severity>);

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    if text.eq_ignore_ascii_case("never") {
        return Ok(Threshold(None));
    }
    parse_severity(text)
        .map(|severity| Threshold(Some(severity)))
        .map_err(|_| {
            format!("`{text}` is not a severity: use info, low, medium, high, critical or never")
        })
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write the report as FORMAT to PATH (`-` for stdout); repeat for
    /// several. Formats: table, json, sarif, ocsf, junit, markdown, html.
    /// Without one that goes to stdout, the table is printed there.
    #[arg(short, long = "output", value_name = "FORMAT=PATH", value_parser = parse_output)]
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    /// `None` for stdout.
    pub path: Option<PathBuf>,
}

fn parse_output(text: &str) -> Result<Output, String> {
    let Some((format, path)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not FORMAT=PATH, e.g. json=report.json or sarif=-"
        ));
    };
    if path.is_empty() {
        return Err(format!(
            "`{text}` names no file: use {format}=PATH, or {format}=- for stdout"
        ));
    }
    Ok(Output {
        format: format.parse()?,
        path: (path != "-").then(|| PathBuf::from(path)),
    })
}

#[derive(Debug, Args)]
pub struct TerminalArgs {
    /// Also list these in the table: `pass` (passing checks), `suppressed`;
    /// repeat or separate with commas.
    #[arg(long, value_name = "WHAT", value_delimiter = ',', value_parser = ["pass", "suppressed"])]
    pub show: Vec<String>,

    /// Print the summary alone, without the list of findings.
    #[arg(short, long)]
    pub quiet: bool,

    /// No colour, even on a terminal (NO_COLOR is honoured too).
    #[arg(long)]
    pub no_color: bool,
}

impl TerminalArgs {
    fn options(&self, compliance: Option<&str>) -> TerminalOptions {
        TerminalOptions {
            width: terminal_width(),
            color: use_color(
                std::io::stdout().is_terminal(),
                self.no_color,
                std::env::var_os("NO_COLOR"),
            ),
            show_pass: self.show.iter().any(|s| s == "pass"),
            show_suppressed: self.show.iter().any(|s| s == "suppressed"),
            quiet: self.quiet,
            compliance: compliance.map(str::to_owned),
        }
    }
}

/// Sets up tracing on stderr. RUST_LOG, when set, wins over `-v`.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "rampart=info",
        2 => "rampart=debug,aws_config=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Collect(args) => {
            if args.output.as_os_str() != "-" {
                files::check_writable(&args.output, "snapshot")?;
            }
            let snapshot = collect_snapshot(&args.aws)?;
            write_snapshot(&snapshot, &args.output)?;
            eprintln!("{}", collection_note(&snapshot, &args.output));
        }
        Command::Scan(args) => {
            if let Some(accounts) = &args.organization.accounts {
                return scan_organization(&args, accounts);
            }
            return evaluate_and_report(&args.evaluation, None, || collect_snapshot(&args.aws));
        }
        Command::Org(args) => match args.command {
            OrgCommand::Accounts(args) => list_accounts(&args)?,
        },
        Command::Merge(args) => return merge(&args),
        Command::Evaluate(args) => {
            return evaluate_and_report(&args.evaluation, Some(&args.snapshot), || {
                Ok(Snapshot::read(&args.snapshot)?)
            });
        }
        Command::Report(args) => {
            let mut outputs = args.outputs.outputs.clone();
            if outputs.is_empty() {
                outputs.push(Output {
                    format: args.format,
                    path: None,
                });
            }
            check_outputs(&outputs, &[("report", &args.report)])?;
            let report = Report::read(&args.report)?;
            let options = args.terminal.options(args.compliance.as_deref());
            let Some(id) = &args.compliance else {
                write_outputs(&outputs, &options, &report)?;
                return Ok(Exit::Success);
            };
            let framework = report::compliance::find(&report, id).map_err(anyhow::Error::msg)?;
            if args.outputs.outputs.is_empty() {
                let view = report::terminal::render_compliance(&report, framework, &options);
                print(&view)?;
            } else {
                write_outputs(&outputs, &options, &report)?;
            }
        }
        Command::Diff(args) => {
            let old = Report::read(&args.old)?;
            let mut new = Report::read(&args.new)?;
            baseline::apply(&mut new, Some(&old), &args.old.display().to_string());
            let options = args.terminal.options(None);
            print(&report::diff::render(&new, &options))?;
        }
        Command::Rules(args) => return rules(args.command),
    }
    Ok(Exit::Success)
}

fn rules(command: RulesCommand) -> anyhow::Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    match command {
        RulesCommand::List { rules_dir } => {
            let engine = Engine::load(rules_dir.as_deref())?;
            let all: Vec<&Rule> = engine.rules().iter().collect();
            print(&report::rules::rule_list(&all, terminal_width()))?;
        }
        RulesCommand::Show { id, rules_dir } => {
            let engine = Engine::load(rules_dir.as_deref())?;
            let rule = engine
                .rule(&id)
                .ok_or_else(|| anyhow::anyhow!("no rule has the id or alias `{id}`"))?;
            print(&report::rules::rule_doc(rule))?;
        }
        RulesCommand::Test { dir } => {
            let engine = match &dir {
                Some(dir) => Engine::load_dir(dir)?,
                None => Engine::load(None)?,
            };
            if engine.rules().is_empty() {
                anyhow::bail!(
                    "no rule files (*.yaml, *.yml) under {}",
                    dir.as_deref()
                        .unwrap_or(Path::new("the built-in rules"))
                        .display()
                );
            }
            let mut ran = 0;
            let mut failed = 0;
            for rule in engine.rules() {
                let (count, failures) = rule.run_tests();
                ran += count;
                // A test can fail more than one way (its message and its
                // severity); it counts once.
                let failing: BTreeSet<(usize, &str)> = failures
                    .iter()
                    .map(|failure| (failure.line, failure.test.as_str()))
                    .collect();
                failed += failing.len();
                for failure in &failures {
                    let test = if failure.test.is_empty() {
                        String::new()
                    } else {
                        format!("test `{}`: ", failure.test)
                    };
                    writeln!(
                        stdout,
                        "FAIL {} ({}:{}): {test}{}",
                        failure.rule, failure.source, failure.line, failure.problem
                    )?;
                }
            }
            writeln!(stdout, "{} rule(s) tested", engine.rules().len())?;
            writeln!(
                stdout,
                "rules: {} passed, {failed} failed",
                ran.saturating_sub(failed)
            )?;
            if failed > 0 {
                return Ok(Exit::Failing);
            }
        }
        RulesCommand::Schema { resource_type } => match resource_type {
            Some(resource_type) => {
                print(&report::rules::schema_doc(resource_type, terminal_width()))?
            }
            None => print(&report::rules::schema_overview(terminal_width()))?,
        },
    }
    Ok(Exit::Success)
}

/// Collection futures are deep (every service of every region joined), so
/// workers get the main thread's stack size rather than tokio's 2 MiB.
const WORKER_STACK_BYTES: usize = 8 << 20;

/// The wall clock, read only at the edge: for a run's own times and when a
/// list was made. Rules evaluate on the snapshot's clock.
#[expect(
    clippy::disallowed_methods,
    reason = "the one reading of the wall clock here"
)]
fn wall_clock() -> chrono::DateTime<Utc> {
    Utc::now()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
        .context("cannot start the async runtime")
}

/// `r-` followed by 4 to 32 characters, or `ou-ROOT-UNIT`, as AWS shapes
/// them.
fn is_unit_id(text: &str) -> bool {
    let lower = |part: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&part.len())
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match text.split('-').collect::<Vec<_>>().as_slice() {
        ["r", root] => lower(root, 4..=32),
        ["ou", root, unit] => lower(root, 4..=32) && lower(unit, 8..=32),
        _ => false,
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME`.
fn check_role_arn(arn: &str, given_as: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && is_account_id(account)
                && resource.len() > 5
                && resource.starts_with("role/") =>
        {
            Ok(())
        }
        _ => anyhow::bail!(
            "`{arn}` is not an IAM role ARN (arn:aws:iam::ACCOUNT_ID:role/NAME), given to {given_as}"
        ),
    }
}

fn list_accounts(args: &OrgAccountsArgs) -> anyhow::Result<()> {
    for unit in &args.units {
        if !is_unit_id(unit) {
            anyhow::bail!(
                "`{unit}` is not an organizational unit id (ou-...) or root id (r-...), given to --ou"
            );
        }
    }
    for id in &args.exclude {
        if !is_account_id(id) {
            anyhow::bail!(
                "`{id}` is not an AWS account id (twelve digits), given to --exclude-account"
            );
        }
    }
    if let Some(role) = &args.org_role {
        check_role_arn(role, "--org-role")?;
    }
    if args.output.as_os_str() != "-" {
        files::check_writable(&args.output, "accounts file")?;
    }
    let options = CollectOptions {
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        ..CollectOptions::default()
    };
    let listing = runtime()?.block_on(async {
        let mut config = collect::configuration(&options).await?;
        collect::identify(&config, &options).await?;
        if let Some(role) = &args.org_role {
            let role = collect::RoleToAssume {
                arn: role.clone(),
                session_name: "rampart-org-accounts".to_owned(),
                external_id: None,
            };
            config = collect::assume_role(&config, &role).await?;
        }
        collect::list_organization(&config, &args.units).await
    })?;
    let mut excluded = args.exclude.clone();
    excluded.sort();
    excluded.dedup();
    for id in &excluded {
        if !listing.accounts.iter().any(|account| &account.id == id) {
            eprintln!("rampart: warning: --exclude-account {id} is not among the listed accounts");
        }
    }
    let file = AccountsFile {
        schema_version: org::accounts::ACCOUNTS_SCHEMA_VERSION,
        organization_id: listing.organization_id,
        management_account_id: listing.management_account_id,
        listed_at: wall_clock(),
        organizational_units: args.units.clone(),
        accounts: listing
            .accounts
            .into_iter()
            .filter(|account| !excluded.contains(&account.id))
            .collect(),
        excluded,
        retry_of: None,
    };
    if file.accounts.is_empty() {
        anyhow::bail!(
            "organization {} has no ACTIVE account to list{}",
            file.organization_id,
            if args.units.is_empty() && file.excluded.is_empty() {
                ""
            } else {
                " under the given --ou and --exclude-account"
            }
        );
    }
    if args.output.as_os_str() == "-" {
        to_stdout(|out| {
            serde_json::to_writer_pretty(&mut *out, &file)?;
            writeln!(out)
        })?;
    } else {
        file.write(&args.output)?;
    }
    eprintln!(
        "rampart: listed {} ACTIVE account(s) of organization {}{}",
        file.accounts.len(),
        file.organization_id,
        if args.output.as_os_str() == "-" {
            String::new()
        } else {
            format!(" to {}", args.output.display())
        }
    );
    Ok(())
}

/// `scan --accounts`: every input checked before the first AWS call; with
/// `--plan`, only the list of the shard's accounts.
fn scan_organization(args: &ScanArgs, accounts_path: &Path) -> anyhow::Result<Exit> {
    let org = &args.organization;
    let evaluation = &args.evaluation;
    if evaluation.compliance_report.is_some() {
        // Each account's JSON report holds its compliance view.
        anyhow::bail!(
            "--compliance-report shows one account's report: with --accounts, run `rampart report ACCOUNT_REPORT --compliance FRAMEWORK` on an account's report in --out-dir"
        );
    }
    let (accounts, accounts_sha256) = AccountsFile::read(accounts_path)?;
    let shard = match (org.shard, org.shards) {
        (Some(shard), _) => shard,
        (None, Some(count)) => {
            Shard::from_env(count, |name| std::env::var(name).ok()).map_err(anyhow::Error::msg)?
        }
        (None, None) => Shard::WHOLE,
    };
    if org.plan {
        let planned = org::scan::planned(&accounts, shard);
        to_stdout(|out| {
            for account in &planned {
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    account.id,
                    account.name,
                    account.ou_path_text()
                )?;
            }
            Ok(())
        })?;
        eprintln!(
            "rampart: shard {shard} scans {} of the {} account(s) in {}",
            planned.len(),
            accounts.accounts.len(),
            accounts_path.display()
        );
        return Ok(Exit::Success);
    }
    let role = match (&org.role_name, &org.role_arn_template) {
        (Some(name), _) => RoleTemplate::from_name(name),
        (None, Some(template)) => RoleTemplate::from_template(template),
        (None, None) => Err(
            "--accounts needs --role-name or --role-arn-template: the role to assume in each account"
                .to_owned(),
        ),
    }
    .map_err(anyhow::Error::msg)?;
    let session_name = SessionName::new(
        org.session_name
            .as_deref()
            .unwrap_or(org::scan::DEFAULT_SESSION_NAME),
    )
    .map_err(anyhow::Error::msg)?;
    if let Some(external_id) = &org.external_id {
        let valid = |c: char| c.is_ascii_alphanumeric() || "+=,.@:/_-".contains(c);
        if !(2..=1224).contains(&external_id.len()) || !external_id.chars().all(valid) {
            anyhow::bail!(
                "the --external-id is not one AWS accepts: 2 to 1224 letters, digits and +=,.@:/_-"
            );
        }
    }
    for via in &org.via_roles {
        check_role_arn(via, "--via-role")?;
    }
    // With --accounts, the baseline is an earlier run's --out-dir; each
    // account's earlier report is checked now, before any AWS call.
    if let Some(dir) = &evaluation.triage.baseline {
        if !dir.is_dir() {
            anyhow::bail!(
                "with --accounts, --baseline names an earlier run's --out-dir (ACCOUNT_ID/report.json in it per account); {} is not a directory",
                dir.display()
            );
        }
        for account in org::scan::planned(&accounts, shard) {
            org::scan::earlier_report(dir, &account.id)?;
        }
    }
    let Some(out_dir) = &org.out_dir else {
        anyhow::bail!("--accounts needs --out-dir DIR: each account's report is written under it");
    };
    // As for one account, the output may not replace the baseline: a
    // re-run of a job that failed on a new finding would compare with its
    // own report and pass.
    if let Some(dir) = &evaluation.triage.baseline
        && files::identity(dir) == files::identity(out_dir)
    {
        anyhow::bail!(
            "--baseline {} is the --out-dir: each account's report would replace the one it is compared with; write this run to another directory",
            dir.display()
        );
    }
    let mut outputs: Vec<AccountOutput> = Vec::new();
    let mut taken = vec![org::scan::REPORT_FILE.to_owned()];
    if org.keep_snapshots {
        taken.push(org::scan::SNAPSHOT_FILE.to_owned());
    }
    for output in &evaluation.outputs.outputs {
        // The whole argument must be a bare file name: `x.sarif/` or
        // `./x.sarif` is not.
        let name = output
            .path
            .as_deref()
            .and_then(|path| path.to_str().zip(path.file_name()?.to_str()))
            .filter(|(whole, name)| whole == name)
            .map(|(_, name)| name)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "with --accounts, --output {}=NAME names a file written in each account's directory under --out-dir, not a path or stdout",
                    output.format
                )
            })?;
        // Case-insensitively: on such a file system the two are one file.
        if let Some(clash) = taken.iter().find(|taken| taken.eq_ignore_ascii_case(name)) {
            anyhow::bail!(
                "--output {}={name} would replace each account's {clash}",
                output.format
            );
        }
        taken.push(name.to_owned());
        outputs.push(AccountOutput {
            format: output.format,
            file_name: name.to_owned(),
        });
    }
    let manifest_path = out_dir.join(Manifest::file_name(shard));
    if out_dir.is_dir() {
        files::check_writable(&manifest_path, "manifest")?;
    } else {
        // Created once every input is known good.
        files::check_writable(out_dir, "output directory")?;
    }
    let rules = &evaluation.rules;
    let triage = &evaluation.triage;
    let plan = Plan::load(&PlanOptions {
        rules_dir: rules.rules_dir.clone(),
        config: rules.config.clone(),
        selection: rules.selection(),
        suppressions: triage.suppressions.clone(),
        baseline: None,
    })?;
    let gate = Gate {
        fail_on: triage.fail_on.0,
        new_only: triage.fail_on_new,
        strict: triage.strict,
    };
    let collect = args.aws.options()?;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the output directory {}", out_dir.display()))?;
    // An earlier run's manifest for this shard must not outlive this run
    // if it stops before writing its own: merge would take it for current.
    if manifest_path.is_file() {
        std::fs::remove_file(&manifest_path).with_context(|| {
            format!(
                "cannot remove the earlier manifest {}",
                manifest_path.display()
            )
        })?;
    }
    let scan = OrgScan {
        accounts,
        accounts_path: accounts_path.to_owned(),
        accounts_sha256,
        shard,
        role,
        external_id: org.external_id.clone(),
        via_roles: org.via_roles.clone(),
        session_name,
        in_flight: usize::from(org.accounts_in_flight),
        account_timeout: org.account_timeout.0,
        out_dir: out_dir.clone(),
        outputs,
        keep_snapshots: org.keep_snapshots,
        collect,
        gate,
        baseline_dir: triage.baseline.clone(),
    };
    let progress = progress_bar("{spinner} accounts: {pos}/{len} done {wide_msg}");
    let manifest = runtime()?.block_on(org::scan::run(scan, plan, progress))?;
    print(&report::terminal::render_manifest(
        &manifest,
        &evaluation.terminal.options(None),
    ))?;
    let failing: usize = manifest.accounts.iter().filter_map(|a| a.failing).sum();
    let unscanned = manifest
        .accounts
        .iter()
        .filter(|account| !account.status.scanned())
        .count();
    let partial = manifest
        .accounts
        .iter()
        .any(|account| account.failed_calls.len() + account.not_evaluated.unwrap_or(0) > 0);
    eprintln!(
        "rampart: wrote {} account report(s) and {}",
        manifest.accounts.len() - unscanned,
        manifest_path.display()
    );
    if failing > 0 {
        eprintln!(
            "rampart: {failing} failing finding(s) at or above {}",
            gate.fail_on.map_or("never".to_owned(), |s| s.to_string())
        );
        return Ok(Exit::Failing);
    }
    if unscanned > 0 {
        eprintln!("rampart: {unscanned} account(s) could not be scanned; the manifest says why");
        return Ok(Exit::Incomplete);
    }
    if gate.strict && partial {
        eprintln!(
            "rampart: some accounts' data could not be collected or evaluated and --strict was given"
        );
        return Ok(Exit::Incomplete);
    }
    Ok(Exit::Success)
}

/// `rampart merge`: the shards checked against each other, then every
/// output written in full beside its target and committed together.
fn merge(args: &MergeArgs) -> anyhow::Result<Exit> {
    let mut outputs = Vec::new();
    for output in &args.outputs {
        let format = match output.format {
            Format::Table => MergedFormat::Table,
            Format::Json => MergedFormat::Json,
            Format::Sarif => MergedFormat::Sarif,
            Format::Ocsf => MergedFormat::Ocsf,
            Format::Markdown => MergedFormat::Markdown,
            Format::Junit => MergedFormat::Junit,
            Format::Html => anyhow::bail!(
                "merge does not write html yet: write an account's with `rampart report ACCOUNT_REPORT --output html=FILE`"
            ),
        };
        outputs.push((format, output));
    }
    let files: Vec<Output> = args.outputs.clone();
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(path) = &args.emit_failed {
        files::check_writable(path, "accounts file")?;
        inputs.push(("accounts file to write", path));
    }
    let runs = org::merge::runs(org::merge::find(&args.dirs)?)?;
    // Nothing merge writes may replace what it reads.
    let read: Vec<PathBuf> = runs
        .shards
        .iter()
        .flat_map(|shard| {
            let manifest = shard.dir.join(Manifest::file_name(shard.manifest.shard));
            let reports = shard
                .manifest
                .accounts
                .iter()
                .filter_map(|run| run.report.as_ref().map(|report| shard.dir.join(report)));
            std::iter::once(manifest).chain(reports)
        })
        .collect();
    if let Some(path) = &args.emit_failed
        && read
            .iter()
            .any(|file| files::identity(file) == files::identity(path))
    {
        anyhow::bail!(
            "--emit-failed {} would overwrite a file of the shards this merge reads",
            path.display()
        );
    }
    inputs.extend(read.iter().map(|path| ("shard file", path.as_path())));
    check_outputs(&files, &inputs)?;
    let merged = org::merge::summarise(
        runs,
        Gate {
            fail_on: args.fail_on.0,
            new_only: args.fail_on_new,
            strict: false,
        },
    )?;
    let mut staged = Vec::new();
    for (format, output) in &outputs {
        if let Some(path) = &output.path {
            staged.push(files::stage_with(
                path,
                &format!("{} report", output.format),
                |out| {
                    org::merge::write(&merged, *format, out)
                        .map_err(|err| std::io::Error::other(err.to_string()))
                },
            )?);
        }
    }
    let failed: Vec<&org::merge::MergedAccount> = merged
        .accounts
        .iter()
        .filter(|account| !account.status.scanned())
        .collect();
    if let Some(path) = &args.emit_failed
        && !failed.is_empty()
    {
        let manifest = merged
            .shards
            .first()
            .map(|shard| &shard.manifest)
            .context("no shard")?;
        let mut accounts: Vec<_> = failed
            .iter()
            .map(|account| account.account.clone())
            .collect();
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        let retry = AccountsFile {
            schema_version: org::accounts::ACCOUNTS_SCHEMA_VERSION,
            organization_id: manifest.organization_id.clone(),
            management_account_id: manifest.management_account_id.clone(),
            listed_at: wall_clock(),
            organizational_units: Vec::new(),
            excluded: Vec::new(),
            accounts,
            // The first run's: a re-run of this file's re-run still takes
            // the place of the first run's results.
            retry_of: Some(manifest.accounts_sha256.clone()),
        };
        let mut text = serde_json::to_vec_pretty(&retry)?;
        text.push(b'\n');
        staged.push(files::stage(path, "accounts file", &text)?);
    }
    files::commit_all(staged)?;
    for (format, output) in &outputs {
        if output.path.is_none() {
            to_stdout(|out| {
                org::merge::write(&merged, *format, out)
                    .map_err(|err| std::io::Error::other(err.to_string()))
            })?;
        }
    }
    if !outputs.iter().any(|(_, output)| output.path.is_none()) {
        let options = TerminalOptions {
            width: terminal_width(),
            color: use_color(
                std::io::stdout().is_terminal(),
                args.no_color,
                std::env::var_os("NO_COLOR"),
            ),
            ..TerminalOptions::default()
        };
        print(&report::terminal::render_merged(&merged, &options))?;
    }
    if let Some(path) = &args.emit_failed {
        // An earlier merge's list left in place would send a re-run after
        // accounts that are scanned now.
        // Only a retry list (it names the run it retries), never the
        // organization's own accounts file.
        let earlier_retry_list = path.is_file()
            && AccountsFile::read(path).is_ok_and(|(file, _)| file.retry_of.is_some());
        if failed.is_empty() && earlier_retry_list {
            std::fs::remove_file(path).with_context(|| {
                format!("cannot remove the earlier accounts file {}", path.display())
            })?;
            eprintln!(
                "rampart: every account was scanned; removed the earlier list {}",
                path.display()
            );
        } else if failed.is_empty() {
            eprintln!(
                "rampart: every account was scanned; {} was not written",
                path.display()
            );
        } else {
            eprintln!(
                "rampart: wrote the {} account(s) that could not be scanned to {}",
                failed.len(),
                path.display()
            );
        }
    }
    let failing: usize = merged.accounts.iter().map(|account| account.failing).sum();
    if failing > 0 {
        eprintln!(
            "rampart: {failing} {}failing finding(s) at or above {}",
            if args.fail_on_new { "new " } else { "" },
            args.fail_on.0.map_or("never".to_owned(), |s| s.to_string())
        );
        return Ok(Exit::Failing);
    }
    if merged.summary.scanned == 0 {
        eprintln!("rampart: no account could be scanned");
        return Ok(Exit::Incomplete);
    }
    if args
        .max_failed_accounts
        .exceeded(failed.len(), merged.accounts.len())
    {
        eprintln!(
            "rampart: {} of {} account(s) could not be scanned, more than --max-failed-accounts allows",
            failed.len(),
            merged.accounts.len()
        );
        return Ok(Exit::Incomplete);
    }
    Ok(Exit::Success)
}

fn collect_snapshot(aws: &AwsArgs) -> anyhow::Result<Snapshot> {
    let options = aws.options()?;
    let runtime = runtime()?;
    let progress = progress_bar("{spinner} collecting: {pos}/{len} done, last {wide_msg}");
    let snapshot = runtime.block_on(collect::collect(&options, &progress));
    progress.finish_and_clear();
    Ok(snapshot?)
}

/// A bar on stderr, only when a person is watching; `template` is
/// indicatif's.
fn progress_bar(template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn write_snapshot(snapshot: &Snapshot, output: &Path) -> anyhow::Result<()> {
    if output.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, snapshot)?;
        writeln!(stdout)?;
        return Ok(());
    }
    snapshot.write(output)?;
    Ok(())
}

fn collection_note(snapshot: &Snapshot, output: &Path) -> String {
    let resources = snapshot.resource_count();
    let destination = if output.as_os_str() == "-" {
        "stdout".to_owned()
    } else {
        output.display().to_string()
    };
    let mut note = format!(
        "rampart: wrote {resources} resources from {} region(s) of account {} to {destination}",
        snapshot.regions.len(),
        snapshot.account.account_id
    );
    if !snapshot.collection_errors.is_empty() {
        note.push_str(&format!(
            "; {} call(s) failed and are listed under collection_errors",
            snapshot.collection_errors.len()
        ));
    }
    note
}

/// Rules, suppressions, baseline and outputs are all checked before the
/// snapshot is taken or read, so a mistake in any of them costs no AWS call.
fn evaluate_and_report(
    args: &EvaluationArgs,
    snapshot_file: Option<&Path>,
    snapshot: impl FnOnce() -> anyhow::Result<Snapshot>,
) -> anyhow::Result<Exit> {
    let rules = &args.rules;
    let triage = &args.triage;
    let mut outputs = args.outputs.outputs.clone();
    if !outputs.iter().any(|output| output.path.is_none()) {
        outputs.push(Output {
            format: Format::Table,
            path: None,
        });
    }
    let inputs: Vec<(&str, &Path)> = [
        ("snapshot", snapshot_file),
        ("baseline", triage.baseline.as_deref()),
        ("suppression file", triage.suppressions.as_deref()),
        ("configuration file", rules.config.as_deref()),
    ]
    .into_iter()
    .filter_map(|(what, path)| Some((what, path?)))
    .collect();
    check_outputs(&outputs, &inputs)?;
    let plan = Plan::load(&PlanOptions {
        rules_dir: rules.rules_dir.clone(),
        config: rules.config.clone(),
        selection: rules.selection(),
        suppressions: triage.suppressions.clone(),
        baseline: triage.baseline.clone(),
    })?;
    if let Some(id) = &args.compliance_report {
        check_framework(id, &plan.rules())?;
    }
    let gate = Gate {
        fail_on: triage.fail_on.0,
        new_only: triage.fail_on_new,
        strict: triage.strict,
    };
    // The wall clock is read here, at the edge: rules evaluate on the
    // snapshot's clock, suppressions expire by today's date.
    let now = wall_clock;
    let started_at = now();
    let clock = RunClock {
        started_at,
        today: started_at.date_naive(),
        now: &now,
    };
    // Outputs are written here, as streams, rather than rendered by the
    // pipeline into strings first.
    let outcome = plan.run(&snapshot()?, &clock, &[], gate);
    let options = args.terminal.options(args.compliance_report.as_deref());
    write_outputs(&outputs, &options, &outcome.report)?;
    // Said on stderr too, so a CI log shows it whatever the outputs.
    for expired in &outcome.report.expired_suppressions {
        eprintln!(
            "rampart: warning: the suppression at {}:{} expired on {} and no longer applies",
            expired.file,
            expired.line,
            expired.expires.map(|d| d.to_string()).unwrap_or_default()
        );
    }
    Ok(match outcome.verdict {
        Verdict::Failing { count } => {
            eprintln!(
                "rampart: {count} {}failing finding(s) at or above {}",
                if gate.new_only { "new " } else { "" },
                gate.fail_on.map_or("never".to_owned(), |s| s.to_string())
            );
            Exit::Failing
        }
        Verdict::Incomplete {
            failed_calls,
            unevaluated,
        } => {
            eprintln!(
                "rampart: the scan is incomplete ({failed_calls} failed call(s), {unevaluated} check(s) not evaluated) and --strict was given"
            );
            Exit::Incomplete
        }
        Verdict::Clean => Exit::Success,
    })
}

/// A framework `--compliance-report` can show: one with a catalogue, or one
/// a rule that runs maps. Checked before any AWS call.
fn check_framework(id: &str, rules: &[&Rule]) -> anyhow::Result<()> {
    let mut known: BTreeSet<&str> = compliance::frameworks()
        .iter()
        .map(|framework| framework.id.as_str())
        .collect();
    known.extend(
        rules
            .iter()
            .flat_map(|rule| rule.compliance.keys().map(String::as_str)),
    );
    if known.contains(id) {
        return Ok(());
    }
    anyhow::bail!(
        "no compliance framework `{id}` given to --compliance-report; the frameworks are: {}",
        known.into_iter().collect::<Vec<_>>().join(", ")
    )
}

/// At most one output may go to stdout, no two to the same file (after
/// resolving `.`, `..` and links), none over an input of the run; every
/// file's directory must be writable. All checked before any work.
fn check_outputs(outputs: &[Output], inputs: &[(&str, &Path)]) -> anyhow::Result<()> {
    let mut seen: Vec<(Option<PathBuf>, String)> = Vec::new();
    for output in outputs {
        let (identity, shown) = match &output.path {
            None => (None, "stdout".to_owned()),
            Some(path) => {
                files::check_writable(path, &format!("{} report", output.format))?;
                (files::identity(path), path.display().to_string())
            }
        };
        if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == identity) {
            match identity {
                None => anyhow::bail!("two --output options write to stdout"),
                Some(_) => anyhow::bail!(
                    "two --output options write to the same file: {first} and {shown}"
                ),
            }
        }
        if let Some((what, input)) = inputs
            .iter()
            .find(|(_, input)| identity.is_some() && files::identity(input) == identity)
        {
            anyhow::bail!(
                "--output {}={shown} would overwrite the {what} {} this run reads",
                output.format,
                input.display()
            );
        }
        seen.push((identity, shown));
    }
    Ok(())
}

/// How an output looks: files never get colour or the terminal's width.
fn options_for(output: &Output, terminal: &TerminalOptions) -> TerminalOptions {
    match output.path {
        Some(_) => TerminalOptions {
            width: None,
            color: false,
            ..terminal.clone()
        },
        None => terminal.clone(),
    }
}

/// Writes every output as a stream: each file is written in full beside
/// its target first and moved into place only when all were written, so a
/// failure leaves every existing file as it was; stdout comes last.
fn write_outputs(
    outputs: &[Output],
    terminal: &TerminalOptions,
    report: &Report,
) -> anyhow::Result<()> {
    let mut staged = Vec::new();
    for output in outputs {
        if let Some(path) = &output.path {
            let options = options_for(output, terminal);
            staged.push(files::stage_with(
                path,
                &format!("{} report", output.format),
                |out| report::write(report, output.format, &options, out),
            )?);
        }
    }
    files::commit_all(staged)?;
    for output in outputs.iter().filter(|output| output.path.is_none()) {
        to_stdout(|out| report::write(report, output.format, &options_for(output, terminal), out))?;
    }
    Ok(())
}

fn print(text: &str) -> std::io::Result<()> {
    to_stdout(|out| out.write_all(text.as_bytes()))
}

/// Writes to stdout through a buffer. A reader that stops early (`| head`)
/// is not an error: the rest is simply not wanted, and the exit code still
/// tells the result.
fn to_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    comfy_table::Table::new().width()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_opt_out() {
        assert!(use_color(true, false, None));
        assert!(use_color(true, false, Some(OsString::new())));
        assert!(!use_color(false, false, None));
        assert!(!use_color(true, true, None));
        assert!(!use_color(true, false, Some(OsString::from("1"))));
    }

    #[test]
    fn a_failed_output_leaves_every_existing_file_as_it_was() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = dir.path().join("report.json");
        std::fs::write(&first, "earlier").expect("write");
        // The second output's directory vanished after the checks.
        let outputs = [
            Output {
                format: Format::Json,
                path: Some(first.clone()),
            },
            Output {
                format: Format::Sarif,
                path: Some(dir.path().join("gone").join("report.sarif")),
            },
        ];
        let report =
            Report::parse(include_str!("../fixtures/report/report.json")).expect("fixture");
        let terminal = TerminalOptions::default();
        let written = write_outputs(&outputs, &terminal, &report);
        assert!(written.is_err());
        assert_eq!(std::fs::read_to_string(&first).expect("read"), "earlier");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn durations_are_whole_seconds_or_minutes() {
        assert_eq!(parse_duration("45"), Ok(Seconds(Duration::from_secs(45))));
        assert_eq!(parse_duration("45s"), Ok(Seconds(Duration::from_secs(45))));
        assert_eq!(parse_duration("2m"), Ok(Seconds(Duration::from_secs(120))));
        for bad in ["0", "1.5", "-3", "m", "99999999999999999999m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn outputs_and_thresholds_parse() {
        assert_eq!(
            parse_output("sarif=out/report.sarif"),
            Ok(Output {
                format: Format::Sarif,
                path: Some(PathBuf::from("out/report.sarif"))
            })
        );
        assert_eq!(
            parse_output("json=-"),
            Ok(Output {
                format: Format::Json,
                path: None
            })
        );
        assert_eq!(
            parse_output("json="),
            Err("`json=` names no file: use json=PATH, or json=- for stdout".to_owned())
        );
        assert_eq!(parse_threshold("NEVER"), Ok(Threshold(None)));
        assert_eq!(parse_threshold("High"), Ok(Threshold(Some(Severity::High))));
    }
}
