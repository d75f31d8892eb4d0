//! gNMI paths ↔ libyang paths.
//!
//! A gNMI `Path` (prefix + path, `origin`, elements with keys, wildcards `*` and `...`) is
//! resolved against the schema into a [`ResolvedPath`]: a list of [`Step`]s whose first named
//! element carries its module. From it come the libyang data path Set edits (no wildcards),
//! the XPath Get and Subscribe evaluate on a data tree, and a matcher for the leaf paths of
//! commit and state events. Every element name is checked against the schema here, so
//! libyang is only ever handed expressions that name real nodes.

use std::collections::HashMap;

use tether_model::Schema;
use tether_proto::gnmi::{Path, PathElem};
use tether_syntax::data_path::quote;
pub(crate) use tether_syntax::data_path::{Segment, key_text, parse as parse_data_path};
use yang3::schema::{SchemaNode, SchemaNodeKind};

use crate::error::GnmiError;

/// Why a path could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Well formed, but the schema has no such node (INVALID_ARGUMENT: a path that names no
    /// schema node is a bad request, not absent data).
    NotInSchema(String),
    /// A module this target does not serve (UNIMPLEMENTED).
    NotServed(String),
    /// Not a usable path (bad characters, keys on a non-list, ...).
    Malformed(String),
}

impl PathError {
    pub fn message(&self) -> &str {
        match self {
            PathError::NotInSchema(m) | PathError::NotServed(m) | PathError::Malformed(m) => m,
        }
    }
}

impl From<PathError> for GnmiError {
    fn from(e: PathError) -> Self {
        match e {
            PathError::NotServed(m) => GnmiError::Unimplemented(m),
            PathError::NotInSchema(m) | PathError::Malformed(m) => GnmiError::InvalidArgument(m),
        }
    }
}

/// One step of a resolved path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A named node. `module` is the module the node belongs to; keys are in schema order and
    /// a key value of `None` is a wildcard (`*`). A list named without keys (`keys` empty,
    /// `list` true) names every entry, as if each key were `*` (path conventions §2.2.1).
    Node {
        module: String,
        name: String,
        keys: Vec<(String, Option<String>)>,
        list: bool,
    },
    /// `*`: any one child.
    AnyChild,
    /// `...`: any number of levels, including none.
    AnyDescendants,
}

impl Step {
    /// Whether the step can match more than one data node.
    fn matches_many(&self) -> bool {
        match self {
            Step::Node { keys, list, .. } => {
                (*list && keys.is_empty()) || keys.iter().any(|(_, v)| v.is_none())
            }
            _ => true,
        }
    }
}

/// A gNMI path resolved against the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedPath {
    pub steps: Vec<Step>,
    /// The `target` of the request's prefix (or path), echoed in responses.
    pub target: String,
}

impl ResolvedPath {
    /// Whether the path names the whole data tree.
    pub fn is_root(&self) -> bool {
        self.steps.iter().all(|s| matches!(s, Step::AnyDescendants))
    }

    /// Whether the path contains `*`, `...`, a wildcard key or a list without keys.
    pub fn has_wildcards(&self) -> bool {
        self.steps.iter().any(Step::matches_many)
    }

    /// The modules the path's named nodes belong to (empty: any).
    pub fn module(&self) -> Option<&str> {
        self.steps.iter().find_map(|s| match s {
            Step::Node { module, .. } => Some(module.as_str()),
            _ => None,
        })
    }

    /// The libyang data path (`/` for the root), for Set. Wildcards are refused, and so is a
    /// list without keys anywhere but at the end (where it names the whole list).
    pub fn data_path(&self) -> Result<String, GnmiError> {
        let last = self.steps.len().saturating_sub(1);
        let wild = self.steps.iter().enumerate().any(|(i, s)| match s {
            Step::Node { keys, list, .. } => {
                keys.iter().any(|(_, v)| v.is_none()) || (*list && keys.is_empty() && i < last)
            }
            _ => true,
        });
        if wild {
            return Err(GnmiError::invalid(format!(
                "{self}: wildcards are not allowed here"
            )));
        }
        if self.steps.is_empty() {
            return Ok("/".into());
        }
        Ok(self.build(self.steps.len()))
    }

    /// The data path of the longest leading part without wildcards (`/` when the first
    /// step is one): everything the path can match lies beneath it.
    pub fn concrete_prefix(&self) -> String {
        let n = self
            .steps
            .iter()
            .position(Step::matches_many)
            .unwrap_or(self.steps.len());
        if n == 0 { "/".into() } else { self.build(n) }
    }

    /// An XPath selecting every data node the path names.
    pub fn xpath(&self) -> String {
        if self.is_root() {
            return "/".into();
        }
        let mut steps = self.steps.as_slice();
        // `/a/...` names `/a` and everything beneath, which a printed `/a` already holds.
        while let Some((Step::AnyDescendants, rest)) = steps.split_last() {
            steps = rest;
        }
        let mut out = String::new();
        for s in steps {
            match s {
                Step::Node {
                    module, name, keys, ..
                } => {
                    out.push('/');
                    out.push_str(module);
                    out.push(':');
                    out.push_str(name);
                    for (k, v) in keys {
                        if let Some(v) = v {
                            out.push_str(&format!("[{k}={}]", quote(v)));
                        }
                    }
                }
                Step::AnyChild => out.push_str("/*"),
                Step::AnyDescendants => out.push('/'),
            }
        }
        out
    }

    fn build(&self, n: usize) -> String {
        data_path_of(&self.steps[..n])
    }

    /// Whether the leaf (or node) at `data_path` is named by this path or lies beneath a
    /// node it names.
    pub fn covers(&self, data_path: &str) -> bool {
        let segs = parse_data_path(data_path);
        covers(&self.steps, &segs, false)
    }

    /// Whether removing the subtree at `data_path` affects what this path names: the
    /// subtree is beneath the path, or the path is beneath the subtree.
    pub fn overlaps(&self, data_path: &str) -> bool {
        let segs = parse_data_path(data_path);
        covers(&self.steps, &segs, true)
    }
}

impl std::fmt::Display for ResolvedPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.steps.is_empty() {
            return f.write_str("/");
        }
        let mut last_module: Option<&str> = None;
        for s in &self.steps {
            match s {
                Step::Node {
                    module, name, keys, ..
                } => {
                    f.write_str("/")?;
                    if last_module != Some(module.as_str()) {
                        write!(f, "{module}:")?;
                    }
                    last_module = Some(module);
                    f.write_str(name)?;
                    for (k, v) in keys {
                        write!(f, "[{k}={}]", v.as_deref().unwrap_or("*"))?;
                    }
                }
                Step::AnyChild => f.write_str("/*")?,
                Step::AnyDescendants => f.write_str("/...")?,
            }
        }
        Ok(())
    }
}

/// The libyang data path of the named steps (wildcard steps are skipped; a wildcard key is
/// written `*`).
fn data_path_of(steps: &[Step]) -> String {
    let mut out = String::new();
    let mut last_module: Option<&str> = None;
    for s in steps {
        if let Step::Node {
            module, name, keys, ..
        } = s
        {
            out.push('/');
            if last_module != Some(module.as_str()) {
                out.push_str(module);
                out.push(':');
            }
            last_module = Some(module);
            out.push_str(name);
            out.push_str(&predicates(keys));
        }
    }
    out
}

/// The data-path predicates of a step's keys (`[k='v']`, `*` for a wildcard key).
fn predicates(keys: &[(String, Option<String>)]) -> String {
    keys.iter()
        .map(|(k, v)| format!("[{k}={}]", quote(v.as_deref().unwrap_or("*"))))
        .collect()
}

/// Whether `steps` name the node at `segs` or one of its ancestors (or, with
/// `ancestors_too`, one of its descendants).
pub(crate) fn covers(steps: &[Step], segs: &[Segment<'_>], ancestors_too: bool) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return true;
    };
    if segs.is_empty() {
        return ancestors_too;
    }
    match step {
        Step::Node { .. } => {
            node_matches(step, &segs[0]) && covers(rest, &segs[1..], ancestors_too)
        }
        Step::AnyChild => covers(rest, &segs[1..], ancestors_too),
        Step::AnyDescendants => (0..=segs.len()).any(|i| covers(rest, &segs[i..], ancestors_too)),
    }
}

/// Whether a named step matches one data-path segment: same name, the module if the
/// segment names one, every key the step gives.
fn node_matches(step: &Step, seg: &Segment<'_>) -> bool {
    let Step::Node {
        module, name, keys, ..
    } = step
    else {
        return false;
    };
    seg.module.is_none_or(|m| m == module.as_str())
        && seg.name == name.as_str()
        && keys.iter().all(|(k, v)| match v {
            None => true,
            Some(v) => seg
                .keys
                .iter()
                .any(|(sk, sv)| *sk == k.as_str() && *sv == v.as_str()),
        })
}

/// How many segments of `segs` lie beyond the node `steps` names (a trailing `...` left
/// out), at the closest match; `None` when `steps` do not reach that far into `segs`. The
/// Depth extension counts levels with it: a leaf directly in the named node is 1 beyond.
pub(crate) fn beyond(steps: &[Step], segs: &[Segment<'_>]) -> Option<usize> {
    let mut steps = steps;
    while let Some((Step::AnyDescendants, rest)) = steps.split_last() {
        steps = rest;
    }
    beyond_from(steps, segs)
}

fn beyond_from(steps: &[Step], segs: &[Segment<'_>]) -> Option<usize> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(segs.len());
    };
    let seg = segs.first()?;
    match step {
        Step::Node { .. } => {
            if node_matches(step, seg) {
                beyond_from(rest, &segs[1..])
            } else {
                None
            }
        }
        Step::AnyChild => beyond_from(rest, &segs[1..]),
        Step::AnyDescendants => (0..=segs.len())
            .filter_map(|i| beyond_from(rest, &segs[i..]))
            .min(),
    }
}

/// The data path of a data node as a gNMI path: first element module-qualified, keys as
/// given.
pub fn to_gnmi(data_path: &str) -> Path {
    let elem = parse_data_path(data_path)
        .into_iter()
        .map(|s| PathElem {
            name: match s.module {
                Some(m) => format!("{m}:{}", s.name),
                None => s.name.to_string(),
            },
            key: s
                .keys
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
        .collect();
    Path {
        elem,
        ..Default::default()
    }
}

// ===== resolution =====

/// Resolves `prefix` + `path` of a request against the schema.
pub fn resolve(
    schema: &'static Schema,
    prefix: Option<&Path>,
    path: Option<&Path>,
) -> Result<ResolvedPath, PathError> {
    let mut elems: Vec<PathElem> = Vec::new();
    let mut origin = String::new();
    let mut target = String::new();
    if let (Some(pre), Some(p)) = (prefix, path)
        && !pre.origin.is_empty()
        && !p.origin.is_empty()
    {
        return Err(PathError::Malformed(format!(
            "origin given in both the prefix ({:?}) and the path ({:?}); a request names it \
             in one of them (gNMI specification 2.7)",
            cap(&pre.origin),
            cap(&p.origin)
        )));
    }
    for p in [prefix, path].into_iter().flatten() {
        if !p.origin.is_empty() {
            origin = p.origin.clone();
        }
        if !p.target.is_empty() && target.is_empty() {
            target = p.target.clone();
        }
        #[allow(deprecated)]
        if p.elem.is_empty() {
            // gNMI < 0.4 clients send plain strings in the deprecated `element` field.
            elems.extend(p.element.iter().map(|e| PathElem {
                name: e.clone(),
                key: HashMap::new(),
            }));
        } else {
            elems.extend(p.elem.iter().cloned());
        }
    }
    let steps = resolve_elems(schema, &origin, &elems)?;
    Ok(ResolvedPath { steps, target })
}

/// A client-given string cut to a length fit for an error message.
fn cap(s: &str) -> &str {
    const MAX: usize = 128;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn text(p: &[PathElem]) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut out = String::new();
    for e in p {
        out.push('/');
        out.push_str(&e.name);
        let mut keys: Vec<_> = e.key.iter().collect();
        keys.sort();
        for (k, v) in keys {
            out.push_str(&format!("[{k}={v}]"));
        }
    }
    out
}

fn resolve_elems(
    schema: &'static Schema,
    origin: &str,
    elems: &[PathElem],
) -> Result<Vec<Step>, PathError> {
    let ctx = schema.context();
    let ours: Vec<&'static str> = schema.modules().iter().map(|m| m.name).collect();
    let whole = if origin.is_empty() {
        text(elems)
    } else {
        format!("{}:{}", cap(origin), text(elems))
    };
    let malformed = |m: String| PathError::Malformed(format!("{whole}: {m}"));
    let unknown = |m: String| PathError::NotInSchema(format!("{whole}: {m}"));

    for e in elems {
        if e.name.is_empty() {
            return Err(malformed("empty element name".into()));
        }
        if e.name.contains(['\0', '/', '[', ']', '\'', '"', ' ']) {
            return Err(malformed(format!("bad element name {:?}", e.name)));
        }
        for (k, v) in &e.key {
            if k.is_empty() || k.contains(['\0', '/', '[', ']', '\'', '"', '=', ' ']) {
                return Err(malformed(format!("bad key name {k:?} in {}", e.name)));
            }
            if v.contains('\0') || (v.contains('\'') && v.contains('"')) {
                return Err(malformed(format!(
                    "key {k} of {}: value holds both quote characters or NUL",
                    e.name
                )));
            }
        }
    }
    let mut steps = Vec::with_capacity(elems.len());
    // The schema nodes the path may be at after each step; None = the root.
    let mut current: Option<Vec<SchemaNode<'static>>> = None;
    // The origins Tether serves: none, or the name of one of its modules (pygnmi's habit).
    // Any other (`openconfig`, `cli`, ...) names a schema this target does not have.
    let origin_module = ours.iter().copied().find(|m| *m == origin);
    if !origin.is_empty() && origin_module.is_none() {
        return Err(PathError::Malformed(format!(
            "{whole}: origin {:?} is not served by this target; use no origin or a module name ({})",
            cap(origin),
            ours.join(", ")
        )));
    }

    for (i, e) in elems.iter().enumerate() {
        let candidates: Vec<SchemaNode<'static>> = match &current {
            None => ours
                .iter()
                .filter_map(|m| ctx.get_module_implemented(m))
                .flat_map(|m| flatten(m.data()))
                .collect(),
            Some(nodes) => nodes.iter().flat_map(|n| flatten(n.children())).collect(),
        };
        match e.name.as_str() {
            "*" => {
                if !e.key.is_empty() {
                    return Err(malformed("keys on a wildcard element".into()));
                }
                steps.push(Step::AnyChild);
                current = Some(candidates);
            }
            "..." => {
                if !e.key.is_empty() {
                    return Err(malformed("keys on a `...` element".into()));
                }
                steps.push(Step::AnyDescendants);
                let mut all = match &current {
                    None => Vec::new(),
                    Some(nodes) => nodes.clone(),
                };
                let mut frontier = candidates;
                while !frontier.is_empty() {
                    let next: Vec<_> = frontier
                        .iter()
                        .flat_map(|n| flatten(n.children()))
                        .collect();
                    all.extend(frontier);
                    frontier = next;
                }
                current = Some(all);
            }
            full => {
                let (module, name) = match full.split_once(':') {
                    Some((m, n)) => {
                        let Some(m) = ours.iter().copied().find(|o| *o == m) else {
                            return Err(PathError::NotServed(format!(
                                "{whole}: module {m} is not served by this target"
                            )));
                        };
                        (Some(m), n)
                    }
                    None => (None, full),
                };
                let module = match (module, i, origin_module) {
                    (Some(m), 0, Some(o)) if m != o => {
                        return Err(malformed(format!(
                            "{full} belongs to module {m}, not to the origin {o}"
                        )));
                    }
                    (Some(m), _, _) => Some(m),
                    (None, 0, Some(o)) => Some(o),
                    (None, 0, None) => match schema.module_of_top_level(name) {
                        Some(m) => Some(m),
                        None => {
                            return Err(unknown(format!("no top-level node {name} in any module")));
                        }
                    },
                    _ => None,
                };
                let matching: Vec<SchemaNode<'static>> = candidates
                    .into_iter()
                    .filter(|n| n.name() == name && module.is_none_or(|m| n.module().name() == m))
                    .collect();
                let Some(first) = matching.first() else {
                    let at = text(&elems[..i]);
                    return Err(unknown(match module {
                        Some(m) => format!("no node {m}:{name} under {at} in the schema"),
                        None => format!("no node {name} under {at} in the schema"),
                    }));
                };
                let node_module = first.module().name().to_string();
                let keys = if e.key.is_empty() {
                    Vec::new()
                } else {
                    if first.kind() != SchemaNodeKind::List {
                        return Err(malformed(format!("{name} is not a list and takes no keys")));
                    }
                    let schema_keys: Vec<String> =
                        first.list_keys().map(|k| k.name().to_string()).collect();
                    for k in e.key.keys() {
                        if !schema_keys.contains(k) {
                            return Err(unknown(format!(
                                "{name} has no key {k} (keys: {})",
                                schema_keys.join(", ")
                            )));
                        }
                    }
                    // Every key of the list, in schema order; one not given is a wildcard,
                    // like `*`, so a step with keys always carries all of them.
                    schema_keys
                        .into_iter()
                        .map(|k| {
                            let v = e.key.get(&k).filter(|v| *v != "*").cloned();
                            (k, v)
                        })
                        .collect()
                };
                steps.push(Step::Node {
                    module: node_module,
                    name: name.to_string(),
                    keys,
                    list: first.kind() == SchemaNodeKind::List,
                });
                current = Some(matching);
            }
        }
        if current.as_ref().is_some_and(|c| c.is_empty()) {
            return Err(unknown(format!(
                "{} names no node in the schema",
                text(&elems[..=i])
            )));
        }
    }
    keys::check(schema, &steps, &whole)?;
    Ok(steps)
}

/// Data-node children, looking through `choice` and `case` (they have no data nodes).
fn flatten<'a>(nodes: impl Iterator<Item = SchemaNode<'a>>) -> Vec<SchemaNode<'a>> {
    let mut out = Vec::new();
    for n in nodes {
        match n.kind() {
            SchemaNodeKind::Choice | SchemaNodeKind::Case => out.extend(flatten(n.children())),
            SchemaNodeKind::Container
            | SchemaNodeKind::Leaf
            | SchemaNodeKind::LeafList
            | SchemaNodeKind::List
            | SchemaNodeKind::AnyData
            | SchemaNodeKind::AnyXml => out.push(n),
            _ => {}
        }
    }
    out
}

mod keys;
#[cfg(test)]
mod tests;
