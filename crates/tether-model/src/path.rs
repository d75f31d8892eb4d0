//! Data paths in libyang's form (`/tether-link-state:link-state/groups/group[id='1']/config`):
//! the grammar is `tether_syntax::data_path`, re-exported here so `tether_model::path::*`
//! keeps naming it for the edit engine and its callers.

pub use tether_syntax::data_path::*;
