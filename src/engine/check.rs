//! Type checking of rule expressions when rules load, against the schema
//! of the rule's resource type and the types of its `vars`: a misspelt
//! field, a comparison that can never hold, an operation on the wrong kind
//! of value or an unknown function is an error at its position, before any
//! AWS call, rather than an ERROR result on every resource.
//!
//! The checker rejects only what is wrong whatever the data: an operation
//! no value of its operands' types allows, and what could evaluate but
//! never mean anything (a comparison that never holds, a test for a field
//! the type does not have, `&&` on a string). Where a value may be of
//! several types it accepts an operation any of them allows, and a value
//! it cannot follow (`Type::Dyn`) allows everything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cel::common::ast::{
    ComprehensionExpr, EntryExpr, Expr as Ast, IdedExpr, LiteralValue, SourceInfo,
};

use super::compiled::position;
use super::schema::{Object, Type, closest};
use super::vars::VarValue;

/// What an expression can read: the resource, as its type's schema says,
/// and the rule's parameters.
#[derive(Debug, Clone)]
pub struct Scope {
    pub resource_type: &'static str,
    pub resource: Type,
    pub vars: Type,
}

impl Scope {
    pub fn new(
        resource_type: &'static str,
        resource: Arc<Object>,
        vars: &BTreeMap<String, VarValue>,
    ) -> Scope {
        let fields = vars
            .iter()
            .map(|(name, value)| {
                let field = super::schema::Field {
                    value: var_type(value),
                    always: true,
                    derived: false,
                    meaning: None,
                };
                (name.clone(), field)
            })
            .collect();
        Scope {
            resource_type,
            resource: Type::Object(resource),
            vars: Type::Object(Arc::new(Object { fields })),
        }
    }
}

/// A parameter's type is its value's: a configuration file may only set
/// a value of the same kind.
fn var_type(value: &VarValue) -> Type {
    match value {
        VarValue::Bool(_) => Type::Bool,
        VarValue::Int(_) => Type::Int,
        VarValue::Float(_) => Type::Double,
        VarValue::Text(_) => Type::String(None),
        VarValue::List(items) => Type::List(Arc::new(Type::either(items.iter().map(var_type)))),
    }
}

/// A type error, at its position within the expression (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Checks `expr`; its type when it is well typed.
pub fn check(expr: &IdedExpr, source: &SourceInfo, scope: &Scope) -> Result<Type, TypeError> {
    Checker {
        source,
        scope,
        locals: Vec::new(),
    }
    .check(expr)
}

/// The interpreter's functions the compiled evaluator does not take: a
/// call to one is not checked, but its name is known.
const INTERPRETER_FUNCTIONS: &[&str] = &[
    "bool",
    "bytes",
    "charAt",
    "duration",
    "dyn",
    "format",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getFullYear",
    "getHours",
    "getMilliseconds",
    "getMinutes",
    "getMonth",
    "getSeconds",
    "hasValue",
    "indexOf",
    "lastIndexOf",
    "matches",
    "or",
    "orValue",
    "replace",
    "reverse",
    "substring",
    "timestamp",
    "trim",
    "uint",
    "value",
];

/// Functions named with their namespace, called as `namespace.name(...)`.
const QUALIFIED_FUNCTIONS: &[&str] = &[
    "optional.none",
    "optional.of",
    "optional.ofNonZeroValue",
    "strings.quote",
];

/// What a type allows, for deciding whether two values can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Bool,
    Number,
    String,
    List,
    Map,
    Type,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "a bool",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::List => "a list",
            Kind::Map => "an object",
            Kind::Type => "a type",
        }
    }
}

/// The kinds a value of `ty` may be other than null; `None` when it may be
/// anything.
fn kinds(ty: &Type) -> Option<BTreeSet<Kind>> {
    let mut kinds = BTreeSet::new();
    for alternative in ty.alternatives() {
        match alternative {
            Type::Dyn | Type::Nothing => return None,
            Type::Null => {}
            Type::Bool => {
                kinds.insert(Kind::Bool);
            }
            Type::Int | Type::UInt | Type::Double => {
                kinds.insert(Kind::Number);
            }
            Type::String(_) => {
                kinds.insert(Kind::String);
            }
            Type::List(_) => {
                kinds.insert(Kind::List);
            }
            Type::Map(_) | Type::Object(_) => {
                kinds.insert(Kind::Map);
            }
            Type::Type => {
                kinds.insert(Kind::Type);
            }
            Type::Either(_) => return None,
        }
    }
    Some(kinds)
}

/// Whether a value of `ty` may be of `kind` (or null, which every
/// operation's own rules handle).
fn allows(ty: &Type, kind: Kind) -> bool {
    kinds(ty).is_none_or(|kinds| kinds.is_empty() || kinds.contains(&kind))
}

/// Whether no value of `a` is ever equal to one of `b`: both have known,
/// non-null kinds and share none.
fn never_meet(a: &Type, b: &Type) -> bool {
    match (kinds(a), kinds(b)) {
        (Some(a), Some(b)) => !a.is_empty() && !b.is_empty() && a.is_disjoint(&b),
        _ => false,
    }
}

/// `ty`'s kinds in words: "a string or a number".
fn kinds_text(ty: &Type) -> String {
    let Some(kinds) = kinds(ty) else {
        return "anything".to_owned();
    };
    if kinds.is_empty() {
        return "null".to_owned();
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    names.join(" or ")
}

struct Checker<'c> {
    source: &'c SourceInfo,
    scope: &'c Scope,
    /// Comprehension variables in scope, innermost last.
    locals: Vec<(String, Type)>,
}

impl Checker<'_> {
    fn error<T>(&self, expr: &IdedExpr, message: String) -> Result<T, TypeError> {
        let (line, column) = self
            .source
            .offset_for(expr.id)
            .map_or((1, 1), |(start, _)| position(&self.source.source, start));
        Err(TypeError {
            line,
            column,
            message,
        })
    }

    /// How a message names `expr`: its path when it is one
    /// (`resource.a.b`), a literal as written, a call by its function.
    fn describe(&self, expr: &IdedExpr) -> String {
        if let Some(path) = path_of(expr) {
            return format!("`{path}`");
        }
        match &expr.expr {
            Ast::Literal(_) => self
                .source
                .offset_for(expr.id)
                .and_then(|(start, stop)| self.source.source.get(start as usize..=stop as usize))
                .map_or_else(|| "a literal".to_owned(), |text| format!("`{text}`")),
            Ast::Call(call)
                if call
                    .func_name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_') =>
            {
                format!("`{}(…)`", call.func_name)
            }
            _ => "the expression here".to_owned(),
        }
    }

    fn check(&mut self, expr: &IdedExpr) -> Result<Type, TypeError> {
        match &expr.expr {
            Ast::Literal(literal) => Ok(match literal {
                LiteralValue::Null => Type::Null,
                LiteralValue::Boolean(_) => Type::Bool,
                LiteralValue::Int(_) => Type::Int,
                LiteralValue::UInt(_) => Type::UInt,
                LiteralValue::Double(_) => Type::Double,
                LiteralValue::String(_) => Type::String(None),
                LiteralValue::Bytes(_) => Type::Dyn,
            }),
            Ast::Ident(name) => self.ident(expr, name),
            Ast::Select(select) => {
                let operand = self.check(&select.operand)?;
                let field = self.field(expr, &select.operand, &operand, &select.field)?;
                Ok(if select.test { Type::Bool } else { field })
            }
            Ast::List(list) => {
                let mut elements = Vec::with_capacity(list.elements.len());
                for element in &list.elements {
                    elements.push(self.check(element)?);
                }
                Ok(Type::List(Arc::new(if list.optional_indices.is_empty() {
                    Type::either(elements)
                } else {
                    Type::Dyn
                })))
            }
            Ast::Map(map) => {
                let mut values = Vec::with_capacity(map.entries.len());
                let mut string_keys = true;
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(entry) = &entry.expr {
                        string_keys &= matches!(self.check(&entry.key)?, Type::String(_));
                        values.push(self.check(&entry.value)?);
                    }
                }
                // `Type::Map` has string keys; a map keyed otherwise is
                // not followed.
                Ok(if string_keys {
                    Type::Map(Arc::new(Type::either(values)))
                } else {
                    Type::Dyn
                })
            }
            Ast::Struct(_) | Ast::Unspecified => Ok(Type::Dyn),
            Ast::Comprehension(comprehension) => self.comprehension(expr, comprehension),
            Ast::Call(call) => {
                if let Some(target) = &call.target
                    && let Some(namespace) = path_of(target)
                    && QUALIFIED_FUNCTIONS
                        .contains(&format!("{namespace}.{}", call.func_name).as_str())
                {
                    for arg in &call.args {
                        self.check(arg)?;
                    }
                    return Ok(Type::Dyn);
                }
                let target = match &call.target {
                    Some(target) => Some((target.as_ref(), self.check(target)?)),
                    None => None,
                };
                let mut args = Vec::with_capacity(call.args.len());
                for arg in &call.args {
                    args.push((arg, self.check(arg)?));
                }
                self.call(expr, &call.func_name, target, &args)
            }
        }
    }

    fn ident(&self, expr: &IdedExpr, name: &str) -> Result<Type, TypeError> {
        if let Some((_, ty)) = self.locals.iter().rev().find(|(bound, _)| bound == name) {
            return Ok(ty.clone());
        }
        match name {
            "resource" => Ok(self.scope.resource.clone()),
            "vars" => Ok(self.scope.vars.clone()),
            "bool" | "int" | "uint" | "double" | "string" | "bytes" | "list" | "map"
            | "null_type" | "type" => Ok(Type::Type),
            _ => self.error(
                expr,
                format!("unknown name `{name}`: an expression reads `resource` and `vars`"),
            ),
        }
    }

    /// The type of `field` on a value of type `operand`.
    fn field(
        &self,
        expr: &IdedExpr,
        operand_expr: &IdedExpr,
        operand: &Type,
        field: &str,
    ) -> Result<Type, TypeError> {
        let mut found = Vec::new();
        let mut missing_from: Option<&Object> = None;
        for alternative in operand.alternatives() {
            match alternative {
                Type::Dyn | Type::Nothing => return Ok(Type::Dyn),
                Type::Map(value) => found.push(Type::clone(value)),
                Type::Object(object) => match object.fields.get(field) {
                    Some(declared) => found.push(declared.value.clone()),
                    None => missing_from = Some(object),
                },
                _ => {}
            }
        }
        if !found.is_empty() {
            return Ok(Type::either(found));
        }
        let owner = self.describe(operand_expr);
        let owner = if matches!(&operand_expr.expr, Ast::Ident(name) if name == "resource") {
            format!("{owner} (a {})", self.scope.resource_type)
        } else {
            owner
        };
        match missing_from {
            Some(object) => {
                let hint = closest(field, object.fields.keys().map(String::as_str))
                    .map(|name| format!("; did you mean `{name}`?"))
                    .unwrap_or_default();
                self.error(expr, format!("{owner} has no field `{field}`{hint}"))
            }
            None => self.error(
                expr,
                format!(
                    "{owner} is {}, which has no field `{field}`",
                    kinds_text(operand)
                ),
            ),
        }
    }

    fn comprehension(
        &mut self,
        expr: &IdedExpr,
        comprehension: &ComprehensionExpr,
    ) -> Result<Type, TypeError> {
        let range = self.check(&comprehension.iter_range)?;
        let mut items = Vec::new();
        let mut keys = false;
        for alternative in range.alternatives() {
            match alternative {
                Type::Dyn | Type::Nothing => items.push(Type::Dyn),
                Type::List(element) => items.push(Type::clone(element)),
                Type::Map(_) | Type::Object(_) => keys = true,
                _ => {}
            }
        }
        if keys {
            items.push(Type::String(None));
        }
        if items.is_empty() && !matches!(range, Type::Null) {
            return self.error(
                expr,
                format!(
                    "{} is {}: only a list or a map can be iterated",
                    self.describe(&comprehension.iter_range),
                    kinds_text(&range)
                ),
            );
        }
        let item = if comprehension.iter_var2.is_some() {
            Type::Dyn
        } else {
            Type::either(items)
        };
        let init = self.check(&comprehension.accu_init)?;
        self.locals
            .push((comprehension.accu_var.clone(), init.clone()));
        self.check(&comprehension.loop_cond)?;
        self.locals.push((comprehension.iter_var.clone(), item));
        if let Some(second) = &comprehension.iter_var2 {
            self.locals.push((second.clone(), Type::Dyn));
        }
        let step = self.check(&comprehension.loop_step);
        if comprehension.iter_var2.is_some() {
            self.locals.pop();
        }
        self.locals.pop();
        self.locals.pop();
        let accu = Type::either([init, step?]);
        self.locals.push((comprehension.accu_var.clone(), accu));
        let result = self.check(&comprehension.result);
        self.locals.pop();
        result
    }

    fn call(
        &self,
        expr: &IdedExpr,
        name: &str,
        target: Option<(&IdedExpr, Type)>,
        args: &[(&IdedExpr, Type)],
    ) -> Result<Type, TypeError> {
        let need = |(arg, ty): &(&IdedExpr, Type), kind: Kind, what: &str| {
            if allows(ty, kind) {
                Ok(())
            } else {
                self.error(
                    arg,
                    format!(
                        "{what} takes {}; {} is {}",
                        kind.name(),
                        self.describe(arg),
                        kinds_text(ty)
                    ),
                )
            }
        };
        match (name, &target, args.len()) {
            ("_&&_" | "_||_", None, 2) => {
                let operator = if name == "_&&_" { "`&&`" } else { "`||`" };
                for arg in args {
                    need(arg, Kind::Bool, operator)?;
                }
                Ok(Type::Bool)
            }
            ("!_", None, 1) => {
                need(&args[0], Kind::Bool, "`!`")?;
                Ok(Type::Bool)
            }
            ("-_", None, 1) => {
                need(&args[0], Kind::Number, "`-`")?;
                Ok(args[0].1.clone())
            }
            ("@not_strictly_false", None, 1) => Ok(Type::Bool),
            ("_?_:_", None, 3) => {
                need(&args[0], Kind::Bool, "`? :`")?;
                Ok(Type::either([args[1].1.clone(), args[2].1.clone()]))
            }
            ("_==_" | "_!=_", None, 2) => {
                self.comparable(expr, (args[0].0, &args[0].1), (args[1].0, &args[1].1))?;
                Ok(Type::Bool)
            }
            ("_<_" | "_<=_" | "_>_" | "_>=_", None, 2) => {
                let orderable = [Kind::Number, Kind::String, Kind::Bool]
                    .into_iter()
                    .any(|kind| allows(&args[0].1, kind) && allows(&args[1].1, kind));
                if !orderable {
                    return self.error(
                        expr,
                        format!(
                            "{} ({}) cannot be ordered against {} ({})",
                            self.describe(args[0].0),
                            kinds_text(&args[0].1),
                            self.describe(args[1].0),
                            kinds_text(&args[1].1)
                        ),
                    );
                }
                Ok(Type::Bool)
            }
            ("_+_" | "_-_" | "_*_" | "_/_" | "_%_", None, 2) => self.arithmetic(expr, name, args),
            ("@in", None, 2) => {
                self.membership(expr, &args[0], &args[1])?;
                Ok(Type::Bool)
            }
            ("_[_]", None, 2) => self.index(expr, &args[0], &args[1]),
            // Optional field reads and indexes (`a.?b`, `a[?k]`), which
            // only the interpreter runs.
            ("_?._" | "_[?_]", None, 2) => Ok(Type::Dyn),
            _ => self.function(expr, name, target, args),
        }
    }

    /// `a == b` can hold: the two may be of one kind, and a string literal
    /// is among the values a field with a known set of values takes.
    fn comparable(
        &self,
        expr: &IdedExpr,
        (a_expr, a): (&IdedExpr, &Type),
        (b_expr, b): (&IdedExpr, &Type),
    ) -> Result<(), TypeError> {
        if never_meet(a, b) {
            return self.error(
                expr,
                format!(
                    "{} is {} and {} is {}: they are never equal",
                    self.describe(a_expr),
                    kinds_text(a),
                    self.describe(b_expr),
                    kinds_text(b)
                ),
            );
        }
        for (field_expr, field, literal_expr) in [(a_expr, a, b_expr), (b_expr, b, a_expr)] {
            if let Some(literal) = string_literal(literal_expr) {
                let never = format!("{} is never", self.describe(field_expr));
                self.among_values(expr, &never, field, literal)?;
            }
        }
        Ok(())
    }

    /// A string literal compared with a value that is only ever one of a
    /// known set of strings must be one of them.
    /// `never` introduces the value in the message: "`x` is never".
    fn among_values(
        &self,
        expr: &IdedExpr,
        never: &str,
        field: &Type,
        literal: &str,
    ) -> Result<(), TypeError> {
        let mut values = BTreeSet::new();
        for alternative in field.alternatives() {
            match alternative {
                Type::Null => {}
                Type::String(Some(known)) => values.extend(known.iter().map(String::as_str)),
                _ => return Ok(()),
            }
        }
        if values.is_empty() || values.contains(literal) {
            return Ok(());
        }
        let listed: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        self.error(
            expr,
            format!("{never} \"{literal}\": it is one of {}", listed.join(", ")),
        )
    }

    fn arithmetic(
        &self,
        expr: &IdedExpr,
        operator: &str,
        args: &[(&IdedExpr, Type)],
    ) -> Result<Type, TypeError> {
        let (a, b) = (&args[0].1, &args[1].1);
        let symbol = operator.trim_matches('_');
        let kinds: &[Kind] = if symbol == "+" {
            &[Kind::Number, Kind::String, Kind::List]
        } else {
            &[Kind::Number]
        };
        let fitting: Vec<Kind> = kinds
            .iter()
            .copied()
            .filter(|&kind| allows(a, kind) && allows(b, kind))
            .collect();
        if fitting.is_empty() {
            return self.error(
                expr,
                format!(
                    "`{symbol}` cannot take {} ({}) and {} ({})",
                    self.describe(args[0].0),
                    kinds_text(a),
                    self.describe(args[1].0),
                    kinds_text(b)
                ),
            );
        }
        if a.is_dyn() || b.is_dyn() {
            return Ok(Type::Dyn);
        }
        let sides = || [a, b].into_iter().flat_map(|side| side.alternatives());
        Ok(Type::either(fitting.into_iter().map(|kind| {
            match kind {
                Kind::String => Type::String(None),
                Kind::List => Type::List(Arc::new(Type::either(sides().filter_map(|t| match t {
                    Type::List(element) => Some(Type::clone(element)),
                    _ => None,
                })))),
                _ => Type::either(
                    sides()
                        .filter(|t| matches!(t, Type::Int | Type::UInt | Type::Double))
                        .cloned(),
                ),
            }
        })))
    }

    fn membership(
        &self,
        expr: &IdedExpr,
        needle: &(&IdedExpr, Type),
        haystack: &(&IdedExpr, Type),
    ) -> Result<(), TypeError> {
        let mut elements = Vec::new();
        let mut keyed = false;
        for alternative in haystack.1.alternatives() {
            match alternative {
                Type::Dyn | Type::Nothing => return Ok(()),
                Type::List(element) => elements.push(Type::clone(element)),
                Type::Map(_) | Type::Object(_) => keyed = true,
                _ => {}
            }
        }
        if keyed {
            elements.push(Type::String(None));
        }
        if elements.is_empty() {
            if matches!(haystack.1, Type::Null) {
                return Ok(());
            }
            return self.error(
                expr,
                format!(
                    "`in` needs a list or a map on its right; {} is {}",
                    self.describe(haystack.0),
                    kinds_text(&haystack.1)
                ),
            );
        }
        let element = Type::either(elements);
        if never_meet(&needle.1, &element) {
            return self.error(
                expr,
                format!(
                    "{} is {}, never an element of {} ({})",
                    self.describe(needle.0),
                    kinds_text(&needle.1),
                    self.describe(haystack.0),
                    haystack.1
                ),
            );
        }
        if let Some(literal) = string_literal(needle.0) {
            let never = format!("no element of {} is", self.describe(haystack.0));
            self.among_values(expr, &never, &element, literal)?;
        }
        // `x in ['a', 'b']`: each listed string must be a value `x` takes.
        if let Ast::List(list) = &haystack.0.expr {
            let never = format!("{} is never", self.describe(needle.0));
            for literal in list.elements.iter().filter_map(string_literal) {
                self.among_values(expr, &never, &needle.1, literal)?;
            }
        }
        Ok(())
    }

    fn index(
        &self,
        expr: &IdedExpr,
        container: &(&IdedExpr, Type),
        key: &(&IdedExpr, Type),
    ) -> Result<Type, TypeError> {
        let mut found = Vec::new();
        let mut missing = None;
        for alternative in container.1.alternatives() {
            match alternative {
                Type::Dyn | Type::Nothing => return Ok(Type::Dyn),
                Type::List(element) if allows(&key.1, Kind::Number) => {
                    found.push(Type::clone(element));
                }
                Type::Map(value) => found.push(Type::clone(value)),
                Type::Object(object) => match string_literal(key.0) {
                    Some(name) => {
                        let object = Type::Object(object.clone());
                        match self.field(expr, container.0, &object, name) {
                            Ok(field) => found.push(field),
                            Err(error) => missing = Some(error),
                        }
                    }
                    None => found.push(Type::Dyn),
                },
                _ => {}
            }
        }
        if let (true, Some(error)) = (found.is_empty(), missing) {
            return Err(error);
        }
        if found.is_empty() && !matches!(container.1, Type::Null) {
            return self.error(
                expr,
                format!(
                    "{} is {}, which cannot be indexed by {} ({})",
                    self.describe(container.0),
                    kinds_text(&container.1),
                    self.describe(key.0),
                    kinds_text(&key.1)
                ),
            );
        }
        Ok(Type::either(found))
    }

    fn function(
        &self,
        expr: &IdedExpr,
        name: &str,
        target: Option<(&IdedExpr, Type)>,
        args: &[(&IdedExpr, Type)],
    ) -> Result<Type, TypeError> {
        // Arguments with the target first, as the function sees them.
        let mut all: Vec<(&IdedExpr, Type)> = Vec::with_capacity(args.len() + 1);
        if let Some((target_expr, target)) = &target {
            all.push((target_expr, target.clone()));
        }
        all.extend(args.iter().map(|(e, t)| (*e, t.clone())));
        let member = target.is_some();
        let takes = |kinds: &[Kind], result: Type| -> Result<Type, TypeError> {
            let shown = format!("`{name}`");
            if all.len() != kinds.len() {
                let expected = kinds.len() - usize::from(member);
                return self.error(
                    expr,
                    format!(
                        "{shown} takes {expected} argument(s){}, not {}",
                        if member { " after its target" } else { "" },
                        args.len()
                    ),
                );
            }
            for (arg, kind) in all.iter().zip(kinds) {
                if !allows(&arg.1, *kind) {
                    return self.error(
                        arg.0,
                        format!(
                            "{shown} takes {} here; {} is {}",
                            kind.name(),
                            self.describe(arg.0),
                            kinds_text(&arg.1)
                        ),
                    );
                }
            }
            Ok(result)
        };
        use Kind::{List, Number, String};
        let text = Type::String(None);
        match (name, member) {
            ("size", _) => {
                let [(arg, ty)] = all.as_slice() else {
                    return takes(&[String], Type::Int);
                };
                if [Kind::String, Kind::List, Kind::Map]
                    .into_iter()
                    .any(|kind| allows(ty, kind))
                {
                    Ok(Type::Int)
                } else {
                    self.error(
                        arg,
                        format!(
                            "`size` takes a string, a list or a map; {} is {}",
                            self.describe(arg),
                            kinds_text(ty)
                        ),
                    )
                }
            }
            ("string", false) if all.len() == 1 => Ok(text),
            ("int", false) if all.len() == 1 => Ok(Type::Int),
            ("double", false) if all.len() == 1 => Ok(Type::Double),
            ("type", false) if all.len() == 1 => Ok(Type::Type),
            ("contains" | "startsWith" | "endsWith", true) => takes(&[String, String], Type::Bool),
            ("upperAscii" | "lowerAscii", true) => takes(&[String], text),
            ("join", true) if all.len() == 1 => takes(&[List], text),
            ("join", true) => takes(&[List, String], text),
            ("split", true) if all.len() == 3 => takes(
                &[String, String, Number],
                Type::List(Arc::new(Type::String(None))),
            ),
            ("split", true) => takes(&[String, String], Type::List(Arc::new(Type::String(None)))),
            ("cidr_contains" | "cidr_overlaps", false) => takes(&[String, String], Type::Bool),
            ("is_rfc1918", false) => takes(&[String], Type::Bool),
            ("covers_internet", false) => takes(&[List], Type::Bool),
            ("ports_overlap", false) => takes(&[Number, Number, Number, Number], Type::Bool),
            ("port_in_range", false) => takes(&[Number, Number, Number], Type::Bool),
            ("days_since", false) => takes(&[String], Type::Int),
            (
                "contains" | "startsWith" | "endsWith" | "upperAscii" | "lowerAscii" | "join"
                | "split",
                false,
            ) => self.error(
                expr,
                format!("`{name}` is called on a value: `x.{name}(…)`"),
            ),
            (
                "cidr_contains" | "cidr_overlaps" | "is_rfc1918" | "covers_internet"
                | "ports_overlap" | "port_in_range" | "days_since",
                true,
            ) => self.error(
                expr,
                format!("`{name}` takes its arguments in parentheses: `{name}(…)`"),
            ),
            _ if INTERPRETER_FUNCTIONS.contains(&name)
                || ["string", "int", "double", "type"].contains(&name) =>
            {
                Ok(Type::Dyn)
            }
            _ => self.error(expr, format!("unknown function `{name}`")),
        }
    }
}

/// `a.b[0].c` when `expr` is a chain of field reads and literal indexes
/// on a name.
fn path_of(expr: &IdedExpr) -> Option<String> {
    match &expr.expr {
        Ast::Ident(name) => Some(name.clone()),
        Ast::Select(select) if !select.test => {
            path_of(&select.operand).map(|operand| format!("{operand}.{}", select.field))
        }
        Ast::Call(call) if call.func_name == "_[_]" && call.target.is_none() => {
            let [container, index] = call.args.as_slice() else {
                return None;
            };
            let index = match &index.expr {
                Ast::Literal(LiteralValue::Int(n)) => n.inner().to_string(),
                Ast::Literal(LiteralValue::String(text)) => format!("\"{}\"", text.inner()),
                _ => return None,
            };
            path_of(container).map(|container| format!("{container}[{index}]"))
        }
        _ => None,
    }
}

fn string_literal(expr: &IdedExpr) -> Option<&str> {
    match &expr.expr {
        Ast::Literal(LiteralValue::String(text)) => Some(text.inner()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::expr::{Backend, ExprEnv, Needs, Subject};
    use crate::engine::resources::ResourceType;

    fn vars() -> BTreeMap<String, VarValue> {
        BTreeMap::from([
            ("port".to_owned(), VarValue::Int(22)),
            (
                "ports".to_owned(),
                VarValue::List(vec![VarValue::Int(80), VarValue::Int(443)]),
            ),
            ("label".to_owned(), VarValue::Text("x".to_owned())),
        ])
    }

    /// The type of `source` on `resource_type`, or its error as
    /// `line:column: message`.
    fn check_on(resource_type: ResourceType, source: &str) -> Result<String, String> {
        let program = cel::Env::stdlib().compile(source).expect("parses");
        let scope = Scope::new(
            resource_type.name(),
            Arc::clone(resource_type.schema()),
            &vars(),
        );
        check(program.expression(), program.source_info(), &scope)
            .map(|ty| ty.to_string())
            .map_err(|e| format!("{}:{}: {}", e.line, e.column, e.message))
    }

    fn group(source: &str) -> Result<String, String> {
        check_on(ResourceType::SecurityGroup, source)
    }

    #[test]
    fn what_rules_write_is_accepted_with_its_type() {
        for (source, ty) in [
            ("resource.name", "string"),
            ("resource.description", "string or null"),
            ("resource.rule_count > vars.port", "bool"),
            ("resource.tags.Name == 'web'", "bool"),
            ("has(resource.tags) && 'Name' in resource.tags", "bool"),
            (
                "resource.internet_ingress.tcp.map(s, s.from)",
                "list of int",
            ),
            (
                "resource.ingress.filter(p, p.protocol == 'tcp')[0].port_range.from",
                "int",
            ),
            (
                "resource.ingress.exists(p, p.port_range != null && p.port_range.from in vars.ports)",
                "bool",
            ),
            (
                "resource.internet_ingress.tcp.exists_one(s, s.from == 22)",
                "bool",
            ),
            ("resource.vpc_cidrs.exists(c, is_rfc1918(c))", "bool"),
            (
                "covers_internet(resource.ingress[0].ipv4_ranges.map(r, r.cidr))",
                "bool",
            ),
            (
                "resource.name + ': ' + string(resource.rule_count)",
                "string",
            ),
            ("size(resource.ingress) + 1", "int"),
            ("type(resource.name) == string", "bool"),
            ("resource.name.matches('^launch-wizard')", "any"),
            ("[]", "list of any"),
            ("vars.label.startsWith('x') ? 1 : 'one'", "int or string"),
            ("resource.tags.?Name.orValue('') == 'web'", "bool"),
            ("resource.rule_count in {22: 'ssh', 3389: 'rdp'}", "bool"),
            ("resource.arn.split(':', 6)[5]", "string"),
            (
                "[['tcp', 22]].exists(q, (q[0] + q[0]).startsWith('tc'))",
                "bool",
            ),
            (
                "resource.ingress.map(p, p.ipv4_ranges).exists(r, size(r) > 0)",
                "bool",
            ),
        ] {
            assert_eq!(group(source), Ok(ty.to_owned()), "{source}");
        }
    }

    #[test]
    fn mistakes_are_refused_where_they_stand() {
        for (source, error) in [
            (
                "resource.nmae == 'web'",
                "1:9: `resource` (a security_group) has no field `nmae`; did you mean `name`?",
            ),
            (
                "resource.ingress.exists(p, p.port_range.frm == 22)",
                "1:40: `p.port_range` has no field `frm`; did you mean `from`?",
            ),
            (
                "has(resource.internet_ingres)",
                "1:4: `resource` (a security_group) has no field `internet_ingres`; did you mean `internet_ingress`?",
            ),
            (
                "resource.name == 22",
                "1:15: `resource.name` is a string and `22` is a number: they are never equal",
            ),
            (
                "resource.rule_count > '50'",
                "1:21: `resource.rule_count` (a number) cannot be ordered against `'50'` (a string)",
            ),
            (
                "vars.port == '22'",
                "1:11: `vars.port` is a number and `'22'` is a string: they are never equal",
            ),
            (
                "vars.prot == 22",
                "1:5: `vars` has no field `prot`; did you mean `port`?",
            ),
            (
                "'tcp' in resource.ingress",
                "1:7: `'tcp'` is a string, never an element of `resource.ingress` (list of object)",
            ),
            (
                "resource.name.exists(c, c == 'a')",
                "1:21: `resource.name` is a string: only a list or a map can be iterated",
            ),
            (
                "!resource.name",
                "1:10: `!` takes a bool; `resource.name` is a string",
            ),
            (
                "resource.ingress.ipv4_ranges",
                "1:17: `resource.ingress` is a list, which has no field `ipv4_ranges`",
            ),
            (
                "is_rfc1918(resource.rule_count)",
                "1:20: `is_rfc1918` takes a string here; `resource.rule_count` is a number",
            ),
            (
                "cidr_contains(resource.name)",
                "1:14: `cidr_contains` takes 2 argument(s), not 1",
            ),
            ("is_public(resource)", "1:10: unknown function `is_public`"),
            (
                "resourse.name == 'x'",
                "1:1: unknown name `resourse`: an expression reads `resource` and `vars`",
            ),
            (
                "resource.rule_count + resource.name",
                "1:21: `+` cannot take `resource.rule_count` (a number) and `resource.name` (a string)",
            ),
        ] {
            assert_eq!(group(source), Err(error.to_owned()), "{source}");
        }
    }

    #[test]
    fn a_string_compared_with_a_value_it_never_takes_is_refused() {
        let finding = |source| check_on(ResourceType::GuarddutyFinding, source);
        assert_eq!(
            finding("resource.severity_label == 'critical'"),
            Ok("bool".to_owned())
        );
        assert_eq!(
            finding("resource.severity_label == 'CRITICAL'"),
            Err("1:25: `resource.severity_label` is never \"CRITICAL\": it is one of \"critical\", \"high\", \"low\", \"medium\"".to_owned())
        );
        assert_eq!(
            finding("resource.severity_label in ['high', 'critcal']"),
            Err("1:25: `resource.severity_label` is never \"critcal\": it is one of \"critical\", \"high\", \"low\", \"medium\"".to_owned())
        );
    }

    /// The functions the checker knows are the interpreter's: a name it
    /// calls unknown is one the interpreter has no function for, and the
    /// other way round.
    #[test]
    fn the_checker_knows_the_interpreters_functions() {
        let env = ExprEnv::new();
        let context = env.rule_context(&vars()).expect("context");
        let subject = Subject::new(&serde_json::json!({}), None, &Needs::both()).expect("subject");
        let compiled = [
            "size",
            "string",
            "int",
            "double",
            "type",
            "contains",
            "startsWith",
            "endsWith",
            "upperAscii",
            "lowerAscii",
            "join",
            "split",
            "cidr_contains",
            "cidr_overlaps",
            "is_rfc1918",
            "covers_internet",
            "ports_overlap",
            "port_in_range",
            "days_since",
        ];
        let unknown = ["is_public", "exists_all", "lower", "length", "sum", "max"];
        let mut disagreements = Vec::new();
        for name in compiled.iter().chain(INTERPRETER_FUNCTIONS).chain(&unknown) {
            let interpreter_knows =
                [format!("{name}()"), format!("'a'.{name}()")]
                    .iter()
                    .any(|source| {
                        let expr = env.compile_unchecked(source).expect("parses");
                        !expr
                            .text(Backend::Interpreter, &context, &subject)
                            .is_err_and(|e| e.contains("Undeclared reference"))
                    });
            let checker_knows = !group(&format!("{name}()"))
                .is_err_and(|e| e.ends_with(&format!("unknown function `{name}`")));
            if checker_knows != interpreter_knows {
                disagreements.push(*name);
            }
        }
        assert_eq!(disagreements, Vec::<&str>::new());
    }
}
