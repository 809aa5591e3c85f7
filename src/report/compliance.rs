//! The compliance view of a report: a framework's controls with their
//! status, for the terminal and for Markdown.

use std::fmt::Write as _;

use comfy_table::{Attribute, Cell, Color};

use super::markdown::escape;
use super::terminal::{TerminalOptions, styled_table};
use crate::compliance::{ControlResult, ControlStatus, FrameworkStatus};
use crate::results::Report;

/// The framework `id` in the report, or one sentence naming the ones it has.
pub fn find<'a>(report: &'a Report, id: &str) -> Result<&'a FrameworkStatus, String> {
    report
        .compliance
        .iter()
        .find(|framework| framework.framework == id)
        .ok_or_else(|| {
            let known: Vec<&str> = report
                .compliance
                .iter()
                .map(|framework| framework.framework.as_str())
                .collect();
            format!(
                "no compliance framework `{id}` in this report; the frameworks are: {}",
                known.join(", ")
            )
        })
}

/// How much of the framework rampart decides, and the score.
fn coverage(framework: &FrameworkStatus) -> String {
    let counts = ControlStatus::ALL
        .into_iter()
        .map(|status| format!("{} {}", framework.count(status), status.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let (passed, with_data) = framework.scored();
    let score = framework.score.map_or_else(
        || "none (no control has data)".to_owned(),
        |score| format!("{score:.1}% ({passed} of {with_data})"),
    );
    format!(
        "rampart decides {} of the {} controls listed ({counts}).\nScore as Security Hub defines it, controls passed over controls with data (failed, or passed on a resource): {score}.",
        framework.decided(),
        framework.controls.len(),
    )
}

/// What the control's rules found, or why it has no verdict.
fn detail(control: &ControlResult) -> String {
    if control.rules.is_empty() || control.status == ControlStatus::NotEvaluated {
        return control.reason.clone().unwrap_or_default();
    }
    let mut parts = Vec::new();
    for (count, what) in [
        (control.failed, "failing"),
        (control.suppressed, "suppressed"),
        (control.not_evaluated, "not evaluated"),
        (control.passed, "passing"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    if parts.is_empty() {
        parts.push("no resources to check".to_owned());
    }
    parts.join(", ")
}

fn status_cell(status: ControlStatus, color: bool) -> Cell {
    // The status is always written out: colour only repeats it.
    let cell = Cell::new(status.name());
    if !color {
        return cell;
    }
    match status {
        ControlStatus::Fail => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        ControlStatus::NotEvaluated => cell.fg(Color::Yellow),
        ControlStatus::Pass => cell.fg(Color::Green),
        ControlStatus::Manual | ControlStatus::OutOfScope => cell.add_attribute(Attribute::Dim),
    }
}

pub fn terminal(framework: &FrameworkStatus, options: &TerminalOptions) -> String {
    let mut out = format!(
        "{} ({})\n{}\n",
        framework.name,
        framework.framework,
        coverage(framework)
    );
    let mut table = styled_table(options);
    table.set_header(["Control", "Status", "Title", "Results", "Rules"]);
    for control in &framework.controls {
        table.add_row([
            Cell::new(&control.id),
            status_cell(control.status, options.color),
            Cell::new(&control.title),
            Cell::new(detail(control)),
            Cell::new(control.rules.join("\n")),
        ]);
    }
    out.push_str(&table.to_string());
    let _ = writeln!(out, "\n{}", framework.not_listed);
    out
}

/// A row per framework.
pub fn markdown_summary(report: &Report) -> String {
    if report.compliance.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "### Compliance\n\n| Framework | Decided | FAIL | NOT_EVALUATED | PASS | MANUAL | OUT_OF_SCOPE | Score |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for framework in &report.compliance {
        let _ = write!(
            out,
            "| {} | {} of {} |",
            escape(&framework.name),
            framework.decided(),
            framework.controls.len()
        );
        for status in ControlStatus::ALL {
            let _ = write!(out, " {} |", framework.count(status));
        }
        let score = framework
            .score
            .map_or_else(|| "–".to_owned(), |score| format!("{score:.1}%"));
        let _ = writeln!(out, " {score} |");
    }
    out.push_str("\nScore as Security Hub defines it: controls passed over controls with data (failed, or passed on a resource); each framework's controls follow the findings.\n\n");
    out
}

/// A framework's controls, folded.
pub fn markdown_controls(framework: &FrameworkStatus) -> String {
    let mut out = format!(
        "<details><summary>{}: {} failing, {} not evaluated</summary>\n\n| Control | Status | Title | Results | Rules |\n|---|---|---|---|---|\n",
        escape(&framework.name),
        framework.count(ControlStatus::Fail),
        framework.count(ControlStatus::NotEvaluated),
    );
    for control in &framework.controls {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            escape(&control.id),
            control.status.name(),
            escape(&control.title),
            escape(&detail(control)),
            escape(&control.rules.join("\n"))
        );
    }
    let _ = write!(out, "\n{}\n\n</details>\n\n", escape(&framework.not_listed));
    out
}
