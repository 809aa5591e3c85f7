//! One evaluation run, stage by stage. [`Plan::load`] reads and checks
//! everything a run needs besides the snapshot (rules, their parameters,
//! the selection, suppressions, the baseline), so that a mistake in any of
//! it costs no AWS call; [`Plan::run`] then takes a snapshot through every
//! later stage in order: analyze, evaluate, build the report, triage,
//! render, and decide what the result means for the exit code.
//!
//! The CLI, the tests and the benchmark all run this one pipeline.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use crate::analyze::Analysis;
use crate::engine::rule::Rule;
use crate::engine::{Engine, Selection};
use crate::error::PlanError;
use crate::report::terminal::TerminalOptions;
use crate::report::{self, Format};
use crate::results::{Report, ReportFinding, RunInfo};
use crate::snapshot::Snapshot;
use crate::triage::baseline;
use crate::triage::suppressions::Suppressions;
use crate::verdict::Severity;

/// What a run is asked to do, as the user gave it.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Rule files to load besides the built-in ones.
    pub rules_dir: Option<PathBuf>,
    /// A configuration file setting rules' `vars`.
    pub config: Option<PathBuf>,
    pub selection: Selection,
    pub suppressions: Option<PathBuf>,
    pub baseline: Option<PathBuf>,
}

/// Everything a run needs besides the snapshot, loaded and checked.
pub struct Plan {
    engine: Engine,
    selection: Selection,
    rule_ids: Vec<String>,
    suppressions: Option<Suppressions>,
    /// The earlier report and the name it was given by.
    baseline: Option<(Report, String)>,
}

/// The times a run records. Rules never read these: they evaluate on the
/// snapshot's clock. `today` decides which suppressions have expired, a
/// decision about today rather than about the account.
pub struct RunClock<'a> {
    pub started_at: DateTime<Utc>,
    pub today: NaiveDate,
    /// Reads the time the run finishes at.
    pub now: &'a dyn Fn() -> DateTime<Utc>,
}

/// When a report's result makes the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gate {
    /// Failing findings at or above this severity fail the run; `None`
    /// never does.
    pub fail_on: Option<Severity>,
    /// Count only findings new against the baseline.
    pub new_only: bool,
    /// An incomplete scan fails the run too.
    pub strict: bool,
}

/// What a report means for the run, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This many failing findings reach the gate's severity.
    Failing {
        count: usize,
    },
    /// `strict` was asked for and data was missing.
    Incomplete {
        failed_calls: usize,
        unevaluated: usize,
    },
    Clean,
}

/// One format to render the report in, and how it looks.
#[derive(Debug, Clone)]
pub struct Render {
    pub format: Format,
    pub options: TerminalOptions,
}

/// What a run produced: the report, each requested rendering in order, and
/// the verdict.
pub struct Outcome {
    pub report: Report,
    pub rendered: Vec<String>,
    pub verdict: Verdict,
}

impl Plan {
    /// Loads and configures the rules, selects, reads the suppressions and
    /// the baseline.
    pub fn load(options: &PlanOptions) -> Result<Plan, PlanError> {
        let engine = match &options.config {
            Some(config) => Engine::load_configured(options.rules_dir.as_deref(), config)?,
            None => Engine::load(options.rules_dir.as_deref())?,
        };
        // A user's rule that fails its own tests would give wrong verdicts
        // (or an error on every resource); refuse it before any AWS call.
        if let Some(failure) = engine
            .rules()
            .iter()
            .filter(|rule| !rule.is_embedded())
            .find_map(|rule| rule.run_tests().1.into_iter().next())
        {
            return Err(PlanError::RuleTest(failure));
        }
        let rule_ids = engine
            .select(&options.selection)
            .map_err(PlanError::Selection)?
            .iter()
            .map(|rule| rule.id.clone())
            .collect();
        let suppressions = options
            .suppressions
            .as_deref()
            .map(|path| Suppressions::read(path, &engine))
            .transpose()?;
        let baseline = options
            .baseline
            .as_deref()
            .map(|path| Report::read(path).map(|report| (report, path.display().to_string())))
            .transpose()?;
        Ok(Plan {
            engine,
            selection: options.selection.clone(),
            rule_ids,
            suppressions,
            baseline,
        })
    }

    /// Runs every rule on the interpreter, the compiled evaluator's
    /// reference (the benchmark compares the two).
    pub fn use_interpreter(&mut self) {
        self.engine.use_interpreter();
    }

    /// The selected rules, in the engine's order.
    pub fn rules(&self) -> Vec<&Rule> {
        self.rule_ids
            .iter()
            .filter_map(|id| self.engine.rule(id))
            .collect()
    }

    /// Every stage after the snapshot, in order, against the plan's
    /// baseline.
    pub fn run(
        &self,
        snapshot: &Snapshot,
        clock: &RunClock,
        renders: &[Render],
        gate: Gate,
    ) -> Outcome {
        let earlier = self.baseline.as_ref().map(|(report, name)| Earlier {
            report: Some(report),
            name,
        });
        self.run_against(snapshot, clock, renders, gate, earlier)
    }

    /// Every stage after the snapshot, in order, against `earlier` (each
    /// account of an organization scan has its own).
    pub fn run_against(
        &self,
        snapshot: &Snapshot,
        clock: &RunClock,
        renders: &[Render],
        gate: Gate,
        earlier: Option<Earlier<'_>>,
    ) -> Outcome {
        let rules = self.rules();
        let analysis = Analysis::of(snapshot);
        let findings = self
            .engine
            .evaluate_into(snapshot, &analysis, &rules, ReportFinding::new);
        let unselected: Vec<&Rule> = self
            .engine
            .rules()
            .iter()
            .filter(|rule| !self.rule_ids.contains(&rule.id))
            .collect();
        let run = RunInfo {
            started_at: clock.started_at,
            finished_at: clock.started_at,
            rules: &rules,
            unselected: &unselected,
        };
        let mut report = Report::new(snapshot, run, findings);
        // Suppressions first, so that a suppressed finding compared with
        // the baseline is still known as suppressed.
        if let Some(suppressions) = &self.suppressions {
            suppressions.apply(&mut report, clock.today);
        }
        if let Some(earlier) = earlier {
            baseline::apply(&mut report, earlier.report, earlier.name);
        }
        // Filtered after triage: a finding below `--severity` is still
        // compared with the baseline, so it is never taken for resolved.
        self.selection.retain(&mut report.findings, &rules);
        report.refresh_summary();
        report.scan.finished_at = (clock.now)();
        let rendered = render(&report, renders);
        let verdict = gate.verdict(&report);
        Outcome {
            report,
            rendered,
            verdict,
        }
    }
}

/// The report a run is compared with, and the name it is given by; no
/// report when there was none (every failing finding is then new).
pub struct Earlier<'a> {
    pub report: Option<&'a Report>,
    pub name: &'a str,
}

/// The report in each requested format, in order.
pub fn render(report: &Report, renders: &[Render]) -> Vec<String> {
    renders
        .iter()
        .map(|render| report::render(report, render.format, &render.options))
        .collect()
}

impl Gate {
    /// Failing findings win over missing data.
    pub fn verdict(&self, report: &Report) -> Verdict {
        if let Some(threshold) = self.fail_on {
            let count = report.failing_at(threshold, self.new_only);
            if count > 0 {
                return Verdict::Failing { count };
            }
        }
        if self.strict && report.is_incomplete() {
            return Verdict::Incomplete {
                failed_calls: report.collection_errors.len(),
                unevaluated: report.unevaluated(),
            };
        }
        Verdict::Clean
    }
}
