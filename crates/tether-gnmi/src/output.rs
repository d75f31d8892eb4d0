//! Leaf values and subtrees in the encoding a client asked for.
//!
//! Every value Tether sends starts as RFC 7951 JSON (JSON_IETF, printed by libyang) and the
//! [`Scalar`] libyang stored (its base type; for a union, the member it took). From the two:
//! - JSON_IETF: the RFC 7951 text as it is (64-bit integers and decimal64 as strings);
//! - JSON: the same, except that 64-bit integers are JSON numbers, so that collectors can
//!   plot counters (RFC 7951 §6.1 quotes them only for JavaScript's sake; gNMI's JSON is
//!   plain RFC 7159);
//! - PROTO: one scalar `TypedValue` per leaf (gNMI specification §2.2.3): `int_val`,
//!   `uint_val`, `bool_val`, `string_val` (enumerations, identityrefs, bits, binary and
//!   strings, the JSON_IETF text without quotes), `double_val` for decimal64, `bool_val`
//!   true for `empty`, and `leaflist_val` for a leaf-list.

use serde_json::Value;
use tether_model::Scalar;
use tether_proto::gnmi::{ScalarArray, TypedValue, typed_value};
use yang3::data::DataNodeRef;
use yang3::schema::SchemaNodeKind;

use crate::encoding::WireEncoding;

/// A leaf's value in `encoding`, from its JSON_IETF value and its typed value.
pub(crate) fn leaf(
    encoding: WireEncoding,
    json_ietf: Value,
    scalar: Option<&Scalar>,
) -> TypedValue {
    match encoding {
        WireEncoding::JsonIetf => encoding.typed(&json_ietf),
        WireEncoding::Json => encoding.typed(&plain_json(json_ietf, scalar)),
        WireEncoding::Proto => proto(scalar.unwrap_or(&Scalar::Text(text_of(&json_ietf)))),
    }
}

/// A leaf-list's entries as one value: a JSON array, or a PROTO `leaflist_val`.
pub(crate) fn leaf_list(
    encoding: WireEncoding,
    entries: Vec<(Value, Option<Scalar>)>,
) -> TypedValue {
    match encoding {
        WireEncoding::Proto => TypedValue {
            value: Some(typed_value::Value::LeaflistVal(ScalarArray {
                element: entries
                    .into_iter()
                    .map(|(j, s)| leaf(encoding, j, s.as_ref()))
                    .collect(),
            })),
        },
        _ => {
            let array = entries
                .into_iter()
                .map(|(j, s)| match encoding {
                    WireEncoding::Json => plain_json(j, s.as_ref()),
                    _ => j,
                })
                .collect();
            encoding.typed(&Value::Array(array))
        }
    }
}

/// The PROTO scalar of a value.
pub(crate) fn proto(scalar: &Scalar) -> TypedValue {
    use typed_value::Value as V;
    let v = match scalar {
        Scalar::Int(i) => V::IntVal(*i),
        Scalar::Uint(u) => V::UintVal(*u),
        Scalar::Bool(b) => V::BoolVal(*b),
        // gNMI ≥ 0.8: decimal64 goes in double_val (decimal_val is deprecated).
        Scalar::Decimal(text) => match text.parse::<f64>() {
            Ok(d) => V::DoubleVal(d),
            Err(_) => V::StringVal(text.clone()),
        },
        Scalar::Text(t) => V::StringVal(t.clone()),
        Scalar::Empty => V::BoolVal(true),
    };
    TypedValue { value: Some(v) }
}

/// The JSON (not JSON_IETF) form of a leaf's RFC 7951 value: a 64-bit integer, which RFC
/// 7951 writes as a string, becomes a number.
fn plain_json(json_ietf: Value, scalar: Option<&Scalar>) -> Value {
    match (scalar, &json_ietf) {
        (Some(Scalar::Int(i)), Value::String(_)) => Value::from(*i),
        (Some(Scalar::Uint(u)), Value::String(_)) => Value::from(*u),
        _ => json_ietf,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns the RFC 7951 JSON printed for `node` (its content, without the node's own name)
/// into the JSON encoding: every 64-bit integer leaf beneath it becomes a number. Walks the
/// data tree beside the JSON, so that each leaf's type is the one libyang stored; members
/// the JSON lacks (defaults left out) are skipped.
pub(crate) fn plain_json_tree(node: &DataNodeRef<'_>, json: &mut Value) {
    match node.schema().kind() {
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => {
            let v = std::mem::take(json);
            *json = plain_json(v, Scalar::of(node).as_ref());
        }
        SchemaNodeKind::Container | SchemaNodeKind::List => {
            let Value::Object(members) = json else {
                return;
            };
            let module = node.schema().module().name().to_string();
            // Entries of one list or leaf-list, counted as they come (libyang prints them in
            // data order).
            let mut seen: std::collections::HashMap<String, usize> = Default::default();
            for child in node.children() {
                let s = child.schema();
                let name = s.name().to_string();
                let qualified = format!("{}:{name}", s.module().name());
                let key = if s.module().name() == module && members.contains_key(&name) {
                    name
                } else {
                    qualified
                };
                let Some(member) = members.get_mut(&key) else {
                    continue;
                };
                match s.kind() {
                    SchemaNodeKind::List | SchemaNodeKind::LeafList => {
                        let i = seen.entry(key).or_insert(0);
                        if let Some(entry) = member.as_array_mut().and_then(|a| a.get_mut(*i)) {
                            plain_json_tree(&child, entry);
                        }
                        *i += 1;
                    }
                    _ => plain_json_tree(&child, member),
                }
            }
        }
        _ => {}
    }
}

/// The data path of the leaf-list an entry's path (`.../warnings[.='x']`) belongs to.
pub(crate) fn leaf_list_path(entry_path: &str) -> String {
    let segs = tether_syntax::data_path::segments(entry_path);
    let Some((last, parents)) = segs.split_last() else {
        return entry_path.to_string();
    };
    let mut out: String = parents.iter().map(|s| format!("/{s}")).collect();
    out.push('/');
    out.push_str(tether_syntax::data_path::segment_name(last));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_scalars() {
        use typed_value::Value as V;
        let v = |s: Scalar| proto(&s).value.unwrap();
        assert_eq!(v(Scalar::Uint(u64::MAX)), V::UintVal(u64::MAX));
        assert_eq!(v(Scalar::Int(-3)), V::IntVal(-3));
        assert_eq!(v(Scalar::Decimal("1.25".into())), V::DoubleVal(1.25));
        assert_eq!(v(Scalar::Text("up".into())), V::StringVal("up".into()));
        assert_eq!(v(Scalar::Empty), V::BoolVal(true));
    }

    #[test]
    fn json_numbers_only_for_integers_rfc7951_quotes() {
        assert_eq!(
            plain_json(
                Value::from("18446744073709551615"),
                Some(&Scalar::Uint(u64::MAX))
            ),
            Value::from(u64::MAX)
        );
        // A decimal64 and a string stay strings; a 32-bit number stays as it is.
        assert_eq!(
            plain_json(Value::from("1.5"), Some(&Scalar::Decimal("1.5".into()))),
            Value::from("1.5")
        );
        assert_eq!(
            plain_json(Value::from(7), Some(&Scalar::Uint(7))),
            Value::from(7)
        );
    }

    #[test]
    fn leaf_list_paths() {
        assert_eq!(
            leaf_list_path("/m:a/b[k='x/y']/w[.='p[1]']"),
            "/m:a/b[k='x/y']/w"
        );
    }
}
