//! The state tree and its change bus.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;

/// One state leaf: its canonical value and when it last changed (ns since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLeaf {
    pub value: String,
    pub changed_ns: u64,
}

/// A set of state changes that happened together (one event), published as one unit so a
/// subscriber sees a group and its 40 members change in the same notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateBatch {
    /// When the event happened (ns since the epoch): the notification timestamp.
    pub timestamp_ns: u64,
    /// Leaves set: (data path, canonical value).
    pub updates: Vec<(String, String)>,
    /// Subtrees removed: every leaf whose path is or lies beneath one of these goes.
    pub deletes: Vec<String>,
    /// Whether the batch holds only counters (SAMPLE data): ON_CHANGE subscribers skip those.
    pub counters: bool,
}

/// The operational state of the daemon.
#[derive(Debug)]
pub struct StateTree {
    leaves: RwLock<BTreeMap<String, StateLeaf>>,
    bus: broadcast::Sender<Arc<StateBatch>>,
}

impl Default for StateTree {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `path` is `prefix` or lies beneath it, segment-aware (`/a/l[k='1']` does not
/// contain `/a/l[k='10']`).
pub use tether_syntax::data_path::is_under;

impl StateTree {
    pub fn new() -> Self {
        let (bus, _) = broadcast::channel(4096);
        StateTree {
            leaves: RwLock::new(BTreeMap::new()),
            bus,
        }
    }

    /// Applies a batch and publishes what really changed (unchanged values are dropped, so
    /// ON_CHANGE subscribers only hear about changes).
    pub fn apply(&self, batch: StateBatch) {
        let mut effective = StateBatch {
            timestamp_ns: batch.timestamp_ns,
            counters: batch.counters,
            ..Default::default()
        };
        {
            let mut leaves = self.leaves.write().unwrap_or_else(|e| e.into_inner());
            for prefix in batch.deletes {
                let doomed: Vec<String> = leaves
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(prefix.as_str()))
                    .filter(|(k, _)| is_under(k, &prefix))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !doomed.is_empty() {
                    for k in doomed {
                        leaves.remove(&k);
                    }
                    effective.deletes.push(prefix);
                }
            }
            for (path, value) in batch.updates {
                match leaves.get_mut(&path) {
                    Some(l) if l.value == value => {}
                    Some(l) => {
                        l.value = value.clone();
                        l.changed_ns = batch.timestamp_ns;
                        effective.updates.push((path, value));
                    }
                    None => {
                        leaves.insert(
                            path.clone(),
                            StateLeaf {
                                value: value.clone(),
                                changed_ns: batch.timestamp_ns,
                            },
                        );
                        effective.updates.push((path, value));
                    }
                }
            }
        }
        if !effective.updates.is_empty() || !effective.deletes.is_empty() {
            // No subscriber is fine.
            let _ = self.bus.send(Arc::new(effective));
        }
    }

    /// Every leaf at or beneath `prefix`, in path order.
    pub fn under(&self, prefix: &str) -> Vec<(String, StateLeaf)> {
        let leaves = self.leaves.read().unwrap_or_else(|e| e.into_inner());
        let start = if prefix == "/" {
            String::new()
        } else {
            prefix.to_string()
        };
        leaves
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(start.as_str()))
            .filter(|(k, _)| is_under(k, prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// One leaf.
    pub fn get(&self, path: &str) -> Option<StateLeaf> {
        self.leaves
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .cloned()
    }

    /// Changes from now on. A receiver that lags must re-read with [`StateTree::under`].
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StateBatch>> {
        self.bus.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_changes_are_published() {
        let t = StateTree::new();
        let mut rx = t.subscribe();
        let b = |ts, v: &str| StateBatch {
            timestamp_ns: ts,
            updates: vec![("/m:a/x".into(), v.into())],
            ..Default::default()
        };
        t.apply(b(1, "up"));
        t.apply(b(2, "up"));
        t.apply(b(3, "down"));
        assert_eq!(rx.try_recv().unwrap().updates[0].1, "up");
        let next = rx.try_recv().unwrap();
        assert_eq!((next.timestamp_ns, next.updates[0].1.as_str()), (3, "down"));
        assert!(rx.try_recv().is_err());
        assert_eq!(t.get("/m:a/x").unwrap().changed_ns, 3);
    }

    #[test]
    fn deletes_are_segment_aware() {
        let t = StateTree::new();
        t.apply(StateBatch {
            timestamp_ns: 1,
            updates: vec![
                ("/m:l[k='1']/s".into(), "a".into()),
                ("/m:l[k='10']/s".into(), "b".into()),
            ],
            ..Default::default()
        });
        t.apply(StateBatch {
            timestamp_ns: 2,
            deletes: vec!["/m:l[k='1']".into()],
            ..Default::default()
        });
        let left: Vec<String> = t.under("/").into_iter().map(|(k, _)| k).collect();
        assert_eq!(left, vec!["/m:l[k='10']/s".to_string()]);
    }
}
