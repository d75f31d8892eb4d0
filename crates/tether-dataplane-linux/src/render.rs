//! Compiles a [`BypassProgram`] into the nftables text of the `inet tether` table. Pure: no I/O.
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
//!                 otherwise: the stateful checks, then ct mark set and accept
//! chain r_X:      the access-list again (permit run -> count, accept; deny run -> drop), then drop
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use tether_dataplane::{AclAction, AclEntry, BypassProgram, IpPrefix, PortRange};

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

/// The TCP states of the ct timeout policy. A bypass connection lives until its idle timeout
/// whatever TCP does (ASA: "remain in the state table until the idle timeout"), so every state gets
/// it; `established`, `unack` and `retrans` are the ones that matter for mid-flow pickups (DESIGN §3).
const CT_TIMEOUT_STATES: [&str; 10] = [
    "syn_sent",
    "syn_recv",
    "established",
    "fin_wait",
    "close_wait",
    "last_ack",
    "time_wait",
    "close",
    "retrans",
    "unack",
];

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
}

impl ClassInfo {
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
    /// differs at most in set elements.
    pub skeleton: String,
    /// Set name → its declaration body.
    pub sets: BTreeMap<String, String>,
    /// Set name → elements.
    pub elements: BTreeMap<String, BTreeSet<String>>,
    /// Non-base chains, in creation order.
    pub chains: Vec<String>,
    /// ct timeout objects needed, by seconds (named `t_<secs>`).
    pub timeouts: BTreeSet<u32>,
    /// Named counters needed.
    pub counters: BTreeSet<String>,
    pub classes: Vec<ClassInfo>,
    pub entries: Vec<EntryPlacement>,
    /// Sets whose new elements cannot change the class of a live connection: permit runs of
    /// access-lists used only by the last class of their policies (an added permit can neither
    /// deny a permitted connection nor move it to an earlier class).
    pub add_safe_sets: BTreeSet<String>,
}

pub fn timeout_name(secs: u32) -> String {
    format!("t_{secs}")
}

/// The kernel's ct timeout in whole seconds: rounded up so a connection never expires early.
pub fn timeout_secs(d: Duration) -> u32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    u32::try_from(secs.clamp(1, MAX_TIMEOUT_SECS)).unwrap_or(u32::MAX)
}

/// FNV-1a: stable across processes and Rust versions (unlike `DefaultHasher`).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Stable ids from names: a hash, probed past collisions in name order (so the result depends only
/// on the set of names). `bits` wide, never 0.
fn stable_ids<'a>(
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
        let mut id = fnv1a(&[a, b]) & mask;
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

/// An entry's selector as closed intervals, for overlap checks and element text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Boxed {
    v6: bool,
    src: (u128, u128),
    dst: (u128, u128),
    proto: (u8, u8),
    sport: (u16, u16),
    dport: (u16, u16),
}

fn prefix_range(p: &IpPrefix) -> (u128, u128) {
    let width: u32 = if p.is_ipv6() { 128 } else { 32 };
    let bits = match p.addr() {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let host_bits = width - u32::from(p.prefix_len());
    let span = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    (bits, bits | span)
}

fn overlaps<T: Ord>(a: &(T, T), b: &(T, T)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

impl Boxed {
    fn of(e: &AclEntry) -> Self {
        let proto = e.protocol.map_or((0, 255), |p| (p, p));
        Boxed {
            v6: e.source.is_ipv6(),
            src: prefix_range(&e.source),
            dst: prefix_range(&e.destination),
            proto,
            sport: (e.source_ports.lo, e.source_ports.hi),
            dport: (e.destination_ports.lo, e.destination_ports.hi),
        }
    }

    fn overlaps(&self, o: &Boxed) -> bool {
        self.v6 == o.v6
            && overlaps(&self.src, &o.src)
            && overlaps(&self.dst, &o.dst)
            && overlaps(&self.proto, &o.proto)
            && overlaps(&self.sport, &o.sport)
            && overlaps(&self.dport, &o.dport)
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

const SEL4: &str = "ip saddr . ip daddr . meta l4proto . th sport . th dport";
const SEL6: &str = "ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport";
const SET4: &str =
    "typeof ip saddr . ip daddr . meta l4proto . th sport . th dport; flags interval; counter;";
const SET6: &str =
    "typeof ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport; flags interval; counter;";
const NEW_TCP_NOT_SYN: &str =
    "ct state new meta l4proto tcp tcp flags & (syn|ack|fin|rst) != syn drop";

/// Boxes of one layer, indexed by source prefix `(network, length)`. Two CIDR prefixes overlap
/// only if one contains the other, so the boxes whose source overlaps a new one are those whose
/// source lies inside it (a range scan) or contains it (one lookup per shorter length): checking
/// an entry costs about its address width in lookups, not the layer's size, for the usual
/// access-list of specific prefixes.
#[derive(Debug)]
struct Layer {
    by_source: BTreeMap<(u128, u8), Vec<Boxed>>,
    /// Which source prefix lengths the layer holds, so only those are looked up.
    lengths: [bool; 129],
}

impl Default for Layer {
    fn default() -> Self {
        Self {
            by_source: BTreeMap::new(),
            lengths: [false; 129],
        }
    }
}

impl Layer {
    fn candidates<'a>(&'a self, b: &Boxed, src: &IpPrefix) -> impl Iterator<Item = &'a Boxed> + 'a {
        let len = src.prefix_len();
        let v6 = b.v6;
        let width: u8 = if v6 { 128 } else { 32 };
        let (lo, hi) = b.src;
        let inside = self
            .by_source
            .range((lo, len)..=(hi, width))
            .filter(move |((net, l), _)| *l >= len && *net <= hi)
            .flat_map(|(_, v)| v.iter());
        let containing = (0..len)
            .filter(|l| self.lengths[usize::from(*l)])
            .filter_map(move |l| {
                let host_bits = u32::from(width - l);
                let mask = if host_bits >= 128 {
                    0
                } else {
                    !((1u128 << host_bits) - 1)
                };
                let mask = if v6 {
                    mask
                } else {
                    mask & u128::from(u32::MAX)
                };
                self.by_source.get(&(lo & mask, l))
            });
        inside.chain(containing.flat_map(|v| v.iter()))
    }

    fn overlaps(&self, b: &Boxed, src: &IpPrefix) -> bool {
        self.candidates(b, src).any(|o| o.overlaps(b))
    }

    fn contains(&self, b: &Boxed, src: &IpPrefix) -> bool {
        self.by_source
            .get(&(b.src.0, src.prefix_len()))
            .is_some_and(|v| v.contains(b))
    }

    fn insert(&mut self, b: Boxed, src: &IpPrefix) {
        self.lengths[usize::from(src.prefix_len())] = true;
        self.by_source
            .entry((b.src.0, src.prefix_len()))
            .or_default()
            .push(b);
    }
}

/// One rule's worth of an access-list: a set and the run's action.
#[derive(Debug, Clone)]
struct AclRule {
    set: String,
    v6: bool,
    action: AclAction,
}

/// Runs and layers of one access-list: the ordered rules and the elements of each set.
fn compile_acl(
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
            if let Some(l) = layers[fam].iter().position(|l| l.contains(&b, &e.source)) {
                // An identical selector in the same run is shadowed by the earlier one: same set,
                // same element, not added twice (it would overlap itself).
                let set = format!("{acl_key}_r{run}_l{l}_{}", if b.v6 { 6 } else { 4 });
                placements.push(EntryPlacement {
                    access_list: acl_name.to_string(),
                    sequence: e.sequence,
                    set,
                    element: text,
                });
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
            let set = format!("{acl_key}_r{run}_l{layer}_{}", if b.v6 { 6 } else { 4 });
            elements
                .entry(set.clone())
                .or_default()
                .insert(text.clone());
            placements.push(EntryPlacement {
                access_list: acl_name.to_string(),
                sequence: e.sequence,
                set,
                element: text,
            });
        }
        for (fam, fam_layers) in layers.iter().enumerate() {
            for l in 0..fam_layers.len() {
                let v6 = fam == 1;
                rules.push(AclRule {
                    set: format!("{acl_key}_r{run}_l{l}_{}", if v6 { 6 } else { 4 }),
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

fn match_rule(r: &AclRule) -> String {
    format!("{} @{}", if r.v6 { SEL6 } else { SEL4 }, r.set)
}

fn quote(s: &str) -> String {
    // nft comments: no quotes or newlines inside, at most 128 bytes.
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

/// Renders a validated program.
pub fn render(program: &BypassProgram, options: RenderOptions) -> Rendered {
    let mut r = Rendered::default();
    let acl_ids = stable_ids(program.access_lists.keys().map(|k| (k.as_str(), "")), 32);
    let policy_ids = stable_ids(program.policies.keys().map(|k| (k.as_str(), "")), 32);
    let class_ids = stable_ids(
        program.policies.iter().flat_map(|(p, pol)| {
            pol.classes
                .iter()
                .map(move |c| (p.as_str(), c.name.as_str()))
        }),
        24,
    );
    // Only access-lists some class uses are rendered.
    let used: BTreeSet<&str> = program
        .policies
        .values()
        .flat_map(|p| p.classes.iter().map(|c| c.access_list.as_str()))
        .collect();
    let mut acl_rules: BTreeMap<&str, Vec<AclRule>> = BTreeMap::new();
    for (name, list) in &program.access_lists {
        if !used.contains(name.as_str()) {
            continue;
        }
        let key = format!(
            "a{:08x}",
            acl_ids
                .get(&(name.clone(), String::new()))
                .copied()
                .unwrap_or(0)
        );
        let rules = compile_acl(name, &key, &list.entries, &mut r.elements, &mut r.entries);
        for rule in &rules {
            let decl = if rule.v6 { SET6 } else { SET4 };
            r.sets.insert(rule.set.clone(), decl.to_string());
        }
        acl_rules.insert(name.as_str(), rules);
    }

    // Access-lists used by a class that is not the last of its policy.
    let not_last: BTreeSet<&str> = program
        .policies
        .values()
        .flat_map(|p| {
            let n = p.classes.len();
            p.classes[..n.saturating_sub(1)]
                .iter()
                .map(|c| c.access_list.as_str())
        })
        .collect();
    for (acl, rules) in &acl_rules {
        if not_last.contains(acl) {
            continue;
        }
        for rule in rules.iter().filter(|r| r.action == AclAction::Permit) {
            r.add_safe_sets.insert(rule.set.clone());
        }
    }

    let mut chains: Vec<(String, Vec<String>)> = Vec::new();
    let mut policy_chain: BTreeMap<&str, String> = BTreeMap::new();
    for (pname, policy) in &program.policies {
        let pid = policy_ids
            .get(&(pname.clone(), String::new()))
            .copied()
            .unwrap_or(0);
        let pchain = format!("p_{pid:08x}");
        let mut prules = Vec::new();
        for c in &policy.classes {
            let id = class_ids
                .get(&(pname.clone(), c.name.clone()))
                .copied()
                .unwrap_or(1);
            let info = ClassInfo {
                id,
                policy: pname.clone(),
                class: c.name.clone(),
                access_list: c.access_list.clone(),
                bypass: c.tcp_state_bypass,
                timeout_secs: timeout_secs(c.idle_timeout),
            };
            let rules = acl_rules
                .get(c.access_list.as_str())
                .cloned()
                .unwrap_or_default();
            let (m, b, n) = (
                format!("m_{id:06x}"),
                format!("b_{id:06x}"),
                format!("n_{id:06x}"),
            );
            r.counters.insert(m.clone());
            r.counters.insert(n.clone());
            // Hit chain.
            let mut h = Vec::new();
            if info.bypass {
                r.counters.insert(b.clone());
                r.timeouts.insert(info.timeout_secs);
                h.push(format!(
                    "meta l4proto tcp ct mark set {:#010x} ct timeout set \"{}\" counter name \"{m}\" counter name \"{b}\" accept",
                    info.bypass_mark(),
                    timeout_name(info.timeout_secs)
                ));
            }
            h.push(format!("counter name \"{m}\""));
            if options.stateful_policy {
                h.push("ct state invalid drop".to_string());
                h.push(NEW_TCP_NOT_SYN.to_string());
            }
            h.push(format!(
                "ct mark != {:#010x} ct mark set {:#010x} counter name \"{n}\"",
                info.classified_mark(),
                info.classified_mark()
            ));
            h.push("accept".to_string());
            // Classification chain.
            let mut k = Vec::new();
            for rule in &rules {
                let verdict = match (rule.action, info.bypass) {
                    (AclAction::Permit, _) => format!("goto h_{id:06x}"),
                    // A bypass class's access-list is also the access rule for what it selects.
                    (AclAction::Deny, true) => "drop".to_string(),
                    (AclAction::Deny, false) => "return".to_string(),
                };
                k.push(format!("{} {verdict}", match_rule(rule)));
            }
            // Re-check chain of live bypass connections: every packet, both directions.
            if info.bypass {
                let mut rc = Vec::new();
                for rule in &rules {
                    let verdict = match rule.action {
                        AclAction::Permit => format!("counter name \"{m}\" accept"),
                        AclAction::Deny => "drop".to_string(),
                    };
                    rc.push(format!("{} {verdict}", match_rule(rule)));
                }
                rc.push("drop".to_string());
                chains.push((format!("r_{id:06x}"), rc));
            }
            chains.push((format!("h_{id:06x}"), h));
            chains.push((format!("k_{id:06x}"), k));
            prules.push(format!("jump k_{id:06x}"));
            r.classes.push(info);
        }
        chains.push((pchain.clone(), prules));
        policy_chain.insert(pname.as_str(), pchain);
    }

    // classify
    let mut classify = Vec::new();
    let vmap: Vec<String> = program
        .service_policies
        .iter()
        .filter_map(|(iface, p)| {
            policy_chain
                .get(p.as_str())
                .map(|c| format!("{} : goto {c}", quote(iface)))
        })
        .collect();
    if !vmap.is_empty() {
        classify.push(format!("iifname vmap {{ {} }}", vmap.join(", ")));
    }
    if let Some(c) = program
        .global_policy
        .as_ref()
        .and_then(|g| policy_chain.get(g.as_str()))
    {
        classify.push(format!("goto {c}"));
    }
    chains.push(("classify".to_string(), classify));

    // forward
    let mut fwd = Vec::new();
    let recheck: Vec<String> = r
        .classes
        .iter()
        .filter(|c| c.bypass)
        .map(|c| format!("{:#010x} : jump r_{:06x}", c.bypass_mark(), c.id))
        .collect();
    if !recheck.is_empty() {
        fwd.push(format!("ct mark vmap {{ {} }}", recheck.join(", ")));
    }
    if options.stateful_policy {
        fwd.push("ct state established,related accept".to_string());
    }
    fwd.push("jump classify".to_string());
    if options.stateful_policy {
        fwd.push("ct state invalid drop".to_string());
        fwd.push(NEW_TCP_NOT_SYN.to_string());
    }

    // Skeleton text: set declarations, then chains (empty), then rules (jumps need the chains).
    let mut s = String::new();
    for (name, decl) in &r.sets {
        let _ = writeln!(s, "add set inet {TABLE} {name} {{ {decl} }}");
    }
    for (name, _) in &chains {
        let _ = writeln!(s, "add chain inet {TABLE} {name}");
        r.chains.push(name.clone());
    }
    for (name, rules) in &chains {
        for rule in rules {
            let _ = writeln!(s, "add rule inet {TABLE} {name} {rule}");
        }
    }
    for rule in &fwd {
        let _ = writeln!(s, "add rule inet {TABLE} forward {rule}");
    }
    r.skeleton = s;
    r
}

/// The declaration of the base chain (created once, never deleted: deleting it would open a window).
pub fn base_chain() -> String {
    format!(
        "add chain inet {TABLE} forward {{ type filter hook forward priority filter; policy accept; comment \"Tether: TCP state bypass and the default stateful policy\"; }}\n"
    )
}

/// `add ct timeout` for one idle timeout.
pub fn timeout_object(secs: u32) -> String {
    let policy: Vec<String> = CT_TIMEOUT_STATES
        .iter()
        .map(|s| format!("{s}: {secs}"))
        .collect();
    format!(
        "add ct timeout inet {TABLE} {} {{ protocol tcp; l3proto inet; policy = {{ {} }}; comment \"Tether bypass idle timeout {secs}s\"; }}\n",
        timeout_name(secs),
        policy.join(", ")
    )
}

/// `add counter` with a comment naming what it counts.
pub fn counter_object(name: &str, classes: &[ClassInfo]) -> String {
    let comment = name
        .get(2..)
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .and_then(|id| classes.iter().find(|c| c.id == id))
        .map(|c| {
            let what = match name.as_bytes().first() {
                Some(b'm') => "matched",
                Some(b'b') => "bypass built",
                _ => "connections built",
            };
            format!("{what}: policy {} class {}", c.policy, c.class)
        })
        .unwrap_or_default();
    format!(
        "add counter inet {TABLE} {name} {{ comment {}; }}\n",
        quote(&comment)
    )
}

/// `add element` / `delete element` lines, batched so no line gets huge.
pub fn element_lines(verb: &str, set: &str, elements: &[&String], out: &mut String) {
    for chunk in elements.chunks(512) {
        let _ = writeln!(
            out,
            "{verb} element inet {TABLE} {set} {{ {} }}",
            chunk
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_dataplane::{AccessList, Policy, PolicyClass};

    fn ace(seq: u32, action: AclAction, src: &str, dst: &str, dport: Option<u16>) -> AclEntry {
        AclEntry {
            sequence: seq,
            action,
            protocol: Some(6),
            source: src.parse().unwrap(),
            destination: dst.parse().unwrap(),
            source_ports: PortRange::ANY,
            destination_ports: dport.map_or(PortRange::ANY, PortRange::single),
        }
    }

    fn program(entries: Vec<AclEntry>, bypass: bool) -> BypassProgram {
        let mut p = BypassProgram::default();
        p.access_lists.insert("ACL".into(), AccessList { entries });
        p.policies.insert(
            "POL".into(),
            Policy {
                classes: vec![PolicyClass {
                    name: "C".into(),
                    access_list: "ACL".into(),
                    tcp_state_bypass: bypass,
                    idle_timeout: Duration::from_secs(900),
                }],
            },
        );
        p.service_policies.insert("mpls".into(), "POL".into());
        p
    }

    #[test]
    fn runs_follow_actions_and_layers_split_overlaps() {
        use AclAction::*;
        let p = program(
            vec![
                ace(10, Deny, "198.18.0.5/32", "198.19.0.0/24", None),
                ace(20, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
                // Overlaps 20: same run, second layer.
                ace(30, Permit, "198.18.0.0/16", "198.19.0.0/16", Some(443)),
                // Disjoint from 20: same run, first layer.
                ace(40, Permit, "198.18.1.0/24", "198.19.0.0/24", None),
                ace(50, Deny, "198.18.0.0/15", "0.0.0.0/0", None),
            ],
            true,
        );
        let r = render(&p, RenderOptions::default());
        let sets: Vec<&String> = r.sets.keys().collect();
        assert_eq!(sets.len(), 4, "{sets:?}");
        let k_rules: Vec<&str> = r
            .skeleton
            .lines()
            .filter(|l| l.starts_with("add rule inet tether k_"))
            .collect();
        assert_eq!(k_rules.len(), 4);
        assert!(k_rules[0].contains("_r0_l0_4") && k_rules[0].ends_with("drop"));
        assert!(k_rules[1].contains("_r1_l0_4") && k_rules[1].contains("goto h_"));
        assert!(k_rules[2].contains("_r1_l1_4") && k_rules[2].contains("goto h_"));
        assert!(k_rules[3].contains("_r2_l0_4") && k_rules[3].ends_with("drop"));
        let l0 = r.elements.values().find(|e| e.len() == 2).unwrap();
        assert!(l0.contains("198.18.1.0/24 . 198.19.0.0/24 . 6 . 0-65535 . 0-65535"));
    }

    #[test]
    fn element_changes_keep_the_skeleton() {
        use AclAction::*;
        let a = program(
            vec![ace(10, Permit, "198.18.0.0/24", "198.19.0.0/24", None)],
            true,
        );
        let b = program(
            vec![
                ace(10, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
                ace(20, Permit, "198.18.1.0/24", "198.19.0.0/24", None),
            ],
            true,
        );
        let (ra, rb) = (
            render(&a, RenderOptions::default()),
            render(&b, RenderOptions::default()),
        );
        assert_eq!(ra.skeleton, rb.skeleton);
        assert_ne!(ra.elements, rb.elements);
        // A deny in the middle adds a run: structural.
        let c = program(
            vec![
                ace(10, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
                ace(15, Deny, "198.18.2.0/24", "198.19.0.0/24", None),
                ace(20, Permit, "198.18.1.0/24", "198.19.0.0/24", None),
            ],
            true,
        );
        assert_ne!(render(&c, RenderOptions::default()).skeleton, ra.skeleton);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let ids = stable_ids([("p", "a"), ("p", "b"), ("q", "a")].into_iter(), 24);
        let again = stable_ids([("q", "a"), ("p", "b"), ("p", "a")].into_iter(), 24);
        assert_eq!(ids, again);
        let distinct: BTreeSet<u32> = ids.values().copied().collect();
        assert_eq!(distinct.len(), 3);
        assert!(ids.values().all(|v| *v != 0 && *v <= ID_MASK));
    }

    #[test]
    fn timeouts_round_up() {
        assert_eq!(timeout_secs(Duration::from_millis(1)), 1);
        assert_eq!(timeout_secs(Duration::from_millis(1500)), 2);
        assert_eq!(timeout_secs(Duration::from_secs(900)), 900);
        assert_eq!(timeout_secs(Duration::from_secs(u64::MAX)), u32::MAX);
    }

    #[test]
    fn first_match_semantics_match_a_linear_scan() {
        // Runs + layers must give the verdict of the first matching entry for every probe.
        use AclAction::*;
        let entries = vec![
            ace(10, Deny, "198.18.0.5/32", "198.19.0.0/24", None),
            ace(20, Permit, "198.18.0.0/24", "198.19.0.0/24", None),
            ace(30, Permit, "198.18.0.0/16", "198.19.0.0/16", Some(443)),
            ace(40, Deny, "198.18.0.0/15", "0.0.0.0/0", Some(22)),
            ace(50, Permit, "0.0.0.0/0", "0.0.0.0/0", None),
        ];
        let mut elements = BTreeMap::new();
        let mut placements = Vec::new();
        let rules = compile_acl("ACL", "a", &entries, &mut elements, &mut placements);
        let boxes: BTreeMap<String, Vec<Boxed>> =
            placements
                .iter()
                .zip(&entries)
                .fold(BTreeMap::new(), |mut m, (p, e)| {
                    m.entry(p.set.clone())
                        .or_insert_with(Vec::new)
                        .push(Boxed::of(e));
                    m
                });
        let probes = [
            ("198.18.0.5", "198.19.0.1", 80u16),
            ("198.18.0.6", "198.19.0.1", 80),
            ("198.18.9.9", "198.19.9.9", 443),
            ("198.18.9.9", "198.19.9.9", 22),
            ("198.18.0.7", "198.19.0.7", 22),
            ("203.0.113.1", "198.51.100.1", 22),
        ];
        for (s, d, port) in probes {
            let (s, d): (IpAddr, IpAddr) = (s.parse().unwrap(), d.parse().unwrap());
            let linear = entries
                .iter()
                .find(|e| e.matches(6, s, d, 1000, port))
                .map(|e| e.action);
            let probe = Boxed::of(&AclEntry {
                sequence: 0,
                action: Permit,
                protocol: Some(6),
                source: IpPrefix::host(s),
                destination: IpPrefix::host(d),
                source_ports: PortRange::single(1000),
                destination_ports: PortRange::single(port),
            });
            let by_rules = rules
                .iter()
                .find(|r| {
                    boxes
                        .get(&r.set)
                        .is_some_and(|b| b.iter().any(|b| b.overlaps(&probe)))
                })
                .map(|r| r.action);
            assert_eq!(by_rules, linear, "{s} -> {d}:{port}");
        }
    }

    #[test]
    fn random_access_lists_keep_first_match_and_no_overlap_in_a_set() {
        // A small LCG: deterministic, no extra dependency.
        let mut seed: u64 = 0x5eed;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for round in 0..40 {
            let n = 5 + next(60) as usize;
            let mut entries = Vec::new();
            for i in 0..n {
                let len = [16u8, 24, 28, 32][next(4) as usize];
                let host = |x: u64| -> String {
                    let a = std::net::Ipv4Addr::from(0xc612_0000u32 | (x as u32 & 0xffff));
                    let p = IpPrefix::new(a.into(), 32).unwrap();
                    let bits = u32::from(a) & (u32::MAX << (32 - u32::from(len)));
                    let _ = p;
                    format!("{}/{len}", std::net::Ipv4Addr::from(bits))
                };
                let src = host(next(512));
                let dst = host(next(512));
                let action = if next(3) == 0 {
                    AclAction::Deny
                } else {
                    AclAction::Permit
                };
                let dport = if next(2) == 0 {
                    None
                } else {
                    Some(440 + next(8) as u16)
                };
                entries.push(ace((i as u32 + 1) * 10, action, &src, &dst, dport));
            }
            let mut elements = BTreeMap::new();
            let mut placements = Vec::new();
            let rules = compile_acl("ACL", "a", &entries, &mut elements, &mut placements);
            let mut sets: BTreeMap<String, Vec<Boxed>> = BTreeMap::new();
            for (p, e) in placements.iter().zip(&entries) {
                let b = Boxed::of(e);
                let v = sets.entry(p.set.clone()).or_default();
                if !v.contains(&b) {
                    assert!(
                        v.iter().all(|o| !o.overlaps(&b)),
                        "round {round}: overlap in {}",
                        p.set
                    );
                    v.push(b);
                }
            }
            for _ in 0..300 {
                let s: IpAddr = std::net::Ipv4Addr::from(0xc612_0000u32 | next(512) as u32).into();
                let d: IpAddr = std::net::Ipv4Addr::from(0xc612_0000u32 | next(512) as u32).into();
                let port = 440 + next(8) as u16;
                let linear = entries
                    .iter()
                    .find(|e| e.matches(6, s, d, 1000, port))
                    .map(|e| e.action);
                let probe = Boxed::of(&AclEntry {
                    sequence: 0,
                    action: AclAction::Permit,
                    protocol: Some(6),
                    source: IpPrefix::host(s),
                    destination: IpPrefix::host(d),
                    source_ports: PortRange::single(1000),
                    destination_ports: PortRange::single(port),
                });
                let by_rules = rules
                    .iter()
                    .find(|r| {
                        sets.get(&r.set)
                            .is_some_and(|b| b.iter().any(|b| b.overlaps(&probe)))
                    })
                    .map(|r| r.action);
                assert_eq!(by_rules, linear, "round {round}: {s} -> {d}:{port}");
            }
        }
    }
}
