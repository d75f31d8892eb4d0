//! gNMI `TypedValue` ↔ JSON, and the `PATH=VALUE` arguments of `tetherctl set`.

use serde_json::Value;
use tether_proto::gnmi::{TypedValue, typed_value};

/// Which JSON member of `TypedValue` to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonEncoding {
    JsonIetf,
    Json,
}

/// JSON in the requested encoding.
pub fn to_typed(value: &Value, encoding: JsonEncoding) -> TypedValue {
    let bytes = value.to_string().into_bytes();
    TypedValue {
        value: Some(match encoding {
            JsonEncoding::JsonIetf => typed_value::Value::JsonIetfVal(bytes),
            JsonEncoding::Json => typed_value::Value::JsonVal(bytes),
        }),
    }
}

/// A received value as JSON (scalars as JSON scalars; JSON members parsed).
pub fn to_json(value: Option<&TypedValue>) -> Value {
    use typed_value::Value as V;
    let Some(v) = value.and_then(|v| v.value.as_ref()) else {
        return Value::Null;
    };
    match v {
        V::JsonVal(b) | V::JsonIetfVal(b) => serde_json::from_slice(b)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
        V::StringVal(s) | V::AsciiVal(s) => Value::String(s.clone()),
        V::IntVal(i) => Value::from(*i),
        V::UintVal(u) => Value::from(*u),
        V::BoolVal(b) => Value::Bool(*b),
        V::DoubleVal(d) => serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number),
        #[allow(deprecated)]
        V::FloatVal(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number)
        }
        V::LeaflistVal(l) => Value::Array(l.element.iter().map(|e| to_json(Some(e))).collect()),
        V::BytesVal(b) | V::ProtoBytes(b) => Value::String(format!("<{} bytes>", b.len())),
        #[allow(deprecated)]
        V::DecimalVal(d) => Value::String(format!("{}e-{}", d.digits, d.precision)),
        V::AnyVal(a) => Value::String(format!("<{}>", a.type_url)),
    }
}

/// Splits `PATH=VALUE` at the first `=` outside `[...]` (key values contain `=`).
pub fn split_assignment(arg: &str) -> Result<(&str, &str), String> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in arg.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '=' if depth == 0 => return Ok((&arg[..i], &arg[i + 1..])),
            _ => {}
        }
    }
    Err(format!(
        "{arg:?} is not PATH=VALUE (e.g. /link-state/groups/group[id=1]/config/description=uplinks)"
    ))
}

/// The value of a `set` argument: `@FILE` is read as JSON; text that parses as JSON is JSON
/// (`true`, `900`, `{"id": 1}`); anything else is a string (`TOR uplinks`).
pub fn parse_value(
    text: &str,
    read_file: impl Fn(&str) -> Result<String, String>,
) -> Result<Value, String> {
    if let Some(file) = text.strip_prefix('@') {
        let body = read_file(file)?;
        return serde_json::from_str(&body).map_err(|e| format!("{file}: not JSON: {e}"));
    }
    Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;
    use tether_proto::gnmi::ScalarArray;

    use super::*;

    #[test]
    fn splits_at_the_first_equals_outside_keys() {
        assert_eq!(
            split_assignment("/a/group[id=1]/config/description=x=y").unwrap(),
            ("/a/group[id=1]/config/description", "x=y")
        );
        assert_eq!(split_assignment("/a=").unwrap(), ("/a", ""));
        assert!(split_assignment("/a/group[id=1]").is_err());
    }

    #[test]
    fn values_are_json_strings_or_files() {
        let no_file = |_: &str| -> Result<String, String> { Err("no files".into()) };
        assert_eq!(parse_value("true", no_file).unwrap(), json!(true));
        assert_eq!(parse_value("900", no_file).unwrap(), json!(900));
        assert_eq!(
            parse_value("{\"id\": 1}", no_file).unwrap(),
            json!({"id": 1})
        );
        assert_eq!(
            parse_value("TOR uplinks", no_file).unwrap(),
            json!("TOR uplinks")
        );
        let file = |f: &str| -> Result<String, String> {
            assert_eq!(f, "g.json");
            Ok("{\"id\": 2}".into())
        };
        assert_eq!(parse_value("@g.json", file).unwrap(), json!({"id": 2}));
        let bad = |_: &str| -> Result<String, String> { Ok("{".into()) };
        assert!(parse_value("@x", bad).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn typed_values_round_trip() {
        let v = json!({"id": 1, "description": "x"});
        assert_eq!(to_json(Some(&to_typed(&v, JsonEncoding::JsonIetf))), v);
        assert_eq!(to_json(Some(&to_typed(&v, JsonEncoding::Json))), v);
        let scalar = |v: typed_value::Value| TypedValue { value: Some(v) };
        assert_eq!(
            to_json(Some(&scalar(typed_value::Value::UintVal(7)))),
            json!(7)
        );
        assert_eq!(
            to_json(Some(&scalar(typed_value::Value::StringVal("up".into())))),
            json!("up")
        );
        assert_eq!(
            to_json(Some(&scalar(typed_value::Value::LeaflistVal(
                ScalarArray {
                    element: vec![scalar(typed_value::Value::BoolVal(true))]
                }
            )))),
            json!([true])
        );
        assert_eq!(to_json(None), Value::Null);
    }
}
