//! Errors that stop a run. Each renders as one sentence that names what is
//! wrong and where; the binary maps every one of them to exit code 2.
//!
//! Failures of a single API call during collection are not errors here:
//! they are recorded in the snapshot (`CollectionError`) and the run goes on.

use std::path::{Path, PathBuf};

/// An input file a person wrote (a rule, a configuration or suppression
/// file) that cannot be used, and exactly where.
/// Line 0 means the problem is with the whole file (it cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", position(.file, *.line, *.column))]
pub struct SourceError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

fn position(file: &str, line: usize, column: usize) -> String {
    if line == 0 {
        format!("{file}: ")
    } else {
        format!("{file}:{line}:{column}: ")
    }
}

/// A snapshot or report that cannot be read, or an output that cannot be
/// written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {kind} {}", path.display())]
    Read {
        kind: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}line {line}, column {column}: {message}", location(path))]
    Json {
        path: Option<PathBuf>,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{}{kind} schema version {found} is not supported; this rampart reads {}",
        location(path),
        versions(*.oldest, *.current)
    )]
    Version {
        path: Option<PathBuf>,
        kind: &'static str,
        found: u32,
        oldest: u32,
        current: u32,
    },
    #[error("{}not a rampart {kind}: {hint}", location(path))]
    WrongKind {
        path: Option<PathBuf>,
        kind: &'static str,
        hint: &'static str,
    },
    /// A well-formed file that is not the one asked for.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write {what} {}", path.display())]
    Write {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn versions(oldest: u32, current: u32) -> String {
    if oldest == current {
        format!("version {current}")
    } else {
        format!("versions {oldest} to {current}")
    }
}

fn location(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|path| format!("{}: ", path.display()))
        .unwrap_or_default()
}

impl FileError {
    pub(crate) fn json(err: serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its message; the
        // position is rendered separately, so strip the duplicate.
        let message = err.to_string();
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_owned(),
            None => message,
        };
        FileError::Json {
            path: None,
            line: err.line(),
            column: err.column(),
            message,
        }
    }

    /// Attaches the file the parsed text came from.
    pub(crate) fn at(mut self, file: &Path) -> Self {
        match &mut self {
            FileError::Json { path, .. }
            | FileError::Version { path, .. }
            | FileError::WrongKind { path, .. } => *path = Some(file.to_owned()),
            FileError::Read { .. } | FileError::Write { .. } | FileError::Invalid { .. } => {}
        }
        self
    }
}

/// What stops a run before its snapshot is taken or read: a rule,
/// configuration, suppression or baseline that cannot be used, or a rule
/// selection that names no rule.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{0}")]
    Selection(String),
    #[error(
        "{}:{}: rule `{}` fails its inline test `{}`: {}; `rampart rules test` lists every failure",
        .0.source, .0.line, .0.rule, .0.test, .0.problem
    )]
    RuleTest(crate::engine::rule::TestFailure),
}

/// Problems that prevent a collection from starting at all.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}", no_credentials(.profile))]
    NoCredentials { profile: Option<String> },
    #[error(
        "the AWS profile `{profile}` does not exist in the AWS config or credentials file (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)"
    )]
    ProfileNotFound { profile: String },
    #[error("cannot load AWS credentials{}: {message}", for_profile(.profile))]
    Credentials {
        profile: Option<String>,
        message: String,
    },
    #[error(
        "`{0}` is not an AWS region name (expected something like us-east-1), given to --region"
    )]
    InvalidRegion(String),
    #[error(
        "`--region all` selects every enabled region and cannot be combined with other regions"
    )]
    AllWithOthers,
    #[error("`{url}` is not a valid {given_as}: {problem}")]
    InvalidEndpoint {
        url: String,
        given_as: String,
        problem: String,
    },
    #[error("--profile needs a profile name; leave it out to use AWS_PROFILE or the default chain")]
    EmptyProfile,
    #[error("cannot use the AWS configuration: {0}")]
    ConfigFile(String),
    #[error(
        "--call-timeout ({}s) is longer than --operation-deadline ({}s), which bounds every attempt of a call together",
        .call.as_secs(), .deadline.as_secs()
    )]
    Timeouts {
        call: std::time::Duration,
        deadline: std::time::Duration,
    },
    #[error("cannot identify the account (sts:GetCallerIdentity in {region}): {message}")]
    Identity { region: String, message: String },
    #[error(
        "cannot list the account's enabled regions (ec2:DescribeRegions in {region}): {message}"
    )]
    RegionDiscovery { region: String, message: String },
    #[error(
        "cannot list the organization's accounts (organizations:{operation}): {message}{}",
        organizations_hint(.message)
    )]
    Organizations {
        operation: &'static str,
        message: String,
    },
    #[error("cannot assume {role}: {message}")]
    AssumeRole { role: String, message: String },
}

fn organizations_hint(message: &str) -> &'static str {
    if message.starts_with("AWSOrganizationsNotInUseException") {
        "; the credentials' account is not in an organization"
    } else if message.starts_with("AccessDenied") {
        "; run from the management account or a delegated administrator, or pass --org-role with a role there"
    } else {
        ""
    }
}

/// An accounts file (`rampart org accounts`) that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
}

fn no_credentials(profile: &Option<String>) -> String {
    match profile {
        Some(name) => format!(
            "no AWS credentials found for profile `{name}`: run `aws sso login --profile {name}` for an SSO profile, or add credentials to the profile"
        ),
        None => "no AWS credentials found: set AWS_PROFILE or pass --profile, run `aws configure` or `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
    }
}

fn for_profile(profile: &Option<String>) -> String {
    profile
        .as_ref()
        .map(|name| format!(" for profile `{name}`"))
        .unwrap_or_default()
}
