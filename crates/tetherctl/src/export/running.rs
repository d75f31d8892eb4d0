//! A Get of the running configuration → [`ir::Config`], plus the leaves ASA/IOS cannot say.
//!
//! The JSON is read through the generated types of `tether-schema`, so a member this code does
//! not know fails to compile after a model change instead of vanishing from the export.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tether_schema::tether_conntrack_bypass::{self as tb, bypass::Bypass};
use tether_schema::tether_link_state::{self as tl, link_state::LinkState};

use crate::import::acl::Ace;
use crate::import::ir::{
    AccessList, ClassMap, Config, Entry, LinkStateGroup, PolicyClass, PolicyMap, ServicePolicy,
};

/// What [`read`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Running {
    pub config: Config,
    pub untranslatable: Vec<String>,
}

/// A module's container from a Get value: either the container's own members or the
/// module-qualified top-level object (`{"tether-link-state:link-state": {...}}`).
fn container<D: DeserializeOwned, T: DeserializeOwned>(
    v: &Value,
    from_data: impl FnOnce(D) -> Option<T>,
) -> Result<Option<T>, serde_json::Error> {
    match v {
        Value::Null => Ok(None),
        Value::Object(o) if o.keys().any(|k| k.contains(':')) => {
            Ok(from_data(serde_json::from_value::<D>(v.clone())?))
        }
        _ => Ok(Some(serde_json::from_value::<T>(v.clone())?)),
    }
}

/// Reads both containers.
pub fn read(bypass: &Value, link_state: &Value) -> Result<Running, serde_json::Error> {
    let mut out = Running::default();
    if let Some(b) = container::<tb::Data, Bypass>(bypass, |d| d.bypass)? {
        read_bypass(b, &mut out);
    }
    if let Some(l) = container::<tl::Data, LinkState>(link_state, |d| d.link_state)? {
        read_link_state(l, &mut out);
    }
    Ok(out)
}

/// The JSON value of a generated scalar (its RFC 7951 form).
fn scalar(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn text(v: &impl ToString) -> String {
    v.to_string()
}

fn read_bypass(b: Bypass, out: &mut Running) {
    let config = &mut out.config;
    for a in b.access_lists.map(|a| a.access_list).unwrap_or_default() {
        let name = text(&a.name);
        if let Some(d) = a.config.as_ref().and_then(|c| c.description.as_ref()) {
            out.untranslatable.push(format!(
                "access-list {name}: description {:?} (the ASA has no access-list description; a remark belongs to an entry)",
                d.as_str()
            ));
        }
        let mut entries: Vec<Entry> = a
            .entries
            .map(|e| e.entry)
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let sequence = u32::from(e.sequence);
                let c = e.config.unwrap_or_default();
                Entry {
                    sequence,
                    ace: Ace {
                        action: match c.action.map(|a| a.as_str()) {
                            Some("deny") => "deny",
                            _ => "permit",
                        },
                        protocol: c.protocol.as_ref().map_or(json!("ip"), scalar),
                        source: c.source_prefix.as_ref().map(text),
                        source_port: c.source_port.as_ref().map(text),
                        destination: c.destination_prefix.as_ref().map(text),
                        destination_port: c.destination_port.as_ref().map(text),
                    },
                    remark: c.remark.as_ref().map(text).filter(|r| !r.is_empty()),
                }
            })
            .collect();
        entries.sort_by_key(|e| e.sequence);
        config.access_lists.push(AccessList { name, entries });
    }
    for c in b.classes.map(|c| c.class).unwrap_or_default() {
        config.class_maps.push(ClassMap {
            name: text(&c.name),
            match_access_list: c.config.and_then(|c| c.match_access_list).map(|a| text(&a)),
        });
    }
    for p in b.policies.map(|p| p.policy).unwrap_or_default() {
        let policy_name = text(&p.name);
        let untranslatable = &mut out.untranslatable;
        let classes = p
            .classes
            .map(|c| c.class)
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                let cfg = c.config.unwrap_or_default();
                let trigger = match (&cfg.trigger_interface, &cfg.trigger_link_state_group) {
                    (Some(i), _) => Some(format!("trigger-interface {}", text(i))),
                    (None, Some(g)) => Some(format!("trigger-link-state-group {}", scalar(g))),
                    (None, None) => None,
                };
                if let Some(m) = cfg.bypass_mode.filter(|m| m.as_str() != "full") {
                    untranslatable.push(format!(
                        "policy-map {policy_name} class {}: bypass-mode {} (the ASA's tcp-state-bypass is the full mode; exported as that)",
                        text(&c.name),
                        m.as_str()
                    ));
                }
                if let Some(t) = trigger {
                    let hold = cfg.trigger_hold_time.map_or(json!(60), |h| scalar(&h));
                    untranslatable.push(format!(
                        "policy-map {policy_name} class {}: {t} trigger-hold-time {hold} (the ASA has no conditional bypass; exported unconditional)",
                        text(&c.name)
                    ));
                }
                PolicyClass {
                    name: text(&c.name),
                    idle_timeout: cfg.idle_timeout.map(|t| u64::from(t.get())),
                    embryonic_timeout: cfg.embryonic_timeout.map(|t| u64::from(t.get())),
                    half_closed_timeout: cfg.half_closed_timeout.map(|t| u64::from(t.get())),
                    conn_max: cfg.conn_max.map(|n| u64::from(n.get())),
                    embryonic_conn_max: cfg.embryonic_conn_max.map(|n| u64::from(n.get())),
                    tcp_state_bypass: cfg.tcp_state_bypass == Some(true),
                }
            })
            .collect();
        config.policy_maps.push(PolicyMap {
            name: policy_name,
            description: p.config.and_then(|c| c.description).map(|d| text(&d)),
            classes,
        });
    }
    for s in b
        .service_policies
        .map(|s| s.service_policy)
        .unwrap_or_default()
    {
        if let Some(policy) = s.config.and_then(|c| c.policy) {
            config.service_policies.push(ServicePolicy {
                interface: text(&s.interface),
                policy: text(&policy),
            });
        }
    }
    config.global_policy = b
        .global_policy
        .and_then(|g| g.config)
        .and_then(|c| c.policy)
        .map(|p| text(&p));
}

fn read_link_state(l: LinkState, out: &mut Running) {
    for g in l.groups.map(|g| g.group).unwrap_or_default() {
        let id = u16::from(g.id);
        let cfg = g.config.unwrap_or_default();
        let mut lossy = |what: String| {
            out.untranslatable.push(format!(
                "link state group {id}: {what} (IOS has no command for it)"
            ))
        };
        if let Some(d) = &cfg.description {
            lossy(format!("description {:?}", d.as_str()));
        }
        // Defaults (as a Get reports them) need no command.
        if let Some(n) = cfg
            .min_upstream_up
            .map(|n| scalar(&n))
            .filter(|n| n != &json!(1))
        {
            lossy(format!("min-upstream-up {n}"));
        }
        if let Some(n) = cfg.up_delay.map(|n| scalar(&n)).filter(|n| n != &json!(0)) {
            lossy(format!("up-delay {n} s"));
        }
        if let Some(n) = cfg
            .down_delay
            .map(|n| scalar(&n))
            .filter(|n| n != &json!(0))
        {
            lossy(format!("down-delay {n} ms"));
        }
        // The peers' knobs (Dell, Enterprise SONiC) have no IOS form either.
        let threshold_type = cfg.threshold_type.as_ref().map(scalar);
        if threshold_type
            .as_ref()
            .is_some_and(|t| t != &json!("count"))
        {
            lossy(format!(
                "threshold-type {}",
                threshold_type.unwrap_or_default()
            ));
        }
        if let Some(n) = cfg.threshold_down.map(|n| scalar(&n)) {
            lossy(format!("threshold-down {n}"));
        }
        if let Some(n) = cfg.threshold_up.map(|n| scalar(&n)) {
            lossy(format!("threshold-up {n}"));
        }
        if let Some(n) = cfg.downstream_disable_links.map(|n| scalar(&n)) {
            lossy(format!("downstream-disable-links {n}"));
        }
        if cfg.auto_recover == Some(false) {
            lossy("auto-recover false".into());
        }
        // `link state track N` is how import writes `enabled true`; without it import leaves
        // `enabled` unset (the YANG default, true), so an unset `enabled` is exported as no
        // `track` line and comes back unset. A disabled group has no IOS form.
        let tracked = cfg.enabled == Some(true);
        if cfg.enabled == Some(false) {
            lossy("enabled false".into());
        }
        let names = |i: Option<Vec<String>>| i.unwrap_or_default();
        out.config.link_state_groups.push(LinkStateGroup {
            id,
            tracked,
            upstream: names(
                g.upstream
                    .and_then(|u| u.interfaces)
                    .map(|i| i.interface.into_iter().map(|m| text(&m.name)).collect()),
            ),
            downstream: names(
                g.downstream
                    .and_then(|d| d.interfaces)
                    .map(|i| i.interface.into_iter().map(|m| text(&m.name)).collect()),
            ),
        });
    }
}
