//! Every state path the worker writes resolves in the compiled schema, as state: a writer that
//! names a node the YANG does not have would publish leaves no client can subscribe to, and
//! nothing else would notice.
//!
//! Each writer is driven so that it produces every path it can (every optional leaf present in
//! one case and deleted in another); the deletes are checked too, since a delete at a wrong path
//! silently leaves stale state behind.

use std::time::Duration;

use serde_json::json;
use tether_dataplane::{
    AclEntryCounters, BypassCounters, BypassProgram, ClassCounters, InterfaceCounters,
    InterfaceStatus,
};
use tether_lst::{
    GroupConfig, GroupState, GroupStatus, MemberState, MemberStatus, PendingAction, Role,
    StateChange, Threshold, ThresholdKind,
};
use tether_model::{Datastore, Schema, SchemaOptions};
use tether_telemetry::StateBatch;

use crate::link_state::state::GroupMirror;
use crate::{bypass, interfaces, link_state, paths};

fn interface(disabled_by_tether: bool) -> InterfaceStatus {
    InterfaceStatus {
        name: "Gi1/1".into(),
        ifindex: 3,
        admin_up: true,
        carrier: true,
        disabled_by_tether,
        oper_up: !disabled_by_tether,
        last_change_ns: 1,
        carrier_transitions: 2,
        counters: InterfaceCounters::default(),
    }
}

fn group_state(pending_until_ns: Option<u64>) -> GroupState {
    GroupState {
        id: 1,
        enabled: true,
        status: GroupStatus::Down,
        upstream_up: 0,
        upstream_total: 1,
        downstream_total: 40,
        downstream_disabled: 40,
        awaiting_clear: false,
        last_change_ns: 1,
        transitions: 1,
        pending_action: PendingAction::Enable,
        pending_until_ns,
    }
}

fn member_state(role: Role) -> MemberState {
    MemberState {
        interface: "Gi1/1".into(),
        group: 1,
        role,
        status: MemberStatus::Disabled,
        last_change_ns: 1,
    }
}

/// A program with a service-policy, the global policy, an access-list entry and a policy class.
fn program() -> BypassProgram {
    let doc = json!({ "tether-conntrack-bypass:bypass": {
        "access-lists": { "access-list": [{ "name": "A", "config": { "name": "A" },
            "entries": { "entry": [{ "sequence": 10, "config": { "sequence": 10, "action": "permit", "protocol": "tcp" } }] } }] },
        "classes": { "class": [{ "name": "C", "config": { "name": "C", "match-access-list": "A" } }] },
        "policies": { "policy": [{ "name": "P", "config": { "name": "P" },
            "classes": { "class": [{ "name": "C", "config": { "name": "C", "tcp-state-bypass": true } }] } }] },
        "service-policies": { "service-policy": [{ "interface": "MPLS", "config": { "interface": "MPLS", "policy": "P" } }] },
        "global-policy": { "config": { "policy": "P" } }
    } });
    let typed: Datastore = serde_json::from_value(doc).expect("typed bypass");
    bypass::compile::compile(&typed).expect("compiles")
}

/// Every batch any state writer of the worker can produce.
fn every_written_batch() -> Vec<StateBatch> {
    let mut out = Vec::new();
    let mut batch = |fill: &dyn Fn(&mut StateBatch)| {
        let mut b = StateBatch::default();
        fill(&mut b);
        out.push(b);
    };

    // tether-interfaces
    batch(&|b| interfaces::state::status(&interface(true), Some(1), b));
    batch(&|b| interfaces::state::status(&interface(false), None, b));
    batch(&|b| interfaces::state::counters(&interface(false), b));
    batch(&|b| interfaces::state::removed("Gi1/1", true, b));

    // tether-link-state
    let mut config = GroupConfig::new(1);
    config.up_delay = Duration::from_secs(5);
    let undescribed = (config.clone(), None);
    config.threshold = Some(Threshold {
        kind: ThresholdKind::Percentage,
        down: 50,
        up: 75,
    });
    config.disable_links = Some(2);
    let described = (config, Some("to the DC".to_string()));
    batch(&|b| link_state::state::group(&group_state(Some(2)), Some(&described), b));
    batch(&|b| link_state::state::group(&group_state(None), Some(&undescribed), b));
    let changes = [
        StateChange::Member {
            at_ns: 1,
            state: member_state(Role::Upstream),
        },
        StateChange::Member {
            at_ns: 1,
            state: member_state(Role::Downstream),
        },
        StateChange::MemberRemoved {
            at_ns: 1,
            group: 1,
            role: Role::Upstream,
            interface: "Po11".into(),
        },
        StateChange::MemberRemoved {
            at_ns: 1,
            group: 1,
            role: Role::Downstream,
            interface: "Gi1/1".into(),
        },
        StateChange::GroupRemoved { at_ns: 1, group: 1 },
    ];
    batch(&|b| link_state::state::changes(&changes, &GroupMirror::default(), b));

    // tether-conntrack-bypass: applied, then everything removed (the deletes of what went).
    let full = program();
    batch(&|b| bypass::state::applied(&full, &BypassProgram::default(), None, b));
    batch(&|b| bypass::state::applied(&BypassProgram::default(), &full, Some("refused"), b));
    let counters = BypassCounters {
        acl_entries: vec![AclEntryCounters {
            access_list: "A".into(),
            sequence: 10,
            hits: 1,
        }],
        classes: vec![ClassCounters {
            policy: "P".into(),
            class: "C".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    batch(&|b| bypass::state::counters(&counters, b));
    for hold_until_ns in [Some(2), None] {
        let s = bypass::arming::ClassArming {
            armed: true,
            reason: bypass::arming::ArmedReason::HoldTime,
            since_ns: 1,
            hold_until_ns,
            transitions: 1,
        };
        batch(&|b| bypass::state::arming("P", "C", &s, b));
    }
    out.extend(bypass::state::warnings(&[
        "rp_filter is strict on MPLS".into()
    ]));

    // The repair counters (drift.rs, boot.rs).
    out.push(StateBatch {
        updates: [
            paths::BYPASS_REPAIRS,
            paths::BYPASS_LAST_REPAIR,
            paths::LINK_STATE_REPAIRS,
            paths::LINK_STATE_LAST_REPAIR,
        ]
        .iter()
        .map(|p| (p.to_string(), "0".to_string()))
        .collect(),
        ..Default::default()
    });
    out
}

#[test]
fn every_state_path_the_worker_writes_resolves_in_the_schema() {
    let schema = Schema::load(SchemaOptions { simulation: true }).expect("schema");
    let ctx = schema.context();
    let batches = every_written_batch();
    let updates: Vec<&str> = batches
        .iter()
        .flat_map(|b| b.updates.iter().map(|(p, _)| p.as_str()))
        .collect();
    let deletes: Vec<&str> = batches
        .iter()
        .flat_map(|b| b.deletes.iter().map(String::as_str))
        .collect();
    // Enough of each, so a writer that silently stopped writing fails here too.
    assert!(updates.len() > 60, "{} updates", updates.len());
    assert!(deletes.len() > 10, "{} deletes", deletes.len());

    let mut wrong = Vec::new();
    for (path, is_update) in updates
        .iter()
        .map(|p| (*p, true))
        .chain(deletes.iter().map(|p| (*p, false)))
    {
        let schema_path = tether_model::path::schema_path(path);
        match ctx.find_path(&schema_path) {
            // Updates are leaf values; every node the worker writes is state (config false).
            Ok(node) if is_update && (node.is_config() || !node.is_state()) => {
                wrong.push(format!("{path}: not a state node"));
            }
            Ok(_) => {}
            Err(e) => {
                schema.clear_errors();
                wrong.push(format!("{path}: {e}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "paths outside the schema:\n{}",
        wrong.join("\n")
    );
}
