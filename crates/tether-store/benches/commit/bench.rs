//! The benchmark's settings and the store plumbing every row shares.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use tether_model::{ConfigTree, Edit, Schema};
use tether_store::{SledStore, Store, StoreOptions};

use crate::check::*;
use crate::child::*;
use crate::data::*;

/// The Sets of a load: per Set, per access-list (access-list number, first sequence, entries).
pub(crate) type LoadPlan = Vec<Vec<(usize, usize, usize)>>;

/// A Set built before the clock starts: its edits, and (access-list, entries) it adds.
pub(crate) type BuiltSet = (Vec<Edit>, Vec<(String, usize)>);

/// A store on a fresh temporary data dir (fields drop in order: store, then dir).
pub(crate) struct Fresh {
    pub(crate) store: Option<SledStore>,
    pub(crate) dir: tempfile::TempDir,
}

impl Fresh {
    pub(crate) fn s(&self) -> &SledStore {
        self.store.as_ref().expect("store is open")
    }
}

pub(crate) struct Bench {
    pub(crate) schema: &'static Schema,
    pub(crate) sync: bool,
    pub(crate) root: PathBuf,
    /// Entries stored in the "with entries" rows.
    pub(crate) n: usize,
    /// One-leaf Sets per latency row (after `warmup` untimed ones), and the row's time limit.
    pub(crate) samples: usize,
    pub(crate) warmup: usize,
    pub(crate) row_budget: Duration,
    /// Entries per Set in the bulk rows, and how many fresh access-lists the bulk row loads.
    pub(crate) chunk: usize,
    pub(crate) chunk_reps: usize,
    pub(crate) boots: usize,
    pub(crate) since_snapshot: usize,
    pub(crate) seq_commits: usize,
    pub(crate) par_per_thread: usize,
}

impl Bench {
    pub(crate) fn open(&self, dir: &Path) -> Result<SledStore, String> {
        let mut o = StoreOptions::new(dir);
        o.sync = self.sync;
        SledStore::open(self.schema, o).map_err(|e| short(&format!("open: {e}")))
    }

    pub(crate) fn tempdir(&self) -> Result<tempfile::TempDir, String> {
        tempfile::Builder::new()
            .prefix("tether-bench-")
            .tempdir_in(&self.root)
            .map_err(|e| format!("tempdir: {e}"))
    }

    /// A fresh store holding the base configuration.
    pub(crate) fn fresh(&self) -> Result<Fresh, String> {
        let dir = self.tempdir()?;
        let store = Some(self.open(dir.path())?);
        let f = Fresh { store, dir };
        self.base(f.s())?;
        Ok(f)
    }

    /// The base configuration: access-list `small` with entry 1 and link-state group 1 (Set 1
    /// of the reproduction, plus the group), in one Set.
    pub(crate) fn base(&self, s: &SledStore) -> Result<(), String> {
        commit(
            s,
            vec![
                Edit::update(format!("{}/config", acl(SMALL)), json!({"name": SMALL})),
                Edit::update(
                    format!("{}/entries/entry[sequence='1']/config", acl(SMALL)),
                    json!({"sequence": 1, "action": "permit", "protocol": "tcp",
                        "source-prefix": "198.19.255.0/24",
                        "destination-prefix": "198.19.254.0/24", "destination-port": "443"}),
                ),
                Edit::update(format!("{GROUP1}/config"), json!({"id": 1})),
            ],
        )
        .map_err(|e| format!("base configuration: {e}"))
    }

    /// Runs `job` (see [`child`]) in a child process on the store in `dir` and returns the leaves
    /// its store held when it crashed.
    pub(crate) fn crash_after(
        &self,
        job: &str,
        dir: &Path,
    ) -> Result<BTreeMap<String, String>, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let out = std::process::Command::new(exe)
            .env(CHILD_ENV, job)
            .env("TETHER_BENCH_CHILD_DIR", dir)
            .env("TETHER_BENCH_CHILD_N", self.n.to_string())
            .env("TETHER_BENCH_CHILD_K", self.since_snapshot.to_string())
            .output()
            .map_err(|e| format!("child: {e}"))?;
        if !out.status.success() {
            return Err(short(&format!(
                "child ({job}) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("child ({job}) output: {e}"))
    }

    /// Stores `self.n` entries spread evenly over `acls` access-lists `big-000`..., one Set
    /// (one JSON subtree) per access-list.
    pub(crate) fn load_big(&self, s: &SledStore, acls: usize) -> Result<(), String> {
        let per = self.n / acls;
        for k in 0..acls {
            let name = big_name(k);
            commit(
                s,
                vec![Edit::update(
                    acl(&name),
                    acl_subtree(&name, 1, per, k * per),
                )],
            )
            .map_err(|e| format!("loading {name}: {e}"))?;
        }
        Ok(())
    }

    /// A fresh store with the base configuration and `self.n` entries over `acls` lists
    /// (`acls` = 0: none).
    pub(crate) fn stocked(&self, acls: usize) -> Result<Fresh, String> {
        let f = self.fresh()?;
        if acls > 0 {
            self.load_big(f.s(), acls)?;
        }
        Ok(f)
    }

    pub(crate) fn expected_counts(&self, acls: usize) -> BTreeMap<String, usize> {
        let mut c = BTreeMap::from([(SMALL.to_string(), 1)]);
        for k in 0..acls {
            c.insert(big_name(k), self.n / acls);
        }
        c
    }

    /// Checks the running tree against `expect`, validates it in full, closes the store,
    /// reopens it and compares again. "ok" or what is wrong.
    pub(crate) fn verify(&self, mut f: Fresh, expect: &Expect) -> String {
        let live = f.s().config().leaves();
        let mut problems = Vec::new();
        if let Some(p) = expect.mismatch(&live) {
            problems.push(short(&format!("running tree: {p}")));
        }
        if let Err(e) = ConfigTree::from_leaves(
            self.schema,
            live.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ) {
            problems.push(short(&format!("running tree invalid: {e}")));
        }
        drop(f.store.take());
        match self.open(f.dir.path()) {
            Ok(s) => {
                let back = s.config().leaves();
                if let Some(p) = expect.mismatch(&back) {
                    problems.push(short(&format!("after close + reopen: {p}")));
                } else if let Some(d) = diff(&live, &back) {
                    problems.push(short(&format!("after close + reopen, vs before: {d}")));
                }
            }
            Err(e) => problems.push(format!("reopen: {e}")),
        }
        if problems.is_empty() {
            "ok".into()
        } else {
            problems.join("; ")
        }
    }

    /// One-leaf Sets of `path` to a new string each time: the latencies of the timed ones, and
    /// the error that stopped them if one did. `want` follows the acknowledged Sets.
    pub(crate) fn leaf_sets(
        &self,
        s: &SledStore,
        path: &str,
        tag: &str,
        want: &mut BTreeMap<String, String>,
    ) -> (Vec<Duration>, Option<String>) {
        let started = Instant::now();
        let mut lat = Vec::with_capacity(self.samples);
        let total = self.warmup + self.samples;
        for i in 0..total {
            if i >= self.warmup && started.elapsed() > self.row_budget {
                break;
            }
            let value = format!("{tag} {i}");
            let edit = Edit::update(path, json!(value));
            let t = Instant::now();
            if let Err(e) = commit(s, vec![edit]) {
                return (lat, Some(format!("Set {} of {total}: {e}", i + 1)));
            }
            if i >= self.warmup {
                lat.push(t.elapsed());
            }
            want.insert(path.to_string(), value);
        }
        (lat, None)
    }
}
