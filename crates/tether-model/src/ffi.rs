//! The few libyang calls yang3 does not wrap: validation that reports every error, parsing
//! JSON beneath an existing node, and reading libyang's error list. Every `unsafe` block of
//! Tether lives in this file.

use std::ffi::{CStr, CString};

use libyang3_sys as ly;
use yang3::context::Context;
use yang3::data::{Data, DataNodeRef, DataTree};
use yang3::utils::Binding;

use crate::error::ValidationError;
use crate::schema::Schema;

/// Makes libyang keep every error of an operation, not only the last, so that a client
/// learns all that is wrong with its request at once.
pub(crate) fn store_all_errors() {
    // SAFETY: sets a process-wide option; no pointers involved.
    unsafe {
        ly::ly_log_options(ly::LY_LOSTORE);
    }
}

/// Drains the errors libyang recorded for this thread and context.
pub(crate) fn take_errors(raw: *mut ly::ly_ctx) -> Vec<ValidationError> {
    let mut out = Vec::new();
    // SAFETY: ly_err_first returns this thread's error list for `raw` (or null); each item is
    // valid until ly_err_clean, which we call after copying everything out.
    unsafe {
        let mut e = ly::ly_err_first(raw);
        while !e.is_null() {
            let item = &*e;
            if item.level == ly::LY_LOG_LEVEL::LY_LLERR {
                out.push(ValidationError {
                    path: opt_str(item.data_path).or_else(|| opt_str(item.schema_path)),
                    message: opt_str(item.msg)
                        .unwrap_or_else(|| format!("libyang error {}", item.err)),
                    app_tag: opt_str(item.apptag),
                });
            }
            e = item.next;
        }
        ly::ly_err_clean(raw, std::ptr::null_mut());
    }
    out
}

/// Discards recorded errors (after an expected failure such as a lookup of an absent node).
pub(crate) fn clear_errors(raw: *mut ly::ly_ctx) {
    // SAFETY: cleaning the error list of a live context.
    unsafe { ly::ly_err_clean(raw, std::ptr::null_mut()) }
}

/// The raw context pointer, recovered without a struct-layout assumption: yang3 lets a
/// `Context` be taken apart (`into_raw`) and rebuilt (`Binding::from_raw`), so the schema
/// keeps the raw pointer it was built from (see `Schema::load`).
pub(crate) struct CtxPtr(pub(crate) *mut ly::ly_ctx);

// SAFETY: a compiled libyang context is immutable after loading and libyang documents it as
// safe to share between threads for data operations; errors are kept per thread.
unsafe impl Send for CtxPtr {}
// SAFETY: as above.
unsafe impl Sync for CtxPtr {}

/// Rebuilds a `Context` around `raw` after `into_raw`.
///
/// # Safety
/// `raw` must come from `Context::into_raw` and be wrapped exactly once.
pub(crate) unsafe fn context_from_raw(raw: *mut ly::ly_ctx) -> Context {
    // SAFETY: per the caller's contract.
    unsafe { <Context as Binding>::from_raw(&(), raw) }
}

fn opt_str(p: *const std::os::raw::c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: libyang error strings are NUL-terminated.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Validates the data of `module` in `tree` (RFC 7950 §8), reporting every error. Adds
/// default nodes as a side effect, as libyang does.
pub(crate) fn validate_module(
    schema: &'static Schema,
    tree: &mut DataTree<'static>,
    module: &str,
) -> Result<(), Vec<ValidationError>> {
    let ctx = schema.context();
    let raw_ctx = schema.raw();
    let Some(m) = ctx.get_module_implemented(module) else {
        return Err(vec![ValidationError {
            path: None,
            message: format!("unknown module {module}"),
            app_tag: None,
        }]);
    };
    clear_errors(raw_ctx);
    let opts = ly::LYD_VALIDATE_NO_STATE | ly::LYD_VALIDATE_MULTI_ERROR;
    let mut raw = tree_raw(tree);
    // SAFETY: `raw` is the first sibling of a tree we own exclusively (&mut); libyang may
    // replace the first sibling (defaults added), which we write back below.
    let ret = unsafe { ly::lyd_validate_module(&mut raw, m.as_raw(), opts, std::ptr::null_mut()) };
    set_tree_raw(tree, raw);
    if ret == ly::LY_ERR::LY_SUCCESS {
        clear_errors(raw_ctx);
        Ok(())
    } else {
        let mut errs = take_errors(raw_ctx);
        if errs.is_empty() {
            errs.push(ValidationError {
                path: None,
                message: format!("validation failed ({ret})"),
                app_tag: None,
            });
        }
        Err(errs)
    }
}

/// Parses RFC 7951 JSON as children of `parent` (or as top-level nodes when `parent` is
/// None), without validation: the caller validates the whole resulting datastore.
pub(crate) fn parse_json_under(
    schema: &'static Schema,
    tree: &mut DataTree<'static>,
    parent: Option<*mut ly::lyd_node>,
    json: &str,
) -> Result<(), Vec<ValidationError>> {
    let ctx = schema.context();
    let raw_ctx = schema.raw();
    let Ok(text) = CString::new(json) else {
        return Err(vec![ValidationError {
            path: None,
            message: "JSON contains a NUL byte".into(),
            app_tag: None,
        }]);
    };
    clear_errors(raw_ctx);
    let mut input = std::ptr::null_mut();
    // SAFETY: `text` outlives `input`, which is freed below.
    let ret = unsafe { ly::ly_in_new_memory(text.as_ptr(), &mut input) };
    if ret != ly::LY_ERR::LY_SUCCESS {
        return Err(take_errors(raw_ctx));
    }
    let parent_raw = parent.unwrap_or(std::ptr::null_mut());
    let mut out = std::ptr::null_mut();
    let opts = ly::LYD_PARSE_ONLY | ly::LYD_PARSE_STRICT | ly::LYD_PARSE_NO_STATE;
    // SAFETY: ctx and parent (a node of `tree`, which we hold mutably) are live; `out` receives
    // a new tree when there is no parent, otherwise the nodes are linked under `parent`.
    let ret = unsafe {
        let r = ly::lyd_parse_data(
            raw_ctx,
            parent_raw,
            input,
            ly::LYD_FORMAT::LYD_JSON,
            opts,
            0,
            &mut out,
        );
        ly::ly_in_free(input, 0);
        r
    };
    if ret != ly::LY_ERR::LY_SUCCESS {
        if parent.is_none() && !out.is_null() {
            // SAFETY: a partial tree we own and nobody references.
            unsafe { ly::lyd_free_all(out) };
        }
        let mut errs = take_errors(raw_ctx);
        if errs.is_empty() {
            errs.push(ValidationError {
                path: None,
                message: format!("JSON not accepted ({ret})"),
                app_tag: None,
            });
        }
        return Err(errs);
    }
    if parent.is_none() && !out.is_null() {
        // SAFETY: `out` is a fresh tree we now own; wrapping it hands ownership to `parsed`.
        let parsed = unsafe { owned_tree(ctx, out) };
        tree.merge(&parsed).map_err(|e| {
            vec![ValidationError {
                path: e.path.clone(),
                message: e.to_string(),
                app_tag: e.apptag.clone(),
            }]
        })?;
    }
    Ok(())
}

/// # Safety
/// `raw` must be a tree no one else owns.
unsafe fn owned_tree(ctx: &'static Context, raw: *mut ly::lyd_node) -> DataTree<'static> {
    // SAFETY: per the caller's contract.
    unsafe { DataTree::from_raw(ctx, raw) }
}

fn tree_raw(tree: &DataTree<'static>) -> *mut ly::lyd_node {
    Data::raw(tree)
}

fn set_tree_raw(tree: &mut DataTree<'static>, raw: *mut ly::lyd_node) {
    let ctx = Data::context(tree);
    // The old root pointer is not freed: libyang re-linked it into the same sibling list, so
    // the old wrapper is dismantled with `into_raw` (no Drop) and a new one built.
    let old = std::mem::replace(tree, DataTree::new(ctx));
    let _ = old.into_raw();
    let first = if raw.is_null() {
        raw
    } else {
        // SAFETY: `raw` is a node of the tree we owned before, now re-rooted.
        unsafe { ly::lyd_first_sibling(raw) }
    };
    // SAFETY: ownership moves from the dismantled wrapper to this one.
    *tree = unsafe { DataTree::from_raw(ctx, first) };
}

/// Whether libyang added this node itself as a schema default (RFC 7950 §7.6.1), as opposed
/// to a node a client set — even to the default value. Only the latter are persisted.
pub(crate) fn is_implicit_default(node: &DataNodeRef<'_>) -> bool {
    // SAFETY: reading the flags word of a live node.
    unsafe { (*node.as_raw()).flags & ly::LYD_DEFAULT != 0 }
}

/// Frees the subtree rooted at `node`, keeping `tree`'s root pointer valid when `node` is its
/// first top-level node.
pub(crate) fn free_subtree(tree: &mut DataTree<'static>, node: *mut ly::lyd_node) {
    let root = tree_raw(tree);
    if node == root {
        // SAFETY: `node` is a live top-level node of `tree`; its `next` is the following sibling
        // or null.
        let next = unsafe { (*node).next };
        // SAFETY: unlinks and frees a subtree of a tree we hold mutably.
        unsafe { ly::lyd_free_tree(node) };
        set_tree_raw(tree, next);
    } else {
        // SAFETY: as above; the root pointer is unaffected.
        unsafe { ly::lyd_free_tree(node) };
    }
}

/// Links a detached subtree under `parent`.
pub(crate) fn insert_child(parent: *mut ly::lyd_node, node: *mut ly::lyd_node) -> bool {
    // SAFETY: both live; `node` is detached.
    unsafe { ly::lyd_insert_child(parent, node) == ly::LY_ERR::LY_SUCCESS }
}

/// Frees a detached subtree.
pub(crate) fn free_detached(node: *mut ly::lyd_node) {
    // SAFETY: `node` is detached (a fresh copy not linked anywhere) and nothing references it.
    unsafe { ly::lyd_free_tree(node) }
}

// ===== Schema introspection (the dependency analysis of `deps.rs`) =====

/// A compiled schema node, by address: the identity the dependency analysis works with.
/// Only ever dereferenced here, while the process-wide context (which owns every compiled
/// node and is never freed) is alive.
pub(crate) type SchemaPtr = *const ly::lysc_node;

/// The parent of a compiled schema node (null at the top; choice and case nodes included).
pub(crate) fn schema_parent(node: SchemaPtr) -> SchemaPtr {
    // SAFETY: compiled nodes of the static context live as long as the process.
    unsafe { (*node).parent as SchemaPtr }
}

/// The node type (`LYS_CONTAINER`, `LYS_LIST`, ...) and flags of a compiled schema node.
pub(crate) fn schema_kind(node: SchemaPtr) -> (u32, u32) {
    // SAFETY: as above.
    unsafe { (u32::from((*node).nodetype), u32::from((*node).flags)) }
}

/// Whether a list's entries are independent of each other as far as the list itself goes:
/// keyed, ordered by the system, no `unique`, no `min-elements` or `max-elements`.
pub(crate) fn list_is_plain(node: SchemaPtr) -> bool {
    let (kind, flags) = schema_kind(node);
    if kind != ly::LYS_LIST || flags & (ly::LYS_KEYLESS | ly::LYS_ORDBY_USER) != 0 {
        return false;
    }
    // SAFETY: the node is a list, so it is a `lysc_node_list`.
    let l = unsafe { &*(node as *const ly::lysc_node_list) };
    l.uniques.is_null() && l.min == 0 && l.max == u32::MAX
}

/// The data children of a compiled schema node: its children, with `choice` and `case`
/// looked through.
pub(crate) fn schema_data_children(node: SchemaPtr) -> Vec<SchemaPtr> {
    fn walk(first: SchemaPtr, out: &mut Vec<SchemaPtr>) {
        let mut c = first;
        while !c.is_null() {
            let (kind, _) = schema_kind(c);
            if kind == ly::LYS_CHOICE || kind == ly::LYS_CASE {
                // SAFETY: a compiled node of the static context.
                walk(unsafe { ly::lysc_node_child(c) }, out);
            } else {
                out.push(c);
            }
            // SAFETY: as above; `next` is null after the last sibling.
            c = unsafe { (*c).next };
        }
    }
    let mut out = Vec::new();
    // SAFETY: as above.
    walk(unsafe { ly::lysc_node_child(node) }, &mut out);
    out
}

/// The name of the module a compiled schema node belongs to.
pub(crate) fn schema_module_name(node: SchemaPtr) -> Option<String> {
    // SAFETY: compiled nodes and their modules live as long as the static context.
    unsafe {
        let m = (*node).module;
        if m.is_null() {
            None
        } else {
            opt_str((*m).name)
        }
    }
}

/// The schema path of a compiled node (`/module:a/b/c`).
pub(crate) fn schema_path_of(node: SchemaPtr) -> String {
    // SAFETY: `lysc_path` allocates the string (buffer null), which is freed after copying.
    unsafe {
        let p = ly::lysc_path(
            node,
            ly::LYSC_PATH_TYPE::LYSC_PATH_DATA,
            std::ptr::null_mut(),
            0,
        );
        let out = opt_str(p).unwrap_or_default();
        if !p.is_null() {
            ly::free(p as *mut std::os::raw::c_void);
        }
        out
    }
}

/// What the expressions attached to one schema node (its `must`s, its `when`s, and the
/// leafref paths of its type) may read, as the schema nodes libyang's XPath atomizer visits.
pub(crate) struct NodeExprs {
    /// Every schema node an expression of this node touches.
    pub(crate) atoms: Vec<SchemaPtr>,
    /// The node has a `when`.
    pub(crate) has_when: bool,
    /// The node holds a value whose target cannot be known from the schema
    /// (instance-identifier), or an expression libyang could not atomize.
    pub(crate) opaque: bool,
}

/// The expressions of `node`, atomized by libyang.
pub(crate) fn node_exprs(node: SchemaPtr) -> NodeExprs {
    let mut out = NodeExprs {
        atoms: Vec::new(),
        has_when: false,
        opaque: false,
    };
    // SAFETY: `node` is a compiled node of the static context; the arrays read are libyang
    // sized arrays (count in the word before the first element), valid for the context's
    // lifetime; every set libyang returns is freed after copying.
    unsafe {
        let module = (*node).module;
        let musts = ly::lysc_node_musts(node);
        for i in 0..array_count(musts as *const u8) {
            let m = &*musts.add(i);
            atomize(node, module, m.cond, m.prefixes, &mut out);
        }
        let whens = ly::lysc_node_when(node);
        for i in 0..array_count(whens as *const u8) {
            let w = &**whens.add(i);
            out.has_when = true;
            let ctx = if w.context.is_null() {
                (*node).parent as SchemaPtr
            } else {
                w.context as SchemaPtr
            };
            atomize(ctx, module, w.cond, w.prefixes, &mut out);
        }
        let nodetype = u32::from((*node).nodetype);
        if nodetype == ly::LYS_LEAF || nodetype == ly::LYS_LEAFLIST {
            let ty = if nodetype == ly::LYS_LEAF {
                (*(node as *const ly::lysc_node_leaf)).type_
            } else {
                (*(node as *const ly::lysc_node_leaflist)).type_
            };
            type_exprs(node, module, ty, &mut out);
        }
    }
    out
}

/// # Safety
/// `ty` is a compiled type of `node`.
unsafe fn type_exprs(
    node: SchemaPtr,
    module: *mut ly::lys_module,
    ty: *const ly::lysc_type,
    out: &mut NodeExprs,
) {
    if ty.is_null() {
        return;
    }
    // SAFETY: per the caller's contract; the base type says which struct `ty` is.
    unsafe {
        match (*ty).basetype {
            ly::LY_DATA_TYPE::LY_TYPE_LEAFREF => {
                let lr = &*(ty as *const ly::lysc_type_leafref);
                atomize(node, module, lr.path, lr.prefixes, out);
            }
            ly::LY_DATA_TYPE::LY_TYPE_UNION => {
                let u = &*(ty as *const ly::lysc_type_union);
                for i in 0..array_count(u.types as *const u8) {
                    type_exprs(node, module, *u.types.add(i), out);
                }
            }
            ly::LY_DATA_TYPE::LY_TYPE_INST => out.opaque = true,
            _ => {}
        }
    }
}

/// # Safety
/// The pointers are parts of one compiled expression of the static context.
unsafe fn atomize(
    ctx_node: SchemaPtr,
    module: *mut ly::lys_module,
    expr: *mut ly::lyxp_expr,
    prefixes: *mut ly::lysc_prefix,
    out: &mut NodeExprs,
) {
    if expr.is_null() {
        return;
    }
    let mut set: *mut ly::ly_set = std::ptr::null_mut();
    // SAFETY: per the caller's contract; `set` is allocated by libyang and freed here.
    unsafe {
        let ret = ly::lys_find_expr_atoms(ctx_node, module, expr, prefixes, 0, &mut set);
        if ret != ly::LY_ERR::LY_SUCCESS || set.is_null() {
            out.opaque = true;
            ly::ly_err_clean((*module).ctx, std::ptr::null_mut());
            return;
        }
        let s = &*set;
        for i in 0..s.count as usize {
            out.atoms
                .push(*s.__bindgen_anon_1.snodes.add(i) as SchemaPtr);
        }
        ly::ly_set_free(set, None);
    }
}

/// LY_ARRAY_COUNT: libyang keeps a sized array's length in the 64-bit word before it.
///
/// # Safety
/// `array` is null or a libyang sized array.
unsafe fn array_count(array: *const u8) -> usize {
    if array.is_null() {
        0
    } else {
        // SAFETY: per the caller's contract.
        unsafe { (array as *const u64).sub(1).read() as usize }
    }
}

/// The compiled schema node of a data node.
pub(crate) fn data_schema(node: &DataNodeRef<'_>) -> SchemaPtr {
    // SAFETY: reading the schema pointer of a live data node.
    unsafe { (*node.as_raw()).schema }
}

// ===== Copying and moving data subtrees (the candidate of `candidate.rs`) =====

/// A copy of one data node with its flags (so implicit defaults stay implicit), linked under
/// `parent` when given; with `recursive` its whole subtree, otherwise the node alone (a list
/// entry keeps its keys). Returns the copy.
pub(crate) fn dup_node(
    node: *mut ly::lyd_node,
    parent: Option<*mut ly::lyd_node>,
    recursive: bool,
) -> Option<*mut ly::lyd_node> {
    let mut opts = ly::LYD_DUP_WITH_FLAGS;
    if recursive {
        opts |= ly::LYD_DUP_RECURSIVE;
    }
    let mut dup = std::ptr::null_mut();
    let parent = parent.map(|p| p as *mut ly::lyd_node_inner);
    // SAFETY: `node` is live; the copy is linked under `parent` (a live inner node of a tree
    // the caller holds mutably) or is a new top-level node the caller takes ownership of.
    let ret =
        unsafe { ly::lyd_dup_single(node, parent.unwrap_or(std::ptr::null_mut()), opts, &mut dup) };
    (ret == ly::LY_ERR::LY_SUCCESS && !dup.is_null()).then_some(dup)
}

/// Whether a data node is a list key (copied with its entry).
pub(crate) fn is_key(node: &DataNodeRef<'_>) -> bool {
    let s = data_schema(node);
    !s.is_null() && schema_kind(s).1 & ly::LYS_KEY != 0
}

/// Links a detached node as the last top-level sibling of `tree`.
pub(crate) fn insert_top(tree: &mut DataTree<'static>, node: *mut ly::lyd_node) -> bool {
    let root = tree_raw(tree);
    if root.is_null() {
        set_tree_raw(tree, node);
        return true;
    }
    let mut first = std::ptr::null_mut();
    // SAFETY: `root` is the first sibling of a tree we hold mutably, `node` is detached.
    let ret = unsafe { ly::lyd_insert_sibling(root, node, &mut first) };
    if ret == ly::LY_ERR::LY_SUCCESS {
        set_tree_raw(tree, first);
        true
    } else {
        false
    }
}

/// Takes a copy of `node` out of another tree and links it at the top of `tree` or under
/// `parent` of `tree`: the install step of a prepared transaction.
pub(crate) fn graft_copy(
    tree: &mut DataTree<'static>,
    parent: Option<*mut ly::lyd_node>,
    node: *mut ly::lyd_node,
) -> bool {
    let Some(dup) = dup_node(node, None, true) else {
        return false;
    };
    let ok = match parent {
        Some(p) => insert_child(p, dup),
        None => insert_top(tree, dup),
    };
    if !ok {
        free_detached(dup);
    }
    ok
}

/// An extension instance on a compiled schema node: (the module defining the extension, the
/// extension's name, the instance's argument).
pub(crate) fn node_extensions(node: SchemaPtr) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    // SAFETY: `node` is a compiled node of the static context; `exts` is a libyang sized
    // array of compiled instances (kept even for extensions without a plugin), each with its
    // definition; the strings live as long as the context.
    unsafe {
        let exts = (*node).exts;
        for i in 0..array_count(exts as *const u8) {
            let e = &*exts.add(i);
            if e.def.is_null() {
                continue;
            }
            let def = &*e.def;
            let module = if def.module.is_null() {
                None
            } else {
                opt_str((*def.module).name)
            };
            if let (Some(m), Some(n), Some(a)) = (module, opt_str(def.name), opt_str(e.argument)) {
                out.push((m, n, a));
            }
        }
    }
    out
}

/// The base type of the value a leaf or leaf-list entry holds. For a union this is the
/// member type libyang chose when it stored the value (the `realtype` of the union's
/// subvalue), which neither the schema nor the canonical text can tell; for a leafref,
/// libyang already stores the target's type. `None` for any other node.
pub(crate) fn value_base_type(node: &DataNodeRef<'_>) -> Option<ly::LY_DATA_TYPE::Type> {
    let schema = data_schema(node);
    if schema.is_null() {
        return None;
    }
    let (kind, _) = schema_kind(schema);
    if kind != ly::LYS_LEAF && kind != ly::LYS_LEAFLIST {
        return None;
    }
    // SAFETY: a leaf or leaf-list data node is a lyd_node_term; its value, and a union's
    // subvalue chain, live as long as the node.
    unsafe {
        let term = node.as_raw() as *const ly::lyd_node_term;
        let mut value: *const ly::lyd_value = &(*term).value;
        loop {
            let t = (*value).realtype;
            if t.is_null() {
                return None;
            }
            let base = (*t).basetype;
            if base != ly::LY_DATA_TYPE::LY_TYPE_UNION {
                return Some(base);
            }
            let sub = (*value).__bindgen_anon_1.subvalue;
            if sub.is_null() {
                return None;
            }
            value = &(*sub).value;
        }
    }
}

/// The base types a value of `t` can take: `t`'s own, or for a union its members' in
/// order (nested unions flattened), leafrefs resolved to their targets' types.
pub(crate) fn value_base_types(
    t: &yang3::schema::SchemaLeafType<'_>,
) -> Vec<ly::LY_DATA_TYPE::Type> {
    fn walk(raw: *const ly::lysc_type, out: &mut Vec<ly::LY_DATA_TYPE::Type>) {
        if raw.is_null() {
            return;
        }
        // SAFETY: compiled types of the static context live as long as the process; a
        // union is a lysc_type_union whose `types` is a libyang sized array, a leafref a
        // lysc_type_leafref with its resolved realtype.
        unsafe {
            match (*raw).basetype {
                ly::LY_DATA_TYPE::LY_TYPE_UNION => {
                    let types = (*(raw as *const ly::lysc_type_union)).types;
                    for i in 0..array_count(types as *const u8) {
                        walk(*types.add(i), out);
                    }
                }
                ly::LY_DATA_TYPE::LY_TYPE_LEAFREF => {
                    walk((*(raw as *const ly::lysc_type_leafref)).realtype, out);
                }
                b => out.push(b),
            }
        }
    }
    let mut out = Vec::new();
    walk(t.as_raw(), &mut out);
    out
}
