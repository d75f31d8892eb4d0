//! The data Get and Subscribe read: the running configuration, the state tree, or both
//! merged into one temporary libyang tree, and the nodes a [`ResolvedPath`] selects in it,
//! returned as RFC 7951 JSON.

use std::collections::HashSet;

use serde_json::Value;
use tether_model::{ConfigTree, Scalar, Schema};
use tether_proto::gnmi::TypedValue;
use tether_store::Store;
use tether_telemetry::StateTree;
use yang3::data::{Data, DataFormat, DataNodeRef, DataPrinterFlags, DataTree};
use yang3::schema::SchemaNodeKind;

use crate::depth;
use crate::encoding::WireEncoding;
use crate::error::GnmiError;
use crate::output;
use crate::path::ResolvedPath;

/// Which data a read covers (gNMI `GetRequest.DataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// Configuration and state.
    All,
    /// Configuration only.
    Config,
    /// State only. Tether marks no state as non-operational, so OPERATIONAL is the same.
    State,
}

/// What to return for each selected node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The node's whole content as one JSON value (Get).
    Subtree,
    /// Every leaf at or beneath the node, one value each (Subscribe).
    Leaves,
}

/// A selected node (or leaf): its libyang data path and its value in the read's encoding.
/// The root is reported with path `/` and the whole document, module-qualified, as value. A
/// leaf-list is one value (all its entries), at the leaf-list's path.
pub type Selected = Vec<(String, TypedValue)>;

/// A leaf-list's entries: RFC 7951 value and typed value of each.
type Entries = Vec<(Value, Option<Scalar>)>;

/// What a read returns besides the path: the data kind, the shape, the modules (gNMI
/// `use_models`; empty means all), the Depth extension's level (`None`: no limit) and the
/// encoding.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub kind: DataKind,
    pub shape: Shape,
    pub models: &'a HashSet<String>,
    pub depth: Option<u32>,
    pub encoding: WireEncoding,
}

/// Reads what `path` selects.
pub fn read(
    schema: &'static Schema,
    store: &dyn Store,
    state: &StateTree,
    path: &ResolvedPath,
    scope: Scope<'_>,
) -> Result<Selected, GnmiError> {
    let kind = scope.kind;
    if kind == DataKind::Config {
        let config = store.config();
        return select(schema, config.tree(), path, scope);
    }
    let mut tree = DataTree::new(schema.context());
    if kind == DataKind::All {
        let config = store.config();
        copy_config(schema, &config, path, &mut tree)?;
    }
    add_state(schema, state, path, &mut tree);
    select(schema, &tree, path, scope)
}

fn copy_config(
    schema: &'static Schema,
    config: &ConfigTree,
    path: &ResolvedPath,
    into: &mut DataTree<'static>,
) -> Result<(), GnmiError> {
    let internal = |e: yang3::Error| GnmiError::Internal(format!("copying configuration: {e}"));
    if path.is_root() {
        *into = config.tree().duplicate().map_err(internal)?;
        return Ok(());
    }
    if config.tree().reference().is_none() {
        return Ok(());
    }
    let found = config.tree().find_xpath(&path.xpath());
    let nodes: Vec<DataNodeRef<'_>> = match found {
        Ok(set) => set.collect(),
        Err(_) => {
            forget_errors(schema);
            return Ok(());
        }
    };
    for n in nodes {
        let copy = n.duplicate(true).map_err(internal)?;
        into.merge(&copy).map_err(internal)?;
    }
    Ok(())
}

fn add_state(
    schema: &'static Schema,
    state: &StateTree,
    path: &ResolvedPath,
    into: &mut DataTree<'static>,
) {
    let mut failed = false;
    for (p, leaf) in state.under(&path.concrete_prefix()) {
        if !path.covers(&p) {
            continue;
        }
        if let Err(e) = into.new_path(&p, Some(&leaf.value), false) {
            tracing::debug!(path = %p, value = %leaf.value, error = %e, "state leaf does not fit the schema");
            failed = true;
        }
    }
    if failed {
        forget_errors(schema);
    }
}

fn select(
    schema: &'static Schema,
    tree: &DataTree<'static>,
    path: &ResolvedPath,
    scope: Scope<'_>,
) -> Result<Selected, GnmiError> {
    let Scope {
        shape,
        models,
        depth,
        encoding,
        ..
    } = scope;
    // PROTO carries no subtrees: every read is by leaf.
    let shape = if encoding.per_leaf() {
        Shape::Leaves
    } else {
        shape
    };
    let wanted =
        |n: &DataNodeRef<'_>| models.is_empty() || models.contains(n.schema().module().name());
    let nodes: Vec<DataNodeRef<'_>> = if tree.reference().is_none() {
        // libyang refuses to evaluate an XPath on an empty tree.
        Vec::new()
    } else if path.is_root() {
        match tree.reference() {
            Some(r) => r.inclusive_siblings().filter(|n| wanted(n)).collect(),
            None => Vec::new(),
        }
    } else {
        match tree.find_xpath(&path.xpath()) {
            Ok(set) => set.filter(|n| wanted(n)).collect(),
            Err(e) => {
                forget_errors(schema);
                return Err(GnmiError::Internal(format!(
                    "evaluating {}: {e}",
                    path.xpath()
                )));
            }
        }
    };
    let mut out = Vec::new();
    match shape {
        Shape::Subtree if path.is_root() => {
            let mut doc = serde_json::Map::new();
            for n in &nodes {
                let text = print(schema, n, DataPrinterFlags::WD_EXPLICIT)?;
                if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text) {
                    for (name, mut v) in m {
                        if encoding == WireEncoding::Json {
                            output::plain_json_tree(n, &mut v);
                        }
                        doc.insert(name, v);
                    }
                }
            }
            let doc = Value::Object(doc);
            let doc = match depth {
                Some(d) => depth::prune(doc, d),
                None => doc,
            };
            out.push(("/".to_string(), encoding.typed(&doc)));
        }
        Shape::Subtree => {
            for n in &nodes {
                // A leaf is reported even when it only holds its default; a container that
                // holds nothing but defaults names nothing that was set.
                let value = node_value(schema, n, !is_terminal(n))?;
                match value.map(|v| match depth {
                    Some(d) => depth::prune(v, d),
                    None => v,
                }) {
                    Some(Value::Object(m)) if m.is_empty() && n.schema().is_np_container() => {}
                    Some(mut v) => {
                        if encoding == WireEncoding::Json {
                            output::plain_json_tree(n, &mut v);
                        }
                        out.push((n.path(), encoding.typed(&v)));
                    }
                    None => {}
                }
            }
        }
        Shape::Leaves => {
            let mut seen = HashSet::new();
            // Leaf-list entries, gathered into one value per leaf-list (by its place in `out`).
            let mut lists: std::collections::HashMap<String, (usize, Entries)> = Default::default();
            for n in &nodes {
                let base = if path.is_root() {
                    "/".to_string()
                } else {
                    n.path()
                };
                for leaf in n.traverse() {
                    if !is_terminal(&leaf) {
                        continue;
                    }
                    // A leaf that only holds its default is reported with that default,
                    // as Get reports it.
                    let p = leaf.path();
                    if depth.is_some_and(|d| !depth::leaf_within(&base, &p, d)) {
                        continue;
                    }
                    if seen.contains(&p) {
                        continue;
                    }
                    let Some(v) = node_value(schema, &leaf, false)? else {
                        continue;
                    };
                    seen.insert(p.clone());
                    let scalar = Scalar::of(&leaf);
                    if leaf.schema().kind() == SchemaNodeKind::LeafList {
                        let list = output::leaf_list_path(&p);
                        let next = out.len();
                        let (at, entries) = lists.entry(list.clone()).or_insert((next, Vec::new()));
                        if *at == next {
                            out.push((list, TypedValue::default()));
                        }
                        entries.push((v, scalar));
                    } else {
                        out.push((p, output::leaf(encoding, v, scalar.as_ref())));
                    }
                }
            }
            for (_, (at, entries)) in lists {
                if let Some(slot) = out.get_mut(at) {
                    slot.1 = output::leaf_list(encoding, entries);
                }
            }
        }
    }
    Ok(out)
}

fn is_terminal(n: &DataNodeRef<'_>) -> bool {
    matches!(
        n.schema().kind(),
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList
    )
}

/// The RFC 7951 JSON content of one node: a scalar for a leaf, an object for a container or
/// a list entry. With `explicit_only`, nodes libyang added as defaults are left out (a
/// default leaf gives None).
fn node_value(
    schema: &'static Schema,
    n: &DataNodeRef<'_>,
    explicit_only: bool,
) -> Result<Option<Value>, GnmiError> {
    let flags = if explicit_only {
        DataPrinterFlags::WD_EXPLICIT
    } else {
        DataPrinterFlags::WD_ALL
    };
    let text = print(schema, n, flags)?;
    if text.trim().is_empty() {
        return Ok(if is_terminal(n) {
            None
        } else {
            Some(Value::Object(serde_json::Map::new()))
        });
    }
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        GnmiError::Internal(format!(
            "libyang printed invalid JSON for {}: {e}",
            n.path()
        ))
    })?;
    let value = match doc {
        Value::Object(m) if m.len() == 1 => {
            m.into_iter().next().map(|(_, v)| v).unwrap_or(Value::Null)
        }
        other => other,
    };
    // A leaf the flags leave out prints as an empty document.
    if is_terminal(n) && matches!(&value, Value::Object(m) if m.is_empty()) {
        return Ok(None);
    }
    let is_instance = matches!(
        n.schema().kind(),
        SchemaNodeKind::List | SchemaNodeKind::LeafList
    );
    Ok(Some(match value {
        Value::Array(mut a) if is_instance && a.len() == 1 => a.remove(0),
        v => v,
    }))
}

fn print(
    schema: &'static Schema,
    n: &DataNodeRef<'_>,
    flags: DataPrinterFlags,
) -> Result<String, GnmiError> {
    n.print_string(DataFormat::JSON, flags | DataPrinterFlags::SHRINK)
        .map_err(|e| {
            forget_errors(schema);
            GnmiError::Internal(format!("printing {}: {e}", n.path()))
        })
}

/// RFC 7951 JSON scalars and typed values for leaves given as (data path, canonical value),
/// as events from the store and the state tree carry them. Leaves that do not fit the schema
/// are left out.
pub fn scalars(
    schema: &'static Schema,
    leaves: &[(&str, &str)],
) -> Vec<Option<(Value, Option<Scalar>)>> {
    let mut tree = DataTree::new(schema.context());
    let mut failed = false;
    for (p, v) in leaves {
        if tree.new_path(p, Some(v), false).is_err() {
            failed = true;
        }
    }
    let out = leaves
        .iter()
        .map(|(p, _)| match tree.find_path(p) {
            Ok(n) => node_value(schema, &n, false)
                .ok()
                .flatten()
                .map(|v| (v, Scalar::of(&n))),
            Err(_) => {
                failed = true;
                None
            }
        })
        .collect();
    if failed {
        forget_errors(schema);
    }
    out
}

/// Drops the errors libyang recorded on this thread after an expected failure, so they do
/// not pile up in a long-running daemon.
///
/// tether-model keeps its error-list helpers private; building an empty configuration is
/// the one public call that clears the list (validation starts by cleaning it).
// TODO: replace with a public `Schema::clear_errors` once tether-model exports one.
pub(crate) fn forget_errors(schema: &'static Schema) {
    schema.clear_errors();
}
