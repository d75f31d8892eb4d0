//! Shared helpers of the integration tests: a real `tetherd` on an ephemeral port, a gNMI
//! client, paths written the way gnmic writes them, and the reference scenario.

#![allow(dead_code, clippy::unwrap_used)]

mod auth;
pub mod netconf;
pub mod netconf_client;
pub use auth::*;

use std::io::{BufRead, BufReader};
use std::path::{Path as FsPath, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{
    Encoding, GetRequest, Notification, Path, SetRequest, SetResponse, SubscribeRequest,
    SubscribeResponse, TypedValue, Update, subscribe_response, typed_value,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

/// A running tetherd, killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
    /// Every line tetherd has logged so far (see [`Daemon::wait_log`]).
    pub log: Arc<Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Daemon {
    /// A daemon on a fresh data directory, plaintext on loopback.
    pub fn start() -> Daemon {
        Daemon::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let mut d = Daemon::start_in(&data, extra).expect("tetherd starts");
        d._dir = Some(dir);
        d
    }

    /// A daemon on `data_dir` (kept by the caller).
    pub fn start_in(data_dir: &FsPath, extra: &[&str]) -> Result<Daemon, String> {
        Daemon::start_env(data_dir, extra, &[])
    }

    /// A daemon on `data_dir` with `env` added to its environment.
    pub fn start_env(
        data_dir: &FsPath,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Daemon, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tetherd"));
        cmd.args([
            "--data-dir",
            data_dir.to_str().unwrap_or("data"),
            "--listen",
            "127.0.0.1:0",
            "--netconf-listen",
            "127.0.0.1:0",
        ])
        .args(extra);
        // The deterministic suites step the sim clock themselves: keep it frozen unless a test
        // picks a clock (or a dataplane without one).
        if !extra
            .iter()
            .any(|a| a.starts_with("--sim-clock") || a.starts_with("--dataplane"))
        {
            cmd.args(["--sim-clock", "manual"]);
        }
        cmd.envs(env.iter().copied());
        cmd.env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[tetherd] {line}");
                lines.lock().unwrap().push(line.clone());
                if let Some(i) = line.find("listening on ") {
                    let addr = line[i + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let _ = tx.send(Ok(addr));
                }
            }
            let _ = tx.send(Err("tetherd exited before listening".to_string()));
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|e| e.to_string())??;
        Ok(Daemon {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
            log,
            _dir: None,
        })
    }

    pub async fn client(&self) -> GNmiClient<Channel> {
        GNmiClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect")
    }

    /// The `tether.sim.v1.Simulator` client on the same port.
    pub async fn simulator(&self) -> tether_proto::sim::simulator_client::SimulatorClient<Channel> {
        tether_proto::sim::simulator_client::SimulatorClient::connect(format!(
            "http://{}",
            self.addr
        ))
        .await
        .expect("connect the simulator")
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a `kill` name: HUP, TERM, ...) to the daemon.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal}");
    }

    /// Waits (up to 20 s) until the log has `n` lines containing `needle`; those lines.
    pub async fn wait_log(&self, needle: &str, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let found: Vec<String> = self
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .cloned()
                .collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "tetherd did not log {needle:?} {n} times within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A path as gnmic writes it: `/link-state/groups/group[id=1]/config`, keys unquoted,
/// an optional `module:` on any element and `origin:` before the first `/`
/// (`tether_syntax::text_path`, the grammar tetherctl reads).
pub fn path(text: &str) -> Path {
    tether_syntax::text_path::parse(text)
        .map(Path::from)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn json_val(v: &Value) -> TypedValue {
    TypedValue {
        value: Some(typed_value::Value::JsonIetfVal(v.to_string().into_bytes())),
    }
}

pub fn raw_json_val(text: &str) -> TypedValue {
    TypedValue {
        value: Some(typed_value::Value::JsonIetfVal(text.as_bytes().to_vec())),
    }
}

pub fn update(p: &str, v: Value) -> Update {
    Update {
        path: Some(path(p)),
        val: Some(json_val(&v)),
        ..Default::default()
    }
}

pub fn update_raw(p: &str, text: &str) -> Update {
    Update {
        path: Some(path(p)),
        val: Some(raw_json_val(text)),
        ..Default::default()
    }
}

pub async fn set_update(
    c: &mut GNmiClient<Channel>,
    p: &str,
    v: Value,
) -> Result<SetResponse, tonic::Status> {
    c.set(SetRequest {
        update: vec![update(p, v)],
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner())
}

pub async fn set_replace(
    c: &mut GNmiClient<Channel>,
    p: &str,
    v: Value,
) -> Result<SetResponse, tonic::Status> {
    c.set(SetRequest {
        replace: vec![update(p, v)],
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner())
}

pub async fn set_delete(
    c: &mut GNmiClient<Channel>,
    p: &str,
) -> Result<SetResponse, tonic::Status> {
    c.set(SetRequest {
        delete: vec![path(p)],
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner())
}

/// Get of one path (CONFIG, JSON_IETF): the notification.
pub async fn get_config(
    c: &mut GNmiClient<Channel>,
    p: &str,
) -> Result<Notification, tonic::Status> {
    let r = c
        .get(GetRequest {
            path: vec![path(p)],
            r#type: 1,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(r.notification.into_iter().next().expect("one notification"))
}

/// The JSON value of the single update of a Get.
pub async fn get_value(c: &mut GNmiClient<Channel>, p: &str) -> Result<Value, tonic::Status> {
    let n = get_config(c, p).await?;
    assert_eq!(n.update.len(), 1, "one update for {p}");
    Ok(value_of(&n.update[0]))
}

pub fn value_of(u: &Update) -> Value {
    match u.val.as_ref().and_then(|v| v.value.as_ref()) {
        Some(typed_value::Value::JsonIetfVal(b)) | Some(typed_value::Value::JsonVal(b)) => {
            serde_json::from_slice(b).expect("valid JSON")
        }
        other => panic!("not a JSON value: {other:?}"),
    }
}

/// Arrays sorted, so that list order does not matter in comparisons.
pub fn normalize(v: Value) -> Value {
    match v {
        Value::Array(a) => {
            let mut items: Vec<Value> = a.into_iter().map(normalize).collect();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        v => v,
    }
}

/// Creates simulated interfaces (carrier up) with one Set.
pub async fn sim_interfaces(c: &mut GNmiClient<Channel>, names: &[&str]) {
    let ifs: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "config": {"name": n}, "simulation": {"config": {"carrier": true}}}))
        .collect();
    set_update(
        c,
        "/tether-interfaces:interfaces",
        json!({"interface": ifs}),
    )
    .await
    .expect("simulated interfaces created");
}

/// The reference scenario's bypass configuration (RFC 7951 content of `bypass`).
pub fn scenario_bypass() -> Value {
    let policy = |name: &str| {
        json!({"name": name, "config": {"name": name},
               "classes": {"class": [{"name": "tcp_bypass",
                   "config": {"name": "tcp_bypass", "tcp-state-bypass": true, "idle-timeout": 900}}]}})
    };
    let entry = |seq: u32, src: &str, dst: &str, remark: &str| {
        json!({"sequence": seq, "config": {"sequence": seq, "action": "permit", "protocol": "tcp",
               "source-prefix": src, "destination-prefix": dst, "remark": remark}})
    };
    let sp = |intf: &str, pol: &str| json!({"interface": intf, "config": {"interface": intf, "policy": pol}});
    json!({
        "access-lists": {"access-list": [{"name": "StatelessTraffic", "config": {"name": "StatelessTraffic"},
            "entries": {"entry": [
                entry(10, "198.18.1.0/24", "198.19.1.0/24", "Outbound Traffic"),
                entry(20, "198.19.1.0/24", "198.18.1.0/24", "Inbound Traffic")]}}]},
        "classes": {"class": [{"name": "tcp_bypass",
            "config": {"name": "tcp_bypass", "match-access-list": "StatelessTraffic"}}]},
        "policies": {"policy": [policy("Inside-policy"), policy("MPLS-policy")]},
        "service-policies": {"service-policy": [sp("Inside", "Inside-policy"), sp("MPLS", "MPLS-policy")]}
    })
}

/// The reference scenario's link-state configuration (RFC 7951 content of `link-state`).
pub fn scenario_link_state() -> Value {
    let downstream: Vec<Value> = (1..=40)
        .map(|i| json!({"name": format!("Gi1/{i}"), "config": {"name": format!("Gi1/{i}")}}))
        .collect();
    json!({"groups": {"group": [{"id": 1, "config": {"id": 1, "enabled": true},
        "upstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}},
        "downstream": {"interfaces": {"interface": downstream}}}]}})
}

/// Loads the whole reference scenario with one Set.
pub async fn load_scenario(c: &mut GNmiClient<Channel>) -> SetResponse {
    c.set(SetRequest {
        update: vec![
            update("/tether-conntrack-bypass:bypass", scenario_bypass()),
            update("/tether-link-state:link-state", scenario_link_state()),
        ],
        ..Default::default()
    })
    .await
    .expect("scenario Set")
    .into_inner()
}

/// Every explicitly set value, for "nothing changed" checks.
pub async fn whole_config(c: &mut GNmiClient<Channel>) -> Value {
    let r = c
        .get(GetRequest {
            r#type: 1,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await
        .expect("Get /")
        .into_inner();
    normalize(value_of(&r.notification[0].update[0]))
}

pub fn temp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The running configuration: the raw JSON_IETF bytes of a CONFIG Get of `/`, and the same
/// parsed with list order normalised.
pub async fn running_config(c: &mut GNmiClient<Channel>) -> (Vec<u8>, Value) {
    let r = c
        .get(GetRequest {
            path: vec![Path::default()],
            r#type: 1,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await
        .expect("Get / (CONFIG)")
        .into_inner();
    let n = r.notification.into_iter().next().expect("one notification");
    match n.update.first() {
        None => (Vec::new(), json!({})),
        Some(u) => {
            let v = value_of(u);
            let bytes = match u.val.as_ref().and_then(|v| v.value.as_ref()) {
                Some(tether_proto::gnmi::typed_value::Value::JsonIetfVal(b)) => b.clone(),
                other => panic!("not JSON_IETF: {other:?}"),
            };
            (bytes, normalize(v))
        }
    }
}

/// SIGTERM, and wait until the process is gone; the exit status.
pub async fn sigterm(mut d: Daemon) -> std::process::ExitStatus {
    let pid = d.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(s)) = d.child.try_wait() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("tetherd did not exit within 20 s of SIGTERM");
    })
    .await
    .unwrap()
}

// ===== Subscribe =====

/// Opens a Subscribe RPC with `first` as its first message; more go through the sender.
pub async fn open(
    c: &mut GNmiClient<Channel>,
    first: SubscribeRequest,
) -> (
    tokio::sync::mpsc::Sender<SubscribeRequest>,
    Streaming<SubscribeResponse>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tx.send(first).await.unwrap();
    let s = c
        .subscribe(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, s)
}

pub async fn next(s: &mut Streaming<SubscribeResponse>) -> SubscribeResponse {
    tokio::time::timeout(Duration::from_secs(30), s.message())
        .await
        .expect("response in time")
        .unwrap()
        .expect("open")
}

pub fn is_sync(r: &SubscribeResponse) -> bool {
    matches!(
        r.response,
        Some(subscribe_response::Response::SyncResponse(true))
    )
}

/// Updates until the sync response, by last path element.
pub async fn until_sync(s: &mut Streaming<SubscribeResponse>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    loop {
        let r = next(s).await;
        if is_sync(&r) {
            return out;
        }
        if let Some(subscribe_response::Response::Update(n)) = &r.response {
            for u in &n.update {
                let last = u.path.as_ref().unwrap().elem.last().unwrap().name.clone();
                out.push((last, value_of(u)));
            }
        }
    }
}
