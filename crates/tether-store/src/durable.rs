//! Making sled's writes survive a power loss.
//!
//! sled 0.34's `flush()` ends in `sync_file_range`, which orders writes but does not flush
//! the disk's volatile write cache; `fdatasync` on the data file does. One sync covers every
//! commit of a batch (group commit).
//!
//! sled writes a value larger than a fraction of its segment (a commit record of 1,000
//! entries, the boot snapshot) to a file of its own under `blobs/`, and never syncs it: the
//! data file then holds only a pointer to it. Those files are synced too, once each, with
//! their directory.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// sled's data file, opened once for syncing, and the blob files already synced.
pub(crate) struct DataFiles {
    db: File,
    blobs: PathBuf,
    synced_blobs: Mutex<HashSet<std::ffi::OsString>>,
}

impl DataFiles {
    /// Opens sled's data file and makes the files' existence itself durable once: `conf` is
    /// written only when the database is created, and the directory entries of both files
    /// must reach the disk before any commit relies on them.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        let db = File::open(dir.join("db"))?;
        db.sync_all()?;
        let conf = dir.join("conf");
        if conf.exists() {
            File::open(&conf)?.sync_all()?;
        }
        File::open(dir)?.sync_all()?;
        let files = DataFiles {
            db,
            blobs: dir.join("blobs"),
            synced_blobs: Mutex::new(HashSet::new()),
        };
        files.sync_blobs()?;
        Ok(files)
    }

    /// `fdatasync` on sled's data file and on every blob file not synced yet: everything
    /// sled flushed so far is on stable storage.
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        self.sync_blobs()?;
        self.db.sync_data()
    }

    fn sync_blobs(&self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        let mut present = HashSet::new();
        let mut new = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if !synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_data()?,
                    // Collected by sled meanwhile.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new = true;
            }
            present.insert(name);
        }
        if new {
            File::open(&self.blobs)?.sync_all()?;
        }
        // Forget blobs sled has collected, so the set stays as small as the directory.
        *synced = present;
        Ok(())
    }
}

/// Drops the page cache of sled's data file, so that reopening it after a failed writeback
/// reads what is on the disk, not pages the kernel could not write (measured: without this,
/// an ext2 volume that ran out of blocks reopened with a commit the disk did not hold and was
/// corrupt after a remount). Best effort: a failure only makes the reopen less sure.
pub(crate) fn drop_page_cache(dir: &Path) {
    if let Ok(f) = File::open(dir.join("db")) {
        let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
    }
}
