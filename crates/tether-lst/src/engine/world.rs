//! State shared by every group (observations, which groups hold which interface disabled, what
//! Tether announced it disabled, running delays) and the rules for keeping or making a disable.
//!
//! An interface may be downstream of several groups: it is disabled while *any* of them holds
//! it (SONiC's rule). Groups only take and drop holds; [`World::flush`] turns the holds that
//! changed into actions, by comparing each touched interface's holders with what was last
//! announced. So an interface that moves from one holding group to another within one call is
//! re-attributed with a single `Disable`, never enabled in between (no flap), and one that
//! stays held by another group is not enabled at all.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::state::{Action, GroupId, InterfaceObservation, Outcome};

/// What groups consult and update outside themselves, kept apart so that a group and the world can
/// be borrowed mutably together.
#[derive(Debug, Default)]
pub(super) struct World {
    /// Last observation of each interface; an interface never observed is unknown.
    pub(super) interfaces: HashMap<String, InterfaceObservation>,
    /// The groups that hold each interface disabled (never an empty set).
    holders: HashMap<String, BTreeSet<GroupId>>,
    /// What Tether announced it disabled, and for which group (the lowest holder at the last
    /// flush): the set the daemon persists.
    pub(super) disabled: HashMap<String, GroupId>,
    /// Interfaces whose holders changed since the last flush, in the order they first changed.
    dirty: Vec<String>,
    dirty_set: HashSet<String>,
    /// Running delays, earliest first.
    pub(super) deadlines: BTreeSet<(u64, GroupId)>,
}

impl World {
    /// Does `group` hold this interface disabled?
    pub(super) fn holds(&self, interface: &str, group: GroupId) -> bool {
        (self.holders.get(interface)).is_some_and(|groups| groups.contains(&group))
    }

    /// Is the interface disabled by Tether, or about to be (held, not yet flushed)?
    fn disabled_or_held(&self, interface: &str) -> bool {
        self.disabled.contains_key(interface) || self.holders.contains_key(interface)
    }

    /// May a group hold this interface? Keeping an existing disable is allowed where making a
    /// new one is not (an interface restored at boot and not observed yet).
    pub(super) fn eligible(&self, interface: &str) -> bool {
        let observation = self.interfaces.get(interface);
        match self.disabled_or_held(interface) {
            true => may_keep(observation),
            false => may_disable(observation),
        }
    }

    pub(super) fn hold(&mut self, interface: &str, group: GroupId) {
        if (self.holders.entry(interface.to_owned()).or_default()).insert(group) {
            self.touch(interface);
        }
    }

    pub(super) fn release(&mut self, interface: &str, group: GroupId) {
        let Some(groups) = self.holders.get_mut(interface) else {
            return;
        };
        if groups.remove(&group) {
            if groups.is_empty() {
                self.holders.remove(interface);
            }
            self.touch(interface);
        }
    }

    /// Every (interface, group) hold, sorted.
    pub(super) fn holds_list(&self) -> Vec<(String, GroupId)> {
        let mut list: Vec<(String, GroupId)> = (self.holders.iter())
            .flat_map(|(name, groups)| groups.iter().map(|group| (name.clone(), *group)))
            .collect();
        list.sort();
        list
    }

    /// Drops an interface that is neither held nor configured: nothing will act on it again.
    pub(super) fn forget(&mut self, interface: &str) {
        self.holders.remove(interface);
        self.disabled.remove(interface);
    }

    fn touch(&mut self, interface: &str) {
        if self.dirty_set.insert(interface.to_owned()) {
            self.dirty.push(interface.to_owned());
        }
    }

    /// Turns the holds that changed into actions: a newly held interface is disabled for its
    /// lowest holder, one whose lowest holder changed is re-attributed, one no group holds any
    /// more is enabled — unless it is gone or the operator shut it, which is forgotten
    /// silently so the operator's shutdown stands.
    pub(super) fn flush(&mut self, out: &mut Outcome) {
        self.dirty_set.clear();
        for interface in std::mem::take(&mut self.dirty) {
            let holder = (self.holders.get(&interface)).and_then(|groups| groups.first().copied());
            let announced = self.disabled.get(&interface).copied();
            match (announced, holder) {
                (None, Some(group)) => {
                    self.disabled.insert(interface.clone(), group);
                    out.actions.push(Action::Disable { interface, group });
                }
                (Some(old), Some(group)) if old != group => {
                    self.disabled.insert(interface.clone(), group);
                    out.actions.push(Action::Disable { interface, group });
                }
                (Some(group), None) => {
                    self.disabled.remove(&interface);
                    if may_keep(self.interfaces.get(&interface)) {
                        out.actions.push(Action::Enable { interface, group });
                    }
                }
                _ => {}
            }
        }
    }
}

/// May Tether keep its disable on this interface? Not once it is gone or the operator shut it.
/// An interface never observed (restored at boot, not seen yet) is kept: forgetting it would
/// leave it disabled for good.
pub(super) fn may_keep(observation: Option<&InterfaceObservation>) -> bool {
    observation.is_none_or(|o| o.exists && !o.operator_shut())
}

/// May Tether disable this interface now? Only one it has seen, that exists and that the
/// operator did not shut.
pub(super) fn may_disable(observation: Option<&InterfaceObservation>) -> bool {
    observation.is_some_and(|o| o.exists && !o.operator_shut())
}
