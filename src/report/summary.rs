//! The collection summary: what a snapshot holds for the account and per
//! region, and what could not be collected. Printed by `scan` and
//! `evaluate` until findings exist.

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use crate::snapshot::ec2::Ec2Region;
use crate::snapshot::guardduty::{GuardDutyRegion, SeverityLabel};
use crate::snapshot::iam::{ConsoleAccess, IamAccount, MfaType, PasswordPolicyState};
use crate::snapshot::{RegionSnapshot, Snapshot};

const NOT_COLLECTED: &str = "not collected";

/// Renders the summary. `width` is the terminal width when known; tables
/// wrap to fit it.
pub fn render(snapshot: &Snapshot, width: Option<u16>) -> String {
    let mut out = format!(
        "Account {} ({}) as {}\nCollected {} by {} {}: {} region(s), {} resource(s), {} API call(s)\n\n",
        snapshot.account.account_id,
        snapshot.account.partition,
        snapshot.account.caller_arn,
        snapshot.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        snapshot.tool.name,
        snapshot.tool.version,
        snapshot.regions.len(),
        snapshot.resource_count(),
        snapshot.api_calls.values().sum::<u64>(),
    );
    out.push_str(&account_table(snapshot, width).to_string());
    out.push_str("\n\n");
    out.push_str(&regions_table(snapshot, width).to_string());
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

fn account_table(snapshot: &Snapshot, width: Option<u16>) -> Table {
    let iam = &snapshot.global.iam;
    let mut table = new_table(width);
    table.set_header(["Account-wide", "State"]);
    table.add_row(["Root MFA", &root_mfa(iam)]);
    table.add_row([
        "Root access keys",
        match iam.root.access_keys_present {
            Some(true) => "present",
            Some(false) => "none",
            None => NOT_COLLECTED,
        },
    ]);
    table.add_row([
        "Root last signed in",
        &root_last_used(iam, snapshot.collected_at),
    ]);
    table.add_row(["IAM users", &users(iam)]);
    table.add_row(["Password policy", &password_policy(iam)]);
    let alarms = &snapshot.global.billing_alarms;
    table.add_row([
        "Billing alarms",
        &format!(
            "{} ({} notify someone)",
            alarms.len(),
            alarms
                .iter()
                .filter(|a| a.actions_enabled && !a.alarm_actions.is_empty())
                .count()
        ),
    ]);
    let budgets = &snapshot.global.budgets;
    table.add_row([
        "Budgets",
        &format!(
            "{} ({} with notifications)",
            budgets.len(),
            budgets
                .iter()
                .filter(|b| b.notifications.as_ref().is_some_and(|n| !n.is_empty()))
                .count()
        ),
    ]);
    table.add_row(["IAM Identity Center", &identity_center(snapshot)]);
    table
}

fn root_mfa(iam: &IamAccount) -> String {
    match (iam.root.mfa_enabled, iam.root.mfa_type) {
        (Some(false), _) => "not enabled".to_owned(),
        (Some(true), Some(MfaType::Virtual)) => "enabled (virtual)".to_owned(),
        (Some(true), Some(MfaType::Hardware)) => "enabled (hardware)".to_owned(),
        (Some(true), _) => "enabled (type not collected)".to_owned(),
        (None, _) => NOT_COLLECTED.to_owned(),
    }
}

fn root_last_used(iam: &IamAccount, now: DateTime<Utc>) -> String {
    let Some(row) = &iam.root.credentials else {
        return NOT_COLLECTED.to_owned();
    };
    match row.password_last_used.value() {
        Some(when) => format!(
            "{} ({} days before collection)",
            when.format("%Y-%m-%d"),
            (now - *when).num_days()
        ),
        None => "never, or not since IAM began tracking".to_owned(),
    }
}

fn users(iam: &IamAccount) -> String {
    let console: Vec<_> = iam
        .users
        .iter()
        .filter(|u| matches!(u.console_access, Some(ConsoleAccess::Enabled { .. })))
        .collect();
    let without_mfa = console
        .iter()
        .filter(|u| u.mfa_devices.as_ref().is_some_and(Vec::is_empty))
        .count();
    let unknown = iam
        .users
        .iter()
        .filter(|u| u.console_access.is_none() || u.mfa_devices.is_none())
        .count();
    let mut text = format!(
        "{} ({} with console access, {} of those without MFA)",
        iam.users.len(),
        console.len(),
        without_mfa
    );
    if unknown > 0 {
        text.push_str(&format!(
            "; console or MFA state of {unknown} not collected"
        ));
    }
    text
}

fn password_policy(iam: &IamAccount) -> String {
    match &iam.password_policy {
        None => NOT_COLLECTED.to_owned(),
        Some(PasswordPolicyState::NotSet) => "not set".to_owned(),
        Some(PasswordPolicyState::Set(policy)) => {
            let number = |n: Option<i32>| n.map_or("unset".to_owned(), |n| n.to_string());
            format!(
                "minimum length {}, prevents reuse of last {}",
                number(policy.minimum_password_length),
                number(policy.password_reuse_prevention)
            )
        }
    }
}

fn identity_center(snapshot: &Snapshot) -> String {
    let found: Vec<String> = snapshot
        .regions
        .iter()
        .flat_map(|(region, data)| {
            data.identity_center.instances.iter().map(move |instance| {
                let admins = instance
                    .permission_sets
                    .iter()
                    .filter(|p| {
                        p.grants_administrator == Some(true)
                            && p.account_assignments
                                .as_ref()
                                .is_some_and(|a| !a.is_empty())
                    })
                    .count();
                format!("{region} ({admins} admin permission set(s) assigned here)")
            })
        })
        .collect();
    if found.is_empty() {
        "no instance found".to_owned()
    } else {
        found.join("; ")
    }
}

fn regions_table(snapshot: &Snapshot, width: Option<u16>) -> Table {
    let mut table = new_table(width);
    let mut header = vec!["Region"];
    header.extend(
        Ec2Region::default()
            .resource_counts()
            .map(|(label, _)| label),
    );
    header.extend([
        "EBS default encryption",
        "GuardDuty",
        "Findings C/H/M/L",
        "Errors",
    ]);
    table.set_header(header);
    for (name, region) in &snapshot.regions {
        let failed = |service: &str| {
            snapshot
                .collection_errors
                .iter()
                .any(|e| e.region.as_deref() == Some(name) && e.service == service)
        };
        let errors = snapshot
            .collection_errors
            .iter()
            .filter(|e| e.region.as_deref() == Some(name))
            .count();
        let mut row = vec![Cell::new(name)];
        row.extend(
            region
                .ec2
                .resource_counts()
                .into_iter()
                .map(|(_, count)| Cell::new(count).set_alignment(CellAlignment::Right)),
        );
        row.push(Cell::new(match region.ec2.ebs_encryption_by_default {
            Some(true) => "on",
            Some(false) => "off",
            None => NOT_COLLECTED,
        }));
        row.push(Cell::new(guardduty_state(region, failed("guardduty"))));
        row.push(Cell::new(findings(&region.guardduty)));
        row.push(Cell::new(errors).set_alignment(CellAlignment::Right));
        table.add_row(row);
    }
    table
}

fn guardduty_state(region: &RegionSnapshot, failed: bool) -> &'static str {
    let detectors = &region.guardduty.detectors;
    if detectors.is_empty() {
        return if failed { NOT_COLLECTED } else { "off" };
    }
    if detectors
        .iter()
        .any(|d| d.status.as_deref() == Some("ENABLED"))
    {
        "on"
    } else {
        "suspended"
    }
}

fn findings(guardduty: &GuardDutyRegion) -> String {
    let Some(counts) = guardduty
        .detectors
        .iter()
        .find_map(|d| d.active_findings_by_severity.as_ref())
    else {
        return "-".to_owned();
    };
    [
        SeverityLabel::Critical,
        SeverityLabel::High,
        SeverityLabel::Medium,
        SeverityLabel::Low,
    ]
    .iter()
    .map(|label| counts.get(label).copied().unwrap_or(0).to_string())
    .collect::<Vec<_>>()
    .join("/")
}

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
