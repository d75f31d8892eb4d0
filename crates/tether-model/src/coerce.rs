//! Brings client JSON to the exact RFC 7951 form libyang's strict parser wants.
//!
//! Stock clients differ: gNMI `JSON` (not `JSON_IETF`) sends 64-bit numbers as numbers,
//! pygnmi sends a bare string scalar, Python users write `"900"` for a uint32. The schema
//! says what each leaf is, so the value is converted to the encoding RFC 7951 prescribes
//! for that type; anything that still does not fit is left for libyang to reject with its
//! precise message.

use serde_json::Value;
use yang3::schema::{SchemaNode, SchemaNodeKind};

use crate::leaf_type::{Kind, TypeInfo, inspect};

/// Children of a schema node as data sees them (choice/case transparent).
pub(crate) fn data_children<'a>(node: &SchemaNode<'a>) -> Vec<SchemaNode<'a>> {
    fn walk<'a>(it: impl Iterator<Item = SchemaNode<'a>>, out: &mut Vec<SchemaNode<'a>>) {
        for c in it {
            match c.kind() {
                SchemaNodeKind::Choice | SchemaNodeKind::Case => walk(c.children(), out),
                _ => out.push(c),
            }
        }
    }
    let mut out = Vec::new();
    walk(node.children(), &mut out);
    out
}

/// Finds the child named `member` (`name` or `module:name`).
pub(crate) fn child<'a>(node: &SchemaNode<'a>, member: &str) -> Option<SchemaNode<'a>> {
    let (module, name) = match member.split_once(':') {
        Some((m, n)) => (Some(m), n),
        None => (None, member),
    };
    data_children(node)
        .into_iter()
        .find(|c| c.name() == name && module.is_none_or(|m| c.module().name() == m))
}

/// Coerces `value`, the content of schema node `node`, in place.
pub(crate) fn coerce(value: &mut Value, node: &SchemaNode<'_>) {
    match node.kind() {
        SchemaNodeKind::Leaf => {
            if let Some(t) = node.leaf_type() {
                coerce_scalar(value, &inspect(&t));
            }
        }
        SchemaNodeKind::LeafList => {
            if let (Some(t), Value::Array(items)) = (node.leaf_type(), &mut *value) {
                let info = inspect(&t);
                items.iter_mut().for_each(|v| coerce_scalar(v, &info));
            } else if let Some(t) = node.leaf_type() {
                coerce_scalar(value, &inspect(&t));
            }
        }
        SchemaNodeKind::List => match value {
            Value::Array(items) => items.iter_mut().for_each(|v| coerce_children(v, node)),
            other => coerce_children(other, node),
        },
        SchemaNodeKind::Container => coerce_children(value, node),
        _ => {}
    }
}

/// Coerces the members of an object holding the children of `node`.
pub(crate) fn coerce_children(value: &mut Value, node: &SchemaNode<'_>) {
    if let Value::Object(map) = value {
        for (k, v) in map.iter_mut() {
            if let Some(c) = child(node, k) {
                coerce(v, &c);
            }
        }
    }
}

/// RFC 7951 §6: which JSON type a scalar of this YANG type must have.
pub(crate) fn coerce_scalar(value: &mut Value, info: &TypeInfo) {
    let replacement = match (&info.kind, &*value) {
        (Kind::Int { bits, .. }, Value::String(s)) if *bits <= 32 => s
            .trim()
            .parse::<i64>()
            .ok()
            .map(|n| Value::Number(n.into())),
        (Kind::Int { bits: 64, .. }, Value::Number(n)) => Some(Value::String(n.to_string())),
        (Kind::Bool, Value::String(s)) => match s.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        (Kind::Str { .. } | Kind::Enum { .. } | Kind::Opaque, Value::Number(n)) => {
            Some(Value::String(n.to_string()))
        }
        (Kind::Str { .. } | Kind::Enum { .. } | Kind::Opaque, Value::Bool(b)) => {
            Some(Value::String(b.to_string()))
        }
        (Kind::Union { members }, Value::String(s)) => {
            let small_int = members
                .iter()
                .any(|m| matches!(m.kind, Kind::Int { bits, .. } if bits <= 32));
            match s.trim().parse::<i64>() {
                Ok(n) if small_int => Some(Value::Number(n.into())),
                _ => None,
            }
        }
        (Kind::Union { members }, Value::Number(n)) => {
            let int = members
                .iter()
                .any(|m| matches!(m.kind, Kind::Int { bits, .. } if bits <= 32));
            (!int).then(|| Value::String(n.to_string()))
        }
        _ => None,
    };
    if let Some(r) = replacement {
        *value = r;
    }
}

/// The lexical (canonical-input) string of a scalar JSON value, as `lyd_new_path` takes it.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        // RFC 7951 `empty`: [null]
        Value::Array(a) if a.len() == 1 && a[0].is_null() => Some(String::new()),
        _ => None,
    }
}
