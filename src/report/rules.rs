//! The rule catalogue in the terminal: `rampart rules list` and
//! `rampart rules show`.

use std::collections::BTreeSet;

use comfy_table::Table;

use super::new_table;
use crate::engine::resources::ResourceType;
use crate::engine::rule::Rule;
use crate::engine::schema::Field;

/// `rampart rules list`: one column per compliance framework any listed
/// rule maps to, holding that rule's control ids, then its Prowler
/// equivalents and the evaluator that runs it.
pub fn rule_list(rules: &[&Rule], width: Option<u16>) -> String {
    let frameworks: BTreeSet<&str> = rules
        .iter()
        .flat_map(|rule| rule.compliance.keys().map(String::as_str))
        .collect();
    let mut table: Table = new_table(width);
    let mut header = vec!["Id", "Severity", "Resource"];
    header.extend(frameworks.iter().copied());
    header.extend(["Prowler", "Evaluator"]);
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
        row.push(rule.backend().name().to_owned());
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
    match rule.unsupported() {
        None => out.push_str("Evaluator: compiled\n"),
        Some(unsupported) => out.push_str(&format!(
            "Evaluator: interpreter ({} is not compiled, at {}:{} of its expression)\n",
            unsupported.what, unsupported.line, unsupported.column
        )),
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

/// `rampart rules schema TYPE`: every field a rule reads as `resource`, at
/// any depth, with its type, whether the analysis derived it and its
/// meaning.
pub fn schema_doc(resource_type: ResourceType, width: Option<u16>) -> String {
    let mut table: Table = new_table(width);
    table.set_header(["Field", "Type", "Source", "Meaning"]);
    let paths = resource_type.schema().paths();
    for (path, field, derived) in &paths {
        table.add_row([
            format!("resource.{path}"),
            field_type(field),
            if *derived { "analysis" } else { "snapshot" }.to_owned(),
            field.meaning.as_deref().map(one_line).unwrap_or_default(),
        ]);
    }
    format!(
        "{table}\n{} field(s) of `{}`; `analysis` marks what rampart derives, `snapshot` what AWS reported\n",
        paths.len(),
        resource_type.name()
    )
}

/// `rampart rules schema`: the resource types and how many fields each has.
pub fn schema_overview(width: Option<u16>) -> String {
    let mut table: Table = new_table(width);
    table.set_header(["Resource type", "Fields", "Derived by the analysis"]);
    for resource_type in ResourceType::ALL {
        let paths = resource_type.schema().paths();
        let derived = paths.iter().filter(|(_, _, derived)| *derived).count();
        table.add_row([
            resource_type.name().to_owned(),
            paths.len().to_string(),
            derived.to_string(),
        ]);
    }
    format!("{table}\n`rampart rules schema TYPE` lists a type's fields\n")
}

/// A field's type, and whether it can be absent rather than null.
pub fn field_type(field: &Field) -> String {
    if field.always {
        field.value.to_string()
    } else {
        format!("{} (may be absent)", field.value)
    }
}

/// A doc comment on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The README's table of the fields the analysis derives, one row per
/// derived field of each resource type (`rampart rules schema TYPE` shows
/// what is inside each).
pub fn derived_fields_table() -> String {
    let mut table =
        String::from("| resource | field | type | meaning |\n| --- | --- | --- | --- |\n");
    for resource_type in ResourceType::ALL {
        for (path, field, _) in resource_type.schema().paths() {
            if field.derived {
                let meaning = field.meaning.as_deref().map(one_line).unwrap_or_default();
                table.push_str(&format!(
                    "| `{}` | `{path}` | {} | {} |\n",
                    resource_type.name(),
                    field_type(field).replace('|', "\\|"),
                    meaning.replace('|', "\\|")
                ));
            }
        }
    }
    table
}
