//! The sled implementation of [`Store`].
//!
//! Layout (sled trees):
//! - `config`: one key per explicitly set leaf, its data path → its canonical value. A commit
//!   writes only the leaves it changed, so its cost does not grow with the datastore.
//! - `commits`: commit id (big-endian u64) → JSON [`CommitRecord`]; the last N are kept.
//! - `runtime`: daemon records kept beside the configuration (see [`Store::runtime_put`]).

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use tether_model::{ConfigTree, Edit, LeafChange, ModelError, Schema};
use tokio::sync::{broadcast, oneshot};
use tracing::{debug, error, info, info_span};

use crate::durable::DataFiles;
use crate::{CommitMeta, CommitOutcome, CommitRecord, Pending, Store, StoreError};

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub dir: PathBuf,
    /// Commits kept in the log for audit and rollback.
    pub keep_commits: u64,
    /// `fdatasync` before acknowledging (on in production; benchmarks can measure both).
    pub sync: bool,
}

impl StoreOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StoreOptions {
            dir: dir.into(),
            keep_commits: 1000,
            sync: true,
        }
    }
}

enum Request {
    Commit {
        edits: Vec<Edit>,
        meta: CommitMeta,
        reply: oneshot::Sender<Result<CommitOutcome, StoreError>>,
    },
    Rollback {
        to: u64,
        meta: CommitMeta,
        reply: oneshot::Sender<Result<CommitOutcome, StoreError>>,
    },
}

struct Shared {
    config: RwLock<ConfigTree>,
    db: sled::Db,
    tree_config: sled::Tree,
    tree_commits: sled::Tree,
    tree_runtime: sled::Tree,
    /// Key `tree`: the commit id (8 bytes, big-endian) and a LYB image of the configuration
    /// as of that commit. Boot loads it and replays the commits made after it.
    tree_snapshot: sled::Tree,
    files: DataFiles,
    sync: bool,
    keep: u64,
    bus: broadcast::Sender<Arc<CommitRecord>>,
    /// Serialises runtime-record writes with their sync.
    runtime_lock: Mutex<()>,
}

/// The sled-backed datastore.
pub struct SledStore {
    shared: Arc<Shared>,
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

fn corrupt(key: impl Into<String>, message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: key.into(),
        message: message.to_string(),
    }
}

impl SledStore {
    /// Opens (or creates) the store and loads the last committed configuration.
    pub fn open(schema: &'static Schema, options: StoreOptions) -> Result<SledStore, StoreError> {
        let _span = info_span!("store.open", dir = %options.dir.display()).entered();
        let started = std::time::Instant::now();
        std::fs::create_dir_all(&options.dir)?;
        let db = open_db(&options.dir)?;
        let tree_config = db.open_tree("config")?;
        let tree_commits = db.open_tree("commits")?;
        let tree_runtime = db.open_tree("runtime")?;

        let tree_snapshot = db.open_tree("snapshot")?;
        let last = last_commit_id(&tree_commits)?;
        let (config, snapshot_id, how) =
            load_config(schema, &tree_config, &tree_commits, &tree_snapshot, last)?;
        // Make sure the files exist before opening them for sync.
        db.flush()?;
        let files = DataFiles::open(&options.dir)?;
        let (bus, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            config: RwLock::new(config),
            db,
            tree_config,
            tree_commits,
            tree_runtime,
            tree_snapshot,
            files,
            sync: options.sync,
            keep: options.keep_commits.max(1),
            bus,
            runtime_lock: Mutex::new(()),
        });
        info!(
            from = how,
            last_commit = last,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "datastore loaded"
        );

        let (tx, rx) = mpsc::channel();
        let w = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("tether-store-writer".into())
            .spawn(move || writer_loop(w, rx, last, snapshot_id))?;
        Ok(SledStore {
            shared,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    fn send(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<CommitOutcome, StoreError>>) -> Request,
    ) -> Pending {
        let (reply, rx) = oneshot::channel();
        let req = make(reply);
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = guard.as_ref() {
            // If the writer is gone the reply sender drops and the caller gets Closed.
            let _ = tx.send(req);
        }
        Pending::new(rx)
    }

    /// Stops the writer after it has finished what was queued.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }

    /// The id of the newest commit (0 when none).
    pub fn last_commit_id(&self) -> Result<u64, StoreError> {
        last_commit_id(&self.shared.tree_commits)
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// Opens sled, waiting briefly for the previous owner of the directory to let go: sled's
/// flusher thread keeps the file lock for a moment after a store in this process is dropped
/// (a quick close and reopen, a restart in tests).
fn open_db(dir: &std::path::Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn last_commit_id(t: &sled::Tree) -> Result<u64, StoreError> {
    match t.last()? {
        Some((k, _)) => {
            let b: [u8; 8] = k
                .as_ref()
                .try_into()
                .map_err(|_| corrupt("commit id", "not 8 bytes"))?;
            Ok(u64::from_be_bytes(b))
        }
        None => Ok(0),
    }
}

impl Store for SledStore {
    fn commit(&self, edits: Vec<Edit>, meta: CommitMeta) -> Pending {
        self.send(|reply| Request::Commit { edits, meta, reply })
    }

    fn rollback(&self, id: u64, meta: CommitMeta) -> Pending {
        self.send(|reply| Request::Rollback {
            to: id,
            meta,
            reply,
        })
    }

    fn config(&self) -> RwLockReadGuard<'_, ConfigTree> {
        self.shared.config.read().unwrap_or_else(|e| e.into_inner())
    }

    fn commits(&self, limit: usize) -> Result<Vec<CommitRecord>, StoreError> {
        let mut out = Vec::new();
        for kv in self.shared.tree_commits.iter().rev().take(limit) {
            let (k, v) = kv?;
            out.push(serde_json::from_slice(&v).map_err(|e| corrupt(format!("commit {k:?}"), e))?);
        }
        Ok(out)
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<CommitRecord>> {
        self.shared.bus.subscribe()
    }

    fn runtime_put(&self, key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        let s = &self.shared;
        let _g = s.runtime_lock.lock().unwrap_or_else(|e| e.into_inner());
        match value {
            Some(v) => s.tree_runtime.insert(key.as_bytes(), v)?,
            None => s.tree_runtime.remove(key.as_bytes())?,
        };
        s.db.flush()?;
        if s.sync {
            s.files.sync()?;
        }
        Ok(())
    }

    fn runtime_batch(&self, changes: &[(String, Option<Vec<u8>>)]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let s = &self.shared;
        let _g = s.runtime_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = sled::Batch::default();
        for (k, v) in changes {
            match v {
                Some(v) => batch.insert(k.as_bytes(), v.as_slice()),
                None => batch.remove(k.as_bytes()),
            }
        }
        s.tree_runtime.apply_batch(batch)?;
        s.db.flush()?;
        if s.sync {
            s.files.sync()?;
        }
        Ok(())
    }

    fn runtime_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.shared.tree_runtime.scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv?;
            out.push((String::from_utf8_lossy(&k).into_owned(), v.to_vec()));
        }
        Ok(out)
    }
}

type Reply = oneshot::Sender<Result<CommitOutcome, StoreError>>;

/// The single writer: applies requests in arrival order, and syncs once per batch.
fn writer_loop(
    s: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    mut last_id: u64,
    mut snapshot_id: u64,
) {
    let mut failed: Option<String> = None;
    if snapshot_id != last_id {
        snapshot_id = write_snapshot(&s, last_id).unwrap_or(snapshot_id);
    }
    while let Ok(first) = rx.recv() {
        if failed.is_none() && last_id >= snapshot_id + SNAPSHOT_EVERY {
            // Between batches, never on a caller's path: the replies of the previous batch
            // are already sent.
            snapshot_id = write_snapshot(&s, last_id).unwrap_or(snapshot_id);
        }
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut durable: Vec<(Reply, CommitOutcome, Option<Arc<CommitRecord>>)> = Vec::new();
        for req in batch {
            let (reply, result) = match req {
                Request::Commit { edits, meta, reply } => {
                    let r = match &failed {
                        Some(f) => Err(StoreError::Failed(f.clone())),
                        None => commit_one(&s, &mut last_id, meta, |t| t.apply(&edits)),
                    };
                    (reply, r)
                }
                Request::Rollback { to, meta, reply } => {
                    let r = match &failed {
                        Some(f) => Err(StoreError::Failed(f.clone())),
                        None => rollback_changes(&s, to, last_id).and_then(|changes| {
                            commit_one(&s, &mut last_id, meta, |t| t.apply_leaf_changes(&changes))
                        }),
                    };
                    (reply, r)
                }
            };
            match result {
                Ok((outcome, record)) => durable.push((reply, outcome, record)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if durable.is_empty() {
            continue;
        }
        let synced = s.db.flush().map_err(StoreError::from).and_then(|_| {
            if s.sync {
                s.files.sync().map_err(StoreError::from)
            } else {
                Ok(())
            }
        });
        match synced {
            Ok(()) => {
                debug!(commits = durable.len(), "batch durable");
                for (reply, outcome, record) in durable {
                    if let Some(r) = record {
                        // No subscriber is fine.
                        let _ = s.bus.send(r);
                    }
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                // The in-memory tree is ahead of what is known to be on disk: refuse further
                // writes; a restart reloads what is really there.
                error!(error = %e, "commit could not be made durable; the store is now read-only");
                failed = Some(e.to_string());
                for (reply, _, _) in durable {
                    let _ = reply.send(Err(StoreError::Failed(e.to_string())));
                }
            }
        }
    }
    if failed.is_none() && snapshot_id != last_id && write_snapshot(&s, last_id).is_some() {
        let _ = s.db.flush();
    }
}

/// Commits between boot snapshots. The log keeps more than this by default, so boot replays
/// at most this many commits on top of the snapshot.
const SNAPSHOT_EVERY: u64 = 500;

/// Saves a LYB image of the configuration as of commit `id` (flushed with the next batch,
/// or at close; losing it only makes the next boot slower).
fn write_snapshot(s: &Shared, id: u64) -> Option<u64> {
    let image = s.config.read().unwrap_or_else(|e| e.into_inner()).to_lyb();
    let image = match image {
        Ok(i) => i,
        Err(e) => {
            error!(error = %e, "could not print the boot snapshot");
            return None;
        }
    };
    let mut v = Vec::with_capacity(8 + image.len());
    v.extend_from_slice(&id_key(id));
    v.extend_from_slice(&image);
    match s.tree_snapshot.insert(b"tree", v) {
        Ok(_) => {
            debug!(commit = id, bytes = image.len(), "boot snapshot saved");
            Some(id)
        }
        Err(e) => {
            error!(error = %e, "could not save the boot snapshot");
            None
        }
    }
}

/// Loads the configuration: the snapshot plus the commits after it when the log still holds
/// them all, else every persisted leaf. Returns the tree, the snapshot's commit id (0 when
/// there is none usable) and how it was loaded, for the log.
fn load_config(
    schema: &'static Schema,
    tree_config: &sled::Tree,
    tree_commits: &sled::Tree,
    tree_snapshot: &sled::Tree,
    last: u64,
) -> Result<(ConfigTree, u64, &'static str), StoreError> {
    if let Some(v) = tree_snapshot.get(b"tree")?
        && v.len() >= 8
    {
        let mut idb = [0u8; 8];
        idb.copy_from_slice(&v[..8]);
        let snap = u64::from_be_bytes(idb);
        let covered =
            snap == last || (snap < last && tree_commits.get(id_key(snap + 1))?.is_some());
        if snap <= last && covered {
            match ConfigTree::from_lyb(schema, &v[8..]) {
                Ok(mut tree) => {
                    for kv in tree_commits.range(id_key(snap + 1)..) {
                        let (k, v) = kv?;
                        let rec: CommitRecord = serde_json::from_slice(&v)
                            .map_err(|e| corrupt(format!("commit {k:?}"), e))?;
                        tree.replay_trusted(&rec.changes)?;
                    }
                    return Ok((tree, snap, "snapshot"));
                }
                Err(e) => {
                    error!(error = %e, "boot snapshot unreadable; rebuilding from leaves")
                }
            }
        }
    }
    let mut leaves = Vec::new();
    for kv in tree_config.iter() {
        let (k, v) = kv?;
        let k = String::from_utf8(k.to_vec()).map_err(|e| corrupt("config key", e))?;
        let v = String::from_utf8(v.to_vec()).map_err(|e| corrupt(k.clone(), e))?;
        leaves.push((k, v));
    }
    let tree = ConfigTree::from_trusted_leaves(
        schema,
        leaves.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?;
    Ok((tree, 0, "leaves"))
}

/// Applies one change to the in-memory tree and writes it to sled (not yet synced).
fn commit_one(
    s: &Shared,
    last_id: &mut u64,
    meta: CommitMeta,
    edit: impl FnOnce(&mut ConfigTree) -> Result<Vec<LeafChange>, ModelError>,
) -> Result<(CommitOutcome, Option<Arc<CommitRecord>>), StoreError> {
    let span = info_span!("store.persist", user = %meta.user, client = %meta.client, commit_id = tracing::field::Empty);
    let _e = span.enter();
    let time_ns = now_ns();
    let mut tree = s.config.write().unwrap_or_else(|e| e.into_inner());
    let changes = edit(&mut tree)?;
    if changes.is_empty() {
        return Ok((
            CommitOutcome {
                id: *last_id,
                time_ns,
                changes,
            },
            None,
        ));
    }
    let id = *last_id + 1;
    span.record("commit_id", id);
    let record = CommitRecord {
        id,
        time_ns,
        meta,
        changes,
    };
    let encoded = match serde_json::to_vec(&record) {
        Ok(e) => e,
        Err(e) => {
            revert(&mut tree, &record.changes);
            return Err(corrupt(format!("commit {id}"), e));
        }
    };
    let keep = s.keep;
    let written: Result<(), TransactionError<()>> =
        (&s.tree_config, &s.tree_commits).transaction(|(cfg, log)| {
            for c in &record.changes {
                match &c.new {
                    Some(v) => cfg.insert(c.path.as_bytes(), v.as_bytes())?,
                    None => cfg.remove(c.path.as_bytes())?,
                };
            }
            log.insert(&id_key(id), encoded.as_slice())?;
            if id > keep {
                log.remove(&id_key(id - keep))?;
            }
            Ok::<(), ConflictableTransactionError<()>>(())
        });
    if let Err(e) = written {
        revert(&mut tree, &record.changes);
        return Err(match e {
            TransactionError::Storage(e) => StoreError::Storage(e),
            TransactionError::Abort(()) => StoreError::Failed("transaction aborted".into()),
        });
    }
    *last_id = id;
    let outcome = CommitOutcome {
        id,
        time_ns,
        changes: record.changes.clone(),
    };
    Ok((outcome, Some(Arc::new(record))))
}

/// Puts the in-memory tree back after a storage failure.
fn revert(tree: &mut ConfigTree, changes: &[LeafChange]) {
    let back: Vec<LeafChange> = changes.iter().map(LeafChange::reversed).collect();
    if let Err(e) = tree.apply_leaf_changes(&back) {
        error!(error = %e, "could not revert the in-memory configuration");
    }
}

/// The leaf changes that take the configuration from now back to right after commit `to`.
fn rollback_changes(s: &Shared, to: u64, last: u64) -> Result<Vec<LeafChange>, StoreError> {
    if to > last || (to > 0 && s.tree_commits.get(id_key(to))?.is_none()) {
        return Err(StoreError::UnknownCommit(to));
    }
    // Walk back from the newest commit; the oldest `old` seen for a leaf is its value at `to`.
    let mut target: std::collections::BTreeMap<String, (Option<String>, Option<String>)> =
        Default::default();
    for kv in s.tree_commits.range(id_key(to + 1)..).rev() {
        let (k, v) = kv?;
        let rec: CommitRecord =
            serde_json::from_slice(&v).map_err(|e| corrupt(format!("commit {k:?}"), e))?;
        for c in rec.changes {
            let e = target
                .entry(c.path.clone())
                .or_insert((c.new.clone(), c.old.clone()));
            e.1 = c.old;
        }
    }
    if to == 0 && s.tree_commits.get(id_key(1))?.is_none() {
        // The log no longer reaches back to the empty datastore.
        return Err(StoreError::UnknownCommit(to));
    }
    Ok(target
        .into_iter()
        .filter(|(_, (now, then))| now != then)
        .map(|(path, (now, then))| LeafChange {
            path,
            old: now,
            new: then,
        })
        .collect())
}
