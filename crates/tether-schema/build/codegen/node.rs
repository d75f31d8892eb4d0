//! The Rust module of one container or list: its struct, its path constants, its leaf types
//! and, nested inside, the modules of its children.
//!
//! Nesting the modules as the schema nests the nodes lets the Rust path spell the YANG path, so
//! the many `config`/`state` containers never clash.

use std::fmt::Write;

use yang3::schema::{SchemaNode, SchemaNodeKind, SchemaPathFormat};

use super::naming::{camel, doc, screaming, snake};
use super::rust_type::{Scope, rust_type};
use crate::leaf_type::inspect;

/// Children of a node as the data tree sees them: choice and case are transparent.
pub(super) fn data_children<'a>(
    children: impl Iterator<Item = SchemaNode<'a>>,
) -> Vec<SchemaNode<'a>> {
    let mut out = Vec::new();
    for c in children {
        match c.kind() {
            SchemaNodeKind::Choice | SchemaNodeKind::Case => {
                out.extend(data_children(c.children()))
            }
            SchemaNodeKind::Container
            | SchemaNodeKind::List
            | SchemaNodeKind::Leaf
            | SchemaNodeKind::LeafList => out.push(c),
            _ => {}
        }
    }
    out
}

/// Emits the Rust module of one container or list.
pub(super) fn emit_node(out: &mut String, node: &SchemaNode<'_>) {
    let name = node.name().to_string();
    let module = snake(&name);
    let strukt = camel(&name);
    let is_list = node.kind() == SchemaNodeKind::List;
    let path = node.path(SchemaPathFormat::DATA);
    let mut scope = Scope::new(&strukt);
    let mut fields = String::new();
    let mut consts = String::new();
    let mut subs = String::new();

    for c in data_children(node.children()) {
        let cname = c.name().to_string();
        let field = snake(&cname);
        let cpath = c.path(SchemaPathFormat::DATA);
        let mut fdoc = String::new();
        doc(&mut fdoc, c.description());
        match c.kind() {
            SchemaNodeKind::Container => {
                let _ = write!(
                    fields,
                    "{fdoc}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Option::is_none\")]\npub {field}: Option<{m}::{s}>,\n",
                    m = snake(&cname),
                    s = camel(&cname)
                );
                emit_node(&mut subs, &c);
            }
            SchemaNodeKind::List => {
                let _ = write!(
                    fields,
                    "{fdoc}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Vec::is_empty\")]\npub {field}: Vec<{m}::{s}>,\n",
                    m = snake(&cname),
                    s = camel(&cname)
                );
                emit_node(&mut subs, &c);
            }
            SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => {
                let info = match c.leaf_type() {
                    Some(t) => inspect(&t),
                    None => continue,
                };
                let ty = rust_type(&info, &mut scope, &cname, &cname);
                let _ = writeln!(
                    consts,
                    "    /// Schema path of the `{cname}` leaf.\n    pub const {}: &'static str = {cpath:?};",
                    screaming(&cname)
                );
                if c.kind() == SchemaNodeKind::LeafList {
                    let _ = write!(
                        fields,
                        "{fdoc}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Vec::is_empty\")]\npub {field}: Vec<{ty}>,\n"
                    );
                } else if c.is_list_key() {
                    let _ = write!(
                        fields,
                        "{fdoc}#[serde(rename = {cname:?})]\npub {field}: {ty},\n"
                    );
                } else {
                    let units = c
                        .units()
                        .map(|u| format!("/// Units: {u}.\n"))
                        .unwrap_or_default();
                    // yang3's default_value_canonical() dereferences null without a default.
                    let dflt = c
                        .has_default()
                        .then(|| c.default_value_canonical())
                        .flatten()
                        .map(|d| format!("/// Default when absent: `{d}`.\n"))
                        .unwrap_or_default();
                    let _ = write!(
                        fields,
                        "{fdoc}{units}{dflt}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Option::is_none\")]\npub {field}: Option<{ty}>,\n"
                    );
                }
            }
            _ => {}
        }
    }

    // YANG 1.1 actions of this node: their names, for the northbounds that invoke them.
    let mut actions = String::new();
    for a in node.actions() {
        let aname = a.name().to_string();
        let _ = writeln!(
            actions,
            "    /// Name of the `{aname}` action of this node (YANG 1.1 `action`).\n    pub const ACTION_{}: &str = {aname:?};",
            screaming(&aname)
        );
    }

    let mut d = String::new();
    doc(&mut d, node.description());
    let derive = if is_list {
        "#[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]"
    } else {
        "#[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]"
    };
    let kind = if is_list { "list" } else { "container" };
    let _ = write!(
        out,
        r#"
{d}pub mod {module} {{
    #![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

    /// Schema path of this {kind}.
    pub const PATH: &str = {path:?};
{actions}
{d}{derive}
pub struct {strukt} {{
{fields}}}

impl {strukt} {{
{consts}}}
{keys}{defs}
{subs}
}}
"#,
        defs = scope.defs,
        keys = if is_list {
            key_builders(node)
        } else {
            String::new()
        },
    );
}

/// The key constants and the `entry` path builder of a list: the only place a list's key
/// names are spelled, so a renamed key breaks the build of every caller.
///
/// An entry's data path starts at the data path of the entry of the nearest enclosing list
/// (`parent`), or at the root for a list with none, and puts one predicate per key after the
/// list's own name, in the order libyang compiled them.
fn key_builders(node: &SchemaNode<'_>) -> String {
    let keys: Vec<String> = node.list_keys().map(|k| k.name().to_string()).collect();
    let path = node.path(SchemaPathFormat::DATA);
    let outer = node
        .ancestors()
        .find(|a| a.kind() == SchemaNodeKind::List)
        .map(|a| a.path(SchemaPathFormat::DATA));
    let mut params = String::new();
    let mut preds = String::new();
    for k in &keys {
        let arg = snake(k);
        let _ = write!(params, ", {arg}: impl ::std::fmt::Display");
        let _ = write!(
            preds,
            "    p.push_str(\"[{k}=\");\n    p.push_str(&::tether_syntax::data_path::quote(&{arg}.to_string()));\n    p.push(']');\n"
        );
    }
    let key_list = keys
        .iter()
        .map(|k| format!("{k:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (sig, start, doc) = match &outer {
        Some(outer) => {
            let below = path.strip_prefix(outer.as_str()).unwrap_or(&path);
            (
                format!("parent: &str{params}"),
                format!("let mut p = String::from(parent);\n    p.push_str({below:?});\n"),
                format!(
                    "/// The data path of one entry, below `parent`: the data path of the enclosing\n/// `{outer}` entry.\n"
                ),
            )
        }
        None => (
            params.trim_start_matches(", ").to_string(),
            "let mut p = String::from(PATH);\n".to_string(),
            "/// The data path of one entry.\n".to_string(),
        ),
    };
    format!(
        "\n/// The key leaves of this list, in the order its predicates take them.\npub const KEYS: &[&str] = &[{key_list}];\n\n{doc}pub fn entry({sig}) -> String {{\n    {start}{preds}    p\n}}\n"
    )
}
