//! Behaviour of the simulator as a whole, case tables first; the helpers every area shares.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::broadcast::error::TryRecvError;

use crate::*;

const T0: u64 = 1_700_000_000_000_000_000;

const MIN: Duration = Duration::from_secs(60);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ace(sequence: u32, action: AclAction, protocol: Option<u8>, src: &str, dst: &str) -> AclEntry {
    AclEntry {
        sequence,
        action,
        protocol,
        source: src.parse().unwrap(),
        destination: dst.parse().unwrap(),
        source_ports: PortRange::ANY,
        destination_ports: PortRange::ANY,
    }
}

fn permit(sequence: u32, src: &str, dst: &str) -> AclEntry {
    ace(sequence, AclAction::Permit, Some(IPPROTO_TCP), src, dst)
}

fn deny(sequence: u32, src: &str, dst: &str) -> AclEntry {
    ace(sequence, AclAction::Deny, Some(IPPROTO_TCP), src, dst)
}

fn class(name: &str, acl: &str, bypass: bool, idle: Duration) -> PolicyClass {
    PolicyClass {
        name: name.into(),
        access_list: acl.into(),
        tcp_state_bypass: bypass,
        idle_timeout: idle,
        limits: Default::default(),
        mode: Default::default(),
        trigger: None,
        armed: true,
    }
}

fn program(
    acls: Vec<(&str, Vec<AclEntry>)>,
    policies: Vec<(&str, Vec<PolicyClass>)>,
    service: &[(&str, &str)],
    global: Option<&str>,
) -> BypassProgram {
    BypassProgram {
        access_lists: acls
            .into_iter()
            .map(|(n, entries)| (n.to_string(), AccessList { entries }))
            .collect(),
        policies: policies
            .into_iter()
            .map(|(n, classes)| (n.to_string(), Policy { classes }))
            .collect(),
        service_policies: service
            .iter()
            .map(|(i, p)| (i.to_string(), p.to_string()))
            .collect(),
        global_policy: global.map(str::to_string),
    }
}

/// The reference scenario: StatelessTraffic between the data centre and a remote site, bypassed
/// on both Inside and MPLS with a 15-minute idle timeout.
fn reference_program() -> BypassProgram {
    program(
        vec![(
            "StatelessTraffic",
            vec![
                permit(10, "198.18.0.0/24", "198.19.0.0/24"),
                permit(20, "198.19.0.0/24", "198.18.0.0/24"),
            ],
        )],
        vec![
            (
                "Inside-policy",
                vec![class("tcp_bypass", "StatelessTraffic", true, 15 * MIN)],
            ),
            (
                "MPLS-policy",
                vec![class("tcp_bypass", "StatelessTraffic", true, 15 * MIN)],
            ),
        ],
        &[("Inside", "Inside-policy"), ("MPLS", "MPLS-policy")],
        None,
    )
}

fn sim(interfaces: &[&str]) -> SimDataplane {
    let sim = SimDataplane::with_clock(SimClock::starting_at(T0));
    for i in interfaces {
        sim.create_interface(i).unwrap();
    }
    sim
}

fn tcp(ingress: &str, src: &str, dst: &str, flags: TcpFlags) -> Packet {
    Packet::tcp(ingress, (ip(src), 40000), (ip(dst), 443), flags)
}

fn class_counters(sim: &SimDataplane, policy: &str, class: &str) -> ClassCounters {
    let counters = sim.bypass_counters().unwrap();
    counters
        .classes
        .into_iter()
        .find(|c| c.policy == policy && c.class == class)
        .unwrap()
}

// ===== classification =====

fn recv_closed(
    mut events: tokio::sync::broadcast::Receiver<DataplaneEvent>,
) -> Vec<TeardownReason> {
    let mut out = Vec::new();
    loop {
        match events.try_recv() {
            Ok(DataplaneEvent::ConnectionClosed { reason, .. }) => out.push(reason),
            Ok(_) => {}
            Err(TryRecvError::Empty) => return out,
            Err(e) => panic!("{e}"),
        }
    }
}

mod classify;
mod interfaces;
mod timers;
