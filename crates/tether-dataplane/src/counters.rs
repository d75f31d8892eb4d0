//! Bypass counters as read by the worker for the `tether-conntrack-bypass` state tree.

use serde::{Deserialize, Serialize};

/// All counters of the installed program, sorted by name for stable output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BypassCounters {
    pub acl_entries: Vec<AclEntryCounters>,
    pub classes: Vec<ClassCounters>,
    /// Entries flushed by program installs over the dataplane's life, including those of classes
    /// that no longer exist (whose `ClassCounters` rows went away with them).
    pub flushed_total: u64,
}

/// Hits of one access-list entry: packets whose first matching entry it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntryCounters {
    pub access_list: String,
    pub sequence: u32,
    pub hits: u64,
}

/// One class of one policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounters {
    pub policy: String,
    pub class: String,
    /// Packets (and bytes) classified into this class: first packets of new connections, and every
    /// packet of its bypass connections (each is re-checked against the class's access-list).
    pub matched_packets: u64,
    pub matched_bytes: u64,
    /// Bypass connections of this class in the table now.
    pub bypass_current: u64,
    /// Bypass connections this class has built.
    pub bypass_built: u64,
    /// All connections (bypass or not) this class built and that are in the table now.
    pub connections_current: u64,
    pub connections_built: u64,
    /// Connections of this class torn down, by reason.
    pub torn_down_idle: u64,
    pub torn_down_fin_rst: u64,
    pub torn_down_flushed: u64,
    /// New connections refused by `conn-max` and by `embryonic-conn-max`.
    pub refused_conn_max: u64,
    pub refused_embryonic_conn_max: u64,
}
