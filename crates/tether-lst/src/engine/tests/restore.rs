//! Boot: restoring what Tether disabled before a restart.

use super::*;

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
