//! NETCONF against gNMI on the same release tetherd, in the same run (issue 15's targets):
//! - the round trip of one change as NETCONF `<edit-config>` (candidate) + `<commit>` and as
//!   one gNMI Set, interleaved round by round so both see the same machine load (target:
//!   NETCONF within 2x of gNMI);
//! - NETCONF session set-up: TCP connect, SSH key exchange, authentication, the `netconf`
//!   subsystem and the hello exchange (and a gNMI channel + Capabilities for comparison);
//! - N concurrent NETCONF sessions (100; 10 in quick mode), each doing edit + commit rounds
//!   on its own group: throughput, p50/p99 and tetherd's RSS; the same with N gNMI clients.
//!
//! The change is one leaf: a link-state group's `description`. Every session edits the shared
//! candidate (RFC 6241 §8.3: one candidate per device) and commits it; each round writes a new
//! value, so every commit changes something and is made durable before its reply. The run
//! ends by reading running back and checking that every session's last value is there.
//!
//! With `TETHER_BENCH_NETCONF_PEER="addr=HOST:PORT user=NAME key=FILE [password=PW] [pid=PID]
//! [name=NAME]"` the same NETCONF rounds run against another NETCONF server that has
//! Tether's `tether-link-state` module installed (netopeer2 with sysrepo, built outside the
//! repository), interleaved with tetherd's; `pid` gives that server's RSS.
//!
//! Prints numbers; asserts nothing about time.
//!
//! `cargo bench -p tetherd --bench netconf` (TETHER_BENCH_QUICK=1: 30 rounds, 10 set-ups,
//! 10 sessions × 5 rounds; `cargo test -p tetherd --bench netconf` runs that in debug).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: fail loudly

mod common;
#[path = "../tests/common/netconf_client.rs"]
mod netconf_client;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{elem, json_update, pct, rss_mib, start};
use netconf_client::{Login, Netconf};
use serde_json::json;
use tether_model::tether_link_state::{NAMESPACE, link_state::groups::group};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{CapabilityRequest, PathElem, SetRequest};
use tonic::transport::Channel;

/// A NETCONF server under test.
#[derive(Clone)]
struct Target {
    name: String,
    addr: String,
    login: Login,
    pid: Option<u32>,
}

impl Target {
    async fn session(&self) -> Netconf {
        Netconf::connect_with(&self.addr, &self.login).await
    }

    fn rss(&self) -> String {
        self.pid
            .map(|p| format!("{:.1} MiB", rss_mib(p)))
            .unwrap_or_else(|| "not known (no pid)".into())
    }
}

/// The peer of `TETHER_BENCH_NETCONF_PEER`, if given.
fn peer() -> Option<Target> {
    let spec = std::env::var("TETHER_BENCH_NETCONF_PEER").ok()?;
    let field = |k: &str| {
        spec.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_string)
    };
    let user = field("user").unwrap_or_else(|| "root".into());
    let login = match (field("key"), field("password")) {
        (Some(key), _) => Login::Key {
            user,
            key: PathBuf::from(key),
        },
        (None, Some(password)) => Login::Password { user, password },
        (None, None) => panic!("TETHER_BENCH_NETCONF_PEER needs key= or password="),
    };
    Some(Target {
        name: field("name").unwrap_or_else(|| "peer".into()),
        addr: field("addr").expect("TETHER_BENCH_NETCONF_PEER needs addr="),
        login,
        pid: field("pid").and_then(|p| p.parse().ok()),
    })
}

/// `<config>` content setting group `id`'s description (creating the group if needed).
fn group_config(id: usize, description: &str) -> String {
    format!(
        "<link-state xmlns=\"{NAMESPACE}\"><groups><group><id>{id}</id>\
         <config><id>{id}</id><description>{description}</description></config>\
         </group></groups></link-state>"
    )
}

fn edit_candidate(config: &str) -> String {
    format!("<edit-config><target><candidate/></target><config>{config}</config></edit-config>")
}

fn edit_running(config: &str) -> String {
    format!("<edit-config><target><running/></target><config>{config}</config></edit-config>")
}

/// One NETCONF change: edit the candidate, commit it.
async fn netconf_change(nc: &mut Netconf, id: usize, description: &str) {
    nc.ok(&edit_candidate(&group_config(id, description))).await;
    nc.ok("<commit/>").await;
}

/// The gNMI path of group `id`'s description, from the generated schema path.
fn description_path(id: usize) -> Vec<PathElem> {
    let id = id.to_string();
    let mut path: Vec<PathElem> = group::config::PATH
        .trim_start_matches('/')
        .split('/')
        .map(|name| match name {
            "group" => elem(name, Some(("id", &id))),
            _ => elem(name, None),
        })
        .collect();
    path.push(elem("description", None));
    path
}

async fn gnmi_change(c: &mut GNmiClient<Channel>, id: usize, description: &str) {
    c.set(SetRequest {
        update: vec![json_update(description_path(id), json!(description))],
        ..Default::default()
    })
    .await
    .unwrap();
}

async fn gnmi_client(addr: &str) -> GNmiClient<Channel> {
    GNmiClient::connect(format!("http://{addr}")).await.unwrap()
}

fn summary(v: &mut [Duration]) -> String {
    format!("p50 {:.3} ms, p99 {:.3} ms", pct(v, 0.5), pct(v, 0.99))
}

/// Creates groups `1..=n` in one edit + commit, so the measured rounds only change a leaf.
async fn create_groups(t: &Target, n: usize) {
    let mut nc = t.session().await;
    let groups: String = (1..=n).map(|id| group_config(id, "bench")).collect();
    // Every group in one <link-state>: strip the repeated wrappers.
    let inner = groups
        .replace(&format!("<link-state xmlns=\"{NAMESPACE}\"><groups>"), "")
        .replace("</groups></link-state>", "");
    let config = format!("<link-state xmlns=\"{NAMESPACE}\"><groups>{inner}</groups></link-state>");
    nc.ok(&edit_candidate(&config)).await;
    nc.ok("<commit/>").await;
    nc.close().await;
}

/// Sequential session set-ups (connect → hello exchanged), each closed untimed.
async fn setups(t: &Target, n: usize) -> Vec<Duration> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let nc = t.session().await;
        v.push(t0.elapsed());
        nc.close().await;
    }
    v
}

/// Peak RSS of `pid` while `running` is set, sampled every 20 ms.
fn sample_peak(pid: Option<u32>, running: Arc<AtomicBool>) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || {
        let mut peak: f64 = 0.0;
        while running.load(Ordering::Relaxed) {
            if let Some(p) = pid {
                peak = peak.max(rss_mib(p));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    })
}

/// Runs `rounds` of `change(client, i, round)` on every client at once (client `i` starts
/// when all are ready); returns the clients, every change's latency and the wall time.
async fn in_parallel<C, F, Fut>(
    clients: Vec<C>,
    rounds: usize,
    change: F,
) -> (Vec<C>, Vec<Duration>, Duration)
where
    C: Send + 'static,
    F: Fn(C, usize, usize) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = C> + Send,
{
    let gate = Arc::new(tokio::sync::Barrier::new(clients.len()));
    let t0 = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.wait().await;
                let mut lat = Vec::with_capacity(rounds);
                for r in 0..rounds {
                    let t = Instant::now();
                    c = change(c, i, r).await;
                    lat.push(t.elapsed());
                }
                (c, lat)
            })
        })
        .collect();
    let (mut back, mut lat) = (Vec::new(), Vec::new());
    for task in tasks {
        let (c, l) = task.await.unwrap();
        back.push(c);
        lat.extend(l);
    }
    (back, lat, t0.elapsed())
}

/// `sessions` concurrent NETCONF sessions, each doing `rounds` edit + commit on its own group
/// (groups `first..first + sessions`). Prints throughput, latency and RSS, then checks that
/// running holds every session's last value.
async fn concurrent_netconf(t: &Target, sessions: usize, rounds: usize, first: usize) {
    let rss_before = t.rss();
    let t0 = Instant::now();
    let mut opened = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        opened.push(t.session().await);
    }
    let open_time = t0.elapsed();
    let rss_open = t.rss();
    let running = Arc::new(AtomicBool::new(true));
    let peak = sample_peak(t.pid, running.clone());
    let (sessions_back, mut lat, wall) =
        in_parallel(opened, rounds, move |mut nc: Netconf, i, r| async move {
            netconf_change(&mut nc, first + i, &format!("s{i}-r{r}")).await;
            nc
        })
        .await;
    running.store(false, Ordering::Relaxed);
    let peak = peak.join().unwrap();
    // Every session's last value is in running.
    let mut check = t.session().await;
    let running_xml = check
        .rpc("<get-config><source><running/></source></get-config>")
        .await;
    let missing = (0..sessions)
        .filter(|i| !running_xml.contains(&format!(">s{i}-r{}<", rounds - 1)))
        .count();
    check.close().await;
    for nc in sessions_back {
        nc.close().await;
    }
    println!(
        "  {}: {sessions} sessions opened in {:.2} s; {} edit+commit in {:.2} s = {:.0}/s; \
         per change {}",
        t.name,
        open_time.as_secs_f64(),
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        summary(&mut lat)
    );
    println!(
        "  {}: RSS {rss_before} before, {rss_open} with {sessions} sessions open, peak {} \
         during; running holds the last value of {} of {sessions} sessions",
        t.name,
        if t.pid.is_some() {
            format!("{peak:.1} MiB")
        } else {
            "not known".into()
        },
        sessions - missing
    );
}

/// The same with `clients` gNMI clients (each its own HTTP/2 connection), one Set per round.
async fn concurrent_gnmi(addr: &str, clients: usize, rounds: usize, first: usize) {
    let mut opened = Vec::with_capacity(clients);
    for _ in 0..clients {
        opened.push(gnmi_client(addr).await);
    }
    let (_, mut lat, wall) = in_parallel(
        opened,
        rounds,
        move |mut c: GNmiClient<Channel>, i, r| async move {
            gnmi_change(&mut c, first + i, &format!("g{i}-r{r}")).await;
            c
        },
    )
    .await;
    println!(
        "  tetherd gNMI: {clients} clients, {} Sets in {:.2} s = {:.0}/s; per Set {}",
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        summary(&mut lat)
    );
}

#[tokio::main]
async fn main() {
    let quick = std::env::var("TETHER_BENCH_QUICK").is_ok();
    let (rounds, n_setups, sessions, session_rounds) = if quick {
        (30, 10, 10, 5)
    } else {
        (500, 100, 100, 20)
    };
    let d = start();
    let tether = Target {
        name: "tetherd".into(),
        addr: d.netconf.clone(),
        login: Login::default(),
        pid: Some(d.child.id()),
    };
    let peer = peer();
    let mut targets = vec![tether.clone()];
    targets.extend(peer.clone());
    // Groups 1..=sessions for the NETCONF sessions, sessions+1..=2*sessions for gNMI.
    for t in &targets {
        create_groups(t, 2 * sessions).await;
    }
    println!(
        "tetherd (release, in-process dataplane, durable commits){}",
        peer.as_ref()
            .map(|p| format!(" and {} at {}", p.name, p.addr))
            .unwrap_or_default()
    );

    // 1. One change, round by round: NETCONF edit+commit, gNMI Set, (peer) NETCONF.
    let mut nc = tether.session().await;
    let mut gnmi = gnmi_client(&d.addr).await;
    let mut peer_nc = match &peer {
        Some(p) => Some(p.session().await),
        None => None,
    };
    let (mut t_nc, mut t_gnmi, mut t_peer) = (Vec::new(), Vec::new(), Vec::new());
    let (mut t_edit, mut t_commit, mut t_running) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let value = format!("round-{r}");
        let t0 = Instant::now();
        nc.ok(&edit_candidate(&group_config(1, &value))).await;
        let t1 = Instant::now();
        nc.ok("<commit/>").await;
        let t2 = Instant::now();
        t_edit.push(t1 - t0);
        t_commit.push(t2 - t1);
        t_nc.push(t2 - t0);
        let t0 = Instant::now();
        gnmi_change(&mut gnmi, 1, &value).await;
        t_gnmi.push(t0.elapsed());
        // The protocol alone: the same change as one edit-config of running.
        let t0 = Instant::now();
        nc.ok(&edit_running(&group_config(1, &format!("{value}-r"))))
            .await;
        t_running.push(t0.elapsed());
        if let Some(p) = &mut peer_nc {
            let t0 = Instant::now();
            netconf_change(p, 1, &value).await;
            t_peer.push(t0.elapsed());
        }
    }
    let (nc50, g50) = (pct(&mut t_nc, 0.5), pct(&mut t_gnmi, 0.5));
    println!("one leaf changed, {rounds} rounds interleaved:");
    println!(
        "  tetherd NETCONF edit-config (candidate) + commit: {} (p50 of the edit {:.3} ms, of the commit {:.3} ms)",
        summary(&mut t_nc),
        pct(&mut t_edit, 0.5),
        pct(&mut t_commit, 0.5)
    );
    println!("  tetherd gNMI Set: {}", summary(&mut t_gnmi));
    println!(
        "  tetherd NETCONF edit-config of running (no candidate): {}",
        summary(&mut t_running)
    );
    println!(
        "  NETCONF / gNMI p50: {:.2}x (target: within 2x: {})",
        nc50 / g50,
        if nc50 <= 2.0 * g50 { "met" } else { "missed" }
    );
    if let Some(p) = &peer {
        println!(
            "  {} NETCONF edit-config (candidate) + commit: {}",
            p.name,
            summary(&mut t_peer)
        );
    }
    nc.close().await;
    if let Some(p) = peer_nc {
        p.close().await;
    }

    // 2. Session set-up.
    println!("session set-up ({n_setups} sequential, connect to hello exchanged):");
    for t in &targets {
        let mut v = setups(t, n_setups).await;
        println!("  {} NETCONF over SSH: {}", t.name, summary(&mut v));
    }
    let mut v = Vec::new();
    for _ in 0..n_setups {
        let t0 = Instant::now();
        let mut c = gnmi_client(&d.addr).await;
        c.capabilities(CapabilityRequest::default()).await.unwrap();
        v.push(t0.elapsed());
    }
    println!(
        "  tetherd gNMI (plaintext HTTP/2 connect + Capabilities): {}",
        summary(&mut v)
    );

    // 3. Concurrent sessions.
    println!("{sessions} concurrent sessions, {session_rounds} changes each, own group each:");
    for t in &targets {
        concurrent_netconf(t, sessions, session_rounds, 1).await;
    }
    concurrent_gnmi(&d.addr, sessions, session_rounds, sessions + 1).await;
    println!("  tetherd RSS after: {:.1} MiB", rss_mib(d.child.id()));
}
