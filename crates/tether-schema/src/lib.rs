//! Tether's YANG schema as plain Rust: what `build/` generates from the compiled `yang/`
//! modules, with no libyang at run time.
//!
//! What this crate is for: naming the schema. The typed datastore (structs, enums and
//! range-checked newtypes per YANG node, with RFC 7951 serde), the path constants of every
//! container and list, key builders for list entries, and the embedded module texts. A gNMI
//! client such as `tetherctl` depends on this crate alone and so never links libyang.
//!
//! What it is not for: compiling, validating or editing data trees. That is `tether-model`,
//! which re-exports everything here and owns the libyang context.

#![forbid(unsafe_code)]

pub mod json;
mod module_source;
pub mod types;

#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

pub use generated::*;
pub use module_source::ModuleSource;
pub use types::TypeError;
