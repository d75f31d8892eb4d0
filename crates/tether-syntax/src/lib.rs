//! The few grammars and helpers every layer of Tether shares, each implemented once.
//!
//! What this crate is for:
//! - [`data_path`]: libyang's data-path grammar (`/tether-link-state:link-state/groups/group[id='1']`):
//!   segments, key predicates with `'`/`"` quoting, `is_under`, ancestors, schema paths;
//! - [`text_path`]: the gNMI path text as gnmic and pygnmi write it (`/a/b[k=v]/c`, `origin:/a`);
//! - [`time`]: the wall clock in nanoseconds since the Unix epoch and its RFC 3339 text;
//! - [`fnv`]: FNV-1a, a hash stable across processes and Rust versions.
//!
//! What it is not for: anything that needs the schema (resolving names, checking that a path
//! exists: `tether-model`, `tether-gnmi`) or the protobuf types (`tether-proto`). It depends on no
//! other Tether crate and no libyang, so the CLI, the daemon and their tests can all use it.

pub mod data_path;
pub mod fnv;
pub mod text_path;
pub mod time;
