//! The engine: groups, the interfaces they watch, what Tether disabled, and the delay timers.
//!
//! Cost model: an observation touches the groups that list the interface. A change that does
//! not flip a group costs a few hash lookups (plus one pass over its downstreams when
//! `disable_links` makes its target follow the failed upstreams); a flip costs one pass over
//! that group's downstreams (which it must act on anyway). `set_config`, `restore_disabled` and
//! `clear` rebuild and re-check everything they touch: they are rare.

mod group;
mod member;
mod world;

use std::collections::{BTreeMap, HashMap};

use crate::config::{ConfigError, GroupConfig, validate};
use crate::state::{
    GroupDetail, GroupId, GroupState, InterfaceObservation, MemberState, Outcome, Role, StateChange,
};
use group::{Group, Pending};
use member::{Member, MemberRef, refresh_member};
use world::World;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

// ===== impl Engine =====

/// The link state tracking engine. See the crate documentation for the contract.
#[derive(Debug, Default)]
pub struct Engine {
    groups: BTreeMap<GroupId, Group>,
    /// Where each configured interface sits: one entry per group that lists it (one role).
    members: HashMap<String, Vec<MemberRef>>,
    world: World,
    /// `set_config` was called: until then restored entries wait for their groups.
    configured: bool,
}

impl Engine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the whole configuration. Groups and members that stay keep their state and
    /// timers; a removed group, a removed downstream and a disabled group (`enabled = false`)
    /// release what they had disabled; a downstream added to a down group is disabled. A new
    /// group takes its first status at once, without delays. A running delay keeps its deadline
    /// even if the delay was edited. On error nothing changes.
    pub fn set_config(
        &mut self,
        groups: Vec<GroupConfig>,
        now_ns: u64,
    ) -> Result<Outcome, ConfigError> {
        validate(&groups)?;
        let mut out = Outcome::default();
        let before = self.snapshots();
        let mut old_groups = std::mem::take(&mut self.groups);
        let old_members = std::mem::take(&mut self.members);
        for config in groups {
            let old = old_groups.remove(&config.id);
            let group = Group::build(config, old, &self.world, now_ns);
            let roles = [
                (Role::Upstream, &group.upstream),
                (Role::Downstream, &group.downstream),
            ];
            for (role, members) in roles {
                for (index, member) in members.iter().enumerate() {
                    let at = MemberRef {
                        group: group.id,
                        role,
                        index,
                    };
                    self.members
                        .entry(member.name.clone())
                        .or_default()
                        .push(at);
                }
            }
            self.groups.insert(group.id, group);
        }

        let mut removed: Vec<_> = (old_members.into_iter())
            .flat_map(|(name, olds)| olds.into_iter().map(move |old| (name.clone(), old)))
            .filter(|(name, old)| {
                let now = self.members.get(name).into_iter().flatten();
                !now.into_iter()
                    .any(|now| now.group == old.group && now.role == old.role)
            })
            .map(|(name, old)| (old.group, old.role, name))
            .collect();
        removed.sort();
        for (group, role, interface) in removed {
            out.changes.push(StateChange::MemberRemoved {
                at_ns: now_ns,
                group,
                role,
                interface,
            });
        }
        for (id, group) in old_groups {
            if let Some(pending) = group.pending {
                self.world.deadlines.remove(&(pending.until(), id));
            }
            out.changes.push(StateChange::GroupRemoved {
                at_ns: now_ns,
                group: id,
            });
        }

        self.configured = true;
        self.reconcile_all(&before, now_ns, &mut out);
        Ok(out)
    }

    /// Tells the engine what it had disabled before a restart (the persisted [`Self::disabled`]).
    /// Call it before [`Self::set_config`] at boot: a group still down then adopts these
    /// interfaces without any action, a group that is up (or gone, or no longer owning the
    /// interface) enables them. Called after configuration, it reconciles at once.
    pub fn restore_disabled(
        &mut self,
        entries: impl IntoIterator<Item = (String, GroupId)>,
        now_ns: u64,
    ) -> Outcome {
        for (name, group) in entries {
            self.world.hold(&name, group);
            self.world.disabled.insert(name, group);
        }
        let mut out = Outcome::default();
        if self.configured {
            let before = self.snapshots();
            self.reconcile_all(&before, now_ns, &mut out);
        }
        out
    }

    /// Takes a new observation of one interface.
    pub fn observe(&mut self, observation: InterfaceObservation, now_ns: u64) -> Outcome {
        let at = self.refs(&observation.name);
        match self.world.interfaces.get_mut(&observation.name) {
            Some(known) if *known == observation => return Outcome::default(),
            Some(known) => *known = observation,
            None => {
                let name = observation.name.clone();
                self.world.interfaces.insert(name, observation);
            }
        }
        self.interface_changed(at, now_ns)
    }

    /// The interface left the dataplane: it counts as down and whatever Tether had disabled on it
    /// is forgotten (a new interface by that name starts clean).
    pub fn remove_interface(&mut self, name: &str, now_ns: u64) -> Outcome {
        let at = self.refs(name);
        let missing = InterfaceObservation::missing(name);
        self.world.interfaces.insert(name.to_owned(), missing);
        let unconfigured = at.is_empty();
        let out = self.interface_changed(at, now_ns);
        self.world.interfaces.remove(name);
        if unconfigured {
            self.world.forget(name);
        }
        out
    }

    /// Fires the delays that expired at `now_ns`.
    pub fn tick(&mut self, now_ns: u64) -> Outcome {
        let mut out = Outcome::default();
        while let Some(&(until, id)) = self.world.deadlines.first() {
            if until > now_ns {
                break;
            }
            self.world.deadlines.pop_first();
            let Some(group) = self.groups.get_mut(&id) else {
                continue;
            };
            if group.pending.map(Pending::until) != Some(until) {
                continue;
            }
            let before = group.snapshot();
            group.fire(&mut self.world, now_ns, &mut out);
            push_group_change(group, Some(&before), now_ns, &mut out);
        }
        self.world.flush(&mut out);
        out
    }

    /// Manual recovery (Dell `clear ufd-disable uplink-state-group N`): enables what the group
    /// holds beyond what its status calls for (with `auto_recover` off, what it disabled before
    /// it recovered). A downstream another group still holds stays disabled; a group that is
    /// still down keeps its downstreams. `None` when there is no such group.
    pub fn clear(&mut self, id: GroupId, now_ns: u64) -> Option<Outcome> {
        let group = self.groups.get_mut(&id)?;
        let mut out = Outcome::default();
        let before = group.snapshot();
        group.clear(&mut self.world, now_ns, &mut out);
        push_group_change(group, Some(&before), now_ns, &mut out);
        self.world.flush(&mut out);
        Some(out)
    }

    /// When [`Self::tick`] must be called next, if a delay is running.
    pub fn next_deadline(&self) -> Option<u64> {
        self.world.deadlines.first().map(|&(until, _)| until)
    }

    /// What Tether has disabled and for which group: persist it, feed it to
    /// [`Self::restore_disabled`] after a restart. In no particular order.
    pub fn disabled(&self) -> impl Iterator<Item = (&str, GroupId)> + '_ {
        (self.world.disabled.iter()).map(|(name, group)| (name.as_str(), *group))
    }

    /// How many interfaces Tether holds disabled (O(1), for callers that mirror the set).
    pub fn disabled_len(&self) -> usize {
        self.world.disabled.len()
    }

    /// The group this interface's disable is attributed to (the lowest that holds it), if
    /// Tether disabled it.
    pub fn disabled_by(&self, interface: &str) -> Option<GroupId> {
        self.world.disabled.get(interface).copied()
    }

    pub fn group_state(&self, id: GroupId) -> Option<GroupState> {
        self.groups.get(&id).map(Group::snapshot)
    }

    /// Every group's state, by id.
    pub fn groups_state(&self) -> impl Iterator<Item = GroupState> + '_ {
        self.groups.values().map(Group::snapshot)
    }

    /// The group and its members in configuration order: `show link state group N detail`.
    pub fn group_detail(&self, id: GroupId) -> Option<GroupDetail> {
        let group = self.groups.get(&id)?;
        let members = |list: &[Member], role| {
            (list.iter())
                .map(|member| group.member_state(member, role))
                .collect()
        };
        Some(GroupDetail {
            state: group.snapshot(),
            upstream: members(&group.upstream, Role::Upstream),
            downstream: members(&group.downstream, Role::Downstream),
        })
    }

    /// The state of a configured interface in the first group that lists it (an interface is
    /// in one role, in one or more groups).
    pub fn member_state(&self, interface: &str) -> Option<MemberState> {
        self.member_states(interface).into_iter().next()
    }

    /// The state of a configured interface in every group that lists it, by group.
    pub fn member_states(&self, interface: &str) -> Vec<MemberState> {
        let mut states: Vec<MemberState> = (self.refs(interface).into_iter())
            .filter_map(|at| {
                let group = self.groups.get(&at.group)?;
                let list = match at.role {
                    Role::Upstream => &group.upstream,
                    Role::Downstream => &group.downstream,
                };
                Some(group.member_state(list.get(at.index)?, at.role))
            })
            .collect();
        states.sort_by_key(|state| state.group);
        states
    }

    // ----- internals -----

    fn snapshots(&self) -> HashMap<GroupId, GroupState> {
        (self.groups.iter())
            .map(|(id, group)| (*id, group.snapshot()))
            .collect()
    }

    fn refs(&self, interface: &str) -> Vec<MemberRef> {
        self.members.get(interface).cloned().unwrap_or_default()
    }

    fn interface_changed(&mut self, refs: Vec<MemberRef>, now_ns: u64) -> Outcome {
        let mut out = Outcome::default();
        for at in refs {
            let Some(group) = self.groups.get_mut(&at.group) else {
                continue;
            };
            let before = group.snapshot();
            match at.role {
                Role::Upstream => group.sync_upstream(at.index, &mut self.world, now_ns, &mut out),
                Role::Downstream => {
                    group.sync_downstream(at.index, &mut self.world, now_ns, &mut out)
                }
            }
            push_group_change(group, Some(&before), now_ns, &mut out);
        }
        self.world.flush(&mut out);
        out
    }

    /// Drops the holds no configured downstream accounts for, gives every group the holds the
    /// world records for it, then brings every group in line and flushes.
    fn reconcile_all(
        &mut self,
        before: &HashMap<GroupId, GroupState>,
        now_ns: u64,
        out: &mut Outcome,
    ) {
        for (name, id) in self.world.holds_list() {
            let listed = (self.members.get(&name).into_iter().flatten())
                .any(|at| at.group == id && at.role == Role::Downstream);
            if !listed {
                self.world.release(&name, id);
            }
        }
        for group in self.groups.values_mut() {
            group.adopt_holds(&self.world);
            if group.fresh {
                group.settle_fresh(now_ns);
            } else {
                group.evaluate(&mut self.world, now_ns, out);
            }
            group.sync_downstreams(false, &mut self.world, now_ns, out);
            for member in &mut group.upstream {
                let observation = self.world.interfaces.get(&member.name);
                refresh_member(group.id, Role::Upstream, member, observation, now_ns, out);
            }
            push_group_change(group, before.get(&group.id), now_ns, out);
        }
        self.world.flush(out);
    }
}

fn push_group_change(group: &Group, before: Option<&GroupState>, now_ns: u64, out: &mut Outcome) {
    let state = group.snapshot();
    if before != Some(&state) {
        out.changes.push(StateChange::Group {
            at_ns: now_ns,
            state,
        });
    }
}
