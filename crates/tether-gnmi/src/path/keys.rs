//! List key values checked against their leaf's type while a path is resolved.
//!
//! A key value that is not a value of the key's type (`group[id=abc]` for a uint16 key, an
//! id outside its range) names no possible entry: it is a malformed request
//! (INVALID_ARGUMENT), not absent data (NOT_FOUND), and a Set or delete must never treat it
//! as one. Where every list above the key is named by concrete keys, libyang itself builds
//! the entry in a scratch tree, so ranges, lengths and patterns are checked exactly as a Set
//! would check them; below a wildcard list only the base type can be checked (a number, a
//! boolean, ...), because no scratch entry can be built without its parents' keys.

use tether_model::Schema;
use yang3::data::DataTree;

use super::{PathError, Step};
use crate::values::LeafTypes;

/// Checks every concrete key value of `steps`; `whole` is the path as the client wrote it,
/// for the message.
pub(super) fn check(schema: &'static Schema, steps: &[Step], whole: &str) -> Result<(), PathError> {
    let mut types: Option<LeafTypes> = None;
    let mut concrete = true;
    for (i, step) in steps.iter().enumerate() {
        let Step::Node { name, keys, .. } = step else {
            concrete = false;
            continue;
        };
        let entry = super::data_path_of(&steps[..=i]);
        let given: Vec<(&str, &str)> = keys
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k.as_str(), v)))
            .collect();
        if concrete && !given.is_empty() && given.len() == keys.len() {
            // The scratch entry; its parents' keys were checked the same way already.
            let mut tree = DataTree::new(schema.context());
            if let Err(e) = tree.new_path(&entry, None, false) {
                schema.clear_errors();
                let which = given
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(PathError::Malformed(format!(
                    "{whole}: invalid key value for {name} ({which}): {}",
                    e.msg.as_deref().unwrap_or("not a value of the key's type")
                )));
            }
        } else {
            let types = types.get_or_insert_with(|| LeafTypes::new(schema));
            for (k, v) in &given {
                if types.fits(&format!("{entry}/{k}"), v) == Some(false) {
                    return Err(PathError::Malformed(format!(
                        "{whole}: invalid key value for {name}: {k}={v} is not a value of the key's type"
                    )));
                }
            }
        }
        if step.matches_many() {
            concrete = false;
        }
    }
    Ok(())
}
