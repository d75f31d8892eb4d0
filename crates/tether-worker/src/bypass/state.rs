//! `/tether-conntrack-bypass:bypass/...state`: whether the program is applied (ON_CHANGE) and
//! the dataplane's counters (SAMPLE).

use tether_dataplane::{BypassCounters, BypassProgram};
use tether_model::tether_conntrack_bypass::bypass;
use tether_telemetry::StateBatch;

use super::arming::ClassArming;
use crate::paths;
use crate::time::date_and_time;

use bypass::access_lists::access_list::entries::entry;
use bypass::global_policy::{self, state::State as GlobalPolicy};
use bypass::policies::policy::classes::class;
use bypass::service_policies::service_policy::{self, state::State as ServicePolicy};

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
        let entry = paths::service_policy(interface);
        let leaf = |node: &'static str| paths::under(&entry, service_policy::PATH, node);
        out.updates
            .push((leaf(ServicePolicy::INTERFACE), interface.clone()));
        out.updates
            .push((leaf(ServicePolicy::POLICY), policy.clone()));
        out.updates
            .push((leaf(ServicePolicy::APPLIED), applied.clone()));
        out.updates
            .push((leaf(ServicePolicy::LAST_ERROR), last_error.clone()));
    }
    // The global policy is a container, not a list entry: its data path is its schema path.
    match &program.global_policy {
        Some(policy) => {
            out.updates
                .push((GlobalPolicy::POLICY.to_string(), policy.clone()));
            out.updates
                .push((GlobalPolicy::APPLIED.to_string(), applied.clone()));
            out.updates
                .push((GlobalPolicy::LAST_ERROR.to_string(), last_error));
        }
        None => out.deletes.push(global_policy::state::PATH.to_string()),
    }
    // State of objects the new configuration no longer has.
    for interface in previous
        .service_policies
        .keys()
        .filter(|i| !program.service_policies.contains_key(*i))
    {
        out.deletes.push(paths::under(
            &paths::service_policy(interface),
            service_policy::PATH,
            service_policy::state::PATH,
        ));
    }
    for (acl, list) in &previous.access_lists {
        for e in &list.entries {
            let gone = program
                .access_lists
                .get(acl)
                .is_none_or(|l| l.entries.iter().all(|n| n.sequence != e.sequence));
            if gone {
                out.deletes.push(paths::under(
                    &paths::acl_entry(acl, e.sequence),
                    entry::PATH,
                    entry::state::PATH,
                ));
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
                out.deletes.push(paths::under(
                    &paths::policy_class(policy, &c.name),
                    class::PATH,
                    class::state::PATH,
                ));
            }
        }
    }
}

/// The arming leaves of one class (conditional bypass), ON_CHANGE: `bypass-armed`, why,
/// since when, the hold's end while it runs (deleted otherwise) and the transitions.
pub fn arming(policy: &str, class_name: &str, s: &ClassArming, out: &mut StateBatch) {
    use class::state::State as Class;
    let entry = paths::policy_class(policy, class_name);
    let leaf = |node: &'static str| paths::under(&entry, class::PATH, node);
    out.updates
        .push((leaf(Class::BYPASS_ARMED), s.armed.to_string()));
    out.updates
        .push((leaf(Class::ARMED_REASON), s.reason.as_str().to_string()));
    out.updates
        .push((leaf(Class::ARMED_LAST_CHANGE), date_and_time(s.since_ns)));
    out.updates
        .push((leaf(Class::ARMED_LAST_CHANGE_NS), s.since_ns.to_string()));
    out.updates
        .push((leaf(Class::ARM_TRANSITIONS), s.transitions.to_string()));
    match s.hold_until_ns {
        Some(until) => out
            .updates
            .push((leaf(Class::HOLD_UNTIL), date_and_time(until))),
        None => out.deletes.push(leaf(Class::HOLD_UNTIL)),
    }
}

/// The counters of the installed program.
pub fn counters(c: &BypassCounters, out: &mut StateBatch) {
    for e in &c.acl_entries {
        out.updates.push((
            paths::under(
                &paths::acl_entry(&e.access_list, e.sequence),
                entry::PATH,
                entry::state::State::MATCHES,
            ),
            e.hits.to_string(),
        ));
    }
    use class::state::State as Class;
    for k in &c.classes {
        let entry = paths::policy_class(&k.policy, &k.class);
        for (node, v) in [
            (Class::MATCHED_PACKETS, k.matched_packets),
            (Class::MATCHED_BYTES, k.matched_bytes),
            (Class::BYPASS_CONNECTIONS_CURRENT, k.bypass_current),
            (Class::BYPASS_CONNECTIONS_BUILT, k.bypass_built),
            (Class::TORN_DOWN_IDLE, k.torn_down_idle),
            (Class::TORN_DOWN_FIN_RST, k.torn_down_fin_rst),
            (Class::TORN_DOWN_FLUSHED, k.torn_down_flushed),
            (Class::REFUSED_CONN_MAX, k.refused_conn_max),
            (
                Class::REFUSED_EMBRYONIC_CONN_MAX,
                k.refused_embryonic_conn_max,
            ),
        ] {
            out.updates
                .push((paths::under(&entry, class::PATH, node), v.to_string()));
        }
    }
}

/// `bypass/state/warnings` as leaf-list entries: first a batch that deletes the old list, then
/// one that adds the new entries, so a subscriber sees the list replaced. `'` cannot be quoted
/// inside a `[.='…']` predicate and is dropped.
pub fn warnings(warnings: &[String]) -> [StateBatch; 2] {
    let clear = StateBatch {
        deletes: vec![paths::BYPASS_WARNINGS.to_string()],
        ..Default::default()
    };
    let updates = warnings
        .iter()
        .map(|w| {
            (
                format!("{}[.='{}']", paths::BYPASS_WARNINGS, w.replace('\'', "")),
                w.replace('\'', ""),
            )
        })
        .collect();
    let add = StateBatch {
        updates,
        ..Default::default()
    };
    [clear, add]
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
