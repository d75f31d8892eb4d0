//! Random event sequences against a model of what the engine must hold: several groups sharing
//! upstreams and downstreams, count and percentage thresholds with hysteresis, `disable_links`,
//! manual recovery and its clear, and restarts (a new engine restored from the persisted set).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::config::{Threshold, ThresholdKind};
use crate::state::{Action, GroupStatus, MemberStatus, PendingAction};

const INTERFACES: usize = 8;
const GROUPS: GroupId = 3;
const MS: u64 = 1_000_000;

fn name(index: usize) -> String {
    format!("if{index}")
}

#[derive(Debug, Clone)]
enum Event {
    Observe {
        interface: usize,
        exists: bool,
        admin_up: bool,
        carrier: bool,
        disabled_by_tether: bool,
    },
    Remove(usize),
    Config(Vec<GroupConfig>),
    /// Let time pass (ms) and fire what expired.
    Advance(u64),
    /// Manual recovery of group index+1.
    Clear(GroupId),
    /// A new engine, restored from the old one's disabled set, observing what the model knows.
    Restart,
}

fn delay() -> impl Strategy<Value = Duration> {
    prop_oneof![Just(0u64), Just(500), Just(1000)].prop_map(Duration::from_millis)
}

fn threshold() -> impl Strategy<Value = Option<Threshold>> {
    prop_oneof![
        2 => Just(None),
        1 => (1u16..=3, 0u16..=2).prop_map(|(down, extra)| Some(Threshold {
            kind: ThresholdKind::Count,
            down,
            up: down + extra,
        })),
        1 => (prop_oneof![Just(1u16), Just(34), Just(50), Just(67), Just(100)], 0u16..=50)
            .prop_map(|(down, extra)| Some(Threshold {
                kind: ThresholdKind::Percentage,
                down,
                up: (down + extra).min(100),
            })),
    ]
}

#[derive(Debug, Clone)]
struct Knobs {
    present: bool,
    enabled: bool,
    min: u16,
    threshold: Option<Threshold>,
    up_delay: Duration,
    down_delay: Duration,
    disable_links: Option<u16>,
    auto_recover: bool,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        (any::<bool>(), any::<bool>(), 1u16..=3, threshold()),
        (delay(), delay()),
        (
            proptest::option::weighted(0.3, 1u16..=2),
            proptest::bool::weighted(0.7),
        ),
    )
        .prop_map(
            |((present, enabled, min, threshold), (up_delay, down_delay), (links, auto))| Knobs {
                present,
                enabled,
                min,
                threshold,
                up_delay,
                down_delay,
                disable_links: links,
                auto_recover: auto,
            },
        )
}

/// A valid configuration: each interface upstream of some groups, or downstream of some.
fn config() -> impl Strategy<Value = Vec<GroupConfig>> {
    let groups = proptest::collection::vec(knobs(), GROUPS as usize);
    // Per interface: none, or (the groups it is in as a bit set, downstream?).
    let placement = proptest::collection::vec(
        proptest::option::weighted(0.8, (1u8..8, any::<bool>())),
        INTERFACES,
    );
    (groups, placement).prop_map(|(groups, placement)| {
        let mut configs: Vec<GroupConfig> = Vec::new();
        for (index, knobs) in groups.into_iter().enumerate() {
            let Ok(offset) = GroupId::try_from(index) else {
                continue;
            };
            if !knobs.present && index > 0 {
                continue;
            }
            let mut group = GroupConfig {
                enabled: knobs.enabled || index == 0,
                min_upstream_up: knobs.min,
                threshold: knobs.threshold,
                up_delay: knobs.up_delay,
                down_delay: knobs.down_delay,
                disable_links: knobs.disable_links,
                auto_recover: knobs.auto_recover,
                ..GroupConfig::new(offset + 1)
            };
            for (interface, place) in placement.iter().enumerate() {
                if let Some((groups, downstream)) = place
                    && groups & (1 << offset) != 0
                {
                    let list = match downstream {
                        true => &mut group.downstream,
                        false => &mut group.upstream,
                    };
                    list.push(name(interface));
                }
            }
            configs.push(group);
        }
        configs
    })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => (0..INTERFACES, any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(interface, exists, admin_up, carrier, disabled_by_tether)| Event::Observe {
                interface,
                exists: exists || interface % 2 == 0,
                admin_up: admin_up || interface % 3 == 0,
                carrier,
                disabled_by_tether: disabled_by_tether && interface % 4 == 0,
            }
        ),
        1 => (0..INTERFACES).prop_map(Event::Remove),
        1 => config().prop_map(Event::Config),
        2 => (0u64..300).prop_map(Event::Advance),
        1 => (0u64..1500).prop_map(Event::Advance),
        1 => (1..=GROUPS).prop_map(Event::Clear),
        1 => Just(Event::Restart),
    ]
}

/// What the caller knows: the observations and the configuration it gave.
#[derive(Default)]
struct Model {
    interfaces: HashMap<String, InterfaceObservation>,
    config: Vec<GroupConfig>,
    /// Replayed from the actions: what the engine announced it disabled.
    announced: BTreeMap<String, GroupId>,
    /// Per group: whether it should be down, since when, and whether that moment is known
    /// (a configuration change or a restart makes it unknown until the next change).
    wanted: HashMap<GroupId, Wanted>,
    /// Groups that have been up since they were created (the up delay applies to them only).
    been_up: BTreeSet<GroupId>,
}

#[derive(Debug, Clone, Copy)]
struct Wanted {
    down: bool,
    since: u64,
    timed: bool,
}

impl Model {
    fn eligible(&self, interface: &str) -> bool {
        (self.interfaces.get(interface)).is_some_and(|o| o.exists && !o.operator_shut())
    }

    /// Applies one outcome's actions, checking each against what was announced before.
    fn replay(&mut self, actions: &[Action]) -> Result<(), TestCaseError> {
        for action in actions {
            match action {
                Action::Enable { interface, group } => {
                    let had = self.announced.remove(interface);
                    prop_assert_eq!(
                        had,
                        Some(*group),
                        "Enable of {} it did not disable",
                        interface
                    );
                }
                Action::Disable { interface, group } => {
                    let had = self.announced.insert(interface.clone(), *group);
                    prop_assert_ne!(had, Some(*group), "{} disabled twice", interface);
                    prop_assert!(
                        self.eligible(interface),
                        "disabled ineligible {}",
                        interface
                    );
                }
            }
        }
        Ok(())
    }

    /// The engine may forget a disable silently only for a missing or operator-shut interface;
    /// apart from that its set must be what its actions announced.
    fn check_disabled(&mut self, engine: &Engine) -> Result<(), TestCaseError> {
        let actual: BTreeMap<String, GroupId> = (engine.disabled())
            .map(|(name, group)| (name.to_owned(), group))
            .collect();
        let forgotten: Vec<String> = (self.announced.keys())
            .filter(|name| !actual.contains_key(*name))
            .cloned()
            .collect();
        for name in forgotten {
            prop_assert!(!self.eligible(&name), "{} forgotten while eligible", name);
            self.announced.remove(&name);
        }
        prop_assert_eq!(&actual, &self.announced);
        Ok(())
    }

    fn upstream_up(&self, group: &GroupConfig) -> usize {
        (group.upstream.iter())
            .filter(|name| (self.interfaces.get(*name)).is_some_and(|o| o.oper_up()))
            .count()
    }

    /// Should the group be down, given the status it has (hysteresis)?
    fn group_down(&self, group: &GroupConfig, status: GroupStatus) -> bool {
        let threshold = group.effective_threshold();
        let limit = usize::from(match status {
            GroupStatus::Up => threshold.down,
            GroupStatus::Down => threshold.up,
        });
        let up = self.upstream_up(group);
        let meets = match threshold.kind {
            ThresholdKind::Count => up >= limit,
            ThresholdKind::Percentage => up * 100 >= limit * group.upstream.len(),
        };
        group.enabled && !group.upstream.is_empty() && !meets
    }

    /// How many downstreams the group must hold with this status.
    fn target(&self, group: &GroupConfig, status: GroupStatus) -> usize {
        if !group.enabled || group.upstream.is_empty() {
            return 0;
        }
        match (status, group.disable_links) {
            (GroupStatus::Down, _) => group.downstream.len(),
            (GroupStatus::Up, None) => 0,
            (GroupStatus::Up, Some(links)) => {
                let failed = group.upstream.len() - self.upstream_up(group);
                group.downstream.len().min(usize::from(links) * failed)
            }
        }
    }

    /// The first `target` eligible downstreams: what the group holds at least (exactly, with
    /// automatic recovery or right after a clear).
    fn required(&self, group: &GroupConfig, status: GroupStatus) -> BTreeSet<String> {
        (group.downstream.iter())
            .filter(|name| self.eligible(name))
            .take(self.target(group, status))
            .cloned()
            .collect()
    }

    /// Updates what each group should be, after an event at `now`, judged from the status each
    /// group had before it.
    fn track_wanted(&mut self, before: &HashMap<GroupId, GroupStatus>, now: u64, reset: bool) {
        let mut wanted = HashMap::new();
        for group in &self.config {
            let status = before.get(&group.id).copied().unwrap_or(GroupStatus::Up);
            let down = self.group_down(group, status);
            let previous = self.wanted.get(&group.id).copied();
            let entry = match previous {
                Some(previous) if previous.down == down && !reset => previous,
                _ => Wanted {
                    down,
                    since: now,
                    timed: !reset,
                },
            };
            wanted.insert(group.id, entry);
        }
        self.wanted = wanted;
    }

    /// A flip happens after its delay, never before, and (once ticked) never late.
    fn check_timing(
        &self,
        before: &HashMap<GroupId, GroupStatus>,
        engine: &Engine,
        now: u64,
        ticked: bool,
    ) -> Result<(), TestCaseError> {
        for group in &self.config {
            let Some(wanted) = self.wanted.get(&group.id).filter(|w| w.timed) else {
                continue;
            };
            let delay = match (wanted.down, self.been_up.contains(&group.id)) {
                (true, _) => super::group::duration_ns(group.down_delay),
                (false, true) => super::group::duration_ns(group.up_delay),
                // Never up since it was created: no up delay (SONiC, at start-up).
                (false, false) => 0,
            };
            let status = engine.group_state(group.id).map(|state| state.status);
            let target = match wanted.down {
                true => GroupStatus::Down,
                false => GroupStatus::Up,
            };
            let elapsed = now - wanted.since;
            if before.get(&group.id) != status.as_ref() && status.is_some() {
                prop_assert_eq!(
                    status,
                    Some(target),
                    "group {} flipped the wrong way",
                    group.id
                );
                prop_assert!(
                    elapsed >= delay,
                    "group {} flipped {} ns early",
                    group.id,
                    delay - elapsed
                );
            }
            if elapsed >= delay && (ticked || delay == 0) {
                prop_assert_eq!(status, Some(target), "group {} late", group.id);
            }
        }
        Ok(())
    }

    /// Every group holds at least its required downstreams, only eligible ones, and (with
    /// automatic recovery, or `exact` for the groups just cleared) nothing more; an interface is
    /// disabled exactly while some group holds it, attributed to the lowest.
    fn check_holds(&self, engine: &Engine, exact: &BTreeSet<GroupId>) -> Result<(), TestCaseError> {
        let mut holders: BTreeMap<String, BTreeSet<GroupId>> = BTreeMap::new();
        for group in &self.config {
            let state = engine.group_state(group.id).expect("configured group");
            let detail = engine.group_detail(group.id).expect("configured group");
            let held: BTreeSet<String> = (detail.downstream.iter())
                .filter(|m| m.status == MemberStatus::Disabled)
                .map(|m| m.interface.clone())
                .collect();
            let required = self.required(group, state.status);
            prop_assert!(
                held.is_superset(&required),
                "group {} holds {:?}, must hold {:?}",
                group.id,
                held,
                required
            );
            for name in &held {
                prop_assert!(
                    self.eligible(name),
                    "group {} holds ineligible {}",
                    group.id,
                    name
                );
                holders.entry(name.clone()).or_default().insert(group.id);
            }
            if group.auto_recover || exact.contains(&group.id) {
                prop_assert_eq!(&held, &required, "group {} holds extra", group.id);
            }
            let awaiting = !group.auto_recover
                && group.enabled
                && !group.upstream.is_empty()
                && held.len() > self.target(group, state.status);
            prop_assert_eq!(
                state.awaiting_clear,
                awaiting,
                "group {} awaiting-clear",
                group.id
            );
        }
        let attributed: BTreeMap<String, GroupId> = (holders.into_iter())
            .filter_map(|(name, groups)| Some((name, *groups.first()?)))
            .collect();
        let actual: BTreeMap<String, GroupId> = (engine.disabled())
            .map(|(name, group)| (name.to_owned(), group))
            .collect();
        prop_assert_eq!(actual, attributed);
        Ok(())
    }

    /// Once no delay is pending, each group's status is one its thresholds allow.
    fn check_settled_status(&self, engine: &Engine) -> Result<(), TestCaseError> {
        for state in engine.groups_state() {
            let group = (self.config.iter())
                .find(|g| g.id == state.id)
                .expect("configured");
            prop_assert_eq!(
                self.group_down(group, state.status),
                state.status == GroupStatus::Down,
                "group {} settled as {:?}",
                state.id,
                state.status
            );
        }
        Ok(())
    }
}

fn statuses(engine: &Engine) -> HashMap<GroupId, GroupStatus> {
    (engine.groups_state())
        .map(|state| (state.id, state.status))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn enables_only_what_it_disabled_and_settles_on_the_down_groups(
        events in proptest::collection::vec(event(), 1..60),
    ) {
        let mut engine = Engine::new();
        let mut model = Model::default();
        let mut now = 0u64;
        for event in events {
            let before = statuses(&engine);
            let reset = matches!(event, Event::Config(_) | Event::Restart);
            let ticked = matches!(event, Event::Advance(_));
            let mut cleared = BTreeSet::new();
            let out = match event {
                Event::Observe { interface, exists, admin_up, carrier, disabled_by_tether } => {
                    let observation = InterfaceObservation {
                        name: name(interface),
                        exists,
                        admin_up,
                        carrier,
                        disabled_by_tether,
                    };
                    model.interfaces.insert(observation.name.clone(), observation.clone());
                    engine.observe(observation, now)
                }
                Event::Remove(interface) => {
                    model.interfaces.remove(&name(interface));
                    engine.remove_interface(&name(interface), now)
                }
                Event::Config(groups) => {
                    let old: BTreeSet<GroupId> = model.config.iter().map(|g| g.id).collect();
                    model.been_up.retain(|id| groups.iter().any(|g| g.id == *id));
                    model.config = groups.clone();
                    let out = engine.set_config(groups, now)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    // A new group's first status needs no delay; it counts as up if it is.
                    for state in engine.groups_state() {
                        if !old.contains(&state.id) && state.status == GroupStatus::Down {
                            model.been_up.remove(&state.id);
                        }
                    }
                    out
                }
                Event::Advance(ms) => {
                    now += ms * MS;
                    engine.tick(now)
                }
                Event::Clear(id) => match engine.clear(id, now) {
                    Some(out) => {
                        cleared.insert(id);
                        out
                    }
                    None => {
                        prop_assert!(model.config.iter().all(|g| g.id != id));
                        Outcome::default()
                    }
                },
                Event::Restart => {
                    let persisted: Vec<(String, GroupId)> =
                        engine.disabled().map(|(name, group)| (name.to_owned(), group)).collect();
                    engine = Engine::new();
                    let mut out = engine.restore_disabled(persisted, now);
                    prop_assert!(out.actions.is_empty(), "restore before config acted");
                    let mut observed: Vec<&InterfaceObservation> = model.interfaces.values().collect();
                    observed.sort_by(|a, b| a.name.cmp(&b.name));
                    for observation in observed {
                        let step = engine.observe(observation.clone(), now);
                        prop_assert!(step.actions.is_empty(), "observe before config acted");
                    }
                    let step = engine.set_config(model.config.clone(), now)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    out.actions.extend(step.actions);
                    model.been_up.clear();
                    out
                }
            };
            model.replay(&out.actions)?;
            model.check_disabled(&engine)?;
            let after = statuses(&engine);
            model.track_wanted(&before, now, reset);
            if !reset {
                model.check_timing(&before, &engine, now, ticked)?;
            }
            for (id, status) in &after {
                if *status == GroupStatus::Up {
                    model.been_up.insert(*id);
                }
            }
            model.check_holds(&engine, &cleared)?;
            let earliest = engine.groups_state().filter_map(|state| state.pending_until_ns).min();
            prop_assert_eq!(engine.next_deadline(), earliest);
            for state in engine.groups_state() {
                prop_assert_eq!(state.pending_action == PendingAction::None, state.pending_until_ns.is_none());
                let detail = engine.group_detail(state.id).expect("group listed");
                let dis = detail.downstream.iter().filter(|m| m.status == MemberStatus::Disabled).count();
                prop_assert_eq!(dis, state.downstream_disabled as usize);
            }
        }

        // Let every delay expire and clear every group: no timer is left, each status is one
        // its thresholds allow, and each group holds exactly what its status calls for.
        now += 10_000 * MS;
        let out = engine.tick(now);
        model.replay(&out.actions)?;
        model.check_disabled(&engine)?;
        prop_assert_eq!(engine.next_deadline(), None);
        model.check_settled_status(&engine)?;
        let ids: BTreeSet<GroupId> = model.config.iter().map(|g| g.id).collect();
        for id in &ids {
            let out = engine.clear(*id, now).expect("configured group");
            model.replay(&out.actions)?;
        }
        model.check_disabled(&engine)?;
        model.check_holds(&engine, &ids)?;
    }
}
