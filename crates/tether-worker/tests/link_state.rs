//! The reference link state tracking scenario against the worker, the in-process dataplane and
//! the state tree: group 1, Po11 upstream, Gi1/1-40 downstream.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tether_dataplane::{Dataplane, DataplaneEvent};
use tether_lst::Role;
use tether_model::Edit;
use tether_store::Store;
use tether_worker::paths;

fn member_status(rig: &Rig, name: &str) -> Option<String> {
    rig.leaf(&format!(
        "{}/state/oper-status",
        paths::member(1, Role::Downstream, name)
    ))
}

fn group_leaf(rig: &Rig, leaf: &str) -> Option<String> {
    rig.leaf(&format!("{}/state/{leaf}", paths::group(1)))
}

fn disabled_in_dataplane(rig: &Rig) -> Vec<String> {
    let all = rig.sim.interfaces().expect("interfaces");
    all.into_iter()
        .filter(|i| i.disabled_by_tether)
        .map(|i| i.name)
        .collect()
}

async fn reference_rig(group_config: serde_json::Value) -> Rig {
    let names = reference_interfaces();
    let mut rig = Rig::new(&names.iter().map(String::as_str).collect::<Vec<_>>());
    rig.start();
    rig.commit(vec![Edit::update("/", reference_group(group_config))])
        .await;
    assert_eq!(group_leaf(&rig, "status").as_deref(), Some("up"));
    assert_eq!(member_status(&rig, "Gi1/40").as_deref(), Some("up"));
    rig
}

#[tokio::test]
async fn cutting_po11_disables_all_40_and_restoring_it_enables_them() {
    let rig = reference_rig(json!({})).await;
    let mut bus = rig.state.subscribe();

    rig.sim.set_carrier("Po11", false).expect("cut");
    rig.settle().await;
    let mut disabled = disabled_in_dataplane(&rig);
    disabled.sort();
    let mut want = downstreams();
    want.sort();
    assert_eq!(disabled, want);
    assert_eq!(group_leaf(&rig, "status").as_deref(), Some("down"));
    assert_eq!(
        group_leaf(&rig, "downstream-disabled").as_deref(),
        Some("40")
    );
    for name in downstreams() {
        assert_eq!(
            member_status(&rig, &name).as_deref(),
            Some("disabled"),
            "{name}"
        );
        let base = format!("{}/state", paths::interface(&name));
        assert_eq!(
            rig.leaf(&format!("{base}/disabled-by")).as_deref(),
            Some("link-state-group")
        );
        assert_eq!(
            rig.leaf(&format!("{base}/disabled-by-group")).as_deref(),
            Some("1")
        );
        assert_eq!(
            rig.leaf(&format!("{base}/oper-status")).as_deref(),
            Some("down")
        );
    }
    let po11 = format!("{}/state/oper-status", paths::interface("Po11"));
    assert_eq!(rig.leaf(&po11).as_deref(), Some("lower-layer-down"));

    // The group and its 40 members arrive in one ON_CHANGE batch, stamped with the wall-clock
    // time the worker saw the event (the sim clock stamps the last-change leaves instead).
    let mut together = false;
    while let Ok(batch) = bus.try_recv() {
        let status = batch
            .updates
            .iter()
            .any(|(p, v)| p.ends_with("group[id='1']/state/status") && v == "down");
        let members = batch
            .updates
            .iter()
            .filter(|(p, v)| {
                p.ends_with("/state/oper-status") && p.contains("/downstream/") && v == "disabled"
            })
            .count();
        if status && members == 40 {
            assert!(!batch.counters);
            let now = tether_worker::wall_clock_ns();
            assert!(batch.timestamp_ns <= now && now - batch.timestamp_ns < 60_000_000_000);
            together = true;
        }
    }
    assert!(together, "group and members in one batch");
    assert_eq!(
        rig.store.runtime_scan("lst/disabled/").expect("scan").len(),
        40
    );

    rig.sim.set_carrier("Po11", true).expect("restore");
    rig.settle().await;
    assert!(disabled_in_dataplane(&rig).is_empty());
    assert_eq!(group_leaf(&rig, "status").as_deref(), Some("up"));
    assert_eq!(group_leaf(&rig, "transitions").as_deref(), Some("2"));
    for name in downstreams() {
        assert_eq!(member_status(&rig, &name).as_deref(), Some("up"), "{name}");
        let by = format!("{}/state/disabled-by-group", paths::interface(&name));
        assert_eq!(rig.leaf(&by), None);
    }
    assert!(
        rig.store
            .runtime_scan("lst/disabled/")
            .expect("scan")
            .is_empty()
    );
    rig.assert_state_in_schema();
}

#[tokio::test]
async fn up_delay_waits_exactly_five_simulated_seconds() {
    let rig = reference_rig(json!({ "up-delay": 5 })).await;
    assert_eq!(group_leaf(&rig, "up-delay").as_deref(), Some("5"));
    rig.sim.set_carrier("Po11", false).expect("cut");
    rig.settle().await;
    assert_eq!(disabled_in_dataplane(&rig).len(), 40);

    rig.sim.set_carrier("Po11", true).expect("restore");
    rig.settle().await;
    assert_eq!(
        disabled_in_dataplane(&rig).len(),
        40,
        "held during up-delay"
    );
    assert_eq!(
        group_leaf(&rig, "pending-action").as_deref(),
        Some("enable")
    );
    assert_eq!(
        group_leaf(&rig, "pending-until").as_deref(),
        Some("2026-11-25T10:00:05.000000000Z")
    );

    rig.sim
        .advance(Duration::from_secs(5) - Duration::from_nanos(1));
    rig.worker().clock_advanced();
    rig.settle().await;
    assert_eq!(
        disabled_in_dataplane(&rig).len(),
        40,
        "one nanosecond early"
    );

    rig.sim.advance(Duration::from_nanos(1));
    rig.worker().clock_advanced();
    rig.settle().await;
    assert!(disabled_in_dataplane(&rig).is_empty(), "enabled at 5 s");
    assert_eq!(group_leaf(&rig, "status").as_deref(), Some("up"));
    assert_eq!(group_leaf(&rig, "pending-action").as_deref(), Some("none"));
    assert_eq!(group_leaf(&rig, "pending-until"), None);
    assert_eq!(
        group_leaf(&rig, "last-change-ns").as_deref(),
        Some(&*(T0 + 5_000_000_000).to_string())
    );
}

#[tokio::test]
async fn the_clock_notification_alone_fires_the_delay() {
    let rig = reference_rig(json!({ "up-delay": 5 })).await;
    rig.sim.set_carrier("Po11", false).expect("cut");
    rig.sim.set_carrier("Po11", true).expect("restore");
    rig.settle().await;
    rig.sim.advance(Duration::from_secs(5));
    rig.worker().clock_advanced();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !disabled_in_dataplane(&rig).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "not enabled after clock_advanced"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn an_operator_shut_downstream_stays_shut() {
    let rig = reference_rig(json!({})).await;
    rig.sim
        .set_admin("Gi1/5", false)
        .expect("operator shuts Gi1/5");
    rig.settle().await;
    rig.sim.set_carrier("Po11", false).expect("cut");
    rig.settle().await;
    assert_eq!(
        disabled_in_dataplane(&rig).len(),
        39,
        "Tether leaves the operator's interface alone"
    );
    assert_eq!(member_status(&rig, "Gi1/5").as_deref(), Some("down"));
    // The operator shuts Gi1/6 while Tether holds it.
    rig.sim
        .set_admin("Gi1/6", false)
        .expect("operator shuts Gi1/6");
    rig.sim.set_carrier("Po11", true).expect("restore");
    rig.settle().await;
    for name in ["Gi1/5", "Gi1/6"] {
        let s = rig.sim.interface(name).expect("exists");
        assert!(!s.admin_up && !s.oper_up, "{name} stays shut");
        let by = format!("{}/state/disabled-by", paths::interface(name));
        assert_eq!(rig.leaf(&by).as_deref(), Some("operator"));
    }
    let s = rig.sim.interface("Gi1/7").expect("exists");
    assert!(s.oper_up);
}

#[tokio::test]
async fn a_restart_while_down_does_not_flap_and_restores_state() {
    let mut rig = reference_rig(json!({})).await;
    rig.sim.set_carrier("Po11", false).expect("cut");
    rig.settle().await;
    assert_eq!(disabled_in_dataplane(&rig).len(), 40);

    rig.stop();
    let mut events = rig.sim.subscribe();
    rig.state = std::sync::Arc::new(tether_telemetry::StateTree::new());
    rig.start();
    rig.settle().await;
    while let Ok(event) = events.try_recv() {
        // Reinstalling the same bypass program is harmless; any interface change is a flap.
        assert!(
            matches!(event, DataplaneEvent::ProgramInstalled { .. }),
            "restart touched an interface: {event:?}"
        );
    }
    assert_eq!(disabled_in_dataplane(&rig).len(), 40);
    assert_eq!(group_leaf(&rig, "status").as_deref(), Some("down"));
    assert_eq!(member_status(&rig, "Gi1/17").as_deref(), Some("disabled"));

    rig.sim.set_carrier("Po11", true).expect("restore");
    rig.settle().await;
    assert!(disabled_in_dataplane(&rig).is_empty());
    let enabled = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, DataplaneEvent::InterfaceChanged(s) if !s.disabled_by_tether && s.name.starts_with("Gi")))
        .count();
    assert_eq!(enabled, 40, "each downstream enabled exactly once");
}

#[tokio::test]
async fn configured_simulated_interfaces_and_a_restart_on_a_fresh_dataplane() {
    let mut rig = Rig::new(&[]);
    rig.start();
    let mut interfaces: Vec<serde_json::Value> = reference_interfaces()
        .into_iter()
        .map(|n| json!({ "name": n, "config": { "name": n }, "simulation": { "config": { "carrier": true } } }))
        .collect();
    let mut doc = reference_group(json!({}));
    doc["tether-interfaces:interfaces"] = json!({ "interface": interfaces.clone() });
    rig.commit(vec![Edit::update("/", doc)]).await;
    assert_eq!(rig.sim.interfaces().expect("list").len(), 41);
    assert_eq!(group_leaf(&rig, "status").as_deref(), Some("up"));

    // Cut Po11 through configuration, as a gNMI client would.
    let carrier = "/tether-interfaces:interfaces/interface[name='Po11']/simulation/config/carrier";
    rig.commit(vec![Edit::update(carrier, json!(false))]).await;
    assert_eq!(disabled_in_dataplane(&rig).len(), 40);

    // The daemon restarts with a new, empty in-process dataplane.
    rig.stop();
    rig.sim = std::sync::Arc::new(tether_dataplane::SimDataplane::with_clock(
        tether_dataplane::SimClock::starting_at(T0),
    ));
    rig.state = std::sync::Arc::new(tether_telemetry::StateTree::new());
    rig.start();
    rig.settle().await;
    assert!(!rig.sim.interface("Po11").expect("recreated").carrier);
    assert_eq!(disabled_in_dataplane(&rig).len(), 40);
    assert_eq!(group_leaf(&rig, "status").as_deref(), Some("down"));

    // Removing an interface from the configuration removes it from the simulator.
    interfaces.remove(0);
    rig.commit(vec![Edit::delete(
        "/tether-interfaces:interfaces/interface[name='Gi1/40']",
    )])
    .await;
    assert!(rig.sim.interface("Gi1/40").is_err());
    assert_eq!(disabled_in_dataplane(&rig).len(), 39);
}
