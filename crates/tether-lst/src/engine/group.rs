//! One link state group as a state machine: its members, its status and its running delay.
//!
//! Everything a single observation or an expired delay changes lives here, so that an event
//! touches one group only; the engine decides which group and reconciles across groups.

use std::collections::HashMap;
use std::time::Duration;

use super::member::{Member, refresh_member};
use super::world::{World, may_disable, may_keep};
use crate::config::GroupConfig;
use crate::state::{
    Action, GroupId, GroupState, GroupStatus, InterfaceObservation, MemberState, Outcome,
    PendingAction, Role,
};

/// A running delay and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    Disable { until: u64 },
    Enable { until: u64 },
}

impl Pending {
    pub(super) fn until(self) -> u64 {
        match self {
            Pending::Disable { until } | Pending::Enable { until } => until,
        }
    }
}

pub(super) fn duration_ns(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Debug)]
pub(super) struct Group {
    pub(super) id: GroupId,
    enabled: bool,
    min_upstream_up: u16,
    up_delay_ns: u64,
    down_delay_ns: u64,
    pub(super) upstream: Vec<Member>,
    pub(super) downstream: Vec<Member>,
    upstream_up: u32,
    pub(super) downstream_disabled: u32,
    pub(super) status: GroupStatus,
    pub(super) last_change_ns: u64,
    transitions: u64,
    pub(super) pending: Option<Pending>,
    /// Created by the last `set_config`: its first status is computed without delays.
    pub(super) fresh: bool,
}

// ===== impl Group =====

impl Group {
    /// Builds a group from its configuration, carrying the run-time state of its previous
    /// incarnation. Disabled flags are left clear: `Engine::reconcile_all` sets them.
    pub(super) fn build(
        config: GroupConfig,
        old: Option<Group>,
        world: &World,
        now_ns: u64,
    ) -> Self {
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

    pub(super) fn snapshot(&self) -> GroupState {
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

    pub(super) fn member_state(&self, member: &Member, role: Role) -> MemberState {
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

    pub(super) fn wants_down(&self) -> bool {
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
    pub(super) fn evaluate(&mut self, world: &mut World, now_ns: u64, out: &mut Outcome) {
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
    pub(super) fn fire(&mut self, world: &mut World, now_ns: u64, out: &mut Outcome) {
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
    pub(super) fn sync_downstream(
        &mut self,
        index: usize,
        world: &mut World,
        now_ns: u64,
        out: &mut Outcome,
    ) {
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
    pub(super) fn sync_upstream(
        &mut self,
        index: usize,
        world: &mut World,
        now_ns: u64,
        out: &mut Outcome,
    ) {
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
