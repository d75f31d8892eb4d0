//! Interfaces: oper status from admin, carrier and Tether's disable; errors; the trait object.

use super::*;

#[test]
fn oper_status_follows_admin_carrier_and_tether_disable() {
    let s = sim(&["e1"]);
    type Step = fn(&SimDataplane);
    // (step, admin_up, carrier, disabled_by_tether, oper status, carrier transitions)
    let steps: [(Step, bool, bool, bool, OperStatus, u64); 7] = [
        (
            |s| drop(s.set_carrier("e1", false)),
            true,
            false,
            false,
            OperStatus::Down,
            1,
        ),
        (
            |s| drop(s.set_carrier("e1", true)),
            true,
            true,
            false,
            OperStatus::Up,
            2,
        ),
        (
            |s| drop(s.set_tether_disabled("e1", true)),
            true,
            true,
            true,
            OperStatus::Disabled,
            2,
        ),
        // The operator shuts it too; Tether re-enabling must not bring it up.
        (
            |s| drop(s.set_admin("e1", false)),
            false,
            true,
            true,
            OperStatus::Disabled,
            2,
        ),
        (
            |s| drop(s.set_tether_disabled("e1", false)),
            false,
            true,
            false,
            OperStatus::Down,
            2,
        ),
        (
            |s| drop(s.set_admin("e1", true)),
            true,
            true,
            false,
            OperStatus::Up,
            2,
        ),
        // Idempotent: no change, no event, no new last-change.
        (
            |s| drop(s.set_admin("e1", true)),
            true,
            true,
            false,
            OperStatus::Up,
            2,
        ),
    ];
    let mut events = s.subscribe();
    for (i, (step, admin, carrier, disabled, status, transitions)) in steps.into_iter().enumerate()
    {
        s.advance(Duration::from_secs(1));
        step(&s);
        let st = s.interface("e1").unwrap();
        assert_eq!(
            (
                st.admin_up,
                st.carrier,
                st.disabled_by_tether,
                st.oper_status(),
                st.carrier_transitions
            ),
            (admin, carrier, disabled, status, transitions),
            "step {i}"
        );
        assert_eq!(st.oper_up, status == OperStatus::Up, "step {i}");
    }
    let mut changes = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let DataplaneEvent::InterfaceChanged(st) = e {
            changes.push((st.oper_up, st.last_change_ns));
        }
    }
    let sec = 1_000_000_000;
    assert_eq!(
        changes,
        vec![
            (false, T0 + sec),
            (true, T0 + 2 * sec),
            (false, T0 + 3 * sec),
            (false, T0 + 3 * sec),
            (false, T0 + 3 * sec),
            (true, T0 + 6 * sec)
        ]
    );
}

#[test]
fn packets_on_a_down_interface_are_dropped() {
    let s = sim(&["in"]);
    let syn = tcp("in", "198.18.0.1", "198.19.0.1", TcpFlags::SYN);
    // (step, reason)
    type Step = fn(&SimDataplane);
    let cases: [(Step, VerdictReason); 4] = [
        (
            |s| drop(s.set_carrier("in", false)),
            VerdictReason::InterfaceDown,
        ),
        (|s| drop(s.set_carrier("in", true)), VerdictReason::NewSyn),
        (
            |s| drop(s.set_tether_disabled("in", true)),
            VerdictReason::InterfaceDown,
        ),
        (
            |s| drop(s.remove_interface("in")),
            VerdictReason::UnknownInterface,
        ),
    ];
    for (i, (step, reason)) in cases.into_iter().enumerate() {
        step(&s);
        assert_eq!(s.inject(&syn).reason, reason, "case {i}");
    }
}

#[test]
fn interface_errors_name_the_interface() {
    let s = sim(&["a"]);
    assert_eq!(
        s.create_interface("a"),
        Err(DataplaneError::InterfaceExists("a".into()))
    );
    assert_eq!(
        s.set_carrier("zz", true),
        Err(DataplaneError::UnknownInterface("zz".into()))
    );
    assert_eq!(
        s.set_tether_disabled("zz", true),
        Err(DataplaneError::UnknownInterface("zz".into()))
    );
    // ifindexes are never reused.
    s.remove_interface("a").unwrap();
    assert_eq!(s.create_interface("a").unwrap().ifindex, 2);
}

// ===== counters =====

#[test]
fn dataplane_is_object_safe_and_reports_its_clock() {
    let s: std::sync::Arc<dyn Dataplane> = std::sync::Arc::new(sim(&["x"]));
    assert_eq!(s.kind(), DataplaneKind::Sim);
    assert_eq!(s.now_ns(), T0);
    assert_eq!(s.interfaces().unwrap()[0].last_change_ns, T0);
}

// ===== the real-time clock =====
