//! up-delay and down-delay: exact deadlines, recovery inside a delay, no restart on a second loss.

use super::*;

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
