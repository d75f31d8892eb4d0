//! Configuration edits of a running engine, and configuration it refuses.

use super::*;

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
    let threshold = |kind, down, up| GroupConfig {
        threshold: Some(Threshold { kind, down, up }),
        ..GroupConfig::new(6)
    };
    let cases = [
        (
            vec![group(1, &["x"], &[]), group(2, &[], &["x"])],
            ConfigError::UpstreamAndDownstream {
                interface: "x".to_owned(),
                upstream_group: 1,
                downstream_group: 2,
            },
        ),
        (
            vec![group(1, &[], &["x"]), group(2, &["x"], &[])],
            ConfigError::UpstreamAndDownstream {
                interface: "x".to_owned(),
                upstream_group: 2,
                downstream_group: 1,
            },
        ),
        (
            vec![two_roles],
            ConfigError::UpstreamAndDownstream {
                interface: "x".to_owned(),
                upstream_group: 1,
                downstream_group: 1,
            },
        ),
        (
            vec![group(1, &["x", "x"], &[])],
            ConfigError::DuplicateMember {
                interface: "x".to_owned(),
                group: 1,
                role: Role::Upstream,
            },
        ),
        (
            vec![threshold(ThresholdKind::Percentage, 50, 101)],
            ConfigError::PercentageOutOfRange {
                group: 6,
                value: 101,
            },
        ),
        (
            vec![threshold(ThresholdKind::Percentage, 0, 10)],
            ConfigError::ThresholdZero { group: 6 },
        ),
        (
            vec![threshold(ThresholdKind::Count, 3, 2)],
            ConfigError::DownAboveUp {
                group: 6,
                down: 3,
                up: 2,
            },
        ),
        (
            vec![GroupConfig {
                disable_links: Some(0),
                ..GroupConfig::new(6)
            }],
            ConfigError::DisableLinksZero(6),
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
    for (mut groups, expected) in cases {
        // Each invalid group arrives beside a valid edit of group 9, which must not apply either.
        groups.push(GroupConfig {
            up_delay: Duration::from_secs(3),
            ..group(9, &["u"], &[])
        });
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
