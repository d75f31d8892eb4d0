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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether_model::{ConfigTree, Edit, Schema, SchemaOptions};
use tether_store::{CommitMeta, SledStore, Store, StoreOptions};

const ACLS: &str = "/tether-conntrack-bypass:bypass/access-lists";
const GROUP1: &str = "/tether-link-state:link-state/groups/group[id='1']";
/// The small access-list that is not one of the big ones.
const SMALL: &str = "small";

fn acl(name: &str) -> String {
    format!("{ACLS}/access-list[name='{name}']")
}

fn big_name(k: usize) -> String {
    format!("big-{k:03}")
}

/// Entry `seq`, the `i`-th generated entry of the run (addresses and protocol follow `i`).
fn entry(seq: u32, i: usize) -> Value {
    let mut c = json!({
        "sequence": seq,
        "action": if i % 5 == 4 { "deny" } else { "permit" },
        "source-prefix": format!("198.18.{}.{}/32", (i / 256) % 256, i % 256),
        "destination-prefix": format!("198.19.{}.0/24", i % 256),
    });
    match i % 4 {
        0 => {
            c["protocol"] = json!("tcp");
            c["destination-port"] = json!(format!("{}", 1 + i % 65535));
        }
        1 => {
            c["protocol"] = json!("udp");
            c["source-port"] = json!("1024-65535");
            c["destination-port"] = json!("53");
        }
        2 => c["protocol"] = json!("icmp"),
        _ => c["protocol"] = json!("ip"),
    }
    json!({"sequence": seq, "config": c})
}

/// `{"entry": [...]}`: `count` entries with sequences from `first_seq`.
fn entries(first_seq: u32, count: usize, first_i: usize) -> Value {
    let e: Vec<Value> = (0..count)
        .map(|k| entry(first_seq + k as u32, first_i + k))
        .collect();
    json!({ "entry": e })
}

/// A whole access-list as one JSON subtree (the value of an update at `acl(name)`).
fn acl_subtree(name: &str, first_seq: u32, count: usize, first_i: usize) -> Value {
    json!({"name": name, "config": {"name": name}, "entries": entries(first_seq, count, first_i)})
}

/// One line, no table separators, data paths abbreviated, at most 240 characters.
fn short(s: &str) -> String {
    let s = s
        .replace(&format!("{ACLS}/"), "bypass:…/")
        .replace("/tether-link-state:link-state/", "link-state:…/");
    let s: String = s
        .chars()
        .map(|c| match c {
            '|' => '/',
            '\n' | '\r' | '\t' => ' ',
            c => c,
        })
        .collect();
    if s.chars().count() > 240 {
        format!("{}…", s.chars().take(240).collect::<String>())
    } else {
        s
    }
}

fn commit(s: &SledStore, edits: Vec<Edit>) -> Result<(), String> {
    let meta = CommitMeta {
        user: "bench".into(),
        client: "bench".into(),
        ..Default::default()
    };
    s.commit(edits, meta)
        .wait_blocking()
        .map(|_| ())
        .map_err(|e| short(&e.to_string()))
}

/// 10000 → "10,000".
fn th(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "10,000 entries in 100 access-lists of 100".
fn lists(n: usize, acls: usize) -> String {
    if acls == 1 {
        format!("{} entries in 1 access-list", th(n))
    } else {
        format!(
            "{} entries in {acls} access-lists of {}",
            th(n),
            th(n / acls)
        )
    }
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 10.0 {
        format!("{v:.3}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn pct(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn met(value: f64, target: f64) -> &'static str {
    if value <= target { "met" } else { "missed" }
}

/// Prints a row: `label` cells, then either the measured cells or the error across them.
fn row(label: &[String], cells: Result<Vec<String>, String>, width: usize) {
    let rest = match cells {
        Ok(c) => c,
        Err(e) => {
            let mut c = vec![format!("**error:** {e}")];
            c.resize(width, "–".into());
            c
        }
    };
    println!("| {} | {} |", label.join(" | "), rest.join(" | "));
}

/// The cells of a row whose Sets failed after the store was set up: the error, dashes, and
/// the check of what the store holds after the failure in the last cell.
fn failed(error: String, width: usize, check: String) -> Vec<String> {
    let mut c = vec![format!("**error:** {error}")];
    c.resize(width - 1, "–".into());
    c.push(format!("after the error: {check}"));
    c
}

/// Access-list name → number of entries, read from the leaves (`.../config/action`).
fn census(leaves: &BTreeMap<String, String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for k in leaves.keys() {
        if !k.ends_with("/config/action") {
            continue;
        }
        if let Some(rest) = k.split("access-list[name='").nth(1)
            && let Some(name) = rest.split('\'').next()
        {
            *out.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    out
}

fn diff(want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> Option<String> {
    let mut bad = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            Some(g) if g == v => {}
            Some(g) => bad.push(format!("{k} = {g:?}, expected {v:?}")),
            None => bad.push(format!("{k} missing")),
        }
    }
    for k in got.keys() {
        if !want.contains_key(k) {
            bad.push(format!("{k} unexpected"));
        }
    }
    if bad.is_empty() {
        None
    } else {
        Some(format!("{} leaves differ, e.g. {}", bad.len(), bad[0]))
    }
}

/// What the check after a row expects of the running tree.
enum Expect {
    /// Exactly these leaves.
    Leaves(BTreeMap<String, String>),
    /// Exactly these access-lists with these numbers of entries.
    Counts(BTreeMap<String, usize>),
}

impl Expect {
    /// What in `leaves` differs from the expectation, if anything.
    fn mismatch(&self, leaves: &BTreeMap<String, String>) -> Option<String> {
        match self {
            Expect::Leaves(want) => diff(want, leaves),
            Expect::Counts(want) => {
                let got = census(leaves);
                let names: std::collections::BTreeSet<&String> =
                    got.keys().chain(want.keys()).collect();
                let bad: Vec<String> = names
                    .into_iter()
                    .filter(|n| got.get(*n) != want.get(*n))
                    .map(|n| {
                        format!(
                            "`{n}` has {} entries, expected {}",
                            got.get(n).copied().unwrap_or(0),
                            want.get(n).copied().unwrap_or(0)
                        )
                    })
                    .collect();
                (!bad.is_empty()).then(|| {
                    format!(
                        "{} access-lists wrong, e.g. {}",
                        bad.len(),
                        bad[..bad.len().min(3)].join(", ")
                    )
                })
            }
        }
    }
}

/// The Sets of a load: per Set, per access-list (access-list number, first sequence, entries).
type LoadPlan = Vec<Vec<(usize, usize, usize)>>;

/// A Set built before the clock starts: its edits, and (access-list, entries) it adds.
type BuiltSet = (Vec<Edit>, Vec<(String, usize)>);

/// A store on a fresh temporary data dir (fields drop in order: store, then dir).
struct Fresh {
    store: Option<SledStore>,
    dir: tempfile::TempDir,
}

impl Fresh {
    fn s(&self) -> &SledStore {
        self.store.as_ref().expect("store is open")
    }
}

struct Bench {
    schema: &'static Schema,
    sync: bool,
    root: PathBuf,
    /// Entries stored in the "with entries" rows.
    n: usize,
    /// One-leaf Sets per latency row (after `warmup` untimed ones), and the row's time limit.
    samples: usize,
    warmup: usize,
    row_budget: Duration,
    /// Entries per Set in the bulk rows, and how many fresh access-lists the bulk row loads.
    chunk: usize,
    chunk_reps: usize,
    boots: usize,
    since_snapshot: usize,
    seq_commits: usize,
    par_per_thread: usize,
}

impl Bench {
    fn open(&self, dir: &Path) -> Result<SledStore, String> {
        let mut o = StoreOptions::new(dir);
        o.sync = self.sync;
        SledStore::open(self.schema, o).map_err(|e| short(&format!("open: {e}")))
    }

    fn tempdir(&self) -> Result<tempfile::TempDir, String> {
        tempfile::Builder::new()
            .prefix("tether-bench-")
            .tempdir_in(&self.root)
            .map_err(|e| format!("tempdir: {e}"))
    }

    /// A fresh store holding the base configuration.
    fn fresh(&self) -> Result<Fresh, String> {
        let dir = self.tempdir()?;
        let store = Some(self.open(dir.path())?);
        let f = Fresh { store, dir };
        self.base(f.s())?;
        Ok(f)
    }

    /// The base configuration: access-list `small` with entry 1 and link-state group 1 (Set 1
    /// of the reproduction, plus the group), in one Set.
    fn base(&self, s: &SledStore) -> Result<(), String> {
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
    fn crash_after(&self, job: &str, dir: &Path) -> Result<BTreeMap<String, String>, String> {
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
    fn load_big(&self, s: &SledStore, acls: usize) -> Result<(), String> {
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
    fn stocked(&self, acls: usize) -> Result<Fresh, String> {
        let f = self.fresh()?;
        if acls > 0 {
            self.load_big(f.s(), acls)?;
        }
        Ok(f)
    }

    fn expected_counts(&self, acls: usize) -> BTreeMap<String, usize> {
        let mut c = BTreeMap::from([(SMALL.to_string(), 1)]);
        for k in 0..acls {
            c.insert(big_name(k), self.n / acls);
        }
        c
    }

    /// Checks the running tree against `expect`, validates it in full, closes the store,
    /// reopens it and compares again. "ok" or what is wrong.
    fn verify(&self, mut f: Fresh, expect: &Expect) -> String {
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
    fn leaf_sets(
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

    fn latency_table(&self) {
        println!("## 1. One-leaf Set latency (durable), by entries stored and target leaf\n");
        println!(
            "Each row: a fresh store with access-list `{SMALL}` (1 entry) and link-state group 1, plus \
             the entries of the first column loaded one Set per access-list (one JSON subtree \
             each); then {} untimed and up to {} timed Sets (at most {} s per row), each one \
             update of the target leaf to a new string, acknowledged once durable. The ratio is \
             p50 over the empty-store p50 of the same module (target: ≤ 1.5). Check: the tree \
             holds exactly what was acknowledged, validates in full, and reads back the same \
             after close + reopen.\n",
            self.warmup,
            self.samples,
            self.row_budget.as_secs()
        );
        println!(
            "| entries stored | target leaf (one update per Set) | timed Sets | p50 (ms) | p99 (ms) | p50 ÷ empty-store p50 | check after the Sets |"
        );
        println!("|---|---|---:|---:|---:|---:|---|");
        let remark =
            |name: &str| format!("{}/entries/entry[sequence='1']/config/remark", acl(name));
        let ls = format!("{GROUP1}/config/description");
        let mut base: BTreeMap<&str, Duration> = BTreeMap::new();
        // (acls, target kind); acls = 0 is the empty store.
        let mut runs: Vec<(usize, &str)> = vec![(0, "bypass-other"), (0, "link-state")];
        for acls in [1, 10, 100] {
            runs.extend([
                (acls, "bypass-other"),
                (acls, "bypass-same"),
                (acls, "link-state"),
            ]);
        }
        for (acls, kind) in runs {
            let stored = if acls == 0 {
                "0 (empty store)".to_string()
            } else {
                lists(self.n, acls)
            };
            let (path, target, module) = match kind {
                "bypass-other" => (
                    remark(SMALL),
                    format!("`remark` of entry 1 of `{SMALL}` (another access-list, 1 entry)"),
                    "bypass",
                ),
                "bypass-same" => (
                    remark(&big_name(0)),
                    format!(
                        "`remark` of entry 1 of `{}` (one of the big access-lists, {} entries)",
                        big_name(0),
                        th(self.n / acls)
                    ),
                    "bypass",
                ),
                _ => (
                    ls.clone(),
                    "`description` of link-state group 1".to_string(),
                    "link-state",
                ),
            };
            let result = (|| {
                let f = self.stocked(acls)?;
                let mut want = f.s().config().leaves();
                let (lat, err) = self.leaf_sets(f.s(), &path, kind, &mut want);
                let check = self.verify(f, &Expect::Leaves(want));
                if let Some(e) = err {
                    return Ok(failed(e, 5, check));
                }
                let p50 = pct(&lat, 0.5);
                let ratio = if acls == 0 {
                    base.insert(module, p50);
                    "1 (baseline)".to_string()
                } else {
                    match base.get(module) {
                        Some(b) if !b.is_zero() => {
                            let r = p50.as_secs_f64() / b.as_secs_f64();
                            format!("{r:.2} ({})", met(r, 1.5))
                        }
                        _ => "no baseline".into(),
                    }
                };
                Ok(vec![
                    lat.len().to_string(),
                    ms(p50),
                    ms(pct(&lat, 0.99)),
                    ratio,
                    check,
                ])
            })();
            row(&[stored, target], result, 5);
        }
        println!();
    }

    fn bulk_table(&self) {
        println!(
            "## 2. {} entries in one Set (one JSON subtree)\n",
            th(self.chunk)
        );
        println!(
            "Each row: a fresh store (base configuration plus what the first column says); then, \
             {} times, a new access-list is created by one untimed Set (`.../access-list[name='load-K']/config` \
             = {{\"name\": ...}}) and filled by one timed Set: update of \
             `.../access-list[name='load-K']/entries` = {{\"entry\": [{} entries]}}. Target (for \
             1,000 entries): p50 ≤ 20 ms.\n",
            self.chunk_reps,
            th(self.chunk)
        );
        println!(
            "| already stored | Sets timed | p50 (ms) | min (ms) | max (ms) | target p50 ≤ 20 ms | check after the Sets |"
        );
        println!("|---|---:|---:|---:|---:|---:|---|");
        for acls in [0, 10] {
            let label = if acls == 0 {
                "nothing (empty store)".to_string()
            } else {
                lists(self.n, acls)
            };
            let result = (|| {
                let f = self.stocked(acls)?;
                let mut want = self.expected_counts(acls);
                let mut lat = Vec::new();
                let mut err = None;
                for r in 0..self.chunk_reps {
                    let name = format!("load-{r}");
                    let create =
                        Edit::update(format!("{}/config", acl(&name)), json!({"name": name}));
                    if let Err(e) = commit(f.s(), vec![create]) {
                        err = Some(format!("creating {name}: {e}"));
                        break;
                    }
                    let body = entries(1, self.chunk, 20_000 + r * self.chunk);
                    let fill = Edit::update(format!("{}/entries", acl(&name)), body);
                    let t = Instant::now();
                    if let Err(e) = commit(f.s(), vec![fill]) {
                        err = Some(format!(
                            "filling {name} (Set {} of {}): {e}",
                            r + 1,
                            self.chunk_reps
                        ));
                        break;
                    }
                    lat.push(t.elapsed());
                    want.insert(name, self.chunk);
                }
                let check = self.verify(f, &Expect::Counts(want));
                if let Some(e) = err {
                    return Ok(failed(e, 6, check));
                }
                let p50 = pct(&lat, 0.5);
                Ok(vec![
                    lat.len().to_string(),
                    ms(p50),
                    ms(pct(&lat, 0.0)),
                    ms(pct(&lat, 1.0)),
                    met(p50.as_secs_f64() * 1e3, 20.0).to_string(),
                    check,
                ])
            })();
            row(&[label], result, 6);
        }
        println!();
    }

    fn load_table(&self) {
        let sets = self.n / self.chunk;
        let cn = self.chunk;
        let n = th(self.n);
        let c = th(cn);
        println!("## 3. Loading {n} entries\n");
        println!(
            "Each row: a fresh store (base configuration only), then the Sets of the first column, \
             one after the other, each an update of `.../access-list[name='big-NNN']` with one JSON \
             subtree (`name`, `config`, `entries`). Time from the first Set sent to the last one \
             acknowledged durable. Target (for 10,000 entries): ≤ 1 s.\n"
        );
        println!("| Sets | total (ms) | slowest Set (ms) | target ≤ 1 s | check after loading |");
        println!("|---|---:|---:|---:|---|");
        // (label, the Sets)
        let plans: Vec<(String, LoadPlan)> = vec![
            (
                format!("1 Set: `big-000` with {n} entries"),
                vec![vec![(0, 1, self.n)]],
            ),
            (
                format!(
                    "1 Set of {} edits: `big-000`...`big-{:03}`, {c} entries each",
                    sets,
                    sets - 1
                ),
                vec![(0..sets).map(|k| (k, 1, cn)).collect()],
            ),
            (
                format!(
                    "{sets} Sets of {c} entries, all into `big-000` (sequences 1-{c}, {}-{}, ...)",
                    th(cn + 1),
                    th(2 * cn)
                ),
                (0..sets).map(|r| vec![(0, 1 + r * cn, cn)]).collect(),
            ),
            (
                format!(
                    "{sets} Sets of {c} entries, each a new access-list `big-000`...`big-{:03}`",
                    sets - 1
                ),
                (0..sets).map(|k| vec![(k, 1, cn)]).collect(),
            ),
        ];
        for (label, plan) in plans {
            let result = (|| {
                let f = self.fresh()?;
                let mut want = BTreeMap::from([(SMALL.to_string(), 1)]);
                // Every Set's edits are built before the clock starts.
                let mut i = 0;
                let sets: Vec<BuiltSet> = plan
                    .iter()
                    .map(|set| {
                        let mut edits = Vec::new();
                        let mut adds = Vec::new();
                        for &(k, first, count) in set {
                            let name = big_name(k);
                            edits.push(Edit::update(
                                acl(&name),
                                acl_subtree(&name, first as u32, count, i),
                            ));
                            i += count;
                            adds.push((name, count));
                        }
                        (edits, adds)
                    })
                    .collect();
                let n_sets = sets.len();
                let mut slowest = Duration::ZERO;
                let mut err = None;
                let started = Instant::now();
                for (si, (edits, adds)) in sets.into_iter().enumerate() {
                    let t = Instant::now();
                    if let Err(e) = commit(f.s(), edits) {
                        err = Some(format!("Set {} of {n_sets}: {e}", si + 1));
                        break;
                    }
                    slowest = slowest.max(t.elapsed());
                    for (name, count) in adds {
                        *want.entry(name).or_insert(0) += count;
                    }
                }
                let total = started.elapsed();
                let check = self.verify(f, &Expect::Counts(want));
                if let Some(e) = err {
                    return Ok(failed(e, 4, check));
                }
                Ok(vec![
                    ms(total),
                    ms(slowest),
                    met(total.as_secs_f64(), 1.0).to_string(),
                    check,
                ])
            })();
            row(&[label], result, 4);
        }
        println!();
    }

    /// Boots a copy of `dir` `self.boots` times; each must read back `want`.
    fn boots(&self, dir: &Path, want: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
        let mut times = Vec::new();
        let mut problem = None;
        for _ in 0..self.boots {
            let copy = self.tempdir()?;
            copy_dir(dir, copy.path()).map_err(|e| format!("copying the data dir: {e}"))?;
            let t = Instant::now();
            let s = self.open(copy.path())?;
            times.push(t.elapsed());
            if problem.is_none() {
                problem = diff(want, &s.config().leaves());
            }
            drop(s);
        }
        let p50 = pct(&times, 0.5);
        Ok(vec![
            times.len().to_string(),
            ms(p50),
            ms(pct(&times, 1.0)),
            met(p50.as_secs_f64() * 1e3, 200.0).to_string(),
            match problem {
                None => "ok".into(),
                Some(d) => short(&format!("booted tree: {d}")),
            },
        ])
    }

    fn boot_table(&self) {
        println!("## 4. Boot (`SledStore::open`)\n");
        println!(
            "Each row: one fresh store is prepared as the first column says, then a copy of its data \
             dir is opened {} times (each open on a new copy of the same files; time of `SledStore::open` \
             only). A crash: a child process (this benchmark again) makes the commits and \
             leaves with `std::process::exit` right after the last one was acknowledged, without \
             closing the store: what a SIGKILL at that point would leave. The store writes a boot \
             snapshot every 500 commits and at a clean close. Check: the booted tree equals the one \
             before the close. Target (for 10,000 entries): ≤ 200 ms.\n",
            self.boots
        );
        println!("| store | boots | p50 (ms) | max (ms) | target ≤ 200 ms | check |");
        println!("|---|---:|---:|---:|---:|---|");
        for acls in [0, 1, 10, 100] {
            let label = if acls == 0 {
                "empty store (base configuration), clean close".to_string()
            } else {
                format!("{}, clean close", lists(self.n, acls))
            };
            let result = (|| {
                let mut f = self.stocked(acls)?;
                let want = f.s().config().leaves();
                drop(f.store.take());
                self.boots(f.dir.path(), &want)
            })();
            row(&[label], result, 5);
        }
        // Snapshot at the clean close after loading, then many small commits, then a crash.
        let k = self.since_snapshot;
        let label = format!(
            "{}, clean close, then a process that makes {k} one-leaf commits (`remark` of entries of \
             `big-000`) and crashes: boot replays {k} commits after the snapshot",
            lists(self.n, 1)
        );
        let result = (|| {
            let mut f = self.stocked(1)?;
            drop(f.store.take());
            let want = self.crash_after("since", f.dir.path())?;
            self.boots(f.dir.path(), &want)
        })();
        row(&[label], result, 5);
        let label = format!(
            "{}, loaded by a process that crashes right after (no snapshot yet)",
            lists(self.n, 1)
        );
        let result = (|| {
            let dir = self.tempdir()?;
            let want = self.crash_after("load", dir.path())?;
            self.boots(dir.path(), &want)
        })();
        row(&[label], result, 5);
        // For reference: what rebuilding the tree from its leaves with full validation costs.
        let label = format!(
            "reference, no storage: `ConfigTree::from_leaves` (rebuild + full validation) of {} (and the base configuration)",
            lists(self.n, 1)
        );
        let result = (|| {
            let f = self.stocked(1)?;
            let leaves = f.s().config().leaves();
            drop(f);
            let mut times = Vec::new();
            for _ in 0..self.boots {
                let t = Instant::now();
                ConfigTree::from_leaves(
                    self.schema,
                    leaves.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                )
                .map_err(|e| short(&format!("from_leaves: {e}")))?;
                times.push(t.elapsed());
            }
            let p50 = pct(&times, 0.5);
            Ok(vec![
                times.len().to_string(),
                ms(p50),
                ms(pct(&times, 1.0)),
                met(p50.as_secs_f64() * 1e3, 200.0).to_string(),
                "valid".into(),
            ])
        })();
        row(&[label], result, 5);
        println!();
    }

    fn throughput_table(&self) {
        println!("## 5. Commit throughput (durable)\n");
        println!(
            "Each row: a fresh store (base configuration, link-state groups 100-107, and the entries \
             of the first column); then {} one-leaf Sets one after the other (`up-delay` of link-state \
             group 1), then 8 threads committing {} one-leaf Sets each at once (`up-delay` of their \
             own group 100-107; the store batches concurrent commits into one fdatasync).\n",
            th(self.seq_commits),
            th(self.par_per_thread)
        );
        println!(
            "| entries stored | sequential commits/s | 8 committers commits/s | check after the Sets |"
        );
        println!("|---|---:|---:|---|");
        for acls in [0, 1, 100] {
            let label = if acls == 0 {
                "0 (empty store)".to_string()
            } else {
                lists(self.n, acls)
            };
            let result = (|| {
                let f = self.stocked(acls)?;
                let groups: Vec<Edit> = (100..108u32)
                    .map(|g| {
                        Edit::update(
                            format!("/tether-link-state:link-state/groups/group[id='{g}']/config"),
                            json!({"id": g}),
                        )
                    })
                    .collect();
                commit(f.s(), groups).map_err(|e| format!("creating groups: {e}"))?;
                let up_delay = |g: u32, v: usize| {
                    Edit::update(
                        format!(
                            "/tether-link-state:link-state/groups/group[id='{g}']/config/up-delay"
                        ),
                        json!(1 + v % 3600),
                    )
                };
                let t0 = Instant::now();
                for i in 0..self.seq_commits {
                    commit(f.s(), vec![up_delay(1, i)])
                        .map_err(|e| format!("sequential Set {}: {e}", i + 1))?;
                }
                let seq = self.seq_commits as f64 / t0.elapsed().as_secs_f64();
                let mut f = f;
                let s = Arc::new(f.store.take().expect("store is open"));
                let per = self.par_per_thread;
                let t0 = Instant::now();
                let handles: Vec<_> = (0..8u32)
                    .map(|t| {
                        let s = Arc::clone(&s);
                        std::thread::spawn(move || -> Result<(), String> {
                            for i in 0..per {
                                commit(&s, vec![up_delay(100 + t, i)])
                                    .map_err(|e| format!("committer {t}, Set {}: {e}", i + 1))?;
                            }
                            Ok(())
                        })
                    })
                    .collect();
                let mut first_err = None;
                for h in handles {
                    let r = h
                        .join()
                        .unwrap_or_else(|_| Err("committer panicked".into()));
                    if let Err(e) = r {
                        first_err.get_or_insert(e);
                    }
                }
                let par = (per * 8) as f64 / t0.elapsed().as_secs_f64();
                if let Some(e) = first_err {
                    return Err(e);
                }
                f.store = Some(Arc::into_inner(s).ok_or("store still shared")?);
                let check = self.verify(f, &Expect::Counts(self.expected_counts(acls)));
                Ok(vec![
                    th(seq.round() as usize),
                    th(par.round() as usize),
                    check,
                ])
            })();
            row(&[label], result, 3);
        }
        println!();
    }
}

/// Selects the child job of [`Bench::crash_after`].
const CHILD_ENV: &str = "TETHER_BENCH_CHILD";

/// The child of [`Bench::crash_after`]: on the store in `TETHER_BENCH_CHILD_DIR`, job `load`
/// sets the base configuration and `TETHER_BENCH_CHILD_N` entries in `big-000` (one Set),
/// job `since` makes `TETHER_BENCH_CHILD_K` one-leaf commits to `big-000`'s entries. Then it
/// prints the running leaves as JSON and exits without closing the store (a crash).
fn child(schema: &'static Schema, job: &str) -> ! {
    let num = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let dir = PathBuf::from(std::env::var_os("TETHER_BENCH_CHILD_DIR").unwrap_or_default());
    let b = Bench {
        schema,
        sync: std::env::var_os("TETHER_BENCH_NOSYNC").is_none(),
        root: std::env::temp_dir(),
        n: num("TETHER_BENCH_CHILD_N").max(1),
        samples: 0,
        warmup: 0,
        row_budget: Duration::ZERO,
        chunk: 1,
        chunk_reps: 0,
        boots: 0,
        since_snapshot: num("TETHER_BENCH_CHILD_K"),
        seq_commits: 0,
        par_per_thread: 0,
    };
    let result = (|| {
        let s = b.open(&dir)?;
        match job {
            "load" => {
                b.base(&s)?;
                b.load_big(&s, 1)?;
            }
            "since" => {
                for i in 0..b.since_snapshot {
                    let path = format!(
                        "{}/entries/entry[sequence='{}']/config/remark",
                        acl(&big_name(0)),
                        1 + i % b.n
                    );
                    commit(&s, vec![Edit::update(path, json!(format!("since {i}")))])
                        .map_err(|e| format!("commit {} of {}: {e}", i + 1, b.since_snapshot))?;
                }
            }
            other => return Err(format!("unknown job {other}")),
        }
        let leaves = s.config().leaves();
        // Leaves `s` open: the process ends without closing the store.
        std::mem::forget(s);
        serde_json::to_string(&leaves).map_err(|e| e.to_string())
    })();
    match result {
        Ok(json) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(json.as_bytes());
            let _ = out.flush();
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

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
