//! The incremental render against the full one: random entry changes (upserts, deletes, action
//! flips that split runs, overlapping selectors that need layers, IPv6, an unused list) on
//! three access-lists used by classes of two policies; after each step a patched `Rendered`
//! must equal `render` of the new program, and a step it declines leaves the old one intact.

use std::collections::BTreeSet;
use std::time::Duration;

use tether_dataplane::{
    AccessList, AclAction, AclEntry, BypassProgram, Policy, PolicyClass, PortRange, ProgramDelta,
};

use super::incremental::update;
use super::{RenderOptions, render};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn random_entry(r: &mut Rng, sequence: u32) -> AclEntry {
    let v6 = r.below(8) == 0;
    // Mostly distinct hosts; sometimes a /24 that overlaps them.
    let (src, dst) = if v6 {
        (
            format!("2001:db8::{:x}/128", r.below(40)),
            "2001:db8:1::/48".to_string(),
        )
    } else if r.below(6) == 0 {
        ("198.18.0.0/24".to_string(), "198.19.0.0/24".to_string())
    } else {
        (
            format!("198.18.0.{}/32", r.below(60)),
            format!("198.19.{}.0/24", r.below(3)),
        )
    };
    AclEntry {
        sequence,
        action: if r.below(7) == 0 {
            AclAction::Deny
        } else {
            AclAction::Permit
        },
        protocol: Some(6),
        source: src.parse().expect("prefix"),
        destination: dst.parse().expect("prefix"),
        source_ports: PortRange::ANY,
        destination_ports: PortRange::single(u16::try_from(80 + r.below(3)).unwrap_or(80)),
    }
}

fn class(name: &str, acl: &str, bypass: bool) -> PolicyClass {
    PolicyClass {
        name: name.into(),
        access_list: acl.into(),
        tcp_state_bypass: bypass,
        idle_timeout: Duration::from_secs(900),
        limits: Default::default(),
        mode: Default::default(),
        trigger: None,
        armed: true,
    }
}

fn start(r: &mut Rng) -> BypassProgram {
    let mut p = BypassProgram::default();
    for acl in ["A", "B", "unused"] {
        let mut entries: Vec<AclEntry> = (0..40).map(|i| random_entry(r, i * 10)).collect();
        entries.sort_by_key(|e| e.sequence);
        p.access_lists.insert(acl.into(), AccessList { entries });
    }
    p.policies.insert(
        "P".into(),
        Policy {
            classes: vec![class("c1", "A", true), class("c2", "B", false)],
        },
    );
    p.policies.insert(
        "Q".into(),
        Policy {
            classes: vec![class("c3", "B", true)],
        },
    );
    p.service_policies.insert("eth0".into(), "P".into());
    p.global_policy = Some("Q".into());
    p
}

#[test]
fn incremental_render_equals_the_full_render() {
    let mut r = Rng(0x17_4e4d);
    let options = RenderOptions::default();
    let mut program = start(&mut r);
    let mut rendered = render(&program, options);
    let (mut patched, mut declined) = (0u32, 0u32);
    for step in 0..3000 {
        let mut next = program.clone();
        let mut delta = ProgramDelta::default();
        for _ in 0..=r.below(3) {
            let acl = ["A", "B", "unused"][usize::try_from(r.below(3)).unwrap_or(0)];
            let sequence = u32::try_from(r.below(45) * 10 + r.below(2) * 5).unwrap_or(0);
            let list = &mut next.access_lists.get_mut(acl).expect("list").entries;
            let at = list.binary_search_by_key(&sequence, |e| e.sequence);
            match (at, r.below(3)) {
                (Ok(i), 0) if list.len() > 2 => {
                    list.remove(i);
                }
                (Ok(i), _) => list[i] = random_entry(&mut r, sequence),
                (Err(i), _) => list.insert(i, random_entry(&mut r, sequence)),
            }
            delta.entries.insert((acl.to_string(), sequence));
        }
        let want = render(&next, options);
        let before = rendered.clone();
        match update(&program, &mut rendered, &next, &delta) {
            Some(changes) => {
                patched += 1;
                assert_eq!(rendered, want, "step {step}: {delta:?}");
                let gone: BTreeSet<_> = changes.deleted.iter().collect();
                let came: BTreeSet<_> = changes.added.iter().collect();
                assert!(gone.len() + came.len() <= 2 * delta.entries.len());
            }
            None => {
                declined += 1;
                assert_eq!(
                    rendered, before,
                    "step {step}: a declined step changed the render"
                );
                rendered = want;
            }
        }
        program = next;
    }
    assert!(patched > 1000, "patched {patched}, declined {declined}");
}

/// Found by the worker's commit-level differential test: two neighbours changed together
/// flip the action of their whole run, though each alone looks "inside its run".
#[test]
fn a_run_flipped_whole_by_two_changes_is_not_patched() {
    let mut r = Rng(7);
    let mut program = start(&mut r);
    let host = |i: u32, action| AclEntry {
        sequence: i,
        action,
        protocol: Some(6),
        source: format!("198.18.9.{i}/32").parse().expect("prefix"),
        destination: "198.19.9.0/24".parse().expect("prefix"),
        source_ports: PortRange::ANY,
        destination_ports: PortRange::single(80),
    };
    let denies = vec![host(10, AclAction::Deny), host(20, AclAction::Deny)];
    program
        .access_lists
        .insert("B".into(), AccessList { entries: denies });
    let mut next = program.clone();
    next.access_lists.insert(
        "B".into(),
        AccessList {
            entries: vec![host(10, AclAction::Permit), host(20, AclAction::Permit)],
        },
    );
    let delta = ProgramDelta {
        entries: [("B".to_string(), 10), ("B".to_string(), 20)].into(),
        ..Default::default()
    };
    let options = RenderOptions::default();
    let mut rendered = render(&program, options);
    let before = rendered.clone();
    match update(&program, &mut rendered, &next, &delta) {
        Some(_) => assert_eq!(rendered, render(&next, options)),
        None => assert_eq!(rendered, before),
    }
}
