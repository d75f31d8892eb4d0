//! The engine's behaviour, one file per area; the builders every area shares.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::config::{Threshold, ThresholdKind};
use crate::state::{Action, GroupStatus, MemberStatus, PendingAction};

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

mod changes;
mod delays;
mod edits;
mod knobs;
mod restore;
mod status;
