//! Random event sequences against a model of what the engine must hold.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::state::{MemberStatus, PendingAction};

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
}

fn delay() -> impl Strategy<Value = Duration> {
    prop_oneof![Just(0u64), Just(500), Just(1000)].prop_map(Duration::from_millis)
}

/// A valid configuration: each interface in at most one group, in one role.
fn config() -> impl Strategy<Value = Vec<GroupConfig>> {
    let groups = proptest::collection::vec(
        (any::<bool>(), any::<bool>(), 1u16..=3, delay(), delay()),
        GROUPS as usize,
    );
    // Per interface: none, or (group index, downstream?).
    let placement = proptest::collection::vec(
        proptest::option::weighted(0.8, (0..GROUPS, any::<bool>())),
        INTERFACES,
    );
    (groups, placement).prop_map(|(groups, placement)| {
        let mut configs: Vec<GroupConfig> = Vec::new();
        for (index, (present, enabled, min, up_delay, down_delay)) in groups.into_iter().enumerate()
        {
            let Ok(offset) = GroupId::try_from(index) else {
                continue;
            };
            if !present && index > 0 {
                continue;
            }
            let id = offset + 1;
            let mut group = GroupConfig {
                enabled: enabled || index == 0,
                min_upstream_up: min,
                up_delay,
                down_delay,
                ..GroupConfig::new(id)
            };
            for (interface, place) in placement.iter().enumerate() {
                if let Some((group_index, downstream)) = place
                    && *group_index == offset
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
    /// (a configuration change makes it unknown until the next change of the upstreams).
    wanted: HashMap<GroupId, Wanted>,
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

    fn group_down(&self, group: &GroupConfig) -> bool {
        let up = (group.upstream.iter())
            .filter(|name| (self.interfaces.get(*name)).is_some_and(|o| o.oper_up()))
            .count();
        group.enabled && !group.upstream.is_empty() && up < usize::from(group.min_upstream_up)
    }

    /// Updates what each group should be, after an event at `now`.
    fn track_wanted(&mut self, now: u64, config_changed: bool) {
        let mut wanted = HashMap::new();
        for group in &self.config {
            let down = self.group_down(group);
            let previous = self.wanted.get(&group.id).copied();
            let entry = match previous {
                Some(previous) if previous.down == down && !config_changed => previous,
                _ => Wanted {
                    down,
                    since: now,
                    timed: !config_changed,
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
            let delay = match wanted.down {
                true => super::group::duration_ns(group.down_delay),
                false => super::group::duration_ns(group.up_delay),
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

    /// With no delay pending: exactly the eligible downstreams of down groups are disabled.
    fn expected_settled(&self) -> BTreeSet<(String, GroupId)> {
        let mut expected = BTreeSet::new();
        for group in &self.config {
            if self.group_down(group) {
                for name in group.downstream.iter().filter(|name| self.eligible(name)) {
                    expected.insert((name.clone(), group.id));
                }
            }
        }
        expected
    }
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
            let before: HashMap<GroupId, GroupStatus> =
                engine.groups_state().map(|state| (state.id, state.status)).collect();
            let config_changed = matches!(event, Event::Config(_));
            let ticked = matches!(event, Event::Advance(_));
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
                    model.config = groups.clone();
                    engine.set_config(groups, now).map_err(|e| TestCaseError::fail(e.to_string()))?
                }
                Event::Advance(ms) => {
                    now += ms * MS;
                    engine.tick(now)
                }
            };
            model.replay(&out.actions)?;
            model.check_disabled(&engine)?;
            model.track_wanted(now, config_changed);
            if !config_changed {
                model.check_timing(&before, &engine, now, ticked)?;
            }
            let earliest = engine.groups_state().filter_map(|state| state.pending_until_ns).min();
            prop_assert_eq!(engine.next_deadline(), earliest);
            for state in engine.groups_state() {
                prop_assert_eq!(state.pending_action == PendingAction::None, state.pending_until_ns.is_none());
                let detail = engine.group_detail(state.id).expect("group listed");
                let dis = detail.downstream.iter().filter(|m| m.status == MemberStatus::Disabled).count();
                prop_assert_eq!(dis, state.downstream_disabled as usize);
            }
        }

        // Let every delay expire: no timer is left and the set is exactly the down groups'.
        now += 10_000 * MS;
        let out = engine.tick(now);
        model.replay(&out.actions)?;
        model.check_disabled(&engine)?;
        prop_assert_eq!(engine.next_deadline(), None);
        let actual: BTreeSet<(String, GroupId)> =
            engine.disabled().map(|(name, group)| (name.to_owned(), group)).collect();
        prop_assert_eq!(actual, model.expected_settled());
        for state in engine.groups_state() {
            let group = model.config.iter().find(|g| g.id == state.id).expect("configured");
            let expected = match model.group_down(group) {
                true => GroupStatus::Down,
                false => GroupStatus::Up,
            };
            prop_assert_eq!(state.status, expected, "group {}", state.id);
        }
    }
}
