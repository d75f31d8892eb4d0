//! Kill -9 durability: a child process commits in a loop and prints each acknowledged
//! commit id; the parent kills it at a random moment, reopens the store and checks that
//! every acknowledged commit is there, whole, and nothing half-applied.
//!
//! The child is this same test binary, re-run with `TETHER_DURABILITY_CHILD` set.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::json;
use tether_model::{Edit, Schema, SchemaOptions};
use tether_store::{CommitMeta, SledStore, Store, StoreOptions};

const ROUNDS: usize = 20;

fn schema() -> &'static Schema {
    Schema::load(SchemaOptions::default()).expect("schema")
}

/// Commit i writes group (i % 50 + 1) with up-delay i and description "c<i>" in one commit:
/// two leaves that must appear together.
fn edit(i: u64) -> Edit {
    let id = i % 50 + 1;
    Edit::update(
        format!("/tether-link-state:link-state/groups/group[id='{id}']/config"),
        json!({"id": id, "up-delay": i % 3600, "description": format!("c{i}")}),
    )
}

#[test]
fn child_commit_loop() {
    let Ok(dir) = std::env::var("TETHER_DURABILITY_CHILD") else {
        return;
    };
    let s = SledStore::open(schema(), StoreOptions::new(dir)).expect("open");
    let start = s.last_commit_id().expect("last id");
    let mut out = std::io::stdout().lock();
    for i in start.. {
        let o = s
            .commit(vec![edit(i)], CommitMeta::default())
            .wait_blocking()
            .expect("commit");
        use std::io::Write;
        writeln!(out, "{} {}", o.id, i).expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rng();
    let mut acked_total = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_commit_loop",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TETHER_DURABILITY_CHILD", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut it = line.split_whitespace().map(|x| x.parse::<u64>());
                if let (Some(Ok(id)), Some(Ok(i))) = (it.next(), it.next()) {
                    let _ = tx.send((id, i));
                }
            }
        });
        // Kill at a random moment after the child started committing.
        let wait = Duration::from_millis(rng.random_range(50..400));
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut acked = Vec::new();
        while acked.is_empty() && Instant::now() < deadline {
            if let Ok(x) = rx.recv_timeout(Duration::from_millis(50)) {
                acked.push(x);
            }
        }
        std::thread::sleep(wait);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter());
        assert!(
            !acked.is_empty(),
            "round {round}: the child acknowledged nothing"
        );
        acked_total += acked.len();

        let s = SledStore::open(schema(), StoreOptions::new(dir.path())).unwrap();
        let last = s.last_commit_id().unwrap();
        let (max_id, _) = *acked.last().unwrap();
        assert!(
            last >= max_id,
            "round {round}: acknowledged commit {max_id} lost (store has {last})"
        );
        let leaves = s.config().leaves();
        // Every group's up-delay and description come from the same commit: no partial one.
        for g in 1..=50u64 {
            let base = format!("/tether-link-state:link-state/groups/group[id='{g}']/config");
            match (
                leaves.get(&format!("{base}/up-delay")),
                leaves.get(&format!("{base}/description")),
            ) {
                (Some(d), Some(c)) => {
                    let i: u64 = c.trim_start_matches('c').parse().unwrap();
                    assert_eq!(
                        d,
                        &(i % 3600).to_string(),
                        "round {round}: group {g} half-applied"
                    );
                    assert_eq!(i % 50 + 1, g);
                }
                (None, None) => {}
                other => panic!("round {round}: group {g} half-applied: {other:?}"),
            }
        }
        // The newest acknowledged write of each group is at least as new as what we saw.
        for (_, i) in acked.iter().rev().take(50) {
            let g = i % 50 + 1;
            let c = leaves
                .get(&format!(
                    "/tether-link-state:link-state/groups/group[id='{g}']/config/description"
                ))
                .unwrap();
            let stored: u64 = c.trim_start_matches('c').parse().unwrap();
            assert!(
                stored >= *i,
                "round {round}: group {g} has c{stored}, acknowledged c{i}"
            );
        }
        // The commit log agrees.
        assert_eq!(s.commits(1).unwrap()[0].id, last);
    }
    eprintln!("{ROUNDS} SIGKILL rounds, {acked_total} acknowledged commits checked");
}
