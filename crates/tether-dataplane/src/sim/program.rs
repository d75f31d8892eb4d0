//! The simulator's compiled form of a `BypassProgram`: indexed access-lists, policies resolved to
//! positions, and the counters that live as long as their access-list entry or class does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::classifier::{AclIndex, FlowView};
use crate::conntrack::TeardownReason;
use crate::counters::{AclEntryCounters, ClassCounters};
use crate::program::{AclAction, AclEntry, BypassProgram};

#[derive(Debug, Default)]
pub(super) struct CompiledProgram {
    pub source: BypassProgram,
    acls: Vec<CompiledAcl>,
    policies: Vec<CompiledPolicy>,
}

#[derive(Debug)]
struct CompiledAcl {
    name: String,
    index: AclIndex,
    /// The entries in rank order, to carry hit counters across installs.
    entries: Vec<AclEntry>,
    hits: Vec<u64>,
}

#[derive(Debug)]
struct CompiledPolicy {
    name: Arc<str>,
    classes: Vec<CompiledClass>,
}

#[derive(Debug)]
pub(super) struct CompiledClass {
    pub name: Arc<str>,
    acl: usize,
    pub bypass: bool,
    /// Conditional bypass armed (always true for an unconditional class): a disarmed bypass
    /// class builds new TCP connections with state checks but keeps re-checking the bypass
    /// connections it built.
    pub armed: bool,
    pub mode: crate::program::BypassMode,
    pub limits: crate::program::ClassLimits,
    pub idle_timeout: Duration,
    pub cells: ClassCells,
}

/// The class counters the simulator accumulates (current counts are computed from the table).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ClassCells {
    pub matched_packets: u64,
    pub matched_bytes: u64,
    pub bypass_built: u64,
    pub connections_built: u64,
    pub torn_down_idle: u64,
    pub torn_down_fin_rst: u64,
    pub torn_down_flushed: u64,
    pub refused_conn_max: u64,
    pub refused_embryonic_conn_max: u64,
}

/// A class by position in the compiled program (valid until the next install remaps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ClassRef {
    pub policy: usize,
    pub class: usize,
}

/// What a policy makes of a packet with no connection entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Classification {
    /// No class matched (or no policy applies).
    Unclassified,
    /// The first class whose access-list's first match is `permit`.
    Class(ClassRef),
    /// A tcp-state-bypass class's access-list matched with `deny`: the packet is dropped.
    Denied(ClassRef),
}

impl CompiledProgram {
    /// Compiles a validated program.
    pub fn compile(source: &BypassProgram) -> Self {
        let acls: Vec<CompiledAcl> = source
            .access_lists
            .iter()
            .map(|(name, list)| {
                let mut entries = list.entries.clone();
                entries.sort_by_key(|e| e.sequence);
                CompiledAcl {
                    name: name.clone(),
                    index: AclIndex::build(list),
                    hits: vec![0; entries.len()],
                    entries,
                }
            })
            .collect();
        // `access_lists` is a BTreeMap, so positions follow name order; validation guarantees the
        // lookups below succeed, and a failed one would only make the class never match.
        let acl_pos = |name: &str| {
            acls.iter()
                .position(|a| a.name == name)
                .unwrap_or(usize::MAX)
        };
        let policies = source
            .policies
            .iter()
            .map(|(name, p)| CompiledPolicy {
                name: Arc::from(name.as_str()),
                classes: p
                    .classes
                    .iter()
                    .map(|c| CompiledClass {
                        name: Arc::from(c.name.as_str()),
                        acl: acl_pos(&c.access_list),
                        bypass: c.tcp_state_bypass,
                        armed: c.armed,
                        mode: c.mode,
                        limits: c.limits,
                        idle_timeout: c.idle_timeout,
                        cells: ClassCells::default(),
                    })
                    .collect(),
            })
            .collect();
        CompiledProgram {
            source: source.clone(),
            acls,
            policies,
        }
    }

    /// Keeps the counters of access-list entries that are unchanged (same list, sequence and
    /// content: an edited entry counts afresh, as on the ASA) and of classes still present by name.
    pub fn carry_counters_from(&mut self, old: &CompiledProgram) {
        for acl in &mut self.acls {
            let Some(prev) = old.acls.iter().find(|a| a.name == acl.name) else {
                continue;
            };
            for (rank, e) in acl.entries.iter().enumerate() {
                if let Ok(p) = prev
                    .entries
                    .binary_search_by_key(&e.sequence, |p| p.sequence)
                    && prev.entries[p] == *e
                {
                    acl.hits[rank] = prev.hits[p];
                }
            }
        }
        for p in 0..self.policies.len() {
            for c in 0..self.policies[p].classes.len() {
                let (policy, class) = (
                    self.policies[p].name.clone(),
                    self.policies[p].classes[c].name.clone(),
                );
                if let Some(r) = old.find_class(&policy, &class) {
                    self.policies[p].classes[c].cells = old.class(r).cells;
                }
            }
        }
    }

    /// The policy applying to packets entering `interface`: its own service-policy, else the
    /// global one (ASA precedence).
    pub fn policy_for(&self, interface: &str) -> Option<usize> {
        let name = self
            .source
            .service_policies
            .get(interface)
            .or(self.source.global_policy.as_ref())?;
        self.policies.iter().position(|p| &*p.name == name.as_str())
    }

    pub fn find_class(&self, policy: &str, class: &str) -> Option<ClassRef> {
        let p = self.policies.iter().position(|p| &*p.name == policy)?;
        let c = self.policies[p]
            .classes
            .iter()
            .position(|c| &*c.name == class)?;
        Some(ClassRef {
            policy: p,
            class: c,
        })
    }

    pub fn class(&self, r: ClassRef) -> &CompiledClass {
        &self.policies[r.policy].classes[r.class]
    }

    pub fn class_mut(&mut self, r: ClassRef) -> &mut CompiledClass {
        &mut self.policies[r.policy].classes[r.class]
    }

    pub fn policy_name(&self, r: ClassRef) -> &Arc<str> {
        &self.policies[r.policy].name
    }

    /// Runs a packet without a connection through `policy`'s classes in order. A class matches when
    /// its access-list's first match is `permit`; a `deny` first match skips an ordinary class but
    /// drops the packet for a bypass class, whose access-list is also the access rule for the
    /// traffic it selects. `count` adds access-list hits (off when re-checking at install).
    pub fn classify(&mut self, policy: usize, flow: &FlowView, count: bool) -> Classification {
        for c in 0..self.policies[policy].classes.len() {
            let class = &self.policies[policy].classes[c];
            let (acl, bypass) = (class.acl, class.bypass);
            let r = ClassRef { policy, class: c };
            match self.first_match(acl, flow, count) {
                Some(AclAction::Permit) => return Classification::Class(r),
                Some(AclAction::Deny) if bypass => return Classification::Denied(r),
                Some(AclAction::Deny) | None => {}
            }
        }
        Classification::Unclassified
    }

    /// Whether the class's access-list (still) permits the packet: bypassed traffic must still be
    /// allowed by the ACL, packet by packet.
    pub fn class_permits(&mut self, r: ClassRef, flow: &FlowView) -> bool {
        let acl = self.class(r).acl;
        self.first_match(acl, flow, true) == Some(AclAction::Permit)
    }

    fn first_match(&mut self, acl: usize, flow: &FlowView, count: bool) -> Option<AclAction> {
        let acl = self.acls.get_mut(acl)?;
        let rank = acl.index.first_match(flow)?;
        if count {
            acl.hits[rank] += 1;
        }
        Some(acl.index.entry(rank).action)
    }

    pub fn count_match(&mut self, r: ClassRef, bytes: u32) {
        let cells = &mut self.class_mut(r).cells;
        cells.matched_packets += 1;
        cells.matched_bytes += u64::from(bytes);
    }

    pub fn count_teardown(&mut self, r: ClassRef, reason: TeardownReason) {
        let cells = &mut self.class_mut(r).cells;
        match reason {
            TeardownReason::Idle => cells.torn_down_idle += 1,
            TeardownReason::FinRst => cells.torn_down_fin_rst += 1,
            TeardownReason::Flushed => cells.torn_down_flushed += 1,
        }
    }

    pub fn acl_counters(&self) -> Vec<AclEntryCounters> {
        let mut out = Vec::new();
        for acl in &self.acls {
            debug_assert_eq!(acl.entries.len(), acl.index.len());
            for (rank, (e, hits)) in acl.entries.iter().zip(&acl.hits).enumerate() {
                debug_assert_eq!(acl.index.entry(rank).sequence, e.sequence);
                out.push(AclEntryCounters {
                    access_list: acl.name.clone(),
                    sequence: e.sequence,
                    hits: *hits,
                });
            }
        }
        out
    }

    /// Class counters; `current` gives (bypass, all) connections in the table per class.
    pub fn class_counters(&self, current: &BTreeMap<ClassRef, (u64, u64)>) -> Vec<ClassCounters> {
        let mut out = Vec::new();
        for (p, policy) in self.policies.iter().enumerate() {
            for (c, class) in policy.classes.iter().enumerate() {
                let (bypass_current, connections_current) = current
                    .get(&ClassRef {
                        policy: p,
                        class: c,
                    })
                    .copied()
                    .unwrap_or_default();
                let cells = class.cells;
                out.push(ClassCounters {
                    policy: policy.name.to_string(),
                    class: class.name.to_string(),
                    matched_packets: cells.matched_packets,
                    matched_bytes: cells.matched_bytes,
                    bypass_current,
                    bypass_built: cells.bypass_built,
                    connections_current,
                    connections_built: cells.connections_built,
                    torn_down_idle: cells.torn_down_idle,
                    torn_down_fin_rst: cells.torn_down_fin_rst,
                    torn_down_flushed: cells.torn_down_flushed,
                    refused_conn_max: cells.refused_conn_max,
                    refused_embryonic_conn_max: cells.refused_embryonic_conn_max,
                });
            }
        }
        out
    }
}
