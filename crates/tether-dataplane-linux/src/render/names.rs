//! Names of the table's chains, sets, counters and timeout objects.
//!
//! Everything is named by hashes of the access-list, policy and class names, never by a
//! counter of the render: the same program renders the same names in every process (a
//! restarted daemon recognises its connections' marks, which carry the class id), and an edit
//! that leaves a class in place leaves its names in place, which is what lets the installer
//! update set elements instead of replacing the table.

use std::collections::{BTreeMap, BTreeSet};

/// The ct timeout object of an idle timeout of `secs` seconds.
pub fn timeout_name(secs: u32) -> String {
    format!("t_{secs}")
}

/// The chain of a policy in the raw (notrack) classification, from its 32-bit id.
pub(super) fn raw_policy_chain(id: u32) -> String {
    format!("rp_{id:08x}")
}

/// The key of an access-list's sets (`a<id>`), from its 32-bit id.
pub(super) fn acl_key(id: u32) -> String {
    format!("a{id:08x}")
}

/// The set of one layer of one run of an access-list, per address family.
pub(super) fn set_name(acl_key: &str, run: usize, layer: usize, v6: bool) -> String {
    format!("{acl_key}_r{run}_l{layer}_{}", if v6 { 6 } else { 4 })
}

/// The chain of a policy, from its 32-bit id.
pub(super) fn policy_chain(id: u32) -> String {
    format!("p_{id:08x}")
}

/// A chain, counter or set of the class with 24-bit id `id`: chains `h_` (hit), `k_`
/// (classify), `r_` (re-check), `g_`/`q_` (gates), `x_` (raw classify); counters `m_`
/// (matched), `b_` (bypass built), `n_` (connections built), `l_` (refused by conn-max).
/// [`counter_object`](super::counter_object) reads the id back from the name.
pub(super) fn class_object(kind: char, id: u32) -> String {
    format!("{kind}_{id:06x}")
}

/// Stable ids from names: a hash, probed past collisions in name order (so the result depends only
/// on the set of names). `bits` wide, never 0.
pub(super) fn stable_ids<'a>(
    names: impl Iterator<Item = (&'a str, &'a str)>,
    bits: u32,
) -> BTreeMap<(String, String), u32> {
    let mask = (1u64 << bits) - 1;
    let mut taken = BTreeSet::new();
    let mut out = BTreeMap::new();
    let mut sorted: Vec<(&str, &str)> = names.collect();
    sorted.sort();
    sorted.dedup();
    for (a, b) in sorted {
        let mut id = tether_syntax::fnv::fnv1a_parts(&[a, b]) & mask;
        while id == 0 || taken.contains(&id) {
            id = (id + 1) & mask;
        }
        taken.insert(id);
        out.insert(
            (a.to_string(), b.to_string()),
            u32::try_from(id).unwrap_or(1),
        );
    }
    out
}

/// A quoted nft comment: no quotes, backslashes or control characters inside, and short
/// enough for the kernel's 128-byte limit.
pub(super) fn quote(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut out = String::new();
    for c in clean.chars() {
        if out.len() + c.len_utf8() > 120 {
            break;
        }
        out.push(c);
    }
    format!("\"{out}\"")
}
