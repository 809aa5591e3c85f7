//! What the compiled evaluator reads: a resource as a compact tree of
//! [`Node`]s, made by serialising it exactly as the interpreter's own
//! conversion does (`cel::to_value`), so both backends see the same
//! values: signed integers stay signed, unsigned stay unsigned, a unit
//! variant is its name, `None` is null and a later duplicate key wins.
//!
//! Unlike the interpreter's values it holds no reference counts and no hash
//! tables: a map is a slice of entries whose string keys carry a hash, so
//! a field read compares one integer per entry. Field and variant names
//! are borrowed from the types, not copied for every resource.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

use serde::Serialize;
use serde::ser::{self, Impossible};

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    String(Text),
    List(Box<[Node]>),
    Map(Box<[Entry]>),
}

/// A string: a field or variant name, which the type holds for as long
/// as the program runs, or a value, copied.
#[derive(Debug, Clone)]
pub enum Text {
    Name(&'static str),
    Value(Box<str>),
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Name(name) => name,
            Text::Value(value) => value,
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// [`key_hash`] of a string key, 0 for any other.
    pub hash: u64,
    pub key: Node,
    pub value: Node,
}

/// FNV-1a: keys are short and trusted to be few per map, and a field
/// name's hash is computed once, when the rule compiles.
pub fn key_hash(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash | 1
}

/// What rules read of a value, so that converting it leaves the rest out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Shape {
    /// Nothing of it: it is there (`has()`), or it is never read. Its
    /// value is left null.
    #[default]
    Unread,
    /// Only its length, when it is a list: the elements are left null.
    Size,
    /// These fields of an object, each read as its shape; the others are
    /// left out.
    Fields(BTreeMap<Box<str>, Shape>),
    /// Every element of a list, each read as the shape.
    Elements(Box<Shape>),
    /// All of it.
    Whole,
}

static WHOLE: Shape = Shape::Whole;

impl Shape {
    /// What either of two readers reads.
    pub fn join(&mut self, other: Shape) {
        *self = match (std::mem::take(self), other) {
            (Shape::Whole, _) | (_, Shape::Whole) => Shape::Whole,
            (Shape::Unread, shape) | (shape, Shape::Unread) => shape,
            (Shape::Size, Shape::Size) => Shape::Size,
            (Shape::Size, Shape::Elements(each)) | (Shape::Elements(each), Shape::Size) => {
                Shape::Elements(each)
            }
            (Shape::Elements(mut each), Shape::Elements(other)) => {
                each.join(*other);
                Shape::Elements(each)
            }
            (Shape::Fields(mut fields), Shape::Fields(other)) => {
                for (name, shape) in other {
                    fields.entry(name).or_default().join(shape);
                }
                Shape::Fields(fields)
            }
            // Read as an object and as a list, or the size of an object:
            // all of it.
            _ => Shape::Whole,
        }
    }
}

impl Node {
    /// `value` as the interpreter would see it.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Node> {
        value.serialize(NodeSerializer { shape: &WHOLE })
    }

    /// Like [`Node::of`], with only what `shape` reads; where the value is
    /// not what the shape expects (a map read as a list), all of it.
    pub fn with_shape<T: Serialize + ?Sized>(value: &T, shape: &Shape) -> Result<Node> {
        value.serialize(NodeSerializer { shape })
    }

    /// The entry for a string key; the last one when a key repeats, as
    /// the interpreter keeps the last.
    pub fn field<'a>(entries: &'a [Entry], name: &str, hash: u64) -> Option<&'a Node> {
        entries
            .iter()
            .rev()
            .find(|entry| {
                entry.hash == hash && matches!(&entry.key, Node::String(key) if &**key == name)
            })
            .map(|entry| &entry.value)
    }
}

/// A value the interpreter could not hold either: a map key that is not a
/// string, number or boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionError(String);

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConversionError {}

impl ser::Error for ConversionError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ConversionError(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, ConversionError>;

/// `shape` says what of the value being serialised to convert.
#[derive(Clone, Copy)]
struct NodeSerializer<'k> {
    shape: &'k Shape,
}

/// Elements of a list, tuple or variant's fields; `variant` wraps them
/// as `{variant: [...]}` the way the interpreter does.
struct SeqBuilder<'k> {
    items: Vec<Node>,
    variant: Option<&'static str>,
    /// How each element is read; `None` when only their number is.
    element: Option<&'k Shape>,
}

struct MapBuilder<'k> {
    entries: Vec<Entry>,
    next_key: Option<Node>,
    variant: Option<&'static str>,
    shape: &'k Shape,
}

fn entry(key: Node, value: Node) -> Entry {
    let hash = match &key {
        Node::String(text) => key_hash(text),
        _ => 0,
    };
    Entry { hash, key, value }
}

fn wrap(variant: Option<&'static str>, node: Node) -> Node {
    match variant {
        Some(name) => Node::Map(Box::new([entry(Node::String(Text::Name(name)), node)])),
        None => node,
    }
}

impl<'k> ser::Serializer for NodeSerializer<'k> {
    type Ok = Node;
    type Error = ConversionError;
    type SerializeSeq = SeqBuilder<'k>;
    type SerializeTuple = SeqBuilder<'k>;
    type SerializeTupleStruct = SeqBuilder<'k>;
    type SerializeTupleVariant = SeqBuilder<'k>;
    type SerializeMap = MapBuilder<'k>;
    type SerializeStruct = MapBuilder<'k>;
    type SerializeStructVariant = MapBuilder<'k>;

    fn serialize_bool(self, v: bool) -> Result<Node> {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Node> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Node> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Node> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Node> {
        Ok(Node::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Node> {
        Ok(Node::UInt(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Node> {
        Ok(Node::UInt(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Node> {
        Ok(Node::UInt(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Node> {
        Ok(Node::UInt(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Node> {
        Ok(Node::Double(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Node> {
        Ok(Node::Double(v))
    }
    fn serialize_char(self, v: char) -> Result<Node> {
        Ok(Node::String(Text::Value(v.to_string().into())))
    }
    fn serialize_str(self, v: &str) -> Result<Node> {
        Ok(Node::String(Text::Value(v.into())))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Node> {
        Err(ConversionError(
            "bytes are not read by the compiled evaluator".to_owned(),
        ))
    }
    fn serialize_none(self) -> Result<Node> {
        Ok(Node::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node> {
        Ok(Node::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node> {
        Ok(Node::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Node> {
        Ok(Node::String(Text::Name(variant)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Node> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node> {
        // The variant's content is nested under its name; it is converted
        // whole rather than following the shape through the name.
        Ok(wrap(Some(variant), Node::of(value)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder<'k>> {
        let element = match self.shape {
            Shape::Unread | Shape::Size => None,
            Shape::Elements(each) => Some(&**each),
            Shape::Fields(_) | Shape::Whole => Some(&WHOLE),
        };
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
            element,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder<'k>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder<'k>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder<'k>> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len),
            variant: Some(variant),
            element: Some(&WHOLE),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder<'k>> {
        Ok(MapBuilder {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            next_key: None,
            variant: None,
            shape: self.shape,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder<'k>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapBuilder<'k>> {
        Ok(MapBuilder {
            entries: Vec::with_capacity(len),
            next_key: None,
            variant: Some(variant),
            shape: &WHOLE,
        })
    }
}

impl SeqBuilder<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(match self.element {
            Some(shape) => Node::with_shape(value, shape)?,
            None => Node::Null,
        });
        Ok(())
    }
    fn finish(self) -> Node {
        wrap(self.variant, Node::List(self.items.into_boxed_slice()))
    }
}

/// serde's four sequence traits differ only in their names: each pushes an
/// element and ends the list.
macro_rules! sequence {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for SeqBuilder<'_> {
            type Ok = Node;
            type Error = ConversionError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
                self.push(value)
            }
            fn end(self) -> Result<Node> {
                Ok(self.finish())
            }
        }
    )*};
}

sequence!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl MapBuilder<'_> {
    fn insert<T: Serialize + ?Sized>(&mut self, key: Node, value: &T) -> Result<()> {
        let shape = match (&key, self.shape) {
            (Node::String(name), Shape::Fields(fields)) => fields.get(&**name),
            (_, Shape::Unread) => None,
            _ => Some(&WHOLE),
        };
        let value = match shape {
            // A field only tested for: its value is never read.
            Some(Shape::Unread) => Node::Null,
            Some(shape) => Node::with_shape(value, shape)?,
            None => return Ok(()),
        };
        self.entries.push(entry(key, value));
        Ok(())
    }
    fn finish(self) -> Node {
        wrap(self.variant, Node::Map(self.entries.into_boxed_slice()))
    }
}

impl ser::SerializeMap for MapBuilder<'_> {
    type Ok = Node;
    type Error = ConversionError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.next_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .next_key
            .take()
            .ok_or_else(|| ConversionError("a map value came without its key".to_owned()))?;
        self.insert(key, value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for MapBuilder<'_> {
    type Ok = Node;
    type Error = ConversionError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.insert(Node::String(Text::Name(key)), value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for MapBuilder<'_> {
    type Ok = Node;
    type Error = ConversionError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.insert(Node::String(Text::Name(key)), value)
    }
    fn end(self) -> Result<Node> {
        Ok(self.finish())
    }
}

/// Map keys: the scalars CEL allows as keys.
struct KeySerializer;

fn bad_key() -> ConversionError {
    ConversionError("a map key must be a string, integer or boolean".to_owned())
}

impl ser::Serializer for KeySerializer {
    type Ok = Node;
    type Error = ConversionError;
    type SerializeSeq = Impossible<Node, ConversionError>;
    type SerializeTuple = Impossible<Node, ConversionError>;
    type SerializeTupleStruct = Impossible<Node, ConversionError>;
    type SerializeTupleVariant = Impossible<Node, ConversionError>;
    type SerializeMap = Impossible<Node, ConversionError>;
    type SerializeStruct = Impossible<Node, ConversionError>;
    type SerializeStructVariant = Impossible<Node, ConversionError>;

    fn serialize_bool(self, v: bool) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_i64(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_u64(v)
    }
    fn serialize_f32(self, _: f32) -> Result<Node> {
        Err(bad_key())
    }
    fn serialize_f64(self, _: f64) -> Result<Node> {
        Err(bad_key())
    }
    fn serialize_char(self, v: char) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<Node> {
        NodeSerializer { shape: &WHOLE }.serialize_str(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Node> {
        Err(bad_key())
    }
    fn serialize_none(self) -> Result<Node> {
        Err(bad_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node> {
        Err(bad_key())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node> {
        Err(bad_key())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Node> {
        Ok(Node::String(Text::Name(variant)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Node> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Node> {
        Err(bad_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(bad_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(bad_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(bad_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(bad_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(bad_key())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(bad_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(bad_key())
    }
}
