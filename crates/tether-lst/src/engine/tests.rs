use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::state::{MemberStatus, PendingAction};

const SEC: u64 = 1_000_000_000;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

fn group(id: GroupId, upstream: &[&str], downstream: &[&str]) -> GroupConfig {
    GroupConfig {
        upstream: names(upstream),
        downstream: names(downstream),
        ..GroupConfig::new(id)
    }
}

/// An engine that has seen every named interface up, configured with `groups`.
fn engine_with(groups: Vec<GroupConfig>, up: &[&str]) -> Engine {
    let mut engine = Engine::new();
    for name in up {
        engine.observe(InterfaceObservation::up(*name), 0);
    }
    let out = engine.set_config(groups, 0).expect("valid config");
    assert!(out.actions.is_empty(), "all up: {:?}", out.actions);
    engine
}

fn disable(interface: &str, group: GroupId) -> Action {
    Action::Disable {
        interface: interface.to_owned(),
        group,
    }
}

fn enable(interface: &str, group: GroupId) -> Action {
    Action::Enable {
        interface: interface.to_owned(),
        group,
    }
}

fn disabled_set(engine: &Engine) -> BTreeSet<(String, GroupId)> {
    (engine.disabled())
        .map(|(name, group)| (name.to_owned(), group))
        .collect()
}

fn status(engine: &Engine, id: GroupId) -> GroupStatus {
    engine.group_state(id).expect("group exists").status
}

fn member(engine: &Engine, interface: &str) -> MemberStatus {
    engine
        .member_state(interface)
        .expect("member exists")
        .status
}

// ===== going down and up =====

#[test]
fn goes_down_below_min_upstream_up_and_disables_downstreams() {
    // (upstreams, min_upstream_up, how many upstreams lose carrier, group down?)
    let cases = [
        (1, 1, 1, true),
        (2, 1, 1, false),
        (2, 1, 2, true),
        (3, 2, 1, false),
        (3, 2, 2, true),
        (4, 4, 1, true),
        (2, 3, 0, true), // more required than configured: never enough
    ];
    for (upstreams, min, lost, expect_down) in cases {
        let ups: Vec<String> = (0..upstreams).map(|i| format!("up{i}")).collect();
        let up_refs: Vec<&str> = ups.iter().map(String::as_str).collect();
        let all: Vec<&str> = up_refs.iter().copied().chain(["d1", "d2"]).collect();
        let config = GroupConfig {
            min_upstream_up: min,
            ..group(1, &up_refs, &["d1", "d2"])
        };
        let mut engine = Engine::new();
        for name in &all {
            engine.observe(InterfaceObservation::up(*name), 0);
        }
        let mut actions = engine.set_config(vec![config], 0).expect("valid").actions;
        for name in up_refs.iter().take(lost) {
            actions.extend(
                engine
                    .observe(InterfaceObservation::no_carrier(*name), SEC)
                    .actions,
            );
        }
        let case = (upstreams, min, lost);
        if expect_down {
            assert_eq!(
                actions,
                vec![disable("d1", 1), disable("d2", 1)],
                "{case:?}"
            );
            assert_eq!(status(&engine, 1), GroupStatus::Down, "{case:?}");
        } else {
            assert!(actions.is_empty(), "{case:?}: {actions:?}");
            assert_eq!(status(&engine, 1), GroupStatus::Up, "{case:?}");
        }
        let state = engine.group_state(1).expect("group");
        assert_eq!(state.upstream_up as usize, upstreams - lost, "{case:?}");
        assert_eq!(state.upstream_total as usize, upstreams, "{case:?}");
    }
}

#[test]
fn upstream_counts_as_up_only_when_present_admin_up_with_carrier_and_not_disabled() {
    let cases = [
        (InterfaceObservation::up("u"), false),
        (InterfaceObservation::no_carrier("u"), true),
        (InterfaceObservation::admin_down("u"), true),
        (InterfaceObservation::missing("u"), true),
        (
            InterfaceObservation {
                disabled_by_tether: true,
                ..InterfaceObservation::up("u")
            },
            true,
        ),
    ];
    for (observation, expect_down) in cases {
        let mut engine = engine_with(vec![group(1, &["u"], &["d"])], &["u", "d"]);
        let out = engine.observe(observation.clone(), SEC);
        assert_eq!(!out.actions.is_empty(), expect_down, "{observation:?}");
    }
}

#[test]
fn reenables_when_enough_upstreams_are_up() {
    let config = GroupConfig {
        min_upstream_up: 2,
        ..group(1, &["u1", "u2"], &["d1", "d2"])
    };
    let mut engine = engine_with(vec![config], &["u1", "u2", "d1", "d2"]);
    let out = engine.observe(InterfaceObservation::no_carrier("u1"), SEC);
    assert_eq!(out.actions, vec![disable("d1", 1), disable("d2", 1)]);
    assert!(
        engine
            .observe(InterfaceObservation::no_carrier("u2"), 2 * SEC)
            .actions
            .is_empty()
    );
    // One back is not enough with min-upstream-up 2.
    assert!(
        engine
            .observe(InterfaceObservation::up("u1"), 3 * SEC)
            .actions
            .is_empty()
    );
    let out = engine.observe(InterfaceObservation::up("u2"), 4 * SEC);
    assert_eq!(out.actions, vec![enable("d1", 1), enable("d2", 1)]);
    assert!(disabled_set(&engine).is_empty());
    let state = engine.group_state(1).expect("group");
    assert_eq!(state.status, GroupStatus::Up);
    assert_eq!(state.transitions, 2);
    assert_eq!(state.last_change_ns, 4 * SEC);
}

// ===== delays =====

#[test]
fn up_delay_waits_exactly_the_delay() {
    let config = GroupConfig {
        up_delay: Duration::from_secs(5),
        ..group(1, &["u"], &["d"])
    };
    let mut engine = engine_with(vec![config], &["u", "d"]);
    assert_eq!(
        engine
            .observe(InterfaceObservation::no_carrier("u"), SEC)
            .actions,
        vec![disable("d", 1)]
    );
    assert!(
        engine
            .observe(InterfaceObservation::up("u"), 10 * SEC)
            .actions
            .is_empty()
    );
    let until = 15 * SEC;
    assert_eq!(engine.next_deadline(), Some(until));
    let state = engine.group_state(1).expect("group");
    assert_eq!(
        (state.status, state.pending_action, state.pending_until_ns),
        (GroupStatus::Down, PendingAction::Enable, Some(until))
    );
    assert!(
        engine.tick(until - 1).is_empty(),
        "1 ns early must do nothing"
    );
    assert_eq!(member(&engine, "d"), MemberStatus::Disabled);
    assert_eq!(engine.tick(until).actions, vec![enable("d", 1)]);
    assert_eq!(engine.next_deadline(), None);
    let state = engine.group_state(1).expect("group");
    assert_eq!(
        (state.status, state.pending_action),
        (GroupStatus::Up, PendingAction::None)
    );
}

#[test]
fn down_delay_fires_exactly_at_the_deadline() {
    let config = GroupConfig {
        down_delay: Duration::from_millis(300),
        ..group(1, &["u"], &["d"])
    };
    let mut engine = engine_with(vec![config], &["u", "d"]);
    assert!(
        engine
            .observe(InterfaceObservation::no_carrier("u"), SEC)
            .actions
            .is_empty()
    );
    let until = SEC + 300_000_000;
    assert_eq!(engine.next_deadline(), Some(until));
    assert!(engine.tick(until - 1).actions.is_empty());
    assert_eq!(engine.tick(until).actions, vec![disable("d", 1)]);
    assert_eq!(status(&engine, 1), GroupStatus::Down);
}

#[test]
fn down_delay_with_recovery_inside_the_delay_does_nothing() {
    let config = GroupConfig {
        down_delay: Duration::from_secs(2),
        ..group(1, &["u"], &["d"])
    };
    let mut engine = engine_with(vec![config], &["u", "d"]);
    let out = engine.observe(InterfaceObservation::no_carrier("u"), SEC);
    assert!(out.actions.is_empty());
    assert_eq!(
        engine.group_state(1).expect("group").pending_action,
        PendingAction::Disable
    );
    let out = engine.observe(InterfaceObservation::up("u"), 2 * SEC);
    assert!(out.actions.is_empty());
    assert_eq!(engine.next_deadline(), None);
    assert!(engine.tick(100 * SEC).is_empty());
    let state = engine.group_state(1).expect("group");
    assert_eq!((state.status, state.transitions), (GroupStatus::Up, 0));
    assert_eq!(state.pending_action, PendingAction::None);
}

#[test]
fn a_second_loss_inside_the_down_delay_does_not_restart_it() {
    let config = GroupConfig {
        down_delay: Duration::from_secs(2),
        ..group(1, &["u1", "u2"], &["d"])
    };
    let mut engine = engine_with(vec![config], &["u1", "u2", "d"]);
    engine.observe(InterfaceObservation::no_carrier("u1"), SEC);
    engine.observe(InterfaceObservation::no_carrier("u2"), SEC);
    assert!(
        engine
            .observe(InterfaceObservation::admin_down("u2"), 2 * SEC)
            .is_empty()
    );
    assert_eq!(engine.next_deadline(), Some(3 * SEC));
    assert_eq!(engine.tick(3 * SEC).actions, vec![disable("d", 1)]);
}

// ===== what is never disabled =====

#[test]
fn group_without_upstream_members_never_disables() {
    // Downstreams configured first, as the reference warns against: nothing happens.
    let cases = [
        (GroupConfig::new(1), "no members"),
        (group(1, &[], &["d1", "d2"]), "downstreams only"),
        (
            GroupConfig {
                min_upstream_up: 5,
                ..group(1, &[], &["d1", "d2"])
            },
            "downstreams only, high threshold",
        ),
    ];
    for (config, case) in cases {
        let mut engine = Engine::new();
        engine.observe(InterfaceObservation::up("d1"), 0);
        let out = engine.set_config(vec![config], 0).expect("valid");
        assert!(out.actions.is_empty(), "{case}");
        let out = engine.observe(InterfaceObservation::up("d2"), SEC);
        assert!(out.actions.is_empty(), "{case}");
        assert_eq!(status(&engine, 1), GroupStatus::Up, "{case}");
        assert!(disabled_set(&engine).is_empty(), "{case}");
    }
}

#[test]
fn missing_downstream_is_disabled_when_it_appears_in_a_down_group() {
    let mut engine = engine_with(vec![group(1, &["u"], &["d", "late"])], &["u", "d"]);
    assert_eq!(
        engine
            .observe(InterfaceObservation::no_carrier("u"), SEC)
            .actions,
        vec![disable("d", 1)]
    );
    assert_eq!(member(&engine, "late"), MemberStatus::Down);
    let out = engine.observe(InterfaceObservation::up("late"), 2 * SEC);
    assert_eq!(out.actions, vec![disable("late", 1)]);
    // It leaves again: nothing to enable, and it starts clean when it comes back.
    assert!(engine.remove_interface("late", 3 * SEC).actions.is_empty());
    assert_eq!(engine.disabled_by("late"), None);
    assert_eq!(
        engine
            .observe(InterfaceObservation::up("late"), 4 * SEC)
            .actions,
        vec![disable("late", 1)]
    );
}

// ===== member status =====

#[test]
fn member_status_distinguishes_dwn_from_dis() {
    let mut engine = engine_with(
        vec![group(1, &["u"], &["ok", "nocarrier", "shut", "gone"])],
        &["u", "ok", "nocarrier", "shut"],
    );
    engine.observe(InterfaceObservation::no_carrier("nocarrier"), SEC);
    engine.observe(InterfaceObservation::admin_down("shut"), SEC);
    let expect_up = [
        ("u", MemberStatus::Up),
        ("ok", MemberStatus::Up),
        ("nocarrier", MemberStatus::Down),
        ("shut", MemberStatus::Down),
        ("gone", MemberStatus::Down),
    ];
    for (name, expected) in expect_up {
        assert_eq!(member(&engine, name), expected, "{name} while up");
    }
    let out = engine.observe(InterfaceObservation::no_carrier("u"), 2 * SEC);
    assert_eq!(out.actions, vec![disable("ok", 1), disable("nocarrier", 1)]);
    let expect_down = [
        ("u", MemberStatus::Down),
        ("ok", MemberStatus::Disabled),
        ("nocarrier", MemberStatus::Disabled),
        ("shut", MemberStatus::Down),
        ("gone", MemberStatus::Down),
    ];
    for (name, expected) in expect_down {
        assert_eq!(member(&engine, name), expected, "{name} while down");
    }
    let abbreviations: Vec<&str> = (engine.group_detail(1).expect("group").downstream.iter())
        .map(|m| m.status.abbreviation())
        .collect();
    assert_eq!(abbreviations, ["Dis", "Dis", "Dwn", "Dwn"]);
    assert_eq!(
        engine.member_state("ok").expect("member").last_change_ns,
        2 * SEC
    );
    assert_eq!(engine.group_state(1).expect("group").downstream_disabled, 2);
}

// ===== releasing =====

#[test]
fn removing_a_group_reenables_what_it_disabled() {
    let mut engine = engine_with(
        vec![group(1, &["u1"], &["d1", "d2"]), group(2, &["u2"], &["d3"])],
        &["u1", "u2", "d1", "d2", "d3"],
    );
    engine.observe(InterfaceObservation::no_carrier("u1"), SEC);
    engine.observe(InterfaceObservation::no_carrier("u2"), SEC);
    let out = engine
        .set_config(vec![group(2, &["u2"], &["d3"])], 2 * SEC)
        .expect("valid");
    assert_eq!(out.actions, vec![enable("d1", 1), enable("d2", 1)]);
    assert!(out.changes.contains(&StateChange::GroupRemoved {
        at_ns: 2 * SEC,
        group: 1
    }));
    assert_eq!(
        disabled_set(&engine),
        BTreeSet::from([("d3".to_owned(), 2)])
    );
    assert!(engine.group_state(1).is_none());
}

#[test]
fn removing_a_downstream_member_reenables_it() {
    let mut engine = engine_with(vec![group(1, &["u"], &["d1", "d2"])], &["u", "d1", "d2"]);
    engine.observe(InterfaceObservation::no_carrier("u"), SEC);
    let out = engine
        .set_config(vec![group(1, &["u"], &["d1"])], 2 * SEC)
        .expect("valid");
    assert_eq!(out.actions, vec![enable("d2", 1)]);
    assert!(out.changes.contains(&StateChange::MemberRemoved {
        at_ns: 2 * SEC,
        group: 1,
        role: Role::Downstream,
        interface: "d2".to_owned(),
    }));
    assert_eq!(status(&engine, 1), GroupStatus::Down);
    assert_eq!(member(&engine, "d1"), MemberStatus::Disabled);
    assert!(engine.member_state("d2").is_none());
}

#[test]
fn disabling_the_group_releases_and_stops_tracking() {
    let config = GroupConfig {
        up_delay: Duration::from_secs(30),
        ..group(1, &["u"], &["d1", "d2"])
    };
    let mut engine = engine_with(vec![config.clone()], &["u", "d1", "d2"]);
    engine.observe(InterfaceObservation::no_carrier("u"), SEC);
    let off = GroupConfig {
        enabled: false,
        ..config.clone()
    };
    let out = engine.set_config(vec![off], 2 * SEC).expect("valid");
    // Not held back by the up delay.
    assert_eq!(out.actions, vec![enable("d1", 1), enable("d2", 1)]);
    let state = engine.group_state(1).expect("group");
    assert_eq!((state.enabled, state.status), (false, GroupStatus::Up));
    // Stopped tracking: a further loss does nothing.
    engine.observe(InterfaceObservation::up("u"), 3 * SEC);
    assert!(
        engine
            .observe(InterfaceObservation::no_carrier("u"), 4 * SEC)
            .actions
            .is_empty()
    );
    // Enabled again while the upstream is down: tracks again at once.
    let out = engine.set_config(vec![config], 5 * SEC).expect("valid");
    assert_eq!(out.actions, vec![disable("d1", 1), disable("d2", 1)]);
}

#[test]
fn operator_shut_downstream_is_never_reenabled() {
    // Shut before the group goes down: never disabled, never enabled, shown Dwn throughout.
    let mut engine = engine_with(vec![group(1, &["u"], &["d1", "d2"])], &["u", "d1", "d2"]);
    engine.observe(InterfaceObservation::admin_down("d2"), SEC);
    let out = engine.observe(InterfaceObservation::no_carrier("u"), 2 * SEC);
    assert_eq!(out.actions, vec![disable("d1", 1)]);
    assert_eq!(member(&engine, "d2"), MemberStatus::Down);
    let out = engine.observe(InterfaceObservation::up("u"), 3 * SEC);
    assert_eq!(out.actions, vec![enable("d1", 1)]);
    assert_eq!(member(&engine, "d2"), MemberStatus::Down);

    // Shut by the operator while Tether had it disabled (the dataplane reports admin down and
    // Tether's disable gone): forgotten, not enabled on recovery.
    engine.observe(InterfaceObservation::no_carrier("u"), 4 * SEC);
    assert_eq!(engine.disabled_by("d1"), Some(1));
    let out = engine.observe(InterfaceObservation::admin_down("d1"), 5 * SEC);
    assert!(out.actions.is_empty());
    assert_eq!(engine.disabled_by("d1"), None);
    let out = engine.observe(InterfaceObservation::up("u"), 6 * SEC);
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    assert_eq!(member(&engine, "d1"), MemberStatus::Down);
}

#[test]
fn tethers_own_admin_down_is_not_taken_for_the_operators() {
    // Without protodown Tether disables with admin down; the dataplane says it was Tether.
    let mut engine = engine_with(vec![group(1, &["u"], &["d"])], &["u", "d"]);
    engine.observe(InterfaceObservation::no_carrier("u"), SEC);
    let ours = InterfaceObservation {
        disabled_by_tether: true,
        ..InterfaceObservation::admin_down("d")
    };
    assert!(engine.observe(ours, 2 * SEC).actions.is_empty());
    assert_eq!(engine.disabled_by("d"), Some(1));
    assert_eq!(
        engine
            .observe(InterfaceObservation::up("u"), 3 * SEC)
            .actions,
        vec![enable("d", 1)]
    );
}

// ===== boot =====

#[test]
fn restore_at_boot_with_the_group_still_down_emits_no_actions() {
    let mut engine = Engine::new();
    let restored = [("d1".to_owned(), 1), ("d2".to_owned(), 1)];
    assert!(engine.restore_disabled(restored.clone(), 0).is_empty());
    for observation in [
        InterfaceObservation::no_carrier("u"),
        InterfaceObservation {
            disabled_by_tether: true,
            ..InterfaceObservation::no_carrier("d1")
        },
        InterfaceObservation {
            disabled_by_tether: true,
            ..InterfaceObservation::no_carrier("d2")
        },
    ] {
        assert!(engine.observe(observation, 0).actions.is_empty());
    }
    let out = engine
        .set_config(vec![group(1, &["u"], &["d1", "d2"])], 0)
        .expect("valid");
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    assert_eq!(disabled_set(&engine), restored.into_iter().collect());
    assert_eq!(status(&engine, 1), GroupStatus::Down);
    assert_eq!(member(&engine, "d1"), MemberStatus::Disabled);
    // And it recovers as usual.
    let out = engine.observe(InterfaceObservation::up("u"), SEC);
    assert_eq!(out.actions, vec![enable("d1", 1), enable("d2", 1)]);
}

#[test]
fn restore_at_boot_with_the_group_up_enables_exactly_the_restored_set() {
    let mut engine = Engine::new();
    engine.restore_disabled([("d1".to_owned(), 1), ("d3".to_owned(), 1)], 0);
    for name in ["u", "d1", "d2", "d3"] {
        engine.observe(InterfaceObservation::up(name), 0);
    }
    let out = engine
        .set_config(vec![group(1, &["u"], &["d1", "d2", "d3"])], 0)
        .expect("valid");
    assert_eq!(out.actions, vec![enable("d1", 1), enable("d3", 1)]);
    assert!(disabled_set(&engine).is_empty());
}

#[test]
fn restore_releases_what_no_longer_belongs_to_its_group() {
    // Group 1 is down and owns d1; d9 belongs to nobody; d2 is in group 2 (up); group 7 is gone.
    let cases = [
        (vec![("d1", 1)], vec![]),
        (vec![("d1", 1), ("d9", 1)], vec![enable("d9", 1)]),
        (vec![("d1", 1), ("d2", 1)], vec![enable("d2", 1)]),
        (vec![("d1", 1), ("d2", 2)], vec![enable("d2", 2)]),
        // A move from a gone group to a down one: one Disable, never Enable then Disable.
        (vec![("d1", 7)], vec![disable("d1", 1)]),
    ];
    for (restored, expected) in cases {
        let mut engine = Engine::new();
        let entries = restored.iter().map(|(name, id)| ((*name).to_owned(), *id));
        assert!(engine.restore_disabled(entries, 0).is_empty());
        engine.observe(InterfaceObservation::no_carrier("u1"), 0);
        for name in ["u2", "d1", "d2", "d9"] {
            engine.observe(InterfaceObservation::up(name), 0);
        }
        let groups = vec![group(1, &["u1"], &["d1"]), group(2, &["u2"], &["d2"])];
        let out = engine.set_config(groups, 0).expect("valid");
        assert_eq!(out.actions, expected, "restored {restored:?}");
        assert_eq!(
            disabled_set(&engine),
            BTreeSet::from([("d1".to_owned(), 1)])
        );
    }
}

#[test]
fn restore_after_configuration_reconciles_at_once() {
    let mut engine = Engine::new();
    for name in ["u2", "d1", "d2"] {
        engine.observe(InterfaceObservation::up(name), 0);
    }
    // u1 was never seen: group 1 is down and disables d1 at once.
    let groups = vec![group(1, &["u1"], &["d1"]), group(2, &["u2"], &["d2"])];
    let out = engine.set_config(groups, 0).expect("valid");
    assert_eq!(out.actions, vec![disable("d1", 1)]);
    let out = engine.restore_disabled([("d1".to_owned(), 1), ("d2".to_owned(), 2)], SEC);
    assert_eq!(out.actions, vec![enable("d2", 2)]);
    assert_eq!(
        disabled_set(&engine),
        BTreeSet::from([("d1".to_owned(), 1)])
    );
}

#[test]
fn restore_of_an_interface_the_operator_shut_meanwhile_is_dropped_silently() {
    let mut engine = Engine::new();
    engine.restore_disabled([("d".to_owned(), 1)], 0);
    engine.observe(InterfaceObservation::up("u"), 0);
    engine.observe(InterfaceObservation::admin_down("d"), 0);
    let out = engine
        .set_config(vec![group(1, &["u"], &["d"])], 0)
        .expect("valid");
    assert!(out.actions.is_empty());
    assert!(disabled_set(&engine).is_empty());
}

// ===== configuration changes =====

#[test]
fn adding_a_downstream_to_a_down_group_disables_it() {
    let mut engine = engine_with(vec![group(1, &["u"], &["d1"])], &["u", "d1", "d2"]);
    engine.observe(InterfaceObservation::no_carrier("u"), SEC);
    let out = engine
        .set_config(vec![group(1, &["u"], &["d1", "d2"])], 2 * SEC)
        .expect("valid");
    assert_eq!(out.actions, vec![disable("d2", 1)]);
    assert_eq!(member(&engine, "d2"), MemberStatus::Disabled);
    let state = engine.group_state(1).expect("group");
    assert_eq!((state.downstream_disabled, state.transitions), (2, 1));
}

#[test]
fn moving_a_downstream_between_down_groups_does_not_flap() {
    let mut engine = engine_with(
        vec![group(1, &["u1"], &["d"]), group(2, &["u2"], &[])],
        &["u1", "u2", "d"],
    );
    engine.observe(InterfaceObservation::no_carrier("u1"), SEC);
    engine.observe(InterfaceObservation::no_carrier("u2"), SEC);
    let groups = vec![group(1, &["u1"], &[]), group(2, &["u2"], &["d"])];
    let out = engine.set_config(groups, 2 * SEC).expect("valid");
    assert_eq!(out.actions, vec![disable("d", 2)]);
    assert_eq!(engine.disabled_by("d"), Some(2));
}

#[test]
fn a_new_group_takes_its_status_without_delay_and_keeps_it_across_edits() {
    let config = GroupConfig {
        down_delay: Duration::from_secs(10),
        ..group(1, &["u"], &["d"])
    };
    let mut engine = Engine::new();
    engine.observe(InterfaceObservation::no_carrier("u"), 0);
    engine.observe(InterfaceObservation::up("d"), 0);
    let out = engine.set_config(vec![config.clone()], 0).expect("valid");
    assert_eq!(out.actions, vec![disable("d", 1)]);
    let edited = GroupConfig {
        up_delay: Duration::from_secs(1),
        ..config
    };
    assert!(
        engine
            .set_config(vec![edited], SEC)
            .expect("valid")
            .actions
            .is_empty()
    );
    let state = engine.group_state(1).expect("group");
    assert_eq!(
        (state.status, state.transitions, state.last_change_ns),
        (GroupStatus::Down, 0, 0)
    );
}

#[test]
fn invalid_configuration_is_refused_and_changes_nothing() {
    let two_roles = group(1, &["x"], &["x"]);
    let cases = [
        (
            vec![group(1, &["x"], &[]), group(2, &[], &["x"])],
            ConfigError::InterfaceInTwoGroups {
                interface: "x".to_owned(),
                first_group: 1,
                first_role: Role::Upstream,
                second_group: 2,
                second_role: Role::Downstream,
            },
        ),
        (
            vec![group(1, &["x"], &[]), group(2, &["x"], &[])],
            ConfigError::InterfaceInTwoGroups {
                interface: "x".to_owned(),
                first_group: 1,
                first_role: Role::Upstream,
                second_group: 2,
                second_role: Role::Upstream,
            },
        ),
        (
            vec![two_roles],
            ConfigError::InterfaceInTwoGroups {
                interface: "x".to_owned(),
                first_group: 1,
                first_role: Role::Upstream,
                second_group: 1,
                second_role: Role::Downstream,
            },
        ),
        (vec![GroupConfig::new(0)], ConfigError::GroupIdOutOfRange(0)),
        (
            vec![GroupConfig::new(4097)],
            ConfigError::GroupIdOutOfRange(4097),
        ),
        (
            vec![GroupConfig::new(3), GroupConfig::new(3)],
            ConfigError::DuplicateGroup(3),
        ),
        (
            vec![GroupConfig {
                min_upstream_up: 0,
                ..GroupConfig::new(5)
            }],
            ConfigError::MinUpstreamUpZero(5),
        ),
    ];
    for (groups, expected) in cases {
        let mut engine = engine_with(vec![group(9, &["u"], &["d"])], &["u", "d"]);
        engine.observe(InterfaceObservation::no_carrier("u"), SEC);
        let before = engine.group_detail(9);
        assert_eq!(engine.set_config(groups, 2 * SEC), Err(expected.clone()));
        assert!(!expected.to_string().is_empty());
        assert_eq!(engine.group_detail(9), before, "{expected}");
        assert_eq!(engine.disabled_by("d"), Some(9));
    }
}

#[test]
fn group_ids_at_the_edges_of_the_range_are_accepted() {
    let mut engine = Engine::new();
    let groups = vec![
        GroupConfig::new(crate::GROUP_ID_MIN),
        GroupConfig::new(crate::GROUP_ID_MAX),
    ];
    assert!(engine.set_config(groups, 0).is_ok());
}

// ===== telemetry =====

#[test]
fn changes_report_group_and_member_transitions_with_timestamps() {
    let mut engine = engine_with(vec![group(1, &["u"], &["d"])], &["u", "d"]);
    let out = engine.observe(InterfaceObservation::no_carrier("u"), 7);
    let expected = vec![
        StateChange::Member {
            at_ns: 7,
            state: MemberState {
                interface: "u".to_owned(),
                group: 1,
                role: Role::Upstream,
                status: MemberStatus::Down,
                last_change_ns: 7,
            },
        },
        StateChange::Member {
            at_ns: 7,
            state: MemberState {
                interface: "d".to_owned(),
                group: 1,
                role: Role::Downstream,
                status: MemberStatus::Disabled,
                last_change_ns: 7,
            },
        },
        StateChange::Group {
            at_ns: 7,
            state: GroupState {
                id: 1,
                enabled: true,
                status: GroupStatus::Down,
                upstream_up: 0,
                upstream_total: 1,
                downstream_total: 1,
                downstream_disabled: 1,
                last_change_ns: 7,
                transitions: 1,
                pending_action: PendingAction::None,
                pending_until_ns: None,
            },
        },
    ];
    assert_eq!(out.changes, expected);
    // The same observation again changes nothing.
    assert!(
        engine
            .observe(InterfaceObservation::no_carrier("u"), 8)
            .is_empty()
    );
    // An interface no group knows changes nothing.
    assert!(
        engine
            .observe(InterfaceObservation::up("stranger"), 9)
            .is_empty()
    );
}

#[test]
fn a_new_configuration_reports_every_new_group_and_member() {
    let mut engine = Engine::new();
    engine.observe(InterfaceObservation::up("u"), 0);
    let out = engine
        .set_config(vec![group(1, &["u"], &["d"])], 5)
        .expect("valid");
    let members: Vec<(String, MemberStatus)> = (out.changes.iter())
        .filter_map(|change| match change {
            StateChange::Member { state, .. } => Some((state.interface.clone(), state.status)),
            _ => None,
        })
        .collect();
    assert_eq!(
        members,
        vec![
            ("d".to_owned(), MemberStatus::Down),
            ("u".to_owned(), MemberStatus::Up)
        ]
    );
    assert!(out.changes.iter().any(|change| matches!(
        change,
        StateChange::Group { state, .. } if state.id == 1 && state.status == GroupStatus::Up
    )));
}
