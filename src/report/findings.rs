//! Findings in the terminal: what failed, what could not be checked, and a
//! count of every status; and the rule catalogue (`rampart rules`).

use std::collections::BTreeSet;

use comfy_table::Table;

use super::summary::new_table;
use crate::engine::rule::Rule;
use crate::engine::{Finding, Status};

/// Non-passing results, most severe first, then the counts.
pub fn render(findings: &[Finding], width: Option<u16>) -> String {
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    let mut out = String::new();
    if !shown.is_empty() {
        let mut table = new_table(width);
        table.set_header([
            "Severity", "Status", "Rule", "Resource", "Region", "Message",
        ]);
        for finding in &shown {
            table.add_row([
                finding.severity.to_string(),
                status_name(finding.status).to_owned(),
                finding.rule_id.clone(),
                finding.resource.id.clone(),
                finding.resource.region.clone(),
                finding.message.clone().unwrap_or_default(),
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    let count = |status: Status| findings.iter().filter(|f| f.status == status).count();
    out.push_str(&format!(
        "{} check(s): {} failed, {} passed, {} not evaluated, {} error(s)\n",
        findings.len(),
        count(Status::Fail),
        count(Status::Pass),
        count(Status::NotEvaluated),
        count(Status::Error),
    ));
    out
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
        Status::NotEvaluated => "NOT_EVALUATED",
        Status::Pass => "PASS",
    }
}

/// `rampart rules list`: one column per compliance framework any listed
/// rule maps to, holding that rule's control ids, then its Prowler
/// equivalents.
pub fn rule_list(rules: &[&Rule], width: Option<u16>) -> String {
    let frameworks: BTreeSet<&str> = rules
        .iter()
        .flat_map(|rule| rule.compliance.keys().map(String::as_str))
        .collect();
    let mut table: Table = new_table(width);
    let mut header = vec!["Id", "Severity", "Resource"];
    header.extend(frameworks.iter().copied());
    header.push("Prowler");
    table.set_header(header);
    for rule in rules {
        let mut row = vec![
            rule.id.clone(),
            rule.severity.to_string(),
            rule.resource.name().to_owned(),
        ];
        row.extend(frameworks.iter().map(|framework| {
            rule.compliance
                .get(*framework)
                .map(|controls| controls.join(", "))
                .unwrap_or_default()
        }));
        row.push(
            rule.equivalents
                .get("prowler")
                .map(|checks| checks.join("\n"))
                .unwrap_or_default(),
        );
        table.add_row(row);
    }
    format!("{table}\n{} rule(s)\n", rules.len())
}

/// `rampart rules show ID`.
pub fn rule_doc(rule: &Rule) -> String {
    let mut out = format!(
        "{}\n{}\n\nSeverity: {}\nResource: {}\nSource: {}\n",
        rule.id,
        rule.title,
        rule.severity,
        rule.resource.name(),
        rule.source
    );
    if !rule.aliases.is_empty() {
        out.push_str(&format!("Aliases: {}\n", rule.aliases.join(", ")));
    }
    out.push_str(&format!(
        "\nDescription\n  {}\n\nRationale\n  {}\n\nRemediation\n  {}\n",
        rule.description.trim(),
        rule.rationale.trim(),
        rule.remediation.text.trim()
    ));
    if let Some(cli) = &rule.remediation.cli {
        out.push('\n');
        for line in cli.trim_end().lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    if !rule.compliance.is_empty() {
        out.push_str("\nCompliance\n");
        for (framework, controls) in &rule.compliance {
            out.push_str(&format!("  {framework}: {}\n", controls.join(", ")));
        }
    }
    if !rule.equivalents.is_empty() {
        out.push_str("\nEquivalents\n");
        for (tool, checks) in &rule.equivalents {
            out.push_str(&format!("  {tool}: {}\n", checks.join(", ")));
        }
    }
    if !rule.vars.is_empty() {
        out.push_str("\nParameters\n");
        for (name, value) in &rule.vars {
            out.push_str(&format!(
                "  {name} = {}\n",
                serde_json::to_string(value).unwrap_or_default()
            ));
        }
    }
    if !rule.references.is_empty() {
        out.push_str("\nReferences\n");
        for reference in &rule.references {
            out.push_str(&format!("  {reference}\n"));
        }
    }
    out
}
