//! The command line: argument definitions and what each command does.
//! Conventions follow the AWS CLI (`--profile`, `--region`,
//! `--endpoint-url`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::collect::{self, CollectOptions, RegionSelection};
use crate::engine::rule::{Rule, Severity};
use crate::engine::{Engine, Finding, Selection};
use crate::report;
use crate::snapshot::Snapshot;

/// Exit code for every error that stops a run: bad flags or input, missing
/// profile or credentials, an unreadable snapshot, an unwritable output.
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Read-only AWS security posture scanner",
    after_help = "Exit codes: 0 success; 1 a rule's own test failed (rules test); 2 usage, configuration, rule, credential or input error."
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
    Scan(ScanArgs),
    /// Evaluate the rules on a saved snapshot and report, with no AWS access at all.
    Evaluate(EvaluateArgs),
    /// List, document and test the rules.
    Rules(RulesArgs),
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
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase()))
        .map_err(|_| format!("`{text}` is not a severity: use info, low, medium, high or critical"))
}

impl RuleSelection {
    fn engine(&self) -> anyhow::Result<Engine> {
        Ok(match &self.config {
            Some(config) => Engine::load_configured(self.rules_dir.as_deref(), config)?,
            None => Engine::load(self.rules_dir.as_deref())?,
        })
    }

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
    /// A table of the rules: id, severity, resource type, a column per compliance framework, the Prowler check.
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
}

impl AwsArgs {
    fn options(&self) -> anyhow::Result<CollectOptions> {
        Ok(CollectOptions {
            profile: self.profile.clone().filter(|p| !p.is_empty()),
            regions: RegionSelection::from_args(&self.regions)?,
            endpoint_url: self.endpoint_url.clone(),
            guardduty_max_findings: self.guardduty_max_findings,
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
    pub rules: RuleSelection,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A snapshot written by `rampart collect`.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: PathBuf,

    #[command(flatten)]
    pub rules: RuleSelection,
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

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Collect(args) => {
            let snapshot = collect_snapshot(&args.aws)?;
            write_snapshot(&snapshot, &args.output)?;
            eprintln!("{}", collection_note(&snapshot, &args.output));
        }
        Command::Scan(args) => {
            // Rules are loaded and checked before any AWS call is made.
            let engine = args.rules.engine()?;
            let selection = args.rules.selection();
            let selected = engine.select(&selection).map_err(anyhow::Error::msg)?;
            let snapshot = collect_snapshot(&args.aws)?;
            let mut findings = engine.evaluate(&snapshot, &selected);
            selection.retain(&mut findings);
            print_report(&snapshot, &findings)?;
        }
        Command::Evaluate(args) => {
            let engine = args.rules.engine()?;
            let selection = args.rules.selection();
            let selected = engine.select(&selection).map_err(anyhow::Error::msg)?;
            let snapshot = Snapshot::read(&args.snapshot)?;
            let mut findings = engine.evaluate(&snapshot, &selected);
            selection.retain(&mut findings);
            print_report(&snapshot, &findings)?;
        }
        Command::Rules(args) => return rules(args.command),
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit code of `rampart rules test` when a rule's own test fails.
pub const EXIT_RULE_TESTS_FAILED: u8 = 1;

fn rules(command: RulesCommand) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match command {
        RulesCommand::List { rules_dir } => {
            let engine = Engine::load(rules_dir.as_deref())?;
            let all: Vec<&Rule> = engine.rules().iter().collect();
            stdout.write_all(report::findings::rule_list(&all, terminal_width()).as_bytes())?;
        }
        RulesCommand::Show { id, rules_dir } => {
            let engine = Engine::load(rules_dir.as_deref())?;
            let rule = engine
                .rule(&id)
                .ok_or_else(|| anyhow::anyhow!("no rule has the id or alias `{id}`"))?;
            stdout.write_all(report::findings::rule_doc(rule).as_bytes())?;
        }
        RulesCommand::Test { dir } => {
            let engine = match &dir {
                Some(dir) => Engine::load_dir(dir)?,
                None => Engine::load(None)?,
            };
            let mut ran = 0;
            let mut failed = 0;
            for rule in engine.rules() {
                let (count, failures) = rule.run_tests();
                ran += count;
                failed += failures.len();
                for failure in failures {
                    writeln!(
                        stdout,
                        "FAIL {} ({}): test `{}`: {}",
                        failure.rule, failure.source, failure.test, failure.problem
                    )?;
                }
            }
            writeln!(stdout, "{} rule(s) tested", engine.rules().len())?;
            writeln!(stdout, "rules: {} passed, {failed} failed", ran - failed)?;
            if failed > 0 {
                return Ok(ExitCode::from(EXIT_RULE_TESTS_FAILED));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn collect_snapshot(aws: &AwsArgs) -> anyhow::Result<Snapshot> {
    let options = aws.options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let progress = progress_bar();
    let snapshot = runtime.block_on(collect::collect(&options, &progress));
    progress.finish_and_clear();
    Ok(snapshot?)
}

/// A bar on stderr while collecting, only when a person is watching.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} collecting: {pos}/{len} done, last {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
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

/// The collection summary, then the findings.
fn print_report(snapshot: &Snapshot, findings: &[Finding]) -> anyhow::Result<()> {
    let width = terminal_width();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report::summary::render(snapshot, width).as_bytes())?;
    stdout.write_all(b"\n")?;
    stdout.write_all(report::findings::render(findings, width).as_bytes())?;
    Ok(())
}

fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    comfy_table::Table::new().width()
}
