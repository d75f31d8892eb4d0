//! The configuration data tree and the transactional edit engine behind gNMI Set and
//! NETCONF edit-config.
//!
//! An edit is applied in place and undone precisely when anything fails: before each
//! operation the subtree it touches is copied (or, where the path did not exist, the
//! outermost node it will create is noted), so both the undo and the change set cost what
//! the edit touches, not what the datastore holds.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use yang3::data::{
    Data, DataFormat, DataNodeRef, DataParserFlags, DataPrinterFlags, DataTree, DataValidationFlags,
};
use yang3::schema::{SchemaNode, SchemaNodeKind};

use crate::coerce::{coerce, coerce_children, scalar_text};
use crate::error::{ModelError, ValidationError};
use crate::schema::Schema;
use crate::{ffi, path};

/// What a Set operation does (gNMI spec §3.4.4, RFC 6241 §7.2 operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EditOp {
    /// Remove the node and its subtree; removing an absent node is not an error.
    Delete,
    /// Make the subtree exactly the given value.
    Replace,
    /// Merge the given value into the subtree.
    Update,
}

/// One operation of a transaction: `path` is a libyang data path (`/` for the root), `value`
/// the RFC 7951 JSON content of that node (absent for deletes).
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub op: EditOp,
    pub path: String,
    pub value: Option<Value>,
}

impl Edit {
    pub fn delete(path: impl Into<String>) -> Self {
        Edit {
            op: EditOp::Delete,
            path: path.into(),
            value: None,
        }
    }
    pub fn replace(path: impl Into<String>, value: Value) -> Self {
        Edit {
            op: EditOp::Replace,
            path: path.into(),
            value: Some(value),
        }
    }
    pub fn update(path: impl Into<String>, value: Value) -> Self {
        Edit {
            op: EditOp::Update,
            path: path.into(),
            value: Some(value),
        }
    }
}

/// How one leaf changed in a commit: the unit of persistence, of the commit log and of
/// rollback.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeafChange {
    /// The leaf's data path.
    pub path: String,
    /// The value before (None = absent).
    pub old: Option<String>,
    /// The value after (None = removed).
    pub new: Option<String>,
}

impl LeafChange {
    /// The same change, backwards.
    pub fn reversed(&self) -> LeafChange {
        LeafChange {
            path: self.path.clone(),
            old: self.new.clone(),
            new: self.old.clone(),
        }
    }
}

/// Access-list entries taken out of the tree while a transaction is validated.
struct Hidden {
    acl: *mut libyang3_sys::lyd_node,
    entries: *mut libyang3_sys::lyd_node,
    temp: Option<*mut libyang3_sys::lyd_node>,
    moved: Vec<*mut libyang3_sys::lyd_node>,
}

/// What must be restored to undo one operation.
struct Undo {
    /// The node that was replaced or created (its data path).
    anchor: String,
    /// Copies (with parents) of what was at `anchor` before; empty when it did not exist.
    saved: Vec<DataTree<'static>>,
}

/// The running configuration: a libyang data tree that is always valid against the schema.
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
        let mut t = ConfigTree {
            schema,
            tree: DataTree::new(schema.context()),
        };
        for m in schema.modules() {
            // An empty tree is always valid; this only adds top-level defaults.
            let _ = ffi::validate_module(schema, &mut t.tree, m.name);
        }
        t
    }

    /// Rebuilds a configuration from persisted leaves (boot) and validates it.
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
        let mut t = ConfigTree {
            schema,
            tree: DataTree::new(schema.context()),
        };
        for (p, v) in leaves {
            let r = t.tree.new_path(p, Some(v), false);
            schema.clear_errors();
            r.map_err(|e| ModelError::Value {
                path: p.to_string(),
                message: e.to_string(),
            })?;
        }
        Ok(t)
    }

    /// Rebuilds a configuration from leaves that were validated when they were committed
    /// (the store's boot path): adds defaults without re-running every rule, which for
    /// 10,000 access-list entries is the difference between ~50 ms and ~1 s.
    pub fn from_trusted_leaves<'a>(
        schema: &'static Schema,
        leaves: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ModelError> {
        let mut t = Self::unvalidated(schema, leaves)?;
        if !ffi::add_defaults(schema, &mut t.tree) {
            return Err(ModelError::Internal("adding defaults failed".into()));
        }
        Ok(t)
    }

    /// The schema the tree is built against.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// The underlying libyang tree, for readers (Get, NETCONF get-config).
    pub fn tree(&self) -> &DataTree<'static> {
        &self.tree
    }

    fn validate_modules(&mut self, modules: &BTreeSet<String>) -> Result<(), ModelError> {
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

    /// Validates the touched modules, hiding the access-list entries the transaction did not
    /// touch.
    ///
    /// libyang re-validates every node of a module on each validation, and an access-list
    /// entry carries several `must`s: 10,000 entries cost ~300 ms per commit. Entries are
    /// self-contained (nothing outside an entry refers into it, and its own rules look only
    /// inside it; `entries_are_self_contained` in the tests checks the YANG), so an entry
    /// that did not change cannot become invalid, and leaving it out of the validated tree
    /// gives the same verdict for what remains.
    fn validate_touched(
        &mut self,
        modules: &BTreeSet<String>,
        anchors: &[String],
    ) -> Result<(), ModelError> {
        let hidden = match self.slice_plan(anchors) {
            Some(p) if modules.contains("tether-conntrack-bypass") => self.hide_entries(&p),
            _ => Vec::new(),
        };
        let r = self.validate_modules(modules);
        self.restore_entries(hidden);
        r
    }

    /// Which access-lists' entries may be hidden: None = validate everything; otherwise
    /// (access-list path -> the touched entry paths, or None when all its entries are touched).
    fn slice_plan(&self, anchors: &[String]) -> Option<BTreeMap<String, Option<Vec<String>>>> {
        let mut plan: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
        for a in anchors {
            if a == "/" {
                return None;
            }
            let segs = path::segments(a);
            let names: Vec<&str> = segs.iter().map(|s| path::segment_name(s)).collect();
            if names.first() != Some(&"tether-conntrack-bypass:bypass") {
                continue;
            }
            match names.get(1) {
                Some(&"access-lists") => {}
                Some(_) => continue,
                None => return None,
            }
            if segs.len() < 3 || !segs[2].contains('[') {
                return None;
            }
            let acl = format!("/{}/{}/{}", segs[0], segs[1], segs[2]);
            match (names.get(3), segs.get(4)) {
                (Some(&"entries"), Some(e)) if e.contains('[') => {
                    let entry = format!("{acl}/entries/{e}");
                    match plan.get_mut(&acl) {
                        Some(Some(list)) => list.push(entry),
                        Some(None) => {}
                        None => {
                            plan.insert(acl, Some(vec![entry]));
                        }
                    }
                }
                (Some(&"config"), _) => {
                    plan.entry(acl).or_insert(Some(Vec::new()));
                }
                _ => {
                    plan.insert(acl, None);
                }
            }
        }
        Some(plan)
    }

    fn hide_entries(&mut self, plan: &BTreeMap<String, Option<Vec<String>>>) -> Vec<Hidden> {
        let acls: Vec<(String, *mut libyang3_sys::lyd_node)> = self
            .nodes_at("/tether-conntrack-bypass:bypass/access-lists/access-list")
            .iter()
            .map(|n| (n.path(), n.as_raw()))
            .collect();
        let mut hidden = Vec::new();
        for (acl_path, acl) in acls {
            let touched = match plan.get(&acl_path) {
                Some(None) => continue,
                Some(Some(list)) => list.clone(),
                None => Vec::new(),
            };
            let Some(entries) = self
                .nodes_at(&format!("{acl_path}/entries"))
                .first()
                .map(|n| n.as_raw())
            else {
                continue;
            };
            let moved: Vec<_> = touched
                .iter()
                .filter_map(|t| self.nodes_at(t).first().map(|n| n.as_raw()))
                .collect();
            for m in &moved {
                ffi::unlink(*m);
            }
            ffi::unlink(entries);
            let temp = if moved.is_empty() {
                None
            } else {
                let t = ffi::new_inner(acl, "entries");
                if let Some(t) = t {
                    for m in &moved {
                        ffi::insert_child(t, *m);
                    }
                }
                t
            };
            hidden.push(Hidden {
                acl,
                entries,
                temp,
                moved,
            });
        }
        ffi::clear_errors(self.schema.raw());
        hidden
    }

    fn restore_entries(&mut self, hidden: Vec<Hidden>) {
        for h in hidden {
            for m in &h.moved {
                ffi::unlink(*m);
                ffi::insert_child(h.entries, *m);
            }
            if let Some(t) = h.temp {
                ffi::unlink(t);
                ffi::free_detached(t);
            }
            ffi::insert_child(h.acl, h.entries);
        }
        ffi::clear_errors(self.schema.raw());
    }

    /// Full validation of every module (boot, benchmarks).
    pub fn validate_all(&mut self) -> Result<(), ModelError> {
        let all: BTreeSet<String> = self
            .schema
            .modules()
            .iter()
            .map(|m| m.name.to_string())
            .collect();
        self.validate_modules(&all)
    }

    /// Applies a transaction: all operations, in order, then validation of every module they
    /// touched. On any error nothing has changed. Returns the leaves that changed.
    ///
    /// Only touched modules are validated: Tether's modules hold no references into each
    /// other's data (a test checks every leafref and `must` target), so an untouched module
    /// stays valid.
    pub fn apply(&mut self, edits: &[Edit]) -> Result<Vec<LeafChange>, ModelError> {
        let mut undo: Vec<Undo> = Vec::with_capacity(edits.len());
        let mut before: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut anchors: Vec<String> = Vec::new();
        let mut modules = BTreeSet::new();

        for edit in edits {
            match self.apply_one(edit, &mut before, &mut anchors, &mut modules) {
                Ok(u) => undo.push(u),
                Err(e) => {
                    self.undo_all(undo);
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.validate_touched(&modules, &anchors) {
            self.undo_all(undo);
            // Restore defaults in the modules we touched (validation adds them).
            let _ = self.validate_modules(&modules);
            return Err(e);
        }

        let mut after = BTreeMap::new();
        for a in &anchors {
            self.collect_under(a, &mut after);
        }
        let mut changes = Vec::new();
        for (p, old) in &before {
            let new = after.remove(p);
            if old.as_ref() != new.as_ref() {
                changes.push(LeafChange {
                    path: p.clone(),
                    old: old.clone(),
                    new,
                });
            }
        }
        changes.extend(after.into_iter().map(|(p, v)| LeafChange {
            path: p,
            old: None,
            new: Some(v),
        }));
        Ok(changes)
    }

    fn apply_one(
        &mut self,
        edit: &Edit,
        before: &mut BTreeMap<String, Option<String>>,
        anchors: &mut Vec<String>,
        modules: &mut BTreeSet<String>,
    ) -> Result<Undo, ModelError> {
        let target = normalize_root(&edit.path);
        let snode = self.schema_node(&target)?;
        if let Some(s) = &snode
            && !s.is_config()
        {
            return Err(ModelError::Path {
                path: target,
                message: "is state data (config false) and cannot be set".into(),
            });
        }
        // Validate the value before touching the tree.
        let fragment = match (edit.op, &edit.value) {
            (EditOp::Delete, _) => None,
            (_, Some(v)) => {
                let mut f = self.fragment(&target, snode.as_ref(), v)?;
                self.fill_config_keys(&target, &mut f);
                Some(f)
            }
            (_, None) => {
                return Err(ModelError::Value {
                    path: target,
                    message: "no value given".into(),
                });
            }
        };
        let all_modules = || {
            self.schema
                .modules()
                .iter()
                .map(|m| m.name.to_string())
                .collect()
        };
        let touched: BTreeSet<String> = match (&snode, &fragment) {
            (None, _) if edit.op != EditOp::Update => all_modules(),
            (Some(_), _) => path::top_module(&target)
                .map(|m| BTreeSet::from([m.to_string()]))
                .unwrap_or_default(),
            (None, Some(f)) => f
                .reference()
                .map(|r| {
                    r.inclusive_siblings()
                        .map(|n| n.schema().module().name().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            (None, None) => all_modules(),
        };
        modules.extend(touched.iter().cloned());

        // Save what is there, or note the outermost node that will be created.
        let anchor = if snode.is_none() {
            "/".to_string()
        } else {
            self.anchor_of(&target)
        };
        let saved = self.copy_at(&anchor);
        let mut prior = BTreeMap::new();
        self.collect_under(&anchor, &mut prior);
        for (p, v) in prior {
            if !anchors.iter().any(|a| path::is_under(&p, a)) {
                before.entry(p).or_insert(Some(v));
            }
        }
        if !anchors.iter().any(|a| path::is_under(&anchor, a)) {
            anchors.retain(|a| !path::is_under(a, &anchor));
            anchors.push(anchor.clone());
        }
        let undo = Undo { anchor, saved };

        let result = (|| {
            if matches!(edit.op, EditOp::Delete | EditOp::Replace) {
                if snode.is_none() {
                    self.remove_modules(&touched);
                } else {
                    self.remove_at(&target);
                }
            }
            if let Some(f) = fragment {
                self.tree.merge(&f).map_err(|e| ModelError::Value {
                    path: target.clone(),
                    message: e.to_string(),
                })?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(undo),
            Err(e) => {
                self.undo_all(vec![undo]);
                Err(e)
            }
        }
    }

    /// OpenConfig lists key on a leafref to `config/<key>`: a client that creates a list
    /// entry through a deeper path (`group[id=7]/config/description`) would otherwise have to
    /// repeat the key inside `config`. For every entry on the path that does not exist yet,
    /// the fragment gets `config/<key>` from the path's predicate when it lacks it (a value
    /// that disagrees with the predicate is left for the leafref check to refuse).
    fn fill_config_keys(&self, target: &str, frag: &mut DataTree<'static>) {
        for prefix in path::prefixes(target) {
            let keys = path::last_keys(&prefix);
            if keys.is_empty() || self.exists(&prefix) {
                continue;
            }
            let schema_config = format!("{}/config", path::schema_path(&prefix));
            let ctx = self.schema.context();
            for (key, value) in keys {
                let leaf = format!("{schema_config}/{key}");
                let has_leaf = ctx.find_path(&leaf).is_ok();
                self.schema.clear_errors();
                if !has_leaf {
                    continue;
                }
                let data = format!("{prefix}/config/{key}");
                let present = frag.find_path(&data).is_ok();
                self.schema.clear_errors();
                if !present {
                    let _ = frag.new_path(&data, Some(&value), false);
                    self.schema.clear_errors();
                }
            }
        }
    }

    /// Resolves the schema node of a data path; None for the root.
    fn schema_node(&self, target: &str) -> Result<Option<SchemaNode<'static>>, ModelError> {
        if target == "/" {
            return Ok(None);
        }
        if path::top_module(target).is_none() {
            return Err(ModelError::Path {
                path: target.to_string(),
                message: "the first element must be qualified with its module name".into(),
            });
        }
        let ctx = self.schema.context();
        let found = ctx.find_path(&path::schema_path(target));
        ffi::clear_errors(self.schema.raw());
        match found {
            Ok(n) => Ok(Some(n)),
            Err(e) => Err(ModelError::Path {
                path: target.to_string(),
                message: format!("no such node in the schema ({e})"),
            }),
        }
    }

    /// Builds the subtree that `value` describes at `target` in a tree of its own, so the
    /// value is fully parsed before the running tree is touched.
    fn fragment(
        &self,
        target: &str,
        snode: Option<&SchemaNode<'static>>,
        value: &Value,
    ) -> Result<DataTree<'static>, ModelError> {
        let ctx = self.schema.context();
        let mut frag = DataTree::new(ctx);
        let bad = |errs: Vec<ValidationError>| -> ModelError {
            if errs.is_empty() {
                ModelError::Value {
                    path: target.to_string(),
                    message: "value not accepted".into(),
                }
            } else {
                ModelError::Invalid(
                    errs.into_iter()
                        .map(|mut e| {
                            if e.path.is_none() {
                                e.path = Some(target.to_string());
                            }
                            e
                        })
                        .collect(),
                )
            }
        };
        let new_path =
            |frag: &mut DataTree<'static>, p: &str, v: Option<&str>| -> Result<(), ModelError> {
                let r = frag
                    .new_path(p, v, false)
                    .map(|_| ())
                    .map_err(|e| ModelError::Value {
                        path: e.path.clone().unwrap_or_else(|| p.to_string()),
                        message: e.msg.clone().unwrap_or_else(|| e.to_string()),
                    });
                ffi::clear_errors(self.schema.raw());
                r
            };
        let mut value = value.clone();
        let Some(snode) = snode else {
            // Root: a whole RFC 7951 document with module-qualified top-level members.
            let Value::Object(map) = &mut value else {
                return Err(ModelError::Value {
                    path: "/".into(),
                    message: "the root value must be a JSON object".into(),
                });
            };
            let qualified: serde_json::Map<String, Value> = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    let k = if k.contains(':') {
                        k
                    } else {
                        match self.schema.module_of_top_level(&k) {
                            Some(m) => format!("{m}:{k}"),
                            None => k,
                        }
                    };
                    if let Some((m, n)) = k.split_once(':') {
                        if let Ok(s) = ctx.find_path(&format!("/{m}:{n}")) {
                            coerce(&mut v, &s);
                        }
                        ffi::clear_errors(self.schema.raw());
                    }
                    (k, v)
                })
                .collect();
            ffi::parse_json_under(
                self.schema,
                &mut frag,
                None,
                &Value::Object(qualified).to_string(),
            )
            .map_err(bad)?;
            return Ok(frag);
        };

        match snode.kind() {
            SchemaNodeKind::Leaf => {
                let v = unwrap_named(value, snode.name());
                let mut v = v;
                coerce(&mut v, snode);
                let text = scalar_text(&v).ok_or_else(|| ModelError::Value {
                    path: target.to_string(),
                    message: format!("leaf {} takes a scalar value, not {v}", snode.name()),
                })?;
                if snode.is_list_key() {
                    // Setting a key leaf: it must agree with the entry's predicate.
                    let parent = parent_path(target);
                    let keys = path::last_keys(&parent);
                    if let Some((_, k)) = keys.iter().find(|(n, _)| n == snode.name())
                        && *k != text
                    {
                        return Err(ModelError::Value {
                            path: target.to_string(),
                            message: format!(
                                "key {} is {k} in the path but {text} in the value",
                                snode.name()
                            ),
                        });
                    }
                    new_path(&mut frag, &parent, None)?;
                } else {
                    new_path(&mut frag, target, Some(&text))?;
                }
            }
            SchemaNodeKind::LeafList => {
                let mut v = unwrap_named(value, snode.name());
                coerce(&mut v, snode);
                let items = match v {
                    Value::Array(a) => a,
                    other => vec![other],
                };
                let p = format!(
                    "{}/{}",
                    parent_path(target).trim_end_matches('/'),
                    path::segment_name(path::segments(target).last().copied().unwrap_or(""))
                );
                for item in items {
                    let text = scalar_text(&item).ok_or_else(|| ModelError::Value {
                        path: target.to_string(),
                        message: format!("leaf-list {} takes scalar values", snode.name()),
                    })?;
                    new_path(&mut frag, &p, Some(&text))?;
                }
            }
            SchemaNodeKind::Container => {
                new_path(&mut frag, target, None)?;
                let mut v = unwrap_named(value, snode.name());
                coerce_children(&mut v, snode);
                self.parse_children(&mut frag, target, &v).map_err(bad)?;
            }
            SchemaNodeKind::List if path::ends_with_predicate(target) => {
                new_path(&mut frag, target, None)?;
                let mut v = unwrap_named(value, snode.name());
                if let Value::Array(mut a) = v {
                    if a.len() != 1 {
                        return Err(ModelError::Value {
                            path: target.to_string(),
                            message: "a list entry takes one JSON object".into(),
                        });
                    }
                    v = a.remove(0);
                }
                coerce_children(&mut v, snode);
                // Keys come from the path; a key repeated in the value must agree.
                if let Value::Object(map) = &mut v {
                    for (k, kv) in path::last_keys(target) {
                        let member = map
                            .keys()
                            .find(|m| m.as_str() == k || m.rsplit(':').next() == Some(k.as_str()))
                            .cloned();
                        if let Some(m) = member {
                            let given = map
                                .remove(&m)
                                .and_then(|x| scalar_text(&x))
                                .unwrap_or_default();
                            if given != kv {
                                return Err(ModelError::Value {
                                    path: target.to_string(),
                                    message: format!(
                                        "key {k} is {kv} in the path but {given} in the value"
                                    ),
                                });
                            }
                        }
                    }
                }
                self.parse_children(&mut frag, target, &v).map_err(bad)?;
            }
            SchemaNodeKind::List => {
                // The whole list: an array of entries parsed beneath the list's parent.
                let parent = parent_path(target);
                let mut v = unwrap_named(value, snode.name());
                if !v.is_array() {
                    v = Value::Array(vec![v]);
                }
                coerce(&mut v, snode);
                let member = if parent == "/" {
                    format!("{}:{}", snode.module().name(), snode.name())
                } else {
                    snode.name().to_string()
                };
                let wrapped = serde_json::json!({ member: v });
                if parent == "/" {
                    ffi::parse_json_under(self.schema, &mut frag, None, &wrapped.to_string())
                        .map_err(bad)?;
                } else {
                    new_path(&mut frag, &parent, None)?;
                    self.parse_children(&mut frag, &parent, &wrapped)
                        .map_err(bad)?;
                }
            }
            _ => {
                return Err(ModelError::Path {
                    path: target.to_string(),
                    message: "not a data node".into(),
                });
            }
        }
        Ok(frag)
    }

    fn parse_children(
        &self,
        frag: &mut DataTree<'static>,
        at: &str,
        value: &Value,
    ) -> Result<(), Vec<ValidationError>> {
        if !value.is_object() {
            return Err(vec![ValidationError {
                path: Some(at.to_string()),
                message: format!("expected a JSON object, got {value}"),
                app_tag: None,
            }]);
        }
        let text = value.to_string();
        let schema = self.schema;
        // The parent exists: it was just created with new_path.
        let Ok(parent) = frag.find_path(at) else {
            ffi::clear_errors(schema.raw());
            return Err(vec![ValidationError {
                path: Some(at.to_string()),
                message: "cannot create node".into(),
                app_tag: None,
            }]);
        };
        let parent_raw = parent.as_raw();
        ffi::parse_json_under(schema, frag, Some(parent_raw), &text)
    }

    /// The outermost node on the way to `target` that does not exist yet, or `target` itself.
    fn anchor_of(&self, target: &str) -> String {
        for p in path::prefixes(target) {
            if !self.exists(&p) {
                return p;
            }
        }
        target.to_string()
    }

    fn exists(&self, p: &str) -> bool {
        !self.nodes_at(p).is_empty()
    }

    /// Data nodes at a data path: one for a keyed path, every entry for a list path.
    fn nodes_at(&self, p: &str) -> Vec<DataNodeRef<'_>> {
        if p == "/" {
            return self
                .tree
                .reference()
                .map(|r| r.inclusive_siblings().collect())
                .unwrap_or_default();
        }
        let out = match self.tree.find_xpath(p) {
            Ok(set) => set.collect(),
            Err(_) => Vec::new(),
        };
        ffi::clear_errors(self.schema.raw());
        out
    }

    fn copy_at(&self, p: &str) -> Vec<DataTree<'static>> {
        if p == "/" {
            return self.tree.duplicate().into_iter().collect();
        }
        self.nodes_at(p)
            .iter()
            .filter_map(|n| ffi::dup_with_parents(self.schema, n.as_raw()))
            .collect()
    }

    fn remove_at(&mut self, p: &str) {
        let raws: Vec<_> = self.nodes_at(p).iter().map(|n| n.as_raw()).collect();
        for raw in raws {
            ffi::free_subtree(&mut self.tree, raw);
        }
    }

    fn remove_modules(&mut self, modules: &BTreeSet<String>) {
        let raws: Vec<_> = self
            .nodes_at("/")
            .iter()
            .filter(|n| modules.contains(n.schema().module().name()))
            .map(|n| n.as_raw())
            .collect();
        for raw in raws {
            ffi::free_subtree(&mut self.tree, raw);
        }
    }

    fn undo_all(&mut self, undo: Vec<Undo>) {
        for u in undo.into_iter().rev() {
            if u.anchor == "/" {
                let all: BTreeSet<String> = self
                    .schema
                    .modules()
                    .iter()
                    .map(|m| m.name.to_string())
                    .collect();
                self.remove_modules(&all);
            } else {
                self.remove_at(&u.anchor);
            }
            for saved in &u.saved {
                // Merging a copy of what was there cannot fail: it was valid before.
                let _ = self.tree.merge(saved);
            }
        }
        ffi::clear_errors(self.schema.raw());
    }

    /// Explicitly set leaves under `p` (implicit defaults excluded), by data path.
    fn collect_under(&self, p: &str, out: &mut BTreeMap<String, String>) {
        for n in self.nodes_at(p) {
            collect_leaves(&n, out);
        }
    }

    /// Every explicitly set leaf: what persistence stores.
    pub fn leaves(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        self.collect_under("/", &mut out);
        out
    }

    /// Applies recorded leaf changes (forwards, or backwards with `reversed`) as one
    /// validated transaction: rollback and replay of the commit log.
    pub fn apply_leaf_changes(
        &mut self,
        changes: &[LeafChange],
    ) -> Result<Vec<LeafChange>, ModelError> {
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
            let v = c.new.clone().map(Value::String).unwrap_or(Value::Null);
            edits.push(Edit::update(c.path.clone(), v));
        }
        self.apply(&edits)
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

    /// Loads a tree saved by [`ConfigTree::to_lyb`] (trusted: it was valid when saved) and adds
    /// the defaults.
    pub fn from_lyb(schema: &'static Schema, bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.is_empty() {
            return Ok(ConfigTree::new(schema));
        }
        let parsed = DataTree::parse_string(
            schema.context(),
            bytes,
            DataFormat::LYB,
            DataParserFlags::NO_VALIDATION | DataParserFlags::STRICT,
            DataValidationFlags::empty(),
        );
        ffi::clear_errors(schema.raw());
        let mut t = ConfigTree {
            schema,
            tree: parsed.map_err(|e| ModelError::Internal(format!("snapshot: {e}")))?,
        };
        if !ffi::add_defaults(schema, &mut t.tree) {
            return Err(ModelError::Internal("adding defaults failed".into()));
        }
        Ok(t)
    }

    /// Replays recorded leaf changes without validation (they were validated when
    /// committed): the store's boot from a snapshot plus the commits made after it.
    pub fn replay_trusted(&mut self, changes: &[LeafChange]) -> Result<(), ModelError> {
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
        if !ffi::add_defaults(self.schema, &mut self.tree) {
            return Err(ModelError::Internal("adding defaults failed".into()));
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
        for n in self.nodes_at("/") {
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

    /// The configuration as the generated typed datastore.
    pub fn typed(&self) -> Result<crate::Datastore, ModelError> {
        let json = self.to_json(true)?;
        serde_json::from_str(&json)
            .map_err(|e| ModelError::Internal(format!("typed datastore: {e}")))
    }
}

fn collect_leaves(n: &DataNodeRef<'_>, out: &mut BTreeMap<String, String>) {
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

fn normalize_root(p: &str) -> String {
    let t = p.trim();
    if t.is_empty() || t == "/" {
        "/".into()
    } else {
        t.trim_end_matches('/').to_string()
    }
}

/// The data path of the parent of `p` (`/` at the top).
pub fn parent_path(p: &str) -> String {
    let segs = path::segments(p);
    if segs.len() <= 1 {
        return "/".into();
    }
    segs[..segs.len() - 1]
        .iter()
        .map(|s| format!("/{s}"))
        .collect()
}

/// Accepts `{"enabled": true}` or `{"tether-link-state:enabled": true}` where `true` is meant:
/// some clients wrap the value of a node in an object named after it.
fn unwrap_named(value: Value, name: &str) -> Value {
    let named = |k: &String| k == name || k.rsplit_once(':').is_some_and(|(_, n)| n == name);
    match value {
        Value::Object(mut m) if m.len() == 1 && m.keys().next().is_some_and(named) => {
            let k = m.keys().next().cloned().unwrap_or_default();
            m.remove(&k).unwrap_or(Value::Null)
        }
        v => v,
    }
}
