//! Compiles a [`BypassProgram`](tether_dataplane::BypassProgram) into the nftables text of the `inet tether` table. Pure: no I/O.
//!
//! # Layout
//!
//! ```text
//! chain forward (hook forward, priority filter, policy accept)
//!   ct mark vmap { <bypass mark of class X> : jump r_X, ... }   # live bypass connections: ACL re-check
//!   ct state established,related accept
//!   jump classify                                             # packets without a Tether connection
//!   ct state invalid drop                                     # the default stateful policy
//!   ct state new meta l4proto tcp tcp flags & (syn|ack|fin|rst) != syn drop
//! chain classify: iifname vmap { "if" : goto p_P } ; goto p_<global>
//! chain p_P:      jump k_X for each class X of policy P, in order
//! chain k_X:      one rule per (run, layer, family) of X's access-list, in sequence order:
//!                 permit run -> goto h_X ; deny run -> drop (bypass class) or return (other class)
//! chain h_X:      bypass class, TCP: ct mark set, ct timeout set, counters, accept
//!                 (conditional bypass class: jump g_X instead, which holds that rule while
//!                 the class is armed and nothing while it is disarmed)
//!                 otherwise: the stateful checks, then ct mark set and accept
//! chain r_X:      the access-list again (permit run -> count, accept; deny run -> drop), then drop
//!
//! chain raw (hook prerouting, priority raw), only rules while a class is `stateless`:
//!   jump rclassify: the policies again, each class's access-list in order; a permit of a
//!   stateless class's TCP -> notrack, accept (conditional: goto its gate q_X); any other
//!   first match -> accept (the class that wins is not stateless); h_X of a stateless class
//!   then accepts `ct state untracked`.
//! ```
//!
//! # First match with sets
//!
//! An access-list is cut into *runs*: maximal groups of consecutive entries (by sequence) with the
//! same action. The first matching entry lies in the first run that has a matching entry, and its
//! action is that run's action, so one rule per run, in run order, gives exactly first-match
//! semantics; the order of entries inside a run does not change the verdict. The kernel's
//! concatenated interval sets (pipapo) refuse overlapping elements, so a run is further split into
//! *layers* of non-overlapping entries (greedy in sequence order: an entry goes to the first layer it
//! does not overlap); all layers of a run carry the run's action, so their order does not matter
//! either. Typical access-lists (denies first, then permits) give one or two runs of one layer.
//!
//! # Names
//!
//! Chains, sets and counters are named by hashes of the access-list, policy and class names, so the
//! same program renders the same table in every process (a restarted daemon recognises its
//! connections' marks) and an edit that only adds or removes entries of existing runs changes set
//! elements only: [`Rendered::skeleton`] is equal, and the installer updates elements in place.
//!
//! # Code map
//!
//! `render/names.rs` (how every chain, set and counter is named), `render/layers.rs`
//! (non-overlapping entries, indexed by source prefix), `render/acl.rs` (one access-list →
//! runs, layers, rules and elements), `render/table.rs` (the chains of the layout above, and
//! the objects around them), `render/incremental.rs` (one entry's element patched in).

mod acl;
pub mod incremental;
mod layers;
mod names;
mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tether_dataplane::BypassMode;

pub use acl::element_text;
pub use names::timeout_name;
pub use table::{
    base_chain, counter_object, element_lines, established_timeout_object, gate_rules, gate_script,
    raw_base_chain, rearm, render, timeout_object,
};

/// The table Tether owns. Nothing outside it is ever touched.
pub const TABLE: &str = "tether";
/// `ct mark` of a connection a tcp-state-bypass class built: tag in the top byte, class id below.
pub const TAG_BYPASS: u32 = 0x7e00_0000;
/// `ct mark` of a connection an ordinary class built.
pub const TAG_CLASSIFIED: u32 = 0x7f00_0000;
/// Mask selecting both tags (0x7e and 0x7f) in one `conntrack --mark` query.
pub const TAGS_MASK: u32 = 0xfe00_0000;
pub const TAG_MASK: u32 = 0xff00_0000;
pub const ID_MASK: u32 = 0x00ff_ffff;
/// ct timeout values are whole seconds (u32 in the kernel).
const MAX_TIMEOUT_SECS: u64 = u32::MAX as u64;

/// Options of the rendered program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Include the default stateful policy (established/related accept, invalid drop, new TCP must
    /// be a SYN). Without it the bypass rules still run, but some other firewall must be stateful.
    pub stateful_policy: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            stateful_policy: true,
        }
    }
}

/// One class of one policy, as rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInfo {
    pub id: u32,
    pub policy: String,
    pub class: String,
    pub access_list: String,
    pub bypass: bool,
    /// Seconds, rounded up, at least 1.
    pub timeout_secs: u32,
    /// A conditional bypass class: its bypass accept sits in its gate chain `g_X`, which holds
    /// it while `armed` and is empty otherwise, so arming flips one chain and never the skeleton.
    pub conditional: bool,
    pub armed: bool,
    pub mode: BypassMode,
    /// Seconds, when the class sets them (`embryonic-timeout`, `half-closed-timeout`).
    pub embryonic_secs: Option<u32>,
    pub half_closed_secs: Option<u32>,
    pub conn_max: Option<u32>,
    pub embryonic_conn_max: Option<u32>,
}

/// The ct timeout policy of a class's connections other than full bypass: the idle timeout
/// while established (and unacknowledged/retransmitting, which a mid-stream pickup meets),
/// the class's embryonic and half-closed timeouts where it sets them, the kernel's otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateTimeouts {
    pub idle: u32,
    pub embryonic: Option<u32>,
    pub half_closed: Option<u32>,
}

impl StateTimeouts {
    /// `te_<idle>`, or `te_<idle>_<embryonic>_<half-closed>` (0: the kernel's).
    pub fn name(&self) -> String {
        match (self.embryonic, self.half_closed) {
            (None, None) => format!("te_{}", self.idle),
            (e, h) => format!("te_{}_{}_{}", self.idle, e.unwrap_or(0), h.unwrap_or(0)),
        }
    }
}

impl ClassInfo {
    /// The ct timeout policy of the class's connections that are not full bypass ones.
    pub fn state_timeouts(&self) -> StateTimeouts {
        StateTimeouts {
            idle: self.timeout_secs,
            embryonic: self.embryonic_secs,
            half_closed: self.half_closed_secs,
        }
    }

    pub fn bypass_mark(&self) -> u32 {
        TAG_BYPASS | self.id
    }
    pub fn classified_mark(&self) -> u32 {
        TAG_CLASSIFIED | self.id
    }
}

/// Where one access-list entry went: its set and its element text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPlacement {
    pub access_list: String,
    pub sequence: u32,
    pub set: String,
    pub element: String,
}

/// The table for one program, split into what needs a structural change and what can be updated
/// in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Chains and rules, set declarations (without elements): equal skeletons mean the program
    /// differs at most in set elements and in the gates' rules.
    pub skeleton: String,
    /// Gate chain of each conditional bypass class → its rules now (the bypass accept while
    /// armed, none while disarmed); not in the skeleton.
    pub gates: BTreeMap<String, Vec<String>>,
    /// Set name → its declaration body.
    pub sets: BTreeMap<String, String>,
    /// Set name → elements.
    pub elements: BTreeMap<String, BTreeSet<String>>,
    /// Non-base chains, in creation order.
    pub chains: Vec<String>,
    /// ct timeout objects needed, by seconds (named `t_<secs>`): every TCP state the idle
    /// timeout (bypass mode `full`).
    pub timeouts: BTreeSet<u32>,
    /// ct timeout objects of `syn-check` classes (named `te_<secs>`): the idle timeout while
    /// established, the kernel's own for the closing states.
    pub established_timeouts: BTreeSet<StateTimeouts>,
    /// Named counters needed.
    pub counters: BTreeSet<String>,
    pub classes: Vec<ClassInfo>,
    pub entries: Vec<EntryPlacement>,
    /// Sets whose new elements cannot change the class of a live connection: permit runs of
    /// access-lists used only by the last class of their policies (an added permit can neither
    /// deny a permitted connection nor move it to an earlier class).
    pub add_safe_sets: BTreeSet<String>,
}

impl Rendered {
    /// The names of every ct timeout object the table needs.
    pub fn timeout_names(&self) -> BTreeSet<String> {
        (self.timeouts.iter().map(|t| timeout_name(*t)))
            .chain(self.established_timeouts.iter().map(StateTimeouts::name))
            .collect()
    }

    /// `add ct timeout` lines of every ct timeout object the table needs.
    pub fn timeout_objects(&self) -> String {
        let mut s = String::new();
        for t in &self.timeouts {
            s.push_str(&table::timeout_object(*t));
        }
        for t in &self.established_timeouts {
            s.push_str(&table::established_timeout_object(t));
        }
        s
    }
}

/// The kernel's ct timeout in whole seconds: rounded up so a connection never expires early.
pub fn timeout_secs(d: Duration) -> u32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    u32::try_from(secs.clamp(1, MAX_TIMEOUT_SECS)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod incremental_tests;
#[cfg(test)]
mod tests;
