//! PROTO values of a Set: scalar `TypedValue`s (gNMI specification §2.2.3) turned into the
//! RFC 7951 JSON the edit engine takes, by the type of the leaf they are for.
//!
//! The scalar kind must fit the leaf's YANG base type (taken from the compiled schema):
//! `int_val`/`uint_val` for integers (64-bit ones become RFC 7951 strings), `bool_val` for
//! booleans (and `true` for `empty`), `string_val`/`ascii_val` for strings, enumerations,
//! identityrefs, bits, binary (base64) and instance-identifiers, `double_val` (or the
//! deprecated `decimal_val`/`float_val`) for decimal64, `leaflist_val` for a leaf-list.
//! Anything else is INVALID_ARGUMENT naming the path and both types (§3.4.7). For a union
//! the value goes in its natural JSON form and libyang picks the member.

use serde_json::Value;
use tether_model::Schema;
use tether_proto::gnmi::{TypedValue, typed_value::Value as V};
use yang3::schema::{DataValueType as T, SchemaNodeKind};

use crate::error::GnmiError;

/// The RFC 7951 JSON of a scalar value for the node at `data_path`, or `None` when `value`
/// is not a scalar (JSON, JSON_IETF and the rest are decoded by `encoding::decode`). `at`
/// names the path in errors.
pub(crate) fn decode(
    schema: &'static Schema,
    data_path: &str,
    value: &TypedValue,
    at: &str,
) -> Result<Option<Value>, GnmiError> {
    let Some(v) = value.value.as_ref() else {
        return Ok(None);
    };
    if !is_scalar(v) {
        return Ok(None);
    }
    let schema_path = tether_syntax::data_path::schema_path(data_path);
    let node = match schema.context().find_path(&schema_path) {
        Ok(n) => n,
        Err(_) => {
            schema.clear_errors();
            return Err(GnmiError::invalid(format!(
                "{at}: a scalar value ({}) is only for a leaf or leaf-list",
                kind_name(v)
            )));
        }
    };
    let leaf_list = match node.kind() {
        SchemaNodeKind::Leaf => false,
        SchemaNodeKind::LeafList => true,
        _ => {
            return Err(GnmiError::invalid(format!(
                "{at}: a scalar value ({}) is only for a leaf or leaf-list, not a {:?}",
                kind_name(v),
                node.kind()
            )));
        }
    };
    let Some(t) = node.leaf_type() else {
        return Err(GnmiError::Internal(format!("{at}: the leaf has no type")));
    };
    let base = match t.base_type() {
        T::LeafRef => t.leafref_real_type().map_or(T::Unknown, |r| r.base_type()),
        b => b,
    };
    match v {
        V::LeaflistVal(list) if leaf_list => list
            .element
            .iter()
            .map(|e| match e.value.as_ref() {
                Some(e) if is_scalar(e) && !matches!(e, V::LeaflistVal(_)) => scalar(base, e, at),
                Some(e) => Err(GnmiError::invalid(format!(
                    "{at}: a leaf-list element must be a scalar, not {}",
                    kind_name(e)
                ))),
                None => Err(GnmiError::invalid(format!("{at}: empty leaf-list element"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|a| Some(Value::Array(a))),
        V::LeaflistVal(_) => Err(GnmiError::invalid(format!(
            "{at}: leaflist_val is only for a leaf-list"
        ))),
        v if leaf_list => Ok(Some(Value::Array(vec![scalar(base, v, at)?]))),
        v => scalar(base, v, at).map(Some),
    }
}

#[allow(deprecated)]
fn is_scalar(v: &V) -> bool {
    matches!(
        v,
        V::StringVal(_)
            | V::AsciiVal(_)
            | V::IntVal(_)
            | V::UintVal(_)
            | V::BoolVal(_)
            | V::DoubleVal(_)
            | V::FloatVal(_)
            | V::DecimalVal(_)
            | V::LeaflistVal(_)
    )
}

#[allow(deprecated)]
fn kind_name(v: &V) -> &'static str {
    match v {
        V::StringVal(_) => "string_val",
        V::AsciiVal(_) => "ascii_val",
        V::IntVal(_) => "int_val",
        V::UintVal(_) => "uint_val",
        V::BoolVal(_) => "bool_val",
        V::DoubleVal(_) => "double_val",
        V::FloatVal(_) => "float_val",
        V::DecimalVal(_) => "decimal_val",
        V::LeaflistVal(_) => "leaflist_val",
        V::BytesVal(_) => "bytes_val",
        V::AnyVal(_) => "any_val",
        V::JsonVal(_) => "json_val",
        V::JsonIetfVal(_) => "json_ietf_val",
        V::ProtoBytes(_) => "proto_bytes",
    }
}

/// One scalar for a leaf of base type `base`.
#[allow(deprecated)]
fn scalar(base: T, v: &V, at: &str) -> Result<Value, GnmiError> {
    let int = |i: i128| -> Value {
        match base {
            // RFC 7951 §6.1: 64-bit integers are JSON strings.
            T::Int64 | T::Uint64 => Value::String(i.to_string()),
            _ => serde_json::Number::from_i128(i).map_or(Value::Null, Value::Number),
        }
    };
    let out = match (base, v) {
        (
            T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Uint8 | T::Uint16 | T::Uint32 | T::Uint64,
            V::IntVal(i),
        ) => Some(int(i128::from(*i))),
        (
            T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Uint8 | T::Uint16 | T::Uint32 | T::Uint64,
            V::UintVal(u),
        ) => Some(int(i128::from(*u))),
        (T::Bool, V::BoolVal(b)) => Some(Value::Bool(*b)),
        (T::Empty, V::BoolVal(true)) => Some(serde_json::json!([null])),
        (T::Dec64, V::DoubleVal(d)) if d.is_finite() => Some(Value::String(d.to_string())),
        (T::Dec64, V::FloatVal(f)) if f.is_finite() => Some(Value::String(f.to_string())),
        (T::Dec64, V::DecimalVal(d)) => Some(Value::String(crate::encoding::decimal_text(
            d.digits,
            d.precision,
        ))),
        (T::Dec64, V::IntVal(i)) => Some(Value::String(i.to_string())),
        (T::Dec64, V::UintVal(u)) => Some(Value::String(u.to_string())),
        (
            T::String | T::Enum | T::Bits | T::Binary | T::IdentityRef | T::InstanceId,
            V::StringVal(s) | V::AsciiVal(s),
        ) => Some(Value::String(s.clone())),
        // A union: the natural JSON form; libyang picks the member that takes it.
        (T::Union, V::StringVal(s) | V::AsciiVal(s)) => Some(Value::String(s.clone())),
        (T::Union, V::IntVal(i)) => Some(Value::from(*i)),
        (T::Union, V::UintVal(u)) => Some(Value::from(*u)),
        (T::Union, V::BoolVal(b)) => Some(Value::Bool(*b)),
        (T::Union, V::DoubleVal(d)) if d.is_finite() => Some(Value::String(d.to_string())),
        _ => None,
    };
    out.ok_or_else(|| {
        GnmiError::invalid(format!(
            "{at}: {} does not fit the leaf's type ({})",
            kind_name(v),
            type_name(base)
        ))
    })
}

fn type_name(t: T) -> &'static str {
    match t {
        T::Binary => "binary",
        T::Uint8 => "uint8",
        T::Uint16 => "uint16",
        T::Uint32 => "uint32",
        T::Uint64 => "uint64",
        T::String => "string",
        T::Bits => "bits",
        T::Bool => "boolean",
        T::Dec64 => "decimal64",
        T::Empty => "empty",
        T::Enum => "enumeration",
        T::IdentityRef => "identityref",
        T::InstanceId => "instance-identifier",
        T::LeafRef => "leafref",
        T::Union => "union",
        T::Int8 => "int8",
        T::Int16 => "int16",
        T::Int32 => "int32",
        T::Int64 => "int64",
        T::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::SchemaOptions;

    fn schema() -> &'static Schema {
        static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
        S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).unwrap())
    }

    const G: &str = "/tether-link-state:link-state/groups/group[id='1']";

    fn tv(v: V) -> TypedValue {
        TypedValue { value: Some(v) }
    }

    #[test]
    fn scalars_by_leaf_type() {
        let ok = |leaf: &str, v: V| {
            decode(schema(), &format!("{G}/{leaf}"), &tv(v), leaf)
                .unwrap()
                .unwrap()
        };
        assert_eq!(ok("config/min-upstream-up", V::UintVal(2)), Value::from(2));
        assert_eq!(ok("config/min-upstream-up", V::IntVal(2)), Value::from(2));
        assert_eq!(ok("config/enabled", V::BoolVal(false)), Value::Bool(false));
        assert_eq!(
            ok("config/description", V::StringVal("x".into())),
            Value::from("x")
        );
        // A leafref key: the target's type.
        assert_eq!(ok("id", V::UintVal(1)), Value::from(1));
        let bad = |leaf: &str, v: V| {
            let e = decode(schema(), &format!("{G}/{leaf}"), &tv(v), leaf).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
            assert!(e.to_string().starts_with(leaf), "{e}");
            e.to_string()
        };
        assert!(bad("config/enabled", V::UintVal(1)).contains("boolean"));
        assert!(bad("config/min-upstream-up", V::StringVal("2".into())).contains("uint"));
        bad("config", V::UintVal(1));
        // JSON is not ours to decode.
        assert_eq!(
            decode(
                schema(),
                &format!("{G}/config"),
                &tv(V::JsonVal(b"{}".to_vec())),
                "x"
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn sixty_four_bit_integers_become_rfc7951_strings() {
        assert_eq!(
            scalar(T::Uint64, &V::UintVal(u64::MAX), "x").unwrap(),
            Value::from(u64::MAX.to_string())
        );
        assert_eq!(
            scalar(T::Dec64, &V::DoubleVal(1.5), "x").unwrap(),
            Value::from("1.5")
        );
    }
}
