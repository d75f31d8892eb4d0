//! Re-rendering only the access-list entries a commit touched.
//!
//! [`render`](super::render) is the reference. A touched entry can be patched into the
//! previous [`Rendered`] without rendering the rest when the full render would place every
//! other entry exactly where it was, which holds when
//! - it is strictly inside a run: its neighbours in the list (one side at either end) have
//!   its action, so adding or removing it neither splits nor merges runs; and
//! - it overlaps no other entry of its run and family, so the greedy layering puts it in
//!   layer 0 and no other entry's layer depends on it (an entry is pushed to a later layer
//!   only by an entry it overlaps); and
//! - its set exists before and after (not the first or the last element of its set).
//!
//! Anything else (a policy, a class, a new run or layer, a removed access-list) answers
//! `None` and the caller renders everything. `render/tests.rs` drives random entry changes
//! through both and requires the same `Rendered`.

use std::collections::BTreeSet;

use tether_dataplane::{AclEntry, BypassProgram, ProgramDelta};

use super::acl::element_text;
use super::layers::Boxed;
use super::names::{acl_key, set_name, stable_ids};
use super::{EntryPlacement, Rendered};

/// The element lines one incremental step deletes and adds, as (set, element).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ElementChanges {
    pub deleted: Vec<(String, String)>,
    pub added: Vec<(String, String)>,
}

/// Index of the run of `entries[i]` (runs: maximal groups of equal actions).
fn run_of(entries: &[AclEntry], i: usize) -> usize {
    entries[..=i]
        .windows(2)
        .filter(|w| w[0].action != w[1].action)
        .count()
}

/// Whether `entries[i]` sits strictly inside its run and overlaps no other entry of it.
fn isolated(entries: &[AclEntry], i: usize) -> bool {
    let e = &entries[i];
    let left = i.checked_sub(1).map(|j| &entries[j]);
    let right = entries.get(i + 1);
    if left.is_none() && right.is_none() {
        return false;
    }
    if left.is_some_and(|l| l.action != e.action) || right.is_some_and(|r| r.action != e.action) {
        return false;
    }
    let b = Boxed::of(e);
    let mut lo = i;
    while lo > 0 && entries[lo - 1].action == e.action {
        lo -= 1;
    }
    let mut hi = i + 1;
    while hi < entries.len() && entries[hi].action == e.action {
        hi += 1;
    }
    (lo..hi)
        .filter(|&j| j != i)
        .all(|j| !Boxed::of(&entries[j]).overlaps(&b))
}

/// The run structure of `entries` as the entries not in `touched` see it: the action of
/// every run, and the run of every untouched entry. Equal before and after a change, the
/// full render puts every untouched entry in the same run (and rule) as before; checking the
/// touched entries one by one is not enough (two neighbours changed together can flip the
/// action of their whole run, each looking "inside its run").
fn run_structure(entries: &[AclEntry], touched: &BTreeSet<u32>) -> (Vec<bool>, Vec<(u32, usize)>) {
    let mut actions = Vec::new();
    let mut untouched = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if i == 0 || entries[i - 1].action != e.action {
            actions.push(e.action == tether_dataplane::AclAction::Permit);
        }
        if !touched.contains(&e.sequence) {
            untouched.push((e.sequence, actions.len() - 1));
        }
    }
    (actions, untouched)
}

/// `old` (the render of `old_program`) patched into the render of `new_program`, which differs
/// from it only in the access-list entries `delta` names; `None` when that takes a full
/// render. On `Some`, `old` has been changed; on `None` it is untouched.
pub fn update(
    old_program: &BypassProgram,
    old: &mut Rendered,
    new_program: &BypassProgram,
    delta: &ProgramDelta,
) -> Option<ElementChanges> {
    if delta.structure || !delta.access_lists.is_empty() {
        return None;
    }
    let used: BTreeSet<&str> = old.classes.iter().map(|c| c.access_list.as_str()).collect();
    let ids = stable_ids(
        new_program.access_lists.keys().map(|k| (k.as_str(), "")),
        32,
    );
    let mut by_list: std::collections::BTreeMap<&str, BTreeSet<u32>> = Default::default();
    for (acl, sequence) in &delta.entries {
        by_list.entry(acl.as_str()).or_default().insert(*sequence);
    }
    for (acl, touched) in by_list.iter().filter(|(acl, _)| used.contains(*acl)) {
        if let (Some(before), Some(after)) = (
            old_program.access_lists.get(*acl),
            new_program.access_lists.get(*acl),
        ) && run_structure(&before.entries, touched) != run_structure(&after.entries, touched)
        {
            return None;
        }
    }
    // Plan every change first, so that a `None` leaves `old` as it was.
    let mut gone: Vec<(usize, String, String)> = Vec::new();
    let mut come: Vec<(EntryPlacement, bool)> = Vec::new();
    for (acl, sequence) in &delta.entries {
        let (Some(before), Some(after)) = (
            old_program.access_lists.get(acl),
            new_program.access_lists.get(acl),
        ) else {
            return None;
        };
        if !used.contains(acl.as_str()) {
            continue;
        }
        let find = |l: &[AclEntry]| l.binary_search_by_key(sequence, |e| e.sequence).ok();
        let (was, is) = (find(&before.entries), find(&after.entries));
        if let (Some(w), Some(i)) = (was, is)
            && before.entries[w] == after.entries[i]
        {
            continue;
        }
        if let Some(w) = was {
            if !isolated(&before.entries, w) {
                return None;
            }
            let at = old
                .entries
                .binary_search_by(|p| {
                    (p.access_list.as_str(), p.sequence).cmp(&(acl.as_str(), *sequence))
                })
                .ok()?;
            let p = &old.entries[at];
            gone.push((at, p.set.clone(), p.element.clone()));
        }
        if let Some(i) = is {
            if !isolated(&after.entries, i) {
                return None;
            }
            let e = &after.entries[i];
            let key = acl_key(ids.get(&(acl.clone(), String::new())).copied()?);
            let set = set_name(&key, run_of(&after.entries, i), 0, e.source.is_ipv6());
            if !old.sets.contains_key(&set) {
                return None;
            }
            let placement = EntryPlacement {
                access_list: acl.clone(),
                sequence: *sequence,
                set,
                element: element_text(e),
            };
            come.push((placement, was.is_some()));
        }
    }
    // A set must keep at least one element (an empty layer has no rule in the full render).
    for (_, set, _) in &gone {
        let leaving = gone.iter().filter(|(_, s, _)| s == set).count();
        let arriving = come.iter().filter(|(p, _)| &p.set == set).count();
        let have = old.elements.get(set).map_or(0, BTreeSet::len);
        if have + arriving <= leaving {
            return None;
        }
    }
    let mut changes = ElementChanges::default();
    // Removals from the back, so the indexes stay valid; replaced entries are re-inserted.
    gone.sort_by_key(|(at, _, _)| std::cmp::Reverse(*at));
    for (at, set, element) in gone {
        old.entries.remove(at);
        if let Some(s) = old.elements.get_mut(&set) {
            s.remove(&element);
        }
        changes.deleted.push((set, element));
    }
    for (p, _) in come {
        let at = old
            .entries
            .binary_search_by(|q| {
                (q.access_list.as_str(), q.sequence).cmp(&(p.access_list.as_str(), p.sequence))
            })
            .unwrap_or_else(|i| i);
        old.elements
            .entry(p.set.clone())
            .or_default()
            .insert(p.element.clone());
        changes.added.push((p.set.clone(), p.element.clone()));
        old.entries.insert(at, p);
    }
    Some(changes)
}
