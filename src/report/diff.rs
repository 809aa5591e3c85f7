//! `rampart diff OLD NEW`: the failing findings of NEW that OLD did not
//! have, those of OLD that NEW resolved, and those in both, by fingerprint.

use super::terminal::{TerminalOptions, severity_cell, styled_table};
use crate::results::{BaselineState, Report, ReportFinding};
use crate::verdict::Status;

/// Renders a report to which a baseline has been applied.
pub fn render(report: &Report, options: &TerminalOptions) -> String {
    let failing = |state: BaselineState| -> Vec<&ReportFinding> {
        report
            .findings
            .iter()
            .filter(|f| f.finding.status == Status::Fail && f.baseline == Some(state))
            .collect()
    };
    let new = failing(BaselineState::New);
    let unchanged = failing(BaselineState::Existing);
    let resolved = report.resolved.as_deref().unwrap_or_default();
    let mut out = String::new();
    for (title, rows) in [("New", &new), ("Unchanged", &unchanged)] {
        if rows.is_empty() {
            continue;
        }
        let mut table = styled_table(options);
        table.set_header(["Severity", "Rule", "Resource", "Region", "Message"]);
        for finding in rows {
            let message = match &finding.suppression {
                Some(suppression) => format!("suppressed: {}", suppression.reason),
                None => finding.finding.message.clone().unwrap_or_default(),
            };
            table.add_row(vec![
                severity_cell(finding.finding.severity, options.color),
                finding.finding.rule_id.clone().into(),
                finding.finding.resource.id.clone().into(),
                finding.finding.resource.region.clone().into(),
                message.into(),
            ]);
        }
        out.push_str(&format!("{title} ({})\n{table}\n\n", rows.len()));
    }
    if !resolved.is_empty() {
        let mut table = styled_table(options);
        table.set_header(["Severity", "Rule", "Resource", "Region", "Now"]);
        for finding in resolved {
            table.add_row(vec![
                severity_cell(finding.severity, options.color),
                finding.rule_id.clone().into(),
                finding.resource_arn.clone().into(),
                finding.region.clone().into(),
                match finding.now {
                    Some(_) => "passes",
                    None => "resource gone",
                }
                .into(),
            ]);
        }
        out.push_str(&format!("Resolved ({})\n{table}\n\n", resolved.len()));
    }
    out.push_str(&format!(
        "{} new, {} resolved, {} unchanged failing finding(s)\n",
        new.len(),
        resolved.len(),
        unchanged.len()
    ));
    out
}
