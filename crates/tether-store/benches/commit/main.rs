//! Datastore benchmark (issue 13, "Performance"): prints markdown tables, asserts nothing.
//!
//! `cargo bench -p tether-store --bench commit` (release) is the real run. `TETHER_BENCH_QUICK=1`,
//! or running it as a test (`cargo test -p tether-store --benches`, a debug build), is a smoke
//! run: 1,000 entries instead of 10,000 and a few samples per row, so its numbers say nothing
//! about performance, only that every row still runs. Other knobs: `TETHER_BENCH_NOSYNC=1`
//! turns `fdatasync` off (CPU side only; by default every commit is durable, as in production)
//! and `TETHER_BENCH_DIR` picks where the temporary data dirs go (default: the system temp dir;
//! on tmpfs `fdatasync` costs nothing, which the header says).
//!
//! Every row runs on a fresh data dir. A row whose Sets fail prints the error in its cells and
//! the run goes on. After the Sets of a row the store is checked: the running tree holds
//! exactly what the row acknowledged, validates in full, and reads back the same after a clean
//! close and reopen.
//!
//! Data: access-list entries valid per `yang/tether-conntrack-bypass.yang` (action and protocol
//! always set; ports only with tcp or udp; IPv4 prefixes only from 198.18.0.0/15).

mod bench;
mod check;
mod child;
mod data;
mod rows;
mod table;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tether_model::{Schema, SchemaOptions};

use crate::bench::Bench;
use crate::child::{CHILD_ENV, child};

/// The file system type of the mount holding `p` (from /proc/mounts).
fn fs_type(p: &Path) -> String {
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, mnt, ty) = (f.next()?, f.next()?, f.next()?);
            p.starts_with(mnt).then(|| (mnt.len(), ty.to_string()))
        })
        .max()
        .map(|(_, t)| t)
        .unwrap_or_else(|| "unknown".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let started = Instant::now();
    let env_quick = std::env::var_os("TETHER_BENCH_QUICK").is_some();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: a smoke run then.
    let under_bench = std::env::args().any(|a| a == "--bench");
    let quick = env_quick || !under_bench;
    let schema = Schema::load(SchemaOptions::default()).expect("schema");
    if let Ok(job) = std::env::var(CHILD_ENV) {
        child(schema, &job);
    }
    let root = std::env::var_os("TETHER_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let b = Bench {
        schema,
        sync: std::env::var_os("TETHER_BENCH_NOSYNC").is_none(),
        root,
        n: if quick { 1_000 } else { 10_000 },
        samples: if quick { 10 } else { 300 },
        warmup: if quick { 2 } else { 10 },
        row_budget: Duration::from_secs(if quick { 5 } else { 30 }),
        chunk: if quick { 100 } else { 1_000 },
        chunk_reps: if quick { 3 } else { 10 },
        boots: if quick { 2 } else { 5 },
        since_snapshot: if quick { 50 } else { 499 },
        seq_commits: if quick { 20 } else { 1_000 },
        par_per_thread: if quick { 5 } else { 125 },
    };
    println!("# tether-store commit benchmark\n");
    println!(
        "- nproc: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "- TETHER_BENCH_QUICK: {}; run as: {}; mode: {}",
        if env_quick { "set" } else { "not set" },
        if under_bench {
            "`cargo bench`"
        } else {
            "a test (no `--bench` argument)"
        },
        if quick {
            "QUICK smoke run (numbers are not meaningful)"
        } else {
            "full"
        }
    );
    println!(
        "- build: {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "- fdatasync per commit: {}",
        if b.sync {
            "on (durable)"
        } else {
            "OFF (TETHER_BENCH_NOSYNC)"
        }
    );
    println!(
        "- data dirs under: {} ({})",
        b.root.display(),
        fs_type(&b.root)
    );
    println!("- load average at start: {}\n", loadavg());
    b.latency_table();
    b.bulk_table();
    b.load_table();
    b.boot_table();
    b.throughput_table();
    println!(
        "- load average at end: {}; whole run {:.0} s",
        loadavg(),
        started.elapsed().as_secs_f64()
    );
}
