//! Intent to dataplane as a client sees it, through a real release tetherd on the in-process
//! dataplane: with 10,000 access-list entries stored, the time from a one-entry Set returning
//! to `bypass/state/applied-commit-timestamp` reaching that Set's timestamp at an ON_CHANGE
//! subscriber; and tetherd's resident memory idle, with 10,000 and with 100,000 entries.
//! Prints numbers; asserts nothing.
//!
//! `cargo bench -p tetherd --bench applied` (TETHER_BENCH_QUICK=1: 50 rounds, no 100,000).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: fail loudly

mod common;

use std::time::{Duration, Instant};

use common::{Daemon, elem, json_update, pct, start, subscribe};
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::subscribe_response::Response;
use tether_proto::gnmi::{PathElem, SetRequest, typed_value};
use tonic::transport::Channel;

const ACL: &str = "Bench";

fn acl_path(name: &str) -> Vec<PathElem> {
    vec![
        elem("tether-conntrack-bypass:bypass", None),
        elem("access-lists", None),
        elem("access-list", Some(("name", name))),
    ]
}

fn entry(seq: usize, port: usize) -> Value {
    let host = format!(
        "198.{}.{}.{}/32",
        18 + (seq >> 16),
        (seq >> 8) & 255,
        seq & 255
    );
    json!({"sequence": seq, "config": {"sequence": seq, "action": "permit", "protocol": "tcp",
           "source-prefix": host, "destination-prefix": "198.19.250.0/24",
           "destination-port": port.to_string()}})
}

/// Entries `from..to` of one access-list, in Sets of at most 10,000.
async fn load(c: &mut GNmiClient<Channel>, from: usize, to: usize) {
    let mut at = from;
    while at < to {
        let end = (at + 10_000).min(to);
        let list: Vec<Value> = (at..end).map(|s| entry(s + 1, 443)).collect();
        c.set(SetRequest {
            update: vec![json_update(
                acl_path(ACL),
                json!({"name": ACL, "config": {"name": ACL}, "entries": {"entry": list}}),
            )],
            ..Default::default()
        })
        .await
        .unwrap();
        at = end;
    }
}

/// The class, policy and global policy that make the access-list part of the program.
async fn bind(c: &mut GNmiClient<Channel>) {
    let b = json!({
        "classes": {"class": [{"name": "k", "config": {"name": "k", "match-access-list": ACL}}]},
        "policies": {"policy": [{"name": "P", "config": {"name": "P"},
            "classes": {"class": [{"name": "k", "config": {"name": "k", "tcp-state-bypass": true}}]}}]},
        "global-policy": {"config": {"policy": "P"}}
    });
    c.set(SetRequest {
        update: vec![json_update(
            vec![elem("tether-conntrack-bypass:bypass", None)],
            b,
        )],
        ..Default::default()
    })
    .await
    .unwrap();
}

fn rss_mib(d: &Daemon) -> f64 {
    common::rss_mib(d.child.id())
}

fn timestamp(v: &typed_value::Value) -> Option<u64> {
    match v {
        typed_value::Value::JsonIetfVal(b) | typed_value::Value::JsonVal(b) => {
            String::from_utf8_lossy(b).trim_matches('"').parse().ok()
        }
        typed_value::Value::UintVal(n) => Some(*n),
        _ => None,
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::var("TETHER_BENCH_QUICK").is_ok();
    let d = start();
    let mut c = GNmiClient::connect(format!("http://{}", d.addr))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mib(&d);
    let t = Instant::now();
    load(&mut c, 0, 10_000).await;
    bind(&mut c).await;
    let load_10k = t.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_10k = rss_mib(&d);

    let mut s = subscribe(
        &d.addr,
        vec![
            elem("tether-conntrack-bypass:bypass", None),
            elem("state", None),
            elem("applied-commit-timestamp", None),
        ],
    )
    .await;
    let rounds = if quick { 50 } else { 500 };
    let (mut set_rtt, mut applied) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // One entry's port changes: the program changes by one entry.
        let seq = 1 + (round * 7919) % 10_000;
        let mut path = acl_path(ACL);
        path.extend([
            elem("entries", None),
            elem("entry", Some(("sequence", &seq.to_string()))),
        ]);
        let body = entry(seq, 1000 + round);
        let t0 = Instant::now();
        let r = c
            .set(SetRequest {
                update: vec![json_update(path, body)],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let returned = Instant::now();
        set_rtt.push(returned - t0);
        let want = u64::try_from(r.timestamp).unwrap_or(0);
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), s.message())
                .await
                .expect("applied in time")
                .unwrap()
                .unwrap();
            let Some(Response::Update(n)) = m.response else {
                continue;
            };
            let reached = n
                .update
                .iter()
                .filter_map(|u| u.val.as_ref()?.value.as_ref().and_then(timestamp))
                .any(|ts| ts >= want);
            if reached {
                applied.push(returned.elapsed());
                break;
            }
        }
    }
    println!("tetherd, in-process dataplane, 10,000 entries stored, {rounds} one-entry Sets:");
    println!(
        "  Set round trip p50 {:.3} ms, p99 {:.3} ms",
        pct(&mut set_rtt, 0.5),
        pct(&mut set_rtt, 0.99)
    );
    println!(
        "  Set returned -> applied-commit-timestamp at the subscriber: p50 {:.3} ms, p99 {:.3} ms",
        pct(&mut applied, 0.5),
        pct(&mut applied, 0.99)
    );
    println!(
        "RSS: idle {idle:.1} MiB; 10,000 entries {rss_10k:.1} MiB (loaded in {:.2} s)",
        load_10k.as_secs_f64()
    );
    if !quick {
        let t = Instant::now();
        load(&mut c, 10_000, 100_000).await;
        let load_100k = t.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!(
            "RSS: 100,000 entries {:.1} MiB (90,000 more loaded in {:.2} s)",
            rss_mib(&d),
            load_100k.as_secs_f64()
        );
    }
}
