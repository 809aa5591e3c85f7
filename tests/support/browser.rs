//! Headless Chromium (Debian's `chromium`; `.ci/run` installs it): a page's
//! DOM after its scripts ran, and screenshots. A test that needs it fails,
//! never skips, when it cannot start.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `RAMPART_CHROMIUM`, or Debian's binary.
fn binary() -> PathBuf {
    std::env::var_os("RAMPART_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Chromium started as the machine allows it (as root, without a
/// sandbox) and kept off the network: no background connections, no
/// component updates, a fresh profile.
fn chromium(profile: &Path) -> Command {
    let binary = binary();
    assert!(
        binary.exists(),
        "headless Chromium is needed at {} (apt-get install chromium, or set RAMPART_CHROMIUM)",
        binary.display()
    );
    let mut command = Command::new(binary);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        // Lets the page's asynchronous work (decompression) finish first.
        "--virtual-time-budget=10000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

fn url(file: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", file.display())
}

/// The DOM of `file` opened at `fragment` (`""` or `#...`), after its
/// scripts ran. The page's console must hold no Content-Security-Policy
/// violation and no uncaught error: what the policy blocks, or a script
/// that failed, would otherwise go unseen.
pub fn dom(file: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = chromium(profile.path())
        // The page's console, on stderr.
        .args(["--enable-logging=stderr", "--v=0"])
        .arg("--dump-dom")
        .arg(url(file, fragment))
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "chromium failed: {stderr}");
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .filter(|line| line.contains("Content Security Policy") || line.contains("Uncaught"))
        .collect();
    assert_eq!(
        complaints,
        Vec::<&str>::new(),
        "the page's console at {fragment:?}"
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A PNG of `file` at a desktop width.
pub fn screenshot(file: &Path, png: &Path, height: u32) {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = chromium(profile.path())
        .arg(format!("--window-size=1400,{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url(file, ""))
        .output()
        .expect("run chromium");
    assert!(
        output.status.success() && png.exists(),
        "chromium took no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
