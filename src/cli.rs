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
    after_help = "Exit codes: 0 success, 2 usage, configuration, credential or input error."
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
    /// Collect and report in one go (for now: what was collected, account-wide and per region).
    Scan(ScanArgs),
    /// Report on a saved snapshot, with no AWS access at all.
    Evaluate(EvaluateArgs),
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
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A snapshot written by `rampart collect`.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: PathBuf,
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
            let snapshot = collect_snapshot(&args.aws)?;
            print_summary(&snapshot)?;
        }
        Command::Evaluate(args) => {
            let snapshot = Snapshot::read(&args.snapshot)?;
            print_summary(&snapshot)?;
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

fn print_summary(snapshot: &Snapshot) -> anyhow::Result<()> {
    let width = terminal_width();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report::summary::render(snapshot, width).as_bytes())?;
    Ok(())
}

fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    comfy_table::Table::new().width()
}
