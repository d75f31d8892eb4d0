//! `BypassProgram`: the compiled form of the bypass config (access-list → class → policy →
//! service-policy) that the worker hands to a dataplane.
//!
//! Plain data: the worker's compiler builds it from the YANG config, and every dataplane turns it into
//! its own representation (the simulator's index, nft sets). It knows nothing of YANG.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ProgramError;
use crate::packet::{IPPROTO_TCP, IPPROTO_UDP};
use crate::prefix::{IpPrefix, PortRange};

/// Everything the dataplane needs to classify traffic for TCP state bypass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BypassProgram {
    /// By access-list name.
    pub access_lists: BTreeMap<String, AccessList>,
    /// By policy name.
    pub policies: BTreeMap<String, Policy>,
    /// Interface name → policy name. Overrides `global_policy` on that interface (as on the ASA).
    pub service_policies: BTreeMap<String, String>,
    /// The policy for interfaces without a service-policy of their own.
    pub global_policy: Option<String>,
}

/// An ordered list of entries; the first entry (lowest sequence) that matches a packet decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessList {
    /// Sorted by sequence, sequences unique (checked by [`BypassProgram::validate`]).
    pub entries: Vec<AclEntry>,
}

/// One access-list entry (an ASA ACE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    pub sequence: u32,
    pub action: AclAction,
    /// IP protocol number; `None` is the ASA's `ip`: any protocol.
    pub protocol: Option<u8>,
    /// Source and destination must be of the same family; an entry matches only packets of it.
    pub source: IpPrefix,
    pub destination: IpPrefix,
    /// Only for tcp or udp entries; `PortRange::ANY` otherwise.
    pub source_ports: PortRange,
    pub destination_ports: PortRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AclAction {
    Permit,
    Deny,
}

/// A policy-map: classes tried in order, the first matching class wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub classes: Vec<PolicyClass>,
}

/// A class of a policy, with the class-map's access-list resolved by the compiler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyClass {
    pub name: String,
    /// Name of an entry of [`BypassProgram::access_lists`].
    pub access_list: String,
    /// ASA `set connection advanced-options tcp-state-bypass`.
    pub tcp_state_bypass: bool,
    /// ASA `set connection timeout idle`: the idle timeout of connections built by this class.
    pub idle_timeout: Duration,
    /// Timeouts and connection limits of the class (ASA `set connection timeout embryonic` /
    /// `half-closed`, `conn-max`, `embryonic-conn-max`).
    #[serde(default)]
    pub limits: ClassLimits,
    /// How `tcp_state_bypass` bypasses (YANG `bypass-mode`).
    #[serde(default)]
    pub mode: BypassMode,
    /// Conditional bypass: what arms the class (the worker moves `armed` as the trigger goes
    /// down and up; a dataplane only reads `armed`). A dataplane keeps what arming needs ready
    /// for a class with a trigger (the Linux one a gate chain) so that arming never
    /// restructures the program.
    #[serde(default)]
    pub trigger: Option<Trigger>,
    /// Whether new connections of a `tcp_state_bypass` class are built without state checks
    /// now: always true for an unconditional class. A disarmed class still checks the live
    /// bypass connections it built (against its access-list) and keeps them until they end.
    #[serde(default = "armed_by_default")]
    pub armed: bool,
}

/// A class's per-connection timeouts beyond the idle one, and its connection limits; `None`
/// is the dataplane default (no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClassLimits {
    /// How long a TCP connection may stay embryonic (SYN seen, no SYN-ACK).
    pub embryonic_timeout: Option<Duration>,
    /// How long a TCP connection may stay half-closed (a FIN from one side).
    pub half_closed_timeout: Option<Duration>,
    /// The most connections the class may have at once.
    pub conn_max: Option<u32>,
    /// The most embryonic TCP connections the class may have at once.
    pub embryonic_conn_max: Option<u32>,
}

/// How a bypass class bypasses TCP state checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BypassMode {
    /// The ASA's: an entry from any packet, no TCP checks, ended only by its idle timeout.
    #[default]
    Full,
    /// Only the SYN check is skipped: an entry from any packet, then tracked as usual (FIN/RST
    /// end it, invalid packets are dropped).
    SynCheck,
    /// No entry at all: every packet judged by the access-list alone (notrack).
    Stateless,
}

/// What arms a conditional bypass class, and how long it stays armed after the trigger is up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trigger {
    pub source: TriggerSource,
    pub hold: Duration,
}

/// The thing whose failure arms the bypass.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerSource {
    /// Armed while this interface is not operationally up (or absent).
    Interface(String),
    /// Armed while this link-state group is down (or absent, or disabled).
    LinkStateGroup(u16),
}

fn armed_by_default() -> bool {
    true
}

impl PolicyClass {
    /// Whether the class's bypass follows a trigger.
    pub fn conditional(&self) -> bool {
        self.tcp_state_bypass && self.trigger.is_some()
    }

    /// Whether a new TCP connection of this class is built without state checks now.
    pub fn bypasses_now(&self) -> bool {
        self.tcp_state_bypass && self.armed
    }
}

impl AclEntry {
    /// Whether this entry's selectors match (ignoring its action). The reference semantics the
    /// classifier's index is tested against.
    pub fn matches(
        &self,
        protocol: u8,
        src: std::net::IpAddr,
        dst: std::net::IpAddr,
        sport: u16,
        dport: u16,
    ) -> bool {
        self.protocol.is_none_or(|p| p == protocol)
            && self.source.contains(src)
            && self.destination.contains(dst)
            && self.source_ports.contains(sport)
            && self.destination_ports.contains(dport)
    }
}

impl BypassProgram {
    /// Checks every cross-reference and selector; a dataplane calls it before installing so that a
    /// bad program changes nothing.
    pub fn validate(&self) -> Result<(), ProgramError> {
        for (acl, list) in &self.access_lists {
            let mut seen = BTreeSet::new();
            let mut previous = None;
            for e in &list.entries {
                let sequence = e.sequence;
                if !seen.insert(sequence) {
                    return Err(ProgramError::DuplicateSequence {
                        acl: acl.clone(),
                        sequence,
                    });
                }
                // Sorting is part of the contract so dataplanes can rely on entry order.
                if previous.is_some_and(|p| p > sequence) {
                    return Err(ProgramError::UnsortedSequence {
                        acl: acl.clone(),
                        sequence,
                    });
                }
                previous = Some(sequence);
                if e.source.is_ipv6() != e.destination.is_ipv6() {
                    return Err(ProgramError::MixedFamilies {
                        acl: acl.clone(),
                        sequence,
                    });
                }
                for r in [e.source_ports, e.destination_ports] {
                    if r.lo > r.hi {
                        return Err(ProgramError::EmptyPortRange {
                            acl: acl.clone(),
                            sequence,
                            lo: r.lo,
                            hi: r.hi,
                        });
                    }
                }
                let transport = matches!(e.protocol, Some(IPPROTO_TCP | IPPROTO_UDP));
                let matches_ports = !(e.source_ports.is_any() && e.destination_ports.is_any());
                if matches_ports && !transport {
                    return Err(ProgramError::PortsWithoutTransport {
                        acl: acl.clone(),
                        sequence,
                    });
                }
            }
        }
        for (policy, p) in &self.policies {
            let mut names = BTreeSet::new();
            for c in &p.classes {
                if !names.insert(c.name.as_str()) {
                    return Err(ProgramError::DuplicateClass {
                        policy: policy.clone(),
                        class: c.name.clone(),
                    });
                }
                if !self.access_lists.contains_key(&c.access_list) {
                    return Err(ProgramError::UnknownAccessList {
                        policy: policy.clone(),
                        class: c.name.clone(),
                        acl: c.access_list.clone(),
                    });
                }
                if c.idle_timeout.is_zero() {
                    return Err(ProgramError::ZeroIdleTimeout {
                        policy: policy.clone(),
                        class: c.name.clone(),
                        timeout: c.idle_timeout,
                    });
                }
            }
        }
        for (interface, policy) in &self.service_policies {
            if !self.policies.contains_key(policy) {
                let user = format!("service-policy of interface {interface:?}");
                return Err(ProgramError::UnknownPolicy {
                    user,
                    policy: policy.clone(),
                });
            }
        }
        if let Some(policy) = &self.global_policy
            && !self.policies.contains_key(policy)
        {
            return Err(ProgramError::UnknownPolicy {
                user: "the global policy".into(),
                policy: policy.clone(),
            });
        }
        Ok(())
    }
}
