//! Behaviour of the simulator as a whole, case tables first.

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

#[test]
fn first_matching_class_wins() {
    let p = program(
        vec![
            (
                "web",
                vec![ace(
                    10,
                    AclAction::Permit,
                    Some(IPPROTO_TCP),
                    "0.0.0.0/0",
                    "198.19.0.80/32",
                )],
            ),
            ("site", vec![permit(10, "198.18.0.0/24", "198.19.0.0/24")]),
            (
                "udp",
                vec![ace(
                    10,
                    AclAction::Permit,
                    Some(IPPROTO_UDP),
                    "0.0.0.0/0",
                    "0.0.0.0/0",
                )],
            ),
        ],
        vec![(
            "pol",
            vec![
                class("web", "web", false, 5 * MIN),
                class("site", "site", true, 15 * MIN),
                class("udp", "udp", true, 1 * MIN),
            ],
        )],
        &[],
        Some("pol"),
    );
    let s = sim(&["in"]);
    s.install_bypass(&p).unwrap();
    let mut udp = tcp("in", "198.18.0.9", "198.19.0.1", TcpFlags::default());
    udp.protocol = IPPROTO_UDP;
    // (packet, verdict, reason, class, idle timeout of the entry)
    let cases = [
        // Also in "site", but "web" comes first: a normal entry with web's timeout.
        (
            tcp("in", "198.18.0.1", "198.19.0.80", TcpFlags::SYN),
            Verdict::Pass,
            "new-syn",
            Some("web"),
            Some(5 * MIN),
        ),
        (
            tcp("in", "198.18.0.2", "198.19.0.80", TcpFlags::ACK),
            Verdict::Drop,
            "no-connection",
            Some("web"),
            None,
        ),
        (
            tcp("in", "198.18.0.3", "198.19.0.5", TcpFlags::ACK),
            Verdict::Pass,
            "bypass",
            Some("site"),
            Some(15 * MIN),
        ),
        (
            tcp("in", "192.0.2.1", "198.19.0.5", TcpFlags::SYN),
            Verdict::Pass,
            "new-syn",
            None,
            Some(DEFAULT_TCP_IDLE),
        ),
        (
            tcp("in", "192.0.2.2", "198.19.0.5", TcpFlags::ACK),
            Verdict::Drop,
            "no-connection",
            None,
            None,
        ),
        // A bypass class does not make UDP stateless; it just matches (and sets the timeout).
        (udp, Verdict::Pass, "new-flow", Some("udp"), Some(MIN)),
    ];
    for (i, (packet, verdict, reason, class, idle)) in cases.into_iter().enumerate() {
        let r = s.inject(&packet);
        assert_eq!(
            (r.verdict, r.reason.as_str(), r.class.as_deref()),
            (verdict, reason, class),
            "case {i}"
        );
        assert_eq!(
            r.connection.as_ref().map(|c| c.idle_timeout),
            idle,
            "case {i}"
        );
        if let Some(c) = &r.connection {
            assert_eq!(c.bypass, reason == "bypass", "case {i}");
        }
    }
}

#[test]
fn deny_wins_for_a_bypass_class() {
    let acl = vec![
        deny(10, "198.18.0.66/32", "0.0.0.0/0"),
        permit(20, "198.18.0.0/24", "0.0.0.0/0"),
    ];
    // (class is bypass, source, flags, verdict, reason)
    let cases = [
        (
            true,
            "198.18.0.66",
            TcpFlags::ACK,
            Verdict::Drop,
            "acl-deny",
        ),
        // Denied even though a SYN would open an ordinary connection: the ACL is the access rule.
        (
            true,
            "198.18.0.66",
            TcpFlags::SYN,
            Verdict::Drop,
            "acl-deny",
        ),
        (true, "198.18.0.7", TcpFlags::ACK, Verdict::Pass, "bypass"),
        // For an ordinary class a deny only means "not this class": the stateful rules decide.
        (
            false,
            "198.18.0.66",
            TcpFlags::SYN,
            Verdict::Pass,
            "new-syn",
        ),
        (
            false,
            "198.18.0.66",
            TcpFlags::ACK,
            Verdict::Drop,
            "no-connection",
        ),
    ];
    for (i, (bypass, src, flags, verdict, reason)) in cases.into_iter().enumerate() {
        let s = sim(&["in"]);
        let p = program(
            vec![("a", acl.clone())],
            vec![("p", vec![class("c", "a", bypass, MIN)])],
            &[],
            Some("p"),
        );
        s.install_bypass(&p).unwrap();
        let r = s.inject(&tcp("in", src, "198.19.0.1", flags));
        assert_eq!(
            (r.verdict, r.reason.as_str()),
            (verdict, reason),
            "case {i}"
        );
    }
}

#[test]
fn interface_service_policy_overrides_global() {
    let p = program(
        vec![("all", vec![permit(10, "0.0.0.0/0", "0.0.0.0/0")])],
        vec![
            ("bypass-all", vec![class("c", "all", true, MIN)]),
            ("strict", vec![class("c", "all", false, MIN)]),
        ],
        &[("inside", "strict")],
        Some("bypass-all"),
    );
    let s = sim(&["inside", "outside"]);
    s.install_bypass(&p).unwrap();
    // (interface, verdict, reason, policy)
    let cases = [
        ("inside", Verdict::Drop, "no-connection", Some("strict")),
        ("outside", Verdict::Pass, "bypass", Some("bypass-all")),
    ];
    for (iface, verdict, reason, policy) in cases {
        let r = s.inject(&tcp(iface, "198.18.0.1", "198.19.0.1", TcpFlags::ACK));
        assert_eq!(
            (r.verdict, r.reason.as_str(), r.policy.as_deref()),
            (verdict, reason, policy),
            "{iface}"
        );
    }
    // An interface created after the install picks up the global policy too.
    s.create_interface("late").unwrap();
    assert_eq!(
        s.inject(&tcp("late", "198.18.0.2", "198.19.0.1", TcpFlags::ACK))
            .reason,
        VerdictReason::Bypass
    );
}

#[test]
fn asymmetric_return_path_is_bypassed_but_still_checked_by_the_acl() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&reference_program()).unwrap();
    // Mid-flow packets arrive from the remote site over MPLS after the fibre cut: no state, bypassed.
    let fwd = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    assert_eq!(s.inject(&fwd).reason, VerdictReason::Bypass);
    let back = fwd.reply("Inside", TcpFlags::ACK);
    let r = s.inject(&back);
    assert_eq!(
        (r.reason, r.connection.as_ref().map(|c| c.packets)),
        (VerdictReason::Established, Some(2))
    );
    // Narrow the ACL to the forward direction only: the entry's first packet still matches, so the
    // entry stays, but the reply is now refused packet by packet.
    let mut narrower = reference_program();
    narrower
        .access_lists
        .get_mut("StatelessTraffic")
        .unwrap()
        .entries
        .remove(0);
    s.install_bypass(&narrower).unwrap();
    assert_eq!(s.connections(true).unwrap().len(), 1);
    assert_eq!(s.inject(&back).reason, VerdictReason::AclDeny);
    assert_eq!(s.inject(&fwd).reason, VerdictReason::Established);
}

// ===== connection lifecycle =====

#[test]
fn fin_and_rst_close_normal_entries_but_not_bypass_entries() {
    // (bypass class, flags after the opening packet(s) as (from originator, flags), entries left)
    let close_by_fins: &[(bool, TcpFlags)] = &[
        (false, TcpFlags::SYN_ACK),
        (true, TcpFlags::FIN_ACK),
        (false, TcpFlags::FIN_ACK),
    ];
    let close_by_rst: &[(bool, TcpFlags)] = &[(false, TcpFlags::SYN_ACK), (false, TcpFlags::RST)];
    let cases = [
        (false, close_by_fins, 0),
        (false, close_by_rst, 0),
        (true, close_by_fins, 1),
        (true, close_by_rst, 1),
    ];
    for (i, (bypass, packets, left)) in cases.into_iter().enumerate() {
        let s = sim(&["in", "out"]);
        let p = program(
            vec![("a", vec![permit(10, "0.0.0.0/0", "0.0.0.0/0")])],
            vec![("p", vec![class("c", "a", bypass, MIN)])],
            &[],
            Some("p"),
        );
        s.install_bypass(&p).unwrap();
        let events = s.subscribe();
        let syn = tcp("in", "198.18.0.1", "198.19.0.1", TcpFlags::SYN);
        assert!(s.inject(&syn).passed(), "case {i}");
        for (from_originator, flags) in packets {
            let pkt = if *from_originator {
                tcp("in", "198.18.0.1", "198.19.0.1", *flags)
            } else {
                syn.reply("out", *flags)
            };
            assert!(s.inject(&pkt).passed(), "case {i}");
        }
        assert_eq!(s.connections(false).unwrap().len(), left, "case {i}");
        let c = class_counters(&s, "p", "c");
        assert_eq!(
            (c.torn_down_fin_rst, c.connections_current),
            (1 - left as u64, left as u64),
            "case {i}"
        );
        if left == 0 {
            let closed = recv_closed(events);
            assert_eq!(closed, vec![TeardownReason::FinRst], "case {i}");
        }
    }
}

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

#[test]
fn idle_expiry_happens_exactly_at_the_timeout() {
    // (protocol/flags opening the entry, class idle timeout or None for the defaults, timeout expected)
    let bypass_idle = 15 * MIN;
    let cases: [(u8, TcpFlags, Option<Duration>, Duration); 5] = [
        (IPPROTO_TCP, TcpFlags::ACK, Some(bypass_idle), bypass_idle),
        // An embryonic TCP entry (SYN, no SYN-ACK yet).
        (IPPROTO_TCP, TcpFlags::SYN, None, EMBRYONIC_TIMEOUT),
        (IPPROTO_UDP, TcpFlags::default(), None, DEFAULT_UDP_IDLE),
        (IPPROTO_ICMP, TcpFlags::default(), None, DEFAULT_ICMP_IDLE),
        (IPPROTO_UDP, TcpFlags::default(), Some(7 * MIN), 7 * MIN),
    ];
    for (i, (protocol, flags, idle, expected)) in cases.into_iter().enumerate() {
        let s = sim(&["in"]);
        if let Some(idle) = idle {
            let p = program(
                vec![(
                    "a",
                    vec![ace(10, AclAction::Permit, None, "0.0.0.0/0", "0.0.0.0/0")],
                )],
                vec![("p", vec![class("c", "a", true, idle)])],
                &[],
                Some("p"),
            );
            s.install_bypass(&p).unwrap();
        }
        let mut pkt = tcp("in", "198.18.0.1", "198.19.0.1", flags);
        pkt.protocol = protocol;
        if protocol != IPPROTO_TCP {
            (pkt.src_port, pkt.dst_port) = (0, 0);
        }
        assert!(s.inject(&pkt).passed(), "case {i}");
        let events = s.subscribe();
        s.advance(expected - Duration::from_nanos(1));
        assert_eq!(
            s.connections(false).unwrap().len(),
            1,
            "case {i}: expired early"
        );
        s.advance(Duration::from_nanos(1));
        assert_eq!(
            s.connections(false).unwrap().len(),
            0,
            "case {i}: not expired at the timeout"
        );
        assert_eq!(recv_closed(events), vec![TeardownReason::Idle], "case {i}");
    }
}

#[test]
fn traffic_restarts_the_idle_timer() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&reference_program()).unwrap();
    let pkt = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    s.inject(&pkt);
    s.advance(10 * MIN);
    s.inject(&pkt);
    s.advance(10 * MIN);
    assert_eq!(s.connections(true).unwrap().len(), 1);
    s.advance(5 * MIN);
    assert!(s.connections(true).unwrap().is_empty());
    let c = class_counters(&s, "MPLS-policy", "tcp_bypass");
    assert_eq!(
        (
            c.bypass_built,
            c.torn_down_idle,
            c.bypass_current,
            c.matched_packets
        ),
        (1, 1, 0, 2)
    );
}

#[test]
fn reinstalling_a_changed_program_keeps_live_timers() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&reference_program()).unwrap();
    let bypassed = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    let normal = tcp("Inside", "192.0.2.1", "198.19.0.7", TcpFlags::SYN);
    s.inject(&bypassed);
    s.inject(&normal);
    s.inject(&normal.reply("MPLS", TcpFlags::SYN_ACK));
    let before = s.connections(false).unwrap();
    s.advance(10 * MIN);

    // (description, change, bypass entries left, flushed, expiry of the bypass entry from its last packet)
    type Change = fn(&mut BypassProgram);
    let cases: [(&str, Change, usize, u64, Option<Duration>); 5] = [
        (
            "unrelated ACL entry added",
            |p| {
                p.access_lists
                    .get_mut("StatelessTraffic")
                    .unwrap()
                    .entries
                    .push(permit(30, "192.0.2.0/24", "198.18.0.0/24"))
            },
            1,
            0,
            Some(15 * MIN),
        ),
        (
            "idle timeout lengthened",
            |p| p.policies.get_mut("MPLS-policy").unwrap().classes[0].idle_timeout = 20 * MIN,
            1,
            0,
            Some(20 * MIN),
        ),
        (
            "class no longer bypasses",
            |p| p.policies.get_mut("MPLS-policy").unwrap().classes[0].tcp_state_bypass = false,
            0,
            1,
            None,
        ),
        (
            "service-policy removed",
            |p| {
                p.service_policies.remove("MPLS");
            },
            0,
            1,
            None,
        ),
        (
            "ACL no longer permits the first packet",
            |p| {
                p.access_lists
                    .get_mut("StatelessTraffic")
                    .unwrap()
                    .entries
                    .remove(1);
            },
            0,
            1,
            None,
        ),
    ];
    for (what, change, left, flushed, expiry) in cases {
        // Each case starts from the same table: rebuild it on a fresh simulator at the same time.
        let s2 = sim(&["Inside", "MPLS"]);
        s2.install_bypass(&reference_program()).unwrap();
        s2.inject(&bypassed);
        s2.inject(&normal);
        s2.inject(&normal.reply("MPLS", TcpFlags::SYN_ACK));
        s2.advance(10 * MIN);
        let mut p = reference_program();
        change(&mut p);
        s2.install_bypass(&p).unwrap();

        let conns = s2.connections(false).unwrap();
        let bypass: Vec<_> = conns.iter().filter(|c| c.bypass).collect();
        assert_eq!(bypass.len(), left, "{what}");
        // The normal connection never depends on the program.
        assert!(
            conns.iter().any(|c| !c.bypass && c.last_seen_ns == T0),
            "{what}"
        );
        if let (Some(b), Some(expiry)) = (bypass.first(), expiry) {
            assert_eq!(b.last_seen_ns, T0, "{what}: timer reset");
            assert_eq!(b.expires_ns, T0 + expiry.as_nanos() as u64, "{what}");
        }
        let counters = s2.bypass_counters().unwrap();
        assert_eq!(counters.flushed_total, flushed, "{what}");
        let row = counters
            .classes
            .iter()
            .find(|c| c.policy == "MPLS-policy")
            .unwrap();
        assert_eq!(row.torn_down_flushed, flushed, "{what}");
        assert_eq!(row.bypass_built, 1, "{what}: counters carried over");
    }

    // And on the first simulator: reinstalling the identical program changes nothing.
    s.install_bypass(&reference_program()).unwrap();
    assert_eq!(s.connections(false).unwrap(), before);
    s.advance(5 * MIN - Duration::from_nanos(1));
    assert_eq!(s.connections(true).unwrap().len(), 1);
    s.advance(Duration::from_nanos(1));
    assert!(s.connections(true).unwrap().is_empty());
}

#[test]
fn a_bad_program_changes_nothing() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&reference_program()).unwrap();
    let mut bad = reference_program();
    bad.service_policies.insert("X".into(), "missing".into());
    assert!(matches!(
        s.install_bypass(&bad),
        Err(DataplaneError::InvalidProgram(
            ProgramError::UnknownPolicy { .. }
        ))
    ));
    assert_eq!(s.installed_program(), reference_program());
}

// ===== interfaces =====

#[test]
fn oper_status_follows_admin_carrier_and_tether_disable() {
    let s = sim(&["e1"]);
    type Step = fn(&SimDataplane);
    // (step, admin_up, carrier, disabled_by_tether, oper status, carrier transitions)
    let steps: [(Step, bool, bool, bool, OperStatus, u64); 7] = [
        (
            |s| drop(s.set_carrier("e1", false)),
            true,
            false,
            false,
            OperStatus::Down,
            1,
        ),
        (
            |s| drop(s.set_carrier("e1", true)),
            true,
            true,
            false,
            OperStatus::Up,
            2,
        ),
        (
            |s| drop(s.set_tether_disabled("e1", true)),
            true,
            true,
            true,
            OperStatus::Disabled,
            2,
        ),
        // The operator shuts it too; Tether re-enabling must not bring it up.
        (
            |s| drop(s.set_admin("e1", false)),
            false,
            true,
            true,
            OperStatus::Disabled,
            2,
        ),
        (
            |s| drop(s.set_tether_disabled("e1", false)),
            false,
            true,
            false,
            OperStatus::Down,
            2,
        ),
        (
            |s| drop(s.set_admin("e1", true)),
            true,
            true,
            false,
            OperStatus::Up,
            2,
        ),
        // Idempotent: no change, no event, no new last-change.
        (
            |s| drop(s.set_admin("e1", true)),
            true,
            true,
            false,
            OperStatus::Up,
            2,
        ),
    ];
    let mut events = s.subscribe();
    for (i, (step, admin, carrier, disabled, status, transitions)) in steps.into_iter().enumerate()
    {
        s.advance(Duration::from_secs(1));
        step(&s);
        let st = s.interface("e1").unwrap();
        assert_eq!(
            (
                st.admin_up,
                st.carrier,
                st.disabled_by_tether,
                st.oper_status(),
                st.carrier_transitions
            ),
            (admin, carrier, disabled, status, transitions),
            "step {i}"
        );
        assert_eq!(st.oper_up, status == OperStatus::Up, "step {i}");
    }
    let mut changes = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let DataplaneEvent::InterfaceChanged(st) = e {
            changes.push((st.oper_up, st.last_change_ns));
        }
    }
    let sec = 1_000_000_000;
    assert_eq!(
        changes,
        vec![
            (false, T0 + sec),
            (true, T0 + 2 * sec),
            (false, T0 + 3 * sec),
            (false, T0 + 3 * sec),
            (false, T0 + 3 * sec),
            (true, T0 + 6 * sec)
        ]
    );
}

#[test]
fn packets_on_a_down_interface_are_dropped() {
    let s = sim(&["in"]);
    let syn = tcp("in", "198.18.0.1", "198.19.0.1", TcpFlags::SYN);
    // (step, reason)
    type Step = fn(&SimDataplane);
    let cases: [(Step, VerdictReason); 4] = [
        (
            |s| drop(s.set_carrier("in", false)),
            VerdictReason::InterfaceDown,
        ),
        (|s| drop(s.set_carrier("in", true)), VerdictReason::NewSyn),
        (
            |s| drop(s.set_tether_disabled("in", true)),
            VerdictReason::InterfaceDown,
        ),
        (
            |s| drop(s.remove_interface("in")),
            VerdictReason::UnknownInterface,
        ),
    ];
    for (i, (step, reason)) in cases.into_iter().enumerate() {
        step(&s);
        assert_eq!(s.inject(&syn).reason, reason, "case {i}");
    }
}

#[test]
fn interface_errors_name_the_interface() {
    let s = sim(&["a"]);
    assert_eq!(
        s.create_interface("a"),
        Err(DataplaneError::InterfaceExists("a".into()))
    );
    assert_eq!(
        s.set_carrier("zz", true),
        Err(DataplaneError::UnknownInterface("zz".into()))
    );
    assert_eq!(
        s.set_tether_disabled("zz", true),
        Err(DataplaneError::UnknownInterface("zz".into()))
    );
    // ifindexes are never reused.
    s.remove_interface("a").unwrap();
    assert_eq!(s.create_interface("a").unwrap().ifindex, 2);
}

// ===== counters =====

#[test]
fn counters_count_hits_matches_and_interface_traffic() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&reference_program()).unwrap();
    let fwd = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    s.inject(&fwd);
    s.inject(&fwd);
    s.inject(&fwd.reply("Inside", TcpFlags::ACK));
    s.inject(&tcp("MPLS", "192.0.2.1", "198.18.0.20", TcpFlags::ACK)); // no class, no connection
    let counters = s.bypass_counters().unwrap();
    let hits: Vec<_> = counters
        .acl_entries
        .iter()
        .map(|e| (e.access_list.as_str(), e.sequence, e.hits))
        .collect();
    assert_eq!(
        hits,
        vec![("StatelessTraffic", 10, 1), ("StatelessTraffic", 20, 2)]
    );
    let c = class_counters(&s, "MPLS-policy", "tcp_bypass");
    assert_eq!(
        (
            c.matched_packets,
            c.matched_bytes,
            c.bypass_current,
            c.bypass_built
        ),
        (3, 192, 1, 1)
    );
    assert_eq!(
        class_counters(&s, "Inside-policy", "tcp_bypass").matched_packets,
        0
    );
    let mpls = s.interface("MPLS").unwrap().counters;
    assert_eq!(
        (mpls.in_packets, mpls.in_bytes, mpls.in_dropped),
        (3, 192, 1)
    );
}

#[test]
fn ipv6_flows_are_classified_and_tracked() {
    let s = sim(&["in"]);
    let p = program(
        vec![("v6", vec![permit(10, "2001:db8:1::/48", "2001:db8:2::/48")])],
        vec![("p", vec![class("c", "v6", true, MIN)])],
        &[],
        Some("p"),
    );
    s.install_bypass(&p).unwrap();
    let pkt = tcp("in", "2001:db8:1::5", "2001:db8:2::7", TcpFlags::ACK);
    assert_eq!(s.inject(&pkt).reason, VerdictReason::Bypass);
    assert_eq!(
        s.inject(&pkt.reply("in", TcpFlags::ACK)).reason,
        VerdictReason::AclDeny
    );
    assert_eq!(
        s.inject(&tcp("in", "2001:db8:9::5", "2001:db8:2::7", TcpFlags::ACK))
            .reason,
        VerdictReason::NoConnection
    );
}

#[test]
fn dataplane_is_object_safe_and_reports_its_clock() {
    let s: std::sync::Arc<dyn Dataplane> = std::sync::Arc::new(sim(&["x"]));
    assert_eq!(s.kind(), DataplaneKind::Sim);
    assert_eq!(s.now_ns(), T0);
    assert_eq!(s.interfaces().unwrap()[0].last_change_ns, T0);
}

// ===== the real-time clock =====

#[test]
fn on_real_time_a_bypass_entry_expires_by_itself_and_a_step_still_jumps() {
    let s = SimDataplane::with_mode(ClockMode::Real);
    assert_eq!(s.clock_mode(), ClockMode::Real);
    s.create_interface("in").unwrap();
    let p = program(
        vec![("a", vec![permit(10, "198.18.0.0/24", "198.19.0.0/24")])],
        vec![("p", vec![class("c", "a", true, Duration::from_secs(1))])],
        &[],
        Some("p"),
    );
    s.install_bypass(&p).unwrap();
    let events = s.subscribe();
    let first = tcp("in", "198.18.0.1", "198.19.0.1", TcpFlags::ACK);
    assert!(s.inject(&first).passed());
    let t0 = s.now_ns();
    assert_eq!(s.connections(true).unwrap().len(), 1);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(s.now_ns() - t0 >= 1_100_000_000, "the clock ran");
    // No step was taken: the read itself expired the entry.
    assert_eq!(s.connections(true).unwrap().len(), 0);
    assert_eq!(recv_closed(events), vec![TeardownReason::Idle]);

    // A step on real time still jumps ahead and expires what it passes.
    let events = s.subscribe();
    assert!(s.inject(&first).passed());
    let before = s.now_ns();
    let after = s.advance(Duration::from_secs(5));
    assert!(after >= before + 5_000_000_000);
    assert_eq!(recv_closed(events), vec![TeardownReason::Idle]);
    assert_eq!(s.expire_due(), 0);
}

#[test]
fn on_a_manual_clock_nothing_expires_without_a_step() {
    let s = SimDataplane::with_mode(ClockMode::Manual);
    s.create_interface("in").unwrap();
    let p = program(
        vec![("a", vec![permit(10, "198.18.0.0/24", "198.19.0.0/24")])],
        vec![("p", vec![class("c", "a", true, Duration::from_secs(1))])],
        &[],
        Some("p"),
    );
    s.install_bypass(&p).unwrap();
    assert!(
        s.inject(&tcp("in", "198.18.0.1", "198.19.0.1", TcpFlags::ACK))
            .passed()
    );
    let t0 = s.now_ns();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(s.now_ns(), t0);
    assert_eq!(s.expire_due(), 0);
    assert_eq!(s.connections(true).unwrap().len(), 1);
    s.advance(Duration::from_secs(1));
    assert_eq!(s.connections(true).unwrap().len(), 0);
}
