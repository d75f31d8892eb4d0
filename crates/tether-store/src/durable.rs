//! Making sled's writes survive a power loss.
//!
//! sled 0.34's `flush()` ends in `sync_file_range`, which orders writes but does not flush
//! the disk's volatile write cache; `fdatasync` on the data file does. One sync covers every
//! commit of a batch (group commit).

use std::fs::File;
use std::path::Path;

/// sled's data files, opened once for syncing.
pub(crate) struct DataFiles(Vec<File>);

impl DataFiles {
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        for name in ["db", "conf"] {
            let p = dir.join(name);
            if p.exists() {
                files.push(File::open(&p)?);
            }
        }
        // The directory itself: a freshly created file's entry must reach the disk too.
        files.push(File::open(dir)?);
        Ok(DataFiles(files))
    }

    /// `fdatasync` on every file (and `fsync` on the directory).
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        for f in &self.0 {
            if f.metadata()?.is_dir() {
                f.sync_all()?;
            } else {
                f.sync_data()?;
            }
        }
        Ok(())
    }
}
