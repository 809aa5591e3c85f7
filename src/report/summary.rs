//! The collection summary: what a snapshot holds per region, and what could
//! not be collected. Printed by `scan` and `evaluate` until findings exist.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use crate::snapshot::Snapshot;

/// Column headings for the per-region resource counts, in the order
/// `Ec2Region::resource_counts` yields them.
const COUNT_HEADINGS: [&str; 12] = [
    "VPCs",
    "Subnets",
    "Route tables",
    "IGWs",
    "NAT GWs",
    "NACLs",
    "SGs",
    "ENIs",
    "Instances",
    "Flow logs",
    "TGWs",
    "Peerings",
];

/// Renders the summary. `width` is the terminal width when known; tables
/// wrap to fit it.
pub fn render(snapshot: &Snapshot, width: Option<u16>) -> String {
    let mut out = format!(
        "Account {} ({}) as {}\nCollected {} by {} {}: {} region(s), {} API call(s)\n\n",
        snapshot.account.account_id,
        snapshot.account.partition,
        snapshot.account.caller_arn,
        snapshot.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        snapshot.tool.name,
        snapshot.tool.version,
        snapshot.regions.len(),
        snapshot.api_calls.values().sum::<u64>(),
    );

    let mut regions = new_table(width);
    let mut header = vec!["Region"];
    header.extend(COUNT_HEADINGS);
    header.extend(["EBS default encryption", "Errors"]);
    regions.set_header(header);
    for (name, counts) in snapshot.resource_counts() {
        let region = &snapshot.regions[name];
        let errors = snapshot
            .collection_errors
            .iter()
            .filter(|e| e.region.as_deref() == Some(name))
            .count();
        let mut row = vec![Cell::new(name)];
        row.extend(
            counts
                .iter()
                .map(|(_, count)| Cell::new(count).set_alignment(CellAlignment::Right)),
        );
        row.push(Cell::new(match region.ec2.ebs_encryption_by_default {
            Some(true) => "on",
            Some(false) => "off",
            None => "not collected",
        }));
        row.push(Cell::new(errors).set_alignment(CellAlignment::Right));
        regions.add_row(row);
    }
    out.push_str(&regions.to_string());
    out.push('\n');

    if snapshot.collection_errors.is_empty() {
        out.push_str("\nEverything requested was collected.\n");
    } else {
        out.push_str(&format!(
            "\n{} call(s) failed; what they would have returned is missing and cannot be evaluated:\n",
            snapshot.collection_errors.len()
        ));
        let mut errors = new_table(width);
        errors.set_header(["Service", "Region", "Operation", "Code", "Message"]);
        for error in &snapshot.collection_errors {
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
    out
}

fn new_table(width: Option<u16>) -> Table {
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
