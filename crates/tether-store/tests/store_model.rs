//! Model-based test of the store: random, seeded transactions (over several access-lists,
//! classes, policies, service-policies, groups and interfaces; valid and invalid mixed)
//! committed through the store and applied to a reference with no shortcut
//! (`prepare_reference`). After every step the published configuration equals the
//! reference and a refused step leaves it byte-identical; clean restarts, rollbacks and
//! SIGKILLs at random points give back exactly the last acknowledged configuration.
//!
//! `TETHER_MODEL_STEPS` scales the run (a soak: `TETHER_MODEL_STEPS=1000000`).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "common/model.rs"]
mod model;
#[path = "../../tether-model/tests/common/ops.rs"]
mod ops;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use model::{schema, steps};
use ops::Rng;
use tether_model::{ConfigTree, Edit};
use tether_store::{CommitMeta, SledStore, Store, StoreOptions};

/// Step `i`'s transaction, independent of the steps before it (so a restarted child and
/// the parent agree on every step).
fn transaction(seed: u64, i: u64) -> Vec<Edit> {
    let mut r = Rng(seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    ops::random_transaction(&mut r)
}

fn view(t: &ConfigTree) -> String {
    t.to_json(true).unwrap()
}

#[test]
fn store_equals_reference_across_restarts_and_rollbacks() {
    let schema = schema();
    let dir = tempfile::tempdir().unwrap();
    let mut options = StoreOptions::new(dir.path());
    // In-process restarts need no fdatasync; the SIGKILL test below syncs.
    options.sync = false;
    let mut store = SledStore::open(schema, options.clone()).unwrap();
    let mut reference = ConfigTree::new(schema);
    // The reference configuration after each commit id, for rollbacks.
    let mut by_id: Vec<String> = vec![view(&reference)];
    let mut rng = Rng(0x5107_e000);
    let seed = 0xa11c_e5ed;
    let (mut accepted, mut refused, mut restarts, mut rollbacks) = (0, 0, 0, 0);
    for i in 0..steps(1500) {
        if rng.chance(2) {
            drop(store);
            store = SledStore::open(schema, options.clone()).unwrap();
            assert_eq!(
                view(&store.config()),
                view(&reference),
                "step {i}: after a restart"
            );
            restarts += 1;
        }
        let last = by_id.len() as u64 - 1;
        if last > 0 && rng.chance(3) {
            let to = last - rng.below(last.min(20) + 1);
            let o = store
                .rollback(to, CommitMeta::default())
                .wait_blocking()
                .unwrap();
            assert_eq!(
                view(&store.config()),
                by_id[to as usize],
                "step {i}: rollback to {to}"
            );
            // The reference follows: rebuild it from the store's leaves, checked equal above.
            let leaves = store.config().leaves();
            reference = ConfigTree::from_leaves(
                schema,
                leaves.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .unwrap();
            if o.id > last {
                by_id.push(view(&reference));
            }
            rollbacks += 1;
            continue;
        }
        let edits = transaction(seed, i);
        let before = view(&store.config());
        let got = store
            .commit(edits.clone(), CommitMeta::default())
            .wait_blocking();
        match (got, reference.prepare_reference(&edits)) {
            (Ok(o), Ok((tree, changes))) => {
                assert_eq!(o.changes, changes, "step {i}: change sets differ");
                reference = tree;
                assert_eq!(
                    view(&store.config()),
                    view(&reference),
                    "step {i}: {edits:?}"
                );
                if !changes.is_empty() {
                    assert_eq!(o.id, by_id.len() as u64, "step {i}: commit ids have no gap");
                    by_id.push(view(&reference));
                }
                accepted += 1;
            }
            (Err(e), Err(r)) => {
                assert_eq!(e.to_string(), r.to_string(), "step {i}");
                assert_eq!(
                    view(&store.config()),
                    before,
                    "step {i}: refused but changed"
                );
                refused += 1;
            }
            (g, w) => panic!("step {i}: store {:?}, reference {:?}", g.err(), w.err()),
        }
    }
    drop(store);
    let store = SledStore::open(schema, options).unwrap();
    assert_eq!(view(&store.config()), view(&reference));
    eprintln!("{accepted} accepted, {refused} refused, {restarts} restarts, {rollbacks} rollbacks");
    assert!(accepted > 0 && refused > 0 && restarts > 0 && rollbacks > 0);
}

/// The child of the SIGKILL test: commits steps from `TETHER_MODEL_CHILD_FROM` on and prints
/// each step's verdict once the store answered it.
#[test]
fn child_commit_steps() {
    let Ok(dir) = std::env::var("TETHER_MODEL_CHILD") else {
        return;
    };
    let from: u64 = std::env::var("TETHER_MODEL_CHILD_FROM")
        .unwrap()
        .parse()
        .unwrap();
    let store = SledStore::open(schema(), StoreOptions::new(dir)).unwrap();
    let mut out = std::io::stdout().lock();
    for i in from.. {
        let r = store
            .commit(transaction(KILL_SEED, i), CommitMeta::default())
            .wait_blocking();
        use std::io::Write;
        // A marker: the test harness may print on the same line first.
        writeln!(out, "STEP {i} {}", if r.is_ok() { "ok" } else { "refused" }).unwrap();
        out.flush().unwrap();
    }
}

const KILL_SEED: u64 = 0xdead_beef;

#[test]
fn sigkill_at_random_points_gives_back_the_last_acknowledged_configuration() {
    let schema = schema();
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(0x0c0f_fee0);
    // The reference after every step so far; `done` steps are settled.
    let mut reference = ConfigTree::new(schema);
    let mut done = 0u64;
    let rounds = steps(1500) / 150;
    for round in 0..rounds.max(3) {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_commit_steps",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TETHER_MODEL_CHILD", dir.path())
            .env("TETHER_MODEL_CHILD_FROM", done.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Some(at) = line.find("STEP ") else {
                    continue;
                };
                let mut it = line[at + 5..].split_whitespace();
                if let (Some(Ok(i)), Some(v)) = (it.next().map(str::parse::<u64>), it.next()) {
                    let _ = tx.send((i, v == "ok"));
                }
            }
        });
        std::thread::sleep(Duration::from_millis(300 + rng.below(700)));
        child.kill().unwrap();
        let _ = child.wait();
        // Settle what the child acknowledged: its verdicts must be the reference's.
        while let Ok((i, ok)) = rx.recv_timeout(Duration::from_millis(200)) {
            assert_eq!(i, done, "round {round}: steps in order");
            let r = reference.prepare_reference(&transaction(KILL_SEED, i));
            assert_eq!(ok, r.is_ok(), "round {round}: step {i}'s verdict");
            if let Ok((tree, _)) = r {
                reference = tree;
            }
            done += 1;
        }
        // The step in flight may or may not have become durable; nothing else may differ.
        let store = SledStore::open(schema, StoreOptions::new(dir.path())).unwrap();
        let got = view(&store.config());
        if got != view(&reference) {
            let (tree, _) = reference
                .prepare_reference(&transaction(KILL_SEED, done))
                .unwrap_or_else(|e| panic!("round {round}: the store differs after step {done}, which the reference refuses: {e}"));
            assert_eq!(
                got,
                view(&tree),
                "round {round}: neither the acknowledged nor the in-flight configuration"
            );
            reference = tree;
            done += 1;
        }
        drop(store);
    }
    assert!(done > 0);
}
