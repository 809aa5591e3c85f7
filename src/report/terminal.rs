//! The report in a terminal: a summary first (failing findings by severity,
//! service and region; what could not be evaluated; suppressions and the
//! baseline), then the failing findings, most severe first.

use comfy_table::{Attribute, Cell, CellAlignment, Color, Table};

use std::fmt::Write as _;

use super::{compliance, new_table};
use crate::compliance::FrameworkStatus;
use crate::org::accounts::OrgAccount;
use crate::org::manifest::{AccountStatus, Manifest};
use crate::org::merge::Merged;
use crate::results::{BaselineState, Report, ReportFinding};
use crate::verdict::Severity;
use crate::verdict::Status;

#[derive(Debug, Clone, Default)]
pub struct TerminalOptions {
    /// The terminal's width when known; tables wrap to fit it.
    pub width: Option<u16>,
    pub color: bool,
    /// Also list passing checks.
    pub show_pass: bool,
    /// Also list suppressed findings.
    pub show_suppressed: bool,
    /// The summary alone.
    pub quiet: bool,
    /// Then this compliance framework's controls, with their status.
    pub compliance: Option<String>,
}

pub fn render(report: &Report, options: &TerminalOptions) -> String {
    let mut out = header(report);
    out.push_str(&failing_summary(report, options));
    out.push_str(&incomplete(report, options));
    out.push_str(&triage(report, options));
    if !options.quiet {
        out.push_str(&listing(report, options));
    }
    out.push_str(&counts(report));
    if let Some(id) = &options.compliance {
        match compliance::find(report, id) {
            Ok(framework) => {
                out.push('\n');
                out.push_str(&compliance::terminal(framework, options));
            }
            Err(problem) => {
                let _ = writeln!(out, "\n{problem}");
            }
        }
    }
    out
}

/// The report's header, then one framework's controls: what `rampart
/// report --compliance` prints.
pub fn render_compliance(
    report: &Report,
    framework: &FrameworkStatus,
    options: &TerminalOptions,
) -> String {
    let mut out = header(report);
    out.push_str(&compliance::terminal(framework, options));
    out
}

fn header(report: &Report) -> String {
    let scan = &report.scan;
    format!(
        "{} {}: account {} ({}) as {}, {} region(s): {}\nSnapshot collected {}; {} rule(s), rules version {}\n\n",
        report.tool.name,
        report.tool.version,
        scan.account_id,
        scan.partition,
        scan.caller_arn,
        scan.regions.len(),
        scan.regions.join(", "),
        scan.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        report.rules.len(),
        scan.rules_version,
    )
}

/// Failing findings by severity, then per service and per region.
fn failing_summary(report: &Report, options: &TerminalOptions) -> String {
    let summary = &report.summary;
    if summary.failed == 0 {
        return "No failing findings.\n\n".to_owned();
    }
    let bands: Vec<String> = Severity::DESCENDING
        .iter()
        .filter_map(|severity| {
            summary
                .failed_by_severity
                .get(severity)
                .map(|n| format!("{n} {severity}"))
        })
        .collect();
    let mut out = format!(
        "{} failing finding(s): {}\n",
        summary.failed,
        bands.join(", ")
    );
    let by_service = report.failing_by(|f| f.service());
    let by_region = report.failing_by(|f| &f.finding.resource.region);
    for (label, rows) in [("Service", by_service), ("Region", by_region)] {
        let mut table = styled_table(options);
        let mut header = vec![label.to_owned()];
        header.extend(Severity::DESCENDING.iter().map(Severity::to_string));
        header.push("total".to_owned());
        table.set_header(header);
        for (name, row) in rows {
            let mut cells = vec![Cell::new(name)];
            cells.extend(row.iter().map(|n| number(*n)));
            cells.push(number(row.iter().sum()));
            table.add_row(cells);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    out.push('\n');
    out
}

fn number(n: usize) -> Cell {
    Cell::new(if n == 0 {
        "-".to_owned()
    } else {
        n.to_string()
    })
    .set_alignment(CellAlignment::Right)
}

/// What could not be collected or checked, stated plainly.
fn incomplete(report: &Report, options: &TerminalOptions) -> String {
    let unchecked = report.unevaluated();
    if report.collection_errors.is_empty() && unchecked == 0 {
        return "Everything requested was collected and evaluated.\n\n".to_owned();
    }
    let mut out = format!(
        "Incomplete: {unchecked} check(s) could not be evaluated; {} API call(s) failed during collection.\n",
        report.collection_errors.len()
    );
    if !report.collection_errors.is_empty() {
        let mut errors = styled_table(options);
        errors.set_header(["Service", "Region", "Operation", "Code", "Message"]);
        for error in &report.collection_errors {
            errors.add_row([
                error.service.as_str(),
                error.region.as_deref().unwrap_or("global"),
                error.operation.as_str(),
                error.code.as_str(),
                error.message.as_str(),
            ]);
        }
        out.push_str(&errors.to_string());
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Suppressions in force and expired, and the comparison with a baseline.
fn triage(report: &Report, options: &TerminalOptions) -> String {
    let mut out = String::new();
    if report.summary.suppressed > 0 {
        out.push_str(&format!(
            "{} finding(s) suppressed ({}).\n",
            report.summary.suppressed,
            if options.show_suppressed && !options.quiet {
                "listed below"
            } else {
                "listed with --show suppressed"
            }
        ));
    }
    for expired in &report.expired_suppressions {
        out.push_str(&format!(
            "Expired suppression {}:{} (expired {}) no longer applies: {}\n",
            expired.file,
            expired.line,
            expired
                .expires
                .map(|date| date.to_string())
                .unwrap_or_default(),
            expired.reason
        ));
    }
    if let (Some(baseline), Some(new), Some(resolved)) = (
        &report.scan.baseline,
        report.summary.new,
        report.summary.resolved,
    ) {
        out.push_str(&format!(
            "Compared with {baseline}: {new} new, {} existing, {resolved} resolved.\n",
            report.summary.failed - new
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The lists of findings, in the order they are printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Failing,
    NotEvaluated,
    Suppressed,
    Passing,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Failing => "Failing",
            Section::NotEvaluated => "Not evaluated",
            Section::Suppressed => "Suppressed",
            Section::Passing => "Passing",
        }
    }

    fn last_column(self) -> &'static str {
        match self {
            Section::Failing | Section::Passing => "Message",
            Section::NotEvaluated => "Why",
            Section::Suppressed => "Reason",
        }
    }

    fn holds(self, finding: &ReportFinding, options: &TerminalOptions) -> bool {
        match self {
            Section::Failing => finding.is_failing(),
            Section::NotEvaluated => {
                matches!(finding.finding.status, Status::NotEvaluated | Status::Error)
            }
            Section::Suppressed => options.show_suppressed && finding.suppression.is_some(),
            Section::Passing => options.show_pass && finding.finding.status == Status::Pass,
        }
    }
}

/// The findings themselves: failing, then unevaluated, then (on request)
/// suppressed and passing.
fn listing(report: &Report, options: &TerminalOptions) -> String {
    let mut out = String::new();
    for section in [
        Section::Failing,
        Section::NotEvaluated,
        Section::Suppressed,
        Section::Passing,
    ] {
        let rows: Vec<&ReportFinding> = report
            .findings
            .iter()
            .filter(|f| section.holds(f, options))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let with_baseline = section == Section::Failing && report.scan.baseline.is_some();
        let mut table = styled_table(options);
        let mut header = vec!["Severity", "Rule", "Resource", "Region"];
        if with_baseline {
            header.push("Baseline");
        }
        header.push(section.last_column());
        table.set_header(header);
        for finding in rows {
            let mut cells = vec![
                severity_cell(finding.finding.severity, options.color),
                Cell::new(&finding.finding.rule_id),
                Cell::new(&finding.finding.resource.id),
                Cell::new(&finding.finding.resource.region),
            ];
            if with_baseline {
                cells.push(baseline_cell(finding.baseline, options.color));
            }
            cells.push(Cell::new(match (&finding.suppression, section) {
                (Some(suppression), Section::Suppressed) => {
                    format!("{} ({})", suppression.reason, suppression.source)
                }
                _ => finding
                    .finding
                    .message
                    .clone()
                    .unwrap_or_else(|| report.title_of(&finding.finding).to_owned()),
            }));
            table.add_row(cells);
        }
        out.push_str(&format!("{}\n{table}\n\n", section.title()));
    }
    out
}

fn counts(report: &Report) -> String {
    let summary = &report.summary;
    format!(
        "{} check(s): {} failed, {} passed, {} not evaluated, {} error(s), {} suppressed\n",
        summary.checks,
        summary.failed,
        summary.passed,
        summary.not_evaluated,
        summary.errors,
        summary.suppressed,
    )
}

pub(crate) fn severity_cell(severity: Severity, color: bool) -> Cell {
    let cell = Cell::new(severity);
    if !color {
        return cell;
    }
    match severity {
        Severity::Critical => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Severity::High => cell.fg(Color::Red),
        Severity::Medium => cell.fg(Color::Yellow),
        Severity::Low => cell.fg(Color::Cyan),
        Severity::Info => cell.add_attribute(Attribute::Dim),
    }
}

fn baseline_cell(state: Option<BaselineState>, color: bool) -> Cell {
    match state {
        Some(BaselineState::New) if color => Cell::new("new")
            .fg(Color::Green)
            .add_attribute(Attribute::Bold),
        Some(BaselineState::New) => Cell::new("new"),
        Some(BaselineState::Existing) => Cell::new("existing"),
        None => Cell::new(""),
    }
}

pub(crate) fn styled_table(options: &TerminalOptions) -> Table {
    let mut table = new_table(options.width);
    if options.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// One shard of an organization scan: each account, how its scan ended,
/// its failing findings and unevaluated checks, and how long it took.
pub fn render_manifest(manifest: &Manifest, options: &TerminalOptions) -> String {
    let mut table = new_table(options.width);
    table.set_header(vec![
        "account",
        "name",
        "OU",
        "status",
        "failed",
        "not evaluated",
        "seconds",
    ]);
    for run in &manifest.accounts {
        let count = |value: Option<usize>| value.map_or_else(|| Cell::new("?"), number);
        let mut row = account_cells(&run.account, run.status, options.color);
        row.extend([
            count(run.failed),
            count(run.not_evaluated),
            Cell::new(format!("{:.1}", run.seconds)).set_alignment(CellAlignment::Right),
        ]);
        table.add_row(row);
    }
    let mut out = format!(
        "Shard {} of an organization scan: {} account(s)\n{table}\n",
        manifest.shard,
        manifest.accounts.len()
    );
    out.push_str(&problems(
        manifest
            .accounts
            .iter()
            .map(|run| (&run.account, run.status, run.problem.as_deref())),
    ));
    out
}

/// A merged organization report: each account, worst first, with its
/// failing findings by severity.
pub fn render_merged(merged: &Merged, options: &TerminalOptions) -> String {
    let mut table = new_table(options.width);
    let mut header = vec!["account", "name", "OU", "status"];
    header.extend(Severity::DESCENDING.iter().map(|severity| severity.name()));
    header.push("not evaluated");
    table.set_header(header);
    for account in &merged.accounts {
        let mut row = account_cells(&account.account, account.status, options.color);
        for severity in Severity::DESCENDING {
            row.push(account.summary.as_ref().map_or_else(
                || Cell::new("?"),
                |summary| {
                    number(
                        summary
                            .failed_by_severity
                            .get(&severity)
                            .copied()
                            .unwrap_or(0),
                    )
                },
            ));
        }
        row.push(account.summary.as_ref().map_or_else(
            || Cell::new("?"),
            |summary| number(summary.not_evaluated + summary.errors),
        ));
        table.add_row(row);
    }
    let summary = &merged.summary;
    let mut out = format!(
        "Organization scan: {} account(s), {} scanned ({} partial), {} not scanned; {} failing finding(s)\n{table}\n",
        summary.accounts, summary.scanned, summary.partial, summary.not_scanned, summary.failed
    );
    out.push_str(&problems(merged.accounts.iter().map(|account| {
        (&account.account, account.status, account.problem.as_deref())
    })));
    out
}

/// An account's id, name, OU path and status, the status coloured when
/// asked (and always spelt out).
fn account_cells(account: &OrgAccount, status: AccountStatus, color: bool) -> Vec<Cell> {
    let status_cell = Cell::new(status.name());
    let status_cell = match (color, status) {
        (false, _) | (true, AccountStatus::Ok) => status_cell,
        (true, AccountStatus::Partial) => status_cell.fg(Color::Yellow),
        (true, _) => status_cell.fg(Color::Red).add_attribute(Attribute::Bold),
    };
    vec![
        Cell::new(&account.id),
        Cell::new(&account.name),
        Cell::new(account.ou_path_text()),
        status_cell,
    ]
}

/// Why each account that could not be scanned was not, and which they are.
fn problems<'a>(
    accounts: impl Iterator<Item = (&'a OrgAccount, AccountStatus, Option<&'a str>)>,
) -> String {
    let mut out = String::new();
    let mut unscanned = Vec::new();
    for (account, status, problem) in accounts {
        if let Some(problem) = problem {
            out.push_str(&format!("{} ({}): {problem}\n", account.id, status.name()));
        }
        if !status.scanned() {
            unscanned.push(account.id.as_str());
        }
    }
    if !unscanned.is_empty() {
        out.push_str(&format!(
            "{} account(s) could not be scanned: {}\n",
            unscanned.len(),
            unscanned.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../fixtures/report/report.json");

    #[test]
    fn colour_only_when_asked() {
        let report = Report::parse(FIXTURE).expect("fixture parses");
        let plain = render(&report, &TerminalOptions::default());
        assert!(!plain.contains('\u{1b}'));
        let coloured = render(
            &report,
            &TerminalOptions {
                color: true,
                ..TerminalOptions::default()
            },
        );
        // Critical in bold red: the first failing row.
        assert!(
            coloured.contains("\u{1b}[38;5;9m\u{1b}[1m critical \u{1b}[0m"),
            "{coloured}"
        );
    }
}
