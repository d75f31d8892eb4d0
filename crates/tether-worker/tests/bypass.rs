//! The reference TCP state bypass scenario against the worker and the in-process dataplane.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::*;
use serde_json::json;
use tether_dataplane::{Dataplane, Packet, TcpFlags, VerdictReason};
use tether_model::Edit;
use tether_worker::paths;

fn reference_bypass() -> serde_json::Value {
    let entry = |seq: u32, src: &str, dst: &str| {
        json!({ "sequence": seq, "config": { "sequence": seq, "action": "permit", "protocol": "tcp",
            "source-prefix": src, "destination-prefix": dst } })
    };
    let class = json!({ "name": "tcp_bypass", "config": { "name": "tcp_bypass", "tcp-state-bypass": true, "idle-timeout": 900 } });
    json!({ "tether-conntrack-bypass:bypass": {
        "access-lists": { "access-list": [{ "name": "StatelessTraffic", "config": { "name": "StatelessTraffic" },
            "entries": { "entry": [entry(10, "198.18.1.0/24", "198.19.1.0/24"), entry(20, "198.19.1.0/24", "198.18.1.0/24")] } }] },
        "classes": { "class": [{ "name": "tcp_bypass", "config": { "name": "tcp_bypass", "match-access-list": "StatelessTraffic" } }] },
        "policies": { "policy": [
            { "name": "Inside-policy", "config": { "name": "Inside-policy" }, "classes": { "class": [class.clone()] } },
            { "name": "MPLS-policy", "config": { "name": "MPLS-policy" }, "classes": { "class": [class] } }
        ] },
        "service-policies": { "service-policy": [
            { "interface": "Inside", "config": { "interface": "Inside", "policy": "Inside-policy" } },
            { "interface": "MPLS", "config": { "interface": "MPLS", "policy": "MPLS-policy" } }
        ] }
    } })
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// A segment from the data centre (198.19.1.10:443) back to the site (198.18.1.10:port).
fn from_dc(ingress: &str, port: u16, flags: TcpFlags) -> Packet {
    Packet::tcp(
        ingress,
        (ip("198.19.1.10"), 443),
        (ip("198.18.1.10"), port),
        flags,
    )
}

#[tokio::test]
async fn asymmetric_flows_pass_with_bypass_only_where_configured() {
    let mut rig = Rig::new(&["Inside", "MPLS"]);
    rig.start();
    rig.commit(vec![Edit::update("/", reference_bypass())])
        .await;
    assert_eq!(rig.sim.installed_program().service_policies.len(), 2);
    let sp = |i: &str, leaf: &str| rig.leaf(&format!("{}/state/{leaf}", paths::service_policy(i)));
    assert_eq!(sp("MPLS", "applied").as_deref(), Some("true"));
    assert_eq!(sp("MPLS", "last-error").as_deref(), Some(""));

    // The connection opens over the fibre path: the SYN enters Inside.
    let syn = Packet::tcp(
        "Inside",
        (ip("198.18.1.10"), 40000),
        (ip("198.19.1.10"), 443),
        TcpFlags::SYN,
    );
    assert!(rig.sim.inject(&syn).passed());
    // The fibre is cut: a connection the firewall never saw continues over MPLS, ACK-only.
    let r = rig.sim.inject(&from_dc("MPLS", 40001, TcpFlags::ACK));
    assert!(r.passed(), "{r:?}");
    assert_eq!(r.reason, VerdictReason::Bypass);
    assert!(r.connection.as_ref().is_some_and(|c| c.bypass));

    // Traffic outside the access-list is dropped.
    let outside = Packet::tcp(
        "MPLS",
        (ip("198.20.0.1"), 443),
        (ip("198.18.1.10"), 40002),
        TcpFlags::ACK,
    );
    assert!(!rig.sim.inject(&outside).passed());

    // Counters reach the state tree.
    rig.settle().await;
    let class = paths::policy_class("MPLS-policy", "tcp_bypass");
    let counter = |leaf: &str| rig.leaf(&format!("{class}/state/{leaf}"));
    let entry = |seq| {
        rig.leaf(&format!(
            "{}/state/matches",
            paths::acl_entry("StatelessTraffic", seq)
        ))
    };
    assert_eq!(counter("bypass-connections-built").as_deref(), Some("1"));
    assert_eq!(counter("bypass-connections-current").as_deref(), Some("1"));
    assert!(entry(20).is_some_and(|v| v != "0"), "entry 20 counted");

    // 15 idle minutes later the bypass entry is gone, torn down by the idle timeout.
    rig.sim.advance(Duration::from_secs(15 * 60));
    rig.worker().clock_advanced();
    rig.settle().await;
    assert!(rig.sim.connections(true).expect("table").is_empty());
    assert_eq!(counter("bypass-connections-current").as_deref(), Some("0"));
    assert_eq!(counter("torn-down-idle").as_deref(), Some("1"));

    // Without the service-policy on MPLS, the same ACK-only segment is dropped.
    let mpls_sp = paths::service_policy("MPLS");
    rig.commit(vec![Edit::delete(mpls_sp)]).await;
    assert_eq!(
        sp("MPLS", "applied"),
        None,
        "state of a removed service-policy goes"
    );
    let r = rig.sim.inject(&from_dc("MPLS", 40004, TcpFlags::ACK));
    assert!(!r.passed());
    assert_eq!(r.reason, VerdictReason::NoConnection);
    rig.assert_state_in_schema();

    rig.stop();
}

#[tokio::test]
async fn the_program_is_reinstalled_when_the_dataplane_drifts() {
    let mut rig = Rig::new(&["Inside", "MPLS"]);
    rig.start();
    rig.commit(vec![Edit::update("/", reference_bypass())])
        .await;
    // Someone replaces the program behind Tether's back.
    rig.sim
        .install_bypass(&tether_dataplane::BypassProgram::default())
        .expect("install");
    tokio::time::sleep(tether_worker::RECONCILE_INTERVAL + Duration::from_millis(300)).await;
    rig.settle().await;
    assert_eq!(rig.sim.installed_program().service_policies.len(), 2);
    rig.stop();
}

/// `applied-commit` of each feature reaches the id (and SetResponse timestamp) of the commit
/// once the dataplane enforces it, also for a commit that touches only the other feature.
#[tokio::test]
async fn applied_commit_follows_each_commit() {
    use tether_store::{CommitMeta, Store};
    let mut rig = Rig::new(&["Inside", "MPLS"]);
    rig.start();
    let applied = |feature: &str, leaf: &str| rig.leaf(&format!("{feature}/state/{leaf}"));
    let first = rig
        .store
        .commit(
            vec![Edit::update("/", reference_bypass())],
            CommitMeta::default(),
        )
        .wait()
        .await
        .expect("commit");
    rig.settle().await;
    assert_eq!(rig.sim.installed_program().service_policies.len(), 2);
    assert_eq!(applied(BYP, "applied-commit"), Some(first.id.to_string()));
    assert_eq!(
        applied(BYP, "applied-commit-timestamp"),
        Some(first.time_ns.to_string())
    );
    assert!(applied(BYP, "applied-at").is_some_and(|t| t.ends_with('Z')));
    assert_eq!(applied(LST, "applied-commit"), Some(first.id.to_string()));

    // One entry changed: installed incrementally, applied-commit advances.
    let entry = format!(
        "{}/config/destination-port",
        paths::acl_entry("StatelessTraffic", 10)
    );
    let second = rig
        .store
        .commit(
            vec![Edit::update(entry, json!("443"))],
            CommitMeta::default(),
        )
        .wait()
        .await
        .expect("commit");
    rig.settle().await;
    let installed = rig.sim.installed_program();
    let e = &installed.access_lists["StatelessTraffic"].entries[0];
    assert_eq!((e.destination_ports.lo, e.destination_ports.hi), (443, 443));
    assert_eq!(applied(BYP, "applied-commit"), Some(second.id.to_string()));

    // A link-state-only commit is applied for both features.
    let third = rig
        .store
        .commit(
            vec![Edit::update(
                "/",
                json!({ "tether-link-state:link-state": { "groups": { "group": [
                    { "id": 7, "config": { "id": 7 } } ] } } }),
            )],
            CommitMeta::default(),
        )
        .wait()
        .await
        .expect("commit");
    rig.settle().await;
    assert!(third.id > second.id);
    assert_eq!(applied(LST, "applied-commit"), Some(third.id.to_string()));
    assert_eq!(applied(BYP, "applied-commit"), Some(third.id.to_string()));
    rig.assert_state_in_schema();
}
