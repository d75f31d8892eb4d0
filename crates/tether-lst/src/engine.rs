//! The engine: groups, the interfaces they watch, what Tether disabled, and the delay timers.
//!
//! Cost model: an observation touches one group. A change that does not flip the group costs a
//! few hash lookups; a flip costs one pass over that group's downstreams (which it must act on
//! anyway). `set_config` and `restore_disabled` rebuild and re-check everything: they are rare.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use crate::config::{ConfigError, GroupConfig, validate};
use crate::state::{
    Action, GroupDetail, GroupId, GroupState, GroupStatus, InterfaceObservation, MemberState,
    MemberStatus, Outcome, PendingAction, Role, StateChange,
};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

// ===== internal state =====

/// A running delay and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Disable { until: u64 },
    Enable { until: u64 },
}

impl Pending {
    fn until(self) -> u64 {
        match self {
            Pending::Disable { until } | Pending::Enable { until } => until,
        }
    }
}

#[derive(Debug)]
struct Member {
    name: String,
    status: MemberStatus,
    last_change_ns: u64,
    /// Added and not yet reported in a [`StateChange`].
    fresh: bool,
    /// Upstream only: counted in `upstream_up`.
    up: bool,
    /// Downstream only: Tether disabled it for this group (mirrors `World::disabled`).
    disabled: bool,
}

impl Member {
    fn new(name: String, now_ns: u64) -> Self {
        Self {
            name,
            status: MemberStatus::Down,
            last_change_ns: now_ns,
            fresh: true,
            up: false,
            disabled: false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct MemberRef {
    group: GroupId,
    role: Role,
    index: usize,
}

/// What groups consult and update outside themselves, kept apart so that a group and the world can
/// be borrowed mutably together.
#[derive(Debug, Default)]
struct World {
    /// Last observation of each interface; an interface never observed is unknown.
    interfaces: HashMap<String, InterfaceObservation>,
    /// What Tether disabled, and for which group: the set the daemon persists.
    disabled: HashMap<String, GroupId>,
    /// Running delays, earliest first.
    deadlines: BTreeSet<(u64, GroupId)>,
}

/// May Tether keep its disable on this interface? Not once it is gone or the operator shut it.
/// An interface never observed (restored at boot, not seen yet) is kept: forgetting it would
/// leave it disabled for good.
fn may_keep(observation: Option<&InterfaceObservation>) -> bool {
    observation.is_none_or(|o| o.exists && !o.operator_shut())
}

/// May Tether disable this interface now? Only one it has seen, that exists and that the
/// operator did not shut.
fn may_disable(observation: Option<&InterfaceObservation>) -> bool {
    observation.is_some_and(|o| o.exists && !o.operator_shut())
}

fn duration_ns(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Debug)]
struct Group {
    id: GroupId,
    enabled: bool,
    min_upstream_up: u16,
    up_delay_ns: u64,
    down_delay_ns: u64,
    upstream: Vec<Member>,
    downstream: Vec<Member>,
    upstream_up: u32,
    downstream_disabled: u32,
    status: GroupStatus,
    last_change_ns: u64,
    transitions: u64,
    pending: Option<Pending>,
    /// Created by the last `set_config`: its first status is computed without delays.
    fresh: bool,
}

// ===== impl Group =====

impl Group {
    /// Builds a group from its configuration, carrying the run-time state of its previous
    /// incarnation. Disabled flags are left clear: `Engine::reconcile_all` sets them.
    fn build(config: GroupConfig, old: Option<Group>, world: &World, now_ns: u64) -> Self {
        let mut old_upstream = HashMap::new();
        let mut old_downstream = HashMap::new();
        let mut group = match old {
            Some(old) => {
                old_upstream.extend(old.upstream.into_iter().map(|m| (m.name.clone(), m)));
                old_downstream.extend(old.downstream.into_iter().map(|m| (m.name.clone(), m)));
                Group {
                    status: old.status,
                    last_change_ns: old.last_change_ns,
                    transitions: old.transitions,
                    pending: old.pending,
                    fresh: false,
                    ..Group::empty(&config, now_ns)
                }
            }
            None => Group::empty(&config, now_ns),
        };
        let carry = |old: &mut HashMap<String, Member>, name: String| {
            let mut member = old
                .remove(&name)
                .unwrap_or_else(|| Member::new(name, now_ns));
            member.disabled = false;
            member
        };
        group.upstream = (config.upstream.into_iter())
            .map(|name| carry(&mut old_upstream, name))
            .collect();
        group.downstream = (config.downstream.into_iter())
            .map(|name| carry(&mut old_downstream, name))
            .collect();
        for member in &mut group.upstream {
            member.up = world
                .interfaces
                .get(&member.name)
                .is_some_and(InterfaceObservation::oper_up);
            group.upstream_up += u32::from(member.up);
        }
        group
    }

    fn empty(config: &GroupConfig, now_ns: u64) -> Self {
        Group {
            id: config.id,
            enabled: config.enabled,
            min_upstream_up: config.min_upstream_up,
            up_delay_ns: duration_ns(config.up_delay),
            down_delay_ns: duration_ns(config.down_delay),
            upstream: Vec::new(),
            downstream: Vec::new(),
            upstream_up: 0,
            downstream_disabled: 0,
            status: GroupStatus::Up,
            last_change_ns: now_ns,
            transitions: 0,
            pending: None,
            fresh: true,
        }
    }

    fn snapshot(&self) -> GroupState {
        GroupState {
            id: self.id,
            enabled: self.enabled,
            status: self.status,
            upstream_up: self.upstream_up,
            upstream_total: u32::try_from(self.upstream.len()).unwrap_or(u32::MAX),
            downstream_total: u32::try_from(self.downstream.len()).unwrap_or(u32::MAX),
            downstream_disabled: self.downstream_disabled,
            last_change_ns: self.last_change_ns,
            transitions: self.transitions,
            pending_action: match self.pending {
                None => PendingAction::None,
                Some(Pending::Disable { .. }) => PendingAction::Disable,
                Some(Pending::Enable { .. }) => PendingAction::Enable,
            },
            pending_until_ns: self.pending.map(Pending::until),
        }
    }

    fn member_state(&self, member: &Member, role: Role) -> MemberState {
        MemberState {
            interface: member.name.clone(),
            group: self.id,
            role,
            status: member.status,
            last_change_ns: member.last_change_ns,
        }
    }

    /// A group tracks only when enabled and with at least one upstream: configuring downstreams
    /// first never cuts them off.
    fn tracking(&self) -> bool {
        self.enabled && !self.upstream.is_empty()
    }

    fn wants_down(&self) -> bool {
        self.tracking() && self.upstream_up < u32::from(self.min_upstream_up)
    }

    fn set_pending(&mut self, pending: Option<Pending>, world: &mut World) {
        if self.pending == pending {
            return;
        }
        if let Some(old) = self.pending {
            world.deadlines.remove(&(old.until(), self.id));
        }
        if let Some(new) = pending {
            world.deadlines.insert((new.until(), self.id));
        }
        self.pending = pending;
    }

    /// Reacts to a change of the upstreams or of the configuration: flips now, starts a delay,
    /// or cancels one (a recovery inside the delay does nothing).
    fn evaluate(&mut self, world: &mut World, now_ns: u64, out: &mut Outcome) {
        let want_down = self.wants_down();
        match (self.status, want_down) {
            (GroupStatus::Up, false) | (GroupStatus::Down, true) => self.set_pending(None, world),
            (GroupStatus::Up, true) => match self.pending {
                Some(Pending::Disable { .. }) => {}
                _ if self.down_delay_ns == 0 => self.go(GroupStatus::Down, world, now_ns, out),
                _ => {
                    let until = now_ns.saturating_add(self.down_delay_ns);
                    self.set_pending(Some(Pending::Disable { until }), world);
                }
            },
            (GroupStatus::Down, false) => match self.pending {
                // Releasing because the group stopped tracking does not wait for the up delay.
                Some(Pending::Enable { .. }) if self.tracking() => {}
                _ if self.up_delay_ns == 0 || !self.tracking() => {
                    self.go(GroupStatus::Up, world, now_ns, out)
                }
                _ => {
                    let until = now_ns.saturating_add(self.up_delay_ns);
                    self.set_pending(Some(Pending::Enable { until }), world);
                }
            },
        }
    }

    /// The delay expired (its deadline is already off the timer list).
    fn fire(&mut self, world: &mut World, now_ns: u64, out: &mut Outcome) {
        match self.pending.take() {
            Some(Pending::Disable { .. }) if self.wants_down() => {
                self.go(GroupStatus::Down, world, now_ns, out)
            }
            Some(Pending::Enable { .. }) if !self.wants_down() => {
                self.go(GroupStatus::Up, world, now_ns, out)
            }
            _ => self.evaluate(world, now_ns, out),
        }
    }

    fn go(&mut self, status: GroupStatus, world: &mut World, now_ns: u64, out: &mut Outcome) {
        self.set_pending(None, world);
        self.status = status;
        self.last_change_ns = now_ns;
        self.transitions += 1;
        for index in 0..self.downstream.len() {
            self.sync_downstream(index, world, now_ns, out);
        }
    }

    /// Brings one downstream in line with the group: disabled while the group is down (unless
    /// missing or the operator's), enabled again when it is up.
    fn sync_downstream(&mut self, index: usize, world: &mut World, now_ns: u64, out: &mut Outcome) {
        let down = self.status == GroupStatus::Down;
        let member = &mut self.downstream[index];
        let observation = world.interfaces.get(&member.name);
        if member.disabled {
            let keep = may_keep(observation);
            if !down || !keep {
                member.disabled = false;
                self.downstream_disabled -= 1;
                world.disabled.remove(&member.name);
                // Gone or shut by the operator: nothing to enable, and the operator's shutdown
                // must stand.
                if keep {
                    out.actions.push(Action::Enable {
                        interface: member.name.clone(),
                        group: self.id,
                    });
                }
            }
        } else if down && may_disable(observation) {
            member.disabled = true;
            self.downstream_disabled += 1;
            world.disabled.insert(member.name.clone(), self.id);
            out.actions.push(Action::Disable {
                interface: member.name.clone(),
                group: self.id,
            });
        }
        let observation = world.interfaces.get(&member.name);
        refresh_member(self.id, Role::Downstream, member, observation, now_ns, out);
    }

    /// An upstream's observation changed.
    fn sync_upstream(&mut self, index: usize, world: &mut World, now_ns: u64, out: &mut Outcome) {
        let member = &mut self.upstream[index];
        let observation = world.interfaces.get(&member.name);
        let up = observation.is_some_and(InterfaceObservation::oper_up);
        if member.up != up {
            member.up = up;
            if up {
                self.upstream_up += 1;
            } else {
                self.upstream_up -= 1;
            }
        }
        refresh_member(self.id, Role::Upstream, member, observation, now_ns, out);
        self.evaluate(world, now_ns, out);
    }
}

/// Recomputes a member's status and reports it when it changed (or the member is new).
fn refresh_member(
    group: GroupId,
    role: Role,
    member: &mut Member,
    observation: Option<&InterfaceObservation>,
    now_ns: u64,
    out: &mut Outcome,
) {
    let status = if member.disabled {
        MemberStatus::Disabled
    } else if observation.is_some_and(InterfaceObservation::oper_up) {
        MemberStatus::Up
    } else {
        MemberStatus::Down
    };
    if status == member.status && !member.fresh {
        return;
    }
    if status != member.status {
        member.status = status;
        member.last_change_ns = now_ns;
    }
    member.fresh = false;
    out.changes.push(StateChange::Member {
        at_ns: now_ns,
        state: MemberState {
            interface: member.name.clone(),
            group,
            role,
            status,
            last_change_ns: member.last_change_ns,
        },
    });
}

/// Within one configuration change an interface can move from a down group to another down
/// group: disable it for the new group without enabling it in between (no flap).
fn collapse_moves(actions: &mut Vec<Action>) {
    let disabled: HashSet<String> = (actions.iter())
        .filter_map(|action| match action {
            Action::Disable { interface, .. } => Some(interface.clone()),
            Action::Enable { .. } => None,
        })
        .collect();
    if !disabled.is_empty() {
        actions.retain(|action| {
            !matches!(action, Action::Enable { interface, .. } if disabled.contains(interface))
        });
    }
}

// ===== impl Engine =====

/// The link state tracking engine. See the crate documentation for the contract.
#[derive(Debug, Default)]
pub struct Engine {
    groups: BTreeMap<GroupId, Group>,
    /// Which group and role each configured interface has.
    members: HashMap<String, MemberRef>,
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
                    self.members.insert(member.name.clone(), at);
                }
            }
            self.groups.insert(group.id, group);
        }

        let mut removed: Vec<_> = (old_members.into_iter())
            .filter(|(name, old)| {
                let now = self.members.get(name);
                !now.is_some_and(|now| now.group == old.group && now.role == old.role)
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
        self.world.disabled.extend(entries);
        let mut out = Outcome::default();
        if self.configured {
            let before = self.snapshots();
            self.reconcile_all(&before, now_ns, &mut out);
        }
        out
    }

    /// Takes a new observation of one interface.
    pub fn observe(&mut self, observation: InterfaceObservation, now_ns: u64) -> Outcome {
        let at = self.members.get(&observation.name).copied();
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
        let at = self.members.get(name).copied();
        let missing = InterfaceObservation::missing(name);
        self.world.interfaces.insert(name.to_owned(), missing);
        let out = self.interface_changed(at, now_ns);
        self.world.interfaces.remove(name);
        if at.is_none() {
            self.world.disabled.remove(name);
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
        out
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

    /// The group that disabled this interface, if Tether did.
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

    /// The state of a configured interface (it belongs to one group, in one role).
    pub fn member_state(&self, interface: &str) -> Option<MemberState> {
        let at = self.members.get(interface)?;
        let group = self.groups.get(&at.group)?;
        let list = match at.role {
            Role::Upstream => &group.upstream,
            Role::Downstream => &group.downstream,
        };
        Some(group.member_state(list.get(at.index)?, at.role))
    }

    // ----- internals -----

    fn snapshots(&self) -> HashMap<GroupId, GroupState> {
        (self.groups.iter())
            .map(|(id, group)| (*id, group.snapshot()))
            .collect()
    }

    fn interface_changed(&mut self, at: Option<MemberRef>, now_ns: u64) -> Outcome {
        let mut out = Outcome::default();
        let Some(at) = at else {
            return out;
        };
        let Some(group) = self.groups.get_mut(&at.group) else {
            return out;
        };
        let before = group.snapshot();
        match at.role {
            Role::Upstream => group.sync_upstream(at.index, &mut self.world, now_ns, &mut out),
            Role::Downstream => group.sync_downstream(at.index, &mut self.world, now_ns, &mut out),
        }
        push_group_change(group, Some(&before), now_ns, &mut out);
        out
    }

    /// Re-attributes the disabled set to the members, then brings every group in line.
    fn reconcile_all(
        &mut self,
        before: &HashMap<GroupId, GroupState>,
        now_ns: u64,
        out: &mut Outcome,
    ) {
        for group in self.groups.values_mut() {
            group.downstream_disabled = 0;
            for member in &mut group.downstream {
                member.disabled = false;
            }
        }
        let mut entries: Vec<(String, GroupId)> = (self.world.disabled.iter())
            .map(|(name, group)| (name.clone(), *group))
            .collect();
        entries.sort();
        for (name, id) in entries {
            let keep = may_keep(self.world.interfaces.get(&name));
            let owner = (self.members.get(&name))
                .filter(|at| at.group == id && at.role == Role::Downstream)
                .and_then(|at| Some((self.groups.get_mut(&at.group)?, at.index)));
            match owner {
                Some((group, index)) if keep => {
                    group.downstream[index].disabled = true;
                    group.downstream_disabled += 1;
                }
                _ => {
                    self.world.disabled.remove(&name);
                    if keep {
                        out.actions.push(Action::Enable {
                            interface: name,
                            group: id,
                        });
                    }
                }
            }
        }

        for group in self.groups.values_mut() {
            if group.fresh {
                group.fresh = false;
                group.status = match group.wants_down() {
                    true => GroupStatus::Down,
                    false => GroupStatus::Up,
                };
                group.last_change_ns = now_ns;
            } else {
                group.evaluate(&mut self.world, now_ns, out);
            }
            for index in 0..group.downstream.len() {
                group.sync_downstream(index, &mut self.world, now_ns, out);
            }
            for member in &mut group.upstream {
                let observation = self.world.interfaces.get(&member.name);
                refresh_member(group.id, Role::Upstream, member, observation, now_ns, out);
            }
            push_group_change(group, before.get(&group.id), now_ns, out);
        }
        collapse_moves(&mut out.actions);
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
