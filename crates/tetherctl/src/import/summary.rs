//! [`Config`] → what the Set will configure, for people: one line per object, in the words of
//! the Cisco configuration it came from (`tetherctl import --dry-run`).

use super::ir::{Config, PolicyClass};
use crate::timefmt::hms;

/// One line per object, in Set order.
pub fn summary(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for a in &config.access_lists {
        let sequences: Vec<String> = a.entries.iter().map(|e| e.sequence.to_string()).collect();
        out.push(format!(
            "access-list {}: {} entries (sequence {})",
            a.name,
            a.entries.len(),
            sequences.join(", ")
        ));
    }
    for c in &config.class_maps {
        if let Some(acl) = &c.match_access_list {
            out.push(format!("class-map {}: match access-list {acl}", c.name));
        }
    }
    for p in &config.policy_maps {
        let classes: Vec<String> = p.classes.iter().map(policy_class).collect();
        out.push(format!(
            "policy-map {}: class {}",
            p.name,
            if classes.is_empty() {
                "(none)".to_string()
            } else {
                classes.join("; class ")
            }
        ));
    }
    for s in &config.service_policies {
        out.push(format!(
            "service-policy {} interface {}",
            s.policy, s.interface
        ));
    }
    if let Some(p) = &config.global_policy {
        out.push(format!("service-policy {p} global"));
    }
    for g in &config.link_state_groups {
        out.push(format!(
            "link state group {}{}: upstream {}; downstream {}",
            g.id,
            if g.tracked { " (track)" } else { "" },
            list_or_none(&g.upstream),
            list_or_none(&g.downstream)
        ));
    }
    out
}

fn policy_class(c: &PolicyClass) -> String {
    let mut s = c.name.clone();
    if let Some(t) = c.idle_timeout {
        s.push_str(&format!(" idle {}", hms(t)));
    }
    if let Some(t) = c.embryonic_timeout {
        s.push_str(&format!(" embryonic {}", hms(t)));
    }
    if c.tcp_state_bypass {
        s.push_str(" tcp-state-bypass");
    }
    s
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(" ")
    }
}
