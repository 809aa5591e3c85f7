//! The compiled evaluator: a CEL syntax tree resolved once, at load, into
//! a tree of operations (variables to slots, field names to their key
//! hashes, functions to the operation they name), then evaluated over a
//! resource's [`Node`]s without going through the interpreter.
//!
//! It keeps the interpreter's semantics where rules can observe them:
//! `&&` and `||` absorb an error on one side when the other decides;
//! `exists` and `all` defer a step's error until a later element decides;
//! a field read on null or a missing key is an error; `==` compares numbers
//! across int, uint and double and anything else only within its type.
//! The interpreter is the reference: the oracle test evaluates every
//! built-in rule with both and requires the same results.
//!
//! A construct this module does not compile is reported as [`Unsupported`];
//! the rule then runs on the interpreter.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::rc::Rc;

use cel::common::ast::{ComprehensionExpr, Expr as Ast, IdedExpr, LiteralValue, SourceInfo};
use chrono::DateTime;

use super::data::{Entry, Node, Shape, key_hash};
use crate::analyze::cidr::{Network, covers_internet};

/// A construct the compiler leaves to the interpreter, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub line: usize,
    pub column: usize,
    pub what: String,
}

/// Why an evaluation failed on a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

type Outcome<'a> = Result<Val<'a>, EvalError>;

fn error<T>(message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(message.into()))
}

/// A value during evaluation: borrowed from the resource or the program
/// where it can be, built only where an operation makes something new.
#[derive(Debug, Clone)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(&'a str),
    String(Rc<str>),
    Nodes(&'a [Node]),
    List(Rc<Vec<Val<'a>>>),
    Map(&'a [Entry]),
    Type(&'static str),
}

impl<'a> Val<'a> {
    pub fn of(node: &'a Node) -> Val<'a> {
        match node {
            Node::Null => Val::Null,
            Node::Bool(b) => Val::Bool(*b),
            Node::Int(n) => Val::Int(*n),
            Node::UInt(n) => Val::UInt(*n),
            Node::Double(n) => Val::Double(*n),
            Node::String(text) => Val::Str(text),
            Node::List(items) => Val::Nodes(items),
            Node::Map(entries) => Val::Map(entries),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(text) => Some(text),
            Val::String(text) => Some(text),
            _ => None,
        }
    }

    /// The CEL type name, as `type()` gives it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null_type",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::UInt(_) => "uint",
            Val::Double(_) => "double",
            Val::Str(_) | Val::String(_) => "string",
            Val::Nodes(_) | Val::List(_) => "list",
            Val::Map(_) => "map",
            Val::Type(_) => "type",
        }
    }

    fn len(&self) -> Option<usize> {
        match self {
            Val::Nodes(items) => Some(items.len()),
            Val::List(items) => Some(items.len()),
            Val::Map(entries) => Some(entries.len()),
            _ => None,
        }
    }

    /// The elements of a list, or the keys of a map, as iteration sees them.
    fn item(&self, index: usize) -> Option<Val<'a>> {
        match self {
            Val::Nodes(items) => items.get(index).map(Val::of),
            Val::List(items) => items.get(index).cloned(),
            Val::Map(entries) => entries.get(index).map(|entry| Val::of(&entry.key)),
            _ => None,
        }
    }
}

/// The elements of a list value, or the keys of a map.
pub fn items<'v, 'a>(value: &'v Val<'a>) -> impl Iterator<Item = Val<'a>> + 'v {
    (0..value.len().unwrap_or(0)).filter_map(|index| value.item(index))
}

/// Equality as the interpreter has it: numbers across types, everything
/// else within its own.
pub fn equals(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Type(x), Val::Type(y)) => x == y,
        (Val::Map(x), Val::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|entry| {
                    y.iter().any(|other| {
                        equals(&Val::of(&entry.key), &Val::of(&other.key))
                            && equals(&Val::of(&entry.value), &Val::of(&other.value))
                    })
                })
        }
        _ => {
            if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (a.len(), b.len())
                && !matches!(a, Val::Map(_))
                && !matches!(b, Val::Map(_))
            {
                return x == y
                    && (0..x).all(|i| match (a.item(i), b.item(i)) {
                        (Some(p), Some(q)) => equals(&p, &q),
                        _ => false,
                    });
            }
            compare_numbers(a, b) == Some(Ordering::Equal)
        }
    }
}

fn compare_numbers(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::UInt(x), Val::UInt(y)) => Some(x.cmp(y)),
        (Val::Double(x), Val::Double(y)) => x.partial_cmp(y),
        (Val::Int(x), Val::UInt(y)) => Some(u64::try_from(*x).map_or(Ordering::Less, |x| x.cmp(y))),
        (Val::UInt(x), Val::Int(y)) => {
            Some(u64::try_from(*y).map_or(Ordering::Greater, |y| x.cmp(&y)))
        }
        (Val::Int(x), Val::Double(y)) => (*x as f64).partial_cmp(y),
        (Val::Double(x), Val::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Val::UInt(x), Val::Double(y)) => (*x as f64).partial_cmp(y),
        (Val::Double(x), Val::UInt(y)) => x.partial_cmp(&(*y as f64)),
        _ => None,
    }
}

fn compare(a: &Val<'_>, b: &Val<'_>) -> Result<Ordering, EvalError> {
    if let Some(order) = compare_numbers(a, b) {
        return Ok(order);
    }
    match (a, b, a.as_str(), b.as_str()) {
        (_, _, Some(x), Some(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y), _, _) => Ok(x.cmp(y)),
        _ => error(format!(
            "cannot compare {} with {}",
            a.type_name(),
            b.type_name()
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arithmetic {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
}

/// The functions the compiler knows: CEL's standard ones the catalogue
/// uses and rampart's helpers. Member functions take their target first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Size,
    String,
    Int,
    Double,
    Type,
    Contains,
    StartsWith,
    EndsWith,
    UpperAscii,
    LowerAscii,
    Join,
    Split,
    CidrContains,
    CidrOverlaps,
    IsRfc1918,
    CoversInternet,
    PortsOverlap,
    PortInRange,
    DaysSince,
}

impl Function {
    /// The function a call names, given whether it has a target and how
    /// many arguments, target included.
    fn of(name: &str, member: bool, arity: usize) -> Option<Function> {
        Some(match (name, member, arity) {
            ("size", _, 1) => Function::Size,
            ("string", false, 1) => Function::String,
            ("int", false, 1) => Function::Int,
            ("double", false, 1) => Function::Double,
            ("type", false, 1) => Function::Type,
            ("contains", true, 2) => Function::Contains,
            ("startsWith", true, 2) => Function::StartsWith,
            ("endsWith", true, 2) => Function::EndsWith,
            ("upperAscii", true, 1) => Function::UpperAscii,
            ("lowerAscii", true, 1) => Function::LowerAscii,
            ("join", true, 1 | 2) => Function::Join,
            ("split", true, 2) => Function::Split,
            ("cidr_contains", false, 2) => Function::CidrContains,
            ("cidr_overlaps", false, 2) => Function::CidrOverlaps,
            ("is_rfc1918", false, 1) => Function::IsRfc1918,
            ("covers_internet", false, 1) => Function::CoversInternet,
            ("ports_overlap", false, 4) => Function::PortsOverlap,
            ("port_in_range", false, 3) => Function::PortInRange,
            ("days_since", false, 1) => Function::DaysSince,
            _ => return None,
        })
    }
}

/// What a comprehension's loop step folds with, when it is `accu && x` or
/// `accu || x`: a step's error then waits for a later element to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    And,
    Or,
}

#[derive(Debug)]
enum Op {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(Box<str>),
    Resource,
    Vars,
    Slot(usize),
    TypeName(&'static str),
    Undeclared(Box<str>),
    Select {
        operand: Box<Op>,
        field: Box<str>,
        hash: u64,
        test: bool,
    },
    And(Box<Op>, Box<Op>),
    Or(Box<Op>, Box<Op>),
    Not(Box<Op>),
    Negate(Box<Op>),
    NotStrictlyFalse(Box<Op>),
    Conditional(Box<[Op; 3]>),
    Equals(Box<Op>, Box<Op>),
    NotEquals(Box<Op>, Box<Op>),
    Compare(Comparison, Box<Op>, Box<Op>),
    Arithmetic(Arithmetic, Box<Op>, Box<Op>),
    In(Box<Op>, Box<Op>),
    Index(Box<Op>, Box<Op>),
    List(Box<[Op]>),
    Call(Function, Box<[Op]>),
    Comprehension(Box<Loop>),
}

#[derive(Debug)]
struct Loop {
    range: Op,
    item: usize,
    accu: usize,
    init: Op,
    condition: Op,
    step: Op,
    result: Op,
    fold: Option<Fold>,
    /// `map` and `filter`: the step appends `[item]` to the accumulator,
    /// under a guard for `filter`; built in place instead of copied.
    append: Option<(Option<Op>, Op)>,
}

/// What an expression reads of the resource, and of each comprehension
/// variable (each mapped back to its range's elements).
struct Reads {
    resource: Shape,
    slots: Vec<Shape>,
}

/// A compiled expression.
#[derive(Debug)]
pub struct Program {
    root: Op,
    slots: usize,
}

/// What one evaluation reads: the resource, the rule's parameters, the
/// clock (microseconds since the epoch) and the comprehension variables.
pub struct Frame<'a> {
    resource: Val<'a>,
    vars: Val<'a>,
    now: Option<i64>,
    slots: Vec<Val<'a>>,
}

impl Program {
    pub fn compile(expr: &IdedExpr, source: &SourceInfo) -> Result<Program, Unsupported> {
        let mut compiler = Compiler {
            source,
            scopes: Vec::new(),
            slots: 0,
        };
        let root = compiler.compile(expr)?;
        Ok(Program {
            root,
            slots: compiler.slots,
        })
    }

    /// Adds what this expression reads of `resource` to `shape`.
    pub fn read_shape(&self, shape: &mut Shape) {
        let mut reads = Reads {
            resource: Shape::Unread,
            slots: vec![Shape::Unread; self.slots],
        };
        self.root.read(Shape::Whole, &mut reads);
        shape.join(reads.resource);
    }

    pub fn evaluate<'a>(
        &'a self,
        resource: &'a Node,
        vars: &'a Node,
        now: Option<i64>,
    ) -> Outcome<'a> {
        let mut frame = Frame {
            resource: Val::of(resource),
            vars: Val::of(vars),
            now,
            slots: vec![Val::Null; self.slots],
        };
        self.root.eval(&mut frame)
    }
}

struct Compiler<'s> {
    source: &'s SourceInfo,
    /// Comprehension variables in scope, innermost last.
    scopes: Vec<(String, usize)>,
    slots: usize,
}

impl Compiler<'_> {
    fn unsupported<T>(&self, expr: &IdedExpr, what: impl Into<String>) -> Result<T, Unsupported> {
        let (line, column) = self
            .source
            .offset_for(expr.id)
            .map_or((1, 1), |(start, _)| position(&self.source.source, start));
        Err(Unsupported {
            line,
            column,
            what: what.into(),
        })
    }

    fn boxed(&mut self, expr: &IdedExpr) -> Result<Box<Op>, Unsupported> {
        self.compile(expr).map(Box::new)
    }

    fn compile(&mut self, expr: &IdedExpr) -> Result<Op, Unsupported> {
        Ok(match &expr.expr {
            Ast::Literal(literal) => match literal {
                LiteralValue::Null => Op::Null,
                LiteralValue::Boolean(b) => Op::Bool(*b.inner()),
                LiteralValue::Int(n) => Op::Int(*n.inner()),
                LiteralValue::UInt(n) => Op::UInt(*n.inner()),
                LiteralValue::Double(n) => Op::Double(*n.inner()),
                LiteralValue::String(text) => Op::Str(text.inner().into()),
                LiteralValue::Bytes(_) => return self.unsupported(expr, "a bytes literal"),
            },
            Ast::Ident(name) => self.ident(name),
            Ast::Select(select) => Op::Select {
                operand: self.boxed(&select.operand)?,
                field: select.field.as_str().into(),
                hash: key_hash(&select.field),
                test: select.test,
            },
            Ast::List(list) => {
                if !list.optional_indices.is_empty() {
                    return self.unsupported(expr, "an optional list element");
                }
                Op::List(
                    list.elements
                        .iter()
                        .map(|element| self.compile(element))
                        .collect::<Result<_, _>>()?,
                )
            }
            Ast::Call(call) => {
                let target = call.target.as_deref();
                let args = &call.args;
                let two = |this: &mut Self| -> Result<(Box<Op>, Box<Op>), Unsupported> {
                    Ok((this.boxed(&args[0])?, this.boxed(&args[1])?))
                };
                match (call.func_name.as_str(), target, args.len()) {
                    ("_&&_", None, 2) => {
                        let (a, b) = two(self)?;
                        Op::And(a, b)
                    }
                    ("_||_", None, 2) => {
                        let (a, b) = two(self)?;
                        Op::Or(a, b)
                    }
                    ("_?_:_", None, 3) => Op::Conditional(Box::new([
                        self.compile(&args[0])?,
                        self.compile(&args[1])?,
                        self.compile(&args[2])?,
                    ])),
                    ("!_", None, 1) => Op::Not(self.boxed(&args[0])?),
                    ("-_", None, 1) => Op::Negate(self.boxed(&args[0])?),
                    ("@not_strictly_false", None, 1) => Op::NotStrictlyFalse(self.boxed(&args[0])?),
                    ("_==_", None, 2) => {
                        let (a, b) = two(self)?;
                        Op::Equals(a, b)
                    }
                    ("_!=_", None, 2) => {
                        let (a, b) = two(self)?;
                        Op::NotEquals(a, b)
                    }
                    ("@in", None, 2) => {
                        let (a, b) = two(self)?;
                        Op::In(a, b)
                    }
                    ("_[_]", None, 2) => {
                        let (a, b) = two(self)?;
                        Op::Index(a, b)
                    }
                    (name, None, 2) if comparison(name).is_some() => {
                        let (a, b) = two(self)?;
                        Op::Compare(comparison(name).unwrap_or(Comparison::Less), a, b)
                    }
                    (name, None, 2) if arithmetic(name).is_some() => {
                        let (a, b) = two(self)?;
                        Op::Arithmetic(arithmetic(name).unwrap_or(Arithmetic::Add), a, b)
                    }
                    (name, target, count) => {
                        let arity = count + usize::from(target.is_some());
                        let Some(function) = Function::of(name, target.is_some(), arity) else {
                            return self.unsupported(
                                expr,
                                format!("the function `{name}` with {count} argument(s)"),
                            );
                        };
                        let mut ops = Vec::with_capacity(arity);
                        if let Some(target) = target {
                            ops.push(self.compile(target)?);
                        }
                        for arg in args {
                            ops.push(self.compile(arg)?);
                        }
                        Op::Call(function, ops.into_boxed_slice())
                    }
                }
            }
            Ast::Comprehension(comprehension) => self.comprehension(expr, comprehension)?,
            Ast::Map(_) => return self.unsupported(expr, "a map literal"),
            Ast::Struct(_) => return self.unsupported(expr, "a message literal"),
            Ast::Unspecified => return self.unsupported(expr, "an unspecified expression"),
        })
    }

    fn ident(&self, name: &str) -> Op {
        if let Some((_, slot)) = self.scopes.iter().rev().find(|(bound, _)| bound == name) {
            return Op::Slot(*slot);
        }
        match name {
            "resource" => Op::Resource,
            "vars" => Op::Vars,
            "bool" | "int" | "uint" | "double" | "string" | "bytes" | "list" | "map"
            | "null_type" | "type" => Op::TypeName(type_name(name)),
            _ => Op::Undeclared(name.into()),
        }
    }

    fn comprehension(
        &mut self,
        expr: &IdedExpr,
        comprehension: &ComprehensionExpr,
    ) -> Result<Op, Unsupported> {
        if comprehension.iter_var2.is_some() {
            return self.unsupported(expr, "a two-variable comprehension");
        }
        let range = self.compile(&comprehension.iter_range)?;
        let init = self.compile(&comprehension.accu_init)?;
        let accu = self.slots;
        let item = self.slots + 1;
        self.slots += 2;
        self.scopes.push((comprehension.accu_var.clone(), accu));
        let condition = self.compile(&comprehension.loop_cond)?;
        self.scopes.push((comprehension.iter_var.clone(), item));
        let step = self.compile(&comprehension.loop_step);
        self.scopes.pop();
        let result = self.compile(&comprehension.result);
        self.scopes.pop();
        let (step, result) = (step?, result?);
        let fold = match &step {
            Op::And(left, _) if matches!(**left, Op::Slot(slot) if slot == accu) => Some(Fold::And),
            Op::Or(left, _) if matches!(**left, Op::Slot(slot) if slot == accu) => Some(Fold::Or),
            _ => None,
        };
        let mut compiled = Loop {
            range,
            item,
            accu,
            init,
            condition,
            step,
            result,
            fold,
            append: None,
        };
        compiled.append = append_step(&mut compiled);
        Ok(Op::Comprehension(Box::new(compiled)))
    }
}

/// Recognises `accu + [x]` and `guard ? accu + [x] : accu` over an
/// accumulator that starts empty and is the result, taking out the guard
/// and the appended list.
fn append_step(compiled: &mut Loop) -> Option<(Option<Op>, Op)> {
    let accu = compiled.accu;
    let is_accu = |op: &Op| matches!(op, Op::Slot(slot) if *slot == accu);
    let starts_empty = matches!(&compiled.init, Op::List(items) if items.is_empty());
    let constant_condition = matches!(compiled.condition, Op::Bool(_));
    if !starts_empty || !is_accu(&compiled.result) || !constant_condition {
        return None;
    }
    let is_append = |op: &Op| matches!(op, Op::Arithmetic(Arithmetic::Add, left, right) if is_accu(left) && matches!(**right, Op::List(_)));
    let step = std::mem::replace(&mut compiled.step, Op::Null);
    match step {
        Op::Arithmetic(Arithmetic::Add, left, right)
            if is_accu(&left) && matches!(*right, Op::List(_)) =>
        {
            Some((None, *right))
        }
        Op::Conditional(parts) if is_accu(&parts[2]) && is_append(&parts[1]) => {
            let [guard, append, _] = *parts;
            match append {
                Op::Arithmetic(_, _, right) => Some((Some(guard), *right)),
                other => {
                    compiled.step = other;
                    None
                }
            }
        }
        other => {
            compiled.step = other;
            None
        }
    }
}

fn comparison(name: &str) -> Option<Comparison> {
    Some(match name {
        "_<_" => Comparison::Less,
        "_<=_" => Comparison::LessOrEqual,
        "_>_" => Comparison::Greater,
        "_>=_" => Comparison::GreaterOrEqual,
        _ => return None,
    })
}

fn arithmetic(name: &str) -> Option<Arithmetic> {
    Some(match name {
        "_+_" => Arithmetic::Add,
        "_-_" => Arithmetic::Subtract,
        "_*_" => Arithmetic::Multiply,
        "_/_" => Arithmetic::Divide,
        "_%_" => Arithmetic::Modulo,
        _ => return None,
    })
}

fn type_name(name: &str) -> &'static str {
    match name {
        "bool" => "bool",
        "int" => "int",
        "uint" => "uint",
        "double" => "double",
        "string" => "string",
        "bytes" => "bytes",
        "list" => "list",
        "map" => "map",
        "null_type" => "null_type",
        _ => "type",
    }
}

/// The 1-based line and column of a byte offset, as the interpreter counts.
pub fn position(source: &str, offset: u32) -> (usize, usize) {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let mut line_start = 0;
    let mut line = 1;
    for (index, ch) in source.char_indices() {
        if index >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            line_start = index + 1;
        }
    }
    let column = source
        .get(line_start..offset.min(source.len()))
        .map_or(0, |text| text.chars().count());
    (line, column + 1)
}

fn truthy(value: Outcome<'_>) -> Result<bool, EvalError> {
    match value? {
        Val::Bool(b) => Ok(b),
        other => error(format!("expected bool, got {}", other.type_name())),
    }
}

impl Op {
    /// Records in `reads` what evaluating this operation reads of the
    /// resource, its value being used as `shape`.
    fn read(&self, shape: Shape, reads: &mut Reads) {
        match self {
            Op::Resource => reads.resource.join(shape),
            Op::Slot(slot) => reads.slots[*slot].join(shape),
            Op::Select {
                operand,
                field,
                test,
                ..
            } => {
                let read = if *test { Shape::Unread } else { shape };
                let fields = BTreeMap::from([(field.clone(), read)]);
                operand.read(Shape::Fields(fields), reads);
            }
            Op::Call(Function::Size, args) => {
                for arg in args {
                    arg.read(Shape::Size, reads);
                }
            }
            Op::Conditional(parts) => {
                let [condition, then, otherwise] = &**parts;
                condition.read(Shape::Whole, reads);
                then.read(shape.clone(), reads);
                otherwise.read(shape, reads);
            }
            Op::Comprehension(compiled) => {
                let Loop {
                    range,
                    item,
                    init,
                    condition,
                    step,
                    result,
                    append,
                    ..
                } = &**compiled;
                // The body first: it says what is read of each element. What
                // flows into the accumulator is read whole where it is made.
                let appended = append
                    .iter()
                    .flat_map(|(guard, items)| guard.iter().chain([items]));
                for op in [init, condition, step, result].into_iter().chain(appended) {
                    op.read(Shape::Whole, reads);
                }
                let element = std::mem::take(&mut reads.slots[*item]);
                range.read(Shape::Elements(Box::new(element)), reads);
            }
            Op::Null
            | Op::Bool(_)
            | Op::Int(_)
            | Op::UInt(_)
            | Op::Double(_)
            | Op::Str(_)
            | Op::Vars
            | Op::TypeName(_)
            | Op::Undeclared(_) => {}
            Op::Not(operand) | Op::Negate(operand) | Op::NotStrictlyFalse(operand) => {
                operand.read(Shape::Whole, reads);
            }
            Op::And(a, b)
            | Op::Or(a, b)
            | Op::Equals(a, b)
            | Op::NotEquals(a, b)
            | Op::Compare(_, a, b)
            | Op::Arithmetic(_, a, b)
            | Op::In(a, b)
            | Op::Index(a, b) => {
                a.read(Shape::Whole, reads);
                b.read(Shape::Whole, reads);
            }
            Op::List(items) | Op::Call(_, items) => {
                for item in items {
                    item.read(Shape::Whole, reads);
                }
            }
        }
    }

    fn eval<'a>(&'a self, f: &mut Frame<'a>) -> Outcome<'a> {
        match self {
            Op::Null => Ok(Val::Null),
            Op::Bool(b) => Ok(Val::Bool(*b)),
            Op::Int(n) => Ok(Val::Int(*n)),
            Op::UInt(n) => Ok(Val::UInt(*n)),
            Op::Double(n) => Ok(Val::Double(*n)),
            Op::Str(text) => Ok(Val::Str(text)),
            Op::Resource => Ok(f.resource.clone()),
            Op::Vars => Ok(f.vars.clone()),
            Op::Slot(slot) => Ok(f.slots[*slot].clone()),
            Op::TypeName(name) => Ok(Val::Type(name)),
            Op::Undeclared(name) => error(format!("undeclared reference to '{name}'")),
            Op::Select {
                operand,
                field,
                hash,
                test,
            } => select(operand.eval(f)?, field, *hash, *test),
            Op::And(left, right) => logical(Fold::And, left, right, f),
            Op::Or(left, right) => logical(Fold::Or, left, right, f),
            Op::Not(operand) => match operand.eval(f)? {
                Val::Bool(b) => Ok(Val::Bool(!b)),
                other => error(format!("no such overload: !_ on {}", other.type_name())),
            },
            Op::Negate(operand) => match operand.eval(f)? {
                Val::Int(n) => n
                    .checked_neg()
                    .map(Val::Int)
                    .ok_or_else(|| EvalError("integer overflow".to_owned())),
                Val::Double(n) => Ok(Val::Double(-n)),
                other => error(format!("no such overload: -_ on {}", other.type_name())),
            },
            Op::NotStrictlyFalse(operand) => Ok(Val::Bool(truthy(operand.eval(f)).unwrap_or(true))),
            Op::Conditional(parts) => {
                let [condition, then, otherwise] = &**parts;
                if truthy(condition.eval(f))? {
                    then.eval(f)
                } else {
                    otherwise.eval(f)
                }
            }
            Op::Equals(a, b) => {
                let a = a.eval(f)?;
                Ok(Val::Bool(equals(&a, &b.eval(f)?)))
            }
            Op::NotEquals(a, b) => {
                let a = a.eval(f)?;
                Ok(Val::Bool(!equals(&a, &b.eval(f)?)))
            }
            Op::Compare(how, a, b) => {
                let a = a.eval(f)?;
                let order = compare(&a, &b.eval(f)?)?;
                Ok(Val::Bool(match how {
                    Comparison::Less => order == Ordering::Less,
                    Comparison::LessOrEqual => order != Ordering::Greater,
                    Comparison::Greater => order == Ordering::Greater,
                    Comparison::GreaterOrEqual => order != Ordering::Less,
                }))
            }
            Op::Arithmetic(how, a, b) => {
                let a = a.eval(f)?;
                arithmetic_of(*how, a, b.eval(f)?)
            }
            Op::In(a, b) => {
                let needle = a.eval(f)?;
                contains(&b.eval(f)?, &needle).map(Val::Bool)
            }
            Op::Index(a, b) => {
                let container = a.eval(f)?;
                index(container, &b.eval(f)?)
            }
            Op::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items.iter() {
                    values.push(item.eval(f)?);
                }
                Ok(Val::List(Rc::new(values)))
            }
            Op::Call(function, args) => call(*function, args, f),
            Op::Comprehension(compiled) => compiled.eval(f),
        }
    }
}

/// `&&` and `||`: the left side decides alone when it is the absorbing
/// value (false, true); otherwise the right side is evaluated and an
/// error on the left stands unless the right is the absorbing value.
fn logical<'a>(fold: Fold, left: &'a Op, right: &'a Op, f: &mut Frame<'a>) -> Outcome<'a> {
    let absorbing = fold == Fold::Or;
    let left = truthy(left.eval(f));
    if left == Ok(absorbing) {
        return Ok(Val::Bool(absorbing));
    }
    match (left, right.eval(f)?) {
        (Ok(_), Val::Bool(b)) => Ok(Val::Bool(b)),
        (Err(_), Val::Bool(b)) if b == absorbing => Ok(Val::Bool(b)),
        (Err(err), _) => Err(err),
        (Ok(_), other) => error(format!(
            "no such overload: {} on bool and {}",
            if absorbing { "_||_" } else { "_&&_" },
            other.type_name()
        )),
    }
}

impl Loop {
    fn eval<'a>(&'a self, f: &mut Frame<'a>) -> Outcome<'a> {
        let init = self.init.eval(f)?;
        let range = self.range.eval(f)?;
        let Some(count) = range.len() else {
            return error(format!("expected iterable, got {}", range.type_name()));
        };
        if let Some((guard, items)) = &self.append
            && matches!(&init, Val::List(list) if list.is_empty())
        {
            let mut out = Vec::with_capacity(count);
            for index in 0..count {
                if !truthy(self.condition.eval(f))? {
                    break;
                }
                f.slots[self.item] = range.item(index).unwrap_or(Val::Null);
                if let Some(guard) = guard
                    && !truthy(guard.eval(f))?
                {
                    continue;
                }
                match items.eval(f)? {
                    Val::List(appended) => out.extend(appended.iter().cloned()),
                    other => return error(format!("cannot append {}", other.type_name())),
                }
            }
            return Ok(Val::List(Rc::new(out)));
        }
        f.slots[self.accu] = init;
        let mut pending: Option<EvalError> = None;
        for index in 0..count {
            if !truthy(self.condition.eval(f))? {
                break;
            }
            f.slots[self.item] = range.item(index).unwrap_or(Val::Null);
            let step = self.step.eval(f);
            match (step, self.fold) {
                (Err(err), Some(_)) => pending = Some(err),
                (Err(err), None) => return Err(err),
                (Ok(accu), Some(fold)) if pending.is_some() => {
                    let absorbing = fold == Fold::Or;
                    if matches!(accu, Val::Bool(b) if b == absorbing) {
                        pending = None;
                        f.slots[self.accu] = accu;
                    }
                }
                (Ok(accu), _) => f.slots[self.accu] = accu,
            }
        }
        if let Some(err) = pending {
            return Err(err);
        }
        self.result.eval(f)
    }
}

fn select<'a>(operand: Val<'a>, field: &str, hash: u64, test: bool) -> Outcome<'a> {
    match operand {
        Val::Map(entries) => {
            let found = Node::field(entries, field, hash);
            if test {
                Ok(Val::Bool(found.is_some()))
            } else {
                found
                    .map(Val::of)
                    .ok_or_else(|| EvalError(format!("No such key: {field}")))
            }
        }
        other => error(format!(
            "no such overload: _._ on {} and string (reading `{field}`)",
            other.type_name()
        )),
    }
}

fn map_lookup<'a>(entries: &'a [Entry], key: &Val<'_>) -> Result<Option<&'a Node>, EvalError> {
    match key {
        Val::Str(_) | Val::String(_) => {
            let text = key.as_str().unwrap_or_default();
            Ok(Node::field(entries, text, key_hash(text)))
        }
        Val::Int(_) | Val::UInt(_) | Val::Double(_) | Val::Bool(_) => Ok(entries
            .iter()
            .rev()
            .find(|entry| {
                !matches!(entry.key, Node::String(_)) && equals(&Val::of(&entry.key), key)
            })
            .map(|entry| &entry.value)),
        other => error(format!("unsupported key type: {}", other.type_name())),
    }
}

fn index<'a>(container: Val<'a>, key: &Val<'_>) -> Outcome<'a> {
    match &container {
        Val::Map(entries) => match map_lookup(entries, key)? {
            Some(node) => Ok(Val::of(node)),
            None => error(format!("No such key: {}", display(key))),
        },
        Val::Nodes(_) | Val::List(_) => {
            let position = match key {
                Val::Int(n) => usize::try_from(*n).ok(),
                Val::UInt(n) => usize::try_from(*n).ok(),
                Val::Double(n) if n.fract() == 0.0 && *n >= 0.0 => Some(*n as usize),
                other => {
                    return error(format!(
                        "no such overload: _[_] on list and {}",
                        other.type_name()
                    ));
                }
            };
            position
                .and_then(|i| container.item(i))
                .ok_or_else(|| EvalError(format!("index out of bounds: {}", display(key))))
        }
        other => error(format!(
            "no such overload: _[_] on {} and {}",
            other.type_name(),
            key.type_name()
        )),
    }
}

fn contains(container: &Val<'_>, needle: &Val<'_>) -> Result<bool, EvalError> {
    match container {
        Val::Map(entries) => map_lookup(entries, needle).map(|found| found.is_some()),
        Val::Nodes(_) | Val::List(_) => {
            let count = container.len().unwrap_or(0);
            Ok((0..count).any(|i| container.item(i).is_some_and(|item| equals(&item, needle))))
        }
        other => error(format!(
            "no such overload: @in on {} and {}",
            needle.type_name(),
            other.type_name()
        )),
    }
}

fn arithmetic_of<'a>(how: Arithmetic, a: Val<'a>, b: Val<'a>) -> Outcome<'a> {
    let overflow = || EvalError("integer overflow".to_owned());
    match (how, &a, &b) {
        (_, Val::Int(x), Val::Int(y)) => match how {
            Arithmetic::Add => x.checked_add(*y),
            Arithmetic::Subtract => x.checked_sub(*y),
            Arithmetic::Multiply => x.checked_mul(*y),
            Arithmetic::Divide if *y == 0 => return error("divide by zero"),
            Arithmetic::Divide => x.checked_div(*y),
            Arithmetic::Modulo if *y == 0 => return error("modulus by zero"),
            Arithmetic::Modulo => x.checked_rem(*y),
        }
        .map(Val::Int)
        .ok_or_else(overflow),
        (_, Val::UInt(x), Val::UInt(y)) => match how {
            Arithmetic::Add => x.checked_add(*y),
            Arithmetic::Subtract => x.checked_sub(*y),
            Arithmetic::Multiply => x.checked_mul(*y),
            Arithmetic::Divide if *y == 0 => return error("divide by zero"),
            Arithmetic::Divide => x.checked_div(*y),
            Arithmetic::Modulo if *y == 0 => return error("modulus by zero"),
            Arithmetic::Modulo => x.checked_rem(*y),
        }
        .map(Val::UInt)
        .ok_or_else(overflow),
        (Arithmetic::Modulo, Val::Double(_), Val::Double(_)) => {
            error("no such overload: _%_ on double and double")
        }
        (_, Val::Double(x), Val::Double(y)) => Ok(Val::Double(match how {
            Arithmetic::Add => x + y,
            Arithmetic::Subtract => x - y,
            Arithmetic::Multiply => x * y,
            Arithmetic::Divide | Arithmetic::Modulo => x / y,
        })),
        (Arithmetic::Add, _, _) => {
            if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
                let mut joined = String::with_capacity(x.len() + y.len());
                joined.push_str(x);
                joined.push_str(y);
                return Ok(Val::String(joined.into()));
            }
            match (a.len(), b.len()) {
                (Some(x), Some(y)) if !matches!(a, Val::Map(_)) && !matches!(b, Val::Map(_)) => {
                    let mut items = Vec::with_capacity(x + y);
                    items.extend((0..x).filter_map(|i| a.item(i)));
                    items.extend((0..y).filter_map(|i| b.item(i)));
                    Ok(Val::List(Rc::new(items)))
                }
                _ => error(format!(
                    "unsupported binary operator 'add' on {} and {}",
                    a.type_name(),
                    b.type_name()
                )),
            }
        }
        _ => error(format!(
            "unsupported binary operator on {} and {}",
            a.type_name(),
            b.type_name()
        )),
    }
}

/// A value as `string()` and messages write it.
pub fn display(value: &Val<'_>) -> String {
    match value {
        Val::Null => "null".to_owned(),
        Val::Bool(b) => b.to_string(),
        Val::Int(n) => n.to_string(),
        Val::UInt(n) => n.to_string(),
        Val::Double(n) => n.to_string(),
        Val::Str(text) => (*text).to_owned(),
        Val::String(text) => text.to_string(),
        Val::Type(name) => (*name).to_owned(),
        Val::Nodes(_) | Val::List(_) => "a list".to_owned(),
        Val::Map(_) => "a map".to_owned(),
    }
}

fn string_arg<'v>(value: &'v Val<'_>, function: &str) -> Result<&'v str, EvalError> {
    value.as_str().ok_or_else(|| {
        EvalError(format!(
            "no such overload: {function} on {}",
            value.type_name()
        ))
    })
}

/// Signed and unsigned integers alike, as the port helpers take them.
fn port(value: &Val<'_>) -> Result<i64, EvalError> {
    match value {
        Val::Int(n) => Ok(*n),
        Val::UInt(n) => i64::try_from(*n).map_err(|_| EvalError(format!("{n} is out of range"))),
        other => error(format!("expected a number, got {}", other.type_name())),
    }
}

fn network(value: &Val<'_>, function: &str) -> Result<Network, EvalError> {
    let text = string_arg(value, function)?;
    Network::parse(text).ok_or_else(|| EvalError(format!("`{text}` is not an IP address or CIDR")))
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn call<'a>(function: Function, args: &'a [Op], f: &mut Frame<'a>) -> Outcome<'a> {
    let mut values: [Val<'a>; 4] = [Val::Null, Val::Null, Val::Null, Val::Null];
    for (slot, arg) in values.iter_mut().zip(args.iter()) {
        *slot = arg.eval(f)?;
    }
    let [a, b, c, d] = values;
    match function {
        Function::Size => match &a {
            Val::Str(_) | Val::String(_) => Ok(Val::Int(
                i64::try_from(a.as_str().unwrap_or_default().chars().count()).unwrap_or(i64::MAX),
            )),
            other => other
                .len()
                .map(|n| Val::Int(i64::try_from(n).unwrap_or(i64::MAX)))
                .ok_or_else(|| {
                    EvalError(format!("no such overload: size on {}", other.type_name()))
                }),
        },
        Function::String => match &a {
            Val::Str(_) | Val::String(_) => Ok(a),
            Val::Bool(_) | Val::Int(_) | Val::UInt(_) | Val::Double(_) => {
                Ok(Val::String(display(&a).into()))
            }
            other => error(format!("no such overload: string on {}", other.type_name())),
        },
        Function::Int => match a {
            Val::Int(n) => Ok(Val::Int(n)),
            Val::UInt(n) => i64::try_from(n)
                .map(Val::Int)
                .map_err(|_| EvalError("integer overflow".to_owned())),
            Val::Double(n) => {
                if n > i64::MIN as f64 && n < i64::MAX as f64 {
                    Ok(Val::Int(n as i64))
                } else {
                    error("integer overflow")
                }
            }
            Val::Str(_) | Val::String(_) => a
                .as_str()
                .unwrap_or_default()
                .parse::<i64>()
                .map(Val::Int)
                .map_err(|err| EvalError(format!("string parse error: {err}"))),
            other => error(format!("no such overload: int on {}", other.type_name())),
        },
        Function::Double => match a {
            Val::Double(n) => Ok(Val::Double(n)),
            Val::Int(n) => Ok(Val::Double(n as f64)),
            Val::UInt(n) => Ok(Val::Double(n as f64)),
            Val::Str(_) | Val::String(_) => a
                .as_str()
                .unwrap_or_default()
                .parse::<f64>()
                .map(Val::Double)
                .map_err(|err| EvalError(format!("string parse error: {err}"))),
            other => error(format!("no such overload: double on {}", other.type_name())),
        },
        Function::Type => Ok(Val::Type(a.type_name())),
        Function::Contains => Ok(Val::Bool(
            string_arg(&a, "contains")?.contains(string_arg(&b, "contains")?),
        )),
        Function::StartsWith => Ok(Val::Bool(
            string_arg(&a, "startsWith")?.starts_with(string_arg(&b, "startsWith")?),
        )),
        Function::EndsWith => Ok(Val::Bool(
            string_arg(&a, "endsWith")?.ends_with(string_arg(&b, "endsWith")?),
        )),
        Function::UpperAscii => Ok(Val::String(
            string_arg(&a, "upperAscii")?.to_ascii_uppercase().into(),
        )),
        Function::LowerAscii => Ok(Val::String(
            string_arg(&a, "lowerAscii")?.to_ascii_lowercase().into(),
        )),
        Function::Join => {
            let separator = if args.len() == 2 {
                string_arg(&b, "join")?
            } else {
                ""
            };
            let Some(count) = a.len().filter(|_| !matches!(a, Val::Map(_))) else {
                return error(format!("no such overload: join on {}", a.type_name()));
            };
            let mut joined = String::new();
            for i in 0..count {
                let item = a.item(i).unwrap_or(Val::Null);
                if i > 0 {
                    joined.push_str(separator);
                }
                joined.push_str(string_arg(&item, "join")?);
            }
            Ok(Val::String(joined.into()))
        }
        Function::Split => {
            let text = string_arg(&a, "split")?;
            let separator = string_arg(&b, "split")?;
            let parts: Vec<Val<'a>> = if separator.is_empty() {
                text.chars()
                    .map(|ch| Val::String(ch.to_string().into()))
                    .collect()
            } else {
                text.split(separator)
                    .map(|part| Val::String(part.into()))
                    .collect()
            };
            Ok(Val::List(Rc::new(parts)))
        }
        Function::CidrContains => {
            let (outer, inner) = (network(&a, "cidr_contains")?, network(&b, "cidr_contains")?);
            Ok(Val::Bool(outer.contains(&inner)))
        }
        Function::CidrOverlaps => {
            let (x, y) = (network(&a, "cidr_overlaps")?, network(&b, "cidr_overlaps")?);
            Ok(Val::Bool(x.overlaps(&y)))
        }
        Function::IsRfc1918 => {
            let net = network(&a, "is_rfc1918")?;
            Ok(Val::Bool(
                ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
                    .iter()
                    .filter_map(|private| Network::parse(private))
                    .any(|private| private.contains(&net)),
            ))
        }
        Function::CoversInternet => {
            let Some(count) = a.len().filter(|_| !matches!(a, Val::Map(_))) else {
                return error("covers_internet expects a list of CIDR strings");
            };
            let mut networks = Vec::with_capacity(count);
            for i in 0..count {
                let item = a.item(i).unwrap_or(Val::Null);
                if item.as_str().is_none() {
                    return error("covers_internet expects a list of CIDR strings");
                }
                networks.push(network(&item, "covers_internet")?);
            }
            Ok(Val::Bool(covers_internet(&networks)))
        }
        Function::PortsOverlap => Ok(Val::Bool(port(&a)? <= port(&d)? && port(&c)? <= port(&b)?)),
        Function::PortInRange => {
            let value = port(&a)?;
            Ok(Val::Bool(port(&b)? <= value && value <= port(&c)?))
        }
        Function::DaysSince => {
            let text = string_arg(&a, "days_since")?;
            let then = DateTime::parse_from_rfc3339(text)
                .map_err(|err| EvalError(format!("`{text}`: {err}")))?;
            let Some(now) = f.now else {
                return error("no clock: an inline test that reads the time needs `now`");
            };
            Ok(Val::Int((now - then.timestamp_micros()) / MICROS_PER_DAY))
        }
    }
}
