//! The five tables: latency, bulk, load, boot, throughput.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tether_model::{ConfigTree, Edit};
use tether_store::Store;

use crate::bench::*;
use crate::check::*;
use crate::child::*;
use crate::data::*;
use crate::table::*;

impl Bench {
    pub(crate) fn latency_table(&self) {
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

    pub(crate) fn bulk_table(&self) {
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

    pub(crate) fn load_table(&self) {
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
    pub(crate) fn boots(
        &self,
        dir: &Path,
        want: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, String> {
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

    pub(crate) fn boot_table(&self) {
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

    pub(crate) fn throughput_table(&self) {
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
