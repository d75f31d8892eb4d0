use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use tether_dataplane::{
    AccessList, AclAction, AclEntry, BypassProgram, IpPrefix, Policy, PolicyClass, PortRange,
};

use super::acl::compile_acl;
use super::layers::Boxed;
use super::names::stable_ids;
use super::*;

fn ace(seq: u32, action: AclAction, src: &str, dst: &str, dport: Option<u16>) -> AclEntry {
    AclEntry {
        sequence: seq,
        action,
        protocol: Some(6),
        source: src.parse().unwrap(),
        destination: dst.parse().unwrap(),
        source_ports: PortRange::ANY,
        destination_ports: dport.map_or(PortRange::ANY, PortRange::single),
    }
}

fn program(entries: Vec<AclEntry>, bypass: bool) -> BypassProgram {
    let mut p = BypassProgram::default();
    p.access_lists.insert("ACL".into(), AccessList { entries });
    p.policies.insert(
        "POL".into(),
        Policy {
            classes: vec![PolicyClass {
                name: "C".into(),
                access_list: "ACL".into(),
                tcp_state_bypass: bypass,
                idle_timeout: Duration::from_secs(900),
                limits: Default::default(),
                mode: Default::default(),
                trigger: None,
                armed: true,
            }],
        },
    );
    p.service_policies.insert("mpls".into(), "POL".into());
    p
}

#[test]
fn runs_follow_actions_and_layers_split_overlaps() {
    use AclAction::*;
    let p = program(
        vec![
            ace(10, Deny, "198.18.0.5/32", "198.19.0.0/24", None),
            ace(20, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
            // Overlaps 20: same run, second layer.
            ace(30, Permit, "198.18.0.0/16", "198.19.0.0/16", Some(443)),
            // Disjoint from 20: same run, first layer.
            ace(40, Permit, "198.18.1.0/24", "198.19.0.0/24", None),
            ace(50, Deny, "198.18.0.0/15", "0.0.0.0/0", None),
        ],
        true,
    );
    let r = render(&p, RenderOptions::default());
    let sets: Vec<&String> = r.sets.keys().collect();
    assert_eq!(sets.len(), 4, "{sets:?}");
    let k_rules: Vec<&str> = r
        .skeleton
        .lines()
        .filter(|l| l.starts_with("add rule inet tether k_"))
        .collect();
    assert_eq!(k_rules.len(), 4);
    assert!(k_rules[0].contains("_r0_l0_4") && k_rules[0].ends_with("drop"));
    assert!(k_rules[1].contains("_r1_l0_4") && k_rules[1].contains("goto h_"));
    assert!(k_rules[2].contains("_r1_l1_4") && k_rules[2].contains("goto h_"));
    assert!(k_rules[3].contains("_r2_l0_4") && k_rules[3].ends_with("drop"));
    let l0 = r.elements.values().find(|e| e.len() == 2).unwrap();
    assert!(l0.contains("198.18.1.0/24 . 198.19.0.0/24 . 6 . 0-65535 . 0-65535"));
}

#[test]
fn element_changes_keep_the_skeleton() {
    use AclAction::*;
    let a = program(
        vec![ace(10, Permit, "198.18.0.0/24", "198.19.0.0/24", None)],
        true,
    );
    let b = program(
        vec![
            ace(10, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
            ace(20, Permit, "198.18.1.0/24", "198.19.0.0/24", None),
        ],
        true,
    );
    let (ra, rb) = (
        render(&a, RenderOptions::default()),
        render(&b, RenderOptions::default()),
    );
    assert_eq!(ra.skeleton, rb.skeleton);
    assert_ne!(ra.elements, rb.elements);
    // A deny in the middle adds a run: structural.
    let c = program(
        vec![
            ace(10, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
            ace(15, Deny, "198.18.2.0/24", "198.19.0.0/24", None),
            ace(20, Permit, "198.18.1.0/24", "198.19.0.0/24", None),
        ],
        true,
    );
    assert_ne!(render(&c, RenderOptions::default()).skeleton, ra.skeleton);
}

#[test]
fn ids_are_stable_and_distinct() {
    let ids = stable_ids([("p", "a"), ("p", "b"), ("q", "a")].into_iter(), 24);
    let again = stable_ids([("q", "a"), ("p", "b"), ("p", "a")].into_iter(), 24);
    assert_eq!(ids, again);
    let distinct: BTreeSet<u32> = ids.values().copied().collect();
    assert_eq!(distinct.len(), 3);
    assert!(ids.values().all(|v| *v != 0 && *v <= ID_MASK));
}

#[test]
fn timeouts_round_up() {
    assert_eq!(timeout_secs(Duration::from_millis(1)), 1);
    assert_eq!(timeout_secs(Duration::from_millis(1500)), 2);
    assert_eq!(timeout_secs(Duration::from_secs(900)), 900);
    assert_eq!(timeout_secs(Duration::from_secs(u64::MAX)), u32::MAX);
}

#[test]
fn first_match_semantics_match_a_linear_scan() {
    // Runs + layers must give the verdict of the first matching entry for every probe.
    use AclAction::*;
    let entries = vec![
        ace(10, Deny, "198.18.0.5/32", "198.19.0.0/24", None),
        ace(20, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
        ace(30, Permit, "198.18.0.0/16", "198.19.0.0/16", Some(443)),
        ace(40, Deny, "198.18.0.0/15", "0.0.0.0/0", Some(22)),
        ace(50, Permit, "0.0.0.0/0", "0.0.0.0/0", None),
    ];
    let mut elements = BTreeMap::new();
    let mut placements = Vec::new();
    let rules = compile_acl("ACL", "a", &entries, &mut elements, &mut placements);
    let boxes: BTreeMap<String, Vec<Boxed>> =
        placements
            .iter()
            .zip(&entries)
            .fold(BTreeMap::new(), |mut m, (p, e)| {
                m.entry(p.set.clone())
                    .or_insert_with(Vec::new)
                    .push(Boxed::of(e));
                m
            });
    let probes = [
        ("198.18.0.5", "198.19.0.1", 80u16),
        ("198.18.0.6", "198.19.0.1", 80),
        ("198.18.9.9", "198.19.9.9", 443),
        ("198.18.9.9", "198.19.9.9", 22),
        ("198.18.0.7", "198.19.0.7", 22),
        ("203.0.113.1", "198.51.100.1", 22),
    ];
    for (s, d, port) in probes {
        let (s, d): (IpAddr, IpAddr) = (s.parse().unwrap(), d.parse().unwrap());
        let linear = entries
            .iter()
            .find(|e| e.matches(6, s, d, 1000, port))
            .map(|e| e.action);
        let probe = Boxed::of(&AclEntry {
            sequence: 0,
            action: Permit,
            protocol: Some(6),
            source: IpPrefix::host(s),
            destination: IpPrefix::host(d),
            source_ports: PortRange::single(1000),
            destination_ports: PortRange::single(port),
        });
        let by_rules = rules
            .iter()
            .find(|r| {
                boxes
                    .get(&r.set)
                    .is_some_and(|b| b.iter().any(|b| b.overlaps(&probe)))
            })
            .map(|r| r.action);
        assert_eq!(by_rules, linear, "{s} -> {d}:{port}");
    }
}

#[test]
fn random_access_lists_keep_first_match_and_no_overlap_in_a_set() {
    // A small LCG: deterministic, no extra dependency.
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for round in 0..40 {
        let n = 5 + next(60) as usize;
        let mut entries = Vec::new();
        for i in 0..n {
            let len = [16u8, 24, 28, 32][next(4) as usize];
            let host = |x: u64| -> String {
                let a = std::net::Ipv4Addr::from(0xc612_0000u32 | (x as u32 & 0xffff));
                let p = IpPrefix::new(a.into(), 32).unwrap();
                let bits = u32::from(a) & (u32::MAX << (32 - u32::from(len)));
                let _ = p;
                format!("{}/{len}", std::net::Ipv4Addr::from(bits))
            };
            let src = host(next(512));
            let dst = host(next(512));
            let action = if next(3) == 0 {
                AclAction::Deny
            } else {
                AclAction::Permit
            };
            let dport = if next(2) == 0 {
                None
            } else {
                Some(440 + next(8) as u16)
            };
            entries.push(ace((i as u32 + 1) * 10, action, &src, &dst, dport));
        }
        let mut elements = BTreeMap::new();
        let mut placements = Vec::new();
        let rules = compile_acl("ACL", "a", &entries, &mut elements, &mut placements);
        let mut sets: BTreeMap<String, Vec<Boxed>> = BTreeMap::new();
        for (p, e) in placements.iter().zip(&entries) {
            let b = Boxed::of(e);
            let v = sets.entry(p.set.clone()).or_default();
            if !v.contains(&b) {
                assert!(
                    v.iter().all(|o| !o.overlaps(&b)),
                    "round {round}: overlap in {}",
                    p.set
                );
                v.push(b);
            }
        }
        for _ in 0..300 {
            let s: IpAddr = std::net::Ipv4Addr::from(0xc612_0000u32 | next(512) as u32).into();
            let d: IpAddr = std::net::Ipv4Addr::from(0xc612_0000u32 | next(512) as u32).into();
            let port = 440 + next(8) as u16;
            let linear = entries
                .iter()
                .find(|e| e.matches(6, s, d, 1000, port))
                .map(|e| e.action);
            let probe = Boxed::of(&AclEntry {
                sequence: 0,
                action: AclAction::Permit,
                protocol: Some(6),
                source: IpPrefix::host(s),
                destination: IpPrefix::host(d),
                source_ports: PortRange::single(1000),
                destination_ports: PortRange::single(port),
            });
            let by_rules = rules
                .iter()
                .find(|r| {
                    sets.get(&r.set)
                        .is_some_and(|b| b.iter().any(|b| b.overlaps(&probe)))
                })
                .map(|r| r.action);
            assert_eq!(by_rules, linear, "round {round}: {s} -> {d}:{port}");
        }
    }
}

#[test]
fn the_raw_chain_repeats_first_match_and_notracks_only_a_stateless_winner() {
    use AclAction::*;
    let mut p = program(
        vec![ace(10, Permit, "198.18.0.0/24", "198.19.0.0/24", None)],
        false,
    );
    p.access_lists.insert(
        "WIDE".into(),
        AccessList {
            entries: vec![ace(10, Permit, "198.18.0.0/16", "198.19.0.0/16", None)],
        },
    );
    let mut stateless = p.policies["POL"].classes[0].clone();
    stateless.name = "S".into();
    stateless.access_list = "WIDE".into();
    stateless.tcp_state_bypass = true;
    stateless.mode = tether_dataplane::BypassMode::Stateless;
    p.policies
        .get_mut("POL")
        .unwrap()
        .classes
        .push(stateless.clone());
    let r = render(&p, RenderOptions::default());
    let (c, s) = (&r.classes[0], &r.classes[1]);
    assert_eq!(rules_of(&r, "raw"), ["jump rclassify"]);
    assert!(
        rules_of(&r, "rclassify")[0].starts_with("iifname vmap { \"mpls\" : goto rp_"),
        "{:?}",
        rules_of(&r, "rclassify")
    );
    // The ordinary class first: what it selects wins and stays tracked.
    let xc = rules_of(&r, &format!("x_{:06x}", c.id));
    assert!(
        xc.len() == 1 && xc[0].ends_with(" accept") && !xc[0].contains("notrack"),
        "{xc:?}"
    );
    let xs = rules_of(&r, &format!("x_{:06x}", s.id));
    assert!(
        xs[0].starts_with("meta l4proto tcp ") && xs[0].ends_with(" notrack accept"),
        "{xs:?}"
    );
    assert!(rules_of(&r, &format!("h_{:06x}", s.id))[0].starts_with("ct state untracked counter"));
    // No stateless class: no raw rules at all; a conditional one goes through its gate.
    p.policies.get_mut("POL").unwrap().classes.pop();
    assert!(rules_of(&render(&p, RenderOptions::default()), "raw").is_empty());
    stateless.trigger = Some(tether_dataplane::Trigger {
        source: tether_dataplane::TriggerSource::Interface("fib0".into()),
        hold: Duration::ZERO,
    });
    stateless.armed = false;
    p.policies.get_mut("POL").unwrap().classes.push(stateless);
    let r = render(&p, RenderOptions::default());
    let q = format!("q_{:06x}", r.classes[1].id);
    assert_eq!(
        r.gates.get(&q).map(Vec::as_slice),
        Some(&["accept".to_string()][..])
    );
    assert!(rules_of(&r, &format!("x_{:06x}", r.classes[1].id))[0].ends_with(&format!("goto {q}")));
}

fn rules_of(r: &Rendered, chain: &str) -> Vec<String> {
    let prefix = format!("add rule inet {TABLE} {chain} ");
    r.skeleton
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}
