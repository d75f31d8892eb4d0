//! Root-only tests of the Linux dataplane, each in namespaces of its own (see `common`).

mod common;

use std::time::{Duration, Instant};

use common::topo::{CLIENT, SERVER, Topo};
use common::{Netns, can_run, veth};
use tether_dataplane::{
    AccessList, AclAction, AclEntry, BypassProgram, Dataplane, DataplaneEvent, DisableMethod,
    IPPROTO_TCP, Policy, PolicyClass, PortRange,
};
use tether_dataplane_linux::{ApplyKind, LinuxConfig, LinuxDataplane};

fn dataplane(ns: &Netns) -> LinuxDataplane {
    LinuxDataplane::new(LinuxConfig {
        netns: Some(ns.name.clone()),
        ..Default::default()
    })
    .expect("dataplane")
}

fn ace(
    seq: u32,
    action: AclAction,
    src: &str,
    dst: &str,
    sport: PortRange,
    dport: PortRange,
) -> AclEntry {
    AclEntry {
        sequence: seq,
        action,
        protocol: Some(IPPROTO_TCP),
        source: src.parse().expect("prefix"),
        destination: dst.parse().expect("prefix"),
        source_ports: sport,
        destination_ports: dport,
    }
}

/// The reference program: `StatelessTraffic` both ways, except port 5002 (denied), on the
/// firewall's two MPLS-side interfaces.
fn reference(bypass: bool, idle: Duration, extra: Vec<AclEntry>) -> BypassProgram {
    let any = PortRange::ANY;
    let mut entries = vec![
        ace(
            10,
            AclAction::Deny,
            "198.18.0.0/16",
            "198.19.0.0/16",
            any,
            PortRange::single(5002),
        ),
        ace(
            11,
            AclAction::Deny,
            "198.19.0.0/16",
            "198.18.0.0/16",
            PortRange::single(5002),
            any,
        ),
        ace(
            20,
            AclAction::Permit,
            "198.18.0.0/16",
            "198.19.0.0/16",
            any,
            any,
        ),
        ace(
            30,
            AclAction::Permit,
            "198.19.0.0/16",
            "198.18.0.0/16",
            any,
            any,
        ),
    ];
    entries.extend(extra);
    entries.sort_by_key(|e| e.sequence);
    let mut p = BypassProgram::default();
    p.access_lists
        .insert("StatelessTraffic".into(), AccessList { entries });
    p.policies.insert(
        "Mpls".into(),
        Policy {
            classes: vec![PolicyClass {
                name: "bypass".into(),
                access_list: "StatelessTraffic".into(),
                tcp_state_bypass: bypass,
                idle_timeout: idle,
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

/// Seconds left on the bypass conntrack entries of the firewall.
fn bypass_timeouts(dp: &LinuxDataplane) -> Vec<u64> {
    let now = dp.now_ns();
    dp.connections(true)
        .expect("connections")
        .iter()
        .map(|c| c.expires_ns.saturating_sub(now) / 1_000_000_000)
        .collect()
}

#[test]
fn reference_bypass_scenario() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let dp = dataplane(&t.fw);
    let _server = t.server(&[5001, 5002]);

    // Control: the class exists but does not bypass: a mid-flow connection stalls.
    dp.install_bypass(&reference(false, Duration::from_secs(30), vec![]))
        .expect("install");
    let listing = t.fw.run("nft list table inet tether");
    assert!(listing.contains("hook forward") && !listing.contains("ct timeout"));
    let mut c1 = t.client(5001);
    assert!(c1.exchange(), "over fibre");
    t.via_mpls();
    assert!(
        !c1.exchange(),
        "without bypass the firewall must drop the mid-flow connection"
    );
    drop(c1);

    // With bypass, a connection established over fibre keeps working over MPLS.
    t.via_fibre();
    dp.install_bypass(&reference(true, Duration::from_secs(3), vec![]))
        .expect("install");
    let mut c2 = t.client(5001);
    assert!(c2.exchange());
    t.via_mpls();
    for i in 0..5 {
        assert!(c2.exchange(), "bypassed exchange {i}");
    }
    let conns = dp.connections(true).expect("connections");
    assert!(!conns.is_empty(), "bypass entries are in conntrack");
    assert!(
        conns
            .iter()
            .all(|c| c.bypass && c.class.as_deref() == Some("bypass"))
    );
    assert!(
        conns
            .iter()
            .all(|c| c.idle_timeout == Duration::from_secs(3))
    );
    let counters = dp.bypass_counters().expect("counters");
    let class = &counters.classes[0];
    assert!(
        class.bypass_built >= 1 && class.matched_packets >= 5,
        "{class:?}"
    );
    assert!(class.bypass_current >= 1, "{class:?}");
    let hits: u64 = counters
        .acl_entries
        .iter()
        .filter(|e| e.sequence >= 20)
        .map(|e| e.hits)
        .sum();
    assert!(hits >= 5, "{:?}", counters.acl_entries);

    // A deny entry of the bypass class's access-list drops the traffic it selects.
    t.via_fibre();
    let mut c3 = t.client(5002);
    assert!(c3.exchange(), "port 5002 over fibre");
    t.via_mpls();
    assert!(!c3.exchange(), "a deny entry must drop bypass traffic");
    let hits_deny: u64 = dp
        .bypass_counters()
        .expect("counters")
        .acl_entries
        .iter()
        .filter(|e| e.sequence == 10)
        .map(|e| e.hits)
        .sum();
    assert!(hits_deny >= 1);
    drop(c3);

    // The idle timeout expires the bypass entries (3 s).
    std::thread::sleep(Duration::from_millis(4500));
    assert!(
        dp.connections(true).expect("connections").is_empty(),
        "{:?}",
        dp.connections(true)
    );
    // ... and the connection still works afterwards: bypass picks it up again mid-flow.
    assert!(c2.exchange());
}

#[test]
fn updates_keep_live_timeouts_and_other_tables() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    t.fw.run("nft add table inet operator && nft add chain inet operator opfwd '{ type filter hook forward priority 10; policy accept; }' && nft add rule inet operator opfwd counter");
    let operator_before = t.fw.run("nft list table inet operator | grep -v packets");
    let dp = dataplane(&t.fw);
    let _server = t.server(&[5001]);
    dp.install_bypass(&reference(true, Duration::from_secs(600), vec![]))
        .expect("install");
    let mut c = t.client(5001);
    t.via_mpls();
    assert!(c.exchange());
    let first = bypass_timeouts(&dp);
    assert!(
        !first.is_empty() && first.iter().all(|t| *t > 590),
        "{first:?}"
    );
    std::thread::sleep(Duration::from_secs(3));

    // An extra permit entry in the last run: set elements only.
    let extra = vec![ace(
        40,
        AclAction::Permit,
        "198.19.99.0/24",
        "198.19.98.0/24",
        PortRange::ANY,
        PortRange::ANY,
    )];
    dp.install_bypass(&reference(true, Duration::from_secs(600), extra.clone()))
        .expect("install");
    assert_eq!(dp.last_apply(), Some(ApplyKind::Elements));
    let after = bypass_timeouts(&dp);
    assert!(
        !after.is_empty() && after.iter().all(|t| *t <= 598),
        "timer reset by an element update: {after:?}"
    );
    assert!(
        t.fw.run("nft list table inet tether")
            .contains("198.19.99.0/24")
    );

    // A new deny run: a structural rebuild, which still keeps the ct timeout objects.
    let mut extra2 = extra.clone();
    extra2.push(ace(
        35,
        AclAction::Deny,
        "198.18.98.0/24",
        "198.19.98.0/24",
        PortRange::ANY,
        PortRange::ANY,
    ));
    dp.install_bypass(&reference(true, Duration::from_secs(600), extra2))
        .expect("install");
    assert_eq!(dp.last_apply(), Some(ApplyKind::Rebuild));
    let rebuilt = bypass_timeouts(&dp);
    assert!(
        !rebuilt.is_empty() && rebuilt.iter().all(|t| *t <= 598),
        "timer reset by a rebuild: {rebuilt:?}"
    );
    // The next packet refreshes it to the class's timeout, not the kernel default.
    assert!(c.exchange());
    let refreshed = bypass_timeouts(&dp);
    assert!(
        refreshed.iter().all(|t| *t > 590 && *t <= 600),
        "{refreshed:?}"
    );

    // Drift: someone deletes our table; repair brings it back and traffic still passes.
    t.fw.run("nft delete table inet tether");
    assert!(dp.repair_drift().expect("repair"));
    assert!(!dp.repair_drift().expect("repair again"));
    assert!(c.exchange());
    // The rebuilt entry has the class's timeout again, not the kernel default.
    let repaired = bypass_timeouts(&dp);
    assert!(
        !repaired.is_empty() && repaired.iter().all(|t| *t > 590 && *t <= 600),
        "{repaired:?}"
    );

    // The operator's table was never touched.
    assert_eq!(
        t.fw.run("nft list table inet operator | grep -v packets"),
        operator_before
    );
    dp.remove_table().expect("remove");
    assert_eq!(
        t.fw.run("nft list table inet operator | grep -v packets"),
        operator_before
    );
}

fn wait_event(
    rx: &mut tokio::sync::broadcast::Receiver<DataplaneEvent>,
    within: Duration,
    pred: impl Fn(&DataplaneEvent) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        match rx.try_recv() {
            Ok(e) if pred(&e) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_micros(200))
            }
            Err(e) => panic!("{e}"),
        }
    }
    None
}

#[test]
fn carrier_loss_is_seen_within_50ms() {
    if !can_run() {
        return;
    }
    let (a, b) = (Netns::new(), Netns::new());
    veth(&a, "up0", &b, "up0p");
    let dp = dataplane(&a);
    assert!(dp.interface("up0").expect("up0").carrier);
    let mut rx = dp.subscribe();
    // `ip -n` switches namespace itself (no shell): the command's own cost is a few ms.
    let start = Instant::now();
    common::sh(&format!("ip -n {} link set up0p down", b.name));
    let command = start.elapsed();
    let seen = wait_event(
        &mut rx,
        Duration::from_millis(500),
        |e| matches!(e, DataplaneEvent::InterfaceChanged(s) if s.name == "up0" && !s.carrier),
    );
    let total = start.elapsed();
    let after_command = seen.expect("no carrier-down event");
    eprintln!(
        "carrier loss: event {after_command:?} after the command returned ({total:?} from its start)"
    );
    assert!(
        after_command < Duration::from_millis(50),
        "carrier loss took {after_command:?} (+{command:?} command)"
    );
    b.run("ip link set up0p up");
    assert!(wait_event(&mut rx, Duration::from_millis(500), |e| {
        matches!(e, DataplaneEvent::InterfaceChanged(s) if s.name == "up0" && s.carrier && s.oper_up)
    })
    .is_some());

    // Rename and delete.
    a.run("ip link add ren0 type veth peer name ren1");
    assert!(
        wait_event(
            &mut rx,
            Duration::from_millis(500),
            |e| matches!(e, DataplaneEvent::InterfaceAdded(s) if s.name == "ren0")
        )
        .is_some()
    );
    a.run("ip link set ren0 name ren9");
    assert!(
        wait_event(
            &mut rx,
            Duration::from_millis(500),
            |e| matches!(e, DataplaneEvent::InterfaceRemoved { name, .. } if name == "ren0")
        )
        .is_some()
    );
    assert!(dp.interface("ren9").is_ok());
    a.run("ip link del ren9");
    assert!(
        wait_event(
            &mut rx,
            Duration::from_millis(500),
            |e| matches!(e, DataplaneEvent::InterfaceRemoved { name, .. } if name == "ren9")
        )
        .is_some()
    );
}

#[test]
fn disable_uses_protodown_on_macvlan_and_admin_down_on_veth() {
    if !can_run() {
        return;
    }
    let (a, b) = (Netns::new(), Netns::new());
    veth(&a, "dn0", &b, "dn0p");
    veth(&a, "dn1", &b, "dn1p");
    a.run("ip link add mv0 link dn0 type macvlan mode bridge && ip link set mv0 up");
    let record = std::env::temp_dir().join(format!("{}-admin-down.json", a.name));
    let dp = LinuxDataplane::new(LinuxConfig {
        netns: Some(a.name.clone()),
        admin_down_record: Some(record.clone()),
        ..Default::default()
    })
    .expect("dataplane");

    // macvlan: protodown, admin state untouched.
    assert_eq!(
        dp.set_tether_disabled("mv0", true).expect("disable"),
        DisableMethod::Protodown
    );
    let s = dp.interface("mv0").expect("mv0");
    assert!(s.disabled_by_tether && s.admin_up && !s.oper_up, "{s:?}");
    assert!(a.run("ip -d link show mv0").contains("protodown on"));
    assert_eq!(
        dp.set_tether_disabled("mv0", false).expect("enable"),
        DisableMethod::Protodown
    );
    assert!(!a.run("ip -d link show mv0").contains("protodown on"));
    assert!(!dp.interface("mv0").expect("mv0").disabled_by_tether);

    // veth: no protodown, so admin down, reported as Tether's.
    assert_eq!(
        dp.set_tether_disabled("dn0", true).expect("disable"),
        DisableMethod::AdminDown
    );
    let s = dp.interface("dn0").expect("dn0");
    assert!(s.disabled_by_tether && !s.oper_up, "{s:?}");
    assert!(!a.run("ip link show dn0").contains(",UP"));
    assert!(
        std::fs::read_to_string(&record)
            .expect("record")
            .contains("dn0")
    );
    assert_eq!(
        dp.set_tether_disabled("dn0", false).expect("enable"),
        DisableMethod::AdminDown
    );
    assert!(a.run("ip link show dn0").contains(",UP"));
    assert!(!dp.interface("dn0").expect("dn0").disabled_by_tether);

    // An interface the operator shut stays shut when Tether releases it.
    a.run("ip link set dn1 down");
    dp.set_tether_disabled("dn1", true).expect("disable");
    assert!(dp.interface("dn1").expect("dn1").disabled_by_tether);
    dp.set_tether_disabled("dn1", false).expect("enable");
    assert!(
        !a.run("ip link show dn1").contains(",UP"),
        "operator's shutdown undone"
    );

    // A restart finds the record and undoes exactly Tether's admin down.
    dp.set_tether_disabled("dn0", true).expect("disable");
    drop(dp);
    let dp = LinuxDataplane::new(LinuxConfig {
        netns: Some(a.name.clone()),
        admin_down_record: Some(record.clone()),
        ..Default::default()
    })
    .expect("dataplane");
    assert!(dp.interface("dn0").expect("dn0").disabled_by_tether);
    dp.set_tether_disabled("dn0", false).expect("enable");
    assert!(a.run("ip link show dn0").contains(",UP"));
    assert!(matches!(
        dp.set_tether_disabled("nope0", true),
        Err(tether_dataplane::DataplaneError::UnknownInterface(_))
    ));
    let _ = std::fs::remove_file(record);
    let _ = (CLIENT, SERVER);
}
