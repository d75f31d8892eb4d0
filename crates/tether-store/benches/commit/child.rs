//! The crash child: a second process that commits and exits without closing the store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use tether_model::{Edit, Schema};
use tether_store::Store;

use crate::bench::*;
use crate::data::*;

/// Selects the child job of [`Bench::crash_after`].
pub(crate) const CHILD_ENV: &str = "TETHER_BENCH_CHILD";

/// The child of [`Bench::crash_after`]: on the store in `TETHER_BENCH_CHILD_DIR`, job `load`
/// sets the base configuration and `TETHER_BENCH_CHILD_N` entries in `big-000` (one Set),
/// job `since` makes `TETHER_BENCH_CHILD_K` one-leaf commits to `big-000`'s entries. Then it
/// prints the running leaves as JSON and exits without closing the store (a crash).
pub(crate) fn child(schema: &'static Schema, job: &str) -> ! {
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

pub(crate) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
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
