//! Link-state tracking as a subscriber sees it: from the gNMI Set that cuts an upstream's
//! (simulated) carrier to the first ON_CHANGE notification, and to the notification that
//! completes the picture (every downstream disabled), through a real release tetherd.
//! Prints a table; asserts nothing.
//!
//! `cargo bench -p tetherd --bench lst_telemetry` (TETHER_BENCH_QUICK=1 for fewer rounds).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: fail loudly

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::subscribe_request::Request;
use tether_proto::gnmi::subscribe_response::Response;
use tether_proto::gnmi::{
    Encoding, Path, PathElem, SetRequest, SubscribeRequest, SubscribeResponse, Subscription,
    SubscriptionList, SubscriptionMode, TypedValue, Update, subscription_list, typed_value,
};
use tonic::Streaming;
use tonic::transport::Channel;

struct Daemon {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tetherd"))
        .args([
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--netconf-listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn,tetherd=info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let l = lines.next().expect("tetherd output").unwrap();
        if let Some(i) = l.find("listening on ") {
            break l[i + 13..].split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Daemon {
        child,
        addr,
        _dir: dir,
    }
}

fn elem(name: &str, key: Option<(&str, &str)>) -> PathElem {
    PathElem {
        name: name.into(),
        key: key
            .map(|(k, v)| [(k.to_string(), v.to_string())].into())
            .unwrap_or_default(),
    }
}

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

fn json_update(elems: Vec<PathElem>, v: Value) -> Update {
    Update {
        path: Some(Path {
            elem: elems,
            ..Default::default()
        }),
        val: Some(TypedValue {
            value: Some(typed_value::Value::JsonIetfVal(v.to_string().into_bytes())),
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

async fn subscribe(addr: &str) -> Streaming<SubscribeResponse> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(SubscribeRequest {
        request: Some(Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(Path {
                    elem: vec![elem("tether-link-state:link-state", None)],
                    ..Default::default()
                }),
                mode: SubscriptionMode::OnChange as i32,
                ..Default::default()
            }],
            mode: subscription_list::Mode::Stream as i32,
            encoding: Encoding::JsonIetf as i32,
            updates_only: true,
            ..Default::default()
        })),
        ..Default::default()
    })
    .await
    .unwrap();
    std::mem::forget(tx); // keep the request side open for the whole run
    let mut s = GNmiClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .subscribe(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let first = s.message().await.unwrap().unwrap();
    assert!(matches!(first.response, Some(Response::SyncResponse(true))));
    s
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

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
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
        let mut s = subscribe(&d.addr).await;
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
