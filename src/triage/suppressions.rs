//! Suppressions: a YAML file of accepted findings, each matched by rule,
//! account, region and resource (exact or glob), with a mandatory reason
//! and an optional expiry date after which it stops applying.
//!
//! ```yaml
//! suppressions:
//!   - rule: ec2-security-group-ssh-open-to-internet
//!     resource: "sg-0bastion*"
//!     region: eu-west-1
//!     reason: Bastion host; access limited by the SSO session policy (SEC-142)
//!     expires: 2027-03-31
//! ```

use std::path::Path;

use chrono::NaiveDate;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::engine::Engine;
use crate::error::SourceError;
use crate::files;
use crate::results::{AppliedSuppression, Report, SuppressionSource};
use crate::verdict::Status;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressionFile {
    suppressions: Vec<Spanned<EntryFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    rule: Option<String>,
    account: Option<String>,
    region: Option<String>,
    resource: Option<String>,
    reason: Option<String>,
    expires: Option<NaiveDate>,
}

/// One entry, its patterns compiled. An absent pattern matches anything.
struct Entry {
    rule: Option<Pattern>,
    account: Option<Pattern>,
    region: Option<Pattern>,
    /// Matched against the resource id and its ARN.
    resource: Option<Pattern>,
    source: SuppressionSource,
}

struct Pattern(GlobMatcher);

impl Pattern {
    fn matches(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

pub struct Suppressions {
    entries: Vec<Entry>,
}

impl Suppressions {
    /// Reads and checks a suppression file. Every entry needs a reason and
    /// a rule or resource; a rule named without a glob must exist, so a
    /// typo cannot silently suppress nothing.
    pub fn read(path: &Path, engine: &Engine) -> Result<Suppressions, SourceError> {
        let file = path.display().to_string();
        let text =
            crate::files::read_bounded(path, crate::files::MAX_SOURCE_BYTES).map_err(|err| {
                SourceError {
                    file: file.clone(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read the suppression file: {err}"),
                }
            })?;
        Self::parse(&file, &text, engine)
    }

    pub fn parse(file: &str, text: &str, engine: &Engine) -> Result<Suppressions, SourceError> {
        let parsed: SuppressionFile = files::parse_yaml(file, text)?;
        let entries = parsed
            .suppressions
            .into_iter()
            .map(|entry| Entry::new(file, entry, engine))
            .collect::<Result<_, _>>()?;
        Ok(Suppressions { entries })
    }

    /// Suppresses each FAIL the first live entry matches; lists the entries
    /// whose expiry date is before `today` in the report.
    pub fn apply(&self, report: &mut Report, today: NaiveDate) {
        let (live, expired): (Vec<&Entry>, Vec<&Entry>) = self
            .entries
            .iter()
            .partition(|entry| entry.source.expires.is_none_or(|date| date >= today));
        for finding in &mut report.findings {
            if finding.finding.status != Status::Fail {
                continue;
            }
            let resource = &finding.finding.resource;
            finding.suppression = live
                .iter()
                .find(|entry| {
                    entry
                        .rule
                        .as_ref()
                        .is_none_or(|p| p.matches(&finding.finding.rule_id))
                        && entry
                            .account
                            .as_ref()
                            .is_none_or(|p| p.matches(&resource.account))
                        && entry
                            .region
                            .as_ref()
                            .is_none_or(|p| p.matches(&resource.region))
                        && entry
                            .resource
                            .as_ref()
                            .is_none_or(|p| p.matches(&resource.id) || p.matches(&resource.arn))
                })
                .map(|entry| {
                    Box::new(AppliedSuppression {
                        reason: entry.source.reason.clone(),
                        expires: entry.source.expires,
                        source: format!("{}:{}", entry.source.file, entry.source.line),
                    })
                });
        }
        report.expired_suppressions = expired.iter().map(|e| e.source.clone()).collect();
        report.refresh_summary();
        report.refresh_compliance();
    }
}

impl Entry {
    fn new(file: &str, spanned: Spanned<EntryFile>, engine: &Engine) -> Result<Entry, SourceError> {
        let (line, column) = (
            spanned.referenced.line() as usize,
            spanned.referenced.column() as usize,
        );
        let error = |message: String| SourceError {
            file: file.to_owned(),
            line,
            column,
            message,
        };
        let entry = spanned.value;
        let reason = entry
            .reason
            .filter(|reason| !reason.trim().is_empty())
            .ok_or_else(|| error("a suppression needs a `reason`".to_owned()))?;
        if entry.rule.is_none() && entry.resource.is_none() {
            return Err(error(
                "a suppression needs a `rule` or a `resource`; one with neither would hide everything"
                    .to_owned(),
            ));
        }
        let pattern = |field: &str, value: Option<String>| {
            value
                .map(|text| {
                    Glob::new(&text)
                        .map(|glob| Pattern(glob.compile_matcher()))
                        .map_err(|err| error(format!("`{field}` is not a valid glob: {err}")))
                })
                .transpose()
        };
        // An exact rule name may be an alias; match on the id it stands for.
        let rule = match entry.rule {
            Some(name) if !is_glob(&name) => Some(
                engine
                    .rule(&name)
                    .map(|rule| rule.id.clone())
                    .ok_or_else(|| error(format!("no rule has the id or alias `{name}`")))?,
            ),
            other => other,
        };
        Ok(Entry {
            rule: pattern("rule", rule)?,
            account: pattern("account", entry.account)?,
            region: pattern("region", entry.region)?,
            resource: pattern("resource", entry.resource)?,
            source: SuppressionSource {
                file: file.to_owned(),
                line,
                reason: reason.trim().to_owned(),
                expires: entry.expires,
            },
        })
    }
}

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}
