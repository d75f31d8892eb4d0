//! What the edit engine may leave out of a transaction's validation, derived once from the
//! compiled schema — never from module or list names written in code.
//!
//! libyang validates a whole module every time (`lyd_validate_module` walks every node and
//! evaluates every `must` and leafref), so with 10,000 access-list entries a one-leaf commit
//! would cost what the 10,000 entries cost. Two facts of the compiled schema let the engine
//! validate a smaller tree with the same verdict:
//!
//! - **Self-contained lists.** A list whose every expression (must, when, leafref) reads only
//!   inside its own entry, and that no expression outside it reads at all, with no
//!   `min-elements`, `max-elements` or `unique` (which count or compare entries): an entry of
//!   it that a transaction did not touch was valid before and cannot have become invalid, and
//!   nothing else's validity depends on it. Leaving such entries out of the validated tree
//!   gives the same verdict for what remains.
//! - **Module reads.** Module M must be validated when a module it reads (an expression atom
//!   in its data) changed; the modules a validated module reads must be present in the tree.
//!
//! The atoms come from libyang's own XPath atomizer (`lys_find_expr_atoms`), the same one
//! libyang uses to decide what a `must` depends on, so the analysis follows the YANG: a
//! new `must` that reaches across entries turns the shortcut off for that list by itself.
//! Modules with `when` or `choice` (where validation may delete or add data beside the edited
//! node) get no shortcut at all: their transactions are compared and installed whole. A
//! schema with an instance-identifier (a reference the schema cannot see) turns every
//! shortcut off. `tests/engine_model.rs` proves the shortcut equal to full validation.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use libyang3_sys as ly;
use yang3::context::Context;

use crate::ffi::{self, SchemaPtr};

/// The result of the analysis.
#[derive(Debug, Default)]
pub(crate) struct Dependencies {
    /// Lists whose untouched entries may be left out of validation (addresses of compiled
    /// schema nodes).
    prunable: HashSet<usize>,
    /// Schema nodes with a prunable list beneath them: the candidate copy walks these node by
    /// node and copies everything else in one call.
    above_prunable: HashSet<usize>,
    /// Schema nodes whose every data child is a prunable list (an `entries` container): the
    /// candidate copy visits only the entries the footprint names, not every entry.
    only_prunable: HashSet<usize>,
    /// Module → the other modules whose data its expressions read.
    reads: BTreeMap<String, BTreeSet<String>>,
    /// Modules validated (and compared) whole on every change: `when`, `choice`.
    whole: BTreeSet<String>,
    /// Every module.
    all: BTreeSet<String>,
}

/// One expression holder: the schema node, its module, and what its expressions read.
struct Holder {
    node: SchemaPtr,
    atoms: Vec<SchemaPtr>,
}

/// The module that owns the data tree a schema node is in (its top-level ancestor's).
fn data_module(node: SchemaPtr) -> Option<String> {
    let top = ancestry(node).last().copied()?;
    ffi::schema_module_name(top)
}

/// `node` and its ancestors, innermost first.
fn ancestry(node: SchemaPtr) -> Vec<SchemaPtr> {
    let mut out = Vec::new();
    let mut n = node;
    while !n.is_null() {
        out.push(n);
        n = ffi::schema_parent(n);
    }
    out
}

/// Whether `node` is `root` or lies beneath it.
fn within(node: SchemaPtr, root: SchemaPtr) -> bool {
    ancestry(node).contains(&root)
}

impl Dependencies {
    /// Analyses the compiled modules named in `modules`.
    pub(crate) fn analyse(ctx: &Context, modules: &[&str]) -> Dependencies {
        let mut d = Dependencies {
            all: modules.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        };
        let mut holders = Vec::new();
        let mut lists = Vec::new();
        let mut opaque = false;
        for name in modules {
            let Some(m) = ctx.get_module_implemented(name) else {
                continue;
            };
            for snode in m.data().flat_map(|s| s.traverse()) {
                let raw = snode.as_raw() as SchemaPtr;
                let (kind, flags) = ffi::schema_kind(raw);
                if flags & ly::LYS_CONFIG_R != 0 {
                    // State is never in the configuration tree, so never validated with it.
                    continue;
                }
                if kind == ly::LYS_CHOICE {
                    d.whole.insert(name.to_string());
                }
                if kind == ly::LYS_LIST {
                    lists.push(raw);
                }
                let exprs = ffi::node_exprs(raw);
                opaque |= exprs.opaque;
                if exprs.has_when {
                    d.whole.insert(name.to_string());
                }
                if !exprs.atoms.is_empty() {
                    holders.push(Holder {
                        node: raw,
                        atoms: exprs.atoms,
                    });
                }
            }
        }
        if opaque {
            // References the schema cannot follow: every module reads every other, and no
            // entry may be left out.
            for m in &d.all {
                d.reads.insert(m.clone(), d.all.clone());
            }
            return d;
        }
        for h in &holders {
            let Some(holder_module) = data_module(h.node) else {
                continue;
            };
            for a in &h.atoms {
                if let Some(m) = data_module(*a)
                    && m != holder_module
                {
                    d.reads.entry(holder_module.clone()).or_default().insert(m);
                }
            }
        }
        for list in lists {
            let module = data_module(list).unwrap_or_default();
            if d.whole.contains(&module) || !ffi::list_is_plain(list) {
                continue;
            }
            let self_contained = holders.iter().all(|h| {
                if within(h.node, list) {
                    h.atoms.iter().all(|a| within(*a, list))
                } else {
                    !h.atoms.iter().any(|a| within(*a, list))
                }
            });
            if self_contained {
                d.prunable.insert(list as usize);
                for a in ancestry(list).into_iter().skip(1) {
                    d.above_prunable.insert(a as usize);
                }
            }
        }
        let parents: HashSet<usize> = d.above_prunable.clone();
        for parent in parents {
            let children = ffi::schema_data_children(parent as SchemaPtr);
            if !children.is_empty() && children.iter().all(|c| d.is_prunable(*c)) {
                d.only_prunable.insert(parent);
            }
        }
        d
    }

    /// Whether every data child of this schema node is a prunable list.
    pub(crate) fn has_only_prunable_children(&self, node: SchemaPtr) -> bool {
        self.only_prunable.contains(&(node as usize))
    }

    /// Whether untouched entries of this list may be left out of validation.
    pub(crate) fn is_prunable(&self, list: SchemaPtr) -> bool {
        self.prunable.contains(&(list as usize))
    }

    /// Whether a prunable list lies beneath this schema node.
    pub(crate) fn is_above_prunable(&self, node: SchemaPtr) -> bool {
        self.above_prunable.contains(&(node as usize))
    }

    /// Whether the module is validated, compared and installed whole.
    pub(crate) fn is_whole(&self, module: &str) -> bool {
        self.whole.contains(module)
    }

    /// The modules to validate when `touched` changed: those, and every module that reads
    /// one of them.
    pub(crate) fn to_validate(&self, touched: &BTreeSet<String>) -> BTreeSet<String> {
        let mut out = touched.clone();
        for (m, reads) in &self.reads {
            if !reads.is_disjoint(touched) {
                out.insert(m.clone());
            }
        }
        out
    }

    /// The modules whose data must be present to validate `modules`: those, and everything
    /// they read, transitively.
    pub(crate) fn to_copy(&self, modules: &BTreeSet<String>) -> BTreeSet<String> {
        let mut out = modules.clone();
        let mut todo: Vec<String> = modules.iter().cloned().collect();
        while let Some(m) = todo.pop() {
            for r in self.reads.get(&m).into_iter().flatten() {
                if out.insert(r.clone()) {
                    todo.push(r.clone());
                }
            }
        }
        out
    }

    /// The names of the prunable lists, as schema paths (for tests and the architecture
    /// page: what the analysis concluded).
    pub(crate) fn prunable_paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .prunable
            .iter()
            .map(|p| ffi::schema_path_of(*p as SchemaPtr))
            .collect();
        v.sort();
        v
    }

    /// Module → the modules it reads (for tests).
    pub(crate) fn reads(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.reads
    }
}
