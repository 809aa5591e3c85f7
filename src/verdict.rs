//! The two words every stage after the engine speaks: how severe a finding
//! is and what a check concluded. Parsed from user input and rule files,
//! written into every report format.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// From the most to the least severe: the column order of every
    /// per-severity table.
    pub const DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Case-insensitive, as people type it on a command line.
impl FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Severity, String> {
        Severity::DESCENDING
            .into_iter()
            .find(|severity| severity.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!("`{text}` is not a severity: use info, low, medium, high or critical")
            })
    }
}

/// What one rule concluded about one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Fail,
    Error,
    NotEvaluated,
    Pass,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::NotEvaluated => "NOT_EVALUATED",
            Status::Pass => "PASS",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Status, String> {
        [
            Status::Fail,
            Status::Error,
            Status::NotEvaluated,
            Status::Pass,
        ]
        .into_iter()
        .find(|status| status.name().eq_ignore_ascii_case(text))
        .ok_or_else(|| format!("`{text}` is not a status: use FAIL, ERROR, NOT_EVALUATED or PASS"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_match_the_serialised_form() {
        for severity in Severity::DESCENDING {
            assert_eq!(severity.name().parse(), Ok(severity));
            assert_eq!(
                serde_json::to_string(&severity).ok(),
                Some(format!("\"{severity}\""))
            );
        }
        assert_eq!("HIGH".parse(), Ok(Severity::High));
        assert_eq!(
            "severe".parse::<Severity>(),
            Err("`severe` is not a severity: use info, low, medium, high or critical".to_owned())
        );
        for status in [
            Status::Fail,
            Status::Error,
            Status::NotEvaluated,
            Status::Pass,
        ] {
            assert_eq!(status.name().parse(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).ok(),
                Some(format!("\"{status}\""))
            );
        }
        assert!("passed".parse::<Status>().is_err());
    }
}
