//! Link-state tracking as a subscriber sees it: from the gNMI Set that cuts an upstream's
//! (simulated) carrier to the first ON_CHANGE notification, and to the notification that
//! completes the picture (every downstream disabled), through a real release tetherd.
//! Prints a table; asserts nothing.
//!
//! `cargo bench -p tetherd --bench lst_telemetry` (TETHER_BENCH_QUICK=1 for fewer rounds).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: fail loudly

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{elem, json_update, pct, start, subscribe};

use serde_json::json;
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::subscribe_response::Response;
use tether_proto::gnmi::{Path, SetRequest, SubscribeResponse, TypedValue, Update, typed_value};
use tonic::Streaming;
use tonic::transport::Channel;

fn carrier_update(iface: &str, up: bool) -> Update {
    Update {
        path: Some(Path {
            elem: vec![
                elem("tether-interfaces:interfaces", None),
                elem("interface", Some(("name", iface))),
                elem("simulation", None),
                elem("config", None),
                elem("carrier", None),
            ],
            ..Default::default()
        }),
        val: Some(TypedValue {
            value: Some(typed_value::Value::JsonIetfVal(up.to_string().into_bytes())),
        }),
        ..Default::default()
    }
}

/// `groups` groups, each with one upstream `Up<g>` and `per` downstreams `D<g>/<i>`.
async fn configure(c: &mut GNmiClient<Channel>, groups: usize, per: usize) {
    let mut ifaces = Vec::new();
    let mut gs = Vec::new();
    for g in 1..=groups {
        let up = format!("Up{g}");
        ifaces.push(json!({"name": up, "config": {"name": up}, "simulation": {"config": {"carrier": true}}}));
        let mut down = Vec::new();
        for i in 1..=per {
            let n = format!("D{g}/{i}");
            ifaces.push(json!({"name": n, "config": {"name": n}, "simulation": {"config": {"carrier": true}}}));
            down.push(json!({"name": n, "config": {"name": n}}));
        }
        gs.push(json!({"id": g, "config": {"id": g},
            "upstream": {"interfaces": {"interface": [{"name": up, "config": {"name": up}}]}},
            "downstream": {"interfaces": {"interface": down}}}));
    }
    c.set(SetRequest {
        update: vec![
            json_update(
                vec![elem("tether-interfaces:interfaces", None)],
                json!({"interface": ifaces}),
            ),
            json_update(
                vec![
                    elem("tether-link-state:link-state", None),
                    elem("groups", None),
                ],
                json!({"group": gs}),
            ),
        ],
        ..Default::default()
    })
    .await
    .unwrap();
}

/// Reads notifications until every (group, member) in `want` reported `status`; returns the
/// time of the first notification and of the completing one.
async fn until(
    s: &mut Streaming<SubscribeResponse>,
    t0: Instant,
    want: usize,
    status: &str,
) -> (Duration, Duration) {
    let mut first = None;
    let mut seen = HashSet::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), s.message())
            .await
            .expect("notification in time")
            .unwrap()
            .unwrap();
        let Some(Response::Update(n)) = m.response else {
            continue;
        };
        first.get_or_insert_with(|| t0.elapsed());
        for u in &n.update {
            let p = u.path.as_ref().unwrap();
            let is_member_status = p.elem.iter().any(|e| e.name == "downstream")
                && p.elem.last().is_some_and(|e| e.name == "oper-status");
            if !is_member_status {
                continue;
            }
            let v = match u.val.as_ref().and_then(|v| v.value.as_ref()) {
                Some(typed_value::Value::JsonIetfVal(b)) => {
                    String::from_utf8_lossy(b).trim_matches('"').to_string()
                }
                _ => continue,
            };
            let key: String = p
                .elem
                .iter()
                .flat_map(|e| e.key.values().cloned())
                .collect::<Vec<_>>()
                .join("/");
            if v == status {
                seen.insert(key);
            } else {
                seen.remove(&key);
            }
        }
        if seen.len() >= want {
            return (first.unwrap_or_default(), t0.elapsed());
        }
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::var("TETHER_BENCH_QUICK").is_ok();
    println!(
        "| scenario | rounds | Set → first ON_CHANGE p50 (ms) | p99 (ms) | Set → all members disabled p50 (ms) | p99 (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (groups, per, rounds) in [
        (1usize, 1usize, 100usize),
        (1, 40, 100),
        (1, 1000, 20),
        (100, 40, 10),
    ] {
        let rounds = if quick { rounds.min(10) } else { rounds };
        let d = start();
        let mut c = GNmiClient::connect(format!("http://{}", d.addr))
            .await
            .unwrap();
        configure(&mut c, groups, per).await;
        let mut s = subscribe(&d.addr, vec![elem("tether-link-state:link-state", None)]).await;
        // Let the initial state settle.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (mut first, mut all) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let cut: Vec<Update> = (1..=groups)
                .map(|g| carrier_update(&format!("Up{g}"), false))
                .collect();
            let t0 = Instant::now();
            c.set(SetRequest {
                update: cut,
                ..Default::default()
            })
            .await
            .unwrap();
            let (f, a) = until(&mut s, t0, groups * per, "disabled").await;
            first.push(f);
            all.push(a);
            let restore: Vec<Update> = (1..=groups)
                .map(|g| carrier_update(&format!("Up{g}"), true))
                .collect();
            let t1 = Instant::now();
            c.set(SetRequest {
                update: restore,
                ..Default::default()
            })
            .await
            .unwrap();
            until(&mut s, t1, groups * per, "up").await;
        }
        let name = if groups == 1 {
            format!("1 group × {per} downstreams")
        } else {
            format!("{groups} groups × {per} at once")
        };
        println!(
            "| {name} | {rounds} | {:.2} | {:.2} | {:.2} | {:.2} |",
            pct(&mut first, 0.5),
            pct(&mut first, 0.99),
            pct(&mut all, 0.5),
            pct(&mut all, 0.99)
        );
    }
}
