//! The configuration data tree: lookups, readers (JSON, LYB, the typed datastore, leaves) and
//! the boot paths. A `ConfigTree` that readers see changes only through
//! [`ConfigTree::install`] of a transaction prepared, validated and made durable before
//! (`transaction.rs`); edits themselves are applied only to candidates (`edit.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use yang3::data::{
    Data, DataFormat, DataNodeRef, DataParserFlags, DataPrinterFlags, DataTree, DataValidationFlags,
};
use yang3::schema::SchemaNodeKind;

use crate::edit::{LeafChange, parent_path};
use crate::error::ModelError;
use crate::schema::Schema;
use crate::{ffi, path};

/// A configuration: a libyang data tree against the process-wide schema. The running
/// configuration is always valid; a candidate (see `transaction.rs`) may be partial.
pub struct ConfigTree {
    schema: &'static Schema,
    tree: DataTree<'static>,
}

impl std::fmt::Debug for ConfigTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigTree").finish_non_exhaustive()
    }
}

impl ConfigTree {
    /// An empty configuration (with the schema's top-level defaults).
    pub fn new(schema: &'static Schema) -> Self {
        let mut t = ConfigTree::empty(schema);
        for m in schema.modules() {
            // An empty tree is always valid; this only adds top-level defaults.
            let _ = ffi::validate_module(schema, &mut t.tree, m.name);
        }
        t
    }

    /// A tree with nothing in it, not even defaults.
    pub(crate) fn empty(schema: &'static Schema) -> Self {
        ConfigTree {
            schema,
            tree: DataTree::new(schema.context()),
        }
    }

    pub(crate) fn from_tree(schema: &'static Schema, tree: DataTree<'static>) -> Self {
        ConfigTree { schema, tree }
    }

    /// Rebuilds a configuration from persisted leaves and validates it in full.
    pub fn from_leaves<'a>(
        schema: &'static Schema,
        leaves: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ModelError> {
        let mut t = Self::unvalidated(schema, leaves)?;
        t.validate_all()?;
        Ok(t)
    }

    /// The tree the leaves describe, neither validated nor completed with defaults.
    fn unvalidated<'a>(
        schema: &'static Schema,
        leaves: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ModelError> {
        let mut t = ConfigTree::empty(schema);
        for (p, v) in leaves {
            check_path(p)?;
            let r = t.tree.new_path(p, Some(v), false);
            schema.clear_errors();
            r.map_err(|e| ModelError::Value {
                path: p.to_string(),
                message: e.to_string(),
            })?;
        }
        Ok(t)
    }

    /// A copy of the whole tree.
    pub fn duplicate(&self) -> Result<ConfigTree, ModelError> {
        let tree = self
            .tree
            .duplicate()
            .map_err(|e| ModelError::Internal(format!("copying the configuration: {e}")));
        self.schema.clear_errors();
        Ok(ConfigTree {
            schema: self.schema,
            tree: tree?,
        })
    }

    /// The schema the tree is built against.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// The underlying libyang tree, for readers (Get, NETCONF get-config).
    pub fn tree(&self) -> &DataTree<'static> {
        &self.tree
    }

    pub(crate) fn tree_mut(&mut self) -> &mut DataTree<'static> {
        &mut self.tree
    }

    /// Validates the named modules (adding their defaults, as libyang does), every error
    /// with its path.
    pub(crate) fn validate_modules(
        &mut self,
        modules: &BTreeSet<String>,
    ) -> Result<(), ModelError> {
        let mut errors = Vec::new();
        for m in modules {
            if let Err(e) = ffi::validate_module(self.schema, &mut self.tree, m) {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Invalid(errors))
        }
    }

    /// Full validation of every module (boot, `tetherd check`, the reference path).
    pub fn validate_all(&mut self) -> Result<(), ModelError> {
        let all = self.schema.module_names();
        self.validate_modules(&all)
    }

    // ===== Lookups =====

    /// The outermost node on the way to `target` that does not exist yet, or `target` itself.
    pub(crate) fn anchor_of(&self, target: &str) -> String {
        for p in path::prefixes(target) {
            if !self.exists(&p) {
                return p;
            }
        }
        target.to_string()
    }

    pub(crate) fn exists(&self, p: &str) -> bool {
        !self.nodes_at(p).is_empty()
    }

    /// Data nodes at a data path: one for a path that names one node, every entry for a path
    /// whose list (or leaf-list) segment has no predicate, none when nothing is there.
    ///
    /// Key values are matched the way libyang's path compiler reads them (`lyd_find_path`,
    /// the same as `lyd_new_path` uses to create nodes), so `sequence='01'` finds the entry
    /// that an edit of `sequence='01'` would change. XPath string comparison would not.
    pub(crate) fn nodes_at(&self, p: &str) -> Vec<DataNodeRef<'_>> {
        if p == "/" {
            return self.top_nodes();
        }
        if p.contains('\0') {
            return Vec::new();
        }
        let found = self.tree.find_path(p);
        ffi::clear_errors(self.schema.raw());
        if let Ok(n) = found {
            return vec![n];
        }
        // Not there, or a segment without predicate: walk segment by segment.
        let mut current: Vec<DataNodeRef<'_>> = Vec::new();
        for (i, seg) in path::segments(p).into_iter().enumerate() {
            let local = path::segment_name(seg);
            let local = local.rsplit_once(':').map_or(local, |(_, n)| n);
            let next: Vec<DataNodeRef<'_>> = if seg.contains('[') {
                let parents: Vec<String> = if i == 0 {
                    vec![String::new()]
                } else {
                    current.iter().map(|n| n.path()).collect()
                };
                parents
                    .iter()
                    .filter_map(|pp| {
                        let r = self.tree.find_path(&format!("{pp}/{seg}"));
                        ffi::clear_errors(self.schema.raw());
                        r.ok()
                    })
                    .collect()
            } else if i == 0 {
                self.top_nodes()
                    .into_iter()
                    .filter(|n| top_name_matches(n, seg))
                    .collect()
            } else {
                current
                    .iter()
                    .flat_map(|n| n.children())
                    .filter(|c| c.schema().name() == local)
                    .collect()
            };
            if next.is_empty() {
                return next;
            }
            current = next;
        }
        current
    }

    fn top_nodes(&self) -> Vec<DataNodeRef<'_>> {
        self.tree
            .reference()
            .map(|r| r.inclusive_siblings().collect())
            .unwrap_or_default()
    }

    pub(crate) fn remove_at(&mut self, p: &str) {
        let raws: Vec<_> = self.nodes_at(p).iter().map(|n| n.as_raw()).collect();
        for raw in raws {
            ffi::free_subtree(&mut self.tree, raw);
        }
    }

    pub(crate) fn remove_modules(&mut self, modules: &BTreeSet<String>) {
        let raws: Vec<_> = self
            .top_nodes()
            .iter()
            .filter(|n| modules.contains(n.schema().module().name()))
            .map(|n| n.as_raw())
            .collect();
        for raw in raws {
            ffi::free_subtree(&mut self.tree, raw);
        }
    }

    /// Explicitly set leaves under `p` (implicit defaults excluded), by data path.
    pub(crate) fn collect_under(&self, p: &str, out: &mut BTreeMap<String, String>) {
        for n in self.nodes_at(p) {
            collect_leaves(&n, out);
        }
    }

    /// The same as [`ConfigTree::leaves`], each path asked of libyang (`lyd_path`): the slow
    /// form the tests hold the fast one to.
    #[doc(hidden)]
    pub fn leaves_by_lyd_path(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for n in self.top_nodes() {
            for d in n.traverse() {
                if matches!(
                    d.schema().kind(),
                    SchemaNodeKind::Leaf | SchemaNodeKind::LeafList
                ) && !ffi::is_implicit_default(&d)
                {
                    out.insert(d.path(), d.value_canonical().unwrap_or_default());
                }
            }
        }
        out
    }

    /// Every explicitly set leaf: what persistence stores.
    pub fn leaves(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        self.collect_under("/", &mut out);
        out
    }

    /// A binary image of the tree (libyang LYB, explicit nodes only): the store's boot
    /// snapshot, which loads far faster than rebuilding the tree leaf by leaf.
    pub fn to_lyb(&self) -> Result<Vec<u8>, ModelError> {
        if self.tree.reference().is_none() {
            return Ok(Vec::new());
        }
        let flags = DataPrinterFlags::WITH_SIBLINGS | DataPrinterFlags::WD_EXPLICIT;
        let r = self
            .tree
            .print_bytes(DataFormat::LYB, flags)
            .map_err(|e| ModelError::Internal(e.to_string()));
        ffi::clear_errors(self.schema.raw());
        r
    }

    /// Loads a tree saved by [`ConfigTree::to_lyb`], neither validated nor completed with
    /// defaults: the store's boot replays the later commits on it and then validates it in
    /// full, which adds the defaults (adding them here too cost a pass over the whole tree).
    pub fn from_lyb(schema: &'static Schema, bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.is_empty() {
            return Ok(ConfigTree::empty(schema));
        }
        let parsed = DataTree::parse_string(
            schema.context(),
            bytes,
            DataFormat::LYB,
            DataParserFlags::NO_VALIDATION | DataParserFlags::STRICT,
            DataValidationFlags::empty(),
        );
        ffi::clear_errors(schema.raw());
        Ok(ConfigTree::from_tree(
            schema,
            parsed.map_err(|e| ModelError::Internal(format!("snapshot: {e}")))?,
        ))
    }

    /// Replays recorded leaf changes without validation or defaults: the store's boot from a
    /// snapshot plus the commits made after it, which validates the result in full once all
    /// commits are replayed ([`ConfigTree::validate_all`] also adds the defaults).
    pub fn replay(&mut self, changes: &[LeafChange]) -> Result<(), ModelError> {
        let mut removals: Vec<&LeafChange> = changes.iter().filter(|c| c.new.is_none()).collect();
        removals.sort_by_key(|c| std::cmp::Reverse(path::segments(&c.path).len()));
        for c in removals {
            let is_key = self.schema_node(&c.path)?.is_some_and(|s| s.is_list_key());
            let p = if is_key {
                parent_path(&c.path)
            } else {
                c.path.clone()
            };
            self.remove_at(&p);
        }
        for c in changes {
            if let Some(v) = &c.new {
                let r = self.tree.new_path(&c.path, Some(v), false);
                ffi::clear_errors(self.schema.raw());
                r.map_err(|e| ModelError::Value {
                    path: c.path.clone(),
                    message: e.to_string(),
                })?;
            }
        }
        Ok(())
    }

    /// The configuration as one RFC 7951 JSON document.
    pub fn to_json(&self, with_defaults: bool) -> Result<String, ModelError> {
        if self.tree.reference().is_none() {
            return Ok("{}".into());
        }
        let flags = DataPrinterFlags::WITH_SIBLINGS
            | if with_defaults {
                DataPrinterFlags::WD_ALL
            } else {
                DataPrinterFlags::WD_TRIM
            };
        let r = self
            .tree
            .print_string(DataFormat::JSON, flags)
            .map_err(|e| ModelError::Internal(e.to_string()));
        ffi::clear_errors(self.schema.raw());
        r
    }

    /// The typed datastore with only the named modules filled in (the others empty): what a
    /// reader that follows commits needs after a commit that touched those modules, at a cost
    /// proportional to them rather than to the whole configuration.
    pub fn typed_modules(&self, modules: &[&str]) -> Result<crate::Datastore, ModelError> {
        let mut doc = serde_json::Map::new();
        for n in self.top_nodes() {
            let module = n.schema().module().name().to_string();
            if !modules.contains(&module.as_str()) {
                continue;
            }
            let text = n
                .print_string(DataFormat::JSON, DataPrinterFlags::WD_ALL)
                .map_err(|e| ModelError::Internal(e.to_string()));
            self.schema.clear_errors();
            let value: Value = serde_json::from_str(&text?)
                .map_err(|e| ModelError::Internal(format!("typed datastore: {e}")))?;
            if let Value::Object(m) = value {
                doc.extend(m);
            }
        }
        serde_json::from_value(Value::Object(doc))
            .map_err(|e| ModelError::Internal(format!("typed datastore: {e}")))
    }

    /// The one data node at data path `p` as RFC 7951 JSON with defaults, without its name
    /// wrapper (a list entry as its object): a reader that follows commits re-reads the one
    /// access-list entry a commit touched instead of a whole module. `None` when nothing is
    /// there; a path naming several nodes is an error.
    pub fn json_at(&self, p: &str) -> Result<Option<Value>, ModelError> {
        let nodes = self.nodes_at(p);
        let node = match nodes.as_slice() {
            [] => return Ok(None),
            [n] => n,
            _ => return Err(ModelError::Internal(format!("{p} names several nodes"))),
        };
        let text = node
            .print_string(DataFormat::JSON, DataPrinterFlags::WD_ALL)
            .map_err(|e| ModelError::Internal(e.to_string()));
        ffi::clear_errors(self.schema.raw());
        let value: Value = serde_json::from_str(&text?)
            .map_err(|e| ModelError::Internal(format!("json of {p}: {e}")))?;
        let inner = match value {
            Value::Object(m) if m.len() == 1 => m.into_iter().next().map(|(_, v)| v),
            other => Some(other),
        };
        Ok(match inner {
            Some(Value::Array(mut a)) if a.len() == 1 => a.pop(),
            other => other,
        })
    }

    /// The configuration as the generated typed datastore.
    pub fn typed(&self) -> Result<crate::Datastore, ModelError> {
        let json = self.to_json(true)?;
        serde_json::from_str(&json)
            .map_err(|e| ModelError::Internal(format!("typed datastore: {e}")))
    }
}

/// Every explicitly set leaf under `n` (inclusive), by data path.
///
/// The paths are built while descending, segment by segment, in exactly the form `lyd_path`
/// prints (module prefix where the module changes, key predicates in `'` unless the value
/// holds one, then `"`), instead of asking libyang for each leaf's path from the root: at
/// 70,000 leaves that is 160 ms against a fraction of it. `leaves_by_lyd_path` is the slow
/// form; tests/engine_model.rs holds the two equal.
fn collect_leaves(n: &DataNodeRef<'_>, out: &mut BTreeMap<String, String>) {
    let path = n.path();
    collect_from(n, &path, out);
}

fn collect_from(n: &DataNodeRef<'_>, path: &str, out: &mut BTreeMap<String, String>) {
    let schema = n.schema();
    match schema.kind() {
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => {
            if !ffi::is_implicit_default(n) {
                out.insert(path.to_string(), n.value_canonical().unwrap_or_default());
            }
        }
        _ => {
            let module = schema.module();
            for c in n.children() {
                let cs = c.schema();
                let child_path = if cs.kind() == SchemaNodeKind::List && cs.is_keyless_list() {
                    c.path()
                } else {
                    let mut p = String::with_capacity(path.len() + 32);
                    p.push_str(path);
                    p.push('/');
                    if cs.module() != module {
                        p.push_str(cs.module().name());
                        p.push(':');
                    }
                    p.push_str(cs.name());
                    match cs.kind() {
                        SchemaNodeKind::List => {
                            for k in c.children().take_while(|k| k.schema().is_list_key()) {
                                let v = k.value_canonical().unwrap_or_default();
                                push_predicate(&mut p, k.schema().name(), &v);
                            }
                        }
                        SchemaNodeKind::LeafList => {
                            let v = c.value_canonical().unwrap_or_default();
                            push_predicate(&mut p, ".", &v);
                        }
                        _ => {}
                    }
                    p
                };
                collect_from(&c, &child_path, out);
            }
        }
    }
}

/// `[name='value']`, or with `"` when the value holds a `'` (as `lyd_path` writes it).
fn push_predicate(p: &mut String, name: &str, value: &str) {
    let q = if value.contains('\'') { '"' } else { '\'' };
    p.push('[');
    p.push_str(name);
    p.push('=');
    p.push(q);
    p.push_str(value);
    p.push(q);
    p.push(']');
}

/// Whether a top-level node matches a first segment written `module:name` or `name`.
fn top_name_matches(n: &DataNodeRef<'_>, seg: &str) -> bool {
    let s = n.schema();
    match seg.split_once(':') {
        Some((m, name)) => s.module().name() == m && s.name() == name,
        None => s.name() == seg,
    }
}

/// Refuses a path libyang cannot be handed (an embedded NUL would abort the C string).
pub(crate) fn check_path(p: &str) -> Result<(), ModelError> {
    if p.contains('\0') {
        return Err(ModelError::Path {
            path: p.replace('\0', "\\0"),
            message: "contains a NUL character".into(),
        });
    }
    Ok(())
}
