//! One self-contained HTML file: everything inline, nothing loaded, a
//! Content-Security-Policy that allows only the file's own script and
//! style (by hash). The summary, charts (SVG drawn here), compliance view,
//! rules and what could not be evaluated read without JavaScript; the
//! script adds the findings explorer over a JSON block.
//!
//! Rendered from the report alone and deterministically: the same report
//! gives the same bytes. Every AWS-sourced string goes through the
//! template's HTML escaping or, in the data block, through JSON escaped
//! for a script element.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use askama::Template;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Duration;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::compliance::{ControlStatus, FrameworkStatus};
use crate::results::{BaselineState, Report, ReportFinding, RuleInfo, service_of};
use crate::snapshot::CollectionError;
use crate::verdict::{Severity, Status};

const STYLE: &str = include_str!("../../templates/report.css");
const SCRIPT: &str = include_str!("../../templates/report.js");

/// Above this many bytes of findings data the block is gzip-compressed
/// (and base64-encoded) for the browser's `DecompressionStream` to unpack.
pub const COMPRESS_ABOVE: usize = 256 * 1024;

/// Suppressions expiring within this many days of the scan are called out.
const EXPIRING_DAYS: i64 = 30;

/// Checks without a verdict listed in the page itself; the explorer has
/// them all.
const MAX_UNEVALUATED_ROWS: usize = 200;

/// Bars shown per chart; the rest are summed in the last.
const MAX_BARS: usize = 10;

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    report: &'a Report,
    csp: String,
    style: &'static str,
    script: &'static str,
    cards: Vec<Card>,
    charts: Vec<Chart>,
    compliance: Vec<Framework<'a>>,
    statuses: Vec<&'static str>,
    rules: Vec<RuleRow<'a>>,
    errors: &'a [CollectionError],
    unevaluated: Vec<&'a ReportFinding>,
    data: Data,
}

/// One summary figure, with a word for what it counts and the status it
/// reflects (a class: colour repeats the words, never replaces them).
struct Card {
    label: String,
    value: String,
    detail: String,
    class: &'static str,
}

struct Chart {
    title: &'static str,
    /// What to say when nothing is counted.
    empty: &'static str,
    empty_now: bool,
    height: usize,
    bars: Vec<Bar>,
}

/// A horizontal bar, its geometry computed here.
struct Bar {
    /// Whole in the bar's tooltip, cut to fit beside it.
    label: String,
    short: String,
    value: usize,
    y: usize,
    text_y: usize,
    width: usize,
    class: &'static str,
}

struct Framework<'a> {
    status: &'a FrameworkStatus,
    decided: usize,
    counts: Vec<(&'static str, usize)>,
    score: String,
}

struct RuleRow<'a> {
    rule: &'a RuleInfo,
    failing: usize,
    passed: usize,
    unevaluated: usize,
    suppressed: usize,
}

/// The explorer's data: as JSON escaped for a script element, or gzip
/// and base64 beyond [`COMPRESS_ABOVE`].
struct Data {
    kind: &'static str,
    text: String,
}

/// What the explorer reads: rule metadata once, results referring to it.
#[derive(Serialize)]
struct ExplorerData<'a> {
    rules: Vec<ExplorerRule<'a>>,
    findings: Vec<ExplorerFinding<'a>>,
}

#[derive(Serialize)]
struct ExplorerRule<'a> {
    id: &'a str,
    title: &'a str,
    service: &'a str,
    remediation: &'a str,
    cli: Option<&'a str>,
    references: &'a [String],
}

#[derive(Serialize)]
struct ExplorerFinding<'a> {
    rule: usize,
    status: &'static str,
    severity: &'static str,
    resource: &'a str,
    arn: &'a str,
    region: &'a str,
    account: &'a str,
    message: Option<&'a str>,
    fingerprint: &'a str,
    suppression: Option<String>,
    baseline: Option<&'static str>,
}

pub fn render(report: &Report) -> String {
    let script_hash = BASE64.encode(Sha256::digest(SCRIPT.as_bytes()));
    let style_hash = BASE64.encode(Sha256::digest(STYLE.as_bytes()));
    let page = Page {
        report,
        csp: format!(
            "default-src 'none'; script-src 'sha256-{script_hash}'; style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'"
        ),
        style: STYLE,
        script: SCRIPT,
        cards: cards(report),
        charts: charts(report),
        compliance: report.compliance.iter().map(framework).collect(),
        statuses: ControlStatus::ALL
            .into_iter()
            .map(ControlStatus::name)
            .collect(),
        rules: rule_rows(report),
        errors: &report.collection_errors,
        unevaluated: report
            .findings
            .iter()
            .filter(|f| matches!(f.finding.status, Status::NotEvaluated | Status::Error))
            .collect(),
        data: data(report),
    };
    // Rendering into a String fails only if a value's Display does, and
    // none of these can.
    page.render().unwrap_or_else(|error| {
        tracing::error!("the HTML report did not render: {error}");
        String::new()
    })
}

fn count(map: &BTreeMap<Severity, usize>, severity: Severity) -> usize {
    map.get(&severity).copied().unwrap_or(0)
}

fn cards(report: &Report) -> Vec<Card> {
    let summary = &report.summary;
    let mut cards = Vec::new();
    for severity in Severity::DESCENDING {
        cards.push(Card {
            label: format!("{severity} failing"),
            value: count(&summary.failed_by_severity, severity).to_string(),
            detail: String::new(),
            class: if count(&summary.failed_by_severity, severity) > 0 {
                "fail"
            } else {
                "pass"
            },
        });
    }
    let decided = summary.passed + summary.failed;
    cards.push(Card {
        label: "pass rate".to_owned(),
        value: if decided == 0 {
            "–".to_owned()
        } else {
            format!("{:.1}%", summary.passed as f64 * 100.0 / decided as f64)
        },
        detail: format!("{} of {decided} checks with a verdict", summary.passed),
        class: "neutral",
    });
    cards.push(Card {
        label: "not evaluated".to_owned(),
        value: report.unevaluated().to_string(),
        detail: format!(
            "{} API call(s) failed during collection",
            report.collection_errors.len()
        ),
        class: if report.is_incomplete() {
            "warn"
        } else {
            "pass"
        },
    });
    let expiring = report.scan.finished_at.date_naive() + Duration::days(EXPIRING_DAYS);
    let expiring_soon: BTreeSet<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.suppression.as_deref())
        .filter(|s| s.expires.is_some_and(|date| date <= expiring))
        .map(|s| s.source.as_str())
        .collect();
    cards.push(Card {
        label: "suppressed".to_owned(),
        value: summary.suppressed.to_string(),
        detail: format!(
            "{} suppression(s) expiring within {EXPIRING_DAYS} days, {} expired",
            expiring_soon.len(),
            report.expired_suppressions.len()
        ),
        class: "neutral",
    });
    if let (Some(new), Some(resolved)) = (summary.new, summary.resolved) {
        cards.push(Card {
            label: "against the baseline".to_owned(),
            value: format!("{new} new"),
            detail: format!(
                "{} existing, {resolved} resolved",
                summary.failed.saturating_sub(new)
            ),
            class: if new > 0 { "fail" } else { "pass" },
        });
    }
    cards
}

fn chart(
    title: &'static str,
    empty: &'static str,
    rows: Vec<(String, usize, &'static str)>,
) -> Chart {
    const ROW: usize = 22;
    let mut rows = rows;
    if rows.len() > MAX_BARS {
        let rest: usize = rows[MAX_BARS - 1..].iter().map(|(_, n, _)| n).sum();
        let others = rows.len() - (MAX_BARS - 1);
        rows.truncate(MAX_BARS - 1);
        rows.push((format!("{others} others"), rest, "neutral"));
    }
    let most = rows.iter().map(|(_, n, _)| *n).max().unwrap_or(0).max(1);
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(at, (label, value, class))| Bar {
            short: shorten(&label),
            label,
            value,
            y: at * ROW,
            text_y: at * ROW + 15,
            // Bars share 300 of the chart's 600 units; the labels the rest.
            width: (value * 300).div_ceil(most),
            class,
        })
        .collect::<Vec<_>>();
    Chart {
        title,
        empty,
        empty_now: bars.iter().all(|bar| bar.value == 0),
        height: (bars.len() * ROW).max(ROW),
        bars,
    }
}

/// Labels longer than the room beside the bars end in an ellipsis.
fn shorten(label: &str) -> String {
    const ROOM: usize = 34;
    if label.chars().count() <= ROOM {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(ROOM - 1).collect();
    short.push('…');
    short
}

fn charts(report: &Report) -> Vec<Chart> {
    let summary = &report.summary;
    let severities = Severity::DESCENDING
        .into_iter()
        .map(|severity| {
            (
                severity.to_string(),
                count(&summary.failed_by_severity, severity),
                severity.name(),
            )
        })
        .collect();
    let by_count = |map: &BTreeMap<String, usize>| {
        let mut rows: Vec<(String, usize, &'static str)> = map
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(key, n)| (key.clone(), *n, "fail"))
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows
    };
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut exposed: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for finding in report.findings.iter().filter(|f| f.is_failing()) {
        let rule = &finding.finding.rule_id;
        *by_rule.entry(rule.clone()).or_default() += 1;
        if rule.starts_with("ec2-instance-") && rule.ends_with("-reachable-from-internet") {
            exposed
                .entry(report.title_of(&finding.finding).to_owned())
                .or_default()
                .insert(&finding.finding.resource.arn);
        }
    }
    let exposure: BTreeMap<String, usize> = exposed
        .into_iter()
        .map(|(title, instances)| (title, instances.len()))
        .collect();
    vec![
        chart("Failing findings by severity", "Nothing fails.", severities),
        chart(
            "Failing findings by service",
            "Nothing fails.",
            by_count(&summary.failed_by_service),
        ),
        chart(
            "Failing findings by region",
            "Nothing fails.",
            by_count(&summary.failed_by_region),
        ),
        chart("Top failing rules", "Nothing fails.", by_count(&by_rule)),
        chart(
            "Instances reachable from the internet, by what they expose",
            "No instance is reachable from the internet on a port a rule checks.",
            by_count(&exposure),
        ),
    ]
}

fn framework(status: &FrameworkStatus) -> Framework<'_> {
    Framework {
        status,
        decided: status.decided(),
        counts: ControlStatus::ALL
            .into_iter()
            .map(|s| (s.name(), status.count(s)))
            .collect(),
        score: status
            .score
            .map_or_else(|| "–".to_owned(), |score| format!("{score:.1}%")),
    }
}

fn rule_rows(report: &Report) -> Vec<RuleRow<'_>> {
    let mut counts: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for finding in &report.findings {
        let row = counts.entry(&finding.finding.rule_id).or_default();
        let column = match finding.finding.status {
            Status::Fail if finding.suppression.is_some() => 3,
            Status::Fail => 0,
            Status::Pass => 1,
            Status::NotEvaluated | Status::Error => 2,
        };
        row[column] += 1;
    }
    let mut rows: Vec<RuleRow<'_>> = report
        .rules
        .iter()
        .map(|rule| {
            let [failing, passed, unevaluated, suppressed] =
                counts.get(rule.id.as_str()).copied().unwrap_or_default();
            RuleRow {
                rule,
                failing,
                passed,
                unevaluated,
                suppressed,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.failing
            .cmp(&a.failing)
            .then_with(|| b.rule.severity.cmp(&a.rule.severity))
            .then_with(|| a.rule.id.cmp(&b.rule.id))
    });
    rows
}

fn data(report: &Report) -> Data {
    let index: BTreeMap<&str, usize> = report
        .rules
        .iter()
        .enumerate()
        .map(|(at, rule)| (rule.id.as_str(), at))
        .collect();
    let explorer = ExplorerData {
        rules: report
            .rules
            .iter()
            .map(|rule| ExplorerRule {
                id: &rule.id,
                title: &rule.title,
                service: service_of(&rule.id),
                remediation: &rule.remediation.text,
                cli: rule.remediation.cli.as_deref(),
                references: &rule.references,
            })
            .collect(),
        findings: report
            .findings
            .iter()
            .filter(|f| f.finding.status != Status::Pass)
            .filter_map(|f| {
                let finding = &f.finding;
                Some(ExplorerFinding {
                    rule: *index.get(finding.rule_id.as_str())?,
                    status: finding.status.name(),
                    severity: finding.severity.name(),
                    resource: &finding.resource.id,
                    arn: &finding.resource.arn,
                    region: &finding.resource.region,
                    account: &finding.resource.account,
                    message: finding.message.as_deref(),
                    fingerprint: &finding.fingerprint,
                    suppression: f.suppression.as_deref().map(|s| match s.expires {
                        Some(date) => format!("{} (until {date}; {})", s.reason, s.source),
                        None => format!("{} ({})", s.reason, s.source),
                    }),
                    baseline: f.baseline.map(|state| match state {
                        BaselineState::New => "new",
                        BaselineState::Existing => "existing",
                    }),
                })
            })
            .collect(),
    };
    let json = serde_json::to_string(&explorer).unwrap_or_else(|_| "{}".to_owned());
    if json.len() <= COMPRESS_ABOVE {
        return Data {
            kind: "application/json",
            text: script_safe(&json),
        };
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match encoder
        .write_all(json.as_bytes())
        .and_then(|()| encoder.finish())
    {
        Ok(bytes) => Data {
            kind: "application/gzip+base64",
            text: BASE64.encode(bytes),
        },
        Err(_) => Data {
            kind: "application/json",
            text: script_safe(&json),
        },
    }
}

/// JSON that cannot end or confuse the script element holding it: `<`,
/// `>` and `&` (which can only occur inside strings) and the line
/// separators JavaScript once treated as line ends become escapes.
pub fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_element_cannot_close_it() {
        let json = serde_json::to_string("</script><b>&\u{2028}\u{2029}").expect("JSON");
        let safe = script_safe(&json);
        assert_eq!(
            safe,
            "\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u2028\\u2029\""
        );
        let back: String = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, "</script><b>&\u{2028}\u{2029}");
    }
}
