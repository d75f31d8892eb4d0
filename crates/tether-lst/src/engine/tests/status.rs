//! Group status from upstreams, downstream disable and re-enable, Up/Dwn/Dis, and the operator's own shutdown.

use super::*;

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
