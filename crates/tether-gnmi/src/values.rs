//! RFC 7951 JSON for leaves given as (data path, canonical value), the way commit records and
//! state batches carry them, without building a libyang tree when the leaf's type says how
//! the value is written: booleans, integers, enumerations, strings and the like are mapped
//! directly from the schema type (looked up once per schema node and cached). Only unions,
//! identityrefs and instance-identifiers go through libyang, all of one event in one tree.

use std::collections::HashMap;

use tether_model::Schema;
use yang3::schema::{DataValueType, SchemaNodeKind};

use crate::view;

/// How a leaf's canonical value is written in RFC 7951 JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A JSON number (integers of up to 32 bits), with the base type's range.
    Number {
        min: i64,
        max: i64,
    },
    /// A JSON string holding a 64-bit integer (RFC 7951 §6.1).
    Int64,
    Uint64,
    /// `true` / `false`.
    Bool,
    /// A JSON string of the canonical value (string, enumeration, bits, binary, decimal64).
    Text,
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

    /// The RFC 7951 JSON text of each leaf; `None` for a leaf whose value does not fit the
    /// schema (left out of notifications).
    pub(crate) fn render(&mut self, leaves: &[(&str, &str)]) -> Vec<Option<Vec<u8>>> {
        let mut out = Vec::with_capacity(leaves.len());
        let mut slow: Vec<usize> = Vec::new();
        for (i, (p, v)) in leaves.iter().enumerate() {
            match direct(self.kind(p), v) {
                Some(json) => out.push(Some(json)),
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
                out[i] = v.map(|v| v.to_string().into_bytes());
            }
        }
        out
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
    let number = |min: i64, max: i64| Kind::Number { min, max };
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
        | DataValueType::Binary
        | DataValueType::Dec64 => Kind::Text,
        DataValueType::Empty => Kind::Empty,
        DataValueType::IdentityRef
        | DataValueType::InstanceId
        | DataValueType::LeafRef
        | DataValueType::Union
        | DataValueType::Unknown => Kind::Libyang,
    }
}

/// The JSON text of a canonical value of `kind`, or `None` when libyang must decide (or the
/// value is not one of the type's: libyang then leaves it out).
fn direct(kind: Kind, v: &str) -> Option<Vec<u8>> {
    match kind {
        Kind::Number { min, max } => {
            let n: i64 = v.parse().ok()?;
            (min..=max).contains(&n).then(|| n.to_string().into_bytes())
        }
        Kind::Int64 => v.parse::<i64>().ok().map(|n| quoted(&n.to_string())),
        Kind::Uint64 => v.parse::<u64>().ok().map(|n| quoted(&n.to_string())),
        Kind::Bool => match v {
            "true" | "false" => Some(v.as_bytes().to_vec()),
            _ => None,
        },
        Kind::Text => Some(quoted(v)),
        Kind::Empty => Some(b"[null]".to_vec()),
        Kind::Libyang => None,
    }
}

fn quoted(v: &str) -> Vec<u8> {
    serde_json::Value::from(v).to_string().into_bytes()
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
        let fast = types.render(&refs);
        assert_eq!(types.via_libyang, 0, "no libyang tree for scalar types");
        let slow = view::scalars(schema(), &refs);
        for ((p, _), (f, s)) in refs.iter().zip(fast.iter().zip(slow)) {
            let f: Option<serde_json::Value> =
                f.as_ref().map(|b| serde_json::from_slice(b).unwrap());
            assert_eq!(f, s, "{p}");
            assert!(f.is_some(), "{p}");
        }
    }

    #[test]
    fn values_that_do_not_fit_are_left_out_and_unions_go_to_libyang() {
        let enabled = format!("{G}/config/enabled");
        let up = format!("{G}/config/up-delay");
        let proto = "/tether-conntrack-bypass:bypass/access-lists/access-list[name='A']/entries/entry[sequence='10']/config/protocol";
        let mut types = LeafTypes::new(schema());
        let out = types.render(&[
            (enabled.as_str(), "maybe"),
            (up.as_str(), "-1"),
            (proto, "tcp"),
            ("/tether-link-state:link-state/nothing", "1"),
        ]);
        assert_eq!(out[0], None);
        assert_eq!(out[1], None);
        assert_eq!(out[2].as_deref(), Some(&b"\"tcp\""[..]));
        assert_eq!(out[3], None);
        assert!(types.via_libyang >= 1);
    }
}
