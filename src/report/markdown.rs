//! GitHub-flavoured Markdown for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY`: the counts, what could not be checked, triage,
//! then the failing findings, most severe first.
//!
//! A comment may hold at most 65,536 characters, so the findings table
//! stops at [`MAX_ROWS`] rows, or earlier when the next row would take the
//! document past [`ROW_BUDGET`] bytes, lists of collection errors and
//! expired suppressions stop at [`MAX_LIST`], and each says how many it
//! left out. Every value from the report goes through [`escape`].

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::compliance;

use crate::org::merge::Merged;
use crate::results::{BaselineState, Report, ReportFinding};
use crate::verdict::Severity;

/// The most failing findings listed.
pub const MAX_ROWS: usize = 200;

/// The most collection errors, and expired suppressions, listed: a role
/// denied everywhere fails hundreds of calls, which must not crowd out the
/// findings.
pub const MAX_LIST: usize = 50;

/// Bytes the document may reach with findings rows: GitHub's limit is
/// 65,536 characters (never more than bytes), less room for the last line.
pub const ROW_BUDGET: usize = 64_000;

pub fn render(report: &Report) -> String {
    let mut out = title(report);
    out.push_str(&overview(report));
    out.push_str(&tables(report));
    out.push_str(&incomplete(report));
    out.push_str(&triage(report));
    out.push_str(&compliance::markdown_summary(report));
    out.push_str(&findings(report, out.len()));
    // The findings come first in a comment's budget; each framework's
    // controls follow while they fit.
    for framework in &report.compliance {
        let controls = compliance::markdown_controls(framework);
        if out.len() + controls.len() <= ROW_BUDGET {
            out.push_str(&controls);
        }
    }
    out
}

/// The opening of an organization's merged report: the totals and a row
/// per account, worst first; each account's own report follows.
pub fn organization(merged: &Merged) -> String {
    let summary = &merged.summary;
    let mut out = format!(
        "# rampart: {} account(s) of an organization — {} failing\n\n{} scanned ({} with calls that failed), {} not scanned; {} check(s), {} failed, {} not evaluated, {} suppressed.\n\n",
        summary.accounts,
        summary.failed,
        summary.scanned,
        summary.partial,
        summary.not_scanned,
        summary.checks,
        summary.failed,
        summary.not_evaluated,
        summary.suppressed,
    );
    out.push_str("| account | name | OU | status | critical | high | medium | low | info |\n");
    out.push_str("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for account in &merged.accounts {
        let count = |severity: Severity| {
            account.summary.as_ref().map_or("?".to_owned(), |summary| {
                summary
                    .failed_by_severity
                    .get(&severity)
                    .copied()
                    .unwrap_or(0)
                    .to_string()
            })
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            escape(&account.account.id),
            escape(&account.account.name),
            escape(&account.account.ou_path_text()),
            account.status.name(),
            count(Severity::Critical),
            count(Severity::High),
            count(Severity::Medium),
            count(Severity::Low),
            count(Severity::Info),
        ));
    }
    for account in merged.accounts.iter().filter(|a| a.problem.is_some()) {
        out.push_str(&format!(
            "\n- {} ({}): {}",
            escape(&account.account.id),
            account.status.name(),
            escape(account.problem.as_deref().unwrap_or_default())
        ));
    }
    out.push('\n');
    out
}

fn title(report: &Report) -> String {
    let summary = &report.summary;
    let mut parts = vec![format!("{} failing", summary.failed)];
    if summary.suppressed > 0 {
        parts.push(format!("{} suppressed", summary.suppressed));
    }
    let unchecked = report.unevaluated();
    if unchecked > 0 {
        parts.push(format!("{unchecked} not evaluated"));
    }
    format!(
        "## {}: AWS account {} — {}\n\n",
        escape(&report.tool.name),
        escape(&report.scan.account_id),
        parts.join(", ")
    )
}

fn overview(report: &Report) -> String {
    let scan = &report.scan;
    let summary = &report.summary;
    format!(
        "{} check(s) by {} rule(s) in {} region(s) ({}), snapshot collected {}: {} failed, {} passed, {} not evaluated, {} error(s), {} suppressed.\n\n",
        summary.checks,
        report.rules.len(),
        scan.regions.len(),
        escape(&scan.regions.join(", ")),
        scan.collected_at.format("%Y-%m-%d %H:%M UTC"),
        summary.failed,
        summary.passed,
        summary.not_evaluated,
        summary.errors,
        summary.suppressed,
    )
}

/// Failing findings per severity, then per service and severity.
fn tables(report: &Report) -> String {
    let summary = &report.summary;
    if summary.failed == 0 {
        return "No failing findings.\n\n".to_owned();
    }
    let with_baseline = summary.new.is_some();
    let mut new: BTreeMap<Severity, usize> = BTreeMap::new();
    for finding in report.findings.iter().filter(|f| f.is_failing()) {
        if finding.baseline == Some(BaselineState::New) {
            *new.entry(finding.finding.severity).or_default() += 1;
        }
    }
    let by_service = report.failing_by(|f| f.service());

    let mut out = String::from("| Severity | Failing |");
    out.push_str(if with_baseline {
        " New |\n|---|---:|---:|\n"
    } else {
        "\n|---|---:|\n"
    });
    for severity in Severity::DESCENDING {
        let failing = summary
            .failed_by_severity
            .get(&severity)
            .copied()
            .unwrap_or(0);
        let _ = write!(out, "| {severity} | {failing} |");
        if with_baseline {
            let _ = write!(out, " {} |", new.get(&severity).copied().unwrap_or(0));
        }
        out.push('\n');
    }

    out.push_str("\n| Service |");
    for severity in Severity::DESCENDING {
        let _ = write!(out, " {severity} |");
    }
    out.push_str(" total |\n|---|");
    out.push_str(&"---:|".repeat(Severity::DESCENDING.len() + 1));
    out.push('\n');
    for (service, counts) in by_service {
        let _ = write!(out, "| {} |", escape(service));
        for n in counts {
            let _ = write!(out, " {n} |");
        }
        let _ = writeln!(out, " {} |", counts.iter().sum::<usize>());
    }
    out.push('\n');
    out
}

/// What could not be collected or checked, stated plainly.
fn incomplete(report: &Report) -> String {
    let unchecked = report.unevaluated();
    let errors = &report.collection_errors;
    if errors.is_empty() && unchecked == 0 {
        return "Everything requested was collected and evaluated.\n\n".to_owned();
    }
    let mut out = format!(
        "**Incomplete:** {unchecked} check(s) could not be evaluated, and {} AWS API call(s) failed during collection",
        errors.len()
    );
    out.push_str(if errors.is_empty() { ".\n" } else { ":\n\n" });
    for error in errors.iter().take(MAX_LIST) {
        let _ = write!(
            out,
            "- {}:{} in {} failed with {}: {}",
            escape(&error.service),
            escape(&error.operation),
            escape(error.region.as_deref().unwrap_or("global")),
            escape(&error.code),
            escape(&error.message),
        );
        if let Some(resource) = &error.resource {
            let _ = write!(out, " (resource {})", escape(resource));
        }
        out.push('\n');
    }
    out.push_str(&more(errors.len()));
    out.push('\n');
    out
}

/// The baseline comparison and the suppressions that no longer apply.
fn triage(report: &Report) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    if let (Some(new), Some(resolved)) = (summary.new, summary.resolved) {
        let _ = writeln!(
            out,
            "**Baseline:** compared with {}, {new} new, {} existing, {resolved} resolved.\n",
            escape(report.scan.baseline.as_deref().unwrap_or("given")),
            summary.failed.saturating_sub(new),
        );
    }
    if !report.expired_suppressions.is_empty() {
        out.push_str("**Expired suppressions** (they no longer apply):\n\n");
        for expired in report.expired_suppressions.iter().take(MAX_LIST) {
            let _ = write!(out, "- {}:{}", escape(&expired.file), expired.line);
            if let Some(date) = expired.expires {
                let _ = write!(out, ", expired {date}");
            }
            let _ = writeln!(out, ": {}", escape(&expired.reason));
        }
        out.push_str(&more(report.expired_suppressions.len()));
        out.push('\n');
    }
    out
}

/// The failing findings, most severe first, within the row limits;
/// `written` is the length of everything before this section.
fn findings(report: &Report, written: usize) -> String {
    let mut failing: Vec<&ReportFinding> =
        report.findings.iter().filter(|f| f.is_failing()).collect();
    if failing.is_empty() {
        return String::new();
    }
    failing.sort_by_key(|f| Reverse(f.finding.severity));
    let with_baseline = report.summary.new.is_some();
    let mut out = String::from("### Failing findings\n\n| Severity | Rule | Resource | Region |");
    out.push_str(if with_baseline { " Baseline |" } else { "" });
    out.push_str(" Message |\n|---|---|---|---|");
    out.push_str(if with_baseline { "---|" } else { "" });
    out.push_str("---|\n");
    let mut shown = 0;
    for finding in &failing {
        let f = &finding.finding;
        let mut row = format!(
            "| {} | {} | {} | {} |",
            f.severity,
            escape(&f.rule_id),
            escape(&f.resource.id),
            escape(&f.resource.region),
        );
        if with_baseline {
            row.push_str(match finding.baseline {
                Some(BaselineState::New) => " **new** |",
                Some(BaselineState::Existing) => " existing |",
                None => " |",
            });
        }
        let _ = writeln!(
            row,
            " {} |",
            escape(f.message.as_deref().unwrap_or(report.title_of(f)))
        );
        if shown == MAX_ROWS || written + out.len() + row.len() > ROW_BUDGET {
            break;
        }
        out.push_str(&row);
        shown += 1;
    }
    if shown < failing.len() {
        let _ = writeln!(out, "\n…and {} more.", failing.len() - shown);
    }
    out
}

/// The line for items of a list cut at [`MAX_LIST`], if it was.
fn more(total: usize) -> String {
    if total > MAX_LIST {
        format!("- …and {} more.\n", total - MAX_LIST)
    } else {
        String::new()
    }
}

/// Makes `text` literal in a table cell or inline text: backslash-escapes
/// the punctuation Markdown would act on (`|` ends a cell, a backtick opens
/// code, `*` and `_` emphasis, `[` and `]` links, `<` and `>` HTML, `&`
/// entities, `~` strikethrough, `#` headings, `\` itself), and writes line
/// breaks as `<br>` so a row stays on one line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_what_markdown_would_read() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("`x` *y* _z_"), "\\`x\\` \\*y\\* \\_z\\_");
        assert_eq!(escape("l1\nl2\r\nl3\rl4"), "l1<br>l2<br>l3<br>l4");
        assert_eq!(escape("<b>&amp;\\"), "\\<b\\>\\&amp;\\\\");
        assert_eq!(escape("C&C é"), "C\\&C é");
    }
}
