//! The Rust type of a leaf, and the per-node scope its generated types are named in.
//!
//! Built-in types map to Rust primitives; a restricted integer, a constrained string, an
//! enumeration or a union gets a newtype or enum of its own, so a value outside the YANG type
//! cannot be built. The scope keeps those names unique within one container or list and lets
//! two leaves of a node share the type of a common typedef.

use std::collections::BTreeSet;

use super::naming::camel;
use super::type_defs::{emit_enum, emit_int, emit_str, emit_union};
use crate::leaf_type::{Kind, TypeInfo};

/// Newtypes and enums generated for the leaves of one container or list.
pub(super) struct Scope {
    pub(super) defs: String,
    names: BTreeSet<String>,
}

impl Scope {
    pub(super) fn new(reserved: &str) -> Self {
        Scope {
            defs: String::new(),
            names: BTreeSet::from([reserved.to_string()]),
        }
    }

    /// Returns the name to use for a new type, or None when a type of that name was already
    /// generated here (same typedef used by two leaves of one node).
    fn claim(&mut self, wanted: &str, typedef: bool) -> (String, bool) {
        if typedef && self.names.contains(wanted) && !self.is_reserved(wanted) {
            return (wanted.to_string(), false);
        }
        let mut name = wanted.to_string();
        while self.names.contains(&name) {
            name.push_str("Value");
        }
        self.names.insert(name.clone());
        (name, true)
    }

    fn is_reserved(&self, name: &str) -> bool {
        self.names.iter().next().is_some_and(|r| r == name)
    }
}

/// The Rust type of a leaf, generating newtypes/enums into `scope` as needed.
pub(super) fn rust_type(info: &TypeInfo, scope: &mut Scope, leaf: &str, yang_name: &str) -> String {
    let wanted = camel(info.typedef.as_deref().unwrap_or(leaf));
    let display_name = info
        .typedef
        .clone()
        .unwrap_or_else(|| yang_name.to_string());
    match &info.kind {
        Kind::Bool => "bool".into(),
        Kind::Empty => "crate::json::Empty".into(),
        Kind::Opaque => "String".into(),
        Kind::Int {
            bits,
            signed,
            ranges,
        } => {
            let prim = format!("{}{}", if *signed { "i" } else { "u" }, bits);
            let repr = match (bits, signed) {
                (64, false) => "crate::json::U64".to_string(),
                (64, true) => "crate::json::I64".to_string(),
                _ => prim.clone(),
            };
            let full = if *signed {
                let m = 1i128 << (bits - 1);
                (-m, m - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            if ranges.is_empty() || (ranges.len() == 1 && ranges[0] == full) {
                return repr;
            }
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                emit_int(&mut scope.defs, &name, &display_name, &prim, &repr, ranges);
            }
            name
        }
        Kind::Str { length, patterns } => {
            if length.is_empty() && patterns.is_empty() {
                return "String".into();
            }
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                emit_str(&mut scope.defs, &name, &display_name, length, patterns);
            }
            name
        }
        Kind::Enum { items } => {
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                emit_enum(&mut scope.defs, &name, &display_name, items);
            }
            name
        }
        Kind::Union { members } => {
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                let mut variants = Vec::new();
                let mut used = BTreeSet::new();
                for m in members {
                    let base = match (&m.typedef, &m.kind) {
                        (Some(t), _) => camel(t),
                        (None, Kind::Enum { .. }) => "Enumeration".into(),
                        (None, Kind::Int { bits, signed, .. }) => {
                            format!("{}{}", if *signed { "Int" } else { "Uint" }, bits)
                        }
                        (None, Kind::Str { .. }) => "String".into(),
                        (None, Kind::Bool) => "Boolean".into(),
                        _ => "Other".into(),
                    };
                    let mut v = base.clone();
                    let mut i = 2;
                    while !used.insert(v.clone()) {
                        v = format!("{base}{i}");
                        i += 1;
                    }
                    let member_leaf = format!("{name}{v}");
                    let ty = rust_type(m, scope, &member_leaf, &display_name);
                    variants.push((v, ty));
                }
                emit_union(&mut scope.defs, &name, &display_name, &variants);
            }
            name
        }
    }
}
