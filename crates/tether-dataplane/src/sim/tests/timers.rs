//! Connection lifetimes: FIN/RST, idle expiry to the nanosecond, reinstalls that keep timers, both clocks.

use super::*;

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

/// The reference program, its classes stateful (no bypass) with `limits`.
fn limited(limits: ClassLimits) -> BypassProgram {
    let mut p = reference_program();
    for pol in p.policies.values_mut() {
        for c in &mut pol.classes {
            c.tcp_state_bypass = false;
            c.limits = limits;
        }
    }
    p
}

fn syn_from(port: u16) -> Packet {
    let mut p = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::SYN);
    p.src_port = port;
    p
}

#[test]
fn conn_max_and_embryonic_conn_max_refuse_and_count() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&limited(ClassLimits {
        conn_max: Some(2),
        embryonic_conn_max: Some(1),
        ..Default::default()
    }))
    .unwrap();
    assert_eq!(s.inject(&syn_from(1000)).reason, VerdictReason::NewSyn);
    // One embryonic connection already: the next SYN is refused by embryonic-conn-max.
    let r = s.inject(&syn_from(1001));
    assert_eq!(
        (r.verdict, r.reason),
        (Verdict::Drop, VerdictReason::EmbryonicLimit)
    );
    // The first completes its handshake: room for another embryonic one, then conn-max (2).
    s.inject(&syn_from(1000).reply("Inside", TcpFlags::SYN_ACK));
    assert_eq!(s.inject(&syn_from(1002)).reason, VerdictReason::NewSyn);
    let r = s.inject(&syn_from(1003));
    assert_eq!(
        (r.verdict, r.reason),
        (Verdict::Drop, VerdictReason::ConnLimit)
    );
    let k = class_counters(&s, "MPLS-policy", "tcp_bypass");
    assert_eq!(
        (k.refused_conn_max, k.refused_embryonic_conn_max),
        (1, 1),
        "{k:?}"
    );
}

#[test]
fn embryonic_and_half_closed_timeouts_are_the_class_s() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&limited(ClassLimits {
        embryonic_timeout: Some(Duration::from_secs(5)),
        half_closed_timeout: Some(Duration::from_secs(40)),
        ..Default::default()
    }))
    .unwrap();
    let r = s.inject(&syn_from(2000));
    assert_eq!(
        r.connection.map(|c| c.current_timeout()),
        Some(Duration::from_secs(5))
    );
    s.advance(Duration::from_secs(5));
    assert!(
        s.connections(false).unwrap().is_empty(),
        "embryonic entry gone after 5 s"
    );
    // Established, then a FIN from one side: half-closed, on the class's 40 s.
    s.inject(&syn_from(2001));
    s.inject(&syn_from(2001).reply("Inside", TcpFlags::SYN_ACK));
    let mut fin = syn_from(2001);
    fin.tcp_flags = TcpFlags::FIN_ACK;
    let r = s.inject(&fin);
    let c = r.connection.expect("entry");
    assert_eq!(
        (c.state, c.current_timeout()),
        (ConnectionState::Closing, Duration::from_secs(40))
    );
    s.advance(Duration::from_secs(40));
    assert!(
        s.connections(false).unwrap().is_empty(),
        "half-closed entry gone after 40 s"
    );
}
