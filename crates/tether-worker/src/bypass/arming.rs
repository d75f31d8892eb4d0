//! Conditional bypass: which classes' TCP state bypass is armed, from the level of their
//! triggers and a clock. Pure, like `tether-lst`: levels and time in, armed flags and the
//! classes whose state changed out, so the same inputs give the same answer and the rules are
//! unit-tested without a dataplane.
//!
//! The rules (`step`), per class:
//! - no `tcp-state-bypass`: disarmed (`bypass-off`); no trigger: armed (`unconditional`);
//! - trigger down or absent: armed at once (`trigger-down`, `trigger-absent`);
//! - trigger up after it was down: armed for the hold time (`hold-time`, deadline
//!   `hold_until_ns`), then disarmed (`trigger-up`); a hold of 0 disarms at once;
//! - a class judged for the first time (created, its trigger or bypass changed, tetherd
//!   started) with its trigger up is disarmed at once: nothing moved to the backup path
//!   while Tether was not watching, as link state tracking skips up-delay at start-up. A
//!   link-state group that appears (absent → up) is judged the same way, since at boot the
//!   bypass configuration is applied before the groups exist.

use std::collections::{BTreeMap, BTreeSet};

use tether_dataplane::{BypassProgram, Trigger, TriggerSource};
pub use tether_model::tether_conntrack_bypass::bypass::policies::policy::classes::class::state::ArmedReason;

/// (policy, class).
pub type ClassKey = (String, String);

/// What a trigger's source looks like now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Up,
    Down,
    Absent,
}

/// One class's arming, as published in its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassArming {
    pub armed: bool,
    pub reason: ArmedReason,
    /// When `armed` last changed (or the class was first judged), dataplane clock.
    pub since_ns: u64,
    /// While `reason` is `HoldTime`: when the hold ends.
    pub hold_until_ns: Option<u64>,
    pub transitions: u64,
}

#[derive(Debug, Clone)]
struct Tracked {
    bypass: bool,
    trigger: Option<Trigger>,
    state: ClassArming,
}

/// Every class of the program and its arming.
#[derive(Debug, Default)]
pub struct Arming {
    classes: BTreeMap<ClassKey, Tracked>,
}

fn step(
    bypass: bool,
    trigger: Option<&Trigger>,
    level: Option<Level>,
    prev: Option<&ClassArming>,
    now: u64,
) -> ClassArming {
    let (armed, reason, hold_until_ns) = match (bypass, trigger, level) {
        (false, _, _) => (false, ArmedReason::BypassOff, None),
        (true, None, _) | (true, Some(_), None) => (true, ArmedReason::Unconditional, None),
        (true, Some(_), Some(Level::Down)) => (true, ArmedReason::TriggerDown, None),
        (true, Some(_), Some(Level::Absent)) => (true, ArmedReason::TriggerAbsent, None),
        (true, Some(t), Some(Level::Up)) => match prev {
            Some(p) if p.armed && p.reason == ArmedReason::HoldTime => match p.hold_until_ns {
                Some(until) if now < until => (true, ArmedReason::HoldTime, Some(until)),
                _ => (false, ArmedReason::TriggerUp, None),
            },
            Some(p)
                if p.armed
                    && (p.reason == ArmedReason::TriggerDown
                        || (p.reason == ArmedReason::TriggerAbsent
                            && matches!(t.source, TriggerSource::Interface(_)))) =>
            {
                let hold = u64::try_from(t.hold.as_nanos()).unwrap_or(u64::MAX);
                if hold == 0 {
                    (false, ArmedReason::TriggerUp, None)
                } else {
                    (true, ArmedReason::HoldTime, Some(now.saturating_add(hold)))
                }
            }
            _ => (false, ArmedReason::TriggerUp, None),
        },
    };
    let (since_ns, transitions) = match prev {
        Some(p) if p.armed == armed => (p.since_ns, p.transitions),
        Some(p) => (now, p.transitions + 1),
        None => (now, 0),
    };
    ClassArming {
        armed,
        reason,
        since_ns,
        hold_until_ns,
        transitions,
    }
}

impl Arming {
    /// Follows the classes of `program`: new ones are judged for the first time, removed ones
    /// forgotten, one whose bypass or trigger changed is judged afresh (keeping its
    /// transition count). Returns the classes whose state changed.
    pub fn sync(
        &mut self,
        program: &BypassProgram,
        level: impl Fn(&TriggerSource) -> Level,
        now: u64,
    ) -> BTreeSet<ClassKey> {
        let mut changed = BTreeSet::new();
        let mut next = BTreeMap::new();
        for (policy, p) in &program.policies {
            for c in &p.classes {
                let key = (policy.clone(), c.name.clone());
                let old = self.classes.remove(&key);
                let trigger = c.trigger.clone();
                let l = trigger.as_ref().map(|t| level(&t.source));
                let state = match &old {
                    Some(o) if o.bypass == c.tcp_state_bypass && o.trigger == trigger => {
                        step(c.tcp_state_bypass, trigger.as_ref(), l, Some(&o.state), now)
                    }
                    Some(o) => {
                        let mut fresh = step(c.tcp_state_bypass, trigger.as_ref(), l, None, now);
                        if fresh.armed == o.state.armed {
                            fresh.since_ns = o.state.since_ns;
                            fresh.transitions = o.state.transitions;
                        } else {
                            fresh.transitions = o.state.transitions + 1;
                        }
                        fresh
                    }
                    None => step(c.tcp_state_bypass, trigger.as_ref(), l, None, now),
                };
                if old.as_ref().is_none_or(|o| o.state != state) {
                    changed.insert(key.clone());
                }
                next.insert(
                    key,
                    Tracked {
                        bypass: c.tcp_state_bypass,
                        trigger,
                        state,
                    },
                );
            }
        }
        self.classes = next;
        changed
    }

    /// Judges every class again: a trigger moved, or the clock reached a hold's end.
    pub fn update(
        &mut self,
        level: impl Fn(&TriggerSource) -> Level,
        now: u64,
    ) -> BTreeSet<ClassKey> {
        let mut changed = BTreeSet::new();
        for (key, t) in &mut self.classes {
            let l = t.trigger.as_ref().map(|tr| level(&tr.source));
            let state = step(t.bypass, t.trigger.as_ref(), l, Some(&t.state), now);
            if state != t.state {
                t.state = state;
                changed.insert(key.clone());
            }
        }
        changed
    }

    /// The earliest end of a running hold.
    pub fn next_deadline(&self) -> Option<u64> {
        self.classes
            .values()
            .filter_map(|t| t.state.hold_until_ns)
            .min()
    }

    pub fn get(&self, key: &ClassKey) -> Option<&ClassArming> {
        self.classes.get(key).map(|t| &t.state)
    }

    /// Writes each class's `armed` into `program`; returns the classes whose flag it changed.
    pub fn stamp(&self, program: &mut BypassProgram) -> BTreeSet<ClassKey> {
        let mut changed = BTreeSet::new();
        for (policy, p) in &mut program.policies {
            for c in &mut p.classes {
                let key = (policy.clone(), c.name.clone());
                let armed = self
                    .get(&key)
                    .is_none_or(|s| s.armed || !c.tcp_state_bypass);
                if c.armed != armed {
                    c.armed = armed;
                    changed.insert(key);
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests;
