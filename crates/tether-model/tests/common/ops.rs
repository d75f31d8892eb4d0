//! Random, seeded transactions over every list of the three modules, for the model-based
//! tests of the edit engine (here) and of the store (tether-store/tests/store_model.rs,
//! which includes this file): several access-lists, classes, policies, service-policies,
//! link-state groups and interfaces; leaves and subtrees; update, replace and delete; valid
//! and invalid (dangling references, broken `must`s, out-of-range values, an interface in
//! two groups) mixed.

#![allow(dead_code)]

use serde_json::{Value, json};
use tether_model::Edit;

pub const BYP: &str = "/tether-conntrack-bypass:bypass";
pub const LST: &str = "/tether-link-state:link-state";
pub const IFS: &str = "/tether-interfaces:interfaces";

/// splitmix64: small, seedable, the same sequence on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub const ACLS: u64 = 6;
pub const SEQS: u64 = 8;
pub const CLASSES: u64 = 5;
pub const POLICIES: u64 = 3;
pub const GROUPS: u64 = 5;
pub const IFACES: u64 = 10;

pub fn acl(a: u64) -> String {
    format!("{BYP}/access-lists/access-list[name='acl{a}']")
}
pub fn entry(a: u64, s: u64) -> String {
    format!("{}/entries/entry[sequence='{s}']", acl(a))
}
pub fn class(c: u64) -> String {
    format!("{BYP}/classes/class[name='class{c}']")
}
pub fn policy(p: u64) -> String {
    format!("{BYP}/policies/policy[name='pol{p}']")
}
pub fn group(g: u64) -> String {
    format!("{LST}/groups/group[id='{g}']")
}
pub fn iface(i: u64) -> String {
    format!("eth{i}")
}

/// A complete entry body (`config` contents); with `bad`, one that breaks a rule.
pub fn entry_config(r: &mut Rng, s: u64, bad: bool) -> Value {
    let proto = *r.pick(&["tcp", "udp", "icmp", "ip", "6"]);
    let mut c = json!({
        "sequence": s,
        "action": *r.pick(&["permit", "deny"]),
        "protocol": proto,
        "source-prefix": format!("198.18.{}.0/24", r.below(256)),
        "destination-prefix": format!("198.19.{}.0/24", r.below(256)),
    });
    if matches!(proto, "tcp" | "udp") && r.chance(60) {
        c["destination-port"] = json!(format!("{}", 1 + r.below(65535)));
    }
    if r.chance(30) {
        c["remark"] = json!(format!("r{}", r.below(1000)));
    }
    if bad {
        match r.below(3) {
            0 => c["source-prefix"] = json!("198.18.0.0/33"),
            1 => {
                c["protocol"] = json!("icmp");
                c["destination-port"] = json!("80");
            }
            _ => {
                c.as_object_mut().map(|m| m.remove("action"));
            }
        }
    }
    c
}

/// One random edit; about one in eight is invalid on its own.
pub fn random_edit(r: &mut Rng) -> Edit {
    if r.chance(2) {
        // The entry limits, small enough to be reached (six lists of eight), sometimes
        // lowered below what is stored, sometimes back to the default.
        let leaf = *r.pick(&["max-entries-per-access-list", "max-entries"]);
        let path = format!("{BYP}/config/{leaf}");
        return match r.below(4) {
            0 => Edit::delete(path),
            _ => Edit::update(path, json!(2 + r.below(40))),
        };
    }
    let bad = r.chance(12);
    let a = r.below(ACLS);
    let s = 1 + r.below(SEQS);
    match r.below(22) {
        // Access-lists and their entries: leaves, entries, whole lists as one subtree.
        0 => Edit::update(
            format!("{}/config", acl(a)),
            json!({"name": format!("acl{a}")}),
        ),
        1 | 2 => Edit::update(format!("{}/config", entry(a, s)), entry_config(r, s, bad)),
        3 => Edit::update(
            format!("{}/config/remark", entry(a, s)),
            json!(format!("remark {}", r.below(100))),
        ),
        4 => {
            let n = 1 + r.below(4);
            let list: Vec<Value> = (0..n)
                .map(|i| {
                    let seq = 1 + (s + i * 3) % SEQS;
                    json!({"sequence": seq, "config": entry_config(r, seq, bad && i == 0)})
                })
                .collect();
            Edit::update(format!("{}/entries", acl(a)), json!({"entry": list}))
        }
        5 => {
            let body = json!({"name": format!("acl{a}"), "config": {"name": format!("acl{a}")},
                "entries": {"entry": [{"sequence": s, "config": entry_config(r, s, bad)}]}});
            Edit::replace(acl(a), body)
        }
        6 => Edit::delete(entry(a, s)),
        7 => Edit::delete(format!("{}/config/remark", entry(a, s))),
        8 => Edit::delete(acl(a)),
        9 => Edit::update(
            format!("{}/config/protocol", entry(a, s)),
            json!(if bad { "icmp" } else { "tcp" }),
        ),
        // Classes, policies, service-policies, the global policy.
        10 => {
            let c = r.below(CLASSES);
            let target = if bad { 99 } else { r.below(ACLS) };
            Edit::update(
                format!("{}/config", class(c)),
                json!({"name": format!("class{c}"), "match-access-list": format!("acl{target}")}),
            )
        }
        11 => Edit::delete(class(r.below(CLASSES))),
        12 => {
            let p = r.below(POLICIES);
            let c = if bad { 99 } else { r.below(CLASSES) };
            let timeout = if bad && r.chance(50) {
                0
            } else {
                1 + r.below(7200)
            };
            Edit::update(
                format!("{}/classes/class[name='class{c}']/config", policy(p)),
                json!({"name": format!("class{c}"), "tcp-state-bypass": r.chance(70), "idle-timeout": timeout}),
            )
        }
        13 => Edit::update(
            format!("{}/config", policy(r.below(POLICIES))),
            json!({"name": format!("pol{}", r.below(POLICIES)), "description": "d"}),
        ),
        14 => Edit::delete(policy(r.below(POLICIES))),
        15 => {
            let i = r.below(IFACES);
            let p = if bad { 99 } else { r.below(POLICIES) };
            Edit::update(
                format!(
                    "{BYP}/service-policies/service-policy[interface='{}']/config",
                    iface(i)
                ),
                json!({"interface": iface(i), "policy": format!("pol{p}")}),
            )
        }
        16 => Edit::update(
            format!("{BYP}/global-policy/config/policy"),
            json!(format!("pol{}", if bad { 99 } else { r.below(POLICIES) })),
        ),
        17 => Edit::delete(format!(
            "{BYP}/service-policies/service-policy[interface='{}']",
            iface(r.below(IFACES))
        )),
        // Link-state groups and their members.
        18 => {
            let g = 1 + r.below(GROUPS);
            Edit::update(
                format!("{}/config", group(g)),
                json!({"id": g, "description": format!("g{g}"), "up-delay": if bad { -1 } else { r.below(60) as i64 }}),
            )
        }
        19 => {
            let g = 1 + r.below(GROUPS);
            let role = *r.pick(&["upstream", "downstream"]);
            let i = iface(r.below(IFACES));
            Edit::update(
                format!(
                    "{}/{role}/interfaces/interface[name='{i}']/config",
                    group(g)
                ),
                json!({"name": i}),
            )
        }
        20 => Edit::delete(group(1 + r.below(GROUPS))),
        // Interfaces (simulated carrier, description).
        _ => {
            let i = iface(r.below(IFACES));
            if r.chance(50) {
                Edit::update(
                    format!("{IFS}/interface[name='{i}']/simulation/config/carrier"),
                    json!(r.chance(50)),
                )
            } else {
                Edit::update(
                    format!("{IFS}/interface[name='{i}']/config/description"),
                    json!(format!("port {i}")),
                )
            }
        }
    }
}

/// One transaction: mostly one to three edits, sometimes a dozen (several edits then reach
/// the same entries by different paths, as a rollback's do).
pub fn random_transaction(r: &mut Rng) -> Vec<Edit> {
    let n = if r.chance(10) {
        4 + r.below(10)
    } else {
        1 + r.below(3)
    };
    (0..n).map(|_| random_edit(r)).collect()
}
