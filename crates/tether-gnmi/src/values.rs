//! Values of leaves given as (data path, canonical value), the way commit records and state
//! batches carry them, in a client's encoding (`output.rs`), without building a libyang tree
//! when the leaf's type says how the value is written: booleans, integers, enumerations,
//! strings and the like are mapped directly from the schema type (looked up once per schema
//! node and cached). Only unions, identityrefs and instance-identifiers go through libyang,
//! all of one event in one tree.

use std::collections::HashMap;

use serde_json::Value;
use tether_model::{Scalar, Schema};
use tether_proto::gnmi::TypedValue;
use yang3::schema::{DataValueType, SchemaNodeKind};

use crate::encoding::WireEncoding;
use crate::{output, view};

/// How a leaf's canonical value is written in RFC 7951 JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A JSON number (integers of up to 32 bits), with the base type's range.
    Number {
        min: i64,
        max: i64,
        signed: bool,
    },
    /// A JSON string holding a 64-bit integer (RFC 7951 §6.1).
    Int64,
    Uint64,
    /// `true` / `false`.
    Bool,
    /// A JSON string of the canonical value (string, enumeration, bits, binary).
    Text,
    /// A JSON string of the canonical decimal64 value.
    Decimal,
    /// `[null]`.
    Empty,
    /// Ask libyang (union, identityref, instance-identifier, or no such leaf).
    Libyang,
}

/// The leaf-type cache of one renderer (keyed by schema path).
pub(crate) struct LeafTypes {
    schema: &'static Schema,
    kinds: HashMap<String, Kind>,
    /// How many leaves went through a libyang tree (for tests).
    pub(crate) via_libyang: usize,
}

impl LeafTypes {
    pub(crate) fn new(schema: &'static Schema) -> Self {
        LeafTypes {
            schema,
            kinds: HashMap::new(),
            via_libyang: 0,
        }
    }

    /// The value of each leaf in `encoding`; `None` for a leaf whose value does not fit the
    /// schema (left out of notifications).
    pub(crate) fn render(
        &mut self,
        leaves: &[(&str, &str)],
        encoding: WireEncoding,
    ) -> Vec<Option<TypedValue>> {
        self.typed(leaves)
            .into_iter()
            .map(|v| v.map(|(json, scalar)| output::leaf(encoding, json, scalar.as_ref())))
            .collect()
    }

    /// The RFC 7951 JSON value and typed value of each leaf (`None`: does not fit).
    pub(crate) fn typed(
        &mut self,
        leaves: &[(&str, &str)],
    ) -> Vec<Option<(Value, Option<Scalar>)>> {
        let mut out = Vec::with_capacity(leaves.len());
        let mut slow: Vec<usize> = Vec::new();
        for (i, (p, v)) in leaves.iter().enumerate() {
            match direct(self.kind(p), v) {
                Some((json, scalar)) => out.push(Some((json, Some(scalar)))),
                None => {
                    out.push(None);
                    slow.push(i);
                }
            }
        }
        if !slow.is_empty() {
            self.via_libyang += slow.len();
            let batch: Vec<(&str, &str)> = slow.iter().map(|&i| leaves[i]).collect();
            for (i, v) in slow.into_iter().zip(view::scalars(self.schema, &batch)) {
                out[i] = v;
            }
        }
        out
    }

    /// Whether the leaf at `data_path` is a leaf-list entry.
    pub(crate) fn is_leaf_list(&mut self, data_path: &str) -> bool {
        let schema_path = tether_syntax::data_path::schema_path(data_path);
        match self.schema.context().find_path(&schema_path) {
            Ok(n) => n.kind() == SchemaNodeKind::LeafList,
            Err(_) => {
                self.schema.clear_errors();
                false
            }
        }
    }

    /// Whether `value` is a value of the type of the leaf at `data_path`, as far as the base
    /// type tells (`None` when only libyang can say: unions, identityrefs and the like).
    pub(crate) fn fits(&mut self, data_path: &str, value: &str) -> Option<bool> {
        match self.kind(data_path) {
            Kind::Libyang => None,
            k => Some(direct(k, value).is_some()),
        }
    }

    fn kind(&mut self, data_path: &str) -> Kind {
        let schema_path = tether_syntax::data_path::schema_path(data_path);
        if let Some(k) = self.kinds.get(&schema_path) {
            return *k;
        }
        let k = lookup(self.schema, &schema_path);
        self.kinds.insert(schema_path, k);
        k
    }
}

fn lookup(schema: &'static Schema, schema_path: &str) -> Kind {
    let node = match schema.context().find_path(schema_path) {
        Ok(n) => n,
        Err(_) => {
            schema.clear_errors();
            return Kind::Libyang;
        }
    };
    if !matches!(node.kind(), SchemaNodeKind::Leaf | SchemaNodeKind::LeafList) {
        return Kind::Libyang;
    }
    let Some(t) = node.leaf_type() else {
        return Kind::Libyang;
    };
    let base = match t.base_type() {
        DataValueType::LeafRef => match t.leafref_real_type() {
            Some(real) => real.base_type(),
            None => return Kind::Libyang,
        },
        b => b,
    };
    let number = |min: i64, max: i64| Kind::Number {
        min,
        max,
        signed: min < 0,
    };
    match base {
        DataValueType::Int8 => number(i8::MIN.into(), i8::MAX.into()),
        DataValueType::Int16 => number(i16::MIN.into(), i16::MAX.into()),
        DataValueType::Int32 => number(i32::MIN.into(), i32::MAX.into()),
        DataValueType::Uint8 => number(0, u8::MAX.into()),
        DataValueType::Uint16 => number(0, u16::MAX.into()),
        DataValueType::Uint32 => number(0, u32::MAX.into()),
        DataValueType::Int64 => Kind::Int64,
        DataValueType::Uint64 => Kind::Uint64,
        DataValueType::Bool => Kind::Bool,
        DataValueType::String
        | DataValueType::Enum
        | DataValueType::Bits
        | DataValueType::Binary => Kind::Text,
        DataValueType::Dec64 => Kind::Decimal,
        DataValueType::Empty => Kind::Empty,
        DataValueType::IdentityRef
        | DataValueType::InstanceId
        | DataValueType::LeafRef
        | DataValueType::Union
        | DataValueType::Unknown => Kind::Libyang,
    }
}

/// The RFC 7951 JSON and typed value of a canonical value of `kind`, or `None` when libyang
/// must decide (or the value is not one of the type's: libyang then leaves it out).
fn direct(kind: Kind, v: &str) -> Option<(Value, Scalar)> {
    match kind {
        Kind::Number { min, max, signed } => {
            let n: i64 = v.parse().ok()?;
            if !(min..=max).contains(&n) {
                return None;
            }
            let scalar = if signed {
                Scalar::Int(n)
            } else {
                Scalar::Uint(u64::try_from(n).ok()?)
            };
            Some((Value::from(n), scalar))
        }
        Kind::Int64 => v
            .parse::<i64>()
            .ok()
            .map(|n| (Value::from(n.to_string()), Scalar::Int(n))),
        Kind::Uint64 => v
            .parse::<u64>()
            .ok()
            .map(|n| (Value::from(n.to_string()), Scalar::Uint(n))),
        Kind::Bool => match v {
            "true" => Some((Value::Bool(true), Scalar::Bool(true))),
            "false" => Some((Value::Bool(false), Scalar::Bool(false))),
            _ => None,
        },
        Kind::Text => Some((Value::from(v), Scalar::Text(v.to_string()))),
        Kind::Decimal => Some((Value::from(v), Scalar::Decimal(v.to_string()))),
        Kind::Empty => Some((serde_json::json!([null]), Scalar::Empty)),
        Kind::Libyang => None,
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

    #[test]
    fn scalars_are_typed_without_libyang_and_agree_with_it() {
        let leaves: Vec<(String, &str)> = vec![
            (format!("{G}/config/enabled"), "true"),
            (format!("{G}/config/id"), "1"),
            (format!("{G}/config/min-upstream-up"), "2"),
            (format!("{G}/config/description"), "TOR \"uplinks\""),
            (format!("{G}/state/status"), "up"),
            (
                format!("{G}/downstream/interfaces/interface[name='Gi1/1']/config/name"),
                "Gi1/1",
            ),
        ];
        let refs: Vec<(&str, &str)> = leaves.iter().map(|(p, v)| (p.as_str(), *v)).collect();
        let mut types = LeafTypes::new(schema());
        let fast = types.typed(&refs);
        assert_eq!(types.via_libyang, 0, "no libyang tree for scalar types");
        let slow = view::scalars(schema(), &refs);
        for ((p, _), (f, s)) in refs.iter().zip(fast.into_iter().zip(slow)) {
            assert!(f.is_some(), "{p}");
            assert_eq!(f, s, "{p}");
        }
    }

    #[test]
    fn values_that_do_not_fit_are_left_out_and_unions_go_to_libyang() {
        let enabled = format!("{G}/config/enabled");
        let up = format!("{G}/config/up-delay");
        let proto = "/tether-conntrack-bypass:bypass/access-lists/access-list[name='A']/entries/entry[sequence='10']/config/protocol";
        let mut types = LeafTypes::new(schema());
        let out = types.render(
            &[
                (enabled.as_str(), "maybe"),
                (up.as_str(), "-1"),
                (proto, "tcp"),
                ("/tether-link-state:link-state/nothing", "1"),
            ],
            WireEncoding::JsonIetf,
        );
        assert_eq!(out[0], None);
        assert_eq!(out[1], None);
        assert_eq!(
            out[2],
            Some(WireEncoding::JsonIetf.typed(&Value::from("tcp")))
        );
        assert_eq!(out[3], None);
        assert!(types.via_libyang >= 1);
    }
}
