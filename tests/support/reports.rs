//! Reports of a chosen size, for the HTML report's tests and bench.

use rampart::results::Report;
use rampart::verdict::Status;

/// The fixture report's passes, and `findings` failing findings: its own
/// failures repeated, each with a distinct fingerprint and message.
pub fn with_failures(findings: usize) -> Report {
    let mut report = Report::parse(include_str!("../../fixtures/report/report.json"))
        .expect("the fixture report reads");
    let failing: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .cloned()
        .collect();
    report.findings.retain(|f| f.finding.status == Status::Pass);
    for at in 0..findings {
        let mut copy = failing[at % failing.len()].clone();
        copy.finding.fingerprint = format!("{at:064x}");
        copy.finding.message = Some(format!(
            "{} (copy {at})",
            copy.finding.message.as_deref().unwrap_or_default()
        ));
        report.findings.push(copy);
    }
    report.refresh_summary();
    report.refresh_compliance();
    report
}
