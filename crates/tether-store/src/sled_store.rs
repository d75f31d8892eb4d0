//! The sled implementation of [`Store`].
//!
//! Two configuration trees, one invariant: **readers see only what is durable.**
//! - `published` is what `config()` returns (Get, Subscribe, the worker). It changes only
//!   after a batch of commits is on stable storage, by installing each commit's prepared
//!   transaction.
//! - `working` is the writer thread's own: `published` plus the commits of the batch being
//!   written. Each request is prepared against it (never written by the preparation), so a
//!   refused request leaves no trace anywhere; an accepted one is installed in `working`,
//!   so the next request of the batch sees it, and written to sled.
//!
//! When a batch cannot be made durable, every commit of it is refused (RESOURCE_EXHAUSTED
//! for a full disk, UNAVAILABLE otherwise), `working` is rebuilt from `published`, and the
//! store *heals*: it reopens sled (which may refuse everything after an I/O error) and takes
//! back the records the failed batch wrote, so the disk again holds exactly what was
//! acknowledged. Healing is retried with the next request (at most every
//! [`HEAL_INTERVAL`]); commits resume by themselves once the disk is usable.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Instant;

use tether_model::{ConfigTree, Edit, Schema};
use tokio::sync::{broadcast, oneshot};
use tracing::{info, info_span};

use crate::boot::{self, CheckReport};
use crate::disk::{Disk, Marker, corrupt};
use crate::{
    CommitMeta, CommitOutcome, CommitRecord, ConfirmedRequest, ConfirmedStatus, Pending, Store,
    StoreError,
};

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

pub(crate) enum Request {
    Commit {
        edits: Vec<Edit>,
        meta: CommitMeta,
        reply: Reply,
    },
    Rollback {
        to: u64,
        meta: CommitMeta,
        reply: Reply,
    },
    /// A confirmed-commit request (`confirmed.rs`); always a batch of its own.
    Confirmed {
        request: ConfirmedRequest,
        meta: CommitMeta,
        reply: Reply,
    },
}

impl Request {
    pub(crate) fn is_confirmed(&self) -> bool {
        matches!(self, Request::Confirmed { .. })
    }

    pub(crate) fn into_reply(self) -> Reply {
        match self {
            Request::Commit { reply, .. }
            | Request::Rollback { reply, .. }
            | Request::Confirmed { reply, .. } => reply,
        }
    }
}

pub(crate) type Reply = oneshot::Sender<Result<CommitOutcome, StoreError>>;

pub(crate) struct Shared {
    pub(crate) published: RwLock<ConfigTree>,
    /// The open database; replaced when the store heals after a disk fault (None while it is
    /// being reopened).
    pub(crate) disk: RwLock<Option<Arc<Disk>>>,
    pub(crate) dir: PathBuf,
    pub(crate) sync: bool,
    pub(crate) keep: u64,
    pub(crate) bus: broadcast::Sender<Arc<CommitRecord>>,
    /// Serialises runtime-record writes with their sync.
    pub(crate) runtime_lock: Mutex<()>,
    /// The pending confirmed commit as of the last durable batch (the writer's is the truth;
    /// this copy is for [`Store::confirmed_status`]).
    pub(crate) confirmed: RwLock<Option<ConfirmedStatus>>,
    /// Confirmed commits reverted since the store opened, counted once the revert is durable
    /// (for [`Store::reverts`]).
    pub(crate) reverts: AtomicU64,
}

impl Shared {
    pub(crate) fn disk(&self) -> Result<Arc<Disk>, StoreError> {
        self.disk
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the datastore's disk is being reopened".into()))
    }
}

/// The sled-backed datastore.
pub struct SledStore {
    shared: Arc<Shared>,
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl SledStore {
    /// Opens (or creates) the store, loads the last committed configuration and checks it
    /// (see `boot.rs`): a datastore that is invalid, inconsistent or lost acknowledged
    /// commits is refused with an error naming what is wrong.
    pub fn open(schema: &'static Schema, options: StoreOptions) -> Result<SledStore, StoreError> {
        let _span = info_span!("store.open", dir = %options.dir.display()).entered();
        let started = Instant::now();
        std::fs::create_dir_all(&options.dir)?;
        let disk = Disk::open(&options.dir, options.sync)?;
        let marker = Marker::new(&options.dir);
        let loaded = boot::load(schema, &disk, &marker)?;
        let working = loaded.tree.duplicate()?;
        let (bus, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            published: RwLock::new(loaded.tree),
            disk: RwLock::new(Some(Arc::new(disk))),
            dir: options.dir.clone(),
            sync: options.sync,
            keep: options.keep_commits.max(1),
            bus,
            runtime_lock: Mutex::new(()),
            confirmed: RwLock::new(None),
            reverts: AtomicU64::new(0),
        });
        info!(
            from = loaded.how,
            last_commit = loaded.last_id,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "datastore loaded and validated"
        );

        let (tx, rx) = mpsc::channel();
        let mut writer = crate::writer::Writer {
            s: Arc::clone(&shared),
            working,
            last_id: loaded.last_id,
            snapshot_id: loaded.snapshot_id,
            marker,
            fault: None,
            pending: None,
        };
        // RFC 6241 §8.4.1: a restart with a confirmed commit pending reverts it, before the
        // store serves anyone (the worker never applies the unconfirmed configuration).
        writer.revert_at_boot()?;
        let handle = std::thread::Builder::new()
            .name("tether-store-writer".into())
            .spawn(move || writer.run(rx))?;
        Ok(SledStore {
            shared,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
        })
    }

    /// Checks a datastore offline, as boot does, without starting a writer; with `restore`,
    /// repairs it (see `boot::check`). The directory must not be in use by a running store.
    pub fn check(
        schema: &'static Schema,
        dir: &std::path::Path,
        restore: bool,
    ) -> Result<CheckReport, StoreError> {
        let disk = Disk::open(dir, true)?;
        boot::check(schema, &disk, &Marker::new(dir), restore)
    }

    fn send(&self, make: impl FnOnce(Reply) -> Request) -> Pending {
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
        self.shared.disk()?.last_commit_id()
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        self.close();
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

    fn confirmed(&self, request: ConfirmedRequest, meta: CommitMeta) -> Pending {
        self.send(|reply| Request::Confirmed {
            request,
            meta,
            reply,
        })
    }

    fn reverts(&self) -> u64 {
        self.shared.reverts.load(Ordering::SeqCst)
    }

    fn confirmed_status(&self) -> Option<ConfirmedStatus> {
        self.shared
            .confirmed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn config(&self) -> RwLockReadGuard<'_, ConfigTree> {
        self.shared
            .published
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn commits(&self, limit: usize) -> Result<Vec<CommitRecord>, StoreError> {
        let disk = self.shared.disk()?;
        let mut out = Vec::new();
        for kv in disk.commits.iter().rev().take(limit) {
            let (k, v) = kv?;
            out.push(serde_json::from_slice(&v).map_err(|e| corrupt(format!("commit {k:?}"), e))?);
        }
        Ok(out)
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<CommitRecord>> {
        self.shared.bus.subscribe()
    }

    fn runtime_put(&self, key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        let key = key.to_string();
        self.runtime_batch(&[(key, value.map(<[u8]>::to_vec))])
    }

    fn runtime_batch(&self, changes: &[(String, Option<Vec<u8>>)]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let s = &self.shared;
        let _g = s.runtime_lock.lock().unwrap_or_else(|e| e.into_inner());
        let disk = s.disk()?;
        let mut batch = sled::Batch::default();
        for (k, v) in changes {
            match v {
                Some(v) => batch.insert(k.as_bytes(), v.as_slice()),
                None => batch.remove(k.as_bytes()),
            }
        }
        disk.runtime.apply_batch(batch)?;
        disk.make_durable()
    }

    fn runtime_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.shared.disk()?.runtime.scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv?;
            out.push((String::from_utf8_lossy(&k).into_owned(), v.to_vec()));
        }
        Ok(out)
    }
}
