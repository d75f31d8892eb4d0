//! Entry limits the operator configures: lists that carry the `tether-extensions:max-entries`
//! (per list instance) or `max-entries-total` (all instances together) extension, each naming
//! a uint32 leaf that holds the limit. Found in the compiled schema, never by names in code.
//!
//! The check counts without reading every entry: the edit engine's candidate leaves out the
//! entries a transaction did not reach (see `deps.rs`), so the count after a transaction is the
//! count in the tree it was prepared against plus the entries its change set creates (a key
//! leaf that appears) minus those it removes (a key leaf that goes). Only a transaction that
//! creates entries, or changes a limit, is counted at all; the reference path
//! ([`ConfigTree::prepare_reference`]) counts every entry of its full candidate instead, and
//! `tests/engine_model.rs` requires the same verdict and the same error from both.

use std::collections::BTreeMap;

use yang3::context::Context;
use yang3::schema::SchemaNodeKind;

use crate::config::ConfigTree;
use crate::edit::{LeafChange, parent_path};
use crate::error::ModelError;
use crate::ffi::{self, SchemaPtr};

/// The module that defines the limit extensions.
const EXTENSIONS: &str = "tether-extensions";
const PER_INSTANCE: &str = "max-entries";
const TOTAL: &str = "max-entries-total";

/// One limit on one list.
#[derive(Debug, Clone)]
struct Limit {
    /// The list's compiled schema node (an address in the static context).
    list: usize,
    /// The list's schema path, and that of its parent (whose data nodes hold the entries).
    list_path: String,
    parent_path: String,
    /// The schema paths of the list's key leaves (an entry exists while they do).
    key_paths: Vec<String>,
    /// The leaf holding the limit (no list above it, so its schema path is its data path).
    leaf: String,
    /// All instances together, or each one.
    total: bool,
}

/// Every limit of the schema.
#[derive(Debug, Default)]
pub(crate) struct Limits(Vec<Limit>);

impl Limits {
    /// Finds the limits in the compiled `modules`; an argument that names no uint32 leaf
    /// outside every list is a schema defect.
    pub(crate) fn analyse(ctx: &Context, modules: &[&str]) -> Result<Limits, ModelError> {
        let mut out = Vec::new();
        for name in modules {
            let Some(m) = ctx.get_module_implemented(name) else {
                continue;
            };
            for snode in m.data().flat_map(|s| s.traverse()) {
                if snode.kind() != SchemaNodeKind::List {
                    continue;
                }
                let raw = snode.as_raw() as SchemaPtr;
                for (module, ext, leaf) in ffi::node_extensions(raw) {
                    if module != EXTENSIONS || (ext != PER_INSTANCE && ext != TOTAL) {
                        continue;
                    }
                    let target = ctx
                        .find_path(&leaf)
                        .map_err(|e| ModelError::Schema(format!("{name}: {ext} {leaf:?}: {e}")))?;
                    let in_list = target.ancestors().any(|a| a.kind() == SchemaNodeKind::List);
                    if target.kind() != SchemaNodeKind::Leaf || in_list {
                        return Err(ModelError::Schema(format!(
                            "{name}: {ext} {leaf:?} is not a leaf outside every list"
                        )));
                    }
                    let list_path = ffi::schema_path_of(raw);
                    out.push(Limit {
                        list: raw as usize,
                        parent_path: parent_path(&list_path),
                        key_paths: snode
                            .list_keys()
                            .map(|k| format!("{list_path}/{}", k.name()))
                            .collect(),
                        list_path,
                        leaf,
                        total: ext == TOTAL,
                    });
                }
            }
        }
        Ok(Limits(out))
    }

    /// The schema paths of the limited lists and of their limit leaves (for reports).
    pub(crate) fn report(&self) -> Vec<(String, String, bool)> {
        self.0
            .iter()
            .map(|l| (l.list_path.clone(), l.leaf.clone(), l.total))
            .collect()
    }

    /// Checks the transaction that turns `before` into `after` with `changes`. `after` may
    /// be a pruned candidate; only its limit leaves are read.
    pub(crate) fn check(
        &self,
        before: &ConfigTree,
        after: &ConfigTree,
        changes: &[LeafChange],
    ) -> Result<(), ModelError> {
        for l in &self.0 {
            let changed = changes.iter().any(|c| c.path == l.leaf);
            // Entries created (+1) and removed (-1), per parent data path.
            let mut delta: BTreeMap<String, i64> = BTreeMap::new();
            for c in changes {
                let schema = tether_syntax::data_path::schema_path(&c.path);
                if l.key_paths.first().is_none_or(|k| *k != schema) {
                    continue;
                }
                let d = match (&c.old, &c.new) {
                    (None, Some(_)) => 1,
                    (Some(_), None) => -1,
                    _ => 0,
                };
                *delta.entry(parent_path(&parent_path(&c.path))).or_default() += d;
            }
            if !changed && !delta.values().any(|d| *d > 0) {
                continue;
            }
            let Some(max) = leaf_value(after, &l.leaf).or_else(|| leaf_value(before, &l.leaf))
            else {
                continue;
            };
            // Parents to count: those with new entries, or every one when the limit changed.
            let mut counts: BTreeMap<String, i64> = BTreeMap::new();
            if changed || l.total {
                for n in before.nodes_at(&l.parent_path) {
                    counts.insert(n.path(), 0);
                }
            }
            for (p, d) in &delta {
                if changed || l.total || *d > 0 {
                    counts.insert(p.clone(), 0);
                }
            }
            for (p, count) in counts.iter_mut() {
                *count = self.entries_under(before, l, p) + delta.get(p).copied().unwrap_or(0);
            }
            l.judge(max, &counts)?;
        }
        Ok(())
    }

    /// The reference check: every entry of the full tree `after` counted.
    pub(crate) fn check_full(&self, after: &ConfigTree) -> Result<(), ModelError> {
        for l in &self.0 {
            let Some(max) = leaf_value(after, &l.leaf) else {
                continue;
            };
            let counts: BTreeMap<String, i64> = after
                .nodes_at(&l.parent_path)
                .into_iter()
                .map(|n| {
                    let p = n.path();
                    let c = self.entries_under(after, l, &p);
                    (p, c)
                })
                .collect();
            l.judge(max, &counts)?;
        }
        Ok(())
    }

    fn entries_under(&self, tree: &ConfigTree, l: &Limit, parent: &str) -> i64 {
        tree.nodes_at(parent)
            .first()
            .map_or(0, |n| {
                n.children()
                    .filter(|c| ffi::data_schema(c) as usize == l.list)
                    .count()
            })
            .try_into()
            .unwrap_or(i64::MAX)
    }
}

impl Limit {
    /// The verdict on the counts after a transaction (parent data path → entries).
    fn judge(&self, max: u64, counts: &BTreeMap<String, i64>) -> Result<(), ModelError> {
        let max_i = i64::try_from(max).unwrap_or(i64::MAX);
        if self.total {
            let total: i64 = counts.values().sum();
            if total > max_i {
                return Err(ModelError::LimitExceeded {
                    limit: self.leaf.clone(),
                    max,
                    path: self.list_path.clone(),
                    count: u64::try_from(total).unwrap_or(0),
                });
            }
            return Ok(());
        }
        // The first offending instance in data path order, the same for every caller.
        match counts.iter().find(|(_, c)| **c > max_i) {
            Some((p, c)) => Err(ModelError::LimitExceeded {
                limit: self.leaf.clone(),
                max,
                path: p.clone(),
                count: u64::try_from(*c).unwrap_or(0),
            }),
            None => Ok(()),
        }
    }
}

/// The value of a uint leaf of `tree` (with its default once validated).
fn leaf_value(tree: &ConfigTree, path: &str) -> Option<u64> {
    tree.nodes_at(path)
        .first()
        .and_then(|n| n.value_canonical())
        .and_then(|v| v.parse().ok())
}
