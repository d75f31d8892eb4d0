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

/// A recursive copy of `node` with its ancestors, as a tree of its own (the undo record of an
/// edit).
pub(crate) fn dup_with_parents(
    schema: &'static Schema,
    node: *mut ly::lyd_node,
) -> Option<DataTree<'static>> {
    let mut dup = std::ptr::null_mut();
    let opts = ly::LYD_DUP_RECURSIVE | ly::LYD_DUP_WITH_PARENTS | ly::LYD_DUP_WITH_FLAGS;
    // SAFETY: `node` is live; the copy is a new tree we own.
    let ret = unsafe { ly::lyd_dup_single(node, std::ptr::null_mut(), opts, &mut dup) };
    if ret != ly::LY_ERR::LY_SUCCESS || dup.is_null() {
        clear_errors(schema.raw());
        return None;
    }
    let mut top = dup;
    // SAFETY: walking parent links of the fresh copy up to its top-level node.
    unsafe {
        while !(*top).parent.is_null() {
            top = (*top).parent as *mut ly::lyd_node;
        }
        Some(owned_tree(schema.context(), top))
    }
}

/// Detaches a subtree from its parent (it stays allocated and owned by the caller until
/// re-inserted or freed). Used to hide untouched bulk list entries from validation.
pub(crate) fn unlink(node: *mut ly::lyd_node) {
    // SAFETY: `node` is a live non-top-level node of a tree the caller holds mutably.
    unsafe {
        ly::lyd_unlink_tree(node);
    }
}

/// Re-inserts a detached subtree under `parent`.
pub(crate) fn insert_child(parent: *mut ly::lyd_node, node: *mut ly::lyd_node) -> bool {
    // SAFETY: both live; `node` is detached.
    unsafe { ly::lyd_insert_child(parent, node) == ly::LY_ERR::LY_SUCCESS }
}

/// Creates an empty inner node `name` (of the parent's module) under `parent`.
pub(crate) fn new_inner(parent: *mut ly::lyd_node, name: &str) -> Option<*mut ly::lyd_node> {
    let cname = CString::new(name).ok()?;
    let mut out = std::ptr::null_mut();
    // SAFETY: `parent` is live; its schema's module is the module of `name`.
    let ret = unsafe {
        let module = (*(*parent).schema).module;
        ly::lyd_new_inner(parent, module, cname.as_ptr(), 0, &mut out)
    };
    (ret == ly::LY_ERR::LY_SUCCESS && !out.is_null()).then_some(out)
}

/// Frees a detached subtree.
pub(crate) fn free_detached(node: *mut ly::lyd_node) {
    // SAFETY: `node` was unlinked (or is a fresh temporary) and nothing references it.
    unsafe { ly::lyd_free_tree(node) }
}

/// Adds schema defaults without validating (boot of data validated when it was committed).
pub(crate) fn add_defaults(schema: &'static Schema, tree: &mut DataTree<'static>) -> bool {
    let mut raw = tree_raw(tree);
    // SAFETY: the tree is ours; libyang may change the first sibling, written back below.
    let ret = unsafe {
        ly::lyd_new_implicit_all(
            &mut raw,
            schema.raw(),
            ly::LYD_IMPLICIT_NO_STATE,
            std::ptr::null_mut(),
        )
    };
    set_tree_raw(tree, raw);
    clear_errors(schema.raw());
    ret == ly::LY_ERR::LY_SUCCESS
}
