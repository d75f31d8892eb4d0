//! The writer thread: applies requests in arrival order, group-commits each batch, heals
//! after disk faults (the design is in `sled_store.rs`'s module doc).

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_model::{ConfigTree, Edit, LeafChange, Prepared};
use tether_syntax::time::wall_clock_ns as now_ns;
use tracing::{debug, error, info, info_span, warn};

use crate::confirmed::{Live, Settled};
use crate::disk::{ConfirmedWrite, Disk, Marker, corrupt, id_key};
use crate::sled_store::{Reply, Request, Shared};
use crate::{CommitMeta, CommitOutcome, CommitRecord, StoreError};

/// Commits between boot snapshots. The log keeps more than this by default, so boot replays
/// at most this many commits on top of the snapshot.
const SNAPSHOT_EVERY: u64 = 500;

/// The shortest time between two attempts to heal after a disk fault.
const HEAL_INTERVAL: Duration = Duration::from_millis(250);

/// A disk fault the store has not healed from yet.
pub(crate) struct Fault {
    /// The error the failed batch met, answered (with a fresh copy) until healed.
    kind: FaultKind,
    message: String,
    last_try: Instant,
}

#[derive(Clone, Copy)]
enum FaultKind {
    NoSpace,
    Unavailable,
}

impl Fault {
    fn new(e: &StoreError) -> Fault {
        let kind = match e {
            StoreError::NoSpace(_) => FaultKind::NoSpace,
            _ => FaultKind::Unavailable,
        };
        Fault {
            kind,
            // The cause alone: `error()` puts the kind's own words in front again.
            message: match e {
                StoreError::NoSpace(m) | StoreError::Unavailable(m) => m.clone(),
                other => other.to_string(),
            },
            last_try: Instant::now(),
        }
    }

    fn error(&self) -> StoreError {
        match self.kind {
            FaultKind::NoSpace => StoreError::NoSpace(self.message.clone()),
            FaultKind::Unavailable => StoreError::Unavailable(self.message.clone()),
        }
    }
}

/// One accepted commit of a batch, waiting for the batch's sync.
struct Accepted {
    reply: Reply,
    prepared: Option<Prepared>,
    outcome: CommitOutcome,
    record: Option<Arc<CommitRecord>>,
    /// Something besides a commit record was written (the confirmed-commit record).
    dirty: bool,
    /// The pending confirmed commit once this is durable (`None`: unchanged).
    pending: Option<Settled>,
}

/// What `commit_one` made: the prepared transaction to install, the answer, the record to
/// announce, and whether it wrote anything that needs the batch's sync without a record.
pub(crate) type Committed = (
    Option<Prepared>,
    CommitOutcome,
    Option<Arc<CommitRecord>>,
    bool,
);

/// The writer thread's state.
pub(crate) struct Writer {
    pub(crate) s: Arc<Shared>,
    /// `published` plus the commits of the batch in progress.
    pub(crate) working: ConfigTree,
    /// The newest acknowledged (or, during a batch, written) commit.
    pub(crate) last_id: u64,
    pub(crate) snapshot_id: u64,
    pub(crate) marker: Marker,
    pub(crate) fault: Option<Fault>,
    /// The pending confirmed commit as of the last durable batch.
    pub(crate) pending: Option<Live>,
}

impl Writer {
    /// Applies requests in arrival order, and syncs once per batch (group commit). A
    /// confirmed-commit request is a batch of its own, so the pending state every other
    /// request is checked against is always the durable one; while a confirmed commit is
    /// pending the wait for requests ends at its deadline, and the timeout reverts it here.
    pub(crate) fn run(mut self, rx: mpsc::Receiver<Request>) {
        if self.snapshot_id != self.last_id {
            self.snapshot();
        }
        let mut held: Option<Request> = None;
        loop {
            self.revert_if_due();
            let first = match held.take() {
                Some(r) => r,
                None => match self.pending.as_ref().map(|p| p.deadline) {
                    Some(at) => {
                        match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                            Ok(r) => r,
                            Err(mpsc::RecvTimeoutError::Timeout) => continue,
                            Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        }
                    }
                    None => match rx.recv() {
                        Ok(r) => r,
                        Err(_) => break,
                    },
                },
            };
            if self.fault.is_none() && self.last_id >= self.snapshot_id + SNAPSHOT_EVERY {
                // Between batches, never on a caller's path: the replies of the previous
                // batch are already sent.
                self.snapshot();
            }
            let mut batch = vec![first];
            while batch.len() < 512 && !batch[0].is_confirmed() {
                match rx.try_recv() {
                    Ok(r) if r.is_confirmed() => {
                        held = Some(r);
                        break;
                    }
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            self.run_batch(batch);
        }
        if self.fault.is_none() && self.snapshot_id != self.last_id {
            self.snapshot();
        }
        if self.fault.is_none()
            && let Ok(disk) = self.s.disk()
        {
            let _ = disk.make_durable();
            if let Err(e) = self.marker.write(self.last_id) {
                warn!(error = %e, "could not record the last durable commit at close");
            }
        }
    }

    pub(crate) fn run_batch(&mut self, batch: Vec<Request>) {
        if self.fault.is_some() && !self.heal(false) {
            let e = self.fault.as_ref().map(Fault::error);
            for req in batch {
                let reply = req.into_reply();
                let _ = reply.send(Err(e.as_ref().map_or(StoreError::Closed, clone_fault)));
            }
            return;
        }
        let acked = self.last_id;
        let disk = match self.s.disk() {
            Ok(d) => d,
            Err(e) => {
                for req in batch {
                    let _ = req.into_reply().send(Err(clone_fault(&e)));
                }
                return;
            }
        };
        let mut accepted: Vec<Accepted> = Vec::new();
        let mut failure: Option<StoreError> = None;
        for req in batch {
            let (reply, result) = match req {
                Request::Commit { edits, meta, reply } => {
                    let r = match &failure {
                        Some(e) => Err(clone_fault(e)),
                        None => self
                            .refuse_while_pending()
                            .and_then(|()| self.commit_one(&disk, &edits, meta, None)),
                    };
                    (reply, r.map(|c| (c, None)))
                }
                Request::Rollback { to, meta, reply } => {
                    let r = match &failure {
                        Some(e) => Err(clone_fault(e)),
                        None => self
                            .refuse_while_pending()
                            .and_then(|()| self.rollback_edits(&disk, to))
                            .and_then(|edits| {
                                let mut meta = meta;
                                meta.comment
                                    .get_or_insert_with(|| format!("rollback to {to}"));
                                self.commit_one(&disk, &edits, meta, None)
                            }),
                    };
                    (reply, r.map(|c| (c, None)))
                }
                Request::Confirmed {
                    request,
                    meta,
                    reply,
                } => {
                    let r = match &failure {
                        Some(e) => Err(clone_fault(e)),
                        None => self.confirmed_one(&disk, request, meta),
                    };
                    (reply, r)
                }
            };
            match result {
                Ok(((prepared, outcome, record, dirty), pending)) => accepted.push(Accepted {
                    reply,
                    prepared,
                    outcome,
                    record,
                    dirty,
                    pending,
                }),
                Err(e) if is_disk_fault(&e) => {
                    let _ = reply.send(Err(clone_fault(&e)));
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if accepted.is_empty() && failure.is_none() {
            return;
        }
        let synced = match failure {
            Some(e) => Err(e),
            None if accepted.iter().all(|a| a.record.is_none() && !a.dirty) => Ok(()),
            None => disk.make_durable(),
        };
        match synced {
            Ok(()) => self.publish(accepted),
            Err(e) => {
                error!(error = %e, commits = accepted.len(), "a batch of commits could not be made durable; refused, and the store heals before the next");
                for a in accepted {
                    let _ = a.reply.send(Err(clone_fault(&e)));
                }
                self.last_id = acked;
                self.fault = Some(Fault::new(&e));
                self.reset_working();
                // Try at once, so the failed records are taken back while the disk may
                // still take writes (a read-only remount will not).
                drop(disk);
                self.heal(true);
            }
        }
    }

    /// Prepares one commit against `working`, installs it there and writes it to sled (not
    /// yet synced), with `confirmed`'s change of the confirmed-commit record in the same
    /// transaction.
    pub(crate) fn commit_one(
        &mut self,
        disk: &Disk,
        edits: &[Edit],
        meta: CommitMeta,
        confirmed: Option<&ConfirmedWrite>,
    ) -> Result<Committed, StoreError> {
        let span = info_span!("store.persist", user = %meta.user, client = %meta.client, commit_id = tracing::field::Empty);
        let _e = span.enter();
        let time_ns = now_ns();
        let mut prepared = self.working.prepare(edits)?;
        if prepared.changes().is_empty() {
            let outcome = CommitOutcome {
                id: self.last_id,
                time_ns,
                changes: Vec::new(),
            };
            if let Some(w) = confirmed {
                disk.write_confirmed(w)?;
            }
            return Ok((None, outcome, None, confirmed.is_some()));
        }
        let id = self.last_id + 1;
        span.record("commit_id", id);
        let record = CommitRecord {
            id,
            time_ns,
            meta,
            changes: prepared.take_changes(),
        };
        let encoded =
            serde_json::to_vec(&record).map_err(|e| corrupt(format!("commit {id}"), e))?;
        if let Err(e) = self.working.install(&prepared) {
            self.reset_working();
            return Err(e.into());
        }
        // On an error `working` is ahead of the disk: the batch fails and `working` is
        // rebuilt from `published`.
        disk.write_commit(&record, &encoded, self.s.keep, confirmed)?;
        self.last_id = id;
        let outcome = CommitOutcome {
            id,
            time_ns,
            changes: record.changes.clone(),
        };
        Ok((Some(prepared), outcome, Some(Arc::new(record)), true))
    }

    /// A durable batch: installs every commit in `published`, then tells the daemon and
    /// the callers.
    fn publish(&mut self, accepted: Vec<Accepted>) {
        {
            let mut published = self.s.published.write().unwrap_or_else(|e| e.into_inner());
            for p in accepted.iter().filter_map(|a| a.prepared.as_ref()) {
                if let Err(e) = published.install(p) {
                    // `working` holds the same durable state: copy it over.
                    error!(error = %e, "installing a durable commit failed; copying the writer's tree");
                    match self.working.duplicate() {
                        Ok(t) => *published = t,
                        Err(e) => error!(error = %e, "could not copy the writer's tree"),
                    }
                    break;
                }
            }
        }
        debug!(commits = accepted.len(), "batch durable");
        for a in &accepted {
            if let Some(p) = &a.pending {
                self.settle(p);
            }
        }
        for a in accepted {
            if let Some(r) = a.record {
                // No subscriber is fine.
                let _ = self.s.bus.send(r);
            }
            let _ = a.reply.send(Ok(a.outcome));
        }
    }

    /// Rebuilds `working` from `published` (after a failed batch).
    fn reset_working(&mut self) {
        let published = self.s.published.read().unwrap_or_else(|e| e.into_inner());
        match published.duplicate() {
            Ok(t) => self.working = t,
            Err(e) => error!(error = %e, "could not copy the published configuration"),
        }
    }

    /// After a disk fault: reopen sled and take back what the failed batch wrote, at most
    /// every [`HEAL_INTERVAL`] unless `now`. Returns whether the store is healthy again.
    fn heal(&mut self, now: bool) -> bool {
        let Some(fault) = &mut self.fault else {
            return true;
        };
        if !now && fault.last_try.elapsed() < HEAL_INTERVAL {
            return false;
        }
        fault.last_try = Instant::now();
        let acked = self.last_id;
        let result = self.reopen().and_then(|disk| {
            let on_disk = disk.last_commit_id()?;
            if on_disk < acked {
                // The device lost what it had acknowledged: never write over that silently.
                return Err(StoreError::Unavailable(format!(
                    "the disk lost acknowledged commits (its log ends at {on_disk}, {acked} \
                     were acknowledged); stop tetherd and run `tetherd check`"
                )));
            }
            let taken = disk.take_back_after(acked)?;
            // The confirmed-commit record as of the last durable batch.
            disk.write_confirmed(&match &self.pending {
                Some(p) => ConfirmedWrite::Put(p.record.encode()?),
                None => ConfirmedWrite::Remove,
            })?;
            disk.make_durable()?;
            Ok((disk, taken))
        });
        match result {
            Ok((disk, taken)) => {
                *self.s.disk.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(disk));
                info!(
                    taken_back = taken,
                    last_commit = self.last_id,
                    "datastore disk usable again; commits resume"
                );
                self.fault = None;
                true
            }
            Err(e) => {
                debug!(error = %e, "datastore disk still unusable");
                let mut f = Fault::new(&e);
                if matches!(
                    e,
                    StoreError::Storage(_) | StoreError::Corrupt { .. } | StoreError::Io(_)
                ) {
                    // Keep what the failed batch met: the reopen's own error says less.
                    if let Some(old) = &self.fault {
                        f.kind = old.kind;
                        f.message = old.message.clone();
                    }
                }
                self.fault = Some(f);
                false
            }
        }
    }

    /// Closes and reopens sled: after an I/O error sled 0.34 may answer every later call with
    /// the same error, and its file lock must be released before it can be opened again.
    fn reopen(&self) -> Result<Disk, StoreError> {
        let old = self
            .s
            .disk
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(old) = old {
            // Readers that still hold a clone finish their call first.
            let deadline = Instant::now() + Duration::from_secs(1);
            while Arc::strong_count(&old) > 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(old);
        }
        crate::durable::drop_page_cache(&self.s.dir);
        Disk::open(&self.s.dir, self.s.sync)
    }

    /// Saves a LYB image of the published configuration as of the last durable commit
    /// (flushed with the next batch or at close; losing it only makes the next boot slower),
    /// and records that commit in the marker file.
    fn snapshot(&mut self) {
        let id = self.last_id;
        let image = self
            .s
            .published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .to_lyb();
        let image = match image {
            Ok(i) => i,
            Err(e) => {
                error!(error = %e, "could not print the boot snapshot");
                return;
            }
        };
        let mut v = Vec::with_capacity(8 + image.len());
        v.extend_from_slice(&id_key(id));
        v.extend_from_slice(&image);
        let inserted = self
            .s
            .disk()
            .and_then(|disk| disk.snapshot.insert(b"tree", v).map_err(StoreError::from));
        match inserted {
            Ok(_) => {
                debug!(commit = id, bytes = image.len(), "boot snapshot saved");
                self.snapshot_id = id;
            }
            Err(e) => {
                error!(error = %e, "could not save the boot snapshot");
                return;
            }
        }
        if let Err(e) = self.marker.write(id) {
            warn!(error = %e, "could not record the last durable commit");
        }
    }

    /// The edits that take the configuration from now back to right after commit `to`.
    fn rollback_edits(&self, disk: &Disk, to: u64) -> Result<Vec<Edit>, StoreError> {
        let last = self.last_id;
        if to > last || (to > 0 && disk.record(to)?.is_none()) {
            return Err(StoreError::UnknownCommit(to));
        }
        if to == 0 && last > 0 && disk.record(1)?.is_none() {
            // The log no longer reaches back to the empty datastore.
            return Err(StoreError::UnknownCommit(to));
        }
        // Walk back from the newest commit; the oldest `old` seen for a leaf is its value at
        // `to`.
        let mut target: std::collections::BTreeMap<String, (Option<String>, Option<String>)> =
            Default::default();
        for kv in disk.commits.range(id_key(to + 1)..).rev() {
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
        let changes: Vec<LeafChange> = target
            .into_iter()
            .filter(|(_, (now, then))| now != then)
            .map(|(path, (now, then))| LeafChange {
                path,
                old: now,
                new: then,
            })
            .collect();
        Ok(self.working.edits_for_changes(&changes)?)
    }
}

/// Whether an error means the disk, not the request, is at fault.
pub(crate) fn is_disk_fault(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::NoSpace(_) | StoreError::Unavailable(_) | StoreError::Storage(_)
    )
}

/// The same disk error again, for every commit of a failed batch.
pub(crate) fn clone_fault(e: &StoreError) -> StoreError {
    match e {
        StoreError::NoSpace(m) => StoreError::NoSpace(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Unavailable(other.to_string()),
    }
}
