//! Fan-out of commit and state events to STREAM subscriptions.
//!
//! One dispatcher task per service listens to the store's commit bus and the state tree's
//! change bus. For each event it finds the subscriptions that want some of its leaves
//! through an index of their paths (a trie keyed by node name and list keys, so a
//! subscription to `group[id=1]` is never looked at for a change under `group[id=2]`),
//! renders the wanted leaves once (gNMI paths and RFC 7951 values, see `values.rs`), and
//! hands every matching subscription the shared rendering plus the indices of its leaves.
//! Subscriptions nothing matched are not woken at all.
//!
//! Each subscription has a bounded event queue; the dispatcher never waits on it. A full
//! queue (the subscription's task cannot keep up) or a lagging bus marks the subscription
//! lagged, and it re-sends current values instead, as it did when it read the buses itself.
//! Slow clients are still ended by the subscription's own outbound queue.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tether_model::Schema;
use tether_proto::gnmi::{Path, Update};
use tether_store::{CommitRecord, Store};
use tether_telemetry::StateBatch;
use tokio::sync::{broadcast, mpsc, watch};

use crate::encoding::WireEncoding;
use crate::path::{self, ResolvedPath, Segment, Step};
use crate::service::Shared;
use crate::values::LeafTypes;

mod removals;

type SubId = u64;

/// One ON_CHANGE or TARGET_DEFINED path of a subscription.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub path: ResolvedPath,
    /// Whether counter batches (SAMPLE data) count as changes for it (TARGET_DEFINED).
    pub counters: bool,
    /// The Depth extension's level: leaves deeper below the path are not for it.
    pub depth: Option<u32>,
}

impl Filter {
    /// Whether the leaf (or removed node) at `segs` is within the filter's depth.
    fn within_depth(&self, segs: &[Segment<'_>]) -> bool {
        self.depth
            .is_none_or(|d| path::beyond(&self.path.steps, segs).is_none_or(|n| n <= d as usize))
    }
}

/// An event rendered once for every subscription of one encoding: gNMI updates and delete
/// paths, by leaf.
#[derive(Debug)]
pub(crate) struct Rendered {
    /// Nanoseconds since the epoch: the commit's or the state batch's time.
    pub timestamp: i64,
    /// `None` where no subscription wanted the leaf, or its value does not fit the schema.
    pub updates: Vec<Option<Update>>,
    /// For an update of a leaf-list entry, the leaf-list's data path: a subscriber sends
    /// the whole leaf-list, as a read does, rather than one entry.
    pub lists: Vec<Option<String>>,
    pub deletes: Vec<Option<Path>>,
}

/// What a subscription receives.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Its leaves of an event: indices into `event.updates` and `event.deletes`.
    Event {
        event: Arc<Rendered>,
        updates: Vec<u32>,
        deletes: Vec<u32>,
    },
    /// Events were lost (see [`Registration::lagged`]): re-send current values.
    Resync,
}

/// A subscription's place in the hub; unregisters when dropped.
pub(crate) struct Registration {
    hub: Arc<Hub>,
    id: SubId,
    pub rx: mpsc::Receiver<Delivery>,
    /// Set when an event could not be queued: the subscription must drain its queue and
    /// re-send current values.
    pub lagged: Arc<AtomicBool>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

struct Entry {
    filters: Vec<Filter>,
    models: HashSet<String>,
    encoding: WireEncoding,
    tx: mpsc::Sender<Delivery>,
    lagged: Arc<AtomicBool>,
}

impl Entry {
    fn wants_module(&self, segs: &[Segment<'_>]) -> bool {
        self.models.is_empty()
            || segs
                .first()
                .and_then(|s| s.module)
                .is_some_and(|m| self.models.contains(m))
    }

    fn mark_lagged(&self) {
        self.lagged.store(true, Ordering::Release);
        // Wakes the subscription if its queue has room; if not, it is awake anyway.
        let _ = self.tx.try_send(Delivery::Resync);
    }
}

/// The path index: a trie over data-path segments. A filter sits at the node its path leads
/// to, up to the first `*` or `...`; a list step with every key given goes through the
/// `keyed` child of those keys, one without keys (or with a wildcard key) through `any`.
#[derive(Default)]
struct Node {
    here: Vec<(SubId, u32)>,
    children: HashMap<String, Child>,
}

#[derive(Default)]
struct Child {
    any: Node,
    keyed: HashMap<String, Node>,
}

/// The index key of a step's keys when all are given.
fn step_keys(keys: &[(String, Option<String>)]) -> Option<String> {
    if keys.is_empty() || keys.iter().any(|(_, v)| v.is_none()) {
        return None;
    }
    Some(path::key_text(keys.iter().map(|(k, v)| {
        (k.as_str(), v.as_deref().unwrap_or_default())
    })))
}

impl Node {
    fn is_empty(&self) -> bool {
        self.here.is_empty() && self.children.is_empty()
    }

    fn insert(&mut self, steps: &[Step], at: (SubId, u32)) {
        match steps.split_first() {
            Some((Step::Node { name, keys, .. }, rest)) => {
                let child = self.children.entry(name.clone()).or_default();
                let node = match step_keys(keys) {
                    Some(k) => child.keyed.entry(k).or_default(),
                    None => &mut child.any,
                };
                node.insert(rest, at);
            }
            _ => self.here.push(at),
        }
    }

    fn remove(&mut self, steps: &[Step], id: SubId) {
        match steps.split_first() {
            Some((Step::Node { name, keys, .. }, rest)) => {
                let Some(child) = self.children.get_mut(name.as_str()) else {
                    return;
                };
                match step_keys(keys) {
                    Some(k) => {
                        if let Some(n) = child.keyed.get_mut(&k) {
                            n.remove(rest, id);
                            if n.is_empty() {
                                child.keyed.remove(&k);
                            }
                        }
                    }
                    None => child.any.remove(rest, id),
                }
                if child.any.is_empty() && child.keyed.is_empty() {
                    self.children.remove(name.as_str());
                }
            }
            _ => self.here.retain(|(i, _)| *i != id),
        }
    }

    /// Filters whose indexed part leads to `segs` or one of its ancestors.
    fn collect(&self, segs: &[Segment<'_>], out: &mut Vec<(SubId, u32)>) {
        out.extend_from_slice(&self.here);
        let Some((seg, rest)) = segs.split_first() else {
            return;
        };
        if let Some(child) = self.children.get(seg.name) {
            child.any.collect(rest, out);
            if !seg.keys.is_empty()
                && let Some(n) = child.keyed.get(&seg.key_text())
            {
                n.collect(rest, out);
            }
        }
    }

    /// As [`Node::collect`], plus every filter beneath `segs` (a removed subtree).
    fn collect_overlapping(&self, segs: &[Segment<'_>], out: &mut Vec<(SubId, u32)>) {
        out.extend_from_slice(&self.here);
        let Some((seg, rest)) = segs.split_first() else {
            self.collect_below(out);
            return;
        };
        if let Some(child) = self.children.get(seg.name) {
            child.any.collect_overlapping(rest, out);
            if seg.keys.is_empty() {
                for n in child.keyed.values() {
                    n.collect_overlapping(rest, out);
                }
            } else if let Some(n) = child.keyed.get(&seg.key_text()) {
                n.collect_overlapping(rest, out);
            }
        }
    }

    fn collect_below(&self, out: &mut Vec<(SubId, u32)>) {
        for child in self.children.values() {
            for n in std::iter::once(&child.any).chain(child.keyed.values()) {
                out.extend_from_slice(&n.here);
                n.collect_below(out);
            }
        }
    }
}

struct Registry {
    next: SubId,
    entries: HashMap<SubId, Entry>,
    root: Node,
    running: bool,
}

/// The leaves of one subscription in one event.
#[derive(Default)]
struct Selection {
    updates: Vec<u32>,
    deletes: Vec<u32>,
}

fn push_once(v: &mut Vec<u32>, i: u32) {
    if v.last() != Some(&i) {
        v.push(i);
    }
}

/// The subscriptions of one service and the dispatcher that feeds them.
pub(crate) struct Hub {
    registry: Mutex<Registry>,
    types: Mutex<LeafTypes>,
}

impl Hub {
    pub(crate) fn new(schema: &'static Schema) -> Self {
        Hub {
            registry: Mutex::new(Registry {
                next: 0,
                entries: HashMap::new(),
                root: Node::default(),
                running: false,
            }),
            types: Mutex::new(LeafTypes::new(schema)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a subscription's ON_CHANGE/TARGET_DEFINED paths (starting the dispatcher
    /// on first use). Events from now on are queued for it, at most `capacity`.
    pub(crate) fn register(
        self: &Arc<Self>,
        shared: &Shared,
        filters: Vec<Filter>,
        models: HashSet<String>,
        encoding: WireEncoding,
        capacity: usize,
    ) -> Registration {
        let mut reg = self.lock();
        if !reg.running {
            reg.running = true;
            // Subscribed to the buses before the caller reads its snapshot.
            let commits = shared.store.subscribe();
            let states = shared.state.subscribe();
            tokio::spawn(dispatch(
                Arc::clone(self),
                Arc::clone(&shared.store),
                commits,
                states,
                shared.shutdown.clone(),
            ));
        }
        self.insert(&mut reg, filters, models, encoding, capacity)
    }

    fn insert(
        self: &Arc<Self>,
        reg: &mut Registry,
        filters: Vec<Filter>,
        models: HashSet<String>,
        encoding: WireEncoding,
        capacity: usize,
    ) -> Registration {
        let id = reg.next;
        reg.next += 1;
        for (i, f) in filters.iter().enumerate() {
            let at = (id, u32::try_from(i).unwrap_or(u32::MAX));
            reg.root.insert(&f.path.steps, at);
        }
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        reg.entries.insert(
            id,
            Entry {
                filters,
                models,
                encoding,
                tx,
                lagged: lagged.clone(),
            },
        );
        Registration {
            hub: Arc::clone(self),
            id,
            rx,
            lagged,
        }
    }

    fn unregister(&self, id: SubId) {
        let mut reg = self.lock();
        if let Some(e) = reg.entries.remove(&id) {
            for f in &e.filters {
                reg.root.remove(&f.path.steps, id);
            }
        }
    }

    /// Every subscription missed events.
    fn lagged_all(&self) {
        for e in self.lock().entries.values() {
            e.mark_lagged();
        }
    }

    /// The dispatcher stopped because a bus closed: subscriptions see their queue close.
    /// (On shutdown they end by themselves, with the shutdown's status.)
    fn stopped(&self, bus_closed: bool) {
        let mut reg = self.lock();
        reg.running = false;
        if bus_closed {
            reg.entries.clear();
            reg.root = Node::default();
        }
    }

    /// A commit, read against the running configuration after it (`removals.rs`): a leaf
    /// that fell back to its YANG default is an update with the default, and a removed
    /// list entry or container is one delete, at the highest node the commit removed.
    #[cfg(test)]
    pub(crate) fn on_commit(&self, record: &CommitRecord, running: &tether_model::ConfigTree) {
        self.on_changes(record, removals::changes(running, &record.changes));
    }

    /// A commit's changes as [`removals::changes`] made them.
    fn on_changes(&self, record: &CommitRecord, changes: removals::Changes) {
        let set: Vec<(&str, &str)> = changes
            .set
            .iter()
            .map(|(p, v)| (p.as_str(), v.as_str()))
            .collect();
        let deleted: Vec<&str> = changes.removed.iter().map(String::as_str).collect();
        let ts = i64::try_from(record.time_ns).unwrap_or(i64::MAX);
        self.dispatch(ts, &set, &deleted, false, true);
    }

    pub(crate) fn on_state(&self, batch: &StateBatch) {
        let set: Vec<(&str, &str)> = batch
            .updates
            .iter()
            .map(|(p, v)| (p.as_str(), v.as_str()))
            .collect();
        let deleted: Vec<&str> = batch.deletes.iter().map(String::as_str).collect();
        let ts = i64::try_from(batch.timestamp_ns).unwrap_or(i64::MAX);
        self.dispatch(ts, &set, &deleted, batch.counters, true);
    }

    /// Matches an event against the index, renders what matched once per encoding, and
    /// queues each matching subscription its part. `subtree_deletes`: a delete removes a
    /// whole subtree, so it concerns paths beneath it too; otherwise deletes are of leaves.
    fn dispatch(
        &self,
        timestamp: i64,
        set: &[(&str, &str)],
        deleted: &[&str],
        counters: bool,
        subtree_deletes: bool,
    ) {
        // 1. Which subscription wants which leaf, and in which encodings.
        let mut matched: HashMap<SubId, Selection> = HashMap::new();
        let mut encodings: HashSet<WireEncoding> = HashSet::new();
        {
            let reg = self.lock();
            if reg.entries.is_empty() {
                return;
            }
            let mut candidates = Vec::new();
            for (i, (p, _)) in set.iter().enumerate() {
                let segs = path::parse_data_path(p);
                candidates.clear();
                reg.root.collect(&segs, &mut candidates);
                for &(id, f) in &candidates {
                    let Some(e) = reg.entries.get(&id) else {
                        continue;
                    };
                    let Some(filter) = e.filters.get(f as usize) else {
                        continue;
                    };
                    if (!counters || filter.counters)
                        && e.wants_module(&segs)
                        && path::covers(&filter.path.steps, &segs, false)
                        && filter.within_depth(&segs)
                    {
                        let i = u32::try_from(i).unwrap_or(u32::MAX);
                        push_once(&mut matched.entry(id).or_default().updates, i);
                        encodings.insert(e.encoding);
                    }
                }
            }
            for (i, p) in deleted.iter().enumerate() {
                let segs = path::parse_data_path(p);
                candidates.clear();
                if subtree_deletes {
                    reg.root.collect_overlapping(&segs, &mut candidates);
                } else {
                    reg.root.collect(&segs, &mut candidates);
                }
                for &(id, f) in &candidates {
                    let Some(e) = reg.entries.get(&id) else {
                        continue;
                    };
                    let Some(filter) = e.filters.get(f as usize) else {
                        continue;
                    };
                    if e.wants_module(&segs)
                        && path::covers(&filter.path.steps, &segs, subtree_deletes)
                        && filter.within_depth(&segs)
                    {
                        let i = u32::try_from(i).unwrap_or(u32::MAX);
                        push_once(&mut matched.entry(id).or_default().deletes, i);
                        encodings.insert(e.encoding);
                    }
                }
            }
        }
        if matched.is_empty() {
            return;
        }

        // 2. Render the wanted leaves, once.
        let mut want_set = vec![false; set.len()];
        let mut want_deleted = vec![false; deleted.len()];
        for s in matched.values() {
            for &i in &s.updates {
                want_set[i as usize] = true;
            }
            for &i in &s.deletes {
                want_deleted[i as usize] = true;
            }
        }
        let wanted: Vec<(&str, &str)> = set
            .iter()
            .zip(&want_set)
            .filter(|(_, w)| **w)
            .map(|(l, _)| *l)
            .collect();
        let deletes: Vec<Option<Path>> = deleted
            .iter()
            .zip(&want_deleted)
            .map(|(p, w)| w.then(|| path::to_gnmi(p)))
            .collect();
        let mut types = self.types.lock().unwrap_or_else(|e| e.into_inner());
        let lists: Vec<Option<String>> = set
            .iter()
            .zip(&want_set)
            .map(|((p, _), w)| {
                (*w && types.is_leaf_list(p)).then(|| crate::output::leaf_list_path(p))
            })
            .collect();
        let mut rendered: HashMap<WireEncoding, Arc<Rendered>> = HashMap::new();
        for encoding in encodings {
            let mut values = types.render(&wanted, encoding).into_iter();
            let updates: Vec<Option<Update>> = set
                .iter()
                .zip(&want_set)
                .map(|((p, _), w)| {
                    if !*w {
                        return None;
                    }
                    let val = values.next().flatten()?;
                    Some(Update {
                        path: Some(path::to_gnmi(p)),
                        val: Some(val),
                        ..Default::default()
                    })
                })
                .collect();
            rendered.insert(
                encoding,
                Arc::new(Rendered {
                    timestamp,
                    updates,
                    lists: lists.clone(),
                    deletes: deletes.clone(),
                }),
            );
        }
        drop(types);

        // 3. Queue each subscription its part.
        let reg = self.lock();
        for (id, s) in matched {
            let Some(e) = reg.entries.get(&id) else {
                continue;
            };
            let Some(event) = rendered.get(&e.encoding) else {
                continue;
            };
            let d = Delivery::Event {
                event: Arc::clone(event),
                updates: s.updates,
                deletes: s.deletes,
            };
            match e.tx.try_send(d) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => e.mark_lagged(),
                // It is going away; its Registration unregisters it.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }
}

/// The dispatcher task: runs until a bus closes or the service shuts down.
async fn dispatch(
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    mut commits: broadcast::Receiver<Arc<CommitRecord>>,
    mut states: broadcast::Receiver<Arc<StateBatch>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let bus_closed = loop {
        tokio::select! {
            r = shutdown.changed() => {
                if r.is_err() || *shutdown.borrow() {
                    break false;
                }
            }
            r = commits.recv() => match r {
                Ok(record) => {
                    // The running tree is read (and its lock held) only to tell defaults and
                    // removed nodes apart, never while subscribers are served.
                    let changes = removals::changes(&store.config(), &record.changes);
                    hub.on_changes(&record, changes);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::info!(missed = n, "commit bus lagged; subscriptions resend current values");
                    hub.lagged_all();
                }
                Err(broadcast::error::RecvError::Closed) => break true,
            },
            r = states.recv() => match r {
                Ok(batch) => hub.on_state(&batch),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::info!(missed = n, "state bus lagged; subscriptions resend current values");
                    hub.lagged_all();
                }
                Err(broadcast::error::RecvError::Closed) => break true,
            },
        }
    };
    hub.stopped(bus_closed);
}

#[cfg(test)]
mod tests;
