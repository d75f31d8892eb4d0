//! Linux dataplane benchmark (needs root, nft, conntrack, iproute2; skips otherwise):
//! - nft program load with 10 / 1,000 / 10,000 / 100,000 access-list entries (first install and
//!   rebuild);
//! - adding and deleting one entry at 10,000: the whole program diffed, and the worker's delta;
//! - carrier loss → event latency, one link, and 10 links dropping together (with the 10 ms poll,
//!   and once without it to show the kernel's notification path).
//!
//! `cargo bench -p tether-dataplane-linux --bench nft` (`TETHER_BENCH_ONLY=load`: the nft part only)

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Netns, can_run, sh, veth};
use tether_dataplane::{
    AccessList, AclAction, AclEntry, BypassProgram, Dataplane, DataplaneEvent, IPPROTO_TCP,
    IpPrefix, Policy, PolicyClass, PortRange,
};
use tether_dataplane_linux::{ApplyKind, LinuxConfig, LinuxDataplane};

fn program(n: usize) -> BypassProgram {
    let entries = (0..n)
        .map(|i| AclEntry {
            sequence: u32::try_from(i + 1).unwrap_or(u32::MAX) * 10,
            action: AclAction::Permit,
            protocol: Some(IPPROTO_TCP),
            // Distinct hosts of 198.18.0.0/15 (131,072 of them).
            source: IpPrefix::host(std::net::IpAddr::from([
                198,
                18 + ((i >> 16) & 1) as u8,
                ((i >> 8) & 0xff) as u8,
                (i & 0xff) as u8,
            ])),
            destination: "198.19.0.0/24".parse().expect("prefix"),
            source_ports: PortRange::ANY,
            destination_ports: PortRange::single(443),
        })
        .collect();
    let mut p = BypassProgram::default();
    p.access_lists
        .insert("Bench".into(), AccessList { entries });
    p.policies.insert(
        "P".into(),
        Policy {
            classes: vec![PolicyClass {
                name: "bypass".into(),
                access_list: "Bench".into(),
                tcp_state_bypass: true,
                idle_timeout: Duration::from_secs(900),
                limits: Default::default(),
                mode: Default::default(),
                trigger: None,
                armed: true,
            }],
        },
    );
    p.global_policy = Some("P".into());
    p
}

fn dataplane(ns: &Netns, poll: Option<Duration>) -> LinuxDataplane {
    LinuxDataplane::new(LinuxConfig {
        netns: Some(ns.name.clone()),
        carrier_poll: poll,
        ..Default::default()
    })
    .expect("dataplane")
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn bench_load() {
    for n in [10, 1_000, 10_000, 100_000] {
        let p = program(n);
        let t = Instant::now();
        let r = tether_dataplane_linux::render::render(&p, Default::default());
        println!(
            "render {n:>6} entries (Rust only): {} ({} sets)",
            ms(t.elapsed()),
            r.sets.len()
        );
    }
    for n in [10, 1_000, 10_000, 100_000] {
        let ns = Netns::new();
        let dp = dataplane(&ns, None);
        let p = program(n);
        let t = Instant::now();
        dp.install_bypass(&p).expect("install");
        let first = t.elapsed();
        // A rebuild over an existing table (structure forgotten: what drift repair does).
        ns.run("nft flush chain inet tether forward");
        let t = Instant::now();
        assert!(dp.repair_drift().expect("repair"));
        let rebuild = t.elapsed();
        println!(
            "load {n:>6} entries: first install {}, rebuild over the old table {}",
            ms(first),
            ms(rebuild)
        );
        if n == 10_000 {
            // Adding one entry at a time (in place), then deleting them one at a time.
            let (mut adds, mut dels) = (Vec::new(), Vec::new());
            for k in 1..=10 {
                let t = Instant::now();
                dp.install_bypass(&program(n + k)).expect("install");
                adds.push(t.elapsed());
                assert_eq!(dp.last_apply(), Some(ApplyKind::Elements));
            }
            for k in (0..10).rev() {
                let t = Instant::now();
                dp.install_bypass(&program(n + k)).expect("install");
                dels.push(t.elapsed());
                assert_eq!(dp.last_apply(), Some(ApplyKind::Elements));
            }
            println!(
                "+1 entry to {n} (whole program diffed, 10 runs): p50 {}, max {}; -1 entry: p50 {}, max {}",
                ms(pct(&mut adds, 0.5)),
                ms(pct(&mut adds, 1.0)),
                ms(pct(&mut dels, 0.5)),
                ms(pct(&mut dels, 1.0))
            );
            // The same through the worker's path: the commit's delta, one entry re-rendered.
            let (mut adds, mut dels) = (Vec::new(), Vec::new());
            let delta = |k: usize| tether_dataplane::ProgramDelta {
                entries: [(
                    "Bench".to_string(),
                    u32::try_from(n + k).unwrap_or(u32::MAX) * 10,
                )]
                .into(),
                ..Default::default()
            };
            for k in 1..=20 {
                let t = Instant::now();
                dp.update_bypass(&program(n + k), &delta(k))
                    .expect("update");
                adds.push(t.elapsed());
                assert_eq!(dp.last_apply(), Some(ApplyKind::Elements));
            }
            for k in (0..20).rev() {
                let t = Instant::now();
                dp.update_bypass(&program(n + k), &delta(k + 1))
                    .expect("update");
                dels.push(t.elapsed());
                assert_eq!(dp.last_apply(), Some(ApplyKind::Elements));
            }
            println!(
                "+1 entry to {n} (delta, 20 runs): p50 {}, max {}; -1 entry: p50 {}, max {}",
                ms(pct(&mut adds, 0.5)),
                ms(pct(&mut adds, 1.0)),
                ms(pct(&mut dels, 0.5)),
                ms(pct(&mut dels, 1.0))
            );
        }
    }
}

fn drop_together(dp: &LinuxDataplane, peer: &Netns, links: &[String]) -> Vec<Duration> {
    let mut rx = dp.subscribe();
    let batch: String = links
        .iter()
        .map(|l| format!("link set {l}p down\n"))
        .collect();
    let script = std::env::temp_dir().join(format!("{}-batch", peer.name));
    std::fs::write(&script, batch).expect("batch");
    let start = Instant::now();
    sh(&format!("ip -n {} -batch {}", peer.name, script.display()));
    let mut pending: Vec<&String> = links.iter().collect();
    let mut out = Vec::new();
    while !pending.is_empty() && start.elapsed() < Duration::from_secs(5) {
        match rx.try_recv() {
            Ok(DataplaneEvent::InterfaceChanged(s)) if !s.carrier => {
                if let Some(i) = pending.iter().position(|l| **l == s.name) {
                    pending.remove(i);
                    out.push(start.elapsed());
                }
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_micros(100)),
        }
    }
    assert!(pending.is_empty(), "no carrier-down event for {pending:?}");
    let up: String = links
        .iter()
        .map(|l| format!("link set {l}p up\n"))
        .collect();
    std::fs::write(&script, up).expect("batch");
    sh(&format!("ip -n {} -batch {}", peer.name, script.display()));
    let _ = std::fs::remove_file(script);
    // Let carrier come back (and the kernel's notification burst drain) before the next run.
    std::thread::sleep(Duration::from_millis(1500));
    out
}

fn bench_carrier(links: usize, runs: usize, poll: Option<Duration>) {
    let (a, b) = (Netns::new(), Netns::new());
    let names: Vec<String> = (0..links).map(|i| format!("up{i}")).collect();
    for n in &names {
        veth(&a, n, &b, &format!("{n}p"));
    }
    let dp = dataplane(&a, poll);
    let mut all = Vec::new();
    let mut worst = Vec::new();
    for _ in 0..runs {
        let l = drop_together(&dp, &b, &names);
        worst.push(l.iter().copied().max().unwrap_or_default());
        all.extend(l);
    }
    println!(
        "carrier loss -> event, {links} link(s) together, poll {:?}, {runs} runs: per link p50 {}, p99 {}; slowest link per run p50 {}, p99 {}",
        poll,
        ms(pct(&mut all, 0.5)),
        ms(pct(&mut all, 0.99)),
        ms(pct(&mut worst, 0.5)),
        ms(pct(&mut worst, 0.99)),
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !can_run() {
        return;
    }
    bench_load();
    if std::env::var("TETHER_BENCH_ONLY").is_ok_and(|v| v == "load") {
        return;
    }
    bench_carrier(1, 30, Some(Duration::from_millis(10)));
    bench_carrier(10, 20, Some(Duration::from_millis(10)));
    bench_carrier(10, 3, None);
}
