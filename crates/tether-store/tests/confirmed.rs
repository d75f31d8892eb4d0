//! The confirmed-commit engine's edges the model test does not look at: the revert is an
//! ordinary commit (in the log, on the commit bus), the record is durable (synced store,
//! reopened), and the status says what is pending.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use serde_json::json;
use tether_model::{Edit, Schema, SchemaOptions};
use tether_store::{
    Caller, CommitMeta, ConfirmError, ConfirmKey, ConfirmedAction, ConfirmedRequest, SledStore,
    Store, StoreError, StoreOptions,
};

fn schema() -> &'static Schema {
    Schema::load(SchemaOptions { simulation: true }).unwrap()
}

fn meta() -> CommitMeta {
    CommitMeta {
        user: "alice".into(),
        client: "gnmi:127.0.0.1:9".into(),
        ..Default::default()
    }
}

fn group(id: u32) -> Edit {
    Edit::update(
        format!("/tether-link-state:link-state/groups/group[id='{id}']/config"),
        json!({"id": id}),
    )
}

fn by_token(id: &str) -> Caller {
    Caller {
        session: None,
        id: Some(id.into()),
    }
}

fn confirmed_commit(s: &SledStore, edits: Vec<Edit>, id: &str, timeout: Duration) {
    s.confirmed(
        ConfirmedRequest {
            action: ConfirmedAction::Commit {
                edits,
                timeout,
                key: ConfirmKey::Id(id.into()),
                follow_up: false,
            },
            caller: by_token(id),
        },
        meta(),
    )
    .wait_blocking()
    .unwrap();
}

fn groups(s: &SledStore) -> usize {
    s.config()
        .leaves()
        .keys()
        .filter(|k| k.ends_with("/config/id"))
        .count()
}

#[test]
fn a_timed_out_commit_is_reverted_by_an_ordinary_commit_everyone_sees() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    s.commit(vec![group(1)], meta()).wait_blocking().unwrap();
    let mut bus = s.subscribe();
    confirmed_commit(&s, vec![group(2)], "t1", Duration::from_millis(200));
    assert_eq!(s.reverts(), 0);
    let st = s.confirmed_status().unwrap();
    assert_eq!(
        (st.since_commit, st.session, st.user.as_str()),
        (1, None, "alice")
    );
    assert_eq!(groups(&s), 2);
    // A second confirmed commit (gNMI: no follow-up) and an ordinary one are refused.
    let e = s
        .confirmed(
            ConfirmedRequest {
                action: ConfirmedAction::Commit {
                    edits: vec![group(3)],
                    timeout: Duration::from_secs(60),
                    key: ConfirmKey::Id("t2".into()),
                    follow_up: false,
                },
                caller: by_token("t2"),
            },
            meta(),
        )
        .wait_blocking()
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Confirm(ConfirmError::Pending { .. })),
        "{e}"
    );
    let e = s
        .commit(vec![group(3)], meta())
        .wait_blocking()
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Confirm(ConfirmError::Pending { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("after commit 1 by alice"), "{e}");

    let started = Instant::now();
    while s.confirmed_status().is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never reverted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(groups(&s), 1);
    assert_eq!(
        s.reverts(),
        1,
        "a revert is counted once nothing is pending"
    );
    // The bus saw the confirmed commit and its revert; the log holds both.
    let first = bus.blocking_recv().unwrap();
    let revert = bus.blocking_recv().unwrap();
    assert_eq!((first.id, revert.id), (2, 3));
    assert!(
        revert
            .meta
            .comment
            .as_deref()
            .unwrap()
            .contains("not confirmed in time")
    );
    // Group 2's key and its config/id go.
    assert_eq!(revert.changes.len(), 2, "{:?}", revert.changes);
    assert!(revert.changes.iter().all(|c| c.new.is_none()));
    let log = s.commits(10).unwrap();
    assert_eq!(log[0].id, 3);
    // Afterwards ordinary commits go through again.
    s.commit(vec![group(4)], meta()).wait_blocking().unwrap();
}

#[test]
fn the_record_survives_a_reopen_and_boot_reverts_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        s.commit(vec![group(1)], meta()).wait_blocking().unwrap();
        confirmed_commit(&s, vec![group(2), group(3)], "t", Duration::from_secs(3600));
        assert_eq!(groups(&s), 3);
    }
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    assert_eq!(groups(&s), 1, "boot reverts a pending confirmed commit");
    assert!(s.confirmed_status().is_none());
    assert_eq!(s.reverts(), 1, "the boot revert is counted");
    let log = s.commits(1).unwrap();
    assert!(
        log[0].meta.comment.as_deref().unwrap().contains("restart"),
        "{:?}",
        log[0]
    );
    // Nothing pending any more: confirm is refused, and a third boot changes nothing.
    let e = s
        .confirmed(
            ConfirmedRequest {
                action: ConfirmedAction::Confirm {
                    edits: vec![],
                    or_commit: false,
                },
                caller: by_token("t"),
            },
            meta(),
        )
        .wait_blocking()
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Confirm(ConfirmError::NonePending)),
        "{e}"
    );
    drop(s);
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    assert_eq!((groups(&s), s.last_commit_id().unwrap()), (1, 3));
}

#[test]
fn confirm_makes_it_permanent_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        confirmed_commit(&s, vec![group(5)], "t", Duration::from_secs(3600));
        s.confirmed(
            ConfirmedRequest {
                action: ConfirmedAction::Confirm {
                    edits: vec![],
                    or_commit: false,
                },
                caller: by_token("t"),
            },
            meta(),
        )
        .wait_blocking()
        .unwrap();
        assert!(s.confirmed_status().is_none());
        assert_eq!(s.reverts(), 0, "a confirm is no revert");
    }
    let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
    assert_eq!(groups(&s), 1);
}
