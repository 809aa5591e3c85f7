//! Reporters: render a [`model::Report`] for people (terminal tables,
//! Markdown) and for machines (JSON, SARIF, OCSF, JUnit). Reporters return
//! text; the CLI decides where it goes.

pub mod compliance;
pub mod diff;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod ocsf;
pub mod rules;
pub mod sarif;
pub mod terminal;

use std::fmt;
use std::str::FromStr;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::results::Report;
use terminal::TerminalOptions;

/// The formats a report can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Ocsf,
    Junit,
    Markdown,
    Html,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Ocsf,
        Format::Junit,
        Format::Markdown,
        Format::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Ocsf => "ocsf",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|format| format.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("`{text}` is not a report format: use {}", names.join(", "))
            })
    }
}

/// Renders `report` in `format`; `terminal` applies to the table only.
pub fn render(report: &Report, format: Format, terminal: &TerminalOptions) -> String {
    match format {
        Format::Table => terminal::render(report, terminal),
        Format::Json => json(report),
        Format::Sarif => sarif::render(report),
        Format::Ocsf => ocsf::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
    }
}

/// Writes `report` in `format` to `out`. The JSON formats (the report of
/// record, SARIF, OCSF) are streamed; the others, which hold the failing
/// results or a summary of them, are rendered first.
pub fn write(
    report: &Report,
    format: Format,
    terminal: &TerminalOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => write_compact_json(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Ocsf => ocsf::write(report, out),
        other => out.write_all(render(report, other, terminal).as_bytes()),
    }
}

/// The JSON format of record: compact, one line (reports of large
/// accounts run to hundreds of megabytes; `jq .` shows one indented).
pub fn json(report: &Report) -> String {
    let mut bytes = Vec::new();
    let _ = write_compact_json(report, &mut bytes);
    String::from_utf8(bytes).unwrap_or_default()
}

fn write_compact_json(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, report)?;
    out.write_all(b"\n")
}

/// Pretty JSON ending in a newline, written as it is produced.
pub(crate) fn write_pretty_json(
    value: &impl serde::Serialize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Pretty JSON ending in a newline. Every JSON format holds only strings,
/// numbers, dates and maps with string keys: serialising cannot fail.
pub(crate) fn pretty_json(value: &impl serde::Serialize) -> String {
    let mut bytes = Vec::new();
    let _ = write_pretty_json(value, &mut bytes);
    String::from_utf8(bytes).unwrap_or_default()
}

/// A table that wraps to `width` when known, and never wraps otherwise
/// (output to a file or a pipe keeps whole lines).
pub(crate) fn new_table(width: Option<u16>) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    match width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}
