//! Edits: what a Set operation or an edit-config asks for, and how one of them is applied to
//! a data tree. The transaction around them (a candidate, validation, the change set, the
//! install) is in `transaction.rs`.

use std::collections::BTreeSet;

use serde_json::Value;
use yang3::data::{Data, DataTree};
use yang3::schema::{SchemaNode, SchemaNodeKind};

use crate::coerce::{coerce, coerce_children, scalar_text};
use crate::config::ConfigTree;
use crate::error::{ModelError, ValidationError};
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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

/// Adds `anchor` to a set of disjoint subtrees: dropped when one of them already holds it,
/// replacing those it holds.
pub(crate) fn add_anchor(anchors: &mut Vec<String>, anchor: String) {
    if anchors.iter().any(|a| path::is_under(&anchor, a)) {
        return;
    }
    anchors.retain(|a| !path::is_under(a, &anchor));
    anchors.push(anchor);
}

impl ConfigTree {
    /// Applies one edit to this tree in place, without validation, and adds the subtree it
    /// may have changed to `anchors`: the node it replaced, or the outermost node on its way
    /// that did not exist. Only ever called on a candidate, never on a tree readers see; an
    /// error leaves the candidate in an unspecified state and it is dropped.
    pub(crate) fn apply_one(
        &mut self,
        edit: &Edit,
        anchors: &mut Vec<String>,
    ) -> Result<(), ModelError> {
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
        // Build the value in a tree of its own before touching this one.
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
        let anchor = if snode.is_none() {
            "/".to_string()
        } else {
            self.anchor_of(&target)
        };
        add_anchor(anchors, anchor);
        if matches!(edit.op, EditOp::Delete | EditOp::Replace) {
            if snode.is_none() {
                let all: BTreeSet<String> = self.schema().module_names();
                self.remove_modules(&all);
            } else {
                self.remove_at(&target);
            }
        }
        if let Some(f) = fragment {
            self.tree_mut().merge(&f).map_err(|e| ModelError::Value {
                path: target.clone(),
                message: e.to_string(),
            })?;
        }
        ffi::clear_errors(self.schema().raw());
        Ok(())
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
            let ctx = self.schema().context();
            for (key, value) in keys {
                let leaf = format!("{schema_config}/{key}");
                let has_leaf = ctx.find_path(&leaf).is_ok();
                self.schema().clear_errors();
                if !has_leaf {
                    continue;
                }
                let data = format!("{prefix}/config/{key}");
                let present = frag.find_path(&data).is_ok();
                self.schema().clear_errors();
                if !present {
                    let _ = frag.new_path(&data, Some(&value), false);
                    self.schema().clear_errors();
                }
            }
        }
    }

    /// Resolves the schema node of a data path; None for the root.
    pub(crate) fn schema_node(
        &self,
        target: &str,
    ) -> Result<Option<SchemaNode<'static>>, ModelError> {
        if target == "/" {
            return Ok(None);
        }
        if path::top_module(target).is_none() {
            return Err(ModelError::Path {
                path: target.to_string(),
                message: "the first element must be qualified with its module name".into(),
            });
        }
        let ctx = self.schema().context();
        let found = ctx.find_path(&path::schema_path(target));
        ffi::clear_errors(self.schema().raw());
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
        let ctx = self.schema().context();
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
                ffi::clear_errors(self.schema().raw());
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
                        match self.schema().module_of_top_level(&k) {
                            Some(m) => format!("{m}:{k}"),
                            None => k,
                        }
                    };
                    if let Some((m, n)) = k.split_once(':') {
                        if let Ok(s) = ctx.find_path(&format!("/{m}:{n}")) {
                            coerce(&mut v, &s);
                        }
                        ffi::clear_errors(self.schema().raw());
                    }
                    (k, v)
                })
                .collect();
            ffi::parse_json_under(
                self.schema(),
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
                    ffi::parse_json_under(self.schema(), &mut frag, None, &wrapped.to_string())
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
        let schema = self.schema();
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
        ffi::parse_json_under(schema, frag, Some(parent_raw), &text).map_err(|errs| {
            errs.into_iter()
                .map(|mut e| {
                    e.path = e.path.map(|p| beneath(at, &p));
                    e
                })
                .collect()
        })
    }
}

/// libyang names a node it could not parse beneath an existing parent by its path from the
/// parse's own root (`/tether-link-state:group/id` for a value given at
/// `/tether-link-state:link-state/groups`); a client must see the whole path it wrote.
/// `at` is the parent's data path. A path that already starts at the root of `at` is kept.
fn beneath(at: &str, libyang_path: &str) -> String {
    use tether_syntax::data_path::{parse, print};
    let at_segs = parse(at);
    let mut rel = parse(libyang_path);
    let (Some(root), Some(first)) = (at_segs.first(), rel.first_mut()) else {
        return libyang_path.to_string();
    };
    if first.module == root.module && first.name == root.name {
        return libyang_path.to_string();
    }
    // The module the parent's last node is in: the first relative node keeps its prefix only
    // when it is another module's (an augment), as libyang writes paths.
    let parent_module = at_segs.iter().rev().find_map(|s| s.module);
    if first.module == parent_module {
        first.module = None;
    }
    format!("{}{}", at.trim_end_matches('/'), print(&rel))
}

pub(crate) fn normalize_root(p: &str) -> String {
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
