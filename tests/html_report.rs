//! The HTML report in a real browser (headless Chromium): it opens from
//! the file alone, the explorer filters by the URL fragment, nothing in an
//! AWS string runs, and large reports unpack their compressed data.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rampart::report::terminal::TerminalOptions;
use rampart::report::{self, Format};
use rampart::results::Report;
use rampart::verdict::Status;
use sha2::{Digest, Sha256};

/// The demo evaluated into a JSON and an HTML report.
fn demo(dir: &Path) -> (Report, PathBuf) {
    let json = dir.join("report.json");
    let html = dir.join("report.html");
    let (code, _, stderr) = support::run(
        dir,
        &[
            "evaluate",
            support::DEMO,
            "--fail-on",
            "never",
            "-q",
            "-o",
            &format!("json={}", json.display()),
            "-o",
            &format!("html={}", html.display()),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    (Report::read(&json).expect("the report reads"), html)
}

/// The explorer's rows in the DOM: (fingerprint, severity), in order.
fn rows(dom: &str) -> Vec<(String, String)> {
    dom.split("<tr data-fingerprint=\"")
        .skip(1)
        .map(|rest| {
            let (fingerprint, rest) = rest.split_once('"').expect("quoted");
            let severity = rest
                .split_once("data-severity=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(severity, _)| severity.to_owned())
                .expect("a severity");
            (fingerprint.to_owned(), severity)
        })
        .collect()
}

fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .and_then(|at| dom[at..].find('>').map(|end| at + end + 1))
        .unwrap_or_else(|| panic!("#{id} in the DOM"));
    let end = dom[start..].find('<').map_or(dom.len(), |end| start + end);
    &dom[start..end]
}

#[test]
fn the_demo_report_opens_offline_with_a_working_explorer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, html) = demo(dir.path());
    let listed: Vec<&rampart::results::ReportFinding> = report
        .findings
        .iter()
        .filter(|f| f.finding.status != Status::Pass)
        .collect();
    assert_eq!(listed.len(), 136);

    let dom = support::browser::dom(&html, "");
    assert!(dom.contains("data-explorer=\"ready\""), "the script ran");
    assert_eq!(
        text_of(&dom, "count"),
        "136 of 136 findings (passing checks are counted in the summary)"
    );
    assert_eq!(text_of(&dom, "page"), "page 1 of 2");
    let first = rows(&dom);
    assert_eq!(first.len(), 100, "a page is 100 rows");
    assert!(
        first
            .iter()
            .take(7)
            .all(|(_, severity)| severity == "critical")
    );

    // `#severity=critical` shows exactly the critical findings.
    let critical: BTreeSet<String> = listed
        .iter()
        .filter(|f| f.finding.severity.name() == "critical")
        .map(|f| f.finding.fingerprint.clone())
        .collect();
    let dom = support::browser::dom(&html, "#severity=critical");
    let shown: BTreeSet<String> = rows(&dom).into_iter().map(|(f, _)| f).collect();
    assert_eq!((shown.len(), &shown), (7, &critical));
    assert_eq!(
        text_of(&dom, "count"),
        "7 of 136 findings (passing checks are counted in the summary)"
    );

    // Facets combine; the second page holds the rest; a search narrows.
    let dom = support::browser::dom(&html, "#severity=critical,high&service=iam");
    let root = report
        .findings
        .iter()
        .filter(|f| f.finding.rule_id == "iam-root-mfa-not-enabled")
        .map(|f| f.finding.fingerprint.clone())
        .collect::<Vec<_>>();
    let iam_high = listed
        .iter()
        .filter(|f| f.service() == "iam" && f.finding.severity.name() == "high")
        .count();
    assert_eq!(rows(&dom).len(), 1 + iam_high);
    assert_eq!(rows(&dom)[0].0, root[0]);
    assert_eq!(rows(&support::browser::dom(&html, "#page=2")).len(), 36);
    let dom = support::browser::dom(&html, "#q=rampart-demo-bucket-10");
    assert_eq!(rows(&dom).len(), 1);

    // A finding's detail: its message, ARN, remediation and CLI.
    let ssh = listed
        .iter()
        .find(|f| f.finding.rule_id == "ec2-security-group-ssh-open-to-internet")
        .expect("the demo opens SSH");
    let dom = support::browser::dom(&html, &format!("#finding={}", ssh.finding.fingerprint));
    let detail = &dom[dom.find("id=\"detail\"").expect("the panel")..];
    for part in [
        ssh.finding.message.as_deref().expect("a message"),
        &ssh.finding.resource.arn,
        "aws ec2 revoke-security-group-ingress",
        &ssh.finding.fingerprint,
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-13",
    ] {
        assert!(detail.contains(part), "the detail shows {part}");
    }
}

/// Every `src` and `href` value in `html`.
fn links(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for part in html.split(attribute).skip(1) {
            out.push(part.split('"').next().unwrap_or_default());
        }
    }
    out
}

fn between<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html.find(open).expect("the opening tag") + open.len();
    let end = html[start..].find(close).expect("the closing tag") + start;
    &html[start..end]
}

fn sha256_base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

#[test]
fn the_file_loads_nothing_and_allows_only_its_own_script_and_style() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, html) = demo(dir.path());
    let text = std::fs::read_to_string(&html).expect("read");
    let outside: Vec<&str> = links(&text)
        .into_iter()
        .filter(|link| !link.starts_with('#'))
        .collect();
    assert_eq!(
        outside,
        Vec::<&str>::new(),
        "the file refers only to itself"
    );
    assert!(!text.contains("<link") && !text.contains("@import") && !text.contains("url("));
    let script = between(&text, "<script>", "</script>");
    let style = between(&text, "<style>", "</style>");
    assert_eq!(
        between(
            &text,
            "http-equiv=\"Content-Security-Policy\" content=\"",
            "\""
        ),
        format!(
            "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'",
            sha256_base64(script),
            sha256_base64(style)
        )
    );
    // The links the script adds are the rules' documentation.
    let dom = support::browser::dom(&html, "#q=ssh");
    let fingerprint = rows(&dom)[0].0.clone();
    let dom = support::browser::dom(&html, &format!("#q=ssh&finding={fingerprint}"));
    for link in links(&dom)
        .into_iter()
        .filter(|link| !link.starts_with('#'))
    {
        assert!(link.starts_with("https://docs.aws.amazon.com/"), "{link}");
    }
}

const PAYLOAD: &str = "</script><script>document.body.setAttribute('data-pwned','script')</script>\
     <img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">\u{2028}&amp;";

fn fixture() -> Report {
    Report::parse(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/report/report.json"
    )))
    .expect("the fixture report reads")
}

fn write_html(report: &Report, path: &Path) {
    let text = report::render(report, Format::Html, &TerminalOptions::default());
    std::fs::write(path, text).expect("write");
}

#[test]
fn nothing_in_an_aws_string_runs() {
    let mut report = fixture();
    // Names, descriptions and GuardDuty text reach a report as messages,
    // resource ids, errors and (from a user's rule) titles.
    let target = report
        .findings
        .iter()
        .position(|f| f.finding.status == Status::Fail)
        .expect("a failure");
    report.findings[target].finding.message = Some(format!("name {PAYLOAD}"));
    let mut resource = (*report.findings[target].finding.resource).clone();
    resource.id = format!("sg-{PAYLOAD}");
    report.findings[target].finding.resource = std::sync::Arc::new(resource);
    let fingerprint = report.findings[target].finding.fingerprint.clone();
    let rule_id = report.findings[target].finding.rule_id.clone();
    if let Some(rule) = report.rules.iter_mut().find(|rule| rule.id == rule_id) {
        rule.title = format!("title {PAYLOAD}");
        rule.remediation.text = format!("fix {PAYLOAD}");
    }
    if let Some(error) = report.collection_errors.first_mut() {
        error.message = format!("denied {PAYLOAD}");
    }
    report.scan.regions.push(PAYLOAD.to_owned());
    report.refresh_summary();

    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("hostile.html");
    write_html(&report, &html);
    let text = std::fs::read_to_string(&html).expect("read");
    assert!(
        !text.contains("<script>document"),
        "no planted script element"
    );
    assert!(!text.contains("<img"), "no planted element");
    for fragment in ["", &format!("#finding={fingerprint}")] {
        let dom = support::browser::dom(&html, fragment);
        // The payload's text names the attribute; only running sets it.
        assert!(
            !dom.contains("data-pwned=\""),
            "nothing ran at {fragment:?}"
        );
        assert!(
            dom.contains("data-explorer=\"ready\""),
            "the script still ran"
        );
        assert!(
            dom.contains("&lt;/script&gt;&lt;script&gt;document.body.setAttribute"),
            "the payload is shown as text"
        );
    }
}

#[test]
fn the_same_report_gives_the_same_bytes_from_evaluate_and_from_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, html) = demo(dir.path());
    let again = dir.path().join("again.html");
    let json = dir.path().join("report.json").display().to_string();
    let (code, _, stderr) = support::run(
        dir.path(),
        &["report", &json, "-o", &format!("html={}", again.display())],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(&html).expect("read"),
        std::fs::read(&again).expect("read")
    );
}

#[test]
fn a_large_report_is_compressed_and_still_opens() {
    let report = support::reports::with_failures(3_000);
    let listed = report
        .findings
        .iter()
        .filter(|f| f.finding.status != Status::Pass)
        .count();
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("large.html");
    write_html(&report, &html);
    let text = std::fs::read_to_string(&html).expect("read");
    assert!(text.contains("<script type=\"application/gzip+base64\" id=\"data\">"));
    let dom = support::browser::dom(&html, "#severity=critical");
    assert!(dom.contains("data-explorer=\"ready\""), "the data unpacked");
    let critical = report
        .findings
        .iter()
        .filter(|f| f.finding.status != Status::Pass && f.finding.severity.name() == "critical")
        .count();
    assert_eq!(
        text_of(&dom, "count"),
        format!("{critical} of {listed} findings (passing checks are counted in the summary)")
    );
}

#[test]
fn the_demo_report_screenshot_is_current() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, html) = demo(dir.path());
    let png = dir.path().join("demo.png");
    support::browser::screenshot(&html, &png, 1800);
    let bytes = std::fs::read(&png).expect("read");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Kept for the README: `RAMPART_REGENERATE_SCREENSHOT=1` refreshes it.
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/html-report.png");
    if std::env::var_os("RAMPART_REGENERATE_SCREENSHOT").is_some() {
        std::fs::create_dir_all(kept.parent().expect("docs")).expect("docs dir");
        std::fs::copy(&png, &kept).expect("keep the screenshot");
    }
    assert!(kept.exists(), "docs/html-report.png is kept for the README");
}
