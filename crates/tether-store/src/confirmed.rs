//! The confirmed-commit engine: RFC 6241 §8.4 (`:confirmed-commit:1.1`) and the gNMI Commit
//! extension (openconfig `gnmi-commit-confirmed.md`), one engine for the whole device and every
//! northbound.
//!
//! Why it lives in the store, inside the writer thread: whether a confirmed commit is pending
//! must be decided atomically with the commit that depends on it. A check made by a
//! northbound before calling `commit` would race with another northbound's confirmed commit,
//! and an acknowledged ordinary commit could then be silently reverted by a later timeout.
//! The writer serialises every commit, so it is the one place where "pending or not" is never
//! stale.
//!
//! The rules:
//! - At most one confirmed commit is pending for the device. While it is pending, running
//!   changes only through it: a follow-up confirmed commit (NETCONF; it may add changes and
//!   restarts the timer), a confirm (which may add changes: NETCONF's confirming commit), a
//!   cancel, the timeout, or the end of the NETCONF session that owns it. Every other commit
//!   (gNMI Set, NETCONF edit of running, admin rollback) is refused with
//!   [`ConfirmError::Pending`], so a revert never throws away a commit some client was told
//!   had succeeded (gnmi-commit-confirmed §3.2.1 says so for gNMI; Tether applies it to all).
//! - Who may follow up, confirm or cancel: the NETCONF session that made it when it was made
//!   without `<persist>` ([`ConfirmKey::Session`]), or anyone presenting its token
//!   ([`ConfirmKey::Id`]: NETCONF `<persist>`/`<persist-id>`, the gNMI Commit `id`). A gNMI
//!   client is never a NETCONF session, so it can confirm a NETCONF confirmed commit only when
//!   it was made with `<persist>` and the client gives the persist-id as its commit id — the
//!   rule RFC 6241 §8.4.1 sets for "another session".
//! - The configuration before the first confirmed commit is kept durably (the `confirmed`
//!   sled tree, written in the same sled transaction as the commit and synced with it) with
//!   the deadline and the token. A revert is an ordinary commit of the writer (the commit log,
//!   the worker and telemetry see it) that also removes the record, in one transaction.
//! - A restart with a pending confirmed commit reverts it before the store serves anything
//!   (RFC 6241 §8.4.1: "If the device reboots for any reason before the confirm timeout
//!   expires, the server MUST restore the configuration to its state before the confirmed
//!   commit was issued").

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tether_model::{ConfigTree, Edit, LeafChange};
use tether_syntax::time::wall_clock_ns as now_ns;
use thiserror::Error;
use tracing::{error, info, warn};

use crate::disk::{ConfirmedWrite, Disk};
use crate::sled_store::Request;
use crate::writer::{Committed, Writer};
use crate::{CommitMeta, CommitOutcome, StoreError};

/// The sled key of the one pending record in the `confirmed` tree.
pub(crate) const RECORD_KEY: &[u8] = b"pending";

/// Who may follow up, confirm or cancel a pending confirmed commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfirmKey {
    /// Only this NETCONF session (a confirmed commit made without `<persist>`); it is reverted
    /// when that session ends.
    Session(u32),
    /// Whoever presents this token: NETCONF `<persist>` / `<persist-id>`, the gNMI Commit `id`.
    Id(String),
}

impl ConfirmKey {
    /// The caller this key belongs to (what the engine presents when it reverts on its own).
    pub fn owner(&self) -> Caller {
        match self {
            ConfirmKey::Session(s) => Caller {
                session: Some(*s),
                id: None,
            },
            ConfirmKey::Id(id) => Caller {
                session: None,
                id: Some(id.clone()),
            },
        }
    }
}

/// What a request presents to the engine: the NETCONF session it comes from (gNMI: none)
/// and the token it gives (NETCONF `<persist-id>`, gNMI Commit `id`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub session: Option<u32>,
    pub id: Option<String>,
}

/// What a confirmed-commit request asks.
#[derive(Debug, Clone)]
pub enum ConfirmedAction {
    /// Commit `edits` and revert them unless confirmed within `timeout`. With nothing pending
    /// it starts a confirmed commit owned by `key`. With one pending, `follow_up` (NETCONF)
    /// makes it a follow-up confirmed commit (the caller must own the pending one; the timer
    /// restarts, the configuration to revert to stays the one before the first, `key`
    /// becomes the owner); without it (gNMI) it is refused.
    Commit {
        edits: Vec<Edit>,
        timeout: Duration,
        key: ConfirmKey,
        follow_up: bool,
    },
    /// Make the pending commit permanent, committing `edits` with it (NETCONF's confirming
    /// commit carries the candidate; gNMI's confirm carries nothing). With nothing pending
    /// and `or_commit`, an ordinary commit of `edits` (NETCONF's `<commit>` confirms when
    /// something is pending and commits either way: deciding it here, not before, leaves no
    /// window for a timeout in between).
    Confirm { edits: Vec<Edit>, or_commit: bool },
    /// Revert the pending commit now (NETCONF `<cancel-commit>`, gNMI cancel).
    Cancel,
    /// Restart the timer with `timeout` from now (gNMI set_rollback_duration).
    Extend { timeout: Duration },
    /// The caller's NETCONF session ended: a pending commit it owns is reverted. Never an
    /// error; nothing happens when the session owns nothing.
    SessionEnded,
}

/// One request to the engine.
#[derive(Debug, Clone)]
pub struct ConfirmedRequest {
    pub action: ConfirmedAction,
    pub caller: Caller,
}

/// Why the engine refused a request. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfirmError {
    /// Confirm, cancel or extend with no confirmed commit pending.
    #[error("no confirmed commit is pending")]
    NonePending,
    /// The token does not match the pending commit's.
    #[error("the id given does not match the pending confirmed commit ({pending})")]
    WrongId { pending: String },
    /// The pending commit belongs to someone else (another NETCONF session, or it needs a
    /// token the caller did not give).
    #[error("the pending confirmed commit ({pending}) {how}")]
    NotOwner { pending: String, how: String },
    /// A commit outside the confirmed-commit protocol, or a new gNMI confirmed commit, while
    /// one is pending.
    #[error(
        "a confirmed commit is pending ({pending}): until it is confirmed, cancelled or times out, \
         running changes only through it"
    )]
    Pending { pending: String },
}

/// The pending confirmed commit, as the northbounds may show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedStatus {
    /// The newest commit before the first confirmed commit: what a revert goes back to.
    pub since_commit: u64,
    /// Who made the first confirmed commit.
    pub user: String,
    pub client: String,
    /// The owning NETCONF session (a commit made without `<persist>`).
    pub session: Option<u32>,
    /// When it reverts, nanoseconds since the Unix epoch.
    pub deadline_ns: u64,
}

/// The durable record of the pending commit (JSON in the `confirmed` tree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub key: ConfirmKey,
    /// Every explicit leaf before the first confirmed commit (data path → canonical value).
    pub before: BTreeMap<String, String>,
    pub since_commit: u64,
    pub user: String,
    pub client: String,
    pub started_ns: u64,
    pub deadline_ns: u64,
}

impl Record {
    pub(crate) fn status(&self) -> ConfirmedStatus {
        ConfirmedStatus {
            since_commit: self.since_commit,
            user: self.user.clone(),
            client: self.client.clone(),
            session: match &self.key {
                ConfirmKey::Session(s) => Some(*s),
                ConfirmKey::Id(_) => None,
            },
            deadline_ns: self.deadline_ns,
        }
    }

    /// For messages: who made it and when it reverts, never the token.
    pub(crate) fn describe(&self, now_ns: u64) -> String {
        let left = self.deadline_ns.saturating_sub(now_ns) / 1_000_000_000;
        let owner = match &self.key {
            ConfirmKey::Session(s) => format!("NETCONF session {s}"),
            ConfirmKey::Id(_) => "persistent".to_string(),
        };
        format!(
            "made after commit {} by {} from {}, {owner}, reverts in {left} s",
            self.since_commit, self.user, self.client
        )
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(self).map_err(|e| crate::disk::corrupt("confirmed commit", e))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Record, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| crate::disk::corrupt("confirmed commit", e))
    }
}

/// The pending commit as the writer holds it: its record and its timer.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub record: Record,
    pub deadline: Instant,
}

/// A deadline `timeout` from now, saturating instead of overflowing for absurd timeouts.
pub(crate) fn deadline_after(now: Instant, now_ns: u64, timeout: Duration) -> (Instant, u64) {
    // A year past any confirm-timeout an operator would give keeps Instant arithmetic safe.
    let t = timeout.min(Duration::from_secs(u64::from(u32::MAX)));
    let at = now
        .checked_add(t)
        .unwrap_or(now + Duration::from_secs(365 * 86_400));
    let ns = now_ns.saturating_add(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX));
    (at, ns)
}

/// May `caller` follow up, confirm, extend or cancel the commit owned by `key`?
pub(crate) fn authorize(record: &Record, caller: &Caller, now_ns: u64) -> Result<(), ConfirmError> {
    let pending = || record.describe(now_ns);
    match (&record.key, &caller.id) {
        (ConfirmKey::Id(want), Some(got)) if want == got => Ok(()),
        (ConfirmKey::Id(_), Some(_)) => Err(ConfirmError::WrongId { pending: pending() }),
        (ConfirmKey::Id(_), None) => Err(ConfirmError::NotOwner {
            pending: pending(),
            how: "is persistent: give its persist-id (gNMI: its commit id)".into(),
        }),
        (ConfirmKey::Session(s), None) if caller.session == Some(*s) => Ok(()),
        (ConfirmKey::Session(_), Some(_)) if caller.session.is_some() => {
            // RFC 6241 §8.4.1: a persist-id names a persistent confirmed commit; this one is not.
            Err(ConfirmError::WrongId { pending: pending() })
        }
        (ConfirmKey::Session(_), _) => Err(ConfirmError::NotOwner {
            pending: pending(),
            how: "was made without persist: only the NETCONF session that made it may confirm, \
                  extend or cancel it"
                .into(),
        }),
    }
}

/// The edits that take `current` back to the leaves `before`: a revert is a transaction like
/// any other (the same path as the store's rollback).
pub(crate) fn revert_edits(
    current: &ConfigTree,
    before: &BTreeMap<String, String>,
) -> Result<Vec<Edit>, StoreError> {
    let now = current.leaves();
    let mut changes = Vec::new();
    for (path, old) in &now {
        match before.get(path) {
            Some(v) if v == old => {}
            other => changes.push(LeafChange {
                path: path.clone(),
                old: Some(old.clone()),
                new: other.cloned(),
            }),
        }
    }
    for (path, v) in before {
        if !now.contains_key(path) {
            changes.push(LeafChange {
                path: path.clone(),
                old: None,
                new: Some(v.clone()),
            });
        }
    }
    Ok(current.edits_for_changes(&changes)?)
}

// ===== The engine inside the writer thread =====

/// How a confirmed-commit request changes the pending state once it is durable.
#[derive(Debug, Clone)]
pub(crate) enum Settled {
    /// A confirmed commit is pending (started, followed up, or its timer moved).
    Pending(Live),
    /// The pending commit was confirmed.
    Confirmed,
    /// The pending commit was reverted (cancel, timeout, session end, boot).
    Reverted,
}

/// What a confirmed-commit request made, and the pending state once it is durable (`None`:
/// unchanged).
type Done = (Committed, Option<Settled>);

impl Writer {
    /// Refuses a commit outside the confirmed-commit protocol while one is pending.
    pub(crate) fn refuse_while_pending(&self) -> Result<(), StoreError> {
        match &self.pending {
            Some(p) => Err(ConfirmError::Pending {
                pending: p.record.describe(now_ns()),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// Takes the pending state a durable request settled on.
    pub(crate) fn settle(&mut self, s: &Settled) {
        match s {
            Settled::Pending(live) => self.set_pending(Some(live.clone())),
            Settled::Confirmed => self.set_pending(None),
            Settled::Reverted => {
                // Counted first: whoever sees nothing pending any more also sees the revert.
                self.s.reverts.fetch_add(1, Ordering::SeqCst);
                self.set_pending(None);
            }
        }
    }

    /// The pending state after a durable batch (the writer's and the status copy).
    pub(crate) fn set_pending(&mut self, p: Option<Live>) {
        *self.s.confirmed.write().unwrap_or_else(|e| e.into_inner()) =
            p.as_ref().map(|l| l.record.status());
        self.pending = p;
    }

    /// Applies one confirmed-commit request to `working` and sled (not yet synced).
    pub(crate) fn confirmed_one(
        &mut self,
        disk: &Disk,
        request: ConfirmedRequest,
        mut meta: CommitMeta,
    ) -> Result<Done, StoreError> {
        let now = Instant::now();
        let now_ns = now_ns();
        let ConfirmedRequest { action, caller } = request;
        let pending = self.pending.as_ref().map(|p| p.record.clone());
        match (action, pending) {
            (
                ConfirmedAction::Commit {
                    edits,
                    timeout,
                    key,
                    follow_up,
                },
                pending,
            ) => {
                let record = match pending {
                    None => Record {
                        key,
                        before: self.working.leaves(),
                        since_commit: self.last_id,
                        user: meta.user.clone(),
                        client: meta.client.clone(),
                        started_ns: now_ns,
                        deadline_ns: 0,
                    },
                    Some(p) if !follow_up => {
                        // gNMI: one commit at a time (gnmi-commit-confirmed §3.2.1).
                        return Err(ConfirmError::Pending {
                            pending: p.describe(now_ns),
                        }
                        .into());
                    }
                    Some(p) => {
                        authorize(&p, &caller, now_ns)?;
                        Record { key, ..p }
                    }
                };
                let (deadline, deadline_ns) = deadline_after(now, now_ns, timeout);
                let record = Record {
                    deadline_ns,
                    ..record
                };
                meta.comment.get_or_insert_with(|| {
                    format!(
                        "confirmed commit: reverts to commit {} unless confirmed within {} s",
                        record.since_commit,
                        timeout.as_secs_f64()
                    )
                });
                let write = ConfirmedWrite::Put(record.encode()?);
                let c = self.commit_one(disk, &edits, meta, Some(&write))?;
                info!(
                    since_commit = record.since_commit,
                    timeout_s = timeout.as_secs_f64(),
                    "confirmed commit pending"
                );
                Ok((c, Some(Settled::Pending(Live { record, deadline }))))
            }
            (ConfirmedAction::SessionEnded, Some(p)) if matches!((&p.key, caller.session), (ConfirmKey::Session(s), Some(c)) if *s == c) =>
            {
                meta.comment.get_or_insert_with(|| {
                    format!(
                        "the NETCONF session that made a confirmed commit ended: reverted to \
                         commit {}",
                        p.since_commit
                    )
                });
                self.revert(disk, &p, meta)
            }
            (ConfirmedAction::SessionEnded, _) => Ok((
                (
                    None,
                    CommitOutcome {
                        id: self.last_id,
                        time_ns: now_ns,
                        changes: Vec::new(),
                    },
                    None,
                    false,
                ),
                None,
            )),
            (ConfirmedAction::Confirm { edits, or_commit }, None) if or_commit => {
                Ok((self.commit_one(disk, &edits, meta, None)?, None))
            }
            (_, None) => Err(ConfirmError::NonePending.into()),
            (ConfirmedAction::Confirm { edits, .. }, Some(p)) => {
                authorize(&p, &caller, now_ns)?;
                meta.comment.get_or_insert_with(|| {
                    format!(
                        "confirming commit of the confirmed commit made after commit {}",
                        p.since_commit
                    )
                });
                let c = self.commit_one(disk, &edits, meta, Some(&ConfirmedWrite::Remove))?;
                info!(since_commit = p.since_commit, "confirmed commit confirmed");
                Ok((c, Some(Settled::Confirmed)))
            }
            (ConfirmedAction::Cancel, Some(p)) => {
                authorize(&p, &caller, now_ns)?;
                meta.comment.get_or_insert_with(|| {
                    format!("cancel-commit: reverted to commit {}", p.since_commit)
                });
                self.revert(disk, &p, meta)
            }
            (ConfirmedAction::Extend { timeout }, Some(p)) => {
                authorize(&p, &caller, now_ns)?;
                let (deadline, deadline_ns) = deadline_after(now, now_ns, timeout);
                let record = Record { deadline_ns, ..p };
                let write = ConfirmedWrite::Put(record.encode()?);
                let c = self.commit_one(disk, &[], meta, Some(&write))?;
                Ok((c, Some(Settled::Pending(Live { record, deadline }))))
            }
        }
    }

    /// Commits the configuration before the confirmed commit and drops the record, in one
    /// transaction.
    fn revert(&mut self, disk: &Disk, p: &Record, meta: CommitMeta) -> Result<Done, StoreError> {
        let edits = revert_edits(&self.working, &p.before)?;
        let c = self.commit_one(disk, &edits, meta, Some(&ConfirmedWrite::Remove))?;
        info!(
            to_commit = p.since_commit,
            commit = c.1.id,
            "confirmed commit reverted"
        );
        Ok((c, Some(Settled::Reverted)))
    }

    /// The timer: reverts the pending commit once its deadline has passed (a commit of the
    /// writer like any other). A revert that fails (a disk fault) is retried shortly; the
    /// record stays until it succeeds.
    pub(crate) fn revert_if_due(&mut self) {
        let Some(p) = &self.pending else {
            return;
        };
        if p.deadline > Instant::now() {
            return;
        }
        let comment = format!(
            "confirmed commit not confirmed in time: reverted to commit {}",
            p.record.since_commit
        );
        if let Err(e) = self.revert_now(comment) {
            error!(error = %e, "could not revert the timed-out confirmed commit; retrying");
            if let Some(p) = &mut self.pending {
                p.deadline = Instant::now() + RETRY_REVERT;
            }
        }
    }

    /// At boot: a confirmed commit still pending is reverted before the store opens.
    pub(crate) fn revert_at_boot(&mut self) -> Result<(), StoreError> {
        let disk = self.s.disk()?;
        let Some(bytes) = disk.confirmed_record()? else {
            return Ok(());
        };
        drop(disk);
        let record = Record::decode(&bytes)?;
        warn!(
            since_commit = record.since_commit,
            user = %record.user,
            client = %record.client,
            "tetherd restarted with a confirmed commit pending: reverting it (RFC 6241 §8.4.1)"
        );
        let comment = format!(
            "restart with a confirmed commit pending: reverted to commit {}",
            record.since_commit
        );
        self.set_pending(Some(Live {
            record,
            deadline: Instant::now(),
        }));
        self.revert_now(comment)
    }

    /// Reverts the pending commit now, as its owner, through the ordinary batch path.
    fn revert_now(&mut self, comment: String) -> Result<(), StoreError> {
        let Some(p) = &self.pending else {
            return Ok(());
        };
        let caller = p.record.key.owner();
        let (reply, mut rx) = tokio::sync::oneshot::channel();
        self.run_batch(vec![Request::Confirmed {
            request: ConfirmedRequest {
                action: ConfirmedAction::Cancel,
                caller,
            },
            meta: CommitMeta {
                user: "tetherd".into(),
                client: "confirmed-commit".into(),
                comment: Some(comment),
                traceparent: None,
            },
            reply,
        }]);
        match rx.try_recv() {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

/// How soon a revert that failed (a disk fault) is tried again.
const RETRY_REVERT: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: ConfirmKey) -> Record {
        Record {
            key,
            before: BTreeMap::new(),
            since_commit: 4,
            user: "alice".into(),
            client: "netconf:3@127.0.0.1:5".into(),
            started_ns: 0,
            deadline_ns: 30_000_000_000,
        }
    }

    fn caller(session: Option<u32>, id: Option<&str>) -> Caller {
        Caller {
            session,
            id: id.map(str::to_string),
        }
    }

    #[test]
    fn who_may_act_on_a_pending_commit() {
        let session = record(ConfirmKey::Session(3));
        let persistent = record(ConfirmKey::Id("tok".into()));
        type Case<'a> = (&'a Record, Caller, Result<(), &'static str>);
        let cases: Vec<Case<'_>> = vec![
            // Without persist: the same session, and only without a persist-id.
            (&session, caller(Some(3), None), Ok(())),
            (&session, caller(Some(4), None), Err("not-owner")),
            (&session, caller(None, None), Err("not-owner")),
            (&session, caller(None, Some("tok")), Err("not-owner")),
            (&session, caller(Some(3), Some("tok")), Err("wrong-id")),
            // With persist: any session or gNMI client with the token.
            (&persistent, caller(Some(9), Some("tok")), Ok(())),
            (&persistent, caller(None, Some("tok")), Ok(())),
            (&persistent, caller(None, Some("other")), Err("wrong-id")),
            (&persistent, caller(Some(3), None), Err("not-owner")),
        ];
        for (r, c, want) in cases {
            let got = authorize(r, &c, 0).map_err(|e| match e {
                ConfirmError::WrongId { .. } => "wrong-id",
                ConfirmError::NotOwner { .. } => "not-owner",
                _ => "other",
            });
            assert_eq!(got, want, "{:?} by {c:?}", r.key);
        }
    }

    #[test]
    fn messages_never_carry_the_token() {
        let r = record(ConfirmKey::Id("s3cret-token".into()));
        for e in [
            authorize(&r, &caller(None, Some("x")), 0).unwrap_err(),
            authorize(&r, &caller(None, None), 0).unwrap_err(),
            ConfirmError::Pending {
                pending: r.describe(0),
            },
        ] {
            let m = e.to_string();
            assert!(!m.contains("s3cret"), "{m}");
            assert!(m.contains("after commit 4 by alice"), "{m}");
        }
    }

    #[test]
    fn deadlines_saturate() {
        let now = Instant::now();
        let (at, ns) = deadline_after(now, u64::MAX - 5, Duration::MAX);
        assert!(at > now);
        assert_eq!(ns, u64::MAX);
        let (at, ns) = deadline_after(now, 1, Duration::from_millis(1500));
        assert_eq!(at - now, Duration::from_millis(1500));
        assert_eq!(ns, 1_500_000_001);
    }
}
