//! The change reports the worker turns into state and telemetry.

use super::*;

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
                awaiting_clear: false,
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
