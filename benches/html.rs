//! The HTML report's size and time to interactive in headless Chromium
//! (`cargo bench --bench html`), at 1,000, 10,000 and 100,000 findings:
//! the fixture report's failing findings repeated with distinct
//! fingerprints and messages. Time to interactive is the moment the
//! explorer's first page is drawn (`data-ready-ms`, from navigation
//! start), the median of three loads.
#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

#[path = "../tests/support/browser.rs"]
#[allow(dead_code, reason = "the bench takes no screenshot")]
mod browser;
#[path = "../tests/support/reports.rs"]
mod reports;

use rampart::report::terminal::TerminalOptions;
use rampart::report::{self, Format};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("| findings | file size | data block | time to interactive (median of 3) |");
    println!("| ---: | ---: | --- | ---: |");
    for findings in [1_000, 10_000, 100_000] {
        let report = reports::with_failures(findings);
        let html = report::render(&report, Format::Html, &TerminalOptions::default());
        let path = dir.path().join(format!("{findings}.html"));
        std::fs::write(&path, &html).expect("write");
        let compressed = html.contains("application/gzip+base64");
        let mut times: Vec<u64> = (0..3)
            .map(|_| {
                let dom = browser::dom(&path, "");
                dom.split("data-ready-ms=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .and_then(|ms| ms.parse().ok())
                    .expect("the explorer became ready")
            })
            .collect();
        times.sort_unstable();
        println!(
            "| {findings} | {:.1} MB | {} | {} ms |",
            html.len() as f64 / 1e6,
            if compressed { "gzip, base64" } else { "JSON" },
            times[1]
        );
    }
}
