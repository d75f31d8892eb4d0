//! Transactions: a Set or an edit-config as one all-or-nothing change of the configuration.
//!
//! The invariant, by construction: **the tree a transaction is prepared against is never
//! written by the preparation.** [`ConfigTree::prepare`] takes `&self`; it copies what the
//! edits need into a *candidate*, applies the edits there, validates the candidate and
//! computes the leaf change set. A refused transaction is a dropped candidate. Only
//! [`ConfigTree::install`] writes a tree, and the store calls it after the change set is on
//! stable storage; it resolves everything it needs before its first write, so it either
//! fails before changing anything or replaces exactly the subtrees the edits changed.
//!
//! The candidate is a *pruned* copy (see `deps.rs`): the modules the transaction must
//! validate and the modules those read, without the entries of self-contained lists that no
//! edit reaches. [`ConfigTree::prepare_reference`] is the same transaction with no shortcut
//! (a full copy, every module validated, every leaf compared): the oracle of the
//! differential tests.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use yang3::data::{DataNodeRef, DataTree};

use crate::config::{ConfigTree, check_path};
use crate::edit::{Edit, LeafChange, add_anchor, normalize_root, parent_path};
use crate::error::ModelError;
use crate::{ffi, path};

/// A validated transaction, ready to be made durable and installed.
pub struct Prepared {
    /// What changed, leaf by leaf: what the store persists.
    changes: Vec<LeafChange>,
    /// The disjoint subtrees the transaction replaced (data paths; `/` for everything).
    anchors: Vec<String>,
    /// The candidate the subtrees are copied from.
    candidate: ConfigTree,
    /// The transaction changes no leaf (install has nothing to do), whether or not the
    /// change set was taken.
    noop: bool,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("changes", &self.changes.len())
            .field("anchors", &self.anchors)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The leaves that change (empty when the transaction changes nothing).
    pub fn changes(&self) -> &[LeafChange] {
        &self.changes
    }

    /// Takes the change set (for the commit record).
    pub fn take_changes(&mut self) -> Vec<LeafChange> {
        std::mem::take(&mut self.changes)
    }
}

/// The nodes of the running tree an edit reaches: `keep` lies on the way to a target (kept,
/// but its other children may be pruned), `targets` are replaced or merged into (copied
/// whole). Node addresses.
#[derive(Default)]
struct Footprint<'a> {
    keep: HashSet<usize>,
    targets: HashSet<usize>,
    /// Parent address → its children in `keep` or `targets`, so that a parent whose children
    /// are all prunable entries is copied without visiting each entry.
    children: HashMap<usize, Vec<DataNodeRef<'a>>>,
}

impl<'a> Footprint<'a> {
    fn add(&mut self, node: &DataNodeRef<'a>, target: bool) {
        let addr = node.as_raw() as usize;
        // Listed once under its parent, however many edits reach it and how.
        let listed = self.keep.contains(&addr) || self.targets.contains(&addr);
        if target {
            self.targets.insert(addr);
        } else {
            self.keep.insert(addr);
        }
        if !listed && let Some(p) = node.ancestors().next() {
            self.children
                .entry(p.as_raw() as usize)
                .or_default()
                .push(node.clone());
        }
    }
}

impl ConfigTree {
    /// Prepares a transaction: applies `edits` in order to a candidate, validates it, and
    /// returns the change set and what [`ConfigTree::install`] needs. Never changes `self`.
    pub fn prepare(&self, edits: &[Edit]) -> Result<Prepared, ModelError> {
        for e in edits {
            check_path(&e.path)?;
        }
        let deps = self.schema().deps();
        let touched = self.touched_modules(edits);
        let validate = deps.to_validate(&touched);
        let copy = deps.to_copy(&validate);
        let footprint = self.footprint(edits);
        let mut candidate = self.pruned_copy(&copy, &footprint)?;
        let mut anchors = Vec::new();
        for edit in edits {
            candidate.apply_one(edit, &mut anchors)?;
        }
        candidate.validate_modules(&validate)?;
        for m in validate.iter().filter(|m| deps.is_whole(m)) {
            // Validation of such a module may add or remove data beside the edited nodes
            // (`when`, a `choice`'s other case): compare and install the module whole.
            for top in self.schema().top_level_paths(m) {
                add_anchor(&mut anchors, top);
            }
        }
        let changes = diff(self, &candidate, &anchors);
        self.schema().limits().check(self, &candidate, &changes)?;
        Ok(Prepared {
            noop: changes.is_empty(),
            changes,
            anchors,
            candidate,
        })
    }

    /// Installs a prepared transaction: replaces every subtree it changed with a copy of the
    /// candidate's. The tree must be the one the transaction was prepared against (or an
    /// identical copy: the store keeps two). Everything is looked up before the first write,
    /// so an error leaves the tree as it was.
    pub fn install(&mut self, p: &Prepared) -> Result<(), ModelError> {
        if p.noop {
            return Ok(());
        }
        if p.anchors.iter().any(|a| a == "/") {
            let tree =
                p.candidate.tree().duplicate().map_err(|e| {
                    ModelError::Internal(format!("installing the configuration: {e}"))
                })?;
            self.schema().clear_errors();
            *self = ConfigTree::from_tree(self.schema(), tree);
            return Ok(());
        }
        struct Step {
            old: Vec<*mut libyang3_sys::lyd_node>,
            parent: Option<*mut libyang3_sys::lyd_node>,
            new: Vec<*mut libyang3_sys::lyd_node>,
        }
        let mut steps = Vec::with_capacity(p.anchors.len());
        for a in &p.anchors {
            let new: Vec<_> = p.candidate.nodes_at(a).iter().map(|n| n.as_raw()).collect();
            let parent_path = parent_path(a);
            let parent = if parent_path == "/" || new.is_empty() {
                None
            } else {
                let found = self.nodes_at(&parent_path);
                match found.as_slice() {
                    [one] => Some(one.as_raw()),
                    _ => {
                        return Err(ModelError::Internal(format!(
                            "install: the parent of {a} is not in the running tree"
                        )));
                    }
                }
            };
            let old = self.nodes_at(a).iter().map(|n| n.as_raw()).collect();
            steps.push(Step { old, parent, new });
        }
        for s in steps {
            for o in s.old {
                ffi::free_subtree(self.tree_mut(), o);
            }
            for n in s.new {
                if !ffi::graft_copy(self.tree_mut(), s.parent, n) {
                    // Out of memory in libyang: the caller rebuilds this tree from its twin.
                    return Err(ModelError::Internal(
                        "install: copying a subtree failed".into(),
                    ));
                }
            }
        }
        ffi::clear_errors(self.schema().raw());
        Ok(())
    }

    /// Prepares and installs in one step, for a tree no one else reads (tests, tools).
    pub fn apply(&mut self, edits: &[Edit]) -> Result<Vec<LeafChange>, ModelError> {
        let mut p = self.prepare(edits)?;
        self.install(&p)?;
        Ok(p.take_changes())
    }

    /// The same transaction with no shortcut: a full copy of the tree, every module
    /// validated, every leaf compared. Returns the resulting tree and the change set. Slow on
    /// a large configuration; the reference the differential tests hold `prepare` to.
    pub fn prepare_reference(
        &self,
        edits: &[Edit],
    ) -> Result<(ConfigTree, Vec<LeafChange>), ModelError> {
        for e in edits {
            check_path(&e.path)?;
        }
        let mut candidate = self.duplicate()?;
        let mut anchors = Vec::new();
        for edit in edits {
            candidate.apply_one(edit, &mut anchors)?;
        }
        candidate.validate_all()?;
        self.schema().limits().check_full(&candidate)?;
        let changes = diff(self, &candidate, &["/".to_string()]);
        Ok((candidate, changes))
    }

    /// The edits that apply recorded leaf changes (forwards, or backwards with `reversed`):
    /// rollback to an earlier commit is a transaction like any other.
    pub fn edits_for_changes(&self, changes: &[LeafChange]) -> Result<Vec<Edit>, ModelError> {
        let mut edits = Vec::new();
        // Removals first (deepest first), so a list entry goes only after its leaves.
        let mut removals: Vec<&LeafChange> = changes.iter().filter(|c| c.new.is_none()).collect();
        removals.sort_by_key(|c| std::cmp::Reverse(path::segments(&c.path).len()));
        for c in removals {
            let snode = self.schema_node(&c.path)?;
            let is_key = snode.as_ref().is_some_and(|s| s.is_list_key());
            edits.push(Edit::delete(if is_key {
                parent_path(&c.path)
            } else {
                c.path.clone()
            }));
        }
        for c in changes.iter().filter(|c| c.new.is_some()) {
            let v = c
                .new
                .clone()
                .map(serde_json::Value::String)
                .unwrap_or_default();
            edits.push(Edit::update(c.path.clone(), v));
        }
        Ok(edits)
    }

    /// The modules the edits write (all of them for an edit of the root or an edit whose
    /// path names no known module: that edit is refused later with its own error).
    fn touched_modules(&self, edits: &[Edit]) -> BTreeSet<String> {
        let all = self.schema().module_names();
        let mut out = BTreeSet::new();
        for e in edits {
            let t = normalize_root(&e.path);
            match path::top_module(&t) {
                Some(m) if t != "/" && all.contains(m) => {
                    out.insert(m.to_string());
                }
                _ => return all,
            }
        }
        out
    }

    /// The nodes of this tree the edits reach.
    fn footprint(&self, edits: &[Edit]) -> Footprint<'_> {
        let mut f = Footprint::default();
        for e in edits {
            let t = normalize_root(&e.path);
            if t == "/" {
                for n in self.nodes_at("/") {
                    f.add(&n, true);
                }
                continue;
            }
            let prefixes = path::prefixes(&t);
            for (i, p) in prefixes.iter().enumerate() {
                let nodes = self.nodes_at(p);
                let last = i + 1 == prefixes.len();
                // A segment naming many entries (no predicate): copy them all whole, which
                // is never wrong, only slower.
                let many = nodes.len() > 1;
                for n in &nodes {
                    f.add(n, last || many);
                }
                if nodes.is_empty() || many {
                    break;
                }
            }
        }
        f
    }

    /// A copy of the top-level nodes of `modules` without the entries of prunable lists the
    /// footprint does not reach.
    fn pruned_copy(
        &self,
        modules: &BTreeSet<String>,
        footprint: &Footprint,
    ) -> Result<ConfigTree, ModelError> {
        let mut out = DataTree::new(self.schema().context());
        for top in self.nodes_at("/") {
            if !modules.contains(top.schema().module().name()) {
                continue;
            }
            let dup = self.copy_pruned(&top, None, footprint)?;
            if !ffi::insert_top(&mut out, dup) {
                ffi::free_detached(dup);
                return Err(ModelError::Internal(
                    "candidate: linking a copy failed".into(),
                ));
            }
        }
        ffi::clear_errors(self.schema().raw());
        Ok(ConfigTree::from_tree(self.schema(), out))
    }

    fn copy_pruned(
        &self,
        node: &DataNodeRef<'_>,
        parent: Option<*mut libyang3_sys::lyd_node>,
        footprint: &Footprint,
    ) -> Result<*mut libyang3_sys::lyd_node, ModelError> {
        let deps = self.schema().deps();
        let raw = node.as_raw();
        let whole = footprint.targets.contains(&(raw as usize))
            || !deps.is_above_prunable(ffi::data_schema(node));
        let dup = ffi::dup_node(raw, parent, whole)
            .ok_or_else(|| ModelError::Internal("candidate: copying a node failed".into()))?;
        if whole {
            return Ok(dup);
        }
        if deps.has_only_prunable_children(ffi::data_schema(node)) {
            // Only the entries the edits reach; the others are not even visited.
            for child in footprint
                .children
                .get(&(raw as usize))
                .into_iter()
                .flatten()
            {
                self.copy_pruned(child, Some(dup), footprint)?;
            }
            return Ok(dup);
        }
        for child in node.children() {
            if ffi::is_key(&child) {
                // Copied with its entry.
                continue;
            }
            let addr = child.as_raw() as usize;
            if deps.is_prunable(ffi::data_schema(&child))
                && !footprint.keep.contains(&addr)
                && !footprint.targets.contains(&addr)
            {
                continue;
            }
            self.copy_pruned(&child, Some(dup), footprint)?;
        }
        Ok(dup)
    }
}

/// The leaves that differ between `before` and `after` under the anchors.
fn diff(before: &ConfigTree, after: &ConfigTree, anchors: &[String]) -> Vec<LeafChange> {
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    for a in anchors {
        before.collect_under(a, &mut old);
        after.collect_under(a, &mut new);
    }
    let mut changes = Vec::new();
    for (p, o) in &old {
        let n = new.remove(p);
        if Some(o) != n.as_ref() {
            changes.push(LeafChange {
                path: p.clone(),
                old: Some(o.clone()),
                new: n,
            });
        }
    }
    changes.extend(new.into_iter().map(|(p, v)| LeafChange {
        path: p,
        old: None,
        new: Some(v),
    }));
    changes.sort();
    changes
}
