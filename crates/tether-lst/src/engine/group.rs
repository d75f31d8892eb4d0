//! One link state group as a state machine: its members, its status and its running delay.
//!
//! Everything a single observation or an expired delay changes lives here, so that an event
//! touches the groups of one interface only; the engine decides which groups and reconciles
//! across groups. A group takes and drops *holds* on its downstreams; the world turns holds
//! into actions.

use std::collections::HashMap;
use std::time::Duration;

use super::member::{Member, refresh_member};
use super::world::World;
use crate::config::{GroupConfig, Threshold, ThresholdKind};
use crate::state::{
    GroupId, GroupState, GroupStatus, InterfaceObservation, MemberState, Outcome, PendingAction,
    Role,
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
    threshold: Threshold,
    up_delay_ns: u64,
    down_delay_ns: u64,
    disable_links: Option<u16>,
    auto_recover: bool,
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
    /// The group has been up since it was created. Until then a recovery skips `up-delay`
    /// (SONiC: the up delay is not applied at start-up).
    been_up: bool,
}

// ===== impl Group =====

impl Group {
    /// Builds a group from its configuration, carrying the run-time state of its previous
    /// incarnation. Hold flags are left clear: `Engine::reconcile_all` sets them.
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
                    been_up: old.been_up,
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
            threshold: config.effective_threshold(),
            up_delay_ns: duration_ns(config.up_delay),
            down_delay_ns: duration_ns(config.down_delay),
            disable_links: config.disable_links,
            auto_recover: config.auto_recover,
            upstream: Vec::new(),
            downstream: Vec::new(),
            upstream_up: 0,
            downstream_disabled: 0,
            status: GroupStatus::Up,
            last_change_ns: now_ns,
            transitions: 0,
            pending: None,
            fresh: true,
            been_up: false,
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
            awaiting_clear: self.awaiting_clear(),
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

    /// Are enough upstreams up to meet `limit` (a count, or a percentage of the upstreams)?
    fn meets(&self, limit: u16) -> bool {
        match self.threshold.kind {
            ThresholdKind::Count => self.upstream_up >= u32::from(limit),
            ThresholdKind::Percentage => {
                let total = u64::try_from(self.upstream.len()).unwrap_or(u64::MAX);
                u64::from(self.upstream_up) * 100 >= u64::from(limit).saturating_mul(total)
            }
        }
    }

    /// Should the group be down? An up group looks at the down threshold, a down group at the
    /// up threshold: between the two, it stays as it is.
    pub(super) fn wants_down(&self) -> bool {
        let limit = match self.status {
            GroupStatus::Up => self.threshold.down,
            GroupStatus::Down => self.threshold.up,
        };
        self.tracking() && !self.meets(limit)
    }

    /// How many downstreams the group's status and its failed upstreams call for: all while it
    /// is down; `disable_links` per upstream that is not up while it is up; none otherwise.
    fn hold_target(&self) -> usize {
        if !self.tracking() {
            return 0;
        }
        let total = self.downstream.len();
        match (self.status, self.disable_links) {
            (GroupStatus::Down, _) => total,
            (GroupStatus::Up, None) => 0,
            (GroupStatus::Up, Some(links)) => {
                let up = usize::try_from(self.upstream_up).unwrap_or(usize::MAX);
                let failed = self.upstream.len().saturating_sub(up);
                total.min(usize::from(links).saturating_mul(failed))
            }
        }
    }

    /// Up, tracking, and still holding downstreams only because recovery is manual.
    fn awaiting_clear(&self) -> bool {
        !self.auto_recover
            && self.tracking()
            && usize::try_from(self.downstream_disabled).unwrap_or(usize::MAX) > self.hold_target()
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

    /// Takes the first status of a group created by the last configuration, without delays.
    /// A group that already holds downstreams (restored after a restart) while it disables
    /// only when down, and recovers by itself, was down: it is judged by its up threshold, as a
    /// down group is, so a restart does not undo hysteresis.
    pub(super) fn settle_fresh(&mut self, now_ns: u64) {
        self.fresh = false;
        let was_down =
            self.disable_links.is_none() && self.auto_recover && self.downstream_disabled > 0;
        if was_down {
            self.status = GroupStatus::Down;
        }
        self.status = match self.wants_down() {
            true => GroupStatus::Down,
            false => GroupStatus::Up,
        };
        self.been_up = self.status == GroupStatus::Up;
        self.last_change_ns = now_ns;
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
                _ if self.up_delay_ns == 0 || !self.tracking() || !self.been_up => {
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
        self.been_up |= status == GroupStatus::Up;
        self.last_change_ns = now_ns;
        self.transitions += 1;
        self.sync_downstreams(false, world, now_ns, out);
    }

    /// Brings every downstream's hold in line with the group: the first `hold_target`
    /// eligible downstreams in configuration order are held, plus (manual recovery) those
    /// already held, unless `clearing`. One pass over the group's downstreams.
    pub(super) fn sync_downstreams(
        &mut self,
        clearing: bool,
        world: &mut World,
        now_ns: u64,
        out: &mut Outcome,
    ) {
        let target = self.hold_target();
        let sticky = !self.auto_recover && self.tracking() && !clearing;
        let mut taken = 0;
        for index in 0..self.downstream.len() {
            let member = &self.downstream[index];
            let want =
                world.eligible(&member.name) && (taken < target || (sticky && member.disabled));
            taken += usize::from(want);
            self.set_hold(index, want, world, now_ns, out);
        }
    }

    /// Brings one downstream in line after its own observation changed. With no partial
    /// target (none or all of them held) a member's hold does not depend on the others, so
    /// this touches one member; otherwise the order matters and every downstream is revisited.
    pub(super) fn sync_downstream(
        &mut self,
        index: usize,
        world: &mut World,
        now_ns: u64,
        out: &mut Outcome,
    ) {
        let target = self.hold_target();
        if target != 0 && target < self.downstream.len() {
            return self.sync_downstreams(false, world, now_ns, out);
        }
        let sticky = !self.auto_recover && self.tracking();
        let member = &self.downstream[index];
        let want = world.eligible(&member.name) && (target > 0 || (sticky && member.disabled));
        self.set_hold(index, want, world, now_ns, out);
    }

    fn set_hold(
        &mut self,
        index: usize,
        want: bool,
        world: &mut World,
        now_ns: u64,
        out: &mut Outcome,
    ) {
        let member = &mut self.downstream[index];
        if member.disabled != want {
            member.disabled = want;
            match want {
                true => {
                    self.downstream_disabled += 1;
                    world.hold(&member.name, self.id);
                }
                false => {
                    self.downstream_disabled -= 1;
                    world.release(&member.name, self.id);
                }
            }
        }
        let observation = world.interfaces.get(&member.name);
        refresh_member(self.id, Role::Downstream, member, observation, now_ns, out);
    }

    /// Takes the holds the world records for this group as its members' flags (after a
    /// configuration change or a restore).
    pub(super) fn adopt_holds(&mut self, world: &World) {
        self.downstream_disabled = 0;
        for member in &mut self.downstream {
            member.disabled = world.holds(&member.name, self.id);
            self.downstream_disabled += u32::from(member.disabled);
        }
    }

    /// Manual recovery: releases what the group holds beyond what its status calls for.
    pub(super) fn clear(&mut self, world: &mut World, now_ns: u64, out: &mut Outcome) {
        self.sync_downstreams(true, world, now_ns, out);
    }

    /// An upstream's observation changed.
    pub(super) fn sync_upstream(
        &mut self,
        index: usize,
        world: &mut World,
        now_ns: u64,
        out: &mut Outcome,
    ) {
        let target = self.hold_target();
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
        let status = self.status;
        self.evaluate(world, now_ns, out);
        // Without a flip, only `disable_links` makes the hold target follow the upstreams.
        if self.status == status && self.hold_target() != target {
            self.sync_downstreams(false, world, now_ns, out);
        }
    }
}
