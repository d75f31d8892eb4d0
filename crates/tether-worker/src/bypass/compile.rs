//! The bypass compiler: the typed `tether-conntrack-bypass` configuration → a
//! [`BypassProgram`] for any dataplane. Pure: no I/O, no clock, no state.
//!
//! What it resolves: protocol names to numbers (`ip` = any), absent prefixes and ports to "any",
//! port text `N` / `N-M` to ranges, each policy class to its class-map's access-list, and the
//! service-policies and the global policy to policy names. Cross-references are checked again
//! (libyang already did) so that a compiler bug shows up as an error naming the object, never as
//! a program the dataplane refuses later.

use std::time::Duration;

use tether_dataplane::{
    AccessList, AclAction, AclEntry, BypassMode, BypassProgram, ClassLimits, DEFAULT_TCP_IDLE,
    IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IpPrefix, Policy, PolicyClass, PortRange, ProgramError,
    Trigger, TriggerSource,
};
use tether_model::Datastore;
use tether_model::tether_conntrack_bypass::bypass::{self, Bypass};

use bypass::access_lists::access_list::entries::entry::config as entry_config;
use bypass::policies::policy::classes::class::config as class_config;

/// `trigger-hold-time`'s YANG default.
const DEFAULT_TRIGGER_HOLD: Duration = Duration::from_secs(60);

/// Why the configuration could not be compiled. Each names the object to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error(
        "access-list {acl:?} sequence {sequence}: {field} {value:?} is not a port or a range N-M with N <= M"
    )]
    BadPort {
        acl: String,
        sequence: u32,
        field: &'static str,
        value: String,
    },
    #[error("access-list {acl:?} sequence {sequence}: {field}: {source}")]
    BadPrefix {
        acl: String,
        sequence: u32,
        field: &'static str,
        source: ProgramError,
    },
    #[error("access-list {acl:?} sequence {sequence}: no action configured")]
    NoAction { acl: String, sequence: u32 },
    #[error("policy {policy:?}: class {class:?} does not exist")]
    UnknownClass { policy: String, class: String },
    #[error("class {class:?} matches no access-list")]
    ClassWithoutAccessList { class: String },
    #[error("service-policy of interface {interface:?} names no policy")]
    ServicePolicyWithoutPolicy { interface: String },
    #[error(transparent)]
    Program(#[from] ProgramError),
}

/// Compiles the bypass part of the datastore (an absent `bypass` container compiles to the
/// empty program: nothing is bypassed).
pub fn compile(config: &Datastore) -> Result<BypassProgram, CompileError> {
    match &config.tether_conntrack_bypass.bypass {
        Some(b) => compile_bypass(b),
        None => Ok(BypassProgram::default()),
    }
}

/// Compiles one `bypass` container.
pub fn compile_bypass(b: &Bypass) -> Result<BypassProgram, CompileError> {
    let mut program = BypassProgram::default();
    for acl in b.access_lists.iter().flat_map(|a| &a.access_list) {
        let (name, list) = compile_access_list(acl)?;
        program.access_lists.insert(name, list);
    }
    compile_references(b, program)
}

/// One access-list, entries sorted by sequence (entries without `config` are skipped).
pub fn compile_access_list(
    acl: &bypass::access_lists::access_list::AccessList,
) -> Result<(String, AccessList), CompileError> {
    let name = acl.name.as_str().to_string();
    let mut entries = Vec::new();
    for entry in acl.entries.iter().flat_map(|e| &e.entry) {
        if let Some(e) = compile_list_entry(&name, entry)? {
            entries.push(e);
        }
    }
    entries.sort_by_key(|e| e.sequence);
    Ok((name, AccessList { entries }))
}

/// One entry of access-list `acl`; `None` for an entry without `config` (nothing to match).
pub fn compile_list_entry(
    acl: &str,
    entry: &bypass::access_lists::access_list::entries::entry::Entry,
) -> Result<Option<AclEntry>, CompileError> {
    let sequence = entry.sequence.get();
    entry
        .config
        .as_ref()
        .map(|config| compile_entry(acl, sequence, config))
        .transpose()
}

/// Everything but the access-lists (classes, policies, service-policies, the global policy)
/// of `b`, resolved against the access-lists already in `program`, and the whole program
/// validated.
pub fn compile_references(
    b: &Bypass,
    mut program: BypassProgram,
) -> Result<BypassProgram, CompileError> {
    program.policies.clear();
    program.service_policies.clear();
    program.global_policy = None;
    // Class-map name → access-list name.
    let mut class_acl = std::collections::BTreeMap::new();
    for class in b.classes.iter().flat_map(|c| &c.class) {
        let acl = class
            .config
            .as_ref()
            .and_then(|c| c.match_access_list.as_ref());
        class_acl.insert(
            class.name.as_str().to_string(),
            acl.map(|a| a.as_str().to_string()),
        );
    }

    for policy in b.policies.iter().flat_map(|p| &p.policy) {
        let policy_name = policy.name.as_str().to_string();
        let mut classes = Vec::new();
        for class in policy.classes.iter().flat_map(|c| &c.class) {
            let class_name = class.name.as_str().to_string();
            let access_list = match class_acl.get(&class_name) {
                None => {
                    return Err(CompileError::UnknownClass {
                        policy: policy_name,
                        class: class_name,
                    });
                }
                Some(None) => {
                    return Err(CompileError::ClassWithoutAccessList { class: class_name });
                }
                Some(Some(acl)) => acl.clone(),
            };
            let config = class.config.as_ref();
            let tcp_state_bypass = config.and_then(|c| c.tcp_state_bypass).unwrap_or(false);
            let idle_timeout = config
                .and_then(|c| c.idle_timeout)
                .map_or(DEFAULT_TCP_IDLE, |t| {
                    Duration::from_secs(u64::from(t.get()))
                });
            classes.push(PolicyClass {
                name: class_name,
                access_list,
                tcp_state_bypass,
                idle_timeout,
                limits: config.map(limits).unwrap_or_default(),
                mode: config
                    .and_then(|c| c.bypass_mode)
                    .map_or(BypassMode::Full, |m| match m {
                        class_config::BypassMode::Full => BypassMode::Full,
                        class_config::BypassMode::SynCheck => BypassMode::SynCheck,
                        class_config::BypassMode::Stateless => BypassMode::Stateless,
                    }),
                trigger: config.and_then(trigger),
                // The worker's arming decides (`bypass::arming`); armed until it has judged.
                armed: true,
            });
        }
        program.policies.insert(policy_name, Policy { classes });
    }

    for sp in b.service_policies.iter().flat_map(|s| &s.service_policy) {
        let interface = sp.interface.as_str().to_string();
        match sp.config.as_ref().and_then(|c| c.policy.as_ref()) {
            Some(policy) => {
                program
                    .service_policies
                    .insert(interface, policy.as_str().to_string());
            }
            None => return Err(CompileError::ServicePolicyWithoutPolicy { interface }),
        }
    }

    program.global_policy = b
        .global_policy
        .as_ref()
        .and_then(|g| g.config.as_ref())
        .and_then(|c| c.policy.as_ref())
        .map(|p| p.as_str().to_string());

    program.validate()?;
    Ok(program)
}

/// The timeouts beyond the idle one and the connection limits of a policy class.
fn limits(c: &class_config::Config) -> ClassLimits {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    ClassLimits {
        embryonic_timeout: c.embryonic_timeout.map(|t| secs(t.get())),
        half_closed_timeout: c.half_closed_timeout.map(|t| secs(t.get())),
        conn_max: c.conn_max.map(|n| n.get()),
        embryonic_conn_max: c.embryonic_conn_max.map(|n| n.get()),
    }
}

/// The trigger of a conditional class (`trigger-interface` or `trigger-link-state-group`,
/// with `trigger-hold-time`, 60 s when absent as in the YANG).
fn trigger(c: &class_config::Config) -> Option<Trigger> {
    let source = match (&c.trigger_interface, &c.trigger_link_state_group) {
        (Some(i), _) => TriggerSource::Interface(i.as_str().to_string()),
        (None, Some(g)) => TriggerSource::LinkStateGroup(g.get()),
        (None, None) => return None,
    };
    let hold = c.trigger_hold_time.map_or(DEFAULT_TRIGGER_HOLD, |t| {
        Duration::from_secs(u64::from(t.get()))
    });
    Some(Trigger { source, hold })
}

fn compile_entry(
    acl: &str,
    sequence: u32,
    c: &entry_config::Config,
) -> Result<AclEntry, CompileError> {
    let action = match c.action {
        Some(entry_config::Action::Permit) => AclAction::Permit,
        Some(entry_config::Action::Deny) => AclAction::Deny,
        None => {
            return Err(CompileError::NoAction {
                acl: acl.to_string(),
                sequence,
            });
        }
    };
    let protocol = c.protocol.as_ref().and_then(protocol_number);
    let prefix = |field: &'static str,
                  p: Option<&entry_config::IpPrefix>|
     -> Result<Option<IpPrefix>, CompileError> {
        let Some(p) = p else { return Ok(None) };
        let text = match p {
            entry_config::IpPrefix::Ipv4Prefix(v4) => v4.as_str(),
            entry_config::IpPrefix::Ipv6Prefix(v6) => v6.as_str(),
        };
        parse_prefix(text)
            .map(Some)
            .map_err(|source| CompileError::BadPrefix {
                acl: acl.to_string(),
                sequence,
                field,
                source,
            })
    };
    let source = prefix("source-prefix", c.source_prefix.as_ref())?;
    let destination = prefix("destination-prefix", c.destination_prefix.as_ref())?;
    // An absent prefix is "any" of the other side's family (both absent: IPv4 any).
    let v6 = source.or(destination).is_some_and(|p| p.is_ipv6());
    let any = if v6 {
        IpPrefix::any_v6()
    } else {
        IpPrefix::any_v4()
    };
    let port = |field: &'static str,
                p: Option<&entry_config::PortOrRange>|
     -> Result<PortRange, CompileError> {
        match p {
            None => Ok(PortRange::ANY),
            Some(text) => parse_port_range(text.as_str()).ok_or_else(|| CompileError::BadPort {
                acl: acl.to_string(),
                sequence,
                field,
                value: text.as_str().to_string(),
            }),
        }
    };
    Ok(AclEntry {
        sequence,
        action,
        protocol,
        source: source.unwrap_or(any),
        destination: destination.unwrap_or(any),
        source_ports: port("source-port", c.source_port.as_ref())?,
        destination_ports: port("destination-port", c.destination_port.as_ref())?,
    })
}

/// The IP protocol number of the YANG `protocol` union; `ip` (any protocol) is `None`.
pub fn protocol_number(p: &entry_config::Protocol) -> Option<u8> {
    use entry_config::ProtocolEnumeration as E;
    match p {
        entry_config::Protocol::Enumeration(E::Tcp) => Some(IPPROTO_TCP),
        entry_config::Protocol::Enumeration(E::Udp) => Some(IPPROTO_UDP),
        entry_config::Protocol::Enumeration(E::Icmp) => Some(IPPROTO_ICMP),
        entry_config::Protocol::Enumeration(E::Ip) => None,
        entry_config::Protocol::Uint8(n) => Some(*n),
    }
}

/// `N` or `N-M` (N <= M), each 0..=65535.
pub fn parse_port_range(text: &str) -> Option<PortRange> {
    let (lo, hi) = match text.split_once('-') {
        Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
        None => {
            let p = text.trim().parse().ok()?;
            (p, p)
        }
    };
    (lo <= hi).then_some(PortRange { lo, hi })
}

/// A prefix; host bits set are cleared (`10.0.0.1/8` means `10.0.0.0/8`, as the ASA reads it).
fn parse_prefix(text: &str) -> Result<IpPrefix, ProgramError> {
    match text.parse::<IpPrefix>() {
        Err(ProgramError::HostBitsSet { canonical, .. }) => canonical.parse(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn bypass(doc: Value) -> Bypass {
        serde_json::from_value(doc).expect("typed bypass")
    }

    fn entry(seq: u32, config: Value) -> Value {
        let mut c = config;
        c["sequence"] = json!(seq);
        json!({ "sequence": seq, "config": c })
    }

    fn acl(name: &str, entries: Vec<Value>) -> Value {
        json!({ "name": name, "config": { "name": name }, "entries": { "entry": entries } })
    }

    fn one_entry(config: Value) -> Result<AclEntry, CompileError> {
        let b = bypass(
            json!({ "access-lists": { "access-list": [acl("A", vec![entry(10, config)])] } }),
        );
        let p = compile_bypass(&b)?;
        Ok(p.access_lists["A"].entries[0].clone())
    }

    fn pfx(s: &str) -> IpPrefix {
        s.parse().expect("prefix")
    }

    #[test]
    fn entries_compile_field_by_field() {
        let any4 = IpPrefix::any_v4();
        // (config, protocol, source, destination, source ports, destination ports)
        let cases = [
            (
                json!({"action":"permit","protocol":"tcp"}),
                Some(6),
                any4,
                any4,
                PortRange::ANY,
                PortRange::ANY,
            ),
            (
                json!({"action":"permit","protocol":"udp"}),
                Some(17),
                any4,
                any4,
                PortRange::ANY,
                PortRange::ANY,
            ),
            (
                json!({"action":"permit","protocol":"icmp"}),
                Some(1),
                any4,
                any4,
                PortRange::ANY,
                PortRange::ANY,
            ),
            (
                json!({"action":"permit","protocol":"ip"}),
                None,
                any4,
                any4,
                PortRange::ANY,
                PortRange::ANY,
            ),
            (
                json!({"action":"permit","protocol":47}),
                Some(47),
                any4,
                any4,
                PortRange::ANY,
                PortRange::ANY,
            ),
            (
                json!({"action":"permit","protocol":"tcp","source-prefix":"198.18.1.0/24","destination-prefix":"198.19.1.0/24"}),
                Some(6),
                pfx("198.18.1.0/24"),
                pfx("198.19.1.0/24"),
                PortRange::ANY,
                PortRange::ANY,
            ),
            (
                json!({"action":"permit","protocol":"tcp","destination-prefix":"2001:db8::/32"}),
                Some(6),
                IpPrefix::any_v6(),
                pfx("2001:db8::/32"),
                PortRange::ANY,
                PortRange::ANY,
            ),
            (
                json!({"action":"permit","protocol":"tcp","source-port":"1024-65535","destination-port":"443"}),
                Some(6),
                any4,
                any4,
                PortRange {
                    lo: 1024,
                    hi: 65535,
                },
                PortRange::single(443),
            ),
            (
                json!({"action":"permit","protocol":"udp","destination-port":"0"}),
                Some(17),
                any4,
                any4,
                PortRange::ANY,
                PortRange::single(0),
            ),
        ];
        for (config, protocol, source, destination, sports, dports) in cases {
            let e = one_entry(config.clone()).unwrap_or_else(|err| panic!("{config}: {err}"));
            assert_eq!(
                (
                    e.protocol,
                    e.source,
                    e.destination,
                    e.source_ports,
                    e.destination_ports
                ),
                (protocol, source, destination, sports, dports),
                "{config}"
            );
        }
    }

    #[test]
    fn bad_entries_are_refused_with_their_name() {
        let cases = [
            (
                json!({"action":"permit","protocol":"tcp","destination-port":"90-80"}),
                "destination-port \"90-80\"",
            ),
            (
                json!({"action":"permit","protocol":"icmp","destination-port":"80"}),
                "ports can only be matched",
            ),
            (
                json!({"action":"permit","protocol":"tcp","source-prefix":"198.18.0.0/15","destination-prefix":"2001:db8::/32"}),
                "different address families",
            ),
        ];
        for (config, needle) in cases {
            let err = one_entry(config.clone())
                .expect_err("must fail")
                .to_string();
            assert!(
                err.contains(needle) && err.contains("\"A\""),
                "{config}: {err}"
            );
        }
    }

    #[test]
    fn port_ranges() {
        let cases = [
            ("443", Some((443, 443))),
            ("0", Some((0, 0))),
            ("1024-65535", Some((1024, 65535))),
            ("80-80", Some((80, 80))),
            ("81-80", None),
            ("65536", None),
            ("x", None),
            ("1-", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_port_range(text).map(|r| (r.lo, r.hi)), want, "{text}");
        }
    }

    fn reference() -> Value {
        let class = || json!({ "name": "tcp_bypass", "config": { "name": "tcp_bypass", "tcp-state-bypass": true, "idle-timeout": 900 } });
        json!({
            "access-lists": { "access-list": [acl("StatelessTraffic", vec![
                entry(20, json!({"action":"permit","protocol":"tcp","source-prefix":"198.19.1.0/24","destination-prefix":"198.18.1.0/24"})),
                entry(10, json!({"action":"permit","protocol":"tcp","source-prefix":"198.18.1.0/24","destination-prefix":"198.19.1.0/24"})),
            ])] },
            "classes": { "class": [ { "name": "tcp_bypass", "config": { "name": "tcp_bypass", "match-access-list": "StatelessTraffic" } } ] },
            "policies": { "policy": [
                { "name": "Inside-policy", "config": { "name": "Inside-policy" }, "classes": { "class": [class()] } },
                { "name": "MPLS-policy", "config": { "name": "MPLS-policy" }, "classes": { "class": [class()] } },
            ] },
            "service-policies": { "service-policy": [
                { "interface": "Inside", "config": { "interface": "Inside", "policy": "Inside-policy" } },
                { "interface": "MPLS", "config": { "interface": "MPLS", "policy": "MPLS-policy" } },
            ] },
            "global-policy": { "config": { "policy": "MPLS-policy" } }
        })
    }

    #[test]
    fn the_reference_chain_resolves() {
        let p = compile_bypass(&bypass(reference())).expect("compiles");
        let seqs: Vec<u32> = p.access_lists["StatelessTraffic"]
            .entries
            .iter()
            .map(|e| e.sequence)
            .collect();
        assert_eq!(seqs, vec![10, 20], "entries sorted by sequence");
        let class = &p.policies["Inside-policy"].classes[0];
        assert_eq!(
            (
                class.name.as_str(),
                class.access_list.as_str(),
                class.tcp_state_bypass,
                class.idle_timeout
            ),
            (
                "tcp_bypass",
                "StatelessTraffic",
                true,
                Duration::from_secs(900)
            )
        );
        assert_eq!(p.service_policies["Inside"], "Inside-policy");
        assert_eq!(p.service_policies["MPLS"], "MPLS-policy");
        assert_eq!(p.global_policy.as_deref(), Some("MPLS-policy"));
    }

    #[test]
    fn policy_class_defaults_and_order() {
        let mut doc = reference();
        doc["classes"]["class"] = json!([
            { "name": "a", "config": { "name": "a", "match-access-list": "StatelessTraffic" } },
            { "name": "b", "config": { "name": "b", "match-access-list": "StatelessTraffic" } },
        ]);
        doc["policies"]["policy"][0]["classes"]["class"] = json!([
            { "name": "b", "config": { "name": "b" } },
            { "name": "a", "config": { "name": "a", "tcp-state-bypass": true } },
        ]);
        doc["policies"]["policy"][1]["classes"]["class"] = json!([]);
        let p = compile_bypass(&bypass(doc)).expect("compiles");
        let classes: Vec<(&str, bool, Duration)> = p.policies["Inside-policy"]
            .classes
            .iter()
            .map(|c| (c.name.as_str(), c.tcp_state_bypass, c.idle_timeout))
            .collect();
        assert_eq!(
            classes,
            vec![
                ("b", false, DEFAULT_TCP_IDLE),
                ("a", true, DEFAULT_TCP_IDLE)
            ]
        );
    }

    #[test]
    fn dangling_references_are_refused() {
        let mut doc = reference();
        doc["policies"]["policy"][0]["classes"]["class"][0]["name"] = json!("nope");
        assert!(matches!(
            compile_bypass(&bypass(doc)),
            Err(CompileError::UnknownClass { .. })
        ));
        let mut doc = reference();
        doc["global-policy"]["config"]["policy"] = json!("nope");
        assert!(matches!(
            compile_bypass(&bypass(doc)),
            Err(CompileError::Program(ProgramError::UnknownPolicy { .. }))
        ));
    }

    #[test]
    fn no_bypass_container_is_the_empty_program() {
        assert_eq!(
            compile(&Datastore::default()).expect("compiles"),
            BypassProgram::default()
        );
    }
}
