//! Boot refuses a datastore it cannot vouch for, naming what is wrong, and `check` /
//! `check --restore` (what `tetherd check` runs) inspect and repair it.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use serde_json::json;
use tether_model::{Edit, Schema, SchemaOptions};
use tether_store::{CommitMeta, SledStore, Store, StoreError, StoreOptions};

fn schema() -> &'static Schema {
    Schema::load(SchemaOptions { simulation: true }).unwrap()
}

/// A datastore with a few commits over two groups and two access-lists, closed cleanly.
fn populated(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let s = SledStore::open(schema(), StoreOptions::new(dir)).unwrap();
    for (i, acl) in ["a", "b"].iter().enumerate() {
        s.commit(
            vec![Edit::update(
                format!("/tether-conntrack-bypass:bypass/access-lists/access-list[name='{acl}']/entries/entry[sequence='{}']/config", i + 1),
                json!({"sequence": i + 1, "action": "permit", "protocol": "tcp"}),
            )],
            CommitMeta::default(),
        )
        .wait_blocking()
        .unwrap();
    }
    for g in 1..=2 {
        s.commit(
            vec![Edit::update(
                format!("/tether-link-state:link-state/groups/group[id='{g}']/config"),
                json!({"id": g, "description": format!("g{g}")}),
            )],
            CommitMeta::default(),
        )
        .wait_blocking()
        .unwrap();
    }
    s.config().leaves()
}

fn corrupt_msg(r: Result<SledStore, StoreError>) -> String {
    match r {
        Err(e @ StoreError::Corrupt { .. }) => e.to_string(),
        Err(e) => panic!("expected a corrupt datastore, got {e}"),
        Ok(_) => panic!("a damaged datastore was opened"),
    }
}

#[test]
fn a_leaf_table_that_disagrees_is_refused_then_restored() {
    let dir = tempfile::tempdir().unwrap();
    let leaves = populated(dir.path());
    let victim = "/tether-link-state:link-state/groups/group[id='2']/config/description";
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("config").unwrap().remove(victim).unwrap();
        db.flush().unwrap();
    }
    let msg = corrupt_msg(SledStore::open(schema(), StoreOptions::new(dir.path())));
    assert!(msg.contains(victim), "{msg}");
    assert!(SledStore::check(schema(), dir.path(), false).is_err());
    let report = SledStore::check(schema(), dir.path(), true).unwrap();
    assert!(!report.repairs.is_empty(), "{report:?}");
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    assert_eq!(s.config().leaves(), leaves);
}

#[test]
fn a_log_that_lost_acknowledged_commits_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    // What an ext4 journal abort once did: the database came back empty.
    for f in ["db", "conf", "snap.0000000000000000"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("snap.") || e.path().is_dir() {
            let _ = std::fs::remove_dir_all(e.path());
            let _ = std::fs::remove_file(e.path());
        }
    }
    let msg = corrupt_msg(SledStore::open(schema(), StoreOptions::new(dir.path())));
    assert!(msg.contains("lost acknowledged commits"), "{msg}");
}

#[test]
fn a_sound_datastore_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let leaves = populated(dir.path());
    let r = SledStore::check(schema(), dir.path(), false).unwrap();
    assert_eq!((r.last_commit, r.leaves), (4, leaves.len()));
    assert!(r.repairs.is_empty());
}
