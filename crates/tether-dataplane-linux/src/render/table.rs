//! The `inet tether` table of a program: the chains and rules of the layout in the
//! [module documentation](super), and the objects (ct timeouts, counters) and element lines
//! the installer adds around them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use tether_dataplane::{AclAction, BypassMode, BypassProgram};

use super::acl::{AclRule, compile_acl};
use super::names::{
    acl_key, class_object, policy_chain, quote, raw_policy_chain, stable_ids, timeout_name,
};
use super::{ClassInfo, RenderOptions, Rendered, StateTimeouts, TABLE, timeout_secs};

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

const NEW_TCP_NOT_SYN: &str =
    "ct state new meta l4proto tcp tcp flags & (syn|ack|fin|rst) != syn drop";

/// A chain and its rules, in rule order.
type Chain = (String, Vec<String>);

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
        let key = acl_key(
            acl_ids
                .get(&(name.clone(), String::new()))
                .copied()
                .unwrap_or(0),
        );
        let rules = compile_acl(name, &key, &list.entries, &mut r.elements, &mut r.entries);
        for rule in &rules {
            r.sets
                .insert(rule.set.clone(), rule.set_declaration().to_string());
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

    let mut chains: Vec<Chain> = Vec::new();
    let mut policy_chains: BTreeMap<&str, String> = BTreeMap::new();
    for (pname, policy) in &program.policies {
        let pid = policy_ids
            .get(&(pname.clone(), String::new()))
            .copied()
            .unwrap_or(0);
        let pchain = policy_chain(pid);
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
                // A class disarmed without being conditional is gated too, so the render
                // bypasses exactly when `PolicyClass::bypasses_now` says (as the simulator).
                conditional: c.tcp_state_bypass && (c.trigger.is_some() || !c.armed),
                armed: c.armed,
                mode: c.mode,
                embryonic_secs: c.limits.embryonic_timeout.map(timeout_secs),
                half_closed_secs: c.limits.half_closed_timeout.map(timeout_secs),
                conn_max: c.limits.conn_max,
                embryonic_conn_max: c.limits.embryonic_conn_max,
            };
            let rules = acl_rules
                .get(c.access_list.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            class_chains(&info, rules, options, &mut r, &mut chains);
            prules.push(format!("jump {}", class_object('k', id)));
            r.classes.push(info);
        }
        chains.push((pchain.clone(), prules));
        policy_chains.insert(pname.as_str(), pchain);
    }
    chains.push(("classify".to_string(), classify(program, &policy_chains)));
    let forward = forward(&r.classes, options);
    let raw = raw_chains(program, &policy_ids, &acl_rules, &mut r, &mut chains);

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
    for rule in &forward {
        let _ = writeln!(s, "add rule inet {TABLE} forward {rule}");
    }
    for rule in &raw {
        let _ = writeln!(s, "add rule inet {TABLE} raw {rule}");
    }
    r.skeleton = s;
    r
}

/// The chains of one class (re-check for a bypass class, hit, classification), appended to
/// `chains`, and the counters and timeout they use, added to `r`.
fn class_chains(
    info: &ClassInfo,
    rules: &[AclRule],
    options: RenderOptions,
    r: &mut Rendered,
    chains: &mut Vec<Chain>,
) {
    let id = info.id;
    let (m, b, n) = (
        class_object('m', id),
        class_object('b', id),
        class_object('n', id),
    );
    r.counters.insert(m.clone());
    r.counters.insert(n.clone());
    // Hit chain.
    let mut h = Vec::new();
    let stateless = info.bypass && info.mode == BypassMode::Stateless;
    if let Some(max) = info.conn_max.filter(|_| !stateless) {
        let l = class_object('l', id);
        r.counters.insert(l.clone());
        h.push(format!(
            "ct state new ct count over {max} counter name \"{l}\" drop"
        ));
    }
    let full = info.bypass && info.mode == BypassMode::Full;
    if info.bypass && info.mode == BypassMode::Stateless {
        // The raw chain decided: what it left untracked is this class's permitted TCP.
        h.push(format!("ct state untracked counter name \"{m}\" accept"));
    } else if info.bypass {
        r.counters.insert(b.clone());
        if full {
            r.timeouts.insert(info.timeout_secs);
        } else {
            r.established_timeouts.insert(info.state_timeouts());
        }
        if info.conditional {
            let g = class_object('g', id);
            h.push(format!("jump {g}"));
            chains.push((g, Vec::new()));
        } else {
            h.push(bypass_accept(info));
        }
    }
    if let Some((chain, rules)) = gate_of(info) {
        r.gates.insert(chain, rules);
    }
    h.push(format!("counter name \"{m}\""));
    if options.stateful_policy {
        h.push("ct state invalid drop".to_string());
        h.push(NEW_TCP_NOT_SYN.to_string());
    }
    if (info.embryonic_secs.is_some() || info.half_closed_secs.is_some())
        && !stateless
        && !(info.bypass && info.mode == BypassMode::Full)
    {
        let t = info.state_timeouts();
        h.push(format!("ct state new ct timeout set \"{}\"", t.name()));
        r.established_timeouts.insert(t);
    }
    h.push(format!(
        "ct mark != {:#010x} ct mark set {:#010x} counter name \"{n}\"",
        info.classified_mark(),
        info.classified_mark()
    ));
    h.push("accept".to_string());
    // Classification chain.
    let mut k = Vec::new();
    for rule in rules {
        let verdict = match (rule.action, info.bypass) {
            (AclAction::Permit, _) => format!("goto {}", class_object('h', id)),
            // A bypass class's access-list is also the access rule for what it selects.
            (AclAction::Deny, true) => "drop".to_string(),
            (AclAction::Deny, false) => "return".to_string(),
        };
        k.push(format!("{} {verdict}", rule.match_expr()));
    }
    // Re-check chain of live bypass connections: every packet, both directions.
    if full {
        let mut rc = Vec::new();
        for rule in rules {
            let verdict = match rule.action {
                AclAction::Permit => format!("counter name \"{m}\" accept"),
                AclAction::Deny => "drop".to_string(),
            };
            rc.push(format!("{} {verdict}", rule.match_expr()));
        }
        rc.push("drop".to_string());
        chains.push((class_object('r', id), rc));
    }
    chains.push((class_object('h', id), h));
    chains.push((class_object('k', id), k));
}

/// The rule that builds a bypass connection of a class: mark, timeout, counters, accept.
/// `full`: any packet, a bypass mark (its later packets are re-checked by `r_X`), every TCP
/// state on the idle timeout. `syn-check`: any packet conntrack does not find invalid, the
/// class's ordinary mark (tracked as usual from then on), the idle timeout while established.
fn bypass_accept(info: &ClassInfo) -> String {
    let (m, b) = (class_object('m', info.id), class_object('b', info.id));
    match info.mode {
        BypassMode::SynCheck => format!(
            "meta l4proto tcp ct state new ct mark set {:#010x} ct timeout set \"{}\" counter name \"{m}\" counter name \"{b}\" accept",
            info.classified_mark(),
            info.state_timeouts().name()
        ),
        _ => format!(
            "meta l4proto tcp ct mark set {:#010x} ct timeout set \"{}\" counter name \"{m}\" counter name \"{b}\" accept",
            info.bypass_mark(),
            timeout_name(info.timeout_secs)
        ),
    }
}

/// The rules of a conditional class's gate chain: the bypass accept while armed, none while
/// disarmed (the packet returns to the hit chain's stateful checks).
pub fn gate_rules(info: &ClassInfo) -> Vec<String> {
    if info.armed {
        vec![bypass_accept(info)]
    } else {
        Vec::new()
    }
}

/// A conditional class's gate chain and its rules now: `g_X` (in the hit chain), or for a
/// stateless class `q_X` (in the raw chain: notrack while armed; while disarmed only the
/// class's win, so its packets are tracked and held to state).
fn gate_of(info: &ClassInfo) -> Option<(String, Vec<String>)> {
    if !info.conditional {
        return None;
    }
    Some(if info.mode == BypassMode::Stateless {
        let verdict = if info.armed {
            "notrack accept"
        } else {
            "accept"
        };
        (class_object('q', info.id), vec![verdict.to_string()])
    } else {
        (class_object('g', info.id), gate_rules(info))
    })
}

/// The raw (notrack) classification of the `stateless` classes, appended to `chains`; returns
/// the rules of the `raw` base chain (none without a stateless class). It repeats the
/// policies' first match: a packet is left untracked only if the first class that selects it
/// is a stateless one, by a permit.
fn raw_chains(
    program: &BypassProgram,
    policy_ids: &BTreeMap<(String, String), u32>,
    acl_rules: &BTreeMap<&str, Vec<AclRule>>,
    r: &mut Rendered,
    chains: &mut Vec<Chain>,
) -> Vec<String> {
    let stateless = |c: &ClassInfo| c.bypass && c.mode == BypassMode::Stateless;
    let mut raw_policies: BTreeMap<&str, String> = BTreeMap::new();
    for (pname, policy) in &program.policies {
        let infos: Vec<ClassInfo> = policy
            .classes
            .iter()
            .filter_map(|c| {
                r.classes
                    .iter()
                    .find(|i| i.policy == *pname && i.class == c.name)
                    .cloned()
            })
            .collect();
        let Some(last) = infos.iter().rposition(stateless) else {
            continue;
        };
        let pid = policy_ids
            .get(&(pname.clone(), String::new()))
            .copied()
            .unwrap_or(0);
        let pchain = raw_policy_chain(pid);
        let mut prules = Vec::new();
        for info in &infos[..=last] {
            let x = class_object('x', info.id);
            let mut xr = Vec::new();
            for rule in acl_rules
                .get(info.access_list.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let m = rule.match_expr();
                match rule.action {
                    AclAction::Permit if stateless(info) => {
                        let verdict = if info.conditional {
                            format!("goto {}", class_object('q', info.id))
                        } else {
                            "notrack accept".to_string()
                        };
                        xr.push(format!("meta l4proto tcp {m} {verdict}"));
                        xr.push(format!("{m} accept"));
                    }
                    // This class wins the packet (and it is not left untracked), or a bypass
                    // class's deny, which the forward chain drops.
                    AclAction::Permit => xr.push(format!("{m} accept")),
                    AclAction::Deny if info.bypass => xr.push(format!("{m} accept")),
                    AclAction::Deny => xr.push(format!("{m} return")),
                }
            }
            if stateless(info) && info.conditional {
                chains.push((class_object('q', info.id), Vec::new()));
            }
            chains.push((x.clone(), xr));
            prules.push(format!("jump {x}"));
        }
        chains.push((pchain.clone(), prules));
        raw_policies.insert(pname.as_str(), pchain);
    }
    if raw_policies.is_empty() {
        return Vec::new();
    }
    let mut rc = Vec::new();
    let vmap: Vec<String> = program
        .service_policies
        .iter()
        .map(|(iface, p)| match raw_policies.get(p.as_str()) {
            Some(c) => format!("{} : goto {c}", quote(iface)),
            // The interface's own policy has no stateless class: it overrides the global one.
            None => format!("{} : accept", quote(iface)),
        })
        .collect();
    if !vmap.is_empty() {
        rc.push(format!("iifname vmap {{ {} }}", vmap.join(", ")));
    }
    if let Some(c) = program
        .global_policy
        .as_ref()
        .and_then(|g| raw_policies.get(g.as_str()))
    {
        rc.push(format!("goto {c}"));
    }
    chains.push(("rclassify".to_string(), rc));
    vec!["jump rclassify".to_string()]
}

/// The lines that turn `old`'s gate chains into `new`'s (both of one skeleton, or `old`
/// empty after a rebuild): each gate that differs is flushed and refilled in the same
/// transaction, so a packet sees the old rules or the new ones, never none by accident.
pub fn gate_script(
    old: &BTreeMap<String, Vec<String>>,
    new: &BTreeMap<String, Vec<String>>,
) -> String {
    let mut s = String::new();
    for (chain, rules) in new {
        if old.get(chain) == Some(rules) {
            continue;
        }
        let _ = writeln!(s, "flush chain inet {TABLE} {chain}");
        for rule in rules {
            let _ = writeln!(s, "add rule inet {TABLE} {chain} {rule}");
        }
    }
    s
}

/// Sets each class's `armed` (and its gate's rules) from `program`, which has the classes of
/// the render and differs from its program at most in set elements and arming; returns the
/// gates as they were, for [`gate_script`].
pub fn rearm(r: &mut Rendered, program: &BypassProgram) -> BTreeMap<String, Vec<String>> {
    let before = r.gates.clone();
    for info in &mut r.classes {
        if let Some(c) = program
            .policies
            .get(&info.policy)
            .and_then(|p| p.classes.iter().find(|c| c.name == info.class))
        {
            info.armed = c.armed;
        }
        if let Some((chain, rules)) = gate_of(info) {
            r.gates.insert(chain, rules);
        }
    }
    before
}

/// The `classify` chain: the interface's policy, else the global one.
fn classify(program: &BypassProgram, policy_chains: &BTreeMap<&str, String>) -> Vec<String> {
    let mut classify = Vec::new();
    let vmap: Vec<String> = program
        .service_policies
        .iter()
        .filter_map(|(iface, p)| {
            policy_chains
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
        .and_then(|g| policy_chains.get(g.as_str()))
    {
        classify.push(format!("goto {c}"));
    }
    classify
}

/// The rules of the base chain `forward`: live bypass connections first, then the stateful
/// policy around the classification of new ones.
fn forward(classes: &[ClassInfo], options: RenderOptions) -> Vec<String> {
    let mut fwd = Vec::new();
    let recheck: Vec<String> = classes
        .iter()
        .filter(|c| c.bypass && c.mode == BypassMode::Full)
        .map(|c| {
            format!(
                "{:#010x} : jump {}",
                c.bypass_mark(),
                class_object('r', c.id)
            )
        })
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
    fwd
}

/// The declaration of the base chain (created once, never deleted: deleting it would open a window).
pub fn base_chain() -> String {
    format!(
        "add chain inet {TABLE} forward {{ type filter hook forward priority filter; policy accept; comment \"Tether: TCP state bypass and the default stateful policy\"; }}\n"
    )
}

/// The declaration of the raw base chain, where `stateless` classes are left untracked: at
/// the raw priority, before conntrack (created with the forward chain, never deleted).
pub fn raw_base_chain() -> String {
    format!(
        "add chain inet {TABLE} raw {{ type filter hook prerouting priority raw; policy accept; comment \"Tether: stateless bypass (notrack)\"; }}\n"
    )
}

/// `add ct timeout` for a `syn-check` class: the idle timeout while established (and for the
/// unacknowledged and retransmitting states a mid-stream pickup meets), the kernel's own
/// timeouts for the rest, so FIN and RST end the connection as usual.
pub fn established_timeout_object(t: &StateTimeouts) -> String {
    let secs = t.idle;
    let mut policy = format!("established: {secs}, retrans: {secs}, unack: {secs}");
    if let Some(e) = t.embryonic {
        let _ = write!(policy, ", syn_sent: {e}, syn_recv: {e}");
    }
    if let Some(h) = t.half_closed {
        let _ = write!(policy, ", fin_wait: {h}, close_wait: {h}, last_ack: {h}");
    }
    format!(
        "add ct timeout inet {TABLE} {} {{ protocol tcp; l3proto inet; policy = {{ {policy} }}; comment \"Tether class timeouts, idle {secs}s\"; }}\n",
        t.name()
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
                Some(b'l') => "refused by conn-max",
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
