//! One access-list → its rules and set elements: cut into runs of same-action entries, each
//! run into [layers](super::layers) of non-overlapping entries, one set and one rule per layer.
//!
//! A rule per run, in run order, gives exactly first-match semantics (see the
//! [module documentation](super)); the tests compare it with a linear scan.

use std::collections::{BTreeMap, BTreeSet};

use tether_dataplane::{AclAction, AclEntry, PortRange};

use super::EntryPlacement;
use super::layers::{Boxed, Layer};
use super::names::set_name;

/// What a rule matches against its set, per family.
const SEL4: &str = "ip saddr . ip daddr . meta l4proto . th sport . th dport";
const SEL6: &str = "ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport";
/// The declarations of the sets, per family.
const SET4: &str =
    "typeof ip saddr . ip daddr . meta l4proto . th sport . th dport; flags interval; counter;";
const SET6: &str =
    "typeof ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport; flags interval; counter;";

/// One rule's worth of an access-list: a set and the run's action.
#[derive(Debug, Clone)]
pub(super) struct AclRule {
    pub(super) set: String,
    pub(super) v6: bool,
    pub(super) action: AclAction,
}

impl AclRule {
    /// The rule's match on its set, without the verdict.
    pub(super) fn match_expr(&self) -> String {
        format!("{} @{}", if self.v6 { SEL6 } else { SEL4 }, self.set)
    }

    /// The body of the set's declaration.
    pub(super) fn set_declaration(&self) -> &'static str {
        if self.v6 { SET6 } else { SET4 }
    }
}

fn port_text(r: PortRange) -> String {
    if r.lo == r.hi {
        r.lo.to_string()
    } else {
        format!("{}-{}", r.lo, r.hi)
    }
}

/// The element text of an entry: `src . dst . proto . sport . dport`, intervals written out.
pub fn element_text(e: &AclEntry) -> String {
    let proto = match e.protocol {
        Some(p) => p.to_string(),
        None => "0-255".to_string(),
    };
    format!(
        "{} . {} . {} . {} . {}",
        e.source,
        e.destination,
        proto,
        port_text(e.source_ports),
        port_text(e.destination_ports)
    )
}

/// Runs and layers of one access-list: the ordered rules, with the elements of each set added
/// to `elements` and where each entry went to `placements`.
pub(super) fn compile_acl(
    acl_name: &str,
    acl_key: &str,
    entries: &[AclEntry],
    elements: &mut BTreeMap<String, BTreeSet<String>>,
    placements: &mut Vec<EntryPlacement>,
) -> Vec<AclRule> {
    let mut rules = Vec::new();
    let mut run = 0usize;
    let mut i = 0usize;
    while i < entries.len() {
        let action = entries[i].action;
        let mut j = i;
        while j < entries.len() && entries[j].action == action {
            j += 1;
        }
        // Layers per family, each indexed by source prefix (see `Layer`).
        let mut layers: [Vec<Layer>; 2] = [Vec::new(), Vec::new()];
        for e in &entries[i..j] {
            let b = Boxed::of(e);
            let fam = usize::from(b.v6);
            let text = element_text(e);
            let placed = |set: String| EntryPlacement {
                access_list: acl_name.to_string(),
                sequence: e.sequence,
                set,
                element: text.clone(),
            };
            if let Some(l) = layers[fam].iter().position(|l| l.contains(&b, &e.source)) {
                // An identical selector in the same run is shadowed by the earlier one: same set,
                // same element, not added twice (it would overlap itself).
                placements.push(placed(set_name(acl_key, run, l, b.v6)));
                continue;
            }
            let layer = match layers[fam].iter().position(|l| !l.overlaps(&b, &e.source)) {
                Some(l) => l,
                None => {
                    layers[fam].push(Layer::default());
                    layers[fam].len() - 1
                }
            };
            layers[fam][layer].insert(b, &e.source);
            let set = set_name(acl_key, run, layer, b.v6);
            elements
                .entry(set.clone())
                .or_default()
                .insert(text.clone());
            placements.push(placed(set));
        }
        for (fam, fam_layers) in layers.iter().enumerate() {
            for l in 0..fam_layers.len() {
                let v6 = fam == 1;
                rules.push(AclRule {
                    set: set_name(acl_key, run, l, v6),
                    v6,
                    action,
                });
            }
        }
        run += 1;
        i = j;
    }
    rules
}
