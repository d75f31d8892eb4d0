//! The peers' knobs: thresholds with hysteresis (count and percentage), several groups per
//! interface, `disable_links`, manual recovery, and no up delay at start-up.

use super::*;

fn percent(down: u16, up: u16) -> Option<Threshold> {
    Some(Threshold {
        kind: ThresholdKind::Percentage,
        down,
        up,
    })
}

#[test]
fn a_percentage_threshold_with_hysteresis_goes_down_below_down_and_up_at_up() {
    // Four upstreams, down below 50 %, up again at 75 %.
    let config = GroupConfig {
        threshold: percent(50, 75),
        ..group(1, &["u1", "u2", "u3", "u4"], &["d"])
    };
    let mut engine = engine_with(vec![config], &["u1", "u2", "u3", "u4", "d"]);
    let steps = [
        ("u1", false, GroupStatus::Up, vec![]), // 75 %
        ("u2", false, GroupStatus::Up, vec![]), // 50 %: not below 50
        ("u3", false, GroupStatus::Down, vec![disable("d", 1)]), // 25 %
        ("u1", true, GroupStatus::Down, vec![]), // 50 %: between the thresholds
        ("u2", true, GroupStatus::Up, vec![enable("d", 1)]), // 75 %
        ("u1", false, GroupStatus::Up, vec![]), // 50 % again: up stays up
    ];
    for (at, (name, up, expected, actions)) in (1u64..).zip(steps) {
        let observation = match up {
            true => InterfaceObservation::up(name),
            false => InterfaceObservation::no_carrier(name),
        };
        let out = engine.observe(observation, at * SEC);
        assert_eq!(out.actions, actions, "{name} up={up}");
        assert_eq!(status(&engine, 1), expected, "{name} up={up}");
    }
}

#[test]
fn a_count_threshold_with_hysteresis() {
    let config = GroupConfig {
        threshold: Some(Threshold {
            kind: ThresholdKind::Count,
            down: 1,
            up: 2,
        }),
        ..group(1, &["u1", "u2"], &["d"])
    };
    let mut engine = engine_with(vec![config], &["u1", "u2", "d"]);
    engine.observe(InterfaceObservation::no_carrier("u1"), SEC);
    assert_eq!(
        status(&engine, 1),
        GroupStatus::Up,
        "one up is enough to stay up"
    );
    engine.observe(InterfaceObservation::no_carrier("u2"), 2 * SEC);
    assert_eq!(status(&engine, 1), GroupStatus::Down);
    engine.observe(InterfaceObservation::up("u2"), 3 * SEC);
    assert_eq!(
        status(&engine, 1),
        GroupStatus::Down,
        "one up is not enough to come up"
    );
    let out = engine.observe(InterfaceObservation::up("u1"), 4 * SEC);
    assert_eq!(out.actions, vec![enable("d", 1)]);
}

#[test]
fn an_upstream_of_several_groups_takes_them_all_down() {
    let groups = vec![group(1, &["u"], &["d1"]), group(2, &["u", "v"], &["d2"])];
    let mut engine = engine_with(groups, &["u", "v", "d1", "d2"]);
    let out = engine.observe(InterfaceObservation::no_carrier("u"), SEC);
    assert_eq!(out.actions, vec![disable("d1", 1)]);
    engine.observe(InterfaceObservation::no_carrier("v"), SEC);
    assert_eq!(disabled_set(&engine).len(), 2);
    assert_eq!(engine.member_states("u").len(), 2);
}

#[test]
fn a_downstream_of_several_groups_is_disabled_while_any_of_them_is_down() {
    let groups = vec![group(1, &["u1"], &["d"]), group(2, &["u2"], &["d"])];
    let mut engine = engine_with(groups, &["u1", "u2", "d"]);
    let out = engine.observe(InterfaceObservation::no_carrier("u2"), SEC);
    assert_eq!(out.actions, vec![disable("d", 2)]);
    // Group 1 goes down too: still one disable, now attributed to the lower group.
    let out = engine.observe(InterfaceObservation::no_carrier("u1"), 2 * SEC);
    assert_eq!(out.actions, vec![disable("d", 1)]);
    // Group 1 recovers; group 2 still holds it: re-attributed, not enabled.
    let out = engine.observe(InterfaceObservation::up("u1"), 3 * SEC);
    assert_eq!(out.actions, vec![disable("d", 2)]);
    assert_eq!(engine.disabled_by("d"), Some(2));
    let out = engine.observe(InterfaceObservation::up("u2"), 4 * SEC);
    assert_eq!(out.actions, vec![enable("d", 2)]);
}

#[test]
fn disable_links_disables_n_downstreams_per_failed_upstream() {
    let config = GroupConfig {
        disable_links: Some(2),
        ..group(1, &["u1", "u2", "u3"], &["d1", "d2", "d3", "d4", "d5"])
    };
    let all = ["u1", "u2", "u3", "d1", "d2", "d3", "d4", "d5"];
    let mut engine = engine_with(vec![config], &all);
    let out = engine.observe(InterfaceObservation::no_carrier("u1"), SEC);
    assert_eq!(out.actions, vec![disable("d1", 1), disable("d2", 1)]);
    assert_eq!(status(&engine, 1), GroupStatus::Up);
    let out = engine.observe(InterfaceObservation::no_carrier("u2"), SEC);
    assert_eq!(out.actions, vec![disable("d3", 1), disable("d4", 1)]);
    // An operator shuts d1: the next downstream takes its place.
    let out = engine.observe(InterfaceObservation::admin_down("d1"), SEC);
    assert_eq!(out.actions, vec![disable("d5", 1)]);
    // Every upstream down: the group is down and holds every eligible downstream.
    engine.observe(InterfaceObservation::no_carrier("u3"), SEC);
    assert_eq!(status(&engine, 1), GroupStatus::Down);
    assert_eq!(disabled_set(&engine).len(), 4);
    // Two failed upstreams: four held, which is every eligible one.
    let out = engine.observe(InterfaceObservation::up("u1"), 2 * SEC);
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    assert_eq!(status(&engine, 1), GroupStatus::Up);
    let out = engine.observe(InterfaceObservation::up("u2"), 3 * SEC);
    assert_eq!(out.actions, vec![enable("d4", 1), enable("d5", 1)]);
}

#[test]
fn manual_recovery_holds_until_cleared() {
    let config = GroupConfig {
        auto_recover: false,
        ..group(1, &["u"], &["d1", "d2"])
    };
    let mut engine = engine_with(vec![config], &["u", "d1", "d2"]);
    engine.observe(InterfaceObservation::no_carrier("u"), SEC);
    assert!(
        engine.clear(1, SEC).expect("group").actions.is_empty(),
        "still down"
    );
    let out = engine.observe(InterfaceObservation::up("u"), 2 * SEC);
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    let state = engine.group_state(1).expect("group");
    assert_eq!(
        (
            state.status,
            state.downstream_disabled,
            state.awaiting_clear
        ),
        (GroupStatus::Up, 2, true)
    );
    // A restart keeps the hold.
    let persisted: Vec<(String, GroupId)> = (engine.disabled())
        .map(|(n, g)| (n.to_owned(), g))
        .collect();
    let mut engine = Engine::new();
    engine.restore_disabled(persisted, 0);
    for name in ["u", "d1", "d2"] {
        engine.observe(InterfaceObservation::up(name), 0);
    }
    let config = GroupConfig {
        auto_recover: false,
        ..group(1, &["u"], &["d1", "d2"])
    };
    let out = engine.set_config(vec![config], 0).expect("valid");
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    let out = engine.clear(1, SEC).expect("group");
    assert_eq!(out.actions, vec![enable("d1", 1), enable("d2", 1)]);
    assert!(!engine.group_state(1).expect("group").awaiting_clear);
    assert!(engine.clear(7, SEC).is_none());
}

#[test]
fn no_up_delay_for_a_group_that_was_never_up() {
    let config = GroupConfig {
        up_delay: Duration::from_secs(30),
        ..group(1, &["u"], &["d"])
    };
    let mut engine = Engine::new();
    engine.observe(InterfaceObservation::no_carrier("u"), 0);
    engine.observe(InterfaceObservation::up("d"), 0);
    let out = engine.set_config(vec![config], 0).expect("valid");
    assert_eq!(out.actions, vec![disable("d", 1)]);
    // Start-up: the upstream comes up for the first time, at once.
    let out = engine.observe(InterfaceObservation::up("u"), SEC);
    assert_eq!(out.actions, vec![enable("d", 1)]);
    // From now on the up delay applies.
    engine.observe(InterfaceObservation::no_carrier("u"), 2 * SEC);
    let out = engine.observe(InterfaceObservation::up("u"), 3 * SEC);
    assert!(out.actions.is_empty());
    assert_eq!(engine.next_deadline(), Some(33 * SEC));
}

#[test]
fn a_restart_between_the_thresholds_keeps_a_down_group_down() {
    let config = GroupConfig {
        threshold: percent(50, 100),
        ..group(1, &["u1", "u2"], &["d"])
    };
    let mut engine = engine_with(vec![config.clone()], &["u1", "u2", "d"]);
    engine.observe(InterfaceObservation::no_carrier("u1"), SEC);
    engine.observe(InterfaceObservation::no_carrier("u2"), SEC);
    engine.observe(InterfaceObservation::up("u1"), 2 * SEC); // 50 %: stays down
    let persisted: Vec<(String, GroupId)> = (engine.disabled())
        .map(|(n, g)| (n.to_owned(), g))
        .collect();
    let mut engine = Engine::new();
    engine.restore_disabled(persisted, 0);
    engine.observe(InterfaceObservation::up("u1"), 0);
    engine.observe(InterfaceObservation::no_carrier("u2"), 0);
    engine.observe(
        InterfaceObservation {
            disabled_by_tether: true,
            ..InterfaceObservation::no_carrier("d")
        },
        0,
    );
    let out = engine.set_config(vec![config], 0).expect("valid");
    assert!(out.actions.is_empty(), "{:?}", out.actions);
    assert_eq!(status(&engine, 1), GroupStatus::Down);
}
