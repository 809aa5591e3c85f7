//! What rules see of each resource type: every field, its type, whether
//! the analysis derived it, and what it means.
//!
//! Read from the Rust types resources are serialised from, serde
//! attributes included (`schemars` interprets them as serde does, and
//! takes each field's doc comment as its meaning), so the schema cannot
//! drift from the values rules are given.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;

use super::data::Node;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The type of a value a rule reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// Anything: where the schema says nothing, or a value the checker
    /// does not follow.
    Dyn,
    /// The element of an empty list: there is none, so any use is fine.
    Nothing,
    Null,
    Bool,
    Int,
    UInt,
    Double,
    /// A string, with the values it can take when they are a known set.
    String(Option<Arc<BTreeSet<String>>>),
    List(Arc<Type>),
    /// Keys are strings.
    Map(Arc<Type>),
    Object(Arc<Object>),
    /// A type value, as `type(x)` gives.
    Type,
    /// One of several: a field that may be null, a number or a string.
    Either(Arc<[Type]>),
}

/// A value with named fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub value: Type,
    /// Whether the field is always there (it may still be null).
    pub always: bool,
    /// Whether the analysis derived it, rather than AWS reporting it.
    pub derived: bool,
    /// The field's doc comment.
    pub meaning: Option<String>,
}

impl Type {
    /// One of `types`: nested alternatives flattened, objects merged into
    /// one (a field of some is sometimes there), strings into one.
    pub fn either(types: impl IntoIterator<Item = Type>) -> Type {
        let mut alternatives: Vec<Type> = Vec::new();
        let mut object: Option<Object> = None;
        let mut strings: Option<Option<BTreeSet<String>>> = None;
        let mut pending: Vec<Type> = types.into_iter().collect();
        while let Some(ty) = pending.pop() {
            match ty {
                Type::Either(inner) => pending.extend(inner.iter().cloned()),
                Type::Nothing => {}
                Type::Dyn => return Type::Dyn,
                Type::Object(next) => {
                    object = Some(match object {
                        None => Object::clone(&next),
                        Some(merged) => merged.union(&next),
                    });
                }
                Type::String(values) => {
                    strings = Some(match (strings, values) {
                        (None, values) => values.map(|v| BTreeSet::clone(&v)),
                        (Some(Some(mut known)), Some(values)) => {
                            known.extend(values.iter().cloned());
                            Some(known)
                        }
                        _ => None,
                    });
                }
                Type::List(element) => {
                    match alternatives.iter_mut().find(|t| matches!(t, Type::List(_))) {
                        Some(Type::List(existing)) => {
                            *existing = Arc::new(Type::either([
                                Type::clone(existing),
                                Type::clone(&element),
                            ]));
                        }
                        _ => alternatives.push(Type::List(element)),
                    }
                }
                other => {
                    if !alternatives.contains(&other) {
                        alternatives.push(other);
                    }
                }
            }
        }
        if let Some(object) = object {
            alternatives.push(Type::Object(Arc::new(object)));
        }
        if let Some(values) = strings {
            alternatives.push(Type::String(values.map(Arc::new)));
        }
        alternatives.sort_by_key(Type::rank);
        match alternatives.len() {
            0 => Type::Nothing,
            1 => alternatives.remove(0),
            _ => Type::Either(alternatives.into()),
        }
    }

    /// The alternatives this type is one of (itself when it is one).
    pub fn alternatives(&self) -> &[Type] {
        match self {
            Type::Either(types) => types,
            other => std::slice::from_ref(other),
        }
    }

    /// Whether a value of this type may be anything at all.
    pub fn is_dyn(&self) -> bool {
        self.alternatives()
            .iter()
            .any(|t| matches!(t, Type::Dyn | Type::Nothing))
    }

    /// The order alternatives are listed in.
    fn rank(&self) -> u8 {
        match self {
            Type::Dyn | Type::Nothing => 0,
            Type::Bool => 1,
            Type::Int => 2,
            Type::UInt => 3,
            Type::Double => 4,
            Type::String(_) => 5,
            Type::List(_) => 6,
            Type::Map(_) => 7,
            Type::Object(_) => 8,
            Type::Type => 9,
            Type::Either(_) => 10,
            Type::Null => 11,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Dyn | Type::Nothing => f.write_str("any"),
            Type::Null => f.write_str("null"),
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::UInt => f.write_str("uint"),
            Type::Double => f.write_str("double"),
            Type::String(None) => f.write_str("string"),
            Type::String(Some(values)) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                write!(f, "string ({})", quoted.join(", "))
            }
            Type::List(element) => write!(f, "list of {element}"),
            Type::Map(value) => write!(f, "map of {value}"),
            Type::Object(_) => f.write_str("object"),
            Type::Type => f.write_str("type"),
            Type::Either(types) => {
                let names: Vec<String> = types.iter().map(Type::to_string).collect();
                f.write_str(&names.join(" or "))
            }
        }
    }
}

impl Object {
    /// The fields of either object: a field one lacks is not always there.
    fn union(mut self, other: &Object) -> Object {
        for (name, field) in &mut self.fields {
            if !other.fields.contains_key(name) {
                field.always = false;
            }
        }
        for (name, field) in &other.fields {
            match self.fields.get_mut(name) {
                Some(existing) => {
                    existing.value = Type::either([existing.value.clone(), field.value.clone()]);
                    existing.always &= field.always;
                    existing.derived |= field.derived;
                    if existing.meaning.is_none() {
                        existing.meaning.clone_from(&field.meaning);
                    }
                }
                None => {
                    self.fields.insert(
                        name.clone(),
                        Field {
                            always: false,
                            ..field.clone()
                        },
                    );
                }
            }
        }
        self
    }

    /// The fields of both objects (a struct and what is flattened into it).
    fn merge(mut self, other: Object) -> Object {
        for (name, field) in other.fields {
            self.fields.entry(name).or_insert(field);
        }
        self
    }

    /// Marks the fields at `paths` (dotted, from this object) and
    /// everything under them as derived by the analysis.
    pub fn mark_derived<'p>(mut self, paths: impl IntoIterator<Item = &'p str>) -> Object {
        for path in paths {
            self.mark(path);
        }
        self
    }

    fn mark(&mut self, path: &str) {
        let (name, rest) = match path.split_once('.') {
            Some((name, rest)) => (name, Some(rest)),
            None => (path, None),
        };
        let Some(field) = self.fields.get_mut(name) else {
            return;
        };
        match rest {
            None => field.derived = true,
            Some(rest) => {
                if let Type::Object(object) = &mut field.value {
                    Arc::make_mut(object).mark(rest);
                }
            }
        }
    }

    /// Every field at any depth, as a dotted path (`[]` for a list's
    /// elements, `{}` for a map's values), in order, with whether an
    /// enclosing field was derived.
    pub fn paths(&self) -> Vec<(String, &Field, bool)> {
        let mut out = Vec::new();
        self.walk("", false, &mut out);
        out
    }

    fn walk<'o>(&'o self, prefix: &str, derived: bool, out: &mut Vec<(String, &'o Field, bool)>) {
        for (name, field) in &self.fields {
            let path = format!("{prefix}{name}");
            let derived = derived || field.derived;
            out.push((path.clone(), field, derived));
            let mut inner = &field.value;
            let mut suffix = String::new();
            while let Some((marker, next)) = inner.alternatives().iter().find_map(|t| match t {
                Type::List(element) => Some(("[]", element)),
                Type::Map(value) => Some(("{}", value)),
                _ => None,
            }) {
                suffix.push_str(marker);
                inner = next;
            }
            if let Some(Type::Object(object)) = inner
                .alternatives()
                .iter()
                .find(|t| matches!(t, Type::Object(_)))
            {
                object.walk(&format!("{path}{suffix}."), derived, out);
            }
        }
    }
}

/// The object a serialised `T` is, as rules read it.
pub fn object_of<T: JsonSchema>() -> Object {
    let settings = SchemaSettings::draft2020_12().for_serialize();
    let root = settings.into_generator().into_root_schema_for::<T>();
    let definitions = root
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut reader = Reader {
        definitions: &definitions,
        resolving: Vec::new(),
    };
    match reader.read(root.as_value()) {
        Type::Object(object) => Object::clone(&object),
        _ => Object::default(),
    }
}

/// Reads a JSON Schema, as `schemars` writes one, into a [`Type`].
struct Reader<'d> {
    definitions: &'d Map<String, Value>,
    /// The definitions being read, so a recursive type ends as `Dyn`.
    resolving: Vec<&'d str>,
}

impl<'d> Reader<'d> {
    fn read(&mut self, schema: &'d Value) -> Type {
        let Some(schema) = schema.as_object() else {
            return Type::Dyn;
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            let Some(definition) = self.definitions.get(name) else {
                return Type::Dyn;
            };
            if self.resolving.contains(&name) {
                return Type::Dyn;
            }
            self.resolving.push(name);
            let resolved = self.read(definition);
            self.resolving.pop();
            return resolved;
        }
        let mut base = match schema.get("type") {
            Some(Value::String(name)) => self.read_named(name, schema),
            Some(Value::Array(names)) => Type::either(
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|name| self.read_named(name, schema)),
            ),
            _ if schema.contains_key("enum") || schema.contains_key("const") => constants(schema),
            _ if schema.contains_key("properties") => self.read_named("object", schema),
            _ => Type::Dyn,
        };
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                base = intersect(base, self.read(part));
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(variants) = schema.get(key).and_then(Value::as_array) {
                let variants = variants.iter().map(|variant| self.read(variant));
                let variants: Vec<Type> = variants.collect();
                base = match base {
                    Type::Dyn => Type::either(variants),
                    base => Type::either(
                        variants
                            .into_iter()
                            .map(|variant| intersect(base.clone(), variant)),
                    ),
                };
            }
        }
        base
    }

    fn read_named(&mut self, name: &str, schema: &'d Map<String, Value>) -> Type {
        match name {
            "null" => Type::Null,
            "boolean" => Type::Bool,
            "number" => Type::Double,
            "integer" => {
                let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
                if format.starts_with("uint") {
                    Type::UInt
                } else {
                    Type::Int
                }
            }
            "string" => match constants(schema) {
                Type::Dyn => Type::String(None),
                known => known,
            },
            "array" => Type::List(Arc::new(
                schema
                    .get("items")
                    .map_or(Type::Dyn, |items| self.read(items)),
            )),
            "object" => {
                let properties = schema.get("properties").and_then(Value::as_object);
                match (properties, schema.get("additionalProperties")) {
                    (None, Some(values)) if values.is_object() => {
                        Type::Map(Arc::new(self.read(values)))
                    }
                    (None, _) => Type::Map(Arc::new(Type::Dyn)),
                    (Some(properties), _) => {
                        let required: BTreeSet<&str> = schema
                            .get("required")
                            .and_then(Value::as_array)
                            .map(|names| names.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        let fields = properties
                            .iter()
                            .map(|(name, property)| {
                                let field = Field {
                                    value: self.read(property),
                                    always: required.contains(name.as_str()),
                                    derived: false,
                                    meaning: property
                                        .get("description")
                                        .and_then(Value::as_str)
                                        .map(str::to_owned),
                                };
                                (name.clone(), field)
                            })
                            .collect();
                        Type::Object(Arc::new(Object { fields }))
                    }
                }
            }
            _ => Type::Dyn,
        }
    }
}

/// The strings an `enum` or `const` allows; `Dyn` when it allows
/// something else too.
fn constants(schema: &Map<String, Value>) -> Type {
    let values: Vec<&Value> = match (schema.get("enum"), schema.get("const")) {
        (Some(Value::Array(values)), _) => values.iter().collect(),
        (_, Some(value)) => vec![value],
        _ => return Type::Dyn,
    };
    let strings: Option<BTreeSet<String>> = values
        .iter()
        .map(|value| value.as_str().map(str::to_owned))
        .collect();
    strings.map_or(Type::Dyn, |strings| Type::String(Some(Arc::new(strings))))
}

/// A value of both types: a struct with a flattened part, or with one of
/// an enum's variants.
fn intersect(a: Type, b: Type) -> Type {
    match (a, b) {
        (Type::Dyn, other) | (other, Type::Dyn) => other,
        (Type::Object(a), Type::Object(b)) => {
            Type::Object(Arc::new(Object::clone(&a).merge(Object::clone(&b))))
        }
        (Type::Object(a), Type::Either(variants)) | (Type::Either(variants), Type::Object(a)) => {
            Type::either(
                variants
                    .iter()
                    .map(|variant| intersect(Type::Object(a.clone()), variant.clone())),
            )
        }
        (a, _) => a,
    }
}

/// Where `value` departs from `ty`, as `path: problem`: a field the type
/// does not have, a value of another kind, a string outside its known
/// values, or, unless `partial`, a field that is always there missing.
pub fn mismatch(ty: &Type, value: &Node, partial: bool) -> Option<String> {
    mismatch_at(ty, value, partial, "resource")
}

fn mismatch_at(ty: &Type, value: &Node, partial: bool, path: &str) -> Option<String> {
    let mut problems = Vec::new();
    for alternative in ty.alternatives() {
        let problem = match (alternative, value) {
            (Type::Dyn | Type::Nothing, _)
            | (Type::Null, Node::Null)
            | (Type::Bool, Node::Bool(_))
            | (
                Type::Int | Type::UInt | Type::Double,
                Node::Int(_) | Node::UInt(_) | Node::Double(_),
            )
            | (Type::String(None), Node::String(_)) => return None,
            (Type::String(Some(values)), Node::String(text)) => {
                if values.contains(&**text) {
                    return None;
                }
                format!("{path}: \"{text}\" is not one of the values it takes ({alternative})")
            }
            (Type::List(element), Node::List(items)) => {
                items.iter().enumerate().find_map(|(index, item)| {
                    mismatch_at(element, item, partial, &format!("{path}[{index}]"))
                })?
            }
            (Type::Map(values), Node::Map(entries)) => entries.iter().find_map(|entry| {
                let key = match &entry.key {
                    Node::String(key) => key.to_string(),
                    _ => return Some(format!("{path}: a key that is not a string")),
                };
                mismatch_at(values, &entry.value, partial, &format!("{path}.{key}"))
            })?,
            (Type::Object(object), Node::Map(entries)) => {
                object_mismatch(object, entries, partial, path)?
            }
            _ => format!(
                "{path}: {} where the schema has {alternative}",
                kind_of(value)
            ),
        };
        problems.push(problem);
    }
    // The problem of the alternative that went deepest is the telling one.
    problems.into_iter().max_by_key(String::len)
}

fn object_mismatch(
    object: &Object,
    entries: &[super::data::Entry],
    partial: bool,
    path: &str,
) -> Option<String> {
    let mut seen = BTreeSet::new();
    for entry in entries {
        let Node::String(key) = &entry.key else {
            return Some(format!("{path}: a key that is not a string"));
        };
        let Some(field) = object.fields.get(&**key) else {
            let hint = closest(key, object.fields.keys().map(String::as_str))
                .map(|name| format!("; did you mean `{name}`?"))
                .unwrap_or_default();
            return Some(format!("`{path}` has no field `{key}`{hint}"));
        };
        seen.insert(&**key);
        if let Some(problem) = mismatch_at(
            &field.value,
            &entry.value,
            partial,
            &format!("{path}.{key}"),
        ) {
            return Some(problem);
        }
    }
    if partial {
        return None;
    }
    object
        .fields
        .iter()
        .find(|(name, field)| field.always && !seen.contains(name.as_str()))
        .map(|(name, _)| format!("{path}: `{name}` is missing, and the schema has it always"))
}

fn kind_of(value: &Node) -> &'static str {
    match value {
        Node::Null => "null",
        Node::Bool(_) => "a bool",
        Node::Int(_) => "an int",
        Node::UInt(_) => "a uint",
        Node::Double(_) => "a double",
        Node::String(_) => "a string",
        Node::List(_) => "a list",
        Node::Map(_) => "an object",
    }
}

/// The known name closest to a misspelt one, when one is close.
pub fn closest<'n>(wrong: &str, names: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    names
        .map(|name| (strsim::damerau_levenshtein(wrong, name), name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}
