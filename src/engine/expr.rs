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

use std::sync::Arc;

use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::objects::Value;
use cel::{Context, Env, ExecutionError, FunctionContext, Program};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::analyze::cidr::{Network, covers_internet};

/// A compiled expression.
#[derive(Debug)]
pub struct Expr {
    program: Program,
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
/// extension and rampart's helpers.
pub struct ExprEnv {
    env: Arc<Env>,
}

impl ExprEnv {
    pub fn new() -> ExprEnv {
        let mut env = Env::stdlib();
        // The string extension (join, split, lowerAscii, ...) registers
        // only names the standard library lacks, so this cannot clash.
        let _ = env.add_extension(cel::extensions::strings);
        ExprEnv { env: Arc::new(env) }
    }

    pub fn compile(&self, source: &str) -> Result<Expr, CompileError> {
        self.env
            .compile(source)
            .map(|program| Expr { program })
            .map_err(|errors| {
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
        let vars = cel::to_value(vars).map_err(|e| e.to_string())?;
        context.add_variable_from_value("vars", vars);
        Ok(RuleContext { context })
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
}

/// The variable holding the evaluation's clock. No CEL identifier can
/// contain `@`, so rules cannot read or shadow it; they see time only
/// through `days_since`.
const CLOCK: &str = "@now";

/// A resource converted once for the interpreter and lent to every rule
/// that checks it; converting per rule would cost more than evaluating.
pub struct Subject {
    resource: Box<dyn Val>,
    /// Microseconds since the Unix epoch; `None` where no clock was stated
    /// (an inline test without `now`), so reading the time is an error
    /// rather than the wall clock.
    now: Option<Box<dyn Val>>,
}

impl Subject {
    pub fn new<T: Serialize>(resource: &T, now: Option<DateTime<Utc>>) -> Result<Subject, String> {
        let value = cel::to_value(resource).map_err(|e| e.to_string())?;
        let resource = boxed(value)?;
        let now = now
            .map(|now| boxed(Value::Int(now.timestamp_micros())))
            .transpose()?;
        Ok(Subject { resource, now })
    }
}

fn boxed(value: Value) -> Result<Box<dyn Val>, String> {
    value.try_into().map_err(|e: ExecutionError| e.to_string())
}

impl VariableResolver for Subject {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        match variable {
            "resource" => Some(CowVal::Borrowed(self.resource.as_ref())),
            CLOCK => self.now.as_deref().map(CowVal::Borrowed),
            _ => None,
        }
    }
}

impl Expr {
    fn evaluate(&self, context: &RuleContext, subject: &Subject) -> Result<Value, String> {
        let mut scope = context.context.new_inner_scope();
        scope.set_variable_resolver(subject);
        self.program.execute(&scope).map_err(|e| e.to_string())
    }

    /// Evaluates a condition. `null` means the data the condition reads is
    /// missing (a call failed), so there is no verdict; anything else but a
    /// boolean is an error.
    pub fn test(&self, context: &RuleContext, subject: &Subject) -> Result<Option<bool>, String> {
        match self.evaluate(context, subject)? {
            Value::Bool(result) => Ok(Some(result)),
            Value::Null => Ok(None),
            other => Err(format!(
                "the condition gave {}, not true, false or null",
                describe(&other)
            )),
        }
    }

    /// Evaluates a message part to text.
    pub fn text(&self, context: &RuleContext, subject: &Subject) -> Result<String, String> {
        Ok(match self.evaluate(context, subject)? {
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
        })
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
        let expr = env.compile(source).map_err(|e| e.message)?;
        let context = env.rule_context(&json!({"port": 22}))?;
        expr.test(&context, &Subject::new(&resource, Some(clock()))?)
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
            .compile("days_since('2026-01-01T00:00:00Z') > 1")
            .expect("compiles");
        let context = env.rule_context(&json!({})).expect("context");
        let subject = Subject::new(&json!({}), None).expect("subject");
        let err = expr.test(&context, &subject).expect_err("no clock");
        assert!(err.contains("no clock"), "{err}");
    }

    #[test]
    fn compile_errors_carry_their_position() {
        let err = ExprEnv::new()
            .compile("resource.ingress.exists(p, p.port ==)")
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
