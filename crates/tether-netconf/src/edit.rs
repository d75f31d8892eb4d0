//! edit-config's `<config>` (RFC 6241 §7.2) turned into the model's edits, so that NETCONF
//! changes go through exactly the transaction engine gNMI Set uses (`ConfigTree::prepare`,
//! the store's commit path): one request, one all-or-nothing transaction.
//!
//! The XML is walked against the compiled schema: each element is found by name and
//! namespace (unknown ones are refused with `unknown-element`/`unknown-namespace` and their
//! path), list entries get their data path from their key leaves, and the content becomes
//! RFC 7951 JSON that the model coerces and libyang checks, as it does for gNMI. The
//! `operation` attribute of the base namespace splits the request: what merges is one
//! update per top-level node; every `replace`, `create`, `delete`, `remove` below it is an
//! edit of its own, in document order, after the merges.

use roxmltree::Node;
use serde_json::{Map, Value};
use tether_model::{ConfigTree, Edit, Schema};
use yang3::data::Data;
use yang3::schema::{DataValueType, SchemaNode, SchemaNodeKind};

use crate::error::RpcError;
use crate::xml::{NC, elements};

/// `operation` (RFC 6241 §7.2) and `default-operation`'s `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Merge,
    Replace,
    Create,
    Delete,
    Remove,
    /// default-operation none: the element only leads to nodes with their own operation.
    None,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "merge" => Op::Merge,
            "replace" => Op::Replace,
            "create" => Op::Create,
            "delete" => Op::Delete,
            "remove" => Op::Remove,
            "none" => Op::None,
            _ => return None,
        })
    }
}

/// Turns `config`'s children into edits against `current` (the target datastore's content,
/// for `create`'s and `delete`'s existence checks).
pub fn edits(
    schema: &'static Schema,
    current: &ConfigTree,
    config: Node<'_, '_>,
    default: Op,
) -> Result<Vec<Edit>, RpcError> {
    let mut w = Walk {
        schema,
        current,
        merges: Vec::new(),
        own: Vec::new(),
    };
    let ctx = schema.context();
    for el in elements(config) {
        let ns = el.tag_name().namespace().unwrap_or("");
        let name = el.tag_name().name();
        let module = ctx.get_module_implemented_ns(ns).ok_or_else(|| {
            RpcError::application(
                "unknown-namespace",
                format!("no module has namespace {ns:?}"),
            )
            .with_path(format!("/{name}"))
        })?;
        let snode = module
            .data()
            .find(|s| s.name() == name)
            .ok_or_else(|| unknown(&format!("/{}:{name}", module.name())))?;
        let path = format!("/{}:{name}", module.name());
        let walk_op = if default == Op::Replace {
            Op::Merge
        } else {
            default
        };
        w.node(el, &snode, &path, walk_op, None)?;
    }
    if default == Op::Replace {
        // default-operation replace: the config replaces the whole datastore.
        let mut doc = Map::new();
        for e in w.merges.drain(..) {
            if let Some(v) = e.value {
                doc.insert(e.path.trim_start_matches('/').to_string(), v);
            }
        }
        let mut out = vec![Edit::replace("/", Value::Object(doc))];
        out.extend(w.own);
        return Ok(out);
    }
    let mut out = w.merges;
    out.extend(w.own);
    Ok(out)
}

fn unknown(path: &str) -> RpcError {
    RpcError::application("unknown-element", "no such node in the schema").with_path(path)
}

struct Walk<'c> {
    schema: &'static Schema,
    current: &'c ConfigTree,
    merges: Vec<Edit>,
    own: Vec<Edit>,
}

impl Walk<'_> {
    fn exists(&self, path: &str) -> bool {
        let found = self.current.tree().find_path(path).is_ok();
        self.current.schema().clear_errors();
        found
    }

    /// One element: its own operation (or the inherited one) decides whether its content
    /// joins the parent's merge (`Some(content)` returned) or becomes an edit of its own.
    fn node(
        &mut self,
        el: Node<'_, '_>,
        snode: &SchemaNode<'_>,
        path: &str,
        inherited: Op,
        parent_module: Option<&str>,
    ) -> Result<Option<Value>, RpcError> {
        let own = match el.attribute((NC, "operation")) {
            Some(v) => Some(Op::parse(v).ok_or_else(|| {
                RpcError::protocol(
                    "bad-attribute",
                    "operation must be merge, replace, create, delete or remove",
                )
                .with_path(path)
            })?),
            None => None,
        };
        if !snode.is_config() {
            return Err(RpcError::application(
                "invalid-value",
                "is state data (config false) and cannot be edited",
            )
            .with_path(path));
        }
        let path = entry_path(el, snode, path)?;
        let op = own.unwrap_or(inherited);
        let explicit = own.is_some() && own != Some(inherited);
        match op {
            Op::Delete | Op::Remove => {
                if op == Op::Delete && !self.exists(&path) {
                    return Err(RpcError::application(
                        "data-missing",
                        "delete of a node that does not exist",
                    )
                    .with_path(path));
                }
                self.own.push(Edit::delete(path));
                Ok(None)
            }
            Op::Create | Op::Replace | Op::Merge if explicit || parent_module.is_none() => {
                if op == Op::Create && self.exists(&path) {
                    return Err(RpcError::application(
                        "data-exists",
                        "create of a node that exists",
                    )
                    .with_path(path));
                }
                let value = self.content(el, snode, &path, op)?;
                let edit = if op == Op::Replace {
                    Edit::replace(path, value)
                } else {
                    Edit::update(path, value)
                };
                if explicit {
                    self.own.push(edit);
                } else {
                    self.merges.push(edit);
                }
                Ok(None)
            }
            Op::Create | Op::Replace | Op::Merge => Ok(Some(self.content(el, snode, &path, op)?)),
            Op::None => {
                // Only leads on: children with an operation of their own make edits.
                self.children(el, snode, &path, Op::None)?;
                Ok(None)
            }
        }
    }

    /// The RFC 7951 content of an element whose data follows `op`.
    fn content(
        &mut self,
        el: Node<'_, '_>,
        snode: &SchemaNode<'_>,
        path: &str,
        op: Op,
    ) -> Result<Value, RpcError> {
        match snode.kind() {
            SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => {
                Ok(leaf_value(self.schema, el, snode))
            }
            _ => Ok(Value::Object(self.children(el, snode, path, op)?)),
        }
    }

    fn children(
        &mut self,
        el: Node<'_, '_>,
        snode: &SchemaNode<'_>,
        path: &str,
        op: Op,
    ) -> Result<Map<String, Value>, RpcError> {
        let mut map = Map::new();
        let module = snode.module().name().to_string();
        for c in elements(el) {
            let ns = c.tag_name().namespace().unwrap_or("");
            let name = c.tag_name().name();
            let cs = data_children(snode)
                .into_iter()
                .find(|s| s.name() == name && s.module().namespace() == ns)
                .ok_or_else(|| unknown(&format!("{path}/{name}")))?;
            let cmod = cs.module().name().to_string();
            let seg = if cmod == module {
                name.to_string()
            } else {
                format!("{cmod}:{name}")
            };
            let cpath = format!("{path}/{seg}");
            if let Some(v) = self.node(c, &cs, &cpath, op, Some(&module))? {
                match cs.kind() {
                    SchemaNodeKind::List | SchemaNodeKind::LeafList => {
                        let slot = map.entry(seg).or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(a) = slot {
                            a.push(v);
                        }
                    }
                    _ => {
                        map.insert(seg, v);
                    }
                }
            } else if cs.is_list_key() {
                // A key under `none` or beside an own operation still names the entry.
                map.insert(seg, leaf_value(self.schema, c, &cs));
            }
        }
        Ok(map)
    }
}

/// Children of a schema node as data sees them (choice/case transparent).
fn data_children<'a>(node: &SchemaNode<'a>) -> Vec<SchemaNode<'a>> {
    let mut out = Vec::new();
    let mut stack: Vec<SchemaNode<'a>> = node.children().collect();
    stack.reverse();
    while let Some(c) = stack.pop() {
        match c.kind() {
            SchemaNodeKind::Choice | SchemaNodeKind::Case => {
                let mut inner: Vec<_> = c.children().collect();
                inner.reverse();
                stack.extend(inner);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A list entry's data path: the element's path with its key predicates; other nodes as is.
fn entry_path(el: Node<'_, '_>, snode: &SchemaNode<'_>, path: &str) -> Result<String, RpcError> {
    if snode.kind() == SchemaNodeKind::LeafList {
        let v = el.text().unwrap_or("").trim();
        return Ok(format!("{path}[.={}]", quote(v)));
    }
    if snode.kind() != SchemaNodeKind::List {
        return Ok(path.to_string());
    }
    let mut out = path.to_string();
    for key in snode.children().filter(SchemaNode::is_list_key) {
        let v = elements(el)
            .find(|c| c.tag_name().name() == key.name())
            .map(|c| c.text().unwrap_or("").trim().to_string())
            .ok_or_else(|| {
                RpcError::protocol(
                    "missing-element",
                    format!("list key {} is missing", key.name()),
                )
                .with_path(path)
            })?;
        out.push_str(&format!("[{}={}]", key.name(), quote(&v)));
    }
    Ok(out)
}

fn quote(v: &str) -> String {
    if v.contains('\'') {
        format!("\"{v}\"")
    } else {
        format!("'{v}'")
    }
}

/// A leaf's text as RFC 7951 JSON: `empty` is `[null]`, an identityref's XML prefix becomes
/// its module name, everything else a string the model coerces to the leaf's type.
fn leaf_value(schema: &'static Schema, el: Node<'_, '_>, snode: &SchemaNode<'_>) -> Value {
    let text = el.text().unwrap_or("").trim();
    let base = snode.leaf_type().map(|t| t.base_type());
    match base {
        Some(DataValueType::Empty) => Value::Array(vec![Value::Null]),
        Some(DataValueType::IdentityRef) => {
            if let Some((pfx, local)) = text.split_once(':')
                && let Some(ns) = el.lookup_namespace_uri(Some(pfx))
                && let Some(m) = schema.context().get_module_implemented_ns(ns)
            {
                return Value::String(format!("{}:{local}", m.name()));
            }
            Value::String(text.to_string())
        }
        _ => Value::String(text.to_string()),
    }
}
