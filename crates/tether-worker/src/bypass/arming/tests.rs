//! The arming rules, step by step on a manual clock.

use std::cell::Cell;
use std::time::Duration;

use tether_dataplane::{BypassProgram, Policy, PolicyClass, Trigger, TriggerSource};

use super::{ArmedReason, Arming, Level};

const S: u64 = 1_000_000_000;

fn program(bypass: bool, trigger: Option<TriggerSource>, hold: u64) -> BypassProgram {
    let mut p = BypassProgram::default();
    p.policies.insert(
        "P".into(),
        Policy {
            classes: vec![PolicyClass {
                name: "C".into(),
                access_list: "A".into(),
                tcp_state_bypass: bypass,
                idle_timeout: Duration::from_secs(900),
                limits: Default::default(),
                mode: Default::default(),
                trigger: trigger.map(|source| Trigger {
                    source,
                    hold: Duration::from_secs(hold),
                }),
                armed: true,
            }],
        },
    );
    p
}

fn key() -> (String, String) {
    ("P".into(), "C".into())
}

fn fibre() -> Option<TriggerSource> {
    Some(TriggerSource::Interface("fib0".into()))
}

#[test]
fn a_class_without_trigger_is_always_armed_and_without_bypass_never() {
    let mut a = Arming::default();
    a.sync(&program(true, None, 0), |_| Level::Down, 0);
    assert_eq!(
        a.get(&key()).map(|s| (s.armed, s.reason)),
        Some((true, ArmedReason::Unconditional))
    );
    a.sync(&program(false, None, 0), |_| Level::Down, 0);
    assert_eq!(
        a.get(&key()).map(|s| (s.armed, s.reason)),
        Some((false, ArmedReason::BypassOff))
    );
    let mut p = program(false, None, 0);
    a.stamp(&mut p);
    assert!(!p.policies["P"].classes[0].bypasses_now());
}

#[test]
fn down_arms_at_once_up_holds_then_disarms() {
    let level = Cell::new(Level::Up);
    let mut a = Arming::default();
    let prog = program(true, fibre(), 60);
    let changed = a.sync(&prog, |_| level.get(), 10 * S);
    assert!(changed.contains(&key()));
    let s = a.get(&key()).cloned().expect("tracked");
    assert_eq!(
        (s.armed, s.reason, s.since_ns, s.transitions),
        (false, ArmedReason::TriggerUp, 10 * S, 0)
    );
    assert_eq!(a.next_deadline(), None);

    level.set(Level::Down);
    assert!(a.update(|_| level.get(), 20 * S).contains(&key()));
    let s = a.get(&key()).cloned().expect("tracked");
    assert_eq!(
        (s.armed, s.reason, s.since_ns, s.transitions),
        (true, ArmedReason::TriggerDown, 20 * S, 1)
    );
    let mut p = prog.clone();
    assert_eq!(
        a.stamp(&mut p).len(),
        0,
        "armed already true in the compiled program"
    );

    level.set(Level::Up);
    a.update(|_| level.get(), 30 * S);
    let s = a.get(&key()).cloned().expect("tracked");
    assert_eq!(
        (s.armed, s.reason, s.hold_until_ns),
        (true, ArmedReason::HoldTime, Some(90 * S))
    );
    assert_eq!(a.next_deadline(), Some(90 * S));
    assert!(
        a.update(|_| level.get(), 90 * S - 1).is_empty(),
        "nothing moves before the hold ends"
    );
    assert!(a.update(|_| level.get(), 90 * S).contains(&key()));
    let s = a.get(&key()).cloned().expect("tracked");
    assert_eq!(
        (s.armed, s.reason, s.since_ns, s.transitions),
        (false, ArmedReason::TriggerUp, 90 * S, 2)
    );
    assert_eq!(a.next_deadline(), None);
    assert_eq!(a.stamp(&mut p).len(), 1);
    assert!(!p.policies["P"].classes[0].armed);
}

#[test]
fn a_flap_during_the_hold_rearms_and_restarts_it() {
    let level = Cell::new(Level::Down);
    let mut a = Arming::default();
    a.sync(&program(true, fibre(), 60), |_| level.get(), 0);
    level.set(Level::Up);
    a.update(|_| level.get(), 10 * S);
    level.set(Level::Down);
    a.update(|_| level.get(), 20 * S);
    assert_eq!(
        a.get(&key()).map(|s| (s.reason, s.transitions)),
        Some((ArmedReason::TriggerDown, 0))
    );
    level.set(Level::Up);
    a.update(|_| level.get(), 30 * S);
    assert_eq!(a.next_deadline(), Some(90 * S));
}

#[test]
fn zero_hold_disarms_at_once() {
    let level = Cell::new(Level::Down);
    let mut a = Arming::default();
    a.sync(&program(true, fibre(), 0), |_| level.get(), 0);
    level.set(Level::Up);
    a.update(|_| level.get(), S);
    assert_eq!(
        a.get(&key()).map(|s| (s.armed, s.reason)),
        Some((false, ArmedReason::TriggerUp))
    );
}

#[test]
fn absent_arms_an_interface_holds_but_a_group_that_appears_does_not() {
    let level = Cell::new(Level::Absent);
    let mut a = Arming::default();
    a.sync(&program(true, fibre(), 60), |_| level.get(), 0);
    assert_eq!(
        a.get(&key()).map(|s| (s.armed, s.reason)),
        Some((true, ArmedReason::TriggerAbsent))
    );
    level.set(Level::Up);
    a.update(|_| level.get(), S);
    assert_eq!(a.get(&key()).map(|s| s.reason), Some(ArmedReason::HoldTime));

    let mut g = Arming::default();
    let level = Cell::new(Level::Absent);
    g.sync(
        &program(true, Some(TriggerSource::LinkStateGroup(1)), 60),
        |_| level.get(),
        0,
    );
    level.set(Level::Up);
    g.update(|_| level.get(), S);
    assert_eq!(
        g.get(&key()).map(|s| (s.armed, s.reason)),
        Some((false, ArmedReason::TriggerUp))
    );
}

#[test]
fn a_changed_trigger_is_judged_afresh_and_a_removed_class_forgotten() {
    let mut a = Arming::default();
    a.sync(&program(true, fibre(), 60), |_| Level::Down, 0);
    // Another interface, up: disarmed at once (no hold), one transition.
    a.sync(
        &program(true, Some(TriggerSource::Interface("other".into())), 60),
        |_| Level::Up,
        S,
    );
    let s = a.get(&key()).cloned().expect("tracked");
    assert_eq!(
        (s.armed, s.reason, s.transitions, s.since_ns),
        (false, ArmedReason::TriggerUp, 1, S)
    );
    a.sync(&BypassProgram::default(), |_| Level::Up, 2 * S);
    assert!(a.get(&key()).is_none());
}
