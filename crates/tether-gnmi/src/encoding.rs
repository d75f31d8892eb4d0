//! Value encodings: which `Encoding`s Tether speaks, decoding the `TypedValue` of a Set into
//! RFC 7951 JSON for the edit engine, and wrapping JSON into a `TypedValue` for responses.

use serde_json::Value;
use tether_proto::gnmi::{Encoding, TypedValue, typed_value};

use crate::error::GnmiError;

/// The encodings Tether produces: `JsonIetf` (RFC 7951 text in `json_ietf_val`), `Json`
/// (the same with 64-bit integers as numbers, in `json_val`) and `Proto` (one scalar
/// `TypedValue` per leaf). How each leaf is written: `output.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireEncoding {
    Json,
    JsonIetf,
    Proto,
}

impl WireEncoding {
    /// The encoding a request asks for. Known but unsupported encodings are
    /// `UNIMPLEMENTED` (spec 3.3.1, 3.5.1.2); values outside the enum are
    /// `INVALID_ARGUMENT`.
    pub fn from_request(encoding: i32) -> Result<Self, GnmiError> {
        match Encoding::try_from(encoding) {
            Ok(Encoding::Json) => Ok(WireEncoding::Json),
            Ok(Encoding::JsonIetf) => Ok(WireEncoding::JsonIetf),
            Ok(Encoding::Proto) => Ok(WireEncoding::Proto),
            Ok(other) => Err(GnmiError::Unimplemented(format!(
                "encoding {} is not supported; use JSON, JSON_IETF or PROTO",
                other.as_str_name()
            ))),
            Err(_) => Err(GnmiError::invalid(format!("unknown encoding {encoding}"))),
        }
    }

    /// Whether values are sent one leaf at a time (PROTO has no subtrees).
    pub fn per_leaf(self) -> bool {
        self == WireEncoding::Proto
    }

    /// Wraps JSON text in the `TypedValue` member of this encoding. PROTO values are made
    /// leaf by leaf (`output::leaf`); a JSON document asked for in PROTO, which no read
    /// does, would be sent as its text in `string_val`.
    pub fn typed(self, json: &Value) -> TypedValue {
        let bytes = json.to_string().into_bytes();
        let value = match self {
            WireEncoding::Json => typed_value::Value::JsonVal(bytes),
            WireEncoding::JsonIetf => typed_value::Value::JsonIetfVal(bytes),
            WireEncoding::Proto => typed_value::Value::StringVal(json.to_string()),
        };
        TypedValue { value: Some(value) }
    }
}

/// The JSON value a Set's `TypedValue` carries.
///
/// JSON members are parsed as JSON; text that does not look like a JSON document (pygnmi
/// sends a plain string value without quotes) is taken as a JSON string, and the edit
/// engine coerces it to the leaf's type or rejects it. Text that starts like a JSON
/// object, array or string must parse.
pub fn decode(value: Option<&TypedValue>, at: &str) -> Result<Value, GnmiError> {
    use typed_value::Value as V;
    let Some(v) = value.and_then(|v| v.value.as_ref()) else {
        return Err(GnmiError::invalid(format!("{at}: no value given")));
    };
    Ok(match v {
        V::JsonVal(b) | V::JsonIetfVal(b) => json_bytes(b, at)?,
        V::StringVal(s) | V::AsciiVal(s) => Value::String(s.clone()),
        V::IntVal(i) => Value::from(*i),
        V::UintVal(u) => Value::from(*u),
        V::BoolVal(b) => Value::Bool(*b),
        V::DoubleVal(d) => number(*d, at)?,
        #[allow(deprecated)]
        V::FloatVal(f) => number(f64::from(*f), at)?,
        #[allow(deprecated)]
        V::DecimalVal(d) => {
            let text = decimal_text(d.digits, d.precision);
            Value::String(text)
        }
        V::LeaflistVal(a) => Value::Array(
            a.element
                .iter()
                .map(|e| decode(Some(e), at))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        V::BytesVal(_) | V::AnyVal(_) | V::ProtoBytes(_) => {
            return Err(GnmiError::Unimplemented(format!(
                "{at}: only JSON, JSON_IETF and scalar values are supported"
            )));
        }
    })
}

fn json_bytes(b: &[u8], at: &str) -> Result<Value, GnmiError> {
    let text = std::str::from_utf8(b)
        .map_err(|_| GnmiError::invalid(format!("{at}: value is not UTF-8")))?;
    let trimmed = text.trim();
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v) => Ok(v),
        Err(e) if trimmed.starts_with(['{', '[', '"']) || trimmed.is_empty() => Err(
            GnmiError::invalid(format!("{at}: malformed JSON value: {e}")),
        ),
        // A bare scalar such as Po11 or 198.18.1.0/24.
        Err(_) => Ok(Value::String(text.to_string())),
    }
}

fn number(d: f64, at: &str) -> Result<Value, GnmiError> {
    serde_json::Number::from_f64(d)
        .map(Value::Number)
        .ok_or_else(|| GnmiError::invalid(format!("{at}: {d} is not a finite number")))
}

pub(crate) fn decimal_text(digits: i64, precision: u32) -> String {
    if precision == 0 {
        return digits.to_string();
    }
    let neg = digits < 0;
    let s = digits.unsigned_abs().to_string();
    let p = precision as usize;
    let s = if s.len() <= p {
        format!("{}{s}", "0".repeat(p + 1 - s.len()))
    } else {
        s
    };
    let (int, frac) = s.split_at(s.len() - p);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(b: &str) -> Option<TypedValue> {
        Some(TypedValue {
            value: Some(typed_value::Value::JsonIetfVal(b.as_bytes().to_vec())),
        })
    }

    #[test]
    fn json_values_and_bare_strings() {
        let cases: &[(&str, Option<Value>)] = &[
            ("true", Some(Value::Bool(true))),
            ("900", Some(Value::from(900))),
            ("\"Po11\"", Some(Value::from("Po11"))),
            ("Po11", Some(Value::from("Po11"))),
            ("198.18.1.0/24", Some(Value::from("198.18.1.0/24"))),
            (
                "{\"enabled\": true}",
                Some(serde_json::json!({"enabled": true})),
            ),
            ("{\"enabled\": tru", None),
            ("[1,", None),
            ("\"open", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = decode(json(text).as_ref(), "/x").ok();
            assert_eq!(&got, want, "{text}");
        }
    }

    #[test]
    fn scalars() {
        let tv = |v| Some(TypedValue { value: Some(v) });
        assert_eq!(
            decode(tv(typed_value::Value::UintVal(7)).as_ref(), "/x").unwrap(),
            Value::from(7u64)
        );
        assert_eq!(
            decode(tv(typed_value::Value::StringVal("a".into())).as_ref(), "/x").unwrap(),
            Value::from("a")
        );
        assert!(decode(None, "/x").is_err());
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(12345, 2), "123.45");
    }

    #[test]
    fn encodings() {
        assert_eq!(WireEncoding::from_request(0).unwrap(), WireEncoding::Json);
        assert_eq!(
            WireEncoding::from_request(4).unwrap(),
            WireEncoding::JsonIetf
        );
        assert_eq!(WireEncoding::from_request(2).unwrap(), WireEncoding::Proto);
        assert_eq!(
            WireEncoding::from_request(1).unwrap_err().code(),
            tonic::Code::Unimplemented
        );
        assert_eq!(
            WireEncoding::from_request(99).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }
}
