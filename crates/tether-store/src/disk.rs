//! The sled database and its trees, opened together and replaced together: after a disk
//! fault sled 0.34 may refuse every later operation, so the store heals by reopening it.
//!
//! Layout (sled trees):
//! - `config`: one key per explicitly set leaf, its data path → its canonical value. A commit
//!   writes only the leaves it changed, so its cost does not grow with the datastore.
//! - `commits`: commit id (big-endian u64) → JSON [`CommitRecord`]; the last N are kept.
//! - `runtime`: daemon records kept beside the configuration (see `Store::runtime_put`).
//! - `snapshot`: key `tree`, the commit id (8 bytes, big-endian) and a LYB image of the
//!   configuration as of that commit. Boot loads it and replays the commits made after it.
//! - `confirmed`: key `pending`, the JSON record of the pending confirmed commit (the
//!   configuration to revert to, the deadline, the token; `confirmed.rs`), written in the same
//!   transaction as the commit that starts, confirms or reverts it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::confirmed::RECORD_KEY;
use crate::durable::DataFiles;
use crate::{CommitRecord, StoreError};

/// An open database.
pub(crate) struct Disk {
    pub(crate) db: sled::Db,
    pub(crate) config: sled::Tree,
    pub(crate) commits: sled::Tree,
    pub(crate) runtime: sled::Tree,
    pub(crate) snapshot: sled::Tree,
    pub(crate) confirmed: sled::Tree,
    files: DataFiles,
    sync: bool,
}

pub(crate) fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub(crate) fn corrupt(key: impl Into<String>, message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: key.into(),
        message: message.to_string(),
    }
}

impl Disk {
    /// Opens (or creates) the database in `dir`.
    pub(crate) fn open(dir: &Path, sync: bool) -> Result<Disk, StoreError> {
        let db = open_db(dir)?;
        let config = db.open_tree("config")?;
        let commits = db.open_tree("commits")?;
        let runtime = db.open_tree("runtime")?;
        let snapshot = db.open_tree("snapshot")?;
        let confirmed = db.open_tree("confirmed")?;
        // Make sure the files exist before opening them for sync.
        db.flush()?;
        let files = DataFiles::open(dir).map_err(|e| StoreError::from_io(&e))?;
        Ok(Disk {
            db,
            config,
            commits,
            runtime,
            snapshot,
            confirmed,
            files,
            sync,
        })
    }

    /// Everything written so far on stable storage: sled's flush, then `fdatasync`.
    pub(crate) fn make_durable(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        if self.sync {
            self.files.sync().map_err(|e| StoreError::from_io(&e))?;
        }
        Ok(())
    }

    /// The id of the newest commit in the log (0 when none).
    pub(crate) fn last_commit_id(&self) -> Result<u64, StoreError> {
        match self.commits.last()? {
            Some((k, _)) => decode_id(&k),
            None => Ok(0),
        }
    }

    /// One commit record.
    pub(crate) fn record(&self, id: u64) -> Result<Option<CommitRecord>, StoreError> {
        match self.commits.get(id_key(id))? {
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(format!("commit {id}"), e)),
            None => Ok(None),
        }
    }

    /// Writes a commit (its changed leaves and its record) in one sled transaction, not yet
    /// synced; drops the record that falls out of the log. `confirmed` changes the pending
    /// confirmed-commit record in the same transaction, so a crash never leaves a confirmed
    /// commit on disk without what reverts it (or a revert without its record gone).
    pub(crate) fn write_commit(
        &self,
        record: &CommitRecord,
        encoded: &[u8],
        keep: u64,
        confirmed: Option<&ConfirmedWrite>,
    ) -> Result<(), StoreError> {
        let id = record.id;
        let written: Result<(), TransactionError<()>> =
            (&self.config, &self.commits, &self.confirmed).transaction(|(cfg, log, pending)| {
                for c in &record.changes {
                    match &c.new {
                        Some(v) => cfg.insert(c.path.as_bytes(), v.as_bytes())?,
                        None => cfg.remove(c.path.as_bytes())?,
                    };
                }
                log.insert(&id_key(id), encoded)?;
                if id > keep {
                    log.remove(&id_key(id - keep))?;
                }
                match confirmed {
                    Some(ConfirmedWrite::Put(v)) => {
                        pending.insert(RECORD_KEY, v.as_slice())?;
                    }
                    Some(ConfirmedWrite::Remove) => {
                        pending.remove(RECORD_KEY)?;
                    }
                    None => {}
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        written.map_err(tx_error)
    }

    /// Changes the pending confirmed-commit record alone (a request that changed no leaf),
    /// not yet synced.
    pub(crate) fn write_confirmed(&self, w: &ConfirmedWrite) -> Result<(), StoreError> {
        match w {
            ConfirmedWrite::Put(v) => self.confirmed.insert(RECORD_KEY, v.as_slice())?,
            ConfirmedWrite::Remove => self.confirmed.remove(RECORD_KEY)?,
        };
        Ok(())
    }

    /// The pending confirmed-commit record, if any.
    pub(crate) fn confirmed_record(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.confirmed.get(RECORD_KEY)?.map(|v| v.to_vec()))
    }

    /// Takes back commits the store wrote but never acknowledged (their sync failed): each
    /// record after `acked`, newest first, has its leaves put back and is removed, so the
    /// disk holds exactly what was acknowledged. Returns how many were taken back.
    pub(crate) fn take_back_after(&self, acked: u64) -> Result<usize, StoreError> {
        let mut n = 0;
        let newer: Vec<u64> = self
            .commits
            .range(id_key(acked + 1)..)
            .keys()
            .map(|k| k.map_err(StoreError::from).and_then(|k| decode_id(&k)))
            .collect::<Result<_, _>>()?;
        for id in newer.into_iter().rev() {
            let Some(rec) = self.record(id)? else {
                continue;
            };
            let written: Result<(), TransactionError<()>> = (&self.config, &self.commits)
                .transaction(|(cfg, log)| {
                    for c in &rec.changes {
                        match &c.old {
                            Some(v) => cfg.insert(c.path.as_bytes(), v.as_bytes())?,
                            None => cfg.remove(c.path.as_bytes())?,
                        };
                    }
                    log.remove(&id_key(id))?;
                    Ok::<(), ConflictableTransactionError<()>>(())
                });
            written.map_err(tx_error)?;
            n += 1;
        }
        Ok(n)
    }
}

/// A change of the pending confirmed-commit record.
pub(crate) enum ConfirmedWrite {
    Put(Vec<u8>),
    Remove,
}

/// A failed sled transaction as a store error (ours never abort on purpose).
fn tx_error(e: TransactionError<()>) -> StoreError {
    match e {
        TransactionError::Storage(e) => StoreError::from(e),
        TransactionError::Abort(()) => {
            StoreError::Storage(sled::Error::Unsupported("transaction aborted".into()))
        }
    }
}

fn decode_id(k: &[u8]) -> Result<u64, StoreError> {
    let b: [u8; 8] = k
        .try_into()
        .map_err(|_| corrupt("commit id", "not 8 bytes"))?;
    Ok(u64::from_be_bytes(b))
}

/// Opens sled, waiting briefly for the previous owner of the directory to let go: sled's
/// flusher thread keeps the file lock for a moment after a database in this process is
/// dropped (a quick close and reopen, a restart in tests, healing after a disk fault).
fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The marker kept beside sled's files: the newest commit id the store knows to be
/// durable, written (atomically, synced) at every boot snapshot and at close. A datastore
/// whose log ends before it lost acknowledged commits and is refused at boot.
pub(crate) struct Marker {
    path: PathBuf,
}

impl Marker {
    pub(crate) fn new(dir: &Path) -> Marker {
        Marker {
            path: dir.join("tether-commit-marker"),
        }
    }

    /// The id recorded, if the marker exists.
    pub(crate) fn read(&self) -> Result<Option<u64>, StoreError> {
        match std::fs::read_to_string(&self.path) {
            Ok(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|e| corrupt(self.path.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io(e)),
        }
    }

    /// Records `id` (write to a temporary file, sync, rename, sync the directory).
    pub(crate) fn write(&self, id: u64) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            writeln!(f, "{id}")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}
