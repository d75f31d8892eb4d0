//! The sled store: commits persist, reload, roll back, and a refused commit leaves nothing.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use serde_json::json;
use tether_model::{Edit, Schema, SchemaOptions};
use tether_store::{CommitMeta, SledStore, Store, StoreError, StoreOptions};

fn schema() -> &'static Schema {
    static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).expect("schema"))
}

fn meta() -> CommitMeta {
    CommitMeta {
        user: "test".into(),
        client: "127.0.0.1:1".into(),
        ..Default::default()
    }
}

const G1: &str = "/tether-link-state:link-state/groups/group[id='1']";

fn group(id: u32, up_delay: u32) -> Edit {
    Edit::update(
        format!("/tether-link-state:link-state/groups/group[id='{id}']/config"),
        json!({"id": id, "up-delay": up_delay}),
    )
}

#[test]
fn commits_survive_reopen_and_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let first;
    {
        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        first = s.commit(vec![group(1, 5)], meta()).wait_blocking().unwrap();
        assert_eq!(first.id, 1);
        let second = s.commit(vec![group(2, 0)], meta()).wait_blocking().unwrap();
        assert_eq!(second.id, 2);
        // A commit that changes nothing writes nothing.
        let same = s.commit(vec![group(2, 0)], meta()).wait_blocking().unwrap();
        assert_eq!((same.id, same.changes.len()), (2, 0));
    }
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    let leaves = s.config().leaves();
    assert_eq!(
        leaves
            .get(&format!("{G1}/config/up-delay"))
            .map(String::as_str),
        Some("5")
    );
    let log = s.commits(10).unwrap();
    assert_eq!(log.iter().map(|c| c.id).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(log[1].changes, first.changes);
    assert_eq!(log[1].meta.user, "test");
}

#[test]
fn refused_commit_changes_nothing_on_disk_or_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    s.commit(vec![group(1, 5)], meta()).wait_blocking().unwrap();
    let before = (s.config().leaves(), s.commits(100).unwrap());
    let bad = Edit::update(format!("{G1}/config/up-delay"), json!(99999));
    let err = s
        .commit(vec![group(3, 1), bad], meta())
        .wait_blocking()
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Model(_)) && err.is_user_error(),
        "{err}"
    );
    assert!(err.to_string().contains("up-delay"), "{err}");
    assert_eq!((s.config().leaves(), s.commits(100).unwrap()), before);
    drop(s);
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    assert_eq!(s.config().leaves(), before.0);
}

#[test]
fn rollback_restores_an_earlier_commit_as_a_new_commit() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    s.commit(vec![group(1, 5)], meta()).wait_blocking().unwrap();
    let at1 = s.config().leaves();
    s.commit(
        vec![
            group(2, 0),
            Edit::update(format!("{G1}/config/up-delay"), json!(7)),
        ],
        meta(),
    )
    .wait_blocking()
    .unwrap();
    s.commit(vec![Edit::delete(G1)], meta())
        .wait_blocking()
        .unwrap();
    let r = s.rollback(1, meta()).wait_blocking().unwrap();
    assert_eq!(r.id, 4);
    assert_eq!(s.config().leaves(), at1);
    assert!(matches!(
        s.rollback(42, meta()).wait_blocking(),
        Err(StoreError::UnknownCommit(42))
    ));
    // Rolling back to the empty datastore.
    s.rollback(0, meta()).wait_blocking().unwrap();
    assert!(s.config().leaves().is_empty());
}

#[test]
fn the_log_keeps_the_last_n_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = StoreOptions::new(dir.path());
    o.keep_commits = 3;
    let s = SledStore::open(schema(), o).unwrap();
    for i in 0..6 {
        s.commit(vec![group(1, i)], meta()).wait_blocking().unwrap();
    }
    assert_eq!(
        s.commits(100)
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![6, 5, 4]
    );
    assert!(matches!(
        s.rollback(2, meta()).wait_blocking(),
        Err(StoreError::UnknownCommit(2))
    ));
    s.rollback(4, meta()).wait_blocking().unwrap();
}

#[test]
fn concurrent_commits_are_all_acknowledged_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap());
    let handles: Vec<_> = (1..=8u32)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        s.commit(vec![group(t, i)], meta())
                            .wait_blocking()
                            .unwrap()
                            .id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    // Every commit changed something, so each got its own id, with no gap.
    assert_eq!(ids, (1..=200).collect::<Vec<u64>>());
}

#[test]
fn runtime_records_persist() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        s.runtime_put("lst/disabled/Gi1/1", Some(b"1")).unwrap();
        s.runtime_put("lst/disabled/Gi1/2", Some(b"1")).unwrap();
        s.runtime_put("lst/disabled/Gi1/2", None).unwrap();
    }
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    assert_eq!(
        s.runtime_scan("lst/disabled/").unwrap(),
        vec![("lst/disabled/Gi1/1".to_string(), b"1".to_vec())]
    );
}

#[test]
fn boot_from_snapshot_replay_and_leaves_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected;
    {
        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        for i in 0..30u32 {
            s.commit(vec![group(i % 7 + 1, i)], meta())
                .wait_blocking()
                .unwrap();
        }
        s.commit(
            vec![Edit::delete(
                "/tether-link-state:link-state/groups/group[id='3']",
            )],
            meta(),
        )
        .wait_blocking()
        .unwrap();
        expected = s.config().leaves();
    }
    // Closed cleanly: boots from the snapshot written at close.
    {
        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        assert_eq!(s.config().leaves(), expected);
        s.commit(vec![group(9, 9)], meta()).wait_blocking().unwrap();
        expected = s.config().leaves();
    }
    // (Boot from a snapshot *behind* the log, replaying the commits after it, is what every
    // round of the SIGKILL test in durability.rs exercises.)
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    assert_eq!(s.config().leaves(), expected);
    // Defaults are back too.
    let json = s.config().to_json(true).unwrap();
    assert!(json.contains("min-upstream-up"), "{json}");
}

#[test]
fn runtime_batches_apply_together() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        let put: Vec<(String, Option<Vec<u8>>)> = (1..=40)
            .map(|i| (format!("lst/disabled/Gi1/{i}"), Some(b"1".to_vec())))
            .collect();
        s.runtime_batch(&put).unwrap();
        s.runtime_batch(&[("lst/disabled/Gi1/7".to_string(), None)])
            .unwrap();
    }
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    let left = s.runtime_scan("lst/disabled/").unwrap();
    assert_eq!(left.len(), 39);
    assert!(!left.iter().any(|(k, _)| k == "lst/disabled/Gi1/7"));
}
