//! Reading a request out of parsed JSON with serde, where what went wrong comes back as data
//! (`ShapeError::MissingField("amount")`), not as serde_json's English sentence, so the
//! refusal a client reads is written here and no dependency upgrade can change which field it
//! names.
//!
//! `ValueReader` is a serde `Deserializer` over a `serde_json::Value` whose error type is
//! `ShapeError`: serde's derived code reports each problem through the typed methods of
//! `serde::de::Error` (`missing_field`, `invalid_type`, …), which keep their parts.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

/// What a value found in the JSON was, in owned form (serde's `Unexpected` borrows).
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    Text(String),
    Number(String),
    Bool(bool),
    Null,
    Object,
    List,
    Other(String),
}

impl From<Unexpected<'_>> for Found {
    fn from(unexpected: Unexpected<'_>) -> Self {
        match unexpected {
            Unexpected::Str(text) => Found::Text(text.to_string()),
            Unexpected::Char(c) => Found::Text(c.to_string()),
            Unexpected::Unsigned(n) => Found::Number(n.to_string()),
            Unexpected::Signed(n) => Found::Number(n.to_string()),
            Unexpected::Float(n) => Found::Number(n.to_string()),
            Unexpected::Bool(b) => Found::Bool(b),
            Unexpected::Unit | Unexpected::Option => Found::Null,
            Unexpected::Map => Found::Object,
            Unexpected::Seq => Found::List,
            other => Found::Other(other.to_string()),
        }
    }
}

/// Why a JSON value isn't the request it should be.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeError {
    MissingField(&'static str),
    UnknownField {
        name: String,
        known: &'static [&'static str],
    },
    /// A value of the wrong type, or of the right type but not one the field takes.
    Wrong(Found),
    UnknownVariant(String),
    /// A message of this crate's own (a field's custom reading).
    Custom(String),
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ShapeError {}

impl de::Error for ShapeError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        ShapeError::Custom(message.to_string())
    }
    fn invalid_type(found: Unexpected<'_>, _: &dyn de::Expected) -> Self {
        ShapeError::Wrong(found.into())
    }
    fn invalid_value(found: Unexpected<'_>, _: &dyn de::Expected) -> Self {
        ShapeError::Wrong(found.into())
    }
    fn unknown_variant(variant: &str, _: &'static [&'static str]) -> Self {
        ShapeError::UnknownVariant(variant.to_string())
    }
    fn unknown_field(name: &str, known: &'static [&'static str]) -> Self {
        ShapeError::UnknownField {
            name: name.to_string(),
            known,
        }
    }
    fn missing_field(name: &'static str) -> Self {
        ShapeError::MissingField(name)
    }
}

/// A serde `Deserializer` over one borrowed JSON value.
#[derive(Clone, Copy)]
pub struct ValueReader<'de>(pub &'de Value);

impl<'de> IntoDeserializer<'de, ShapeError> for ValueReader<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl ValueReader<'_> {
    fn found(&self) -> Unexpected<'_> {
        match self.0 {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Unexpected::Unsigned(u),
                (None, Some(i)) => Unexpected::Signed(i),
                _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(text) => Unexpected::Str(text),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueReader<'de> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, Some(f)) => visitor.visit_f64(f),
                _ => Err(de::Error::invalid_type(self.found(), &visitor)),
            },
            Value::String(text) => visitor.visit_borrowed_str(text),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(ValueReader));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(fields) => {
                let mut map =
                    MapDeserializer::new(fields.iter().map(|(k, v)| (k.as_str(), ValueReader(v))));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// A request is an object; serde would also read a struct from a list, by position, which
    /// no client means.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            _ => Err(de::Error::invalid_type(self.found(), &visitor)),
        }
    }

    /// Enums in requests are names ("digital").
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::String(name) => visitor.visit_enum(
                IntoDeserializer::<ShapeError>::into_deserializer(name.as_str()),
            ),
            _ => Err(de::Error::invalid_type(self.found(), &visitor)),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        amount: String,
        #[serde(default)]
        quantity: Option<i64>,
    }

    fn read(json: &str) -> Result<Sample, ShapeError> {
        let value: Value = serde_json::from_str(json).unwrap();
        Sample::deserialize(ValueReader(&value))
    }

    #[test]
    fn each_problem_comes_back_as_data() {
        assert_eq!(read("{}").unwrap_err(), ShapeError::MissingField("amount"));
        assert_eq!(
            read(r#"{"amount":"1","x":1}"#).unwrap_err(),
            ShapeError::UnknownField {
                name: "x".into(),
                known: &["amount", "quantity"]
            }
        );
        assert_eq!(
            read(r#"{"amount":5}"#).unwrap_err(),
            ShapeError::Wrong(Found::Number("5".into()))
        );
        assert_eq!(
            read(r#"{"amount":"1","quantity":"2"}"#).unwrap_err(),
            ShapeError::Wrong(Found::Text("2".into()))
        );
        assert_eq!(
            read(r#"["1"]"#).unwrap_err(),
            ShapeError::Wrong(Found::List)
        );
        assert!(read(r#"{"amount":"1","quantity":null}"#).is_ok());
    }
}
