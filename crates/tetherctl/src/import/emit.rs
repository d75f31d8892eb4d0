//! [`Config`] → the gNMI Set content: the JSON of the two Tether module containers,
//! `tether-conntrack-bypass:bypass` and `tether-link-state:link-state`.
//!
//! This is the only place that knows the modules' JSON shape (list keys repeated in `config`,
//! containers left out when empty), so a change of the YANG model is a change here only.

use serde_json::{Map, Value, json};
use tether_schema::{tether_conntrack_bypass, tether_link_state};

use super::acl::Ace;
use super::ir::{AccessList, Config, LinkStateGroup, PolicyClass, PolicyMap};

/// The Set content: (schema path of a module's top container, its JSON value), one per module
/// that the configuration sets anything in.
pub fn updates(config: &Config) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(v) = bypass(config) {
        out.push((tether_conntrack_bypass::bypass::PATH.to_string(), v));
    }
    if let Some(v) = link_state(config) {
        out.push((tether_link_state::link_state::PATH.to_string(), v));
    }
    out
}

impl Ace {
    /// The entry's `config` container.
    pub fn config(&self, sequence: u32, remark: Option<&str>) -> Value {
        let mut m = Map::new();
        m.insert("sequence".into(), json!(sequence));
        m.insert("action".into(), json!(self.action));
        m.insert("protocol".into(), self.protocol.clone());
        let mut opt = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        };
        opt("source-prefix", &self.source);
        opt("destination-prefix", &self.destination);
        opt("source-port", &self.source_port);
        opt("destination-port", &self.destination_port);
        if let Some(r) = remark {
            m.insert("remark".into(), json!(r));
        }
        Value::Object(m)
    }
}

/// The `bypass` container, or `None` when the configuration has nothing for it.
fn bypass(config: &Config) -> Option<Value> {
    let mut root = Map::new();
    let mut list = |container: &str, entry: &str, items: Vec<Value>| {
        if !items.is_empty() {
            root.insert(container.into(), json!({ entry: items }));
        }
    };
    list(
        "access-lists",
        "access-list",
        config.access_lists.iter().map(access_list).collect(),
    );
    list(
        "classes",
        "class",
        config
            .class_maps
            .iter()
            .filter_map(|c| {
                let acl = c.match_access_list.as_ref()?;
                Some(json!({"name": c.name, "config": {"name": c.name, "match-access-list": acl}}))
            })
            .collect(),
    );
    list(
        "policies",
        "policy",
        config.policy_maps.iter().map(policy).collect(),
    );
    list(
        "service-policies",
        "service-policy",
        config
            .service_policies
            .iter()
            .map(|s| {
                json!({"interface": s.interface,
                       "config": {"interface": s.interface, "policy": s.policy}})
            })
            .collect(),
    );
    if let Some(p) = &config.global_policy {
        root.insert("global-policy".into(), json!({"config": {"policy": p}}));
    }
    (!root.is_empty()).then_some(Value::Object(root))
}

fn access_list(a: &AccessList) -> Value {
    let mut v = json!({"name": a.name, "config": {"name": a.name}});
    if !a.entries.is_empty() {
        let entries: Vec<Value> = a
            .entries
            .iter()
            .map(|e| {
                json!({"sequence": e.sequence,
                       "config": e.ace.config(e.sequence, e.remark.as_deref())})
            })
            .collect();
        v["entries"] = json!({ "entry": entries });
    }
    v
}

fn policy(p: &PolicyMap) -> Value {
    let mut config = json!({"name": p.name});
    if let Some(d) = &p.description {
        config["description"] = json!(d);
    }
    let mut v = json!({"name": p.name, "config": config});
    if !p.classes.is_empty() {
        let classes: Vec<Value> = p
            .classes
            .iter()
            .map(|c| json!({"name": c.name, "config": policy_class(c)}))
            .collect();
        v["classes"] = json!({ "class": classes });
    }
    v
}

fn policy_class(c: &PolicyClass) -> Value {
    let mut config = json!({"name": c.name});
    if let Some(t) = c.idle_timeout {
        config["idle-timeout"] = json!(t);
    }
    if let Some(t) = c.embryonic_timeout {
        config["embryonic-timeout"] = json!(t);
    }
    if c.tcp_state_bypass {
        config["tcp-state-bypass"] = json!(true);
    }
    config
}

/// The `link-state` container, or `None` when the configuration names no group.
fn link_state(config: &Config) -> Option<Value> {
    if config.link_state_groups.is_empty() {
        return None;
    }
    let groups: Vec<Value> = config.link_state_groups.iter().map(group).collect();
    Some(json!({"groups": {"group": groups}}))
}

fn group(g: &LinkStateGroup) -> Value {
    let members = |names: &[String]| {
        let interfaces: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "config": {"name": n}}))
            .collect();
        json!({"interfaces": {"interface": interfaces}})
    };
    let mut config = json!({"id": g.id});
    if g.tracked {
        config["enabled"] = json!(true);
    }
    let mut v = json!({"id": g.id, "config": config});
    if !g.upstream.is_empty() {
        v["upstream"] = members(&g.upstream);
    }
    if !g.downstream.is_empty() {
        v["downstream"] = members(&g.downstream);
    }
    v
}
