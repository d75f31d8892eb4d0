//! Which class a packet lands in, what the ACL still refuses, and what is counted.

use super::*;

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
fn usage_counts_every_entry_and_keeps_the_most_at_once() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&reference_program()).unwrap();
    assert_eq!(s.connection_usage(), (0, 0));
    let a = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    let b = tcp("MPLS", "198.19.0.11", "198.18.0.20", TcpFlags::ACK);
    s.inject(&a);
    s.inject(&b);
    assert_eq!(s.connection_usage(), (2, 2));
    // Both expire at the class's idle timeout: none in use, the peak stays.
    s.advance(std::time::Duration::from_secs(24 * 3600));
    assert_eq!(s.connections(false).unwrap().len(), 0);
    assert_eq!(s.connection_usage(), (0, 2));
    s.inject(&a);
    assert_eq!(s.connection_usage(), (1, 2));
}

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

/// The reference program with every class in `mode`.
fn in_mode(mode: BypassMode) -> BypassProgram {
    let mut p = reference_program();
    for pol in p.policies.values_mut() {
        for c in &mut pol.classes {
            c.mode = mode;
        }
    }
    p
}

#[test]
fn syn_check_mode_builds_an_ordinary_entry_without_a_syn_that_fin_ends() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&in_mode(BypassMode::SynCheck)).unwrap();
    let fwd = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    let r = s.inject(&fwd);
    assert_eq!(
        (r.verdict, r.reason),
        (Verdict::Pass, VerdictReason::NoSynCheck)
    );
    let c = r.connection.expect("an entry");
    assert!(!c.bypass, "tracked as usual, not a bypass entry");
    assert_eq!(c.state, ConnectionState::Established);
    // FIN from both sides ends it, as any tracked connection (a full bypass entry ignores FIN).
    let fin = TcpFlags {
        fin: true,
        ack: true,
        ..Default::default()
    };
    s.inject(&tcp("MPLS", "198.19.0.10", "198.18.0.20", fin));
    s.inject(&fwd.reply("Inside", fin));
    assert!(s.connections(false).unwrap().is_empty());
    let k = class_counters(&s, "MPLS-policy", "tcp_bypass");
    assert_eq!((k.bypass_built, k.torn_down_fin_rst), (1, 1), "{k:?}");
    // A SYN is an ordinary new connection in every mode.
    let syn = TcpFlags {
        syn: true,
        ..Default::default()
    };
    let r = s.inject(&tcp("MPLS", "198.19.0.11", "198.18.0.20", syn));
    assert_eq!(r.reason, VerdictReason::NewSyn);
}

#[test]
fn stateless_mode_passes_on_the_access_list_alone_and_builds_nothing() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&in_mode(BypassMode::Stateless)).unwrap();
    let fwd = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    for _ in 0..3 {
        let r = s.inject(&fwd);
        assert_eq!(
            (r.verdict, r.reason),
            (Verdict::Pass, VerdictReason::Stateless)
        );
        assert!(r.connection.is_none());
        let back = s.inject(&fwd.reply("Inside", TcpFlags::ACK));
        assert_eq!(back.reason, VerdictReason::Stateless);
    }
    assert!(s.connections(false).unwrap().is_empty());
    let k = class_counters(&s, "MPLS-policy", "tcp_bypass");
    assert_eq!((k.matched_packets, k.bypass_built), (3, 0), "{k:?}");
    // Outside the access-list: still dropped without state.
    let other = s.inject(&tcp("MPLS", "198.17.0.1", "198.18.0.20", TcpFlags::ACK));
    assert_eq!(other.verdict, Verdict::Drop);
    // A disarmed stateless class holds the flow to state at once (there is no entry to keep).
    let mut disarmed = in_mode(BypassMode::Stateless);
    for pol in disarmed.policies.values_mut() {
        for c in &mut pol.classes {
            c.armed = false;
        }
    }
    s.install_bypass(&disarmed).unwrap();
    assert_eq!(s.inject(&fwd).reason, VerdictReason::NoConnection);
}

#[test]
fn a_full_bypass_entry_is_flushed_when_its_class_changes_mode() {
    let s = sim(&["Inside", "MPLS"]);
    s.install_bypass(&reference_program()).unwrap();
    let fwd = tcp("MPLS", "198.19.0.10", "198.18.0.20", TcpFlags::ACK);
    assert_eq!(s.inject(&fwd).reason, VerdictReason::Bypass);
    s.install_bypass(&in_mode(BypassMode::SynCheck)).unwrap();
    assert!(s.connections(true).unwrap().is_empty());
    assert_eq!(s.inject(&fwd).reason, VerdictReason::NoSynCheck);
}
