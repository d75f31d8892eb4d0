//! What a commit's leaf changes mean to an ON_CHANGE subscriber (gNMI specification
//! §3.5.2.3).
//!
//! A commit record lists every leaf it set or removed. Sent as they are, a removed list entry
//! would be one delete per leaf, and a leaf whose explicit value was removed would look gone
//! although its YANG default is now in use. Read against the running configuration after the
//! commit:
//! - a removed leaf that the running tree still holds (its default, which libyang keeps as
//!   an implicit node, or a value a later commit set) is an update with that value;
//! - any other removed leaf is covered by one delete at the highest node that is gone, so a
//!   removed list entry or container is one delete, sent once.
//!
//! Reading the tree as it is at dispatch time, not as the commit left it, is safe: if a
//! later commit re-created a node, its own event follows and carries the values.

use std::collections::{HashMap, HashSet};

use tether_model::{ConfigTree, LeafChange};
use yang3::data::Data;

/// The leaves set (data path, canonical value) and the nodes removed (data paths).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub set: Vec<(String, String)>,
    pub removed: Vec<String>,
}

pub(crate) fn changes(running: &ConfigTree, leaves: &[LeafChange]) -> Changes {
    let mut out = Changes::default();
    let mut exists: HashMap<String, bool> = HashMap::new();
    let mut removed: HashSet<String> = HashSet::new();
    let tree = running.tree();
    let empty = tree.reference().is_none();
    let mut failed = false;
    let mut lookup = |p: &str| -> Option<Option<String>> {
        if empty {
            return None;
        }
        match tree.find_path(p) {
            Ok(n) => Some(n.value_canonical()),
            Err(_) => {
                failed = true;
                None
            }
        }
    };
    for c in leaves {
        match &c.new {
            Some(v) => out.set.push((c.path.clone(), v.clone())),
            None => {
                if let Some(Some(now)) = lookup(&c.path) {
                    out.set.push((c.path.clone(), now));
                    continue;
                }
                // The outermost ancestor that is gone (the leaf itself at the least).
                let mut gone = c.path.clone();
                for p in tether_syntax::data_path::prefixes(&c.path) {
                    let here = match exists.get(&p) {
                        Some(e) => *e,
                        None => {
                            let e = lookup(&p).is_some();
                            exists.insert(p.clone(), e);
                            e
                        }
                    };
                    if !here {
                        gone = p;
                        break;
                    }
                }
                if removed.insert(gone.clone()) {
                    out.removed.push(gone);
                }
            }
        }
    }
    if failed {
        running.schema().clear_errors();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{Edit, Schema, SchemaOptions};

    fn schema() -> &'static Schema {
        static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
        S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).unwrap())
    }

    /// The running tree after `edits` on `before`, and the commit's leaf changes.
    fn commit(before: &ConfigTree, edits: Vec<Edit>) -> (ConfigTree, Vec<LeafChange>) {
        let mut after = before.duplicate().unwrap();
        let prepared = after.prepare(&edits).unwrap();
        let changes = prepared.changes().to_vec();
        after.install(&prepared).unwrap();
        (after, changes)
    }

    const G: &str = "/tether-link-state:link-state/groups/group[id='1']";

    #[test]
    fn a_removed_entry_is_one_delete_and_a_removed_value_its_default() {
        let empty = ConfigTree::new(schema());
        let group = serde_json::json!({"id": 1, "config": {"id": 1, "enabled": true, "min-upstream-up": 2},
            "upstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}}});
        let (one, _) = commit(&empty, vec![Edit::update(G.to_string(), group)]);

        // The value removed: the default (1) is in use again, so it is an update.
        let (after, leaves) = commit(
            &one,
            vec![Edit::delete(format!("{G}/config/min-upstream-up"))],
        );
        let c = changes(&after, &leaves);
        assert_eq!(
            c.set,
            vec![(format!("{G}/config/min-upstream-up"), "1".to_string())]
        );
        assert!(c.removed.is_empty());

        // The entry removed: one delete, at the entry.
        let (after, leaves) = commit(&one, vec![Edit::delete(G.to_string())]);
        assert!(leaves.len() > 3, "{leaves:?}");
        let c = changes(&after, &leaves);
        assert!(c.set.is_empty(), "{:?}", c.set);
        assert_eq!(c.removed, vec![G.to_string()]);

        // A member removed: one delete at the member entry, not at its keys.
        let member = format!("{G}/upstream/interfaces/interface[name='Po11']");
        let (after, leaves) = commit(&one, vec![Edit::delete(member.clone())]);
        assert_eq!(changes(&after, &leaves).removed, vec![member]);
    }
}
