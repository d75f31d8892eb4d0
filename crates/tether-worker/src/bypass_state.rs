//! `/tether-conntrack-bypass:bypass/...state`: whether the program is applied (ON_CHANGE) and
//! the dataplane's counters (SAMPLE).

use tether_dataplane::{BypassCounters, BypassProgram};
use tether_telemetry::StateBatch;

use crate::paths;

/// Longest `last-error` the YANG type allows.
const LAST_ERROR_MAX: usize = 1024;

/// `applied` / `last-error` of every service-policy and of the global policy of `program`
/// (`error` = why the last install failed), and removal of the state of policies that went.
pub fn applied(
    program: &BypassProgram,
    previous: &BypassProgram,
    error: Option<&str>,
    out: &mut StateBatch,
) {
    let applied = error.is_none().to_string();
    let last_error = truncate(error.unwrap_or(""));
    for (interface, policy) in &program.service_policies {
        let base = format!("{}/state", paths::service_policy(interface));
        out.updates
            .push((format!("{base}/interface"), interface.clone()));
        out.updates.push((format!("{base}/policy"), policy.clone()));
        out.updates
            .push((format!("{base}/applied"), applied.clone()));
        out.updates
            .push((format!("{base}/last-error"), last_error.clone()));
    }
    let global = format!("{}/state", paths::global_policy());
    match &program.global_policy {
        Some(policy) => {
            out.updates
                .push((format!("{global}/policy"), policy.clone()));
            out.updates
                .push((format!("{global}/applied"), applied.clone()));
            out.updates
                .push((format!("{global}/last-error"), last_error));
        }
        None => out.deletes.push(global),
    }
    // State of objects the new configuration no longer has.
    for interface in previous
        .service_policies
        .keys()
        .filter(|i| !program.service_policies.contains_key(*i))
    {
        out.deletes
            .push(format!("{}/state", paths::service_policy(interface)));
    }
    for (acl, list) in &previous.access_lists {
        for e in &list.entries {
            let gone = program
                .access_lists
                .get(acl)
                .is_none_or(|l| l.entries.iter().all(|n| n.sequence != e.sequence));
            if gone {
                out.deletes
                    .push(format!("{}/state", paths::acl_entry(acl, e.sequence)));
            }
        }
    }
    for (policy, p) in &previous.policies {
        for c in &p.classes {
            let gone = program
                .policies
                .get(policy)
                .is_none_or(|n| n.classes.iter().all(|n| n.name != c.name));
            if gone {
                out.deletes
                    .push(format!("{}/state", paths::policy_class(policy, &c.name)));
            }
        }
    }
}

/// The counters of the installed program.
pub fn counters(c: &BypassCounters, out: &mut StateBatch) {
    for e in &c.acl_entries {
        out.updates.push((
            format!(
                "{}/state/matches",
                paths::acl_entry(&e.access_list, e.sequence)
            ),
            e.hits.to_string(),
        ));
    }
    for k in &c.classes {
        let base = format!("{}/state", paths::policy_class(&k.policy, &k.class));
        for (leaf, v) in [
            ("matched-packets", k.matched_packets),
            ("matched-bytes", k.matched_bytes),
            ("bypass-connections-current", k.bypass_current),
            ("bypass-connections-built", k.bypass_built),
            ("torn-down-idle", k.torn_down_idle),
            ("torn-down-fin-rst", k.torn_down_fin_rst),
            ("torn-down-flushed", k.torn_down_flushed),
        ] {
            out.updates.push((format!("{base}/{leaf}"), v.to_string()));
        }
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= LAST_ERROR_MAX {
        return s.to_string();
    }
    let mut end = LAST_ERROR_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
