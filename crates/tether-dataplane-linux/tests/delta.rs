//! Root-only: the delta path (`update_bypass`) under 1,000 single-entry changes keeps a live
//! bypass TCP connection, its conntrack entry and its idle timeout (never reset), and applies
//! every change as set elements only. The entry is read twice: through the dataplane, and
//! with `conntrack -L` itself (same conntrack id, mark kept, timeout only counting down).

mod common;

use std::time::{Duration, Instant};

use common::can_run;
use common::topo::Topo;
use tether_dataplane::{
    AccessList, AclAction, AclEntry, BypassProgram, Dataplane, IPPROTO_TCP, Policy, PolicyClass,
    PortRange, ProgramDelta,
};
use tether_dataplane_linux::{ApplyKind, LinuxConfig, LinuxDataplane};

fn ace(seq: u32, src: &str, dst: &str) -> AclEntry {
    AclEntry {
        sequence: seq,
        action: AclAction::Permit,
        protocol: Some(IPPROTO_TCP),
        source: src.parse().expect("prefix"),
        destination: dst.parse().expect("prefix"),
        source_ports: PortRange::ANY,
        destination_ports: PortRange::ANY,
    }
}

/// Both directions of the topology's traffic bypassed (600 s idle) on the MPLS side.
fn program(extra: &[u32]) -> BypassProgram {
    let mut entries = vec![
        ace(10, "198.18.0.0/16", "198.19.0.0/16"),
        ace(20, "198.19.0.0/16", "198.18.0.0/16"),
    ];
    for i in extra {
        let host = format!("198.19.{}.{}/32", 200 + i / 250, i % 250 + 1);
        entries.push(ace(1000 + i, &host, "198.19.250.0/24"));
    }
    let mut p = BypassProgram::default();
    p.access_lists
        .insert("Stateless".into(), AccessList { entries });
    p.policies.insert(
        "Mpls".into(),
        Policy {
            classes: vec![PolicyClass {
                name: "tcp_bypass".into(),
                access_list: "Stateless".into(),
                tcp_state_bypass: true,
                idle_timeout: Duration::from_secs(600),
                limits: Default::default(),
                mode: Default::default(),
                trigger: None,
                armed: true,
            }],
        },
    );
    p.service_policies.insert("mp1".into(), "Mpls".into());
    p.service_policies.insert("dc0".into(), "Mpls".into());
    p
}

/// `conntrack -L -o id` in the firewall namespace, the connection to `port`: (id, timeout
/// seconds, mark) of each entry.
fn conntrack_l(t: &Topo, port: u16) -> Vec<(String, u64, String)> {
    let mut out: Vec<(String, u64, String)> = Vec::new();
    let text = t.fw.run(&format!(
        "conntrack -L -p tcp --dport {port} -o id 2>/dev/null"
    ));
    text.lines()
        .filter_map(|l| {
            let tokens: Vec<&str> = l.split_whitespace().collect();
            let timeout = tokens.get(2)?.parse().ok()?;
            let field = |k: &str| {
                tokens
                    .iter()
                    .find_map(|t| t.strip_prefix(k))
                    .map(str::to_string)
            };
            Some((field("id=")?, timeout, field("mark=")?))
        })
        .for_each(|e| out.push(e));
    out.sort();
    out
}

fn bypass_timeouts(dp: &LinuxDataplane) -> Vec<u64> {
    let now = dp.now_ns();
    dp.connections(true)
        .expect("connections")
        .iter()
        .map(|c| c.expires_ns.saturating_sub(now) / 1_000_000_000)
        .collect()
}

#[test]
fn a_live_connection_survives_1000_single_entry_changes() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let dp = LinuxDataplane::new(LinuxConfig {
        netns: Some(t.fw.name.clone()),
        ..Default::default()
    })
    .expect("dataplane");
    let _server = t.server(&[5001]);
    dp.install_bypass(&program(&[])).expect("install");
    let mut c = t.client(5001);
    t.via_mpls();
    assert!(c.exchange());
    let first = bypass_timeouts(&dp);
    assert!(
        !first.is_empty() && first.iter().all(|s| *s > 590),
        "{first:?}"
    );
    let listed = conntrack_l(&t, 5001);
    assert!(
        !listed.is_empty() && listed.iter().all(|(_, s, mark)| *s > 590 && mark != "0"),
        "conntrack -L: {listed:?}"
    );

    let mut present: Vec<u32> = Vec::new();
    let mut times = Vec::new();
    for step in 0..1000u32 {
        // Add an entry, or (every third step) delete the oldest one added.
        let seq = if step % 3 == 2 && !present.is_empty() {
            present.remove(0)
        } else {
            present.push(step);
            step
        };
        let delta = ProgramDelta {
            entries: [("Stateless".to_string(), 1000 + seq)].into(),
            ..Default::default()
        };
        let start = Instant::now();
        dp.update_bypass(&program(&present), &delta)
            .expect("update");
        times.push(start.elapsed());
        assert_eq!(dp.last_apply(), Some(ApplyKind::Elements), "step {step}");
    }
    times.sort();
    println!(
        "1,000 single-entry updates: p50 {:?}, p99 {:?}",
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
    let after = bypass_timeouts(&dp);
    assert_eq!(
        after.len(),
        first.len(),
        "the conntrack entries are gone: {after:?}"
    );
    assert!(
        after
            .iter()
            .zip(&first)
            .all(|(a, f)| a <= f && *a + 300 > *f),
        "timeouts reset or lost: before {first:?}, after {after:?}"
    );
    // The same entries by conntrack's own ids, marks kept, timeouts counting down only.
    let relisted = conntrack_l(&t, 5001);
    assert_eq!(relisted.len(), listed.len(), "conntrack -L: {relisted:?}");
    for ((id, secs, mark), (id0, secs0, mark0)) in relisted.iter().zip(&listed) {
        assert_eq!(
            (id, mark),
            (id0, mark0),
            "a new conntrack entry: {relisted:?}"
        );
        assert!(
            secs <= secs0 && secs + 300 > *secs0,
            "timeout reset: {secs0} -> {secs}"
        );
    }
    // The connection still passes, and the table holds exactly the entries present.
    assert!(c.exchange());
    let listing = t.fw.run("nft list table inet tether");
    assert_eq!(listing.matches("198.19.250.0/24").count(), present.len());
}
