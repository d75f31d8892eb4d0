//! What the tetherd benchmarks share: a release tetherd of their own, gNMI path and value
//! builders, percentiles.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each bench uses a part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::subscribe_request::Request;
use tether_proto::gnmi::subscribe_response::Response;
use tether_proto::gnmi::{
    Encoding, Path, PathElem, SubscribeRequest, SubscribeResponse, Subscription, SubscriptionList,
    SubscriptionMode, TypedValue, Update, subscription_list, typed_value,
};
use tonic::Streaming;

pub struct Daemon {
    pub child: Child,
    /// gNMI (plaintext).
    pub addr: String,
    /// NETCONF over SSH.
    pub netconf: String,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start() -> Daemon {
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
        .env("RUST_LOG", "warn,tetherd=info,tether_netconf=info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let after = |l: &str, what: &str| {
        l.find(what).map(|i| {
            l[i + what.len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string()
        })
    };
    let (mut addr, mut netconf) = (None, None);
    while addr.is_none() || netconf.is_none() {
        let l = lines.next().expect("tetherd output").unwrap();
        addr = addr.or_else(|| after(&l, "listening on "));
        netconf = netconf.or_else(|| after(&l, "NETCONF over SSH serving on "));
    }
    std::thread::spawn(move || for _ in lines {});
    Daemon {
        child,
        addr: addr.unwrap(),
        netconf: netconf.unwrap(),
        _dir: dir,
    }
}

/// Resident memory of process `pid` (MiB; 0 when it cannot be read).
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

pub fn elem(name: &str, key: Option<(&str, &str)>) -> PathElem {
    PathElem {
        name: name.into(),
        key: key
            .map(|(k, v)| [(k.to_string(), v.to_string())].into())
            .unwrap_or_default(),
    }
}

pub fn json_update(elems: Vec<PathElem>, v: Value) -> Update {
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

pub fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

/// A STREAM ON_CHANGE subscription to `path` (updates only), after its sync response.
pub async fn subscribe(addr: &str, path: Vec<PathElem>) -> Streaming<SubscribeResponse> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(SubscribeRequest {
        request: Some(Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(Path {
                    elem: path,
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
