//! Rule files: one YAML file per rule, validated strictly and compiled once
//! at load. Every error names the file, line and column it came from.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use include_dir::{Dir, include_dir};
use rayon::prelude::*;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::check::Scope;
use super::compiled::Unsupported;
use super::data::Node;
use super::expr::{Backend, Expr, ExprEnv, Needs, RuleContext, Subject};
use super::resources::ResourceType;
use super::schema::{self, Type};
use super::vars::{self, VarValue};
use crate::error::SourceError;
use crate::files;
use crate::verdict::Severity;

/// The rules shipped inside the binary.
static EMBEDDED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    pub text: String,
    /// AWS CLI steps.
    #[serde(default)]
    pub cli: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Pass,
    Fail,
    /// The condition gives null: the data it needs is missing.
    NotEvaluated,
}

/// An inline test: a resource, as the snapshot would hold it, and whether
/// the rule must pass or fail it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    name: Spanned<String>,
    expect: Expect,
    /// The moment the test is evaluated at, for rules that read the time
    /// (`days_since`); overrides the rule's `now`.
    #[serde(default)]
    now: Option<DateTime<Utc>>,
    resource: serde_json::Value,
}

/// A rule file; `T` is what its tests are read as: every test, or nothing
/// when they are left for later.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile<T> {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    title: String,
    severity: Severity,
    /// An expression giving the severity per resource, for rules whose
    /// resources carry their own (GuardDuty findings).
    #[serde(default)]
    severity_from: Option<Spanned<String>>,
    resource: ResourceType,
    description: String,
    rationale: String,
    remediation: Remediation,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    compliance: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    equivalents: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    vars: BTreeMap<String, VarValue>,
    /// Calls (`service:Operation`) whose failure leaves this rule without
    /// the data it reads, beyond the listing of its resource type.
    #[serde(default)]
    requires: Vec<String>,
    when: Spanned<String>,
    message: Spanned<String>,
    /// Why there is no verdict when the condition gives null, naming the
    /// missing data.
    #[serde(default)]
    unknown: Option<Spanned<String>>,
    /// The clock of every inline test that states none of its own.
    #[serde(default)]
    now: Option<DateTime<Utc>>,
    tests: T,
}

/// A rule's inline tests and the clock they run on. A built-in rule's
/// tests are read from its text when first run: a scan never runs them,
/// and they are most of a rule file.
struct Tests {
    text: Cow<'static, str>,
    read: OnceLock<Result<ReadTests, SourceError>>,
}

struct ReadTests {
    now: Option<DateTime<Utc>>,
    cases: Vec<TestFile>,
}

/// A loaded, compiled rule.
pub struct Rule {
    pub id: String,
    pub aliases: Vec<String>,
    pub title: String,
    pub severity: Severity,
    pub resource: ResourceType,
    pub description: String,
    pub rationale: String,
    pub remediation: Remediation,
    pub references: Vec<String>,
    pub compliance: BTreeMap<String, Vec<String>>,
    pub equivalents: BTreeMap<String, Vec<String>>,
    pub vars: BTreeMap<String, VarValue>,
    pub requires: Vec<(String, String)>,
    /// Where the rule came from: `embedded:ec2/x.yaml` or a file path.
    pub source: String,
    /// SHA-256 of the rule file's text.
    pub digest: String,
    pub(crate) when: Expr,
    pub(crate) severity_from: Option<Expr>,
    pub(crate) message: Vec<MessagePart>,
    pub(crate) unknown: Option<Vec<MessagePart>>,
    pub(crate) context: RuleContext,
    backend: Backend,
    tests: Tests,
}

pub(crate) enum MessagePart {
    Text(String),
    Expr(Expr),
}

/// One inline test that did not give what it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailure {
    pub rule: String,
    pub source: String,
    /// The line of the test's `name`.
    pub line: usize,
    pub test: String,
    pub problem: String,
}

impl Rule {
    /// Whether the rule ships inside the binary (its tests ran in CI).
    pub fn is_embedded(&self) -> bool {
        self.source.starts_with("embedded:")
    }

    /// Runs the rule's inline tests; returns how many ran and which failed.
    pub fn run_tests(&self) -> (usize, Vec<TestFailure>) {
        let tests = match self.tests() {
            Ok(tests) => tests,
            Err(error) => {
                let failure = TestFailure {
                    rule: self.id.clone(),
                    source: self.source.clone(),
                    line: error.line,
                    test: String::new(),
                    problem: error.message.clone(),
                };
                return (0, vec![failure]);
            }
        };
        let needs = Needs::of(self.evaluated());
        let mut failures = Vec::new();
        for test in &tests.cases {
            let failure = |problem: String| TestFailure {
                rule: self.id.clone(),
                source: self.source.clone(),
                line: test.name.referenced.line() as usize,
                test: test.name.value.clone(),
                problem,
            };
            let subject = match self.test_subject(tests, test, &needs) {
                Ok(subject) => subject,
                Err(err) => {
                    failures.push(failure(format!("the test resource is unusable: {err}")));
                    continue;
                }
            };
            let got = match self.check(&subject) {
                Ok(Some(true)) => Expect::Fail,
                Ok(Some(false)) => Expect::Pass,
                Ok(None) => Expect::NotEvaluated,
                Err(err) => {
                    failures.push(failure(format!("the condition failed: {err}")));
                    continue;
                }
            };
            if got != test.expect {
                failures.push(failure(format!(
                    "expected {:?}, got {:?}",
                    test.expect, got
                )));
            } else if got == Expect::NotEvaluated {
                if let Err(err) = self.render_unknown(&subject) {
                    failures.push(failure(format!("the `unknown` message failed: {err}")));
                }
            } else if got == Expect::Fail {
                if let Err(err) = self.render_message(&subject) {
                    failures.push(failure(format!("the message failed: {err}")));
                }
                if let Err(err) = self.severity_of(&subject) {
                    failures.push(failure(err));
                }
            }
        }
        (tests.cases.len(), failures)
    }

    /// The message of every inline test that expects a failure, by test
    /// name, or why it could not be rendered: what a reviewer reads.
    pub fn failing_test_messages(&self) -> Vec<(&str, Result<String, String>)> {
        let tests = match self.tests() {
            Ok(tests) => tests,
            Err(error) => return vec![("", Err(error.to_string()))],
        };
        let needs = Needs::of(self.evaluated());
        tests
            .cases
            .iter()
            .filter(|test| test.expect == Expect::Fail)
            .map(|test| {
                let message = self
                    .test_subject(tests, test, &needs)
                    .and_then(|subject| self.render_message(&subject));
                (test.name.value.as_str(), message)
            })
            .collect()
    }

    /// The rule's tests, read from its text the first time they are asked
    /// for.
    fn tests(&self) -> Result<&ReadTests, &SourceError> {
        self.tests
            .read
            .get_or_init(|| {
                let file: RuleFile<Vec<TestFile>> =
                    files::parse_yaml(&self.source, &self.tests.text)?;
                read_tests(&self.source, self.resource, file.now, file.tests)
            })
            .as_ref()
    }

    /// A test's resource converted as a scan converts it for this rule
    /// alone (only what the rule reads), so the tests cover that too.
    fn test_subject(
        &self,
        tests: &ReadTests,
        test: &TestFile,
        needs: &Needs,
    ) -> Result<Subject, String> {
        Subject::new(&test.resource, test.now.or(tests.now), needs)
    }

    /// Which evaluator runs the rule.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the compiler left one of this rule's expressions to the
    /// interpreter, if it did.
    pub fn unsupported(&self) -> Option<&Unsupported> {
        self.expressions().find_map(Expr::unsupported)
    }

    /// Each expression with the evaluator it runs on: what the engine
    /// reads to know which forms of a resource to build.
    pub fn evaluated(&self) -> impl Iterator<Item = (Backend, &Expr)> {
        self.expressions().map(|expr| (self.backend, expr))
    }

    fn expressions(&self) -> impl Iterator<Item = &Expr> {
        std::iter::once(&self.when)
            .chain(&self.severity_from)
            .chain(
                self.message
                    .iter()
                    .chain(self.unknown.iter().flatten())
                    .filter_map(|part| match part {
                        MessagePart::Expr(expr) => Some(expr),
                        MessagePart::Text(_) => None,
                    }),
            )
    }

    /// Runs the rule on `backend`: the interpreter always can; the
    /// compiled evaluator only when the rule compiled (see
    /// [`Rule::unsupported`]).
    pub fn set_backend(&mut self, backend: Backend) -> Result<(), Unsupported> {
        if backend == Backend::Compiled
            && let Some(unsupported) = self.unsupported()
        {
            return Err(unsupported.clone());
        }
        self.backend = backend;
        Ok(())
    }

    /// Whether the resource fails the rule; `None` when the data the rule
    /// reads is missing.
    pub fn check(&self, subject: &Subject) -> Result<Option<bool>, String> {
        self.when.test(self.backend, &self.context, subject)
    }

    /// The severity of a failure on this resource: the rule's own, or the
    /// one `severity_from` reads from the resource (a GuardDuty finding
    /// keeps GuardDuty's band).
    pub(crate) fn severity_of(&self, subject: &Subject) -> Result<Severity, String> {
        let Some(expr) = &self.severity_from else {
            return Ok(self.severity);
        };
        let text = expr.text(self.backend, &self.context, subject)?;
        text.parse().map_err(|_| {
            format!("`severity_from` gave `{text}`, not info, low, medium, high or critical")
        })
    }

    pub(crate) fn render_message(&self, subject: &Subject) -> Result<String, String> {
        self.render(&self.message, subject)
    }

    /// Why the condition gave no verdict on this resource: the rule's
    /// `unknown` message, or a generic sentence when it has none.
    pub(crate) fn render_unknown(&self, subject: &Subject) -> Result<String, String> {
        match &self.unknown {
            Some(parts) => self.render(parts, subject),
            None => Ok("the data this rule reads is missing from the snapshot".to_owned()),
        }
    }

    fn render(&self, parts: &[MessagePart], subject: &Subject) -> Result<String, String> {
        let mut out = String::new();
        for part in parts {
            match part {
                MessagePart::Text(text) => out.push_str(text),
                MessagePart::Expr(expr) => {
                    out.push_str(&expr.text(self.backend, &self.context, subject)?)
                }
            }
        }
        Ok(out)
    }
}

/// Loads the embedded rules (when `embedded`) and every `*.yaml` under
/// `extra`. Ids and aliases must be unique across all of them.
pub fn load(env: &ExprEnv, embedded: bool, extra: Option<&Path>) -> Result<Vec<Rule>, SourceError> {
    let mut sources: Vec<(String, Cow<'static, str>)> = Vec::new();
    if embedded {
        collect_embedded(&EMBEDDED, &mut sources);
    }
    if let Some(dir) = extra {
        let mut files = Vec::new();
        walk(dir, &mut files).map_err(|message| SourceError {
            file: dir.display().to_string(),
            line: 0,
            column: 0,
            message,
        })?;
        files.sort();
        for file in files {
            let text = crate::files::read_bounded(&file, crate::files::MAX_SOURCE_BYTES).map_err(
                |err| SourceError {
                    file: file.display().to_string(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read the rule file: {err}"),
                },
            )?;
            sources.push((file.display().to_string(), Cow::Owned(text)));
        }
    }
    // Files are independent, so they are read in parallel; the first
    // error in file order is the one reported, whichever thread found it.
    let parsed: Vec<Result<Rule, SourceError>> = sources
        .into_par_iter()
        .map(|(source, text)| parse(env, source, text))
        .collect();
    let mut rules = Vec::with_capacity(parsed.len());
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for rule in parsed {
        let rule = rule?;
        let source = &rule.source;
        for name in std::iter::once(&rule.id).chain(&rule.aliases) {
            if let Some(first) = names.insert(name.clone(), source.clone()) {
                return Err(SourceError {
                    file: source.clone(),
                    line: 1,
                    column: 1,
                    message: format!("rule id or alias `{name}` is already used by {first}"),
                });
            }
        }
        rules.push(rule);
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rules)
}

fn collect_embedded(dir: &Dir<'static>, out: &mut Vec<(String, Cow<'static, str>)>) {
    for file in dir.files() {
        if file.path().extension().is_some_and(|e| e == "yaml")
            && let Some(text) = file.contents_utf8()
        {
            out.push((
                format!("embedded:{}", file.path().display()),
                Cow::Borrowed(text),
            ));
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|err| format!("cannot read the rules directory: {err}"))?;
    for entry in entries {
        let path = entry.map_err(|err| err.to_string())?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// A configuration file's rule settings: new values for rules' `vars`,
/// without editing the rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    rules: BTreeMap<Named, RuleSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSettings {
    #[serde(default)]
    vars: BTreeMap<Named, Spanned<VarValue>>,
}

/// A key of a configuration file, with where it was written: a mistake in
/// a name is reported at the name.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct Named(Spanned<String>);

impl Named {
    fn name(&self) -> &str {
        &self.0.value
    }

    fn at(&self) -> (usize, usize) {
        (
            self.0.referenced.line() as usize,
            self.0.referenced.column() as usize,
        )
    }
}

impl PartialEq for Named {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Named {}

impl PartialOrd for Named {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Named {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

/// Applies a configuration file (`rules: {ID: {vars: {NAME: VALUE}}}`) to
/// loaded rules. A rule or parameter the file names must exist, and each
/// value must be what the parameter holds (see [`vars::mismatch`]).
pub fn configure(
    env: &ExprEnv,
    rules: &mut [Rule],
    file: &str,
    text: &str,
) -> Result<(), SourceError> {
    let error = |(line, column): (usize, usize), message: String| SourceError {
        file: file.to_owned(),
        line,
        column,
        message,
    };
    let config: ConfigFile = files::parse_yaml(file, text)?;
    for (name, settings) in config.rules {
        let Some(rule) = rules
            .iter_mut()
            .find(|r| r.id == name.name() || r.aliases.iter().any(|a| a == name.name()))
        else {
            return Err(error(
                name.at(),
                format!("no rule has the id or alias `{}`", name.name()),
            ));
        };
        for (var, value) in settings.vars {
            let Some(default) = rule.vars.get(var.name()) else {
                let known: Vec<&str> = rule.vars.keys().map(String::as_str).collect();
                return Err(error(
                    var.at(),
                    format!(
                        "rule `{}` has no parameter `{}` (it has: {})",
                        rule.id,
                        var.name(),
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            if let Some(problem) = vars::mismatch(var.name(), default, &value.value) {
                let at = (
                    value.referenced.line() as usize,
                    value.referenced.column() as usize,
                );
                return Err(error(at, format!("rule `{}`: {problem}", rule.id)));
            }
            rule.vars.insert(var.name().to_owned(), value.value);
        }
        rule.context = env
            .rule_context(&rule.vars)
            .map_err(|message| error(name.at(), message))?;
    }
    Ok(())
}

/// The id scheme: `<service>-<subject>-<condition>`, lowercase words
/// joined by hyphens, e.g. `ec2-security-group-ssh-open-to-internet`.
fn valid_id(id: &str) -> bool {
    id.split('-').count() >= 3
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A built-in rule's tests ran in CI, so they are read when first run; a
/// rule from a directory has its tests read and checked as it loads.
fn parse(env: &ExprEnv, source: String, text: Cow<'static, str>) -> Result<Rule, SourceError> {
    if source.starts_with("embedded:") {
        let file: RuleFile<Option<IgnoredAny>> = files::parse_yaml(&source, before_tests(&text))?;
        return compile(env, source, text, file);
    }
    let mut file: RuleFile<Vec<TestFile>> = files::parse_yaml(&source, &text)?;
    // The tests first: a misspelt key in a test is reported before what it
    // may have led the author to write in the expressions.
    let cases = std::mem::take(&mut file.tests);
    let tests = read_tests(&source, file.resource, file.now, cases)?;
    let rule = compile(env, source, text, file)?;
    let _ = rule.tests.read.set(Ok(tests));
    Ok(rule)
}

/// A rule file's text up to its top-level `tests:` key, when no other
/// top-level key follows that key; otherwise the whole text. It is all a
/// scan reads of a built-in rule, and less than half of its YAML.
fn before_tests(text: &str) -> &str {
    let Some(start) = text
        .match_indices("tests:")
        .map(|(at, _)| at)
        .find(|&at| at == 0 || text.as_bytes()[at - 1] == b'\n')
    else {
        return text;
    };
    // Anything at the start of a later line but an indent, a sequence
    // entry or a comment may be another key.
    let another_key = text[start..].lines().skip(1).any(|line| {
        !line.trim_end().is_empty()
            && (line.starts_with("---") || !line.starts_with([' ', '-', '#']))
    });
    if another_key { text } else { &text[..start] }
}

/// A rule's tests, checked: at least one passes and one fails, and each
/// resource names only fields its type has, with the type's kind of value
/// (it may leave fields out): a misspelt key would leave the test testing
/// nothing.
fn read_tests(
    source: &str,
    resource_type: ResourceType,
    now: Option<DateTime<Utc>>,
    cases: Vec<TestFile>,
) -> Result<ReadTests, SourceError> {
    let error = |line: usize, column: usize, message: String| SourceError {
        file: source.to_owned(),
        line,
        column,
        message,
    };
    let schema = Type::Object(Arc::clone(resource_type.schema()));
    for test in &cases {
        let (line, column) = (
            test.name.referenced.line() as usize,
            test.name.referenced.column() as usize,
        );
        let problem = match Node::of(&test.resource) {
            Ok(node) => schema::mismatch(&schema, &node, true),
            Err(problem) => Some(problem.to_string()),
        };
        if let Some(problem) = problem {
            return Err(error(
                line,
                column,
                format!("test `{}`: {problem}", test.name.value),
            ));
        }
    }
    let expectations: BTreeSet<Expect> = cases.iter().map(|t| t.expect).collect();
    if !expectations.contains(&Expect::Pass) || !expectations.contains(&Expect::Fail) {
        return Err(error(
            1,
            1,
            "a rule needs at least one test that passes and one that fails".to_owned(),
        ));
    }
    Ok(ReadTests { now, cases })
}

/// Checks and compiles a rule file; its tests are left to the caller.
fn compile<T>(
    env: &ExprEnv,
    source: String,
    text: Cow<'static, str>,
    file: RuleFile<T>,
) -> Result<Rule, SourceError> {
    let error = |line: usize, column: usize, message: String| SourceError {
        file: source.clone(),
        line,
        column,
        message,
    };
    if !valid_id(&file.id) {
        return Err(error(
            1,
            1,
            format!(
                "rule id `{}` does not follow <service>-<subject>-<condition> in lowercase words joined by hyphens",
                file.id
            ),
        ));
    }
    for (name, default) in &file.vars {
        if let Some(problem) = vars::mismatch(name, default, default) {
            return Err(error(1, 1, format!("in `vars`: the default of {problem}")));
        }
    }
    let scope = Scope::new(
        file.resource.name(),
        file.resource.schema().clone(),
        &file.vars,
    );
    let when = compile_at(env, &scope, &file.when, &text)
        .map_err(|(line, column, message)| error(line, column, format!("in `when`: {message}")))?;
    let severity_from = file
        .severity_from
        .as_ref()
        .map(|source| {
            compile_at(env, &scope, source, &text).map_err(|(line, column, message)| {
                error(line, column, format!("in `severity_from`: {message}"))
            })
        })
        .transpose()?;
    let message =
        template(env, &scope, &file.message, &text).map_err(|(line, column, message)| {
            error(line, column, format!("in `message`: {message}"))
        })?;
    let unknown = file
        .unknown
        .as_ref()
        .map(|scalar| {
            template(env, &scope, scalar, &text).map_err(|(line, column, message)| {
                error(line, column, format!("in `unknown`: {message}"))
            })
        })
        .transpose()?;
    let mut requires = Vec::with_capacity(file.requires.len());
    for call in &file.requires {
        let Some((service, operation)) = call.split_once(':') else {
            return Err(error(
                1,
                1,
                format!("`requires` entry `{call}` is not service:Operation"),
            ));
        };
        requires.push((service.to_owned(), operation.to_owned()));
    }
    let context = env
        .rule_context(&file.vars)
        .map_err(|message| error(1, 1, format!("in `vars`: {message}")))?;
    let mut rule = Rule {
        digest: super::sha256_hex(text.as_bytes()),
        id: file.id,
        aliases: file.aliases,
        title: file.title,
        severity: file.severity,
        resource: file.resource,
        description: file.description,
        rationale: file.rationale,
        remediation: file.remediation,
        references: file.references,
        compliance: file.compliance,
        equivalents: file.equivalents,
        vars: file.vars,
        requires,
        source,
        when,
        severity_from,
        message,
        unknown,
        context,
        backend: Backend::Interpreter,
        tests: Tests {
            text,
            read: OnceLock::new(),
        },
    };
    // Compiled wherever every expression of the rule compiled.
    let _ = rule.set_backend(Backend::Compiled);
    Ok(rule)
}

/// Compiles a scalar's expression, mapping a position inside the
/// expression to the file: the same line for a plain scalar, the lines
/// after the indicator for a `|` block.
fn compile_at(
    env: &ExprEnv,
    scope: &Scope,
    scalar: &Spanned<String>,
    text: &str,
) -> Result<Expr, (usize, usize, String)> {
    env.compile(&scalar.value, scope).map_err(|err| {
        let (line, column) = file_position(scalar, text, err.line, err.column);
        // The offending line of the expression, so the message stands alone.
        let offending = scalar
            .value
            .lines()
            .nth(err.line.saturating_sub(1))
            .unwrap_or("");
        (
            line,
            column,
            format!("{} in `{}`", err.message, excerpt(offending, err.column)),
        )
    })
}

fn file_position(
    scalar: &Spanned<String>,
    text: &str,
    expr_line: usize,
    expr_column: usize,
) -> (usize, usize) {
    let start_line = scalar.referenced.line() as usize;
    let start_column = scalar.referenced.column() as usize;
    let first = text.lines().nth(start_line.saturating_sub(1)).unwrap_or("");
    let at_value = first
        .chars()
        .skip(start_column.saturating_sub(1))
        .collect::<String>();
    if at_value.starts_with('|') || at_value.starts_with('>') {
        let line = start_line + expr_line;
        let indent = text
            .lines()
            .nth(line.saturating_sub(1))
            .map_or(0, |l| l.len() - l.trim_start().len());
        (line, indent + expr_column)
    } else {
        let quoted = usize::from(at_value.starts_with('"') || at_value.starts_with('\''));
        (
            start_line + expr_line - 1,
            start_column + quoted + expr_column - 1,
        )
    }
}

/// At most [`EXCERPT_CHARS`] characters of an expression's line around
/// `column` (1-based), so a long expression is quoted, not echoed whole.
fn excerpt(line: &str, column: usize) -> String {
    let line = line.trim_end();
    let indent = line.len() - line.trim_start().len();
    let chars: Vec<char> = line.trim_start().chars().collect();
    if chars.len() <= EXCERPT_CHARS {
        return chars.into_iter().collect();
    }
    let at = column.saturating_sub(1 + indent).min(chars.len());
    let start = at
        .saturating_sub(EXCERPT_CHARS / 2)
        .min(chars.len() - EXCERPT_CHARS);
    let end = start + EXCERPT_CHARS;
    format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        chars[start..end].iter().collect::<String>(),
        if end < chars.len() { "…" } else { "" }
    )
}

const EXCERPT_CHARS: usize = 80;

/// Splits `text {{ expr }} text` into parts, compiling each expression.
fn template(
    env: &ExprEnv,
    scope: &Scope,
    scalar: &Spanned<String>,
    text: &str,
) -> Result<Vec<MessagePart>, (usize, usize, String)> {
    let mut parts = Vec::new();
    let mut rest = scalar.value.as_str();
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(MessagePart::Text(rest[..open].to_owned()));
        }
        let Some(close) = rest[open..].find("}}") else {
            let (line, column) = file_position(scalar, text, 1, 1);
            return Err((line, column, "`{{` without a closing `}}`".to_owned()));
        };
        let source = &rest[open + 2..open + close];
        let expr = env.compile(source, scope).map_err(|err| {
            let (line, column) = file_position(scalar, text, 1, 1);
            (
                line,
                column,
                format!("`{}`: {}", excerpt(source, err.column), err.message),
            )
        })?;
        parts.push(MessagePart::Expr(expr));
        rest = &rest[open + close + 2..];
    }
    if !rest.is_empty() {
        parts.push(MessagePart::Text(rest.to_owned()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"id: ec2-security-group-test-rule
title: Test
severity: high
resource: security_group
description: d
rationale: r
remediation:
  text: fix it
vars:
  port: 22
when: resource.ingress.exists(p, p.port_range.from == vars.port)
message: "Group {{ resource.id }} opens {{ vars.port }}"
tests:
  - name: open
    expect: fail
    resource: {id: sg-1, ingress: [{port_range: {from: 22, to: 22}}]}
  - name: closed
    expect: pass
    resource: {id: sg-2, ingress: [{port_range: {from: 80, to: 80}}]}
"#;

    fn load_one(text: &str) -> Result<Rule, SourceError> {
        parse(
            &ExprEnv::new(),
            "rules/test.yaml".to_owned(),
            Cow::Owned(text.to_owned()),
        )
    }

    #[test]
    fn a_good_rule_loads_and_its_tests_pass() {
        let rule = load_one(GOOD).expect("loads");
        assert_eq!(rule.severity, Severity::High);
        let (ran, failures) = rule.run_tests();
        assert_eq!((ran, failures), (2, vec![]));
    }

    #[test]
    fn an_unknown_key_is_rejected_where_it_stands() {
        let text = GOOD.replace("rationale: r\n", "rationale: r\nseverty: low\n");
        let err = load_one(&text).err().expect("rejected");
        assert_eq!(
            (err.file.as_str(), err.line, err.column),
            ("rules/test.yaml", 7, 1)
        );
        assert!(err.message.contains("severty"), "{}", err.message);
    }

    #[test]
    fn a_bad_expression_points_at_its_column_in_the_file() {
        let text = GOOD.replace(
            "when: resource.ingress.exists(p, p.port_range.from == vars.port)",
            "when: resource.ingress.exists(p, p.port_range.from ==)",
        );
        let err = load_one(&text).err().expect("rejected");
        assert_eq!(
            err.to_string().split(": Syntax").next(),
            Some("rules/test.yaml:11:54: in `when`")
        );
    }

    #[test]
    fn a_long_expression_is_quoted_around_the_mistake_not_whole() {
        let long = format!("{}vars.port ==)", "vars.port == 22 || ".repeat(600));
        let text = GOOD.replace(
            "when: resource.ingress.exists(p, p.port_range.from == vars.port)",
            &format!("when: {long}"),
        );
        let err = load_one(&text).err().expect("rejected").to_string();
        assert!(err.len() < 300, "{} bytes: {err}", err.len());
        assert!(
            err.ends_with(&format!("in `…{}`", &long[long.len() - EXCERPT_CHARS..])),
            "{err}"
        );
        assert_eq!(excerpt("  a == b", 5), "a == b");
    }

    #[test]
    fn a_block_expression_maps_its_lines() {
        let text = GOOD.replace(
            "when: resource.ingress.exists(p, p.port_range.from == vars.port)",
            "when: |\n  resource.ingress.exists(p,\n    p.port_range.from == )",
        );
        let err = load_one(&text).err().expect("rejected");
        assert_eq!((err.line, err.column), (13, 26), "{err}");
    }

    #[test]
    fn rules_need_a_passing_and_a_failing_test_and_a_well_formed_id() {
        let text = GOOD.replace("expect: pass", "expect: fail");
        assert_eq!(
            load_one(&text).err().map(|e| e.message),
            Some("a rule needs at least one test that passes and one that fails".to_owned())
        );
        let text = GOOD.replace("ec2-security-group-test-rule", "SSH_open");
        assert!(load_one(&text).is_err_and(|e| e.message.starts_with("rule id `SSH_open`")));
    }

    #[test]
    fn a_test_that_expects_the_wrong_result_is_reported() {
        let text = GOOD.replace(
            "{port_range: {from: 80, to: 80}}",
            "{port_range: {from: 22, to: 22}}",
        );
        let rule = load_one(&text).expect("loads");
        let (_, failures) = rule.run_tests();
        assert_eq!(
            failures,
            [TestFailure {
                rule: "ec2-security-group-test-rule".to_owned(),
                source: "rules/test.yaml".to_owned(),
                line: 17,
                test: "closed".to_owned(),
                problem: "expected Pass, got Fail".to_owned(),
            }]
        );
    }

    #[test]
    fn a_scan_reads_a_built_in_rule_without_its_tests_and_misses_nothing() {
        let mut sources = Vec::new();
        collect_embedded(&EMBEDDED, &mut sources);
        for (source, text) in &sources {
            let head = before_tests(text);
            assert!(head.len() < text.len(), "{source} keeps its tests last");
            let read = |text: &str| {
                let file: RuleFile<Option<IgnoredAny>> =
                    files::parse_yaml(source, text).expect("the rule reads");
                format!(
                    "{:?}",
                    RuleFile {
                        tests: None,
                        ..file
                    }
                )
            };
            assert_eq!(read(head), read(text), "{source}");
        }
        let later_key = "id: x\ntests:\n- name: a\n  resource: {}\n# note\n\nwhen: 'true'\n";
        assert_eq!(before_tests(later_key), later_key);
        let second_document = "id: x\ntests:\n- name: a\n---\nid: y\n";
        assert_eq!(before_tests(second_document), second_document);
        let last = "id: x\n# tests: not a key\ntests:\n  - name: a\n\n# end\n";
        assert_eq!(before_tests(last), "id: x\n# tests: not a key\n");
        assert_eq!(before_tests("id: x\n"), "id: x\n");
    }

    #[test]
    fn the_embedded_rules_load_and_pass_their_tests() {
        let rules = load(&ExprEnv::new(), true, None).expect("embedded rules load");
        assert!(!rules.is_empty());
        for rule in &rules {
            assert_eq!(rule.run_tests().1, vec![], "{}", rule.id);
        }
    }
}
