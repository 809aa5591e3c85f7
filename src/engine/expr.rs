//! The expression boundary: every use of the CEL interpreter goes through
//! this module, so a faster evaluator can replace it without touching the
//! rule format or the engine.
//!
//! Expressions see `resource` (the resource being checked, as its snapshot
//! JSON) and `vars` (the rule's parameters), plus the network and time
//! helpers rules need: `cidr_contains`, `cidr_overlaps`, `covers_internet`,
//! `is_rfc1918`, `ports_overlap`, `port_in_range`, `days_since`.
//!
//! `days_since` counts from the evaluation's clock, which the engine sets to
//! the moment the snapshot was collected: the same snapshot gives the same
//! results on any later day.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::objects::Value;
use cel::{Context, Env, ExecutionError, FunctionContext, Program};
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use super::check::{self, Scope};
use super::compiled::{self, Unsupported};
use super::data::{Node, Shape};
use crate::analyze::cidr::{Network, covers_internet};

/// Which evaluator runs a rule: the compiled one, or the `cel`
/// interpreter for a rule using a construct the compiler does not support.
/// The interpreter is also the reference the compiled evaluator is tested
/// against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    Compiled,
    Interpreter,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Compiled => "compiled",
            Backend::Interpreter => "interpreter",
        }
    }
}

impl Serialize for Backend {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A compiled expression, shared by every rule that writes the same text.
#[derive(Debug, Clone)]
pub struct Expr(Arc<Parsed>);

/// The interpreter's program, and the compiled one unless the expression
/// uses something the compiler leaves to the interpreter.
#[derive(Debug)]
struct Parsed {
    program: Program,
    compiled: Result<compiled::Program, Unsupported>,
}

impl Expr {
    /// Both evaluators' forms of a parsed program: the compiled one from
    /// the interpreter's own syntax tree, so the text is parsed once.
    fn of(program: Program) -> Expr {
        let compiled = compiled::Program::compile(program.expression(), program.source_info());
        Expr(Arc::new(Parsed { program, compiled }))
    }
}

/// Why an expression did not compile: position within the expression text
/// (1-based) and the interpreter's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The shared interpreter environment: the CEL standard library, its string
/// extension and rampart's helpers; and the expressions parsed so far.
pub struct ExprEnv {
    env: Arc<Env>,
    /// By text: the catalogue writes `resource.id` and its other message
    /// parts many times over, and parsing is most of loading.
    parsed: Mutex<HashMap<String, Expr>>,
}

impl ExprEnv {
    pub fn new() -> ExprEnv {
        let mut env = Env::stdlib();
        // The string extension (join, split, lowerAscii, ...) registers
        // only names the standard library lacks, so this cannot clash.
        let _ = env.add_extension(cel::extensions::strings);
        ExprEnv {
            env: Arc::new(env),
            parsed: Mutex::new(HashMap::new()),
        }
    }

    /// Parses `source` once, checks it against what `scope` says the
    /// resource and `vars` hold, and compiles it for both evaluators.
    pub fn compile(&self, source: &str, scope: &Scope) -> Result<Expr, CompileError> {
        let expr = self.parsed(source)?;
        let program = &expr.0.program;
        check::check(program.expression(), program.source_info(), scope).map_err(|error| {
            CompileError {
                line: error.line,
                column: error.column,
                message: error.message,
            }
        })?;
        Ok(expr)
    }

    /// The expression written as `source`, parsed the first time it is
    /// seen. Rules load in parallel, so two may parse the same text at
    /// once; either result serves.
    fn parsed(&self, source: &str) -> Result<Expr, CompileError> {
        if let Some(expr) = self
            .parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source)
        {
            return Ok(expr.clone());
        }
        let expr = Expr::of(self.parse(source)?);
        self.parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(source.to_owned(), expr.clone());
        Ok(expr)
    }

    /// Compiles without the type check, for tests of what each evaluator
    /// does with a value the checker would have refused.
    #[cfg(test)]
    pub(crate) fn compile_unchecked(&self, source: &str) -> Result<Expr, CompileError> {
        self.parse(source).map(Expr::of)
    }

    fn parse(&self, source: &str) -> Result<Program, CompileError> {
        self.env.compile(source).map_err(|errors| {
            let first = errors.errors.first();
            let (line, column) = first.map_or((1, 1), |e| {
                (
                    usize::try_from(e.pos.0).unwrap_or(1).max(1),
                    usize::try_from(e.pos.1).unwrap_or(1).max(1),
                )
            });
            CompileError {
                line,
                column,
                message: first
                    .map(|e| e.msg.clone())
                    .unwrap_or_else(|| errors.to_string()),
            }
        })
    }

    /// The evaluation context of one rule: helpers and the rule's `vars`.
    pub fn rule_context<V: Serialize>(&self, vars: &V) -> Result<RuleContext, String> {
        let mut context = Context::with_env(self.env.clone());
        register_helpers(&mut context).map_err(|e| e.to_string())?;
        let node = Node::of(vars).map_err(|e| e.to_string())?;
        let vars = cel::to_value(vars).map_err(|e| e.to_string())?;
        context.add_variable_from_value("vars", vars);
        Ok(RuleContext {
            context,
            vars: node,
        })
    }
}

impl Default for ExprEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// A rule's context, shared by every evaluation of that rule.
pub struct RuleContext {
    context: Context<'static, 'static>,
    vars: Node,
}

/// The variable holding the evaluation's clock. No CEL identifier can
/// contain `@`, so rules cannot read or shadow it; they see time only
/// through `days_since`.
const CLOCK: &str = "@now";

/// Which forms of a resource to build: the rules of a type that run on
/// the interpreter need its values, the compiled ones its [`Node`]s, and
/// of those only what they read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    pub interpreter: bool,
    pub compiled: bool,
    /// What the compiled rules read of the resource.
    pub shape: Arc<Shape>,
}

impl Needs {
    /// What `expressions`, run on `backend` each, need of a resource.
    pub fn of<'e>(expressions: impl IntoIterator<Item = (Backend, &'e Expr)>) -> Needs {
        let mut needs = Needs::default();
        let mut shape = Shape::Unread;
        for (backend, expr) in expressions {
            match (backend, &expr.0.compiled) {
                (Backend::Compiled, Ok(program)) => {
                    needs.compiled = true;
                    program.read_shape(&mut shape);
                }
                (Backend::Compiled, Err(_)) => {
                    needs.compiled = true;
                    shape = Shape::Whole;
                }
                (Backend::Interpreter, _) => needs.interpreter = true,
            }
        }
        needs.shape = Arc::new(shape);
        needs
    }

    /// Both forms, whole: inline tests and the oracle.
    pub fn both() -> Needs {
        Needs {
            interpreter: true,
            compiled: true,
            shape: Arc::new(Shape::Whole),
        }
    }
}

/// A resource converted once and lent to every rule that checks it;
/// converting per rule would cost more than evaluating.
pub struct Subject {
    interpreted: Option<Box<dyn Val>>,
    node: Option<Node>,
    /// Microseconds since the Unix epoch; `None` where no clock was stated
    /// (an inline test without `now`), so reading the time is an error
    /// rather than the wall clock.
    now: Option<i64>,
    now_value: Option<Box<dyn Val>>,
}

impl Subject {
    /// The compiled evaluator's form of the resource, when it was built.
    pub fn node(&self) -> Option<&Node> {
        self.node.as_ref()
    }

    pub fn new<T: Serialize>(
        resource: &T,
        now: Option<DateTime<Utc>>,
        needs: &Needs,
    ) -> Result<Subject, String> {
        let interpreted = if needs.interpreter {
            let value = cel::to_value(resource).map_err(|e| e.to_string())?;
            Some(boxed(value)?)
        } else {
            None
        };
        let node = if needs.compiled {
            Some(Node::with_shape(resource, &needs.shape).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let now = now.map(|now| now.timestamp_micros());
        let now_value = match (needs.interpreter, now) {
            (true, Some(now)) => Some(boxed(Value::Int(now))?),
            _ => None,
        };
        Ok(Subject {
            interpreted,
            node,
            now,
            now_value,
        })
    }
}

fn boxed(value: Value) -> Result<Box<dyn Val>, String> {
    value.try_into().map_err(|e: ExecutionError| e.to_string())
}

impl VariableResolver for Subject {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        match variable {
            "resource" => self.interpreted.as_deref().map(CowVal::Borrowed),
            CLOCK => self.now_value.as_deref().map(CowVal::Borrowed),
            _ => None,
        }
    }
}

/// What an expression gave, from either evaluator.
enum Outcome<'a> {
    Interpreted(Value),
    Compiled(compiled::Val<'a>),
}

impl Expr {
    /// Where the compiler left this expression to the interpreter.
    pub fn unsupported(&self) -> Option<&Unsupported> {
        self.0.compiled.as_ref().err()
    }

    fn evaluate<'a>(
        &'a self,
        backend: Backend,
        context: &'a RuleContext,
        subject: &'a Subject,
    ) -> Result<Outcome<'a>, String> {
        match (backend, &self.0.compiled, &subject.node) {
            (Backend::Compiled, Ok(program), Some(node)) => program
                .evaluate(node, &context.vars, subject.now)
                .map(Outcome::Compiled)
                .map_err(|e| e.0),
            (Backend::Compiled, _, _) => {
                Err("the resource was not prepared for the compiled evaluator".to_owned())
            }
            (Backend::Interpreter, _, _) => {
                if subject.interpreted.is_none() {
                    return Err("the resource was not prepared for the interpreter".to_owned());
                }
                let mut scope = context.context.new_inner_scope();
                scope.set_variable_resolver(subject);
                self.0
                    .program
                    .execute(&scope)
                    .map(Outcome::Interpreted)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Evaluates a condition. `null` means the data the condition reads is
    /// missing (a call failed), so there is no verdict; anything else but a
    /// boolean is an error.
    pub fn test(
        &self,
        backend: Backend,
        context: &RuleContext,
        subject: &Subject,
    ) -> Result<Option<bool>, String> {
        match self.evaluate(backend, context, subject)? {
            Outcome::Interpreted(Value::Bool(result))
            | Outcome::Compiled(compiled::Val::Bool(result)) => Ok(Some(result)),
            Outcome::Interpreted(Value::Null) | Outcome::Compiled(compiled::Val::Null) => Ok(None),
            Outcome::Interpreted(other) => Err(format!(
                "the condition gave {}, not true, false or null",
                describe(&other)
            )),
            Outcome::Compiled(other) => Err(format!(
                "the condition gave {}, not true, false or null",
                describe_compiled(&other)
            )),
        }
    }

    /// Evaluates a message part to text.
    pub fn text(
        &self,
        backend: Backend,
        context: &RuleContext,
        subject: &Subject,
    ) -> Result<String, String> {
        Ok(match self.evaluate(backend, context, subject)? {
            Outcome::Interpreted(value) => match value {
                Value::String(text) => text.as_ref().clone(),
                Value::Int(n) => n.to_string(),
                Value::UInt(n) => n.to_string(),
                Value::Float(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".to_owned(),
                Value::List(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(text) => text.as_ref().clone(),
                        other => describe(other),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => describe(&other),
            },
            Outcome::Compiled(value) => match &value {
                compiled::Val::Nodes(_) | compiled::Val::List(_) => compiled::items(&value)
                    .map(|item| match as_interpreted_string(&item) {
                        Some(text) => text.to_owned(),
                        None => describe_compiled(&item),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => match as_interpreted_string(other) {
                    Some(text) => text.to_owned(),
                    None => describe_compiled(other),
                },
            },
        })
    }
}

/// The text of a value the interpreter hands back as a string: strings,
/// and types, which it turns into their names.
fn as_interpreted_string<'v>(value: &'v compiled::Val<'_>) -> Option<&'v str> {
    match value {
        compiled::Val::Type(name) => Some(name),
        other => other.as_str(),
    }
}

/// [`describe`] for the compiled evaluator's values, word for word.
fn describe_compiled(value: &compiled::Val<'_>) -> String {
    if let Some(text) = as_interpreted_string(value) {
        return format!("\"{text}\"");
    }
    match value {
        compiled::Val::Nodes(_) | compiled::Val::List(_) => "a list".to_owned(),
        compiled::Val::Map(_) => "a map".to_owned(),
        other => compiled::display(other),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => format!("\"{text}\""),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::List(_) => "a list".to_owned(),
        Value::Map(_) => "a map".to_owned(),
        _ => "a value of another type".to_owned(),
    }
}

fn register_helpers(context: &mut Context<'static, 'static>) -> Result<(), cel::DeclarationError> {
    context.add_function("cidr_contains", |outer: Arc<String>, inner: Arc<String>| {
        let (outer, inner) = (network(&outer)?, network(&inner)?);
        Ok::<bool, ExecutionError>(outer.contains(&inner))
    })?;
    context.add_function("cidr_overlaps", |a: Arc<String>, b: Arc<String>| {
        let (a, b) = (network(&a)?, network(&b)?);
        Ok::<bool, ExecutionError>(a.overlaps(&b))
    })?;
    context.add_function("is_rfc1918", |cidr: Arc<String>| {
        let net = network(&cidr)?;
        Ok::<bool, ExecutionError>(
            ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                .iter()
                .filter_map(|private| Network::parse(private))
                .any(|private| private.contains(&net)),
        )
    })?;
    context.add_function("covers_internet", |cidrs: Value| {
        let Value::List(items) = cidrs else {
            return Err(ExecutionError::function_error(
                "covers_internet",
                "expects a list of CIDR strings",
            ));
        };
        let mut networks = Vec::with_capacity(items.len());
        for item in items.iter() {
            let Value::String(text) = item else {
                return Err(ExecutionError::function_error(
                    "covers_internet",
                    "expects a list of CIDR strings",
                ));
            };
            networks.push(network(text)?);
        }
        Ok(covers_internet(&networks))
    })?;
    context.add_function(
        "ports_overlap",
        |from_a: Value, to_a: Value, from_b: Value, to_b: Value| {
            Ok::<bool, ExecutionError>(int(&from_a)? <= int(&to_b)? && int(&from_b)? <= int(&to_a)?)
        },
    )?;
    context.add_function("port_in_range", |port: Value, from: Value, to: Value| {
        let port = int(&port)?;
        Ok::<bool, ExecutionError>(int(&from)? <= port && port <= int(&to)?)
    })?;
    context.add_function(
        "days_since",
        |ftx: &FunctionContext, timestamp: Arc<String>| {
            let then = DateTime::parse_from_rfc3339(&timestamp)
                .map_err(|e| ftx.error(format!("`{timestamp}`: {e}")))?;
            let now = ftx
                .ptx
                .get_variable(CLOCK)
                .and_then(|now| Value::try_from(&*now).ok());
            let Some(Value::Int(now)) = now else {
                return Err(ftx.error("no clock: an inline test that reads the time needs `now`"));
            };
            // Whole days, truncated like chrono's `num_days`.
            Ok::<i64, ExecutionError>((now - then.timestamp_micros()) / MICROS_PER_DAY)
        },
    )?;
    Ok(())
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Signed and unsigned integers alike: JSON numbers arrive as either.
fn int(value: &Value) -> Result<i64, ExecutionError> {
    match value {
        Value::Int(n) => Ok(*n),
        Value::UInt(n) => i64::try_from(*n)
            .map_err(|_| ExecutionError::function_error("port", format!("{n} is out of range"))),
        other => Err(ExecutionError::function_error(
            "port",
            format!("expected a number, got {}", describe(other)),
        )),
    }
}

fn network(text: &str) -> Result<Network, ExecutionError> {
    Network::parse(text).ok_or_else(|| {
        ExecutionError::function_error("cidr", format!("`{text}` is not an IP address or CIDR"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(source: &str, resource: serde_json::Value) -> Result<bool, String> {
        verdict(source, resource)?.ok_or_else(|| "no verdict".to_owned())
    }

    fn verdict(source: &str, resource: serde_json::Value) -> Result<Option<bool>, String> {
        let env = ExprEnv::new();
        let expr = env.compile_unchecked(source).map_err(|e| e.message)?;
        let context = env.rule_context(&json!({"port": 22}))?;
        let subject = Subject::new(&resource, Some(clock()), &Needs::both())?;
        let interpreted = expr.test(Backend::Interpreter, &context, &subject);
        let compiled = expr.test(Backend::Compiled, &context, &subject);
        match (&interpreted, &compiled) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{source}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{source}: the interpreter gave {interpreted:?}, compiled {compiled:?}"),
        }
        interpreted
    }

    fn clock() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_null_condition_gives_no_verdict() {
        assert_eq!(
            verdict(
                "resource.mfa == null ? null : !resource.mfa",
                json!({"mfa": null})
            ),
            Ok(None)
        );
        assert_eq!(
            verdict(
                "resource.mfa == null ? null : !resource.mfa",
                json!({"mfa": false})
            ),
            Ok(Some(true))
        );
    }

    #[test]
    fn cidr_helpers() {
        let r = json!({});
        assert_eq!(
            eval("cidr_contains('10.0.0.0/8', '10.1.2.0/24')", r.clone()),
            Ok(true)
        );
        assert_eq!(
            eval("cidr_contains('10.0.0.0/8', '11.0.0.1')", r.clone()),
            Ok(false)
        );
        assert_eq!(
            eval("cidr_contains('::/0', '10.0.0.0/8')", r.clone()),
            Ok(false)
        );
        assert_eq!(
            eval("cidr_overlaps('10.0.0.0/16', '10.0.128.0/17')", r.clone()),
            Ok(true)
        );
        assert_eq!(
            eval("cidr_overlaps('10.0.0.0/16', '10.1.0.0/16')", r.clone()),
            Ok(false)
        );
        assert_eq!(eval("is_rfc1918('172.20.0.0/16')", r.clone()), Ok(true));
        assert_eq!(eval("is_rfc1918('172.32.0.0/16')", r.clone()), Ok(false));
        assert_eq!(eval("is_rfc1918('100.64.0.0/10')", r.clone()), Ok(false));
        assert!(
            eval("cidr_contains('10.0.0.0/33', '10.0.0.1')", r.clone())
                .is_err_and(|e| e.contains("`10.0.0.0/33` is not an IP address or CIDR"))
        );
    }

    #[test]
    fn covers_internet_sees_unions_and_both_families() {
        let r = json!({});
        for (cidrs, covered) in [
            ("['0.0.0.0/0']", true),
            ("['::/0']", true),
            ("['0.0.0.0/1', '128.0.0.0/1']", true),
            ("['128.0.0.0/1', '0.0.0.0/2', '64.0.0.0/2']", true),
            ("['0.0.0.0/1', '128.0.0.0/2']", false),
            ("['0.0.0.0/1', '::/1', '8000::/1']", true),
            ("['10.0.0.0/8']", false),
            ("[]", false),
        ] {
            assert_eq!(
                eval(&format!("covers_internet({cidrs})"), r.clone()),
                Ok(covered),
                "{cidrs}"
            );
        }
    }

    #[test]
    fn ports_and_vars_and_resource_fields() {
        let group = json!({"ingress": [
            {"protocol": "tcp", "port_range": {"from": 20, "to": 25}},
            {"protocol": "udp", "port_range": {"from": 53, "to": 53}},
        ]});
        assert_eq!(
            eval(
                "resource.ingress.exists(p, p.protocol == 'tcp' && port_in_range(vars.port, p.port_range.from, p.port_range.to))",
                group.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            eval("ports_overlap(1, 10, 10, 20)", group.clone()),
            Ok(true)
        );
        assert_eq!(
            eval("ports_overlap(1, 9, 10, 20)", group.clone()),
            Ok(false)
        );
        assert_eq!(
            eval("resource.ingress.size()", group.clone()),
            Err("the condition gave 2, not true, false or null".to_owned())
        );
        assert!(eval("resource.egress.size() > 0", group).is_err());
    }

    #[test]
    fn conversion_keeps_only_what_the_expressions_read() {
        let env = ExprEnv::new();
        let exprs = [
            "resource.name == 'default' && resource.ingress.size() > 0",
            "resource.internet_ingress.tcp.exists(s, port_in_range(22, s.from, s.to))",
            "has(resource.tags)",
        ]
        .map(|source| env.compile_unchecked(source).expect(source));
        let needs = Needs::of(exprs.iter().map(|expr| (Backend::Compiled, expr)));
        let fields = |pairs: Vec<(&str, Shape)>| {
            Shape::Fields(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
        };
        let span = fields(vec![("from", Shape::Whole), ("to", Shape::Whole)]);
        assert_eq!(
            *needs.shape,
            fields(vec![
                ("ingress", Shape::Size),
                (
                    "internet_ingress",
                    fields(vec![("tcp", Shape::Elements(Box::new(span)))])
                ),
                ("name", Shape::Whole),
                ("tags", Shape::Unread),
            ])
        );
        let group = json!({
            "name": "default",
            "description": "default VPC security group",
            "ingress": [{"protocol": "tcp"}, {"protocol": "udp"}],
            "egress": [{"protocol": "-1"}],
            "tags": {"team": "web"},
            "internet_ingress": {
                "tcp": [{"from": 22, "to": 22, "ipv4_sources": ["0.0.0.0/0"]}],
                "udp": [],
            },
        });
        let subject = Subject::new(&group, None, &needs).expect("converts");
        let kept = json!({
            "name": "default",
            "ingress": [null, null],
            "tags": null,
            "internet_ingress": {"tcp": [{"from": 22, "to": 22}]},
        });
        assert_eq!(subject.node(), Some(&Node::of(&kept).expect("converts")));
        let context = env.rule_context(&json!({})).expect("context");
        for expr in &exprs {
            assert_eq!(
                expr.test(Backend::Compiled, &context, &subject),
                Ok(Some(true))
            );
        }
    }

    #[test]
    fn days_since_counts_whole_days_from_the_evaluation_clock() {
        for (then, days) in [
            ("2026-03-07T12:00:00Z", 100),
            ("2026-03-07T12:00:01Z", 99),
            ("2026-06-15T12:00:00Z", 0),
            ("2026-06-16T12:00:00Z", -1),
            ("2026-06-15T14:00:00+02:00", 0),
        ] {
            assert_eq!(
                eval(&format!("days_since('{then}') == {days}"), json!({})),
                Ok(true),
                "{then}"
            );
        }
    }

    #[test]
    fn without_a_clock_reading_the_time_is_an_error() {
        let env = ExprEnv::new();
        let expr = env
            .compile_unchecked("days_since('2026-01-01T00:00:00Z') > 1")
            .expect("compiles");
        let context = env.rule_context(&json!({})).expect("context");
        let subject = Subject::new(&json!({}), None, &Needs::both()).expect("subject");
        for backend in [Backend::Interpreter, Backend::Compiled] {
            let err = expr
                .test(backend, &context, &subject)
                .expect_err("no clock");
            assert!(err.contains("no clock"), "{err}");
        }
    }

    /// Both evaluators on the corners rules depend on: the same value, or
    /// both an error.
    #[test]
    fn the_evaluators_agree_on_cel_s_corners() {
        let resource = json!({
            "n": 3, "neg": -2, "d": 2.5, "s": "Ab", "nothing": null, "yes": true,
            "list": [1, 2, 3], "names": ["a", "b"], "mixed": ["a", 1],
            "tags": {"Name": "web", "env": "prod"},
            "nested": [{"v": null}, {"v": 1}],
        });
        let env = ExprEnv::new();
        let context = env.rule_context(&json!({"port": 22})).expect("context");
        let subject = Subject::new(&resource, Some(clock()), &Needs::both()).expect("subject");
        let mut values = 0;
        for source in [
            "resource.n == 3u",
            "resource.n == 3.0",
            "resource.neg < 0u",
            "resource.d > resource.n",
            "resource.nothing == null",
            "resource.nothing == 0",
            "resource.s == 'Ab'",
            "resource.nothing.x == 1",
            "resource.missing == 1",
            "has(resource.missing)",
            "has(resource.tags.Name)",
            "has(resource.nothing.x)",
            "has(resource.list.x)",
            "resource.missing == 1 || true",
            "true || resource.missing == 1",
            "resource.missing == 1 && false",
            "resource.missing == 1 && true",
            "false && resource.missing",
            "resource.nothing || true",
            "resource.n || false",
            "resource.list.exists(x, x == 2)",
            "resource.list.all(x, x > 0)",
            "resource.nested.exists(e, e.v > 0)",
            "resource.nested.all(e, e.v > 0)",
            "resource.nested.exists(e, e.v.x == 1)",
            "resource.list.exists_one(x, x > 1)",
            "resource.list.map(x, x * 2) == [2, 4, 6]",
            "resource.list.filter(x, x > 1).size()",
            "resource.list.map(x, x > 1, x)",
            "'web' in resource.tags",
            "'x' in resource.tags",
            "2 in resource.list",
            "2u in resource.list",
            "1 in resource.tags",
            "resource.tags['Name']",
            "resource.tags['x']",
            "resource.list[1]",
            "resource.list[5]",
            "resource.list[-1]",
            "resource.list['a']",
            "resource.names.join(', ')",
            "resource.mixed.join(', ')",
            "resource.s.upperAscii() + resource.s.lowerAscii()",
            "resource.s.startsWith('A') && resource.s.endsWith('b') && resource.s.contains('b')",
            "'a,b,,c'.split(',')",
            "''.split(',')",
            "'abc'.split('')",
            "size(resource.s)",
            "resource.s.size()",
            "resource.tags.size()",
            "size(resource.n)",
            "string(resource.d)",
            "string(2.0)",
            "string(1e21)",
            "string(0.1 + 0.2)",
            "string(resource.n) + string(3u) + string(true)",
            "string(resource.list)",
            "int(resource.d)",
            "int(-2.5)",
            "int('12')",
            "int('x')",
            "int(1e19)",
            "double(resource.n) / 2.0",
            "double('1.5')",
            "resource.n / 0",
            "resource.n % 2",
            "7 / 2",
            "-7 / 2",
            "-7 % 3",
            "7u - 8u",
            "9223372036854775807 + 1",
            "-resource.neg",
            "-resource.s",
            "!resource.yes",
            "!resource.n",
            "type(resource.tags) == map",
            "type(resource.list) == list",
            "type(resource.n) == int",
            "type(resource.s) == string",
            "type(resource.nothing) == null_type",
            "type(resource.d) == double",
            "type(type(1)) == type",
            "resource.n > 2 ? 'big' : 'small'",
            "resource.nothing ? 1 : 2",
            "[1, 'a'] == [1, 'a']",
            "[1, 2] == [1u, 2.0]",
            "resource.tags == resource.tags",
            "[[1, 'x'], [2, 'y']].filter(p, p[0] > 1).map(p, p[1])",
            "[] + [1] + resource.list",
            "'a' < 'b'",
            "true > false",
            "null < 1",
            "resource.list < resource.list",
            "vars.port == 22",
            "vars.missing",
            "undefined_name",
            "resource.d == 2.5",
            "port_in_range(resource.n, 1, 5)",
            "port_in_range('a', 1, 5)",
            "ports_overlap(1u, 5, 5, 10)",
            "days_since('2026-06-14T00:00:00Z')",
            "days_since('yesterday')",
            "covers_internet(['0.0.0.0/0'])",
            "covers_internet([1])",
            "covers_internet('0.0.0.0/0')",
            "cidr_overlaps('10.0.0.0/8', 1)",
            "is_rfc1918('10.1.0.0/16')",
            "type(resource.n)",
            "[type(1)]",
            "1.0 in resource.tags",
            "2.5 in resource.tags",
        ] {
            let expr = env.compile_unchecked(source).expect(source);
            assert!(
                expr.unsupported().is_none(),
                "{source}: {:?}",
                expr.unsupported()
            );
            let interpreted = expr.text(Backend::Interpreter, &context, &subject);
            let compiled = expr.text(Backend::Compiled, &context, &subject);
            match (&interpreted, &compiled) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{source}");
                    values += 1;
                }
                (Err(_), Err(_)) => {}
                _ => {
                    panic!("{source}: the interpreter gave {interpreted:?}, compiled {compiled:?}")
                }
            }
        }
        assert_eq!(values, 77, "expressions that gave a value");
    }

    #[test]
    fn what_the_compiler_leaves_to_the_interpreter_still_runs() {
        let env = ExprEnv::new();
        let expr = env
            .compile_unchecked("{'a': resource.n}.a == 3")
            .expect("compiles for the interpreter");
        let unsupported = expr.unsupported().expect("a map literal is not compiled");
        assert_eq!(
            (
                unsupported.line,
                unsupported.column,
                unsupported.what.as_str()
            ),
            (1, 1, "a map literal")
        );
        let context = env.rule_context(&json!({})).expect("context");
        let subject = Subject::new(&json!({"n": 3}), None, &Needs::both()).expect("subject");
        assert_eq!(
            expr.test(Backend::Interpreter, &context, &subject),
            Ok(Some(true))
        );
    }

    #[test]
    fn compile_errors_carry_their_position() {
        let err = ExprEnv::new()
            .compile_unchecked("resource.ingress.exists(p, p.port ==)")
            .expect_err("does not compile");
        assert_eq!((err.line, err.column), (1, 37));
        assert!(
            err.message
                .starts_with("Syntax error: mismatched input ')'"),
            "{}",
            err.message
        );
    }
}
