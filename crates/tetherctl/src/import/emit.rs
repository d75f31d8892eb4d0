//! [`Config`] → the gNMI Set content: the two Tether module containers,
//! `tether-conntrack-bypass:bypass` and `tether-link-state:link-state`, built as the
//! generated types of `tether-schema` and serialized by their RFC 7951 serde.
//!
//! No JSON member name is spelled here: the generated structs name them, so a change of the
//! YANG model that this code does not follow fails to compile. Every value goes through its
//! generated type's checks (ranges, lengths, patterns, enumerations), so a translation the
//! daemon would refuse is refused here, naming the value and the schema node.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tether_schema::tether_conntrack_bypass::bypass::{
    self as b, Bypass, access_lists, classes, global_policy, policies, service_policies,
};
use tether_schema::tether_link_state::link_state::{self as ls, LinkState, groups};

use super::acl::Ace;
use super::ir::{AccessList, Config, LinkStateGroup, PolicyClass, PolicyMap};

/// A translated value the schema refuses.
#[derive(Debug, thiserror::Error)]
#[error("{node}: {value} is not valid here: {reason}")]
pub struct EmitError {
    /// The schema node the value was meant for.
    pub node: &'static str,
    /// The value, shortened to 80 characters.
    pub value: String,
    pub reason: String,
}

/// The Set content: (schema path of a module's top container, its JSON value), one per module
/// that the configuration sets anything in.
pub fn updates(config: &Config) -> Result<Vec<(String, Value)>, EmitError> {
    let mut out = Vec::new();
    if let Some(v) = bypass(config)? {
        out.push((b::PATH.to_string(), json(&v)));
    }
    if let Some(v) = link_state(config)? {
        out.push((ls::PATH.to_string(), json(&v)));
    }
    Ok(out)
}

/// The RFC 7951 JSON of a generated value (serializing plain structs cannot fail).
fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `value` as the generated type of the schema node `node` (its serde is the type's check).
fn typed<T: DeserializeOwned>(
    node: &'static str,
    value: impl serde::Serialize,
) -> Result<T, EmitError> {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    serde_json::from_value(value.clone()).map_err(|e| EmitError {
        node,
        value: value.to_string().chars().take(80).collect(),
        reason: e.to_string(),
    })
}

/// Like [`typed`] for an optional value.
fn opt<T: DeserializeOwned, V: serde::Serialize>(
    node: &'static str,
    value: Option<V>,
) -> Result<Option<T>, EmitError> {
    value.map(|v| typed(node, v)).transpose()
}

/// `Some(items)` unless empty: containers without entries are left out of the Set.
fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

use access_lists::access_list::{self as acl, entries::entry};

impl Ace {
    /// The entry's `config` container.
    pub fn config(
        &self,
        sequence: u32,
        remark: Option<&str>,
    ) -> Result<entry::config::Config, EmitError> {
        use entry::config::Config as C;
        Ok(C {
            sequence: Some(typed(C::SEQUENCE, sequence)?),
            action: Some(typed(C::ACTION, self.action)?),
            protocol: Some(typed(C::PROTOCOL, &self.protocol)?),
            source_prefix: opt(C::SOURCE_PREFIX, self.source.as_ref())?,
            destination_prefix: opt(C::DESTINATION_PREFIX, self.destination.as_ref())?,
            source_port: opt(C::SOURCE_PORT, self.source_port.as_ref())?,
            destination_port: opt(C::DESTINATION_PORT, self.destination_port.as_ref())?,
            remark: opt(C::REMARK, remark)?,
        })
    }
}

/// The `bypass` container, or `None` when the configuration has nothing for it.
fn bypass(config: &Config) -> Result<Option<Bypass>, EmitError> {
    let access_list = config
        .access_lists
        .iter()
        .map(access_list)
        .collect::<Result<Vec<_>, _>>()?;
    let class = config
        .class_maps
        .iter()
        .filter_map(|c| Some((c, c.match_access_list.as_ref()?)))
        .map(|(c, acl)| {
            use classes::class::{Class, config::Config as C};
            Ok(Class {
                name: typed(Class::NAME, &c.name)?,
                config: Some(C {
                    name: Some(typed(C::NAME, &c.name)?),
                    match_access_list: Some(typed(C::MATCH_ACCESS_LIST, acl)?),
                }),
                state: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let policy = config
        .policy_maps
        .iter()
        .map(policy)
        .collect::<Result<Vec<_>, _>>()?;
    let service_policy = config
        .service_policies
        .iter()
        .map(|s| {
            use service_policies::service_policy::{ServicePolicy, config::Config as C};
            Ok(ServicePolicy {
                interface: typed(ServicePolicy::INTERFACE, &s.interface)?,
                config: Some(C {
                    interface: Some(typed(C::INTERFACE, &s.interface)?),
                    policy: Some(typed(C::POLICY, &s.policy)?),
                }),
                state: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let global = config
        .global_policy
        .as_ref()
        .map(|p| {
            use global_policy::config::Config as C;
            Ok(global_policy::GlobalPolicy {
                config: Some(C {
                    policy: Some(typed(C::POLICY, p)?),
                }),
                ..Default::default()
            })
        })
        .transpose()?;
    let v = Bypass {
        access_lists: non_empty(access_list)
            .map(|access_list| access_lists::AccessLists { access_list }),
        classes: non_empty(class).map(|class| classes::Classes { class }),
        policies: non_empty(policy).map(|policy| policies::Policies { policy }),
        service_policies: non_empty(service_policy)
            .map(|service_policy| service_policies::ServicePolicies { service_policy }),
        global_policy: global,
        ..Default::default()
    };
    Ok((v != Bypass::default()).then_some(v))
}

fn access_list(a: &AccessList) -> Result<acl::AccessList, EmitError> {
    use acl::config::Config as C;
    let entry = a
        .entries
        .iter()
        .map(|e| {
            Ok(entry::Entry {
                sequence: typed(entry::Entry::SEQUENCE, e.sequence)?,
                config: Some(e.ace.config(e.sequence, e.remark.as_deref())?),
                state: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(acl::AccessList {
        name: typed(acl::AccessList::NAME, &a.name)?,
        config: Some(C {
            name: Some(typed(C::NAME, &a.name)?),
            ..Default::default()
        }),
        entries: non_empty(entry).map(|entry| acl::entries::Entries { entry }),
        state: None,
    })
}

fn policy(p: &PolicyMap) -> Result<policies::policy::Policy, EmitError> {
    use policies::policy::{self as pol, config::Config as C};
    let class = p
        .classes
        .iter()
        .map(|c| {
            Ok(pol::classes::class::Class {
                name: typed(pol::classes::class::Class::NAME, &c.name)?,
                config: Some(policy_class(c)?),
                state: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pol::Policy {
        name: typed(pol::Policy::NAME, &p.name)?,
        config: Some(C {
            name: Some(typed(C::NAME, &p.name)?),
            description: opt(C::DESCRIPTION, p.description.as_ref())?,
        }),
        classes: non_empty(class).map(|class| pol::classes::Classes { class }),
        state: None,
    })
}

fn policy_class(
    c: &PolicyClass,
) -> Result<policies::policy::classes::class::config::Config, EmitError> {
    use policies::policy::classes::class::config::Config as C;
    Ok(C {
        name: Some(typed(C::NAME, &c.name)?),
        idle_timeout: opt(C::IDLE_TIMEOUT, c.idle_timeout)?,
        embryonic_timeout: opt(C::EMBRYONIC_TIMEOUT, c.embryonic_timeout)?,
        tcp_state_bypass: c.tcp_state_bypass.then_some(true),
        // The ASA has no command for a conditional bypass: nothing to import.
        bypass_mode: None,
        half_closed_timeout: opt(C::HALF_CLOSED_TIMEOUT, c.half_closed_timeout)?,
        conn_max: opt(C::CONN_MAX, c.conn_max)?,
        embryonic_conn_max: opt(C::EMBRYONIC_CONN_MAX, c.embryonic_conn_max)?,
        trigger_interface: None,
        trigger_link_state_group: None,
        trigger_hold_time: None,
    })
}

/// The `link-state` container, or `None` when the configuration names no group.
fn link_state(config: &Config) -> Result<Option<LinkState>, EmitError> {
    let group = config
        .link_state_groups
        .iter()
        .map(group)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(non_empty(group).map(|group| LinkState {
        groups: Some(groups::Groups { group }),
        ..Default::default()
    }))
}

/// The `interfaces` list of a group's `upstream` or `downstream` container: the two are
/// distinct generated types of the same shape.
macro_rules! members {
    ($side:ident, $names:expr) => {{
        use groups::group::$side::interfaces::{
            Interfaces,
            interface::{Interface, config::Config},
        };
        let interface = $names
            .iter()
            .map(|n| {
                Ok(Interface {
                    name: typed(Interface::NAME, n)?,
                    config: Some(Config {
                        name: Some(typed(Config::NAME, n)?),
                    }),
                    state: None,
                })
            })
            .collect::<Result<Vec<_>, EmitError>>()?;
        non_empty(interface).map(|interface| Interfaces { interface })
    }};
}

fn group(g: &LinkStateGroup) -> Result<groups::group::Group, EmitError> {
    use groups::group::{self as grp, config::Config as C};
    let upstream = members!(upstream, g.upstream);
    let downstream = members!(downstream, g.downstream);
    Ok(grp::Group {
        id: typed(grp::Group::ID, g.id)?,
        config: Some(C {
            id: Some(typed(C::ID, g.id)?),
            enabled: g.tracked.then_some(true),
            ..Default::default()
        }),
        upstream: upstream.map(|i| grp::upstream::Upstream {
            interfaces: Some(i),
        }),
        downstream: downstream.map(|i| grp::downstream::Downstream {
            interfaces: Some(i),
        }),
        state: None,
    })
}
