//! Making sled's writes survive a power loss.
//!
//! sled 0.34's `flush()` ends in `sync_file_range`, which orders writes but does not flush
//! the disk's volatile write cache; `fdatasync` on the data file does. One sync covers every
//! commit of a batch (group commit).

use std::fs::File;
use std::path::Path;

/// sled's data file, opened once for syncing.
pub(crate) struct DataFiles {
    db: File,
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
        Ok(DataFiles { db })
    }

    /// `fdatasync` on sled's data file: everything sled flushed so far is on stable storage.
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        self.db.sync_data()
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
