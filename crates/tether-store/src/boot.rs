//! Loading the configuration at boot, and checking it: the store never opens a datastore it
//! cannot vouch for.
//!
//! The configuration is rebuilt from the boot snapshot plus the commits logged after it (or
//! from the leaf table when there is no usable snapshot), then validated against the whole
//! schema, then compared leaf for leaf with the leaf table, which every commit writes in the
//! same sled transaction as its log record. A datastore that does not validate, whose two
//! records disagree, or whose log ends before the commit the marker file says was durable
//! is refused with a message naming what is wrong; `tetherd check --restore` repairs it.

use std::collections::BTreeMap;

use tether_model::{ConfigTree, Schema};
use tracing::warn;

use crate::CommitRecord;
use crate::StoreError;
use crate::disk::{Disk, Marker, corrupt, id_key};

/// A configuration loaded and checked.
pub(crate) struct Loaded {
    pub(crate) tree: ConfigTree,
    /// The commit the snapshot was taken at (0 without a usable snapshot).
    pub(crate) snapshot_id: u64,
    /// The newest commit in the log.
    pub(crate) last_id: u64,
    /// "snapshot" or "leaf table".
    pub(crate) how: &'static str,
}

/// What `tetherd check` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The newest commit in the log.
    pub last_commit: u64,
    /// Explicitly set leaves in the configuration.
    pub leaves: usize,
    /// Where the configuration was rebuilt from ("snapshot" or "leaf table").
    pub loaded_from: &'static str,
    /// What `restore` changed (empty for a plain check).
    pub repairs: Vec<String>,
}

/// The most of a long error a boot message quotes.
const QUOTE: usize = 400;

fn short(s: &str) -> String {
    if s.len() <= QUOTE {
        return s.to_string();
    }
    let mut end = QUOTE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

/// Loads and checks the configuration held by `disk`.
pub(crate) fn load(
    schema: &'static Schema,
    disk: &Disk,
    marker: &Marker,
) -> Result<Loaded, StoreError> {
    let last = disk.last_commit_id()?;
    if let Some(m) = marker.read()?
        && m > last
    {
        return Err(corrupt(
            "commit log",
            format!(
                "ends at commit {last}, but commit {m} was durable before: the database lost \
                 acknowledged commits (run `tetherd check --data-dir DIR` to inspect)"
            ),
        ));
    }
    let table = leaf_table(disk)?;
    if last == 0 && !table.is_empty() {
        return Err(corrupt(
            "commit log",
            format!("is empty, but the leaf table holds {} leaves", table.len()),
        ));
    }
    let (mut tree, snapshot_id, how) = match from_snapshot(schema, disk, last) {
        Ok(Some((t, id))) => (t, id, "snapshot"),
        Ok(None) => (from_table(schema, &table)?, 0, "leaf table"),
        Err(e) => {
            warn!(error = %e, "boot snapshot unusable; rebuilding from the leaf table");
            (from_table(schema, &table)?, 0, "leaf table")
        }
    };
    tree.validate_all().map_err(|e| {
        corrupt(
            "configuration",
            format!("does not validate: {}", short(&e.to_string())),
        )
    })?;
    compare(&tree.leaves(), &table)?;
    Ok(Loaded {
        tree,
        snapshot_id,
        last_id: last,
        how,
    })
}

/// Every leaf of the leaf table.
pub(crate) fn leaf_table(disk: &Disk) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    for kv in disk.config.iter() {
        let (k, v) = kv?;
        let k = String::from_utf8(k.to_vec()).map_err(|e| corrupt("config key", e))?;
        let v = String::from_utf8(v.to_vec()).map_err(|e| corrupt(k.clone(), e))?;
        out.insert(k, v);
    }
    Ok(out)
}

fn from_table(
    schema: &'static Schema,
    table: &BTreeMap<String, String>,
) -> Result<ConfigTree, StoreError> {
    // from_leaves validates in full; `load` validates again only on the snapshot path.
    ConfigTree::from_leaves(schema, table.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(
        |e| {
            corrupt(
                "leaf table",
                format!("does not load: {}", short(&e.to_string())),
            )
        },
    )
}

/// The snapshot plus the commits after it, when the log still holds them all.
fn from_snapshot(
    schema: &'static Schema,
    disk: &Disk,
    last: u64,
) -> Result<Option<(ConfigTree, u64)>, StoreError> {
    let Some(v) = disk.snapshot.get(b"tree")? else {
        return Ok(None);
    };
    if v.len() < 8 {
        return Err(corrupt("snapshot", "shorter than its header"));
    }
    let mut idb = [0u8; 8];
    idb.copy_from_slice(&v[..8]);
    let snap = u64::from_be_bytes(idb);
    let covered = snap == last || (snap < last && disk.commits.get(id_key(snap + 1))?.is_some());
    if snap > last || !covered {
        return Ok(None);
    }
    let mut tree = ConfigTree::from_lyb(schema, &v[8..])?;
    for kv in disk.commits.range(id_key(snap + 1)..) {
        let (k, v) = kv?;
        let rec: CommitRecord =
            serde_json::from_slice(&v).map_err(|e| corrupt(format!("commit {k:?}"), e))?;
        tree.replay(&rec.changes)?;
    }
    Ok(Some((tree, snap)))
}

/// The loaded tree must hold exactly the leaf table.
fn compare(
    tree: &BTreeMap<String, String>,
    table: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    if tree == table {
        return Ok(());
    }
    let differs = tree
        .iter()
        .find(|(k, v)| table.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), Some(v.clone()), table.get(k).cloned()))
        .or_else(|| {
            table
                .iter()
                .find(|(k, _)| !tree.contains_key(*k))
                .map(|(k, v)| (k.clone(), None, Some(v.clone())))
        });
    let (path, snap, leaf) = differs.unwrap_or_default();
    Err(corrupt(
        short(&path),
        format!(
            "the snapshot and commit log give {snap:?} but the leaf table {leaf:?} \
             ({} leaves against {})",
            tree.len(),
            table.len()
        ),
    ))
}

/// Checks a datastore offline (what boot checks), or with `restore` repairs it: the
/// configuration is taken from the snapshot and commit log when they validate, else from
/// the leaf table when it validates; the other record is rewritten to match, and the marker
/// set to the log's newest commit.
pub(crate) fn check(
    schema: &'static Schema,
    disk: &Disk,
    marker: &Marker,
    restore: bool,
) -> Result<CheckReport, StoreError> {
    let first = load(schema, disk, marker);
    match first {
        Ok(l) => Ok(CheckReport {
            last_commit: l.last_id,
            leaves: l.tree.leaves().len(),
            loaded_from: l.how,
            repairs: Vec::new(),
        }),
        Err(e) if !restore => Err(e),
        Err(e) => {
            let mut repairs = vec![format!("found: {e}")];
            let last = disk.last_commit_id()?;
            let table = leaf_table(disk)?;
            let via_snapshot = from_snapshot(schema, disk, last)
                .ok()
                .flatten()
                .and_then(|(mut t, _)| t.validate_all().is_ok().then_some(t));
            let (tree, from) = match via_snapshot {
                Some(t) => (t, "snapshot"),
                None => (from_table(schema, &table)?, "leaf table"),
            };
            let leaves = tree.leaves();
            if leaves != table {
                disk.config.clear()?;
                for (k, v) in &leaves {
                    disk.config.insert(k.as_bytes(), v.as_bytes())?;
                }
                repairs.push(format!(
                    "rewrote the leaf table from the {from} ({} leaves)",
                    leaves.len()
                ));
            }
            if from == "leaf table" && disk.snapshot.remove(b"tree")?.is_some() {
                repairs.push("removed the boot snapshot".into());
            }
            disk.make_durable()?;
            if marker.read()?.is_some_and(|m| m > last) {
                marker.write(last)?;
                repairs.push(format!("set the durable-commit marker to {last}"));
            }
            // What boot will now see.
            let l = load(schema, disk, marker)?;
            Ok(CheckReport {
                last_commit: l.last_id,
                leaves: leaves.len(),
                loaded_from: l.how,
                repairs,
            })
        }
    }
}
