//! Datastore benchmark: prints a table, asserts nothing.
//!
//! For 0, 1,000 and 10,000 access-list entries already stored: one-leaf durable commit
//! latency (p50/p99), full validation time, sequential commits/s, eight-thread commits/s
//! (group commit), and the time to open the store (boot).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tether_model::{Edit, Schema, SchemaOptions};
use tether_store::{CommitMeta, SledStore, Store, StoreOptions};

const ACL: &str = "/tether-conntrack-bypass:bypass/access-lists/access-list[name='BIG']";

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

fn entries(n: usize) -> serde_json::Value {
    let e: Vec<_> = (0..n)
        .map(|i| {
            let seq = i as u32 + 1;
            json!({"sequence": seq, "config": {"sequence": seq, "action": "permit", "protocol": "tcp",
                "source-prefix": format!("198.18.{}.{}/32", (i / 256) % 256, i % 256),
                "destination-prefix": "198.19.0.0/16", "destination-port": format!("{}", 1 + i % 60000)}})
        })
        .collect();
    json!({"name": "BIG", "config": {"name": "BIG"}, "entries": {"entry": e}})
}

fn main() {
    let schema = Schema::load(SchemaOptions::default()).expect("schema");
    let quick = std::env::var("TETHER_BENCH_QUICK").is_ok();
    let n_commits = if quick { 200 } else { 1000 };
    println!(
        "| entries stored | durable commit p50 (ms) | p99 (ms) | model only p50 (ms) | rebuild + full validation (ms) | sequential commits/s | 8 committers commits/s | boot (ms) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    // TETHER_BENCH_SIZES=10000 runs one size only (for profiling).
    let sizes: Vec<usize> = std::env::var("TETHER_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0, 1_000, 10_000]);
    for size in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = StoreOptions::new(dir.path());
        // TETHER_BENCH_NOSYNC=1 measures the CPU side alone (no fdatasync).
        opts.sync = std::env::var("TETHER_BENCH_NOSYNC").is_err();
        let s = SledStore::open(schema, opts).expect("open");
        if size > 0 {
            s.commit(
                vec![Edit::update(ACL, entries(size))],
                CommitMeta::default(),
            )
            .wait_blocking()
            .expect("load");
        }
        // One-leaf commits, alternating the link-state group's up-delay.
        let mut lat = Vec::with_capacity(n_commits);
        let t0 = Instant::now();
        for i in 0..n_commits {
            let e = Edit::update(
                "/tether-link-state:link-state/groups/group[id='1']/config",
                json!({"id": 1, "up-delay": i % 3600}),
            );
            let t = Instant::now();
            s.commit(vec![e], CommitMeta::default())
                .wait_blocking()
                .expect("commit");
            lat.push(t.elapsed());
        }
        let seq_rate = n_commits as f64 / t0.elapsed().as_secs_f64();
        // A one-leaf change inside the big access-list itself.
        let mut lat_acl = Vec::new();
        if size > 0 {
            for i in 0..(n_commits / 4) {
                let e = Edit::update(
                    format!("{ACL}/entries/entry[sequence='1']/config/remark"),
                    json!(format!("r{i}")),
                );
                let t = Instant::now();
                s.commit(vec![e], CommitMeta::default())
                    .wait_blocking()
                    .expect("commit");
                lat_acl.push(t.elapsed());
            }
        }
        // The model alone (edit + validation, no storage) on a copy of the same tree.
        let mut model_lat = Vec::new();
        {
            let mut t = tether_model::ConfigTree::new(schema);
            if size > 0 {
                t.apply(&[Edit::update(ACL, entries(size))]).expect("load");
            }
            for i in 0..(n_commits / 2) {
                let e = Edit::update(
                    "/tether-link-state:link-state/groups/group[id='1']/config",
                    json!({"id": 1, "up-delay": (i + 7) % 3600}),
                );
                let t0 = Instant::now();
                t.apply(&[e]).expect("apply");
                model_lat.push(t0.elapsed());
            }
        }
        // Full validation of everything stored.
        let mut v = Vec::new();
        for _ in 0..5 {
            let leaves = s.config().leaves();
            let t = Instant::now();
            let _tree = tether_model::ConfigTree::from_leaves(
                schema,
                leaves.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            v.push(t.elapsed());
        }
        // Eight committers at once (group commit).
        let s = Arc::new(s);
        let per = n_commits / 8;
        let t0 = Instant::now();
        let hs: Vec<_> = (0..8u32)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        let e = Edit::update(
                            format!(
                                "/tether-link-state:link-state/groups/group[id='{}']/config",
                                100 + t
                            ),
                            json!({"id": 100 + t, "up-delay": i % 3600}),
                        );
                        s.commit(vec![e], CommitMeta::default())
                            .wait_blocking()
                            .expect("commit");
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().expect("thread"));
        let par_rate = (per * 8) as f64 / t0.elapsed().as_secs_f64();
        drop(s);
        let t = Instant::now();
        let s = SledStore::open(schema, StoreOptions::new(dir.path())).expect("reopen");
        let boot = t.elapsed().as_secs_f64() * 1e3;
        drop(s);
        println!(
            "| {size} | {:.3} | {:.3} | {:.3} | {:.1} | {seq_rate:.0} | {par_rate:.0} | {boot:.1} |",
            pct(&mut lat, 0.5),
            pct(&mut lat, 0.99),
            pct(&mut model_lat, 0.5),
            pct(&mut v, 0.5),
        );
        if !lat_acl.is_empty() {
            println!(
                "| {size} (leaf inside the big ACL) | {:.3} | {:.3} | | | | | |",
                pct(&mut lat_acl, 0.5),
                pct(&mut lat_acl, 0.99)
            );
        }
    }
}
