//! `ProgramDelta`: which parts of a [`BypassProgram`] one commit changed, so that a dataplane
//! can re-render and apply only those (set elements of one access-list) instead of the whole
//! program.
//!
//! The worker computes it next to the new program; a dataplane may always ignore it and
//! install the whole program (the trait's default), which is the reference its incremental
//! path is tested against.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::program::BypassProgram;

/// What changed between the installed program and the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramDelta {
    /// Access-list entries added, changed or removed, as (access-list, sequence).
    pub entries: BTreeSet<(String, u32)>,
    /// Access-lists changed as a whole (created, removed, or re-read in full).
    pub access_lists: BTreeSet<String>,
    /// Anything outside access-lists may have changed: policies, their classes, service-policies,
    /// the global policy. A dataplane re-renders everything that depends on them.
    pub structure: bool,
    /// Conditional classes, as (policy, class), whose `armed` changed and nothing else: a
    /// dataplane flips what arms them (the Linux one a gate chain) without re-rendering.
    #[serde(default)]
    pub arming: BTreeSet<(String, String)>,
}

impl ProgramDelta {
    /// The delta that says "anything may have changed" (boot, drift repair, after lagging).
    pub fn everything(program: &BypassProgram) -> Self {
        Self {
            entries: BTreeSet::new(),
            access_lists: program.access_lists.keys().cloned().collect(),
            structure: true,
            arming: BTreeSet::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.access_lists.is_empty()
            && !self.structure
            && self.arming.is_empty()
    }

    /// Whether `acl` changed at all (in full or some of its entries).
    pub fn touches_access_list(&self, acl: &str) -> bool {
        self.access_lists.contains(acl) || self.entries.iter().any(|(a, _)| a == acl)
    }

    /// Adds what `other` changed (commits coalesced into one install).
    pub fn merge(&mut self, other: &ProgramDelta) {
        self.entries.extend(other.entries.iter().cloned());
        self.access_lists.extend(other.access_lists.iter().cloned());
        self.structure |= other.structure;
        self.arming.extend(other.arming.iter().cloned());
    }
}
