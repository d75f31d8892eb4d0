//! `show bypass` (alias `show service-policy`): the ASA chain service-policy → policy-map →
//! class-map → access-list with its counters, laid out like the ASA's `show service-policy`
//! followed by `show access-list`:
//!
//! ```text
//! Interface Inside:
//!   Service-policy: Inside-policy
//!     Class-map: tcp_bypass
//!       Match: access-list StatelessTraffic
//!       Set connection timeout policy:
//!         idle 0:15:00
//!       Set connection advanced-options: tcp-state-bypass
//!       Bypass trigger: interface trk0 down, hold 0:01:00
//!       Bypass armed: no (trigger-up) since 2026-12-05T00:10:00Z, 2 transitions
//!       Matched: 12 packets, 1200 bytes
//!       Bypass connections: 1 current, 3 built; torn down: 2 idle, 0 FIN/RST, 0 flushed
//!   Status: applied
//! ```

use serde_json::Value;
use tether_schema::json::U64;
use tether_schema::tether_conntrack_bypass::{self as tcb, bypass::Bypass};

use crate::timefmt::hms;

/// What a Get of `/tether-conntrack-bypass:bypass` holds, as the show command needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BypassView {
    pub access_lists: Vec<AccessList>,
    pub classes: Vec<(String, Option<String>)>,
    pub policies: Vec<Policy>,
    pub service_policies: Vec<ServicePolicy>,
    /// The global service-policy (`service-policy P global`), if any.
    pub global: Option<ServicePolicy>,
}

/// An access-list and its entries in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessList {
    pub name: String,
    pub entries: Vec<AccessListEntry>,
}

/// One access-list entry (ACE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessListEntry {
    pub sequence: u64,
    pub action: String,
    pub protocol: String,
    pub source: Option<String>,
    pub destination: Option<String>,
    pub source_port: Option<String>,
    pub destination_port: Option<String>,
    pub remark: Option<String>,
    pub matches: Option<u64>,
}

/// A policy-map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub description: Option<String>,
    pub classes: Vec<PolicyClass>,
}

/// A class within a policy-map, its actions and counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyClass {
    pub name: String,
    pub tcp_state_bypass: bool,
    pub idle_timeout: Option<u64>,
    pub embryonic_timeout: Option<u64>,
    pub half_closed_timeout: Option<u64>,
    pub conn_max: Option<u64>,
    pub embryonic_conn_max: Option<u64>,
    pub refused_conn_max: Option<u64>,
    pub refused_embryonic_conn_max: Option<u64>,
    pub matched_packets: Option<u64>,
    pub matched_bytes: Option<u64>,
    pub current: Option<u64>,
    pub built: Option<u64>,
    pub torn_down_idle: Option<u64>,
    pub torn_down_fin_rst: Option<u64>,
    pub torn_down_flushed: Option<u64>,
    /// `syn-check` or `stateless` (None: the ASA's full bypass).
    pub bypass_mode: Option<String>,
    /// Conditional bypass: `interface X` or `link-state group N`.
    pub trigger: Option<String>,
    pub trigger_hold: Option<u64>,
    pub armed: Option<bool>,
    pub armed_reason: Option<String>,
    pub armed_since: Option<String>,
    pub hold_until: Option<String>,
    pub arm_transitions: Option<u64>,
}

/// A service-policy: a policy applied to an interface (or globally) and whether the dataplane
/// took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePolicy {
    /// None for the global policy.
    pub interface: Option<String>,
    pub policy: String,
    pub applied: Option<bool>,
    pub last_error: Option<String>,
}

/// Reads the value of a Get of `/tether-conntrack-bypass:bypass` (the container, or a whole
/// document with module-qualified members) through the generated types of `tether-schema`:
/// a value the schema does not allow is an error, not a silently empty line.
pub fn view_from_json(v: &Value) -> Result<BypassView, serde_json::Error> {
    let root = match v {
        Value::Object(o) if o.keys().any(|k| k.contains(':')) => {
            serde_json::from_value::<tcb::Data>(v.clone())?.bypass
        }
        Value::Null => None,
        _ => Some(serde_json::from_value::<Bypass>(v.clone())?),
    };
    let Some(root) = root else {
        return Ok(BypassView::default());
    };
    let u = |c: Option<U64>| c.map(|c| c.0);
    let text = |t: Option<String>| t.filter(|t| !t.is_empty());
    let access_lists = root
        .access_lists
        .map(|a| a.access_list)
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            let mut entries: Vec<AccessListEntry> = a
                .entries
                .map(|e| e.entry)
                .unwrap_or_default()
                .into_iter()
                .map(|e| {
                    let c = e.config.unwrap_or_default();
                    let s = e.state.unwrap_or_default();
                    AccessListEntry {
                        sequence: u64::from(u32::from(e.sequence)),
                        action: c
                            .action
                            .map(|x| x.to_string())
                            .or(s.action.map(|x| x.to_string()))
                            .unwrap_or_default(),
                        protocol: c
                            .protocol
                            .map(|x| x.to_string())
                            .or(s.protocol.map(|x| x.to_string()))
                            .unwrap_or_else(|| "ip".into()),
                        source: c.source_prefix.map(|x| x.to_string()),
                        destination: c.destination_prefix.map(|x| x.to_string()),
                        source_port: c.source_port.map(|x| x.to_string()),
                        destination_port: c.destination_port.map(|x| x.to_string()),
                        remark: text(c.remark.map(|x| x.to_string())),
                        matches: u(s.matches),
                    }
                })
                .collect();
            entries.sort_by_key(|e| e.sequence);
            AccessList {
                name: a.name.to_string(),
                entries,
            }
        })
        .collect();
    let classes = root
        .classes
        .map(|c| c.class)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let acl = c
                .config
                .and_then(|c| c.match_access_list)
                .map(|x| x.to_string());
            (c.name.to_string(), acl)
        })
        .collect();
    let policies = root
        .policies
        .map(|p| p.policy)
        .unwrap_or_default()
        .into_iter()
        .map(|p| Policy {
            name: p.name.to_string(),
            description: text(p.config.and_then(|c| c.description).map(|x| x.to_string())),
            classes: p
                .classes
                .map(|c| c.class)
                .unwrap_or_default()
                .into_iter()
                .map(|c| {
                    let cfg = c.config.unwrap_or_default();
                    let s = c.state.unwrap_or_default();
                    PolicyClass {
                        name: c.name.to_string(),
                        tcp_state_bypass: cfg
                            .tcp_state_bypass
                            .or(s.tcp_state_bypass)
                            .unwrap_or(false),
                        idle_timeout: cfg
                            .idle_timeout
                            .map(|t| u64::from(u32::from(t)))
                            .or(s.idle_timeout.map(|t| u64::from(u32::from(t)))),
                        embryonic_timeout: cfg
                            .embryonic_timeout
                            .map(|t| u64::from(u32::from(t)))
                            .or(s.embryonic_timeout.map(|t| u64::from(u32::from(t)))),
                        half_closed_timeout: (cfg
                            .half_closed_timeout
                            .map(|t| u64::from(u32::from(t))))
                        .or(s.half_closed_timeout.map(|t| u64::from(u32::from(t)))),
                        conn_max: (cfg.conn_max.map(|n| u64::from(u32::from(n))))
                            .or(s.conn_max.map(|n| u64::from(u32::from(n)))),
                        embryonic_conn_max: (cfg
                            .embryonic_conn_max
                            .map(|n| u64::from(u32::from(n))))
                        .or(s.embryonic_conn_max.map(|n| u64::from(u32::from(n)))),
                        refused_conn_max: u(s.refused_conn_max),
                        refused_embryonic_conn_max: u(s.refused_embryonic_conn_max),
                        matched_packets: u(s.matched_packets),
                        matched_bytes: u(s.matched_bytes),
                        current: u(s.bypass_connections_current),
                        built: u(s.bypass_connections_built),
                        torn_down_idle: u(s.torn_down_idle),
                        torn_down_fin_rst: u(s.torn_down_fin_rst),
                        torn_down_flushed: u(s.torn_down_flushed),
                        bypass_mode: (cfg.bypass_mode.map(|m| m.as_str().to_string()))
                            .or(s.bypass_mode.map(|m| m.as_str().to_string()))
                            .filter(|m| m != "full"),
                        trigger: match (
                            (cfg.trigger_interface.map(|i| i.to_string()))
                                .or(s.trigger_interface.map(|i| i.to_string())),
                            (cfg.trigger_link_state_group.map(u16::from))
                                .or(s.trigger_link_state_group.map(u16::from)),
                        ) {
                            (Some(i), _) => Some(format!("interface {i}")),
                            (None, Some(g)) => Some(format!("link-state group {g}")),
                            (None, None) => None,
                        },
                        trigger_hold: (cfg.trigger_hold_time.map(|t| u64::from(u32::from(t))))
                            .or(s.trigger_hold_time.map(|t| u64::from(u32::from(t)))),
                        armed: s.bypass_armed,
                        armed_reason: s.armed_reason.map(|r| r.as_str().to_string()),
                        armed_since: s.armed_last_change.map(|t| t.to_string()),
                        hold_until: s.hold_until.map(|t| t.to_string()),
                        arm_transitions: u(s.arm_transitions),
                    }
                })
                .collect(),
        })
        .collect();
    let service_policies = root
        .service_policies
        .map(|s| s.service_policy)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|sp| {
            let s = sp.state.unwrap_or_default();
            Some(ServicePolicy {
                interface: Some(sp.interface.to_string()),
                policy: (sp.config.and_then(|c| c.policy).map(|p| p.to_string()))
                    .or(s.policy.map(|p| p.to_string()))?,
                applied: s.applied,
                last_error: text(s.last_error.map(|x| x.to_string())),
            })
        })
        .collect();
    let global = root.global_policy.and_then(|g| {
        let s = g.state.unwrap_or_default();
        Some(ServicePolicy {
            interface: None,
            policy: (g.config.and_then(|c| c.policy).map(|p| p.to_string()))
                .or(s.policy.map(|p| p.to_string()))?,
            applied: s.applied,
            last_error: text(s.last_error.map(|x| x.to_string())),
        })
    });
    Ok(BypassView {
        access_lists,
        classes,
        policies,
        service_policies,
        global,
    })
}

fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |n| n.to_string())
}

/// The whole `show bypass` text.
pub fn render(view: &BypassView) -> String {
    let mut out = String::new();
    if let Some(g) = &view.global {
        out.push_str("Global policy:\n");
        render_service_policy(&mut out, view, g);
    }
    for sp in &view.service_policies {
        out.push_str(&format!(
            "Interface {}:\n",
            sp.interface.as_deref().unwrap_or("?")
        ));
        render_service_policy(&mut out, view, sp);
    }
    let used = |p: &str| {
        view.global.iter().any(|g| g.policy == p)
            || view.service_policies.iter().any(|s| s.policy == p)
    };
    let unused: Vec<&Policy> = view.policies.iter().filter(|p| !used(&p.name)).collect();
    if !unused.is_empty() {
        out.push_str("Policy-maps not applied by any service-policy:\n");
        for p in unused {
            render_policy(&mut out, view, p);
        }
    }
    if view.global.is_none() && view.service_policies.is_empty() && view.policies.is_empty() {
        out.push_str("No service-policy is configured.\n");
    }
    if !view.access_lists.is_empty() {
        out.push('\n');
        out.push_str(&render_access_lists(&view.access_lists));
    }
    out
}

fn render_service_policy(out: &mut String, view: &BypassView, sp: &ServicePolicy) {
    match view.policies.iter().find(|p| p.name == sp.policy) {
        Some(p) => render_policy(out, view, p),
        None => out.push_str(&format!(
            "  Service-policy: {} (not configured)\n",
            sp.policy
        )),
    }
    match (sp.applied, &sp.last_error) {
        (_, Some(e)) => out.push_str(&format!(
            "  Status: {}, last error: {e}\n",
            if sp.applied == Some(true) {
                "applied"
            } else {
                "NOT applied"
            }
        )),
        (Some(true), None) => out.push_str("  Status: applied\n"),
        (Some(false), None) => out.push_str("  Status: NOT applied\n"),
        (None, None) => out.push_str("  Status: unknown (no state from the daemon yet)\n"),
    }
}

fn render_policy(out: &mut String, view: &BypassView, p: &Policy) {
    out.push_str(&format!("  Service-policy: {}\n", p.name));
    if let Some(d) = &p.description {
        out.push_str(&format!("    Description: {d}\n"));
    }
    for c in &p.classes {
        out.push_str(&format!("    Class-map: {}\n", c.name));
        match view.classes.iter().find(|(n, _)| *n == c.name) {
            Some((_, Some(acl))) => out.push_str(&format!("      Match: access-list {acl}\n")),
            _ => out.push_str("      Match: (class-map not configured)\n"),
        }
        if c.idle_timeout.is_some()
            || c.embryonic_timeout.is_some()
            || c.half_closed_timeout.is_some()
        {
            out.push_str("      Set connection timeout policy:\n");
            if let Some(e) = c.embryonic_timeout {
                out.push_str(&format!("        embryonic {}\n", hms(e)));
            }
            if let Some(h) = c.half_closed_timeout {
                out.push_str(&format!("        half-closed {}\n", hms(h)));
            }
            if let Some(i) = c.idle_timeout {
                out.push_str(&format!("        idle {}\n", hms(i)));
            }
        }
        if c.conn_max.is_some() || c.embryonic_conn_max.is_some() {
            // As the ASA's `show service-policy`: the limits, then what they refused.
            out.push_str(&format!(
                "      Set connection policy: conn-max {}, embryonic-conn-max {}\n",
                c.conn_max.map_or("-".into(), |n| n.to_string()),
                c.embryonic_conn_max.map_or("-".into(), |n| n.to_string())
            ));
            out.push_str(&format!(
                "      Refused: {} by conn-max, {} by embryonic-conn-max\n",
                count(c.refused_conn_max),
                count(c.refused_embryonic_conn_max)
            ));
        }
        if c.tcp_state_bypass {
            match &c.bypass_mode {
                Some(m) => out.push_str(&format!(
                    "      Set connection advanced-options: tcp-state-bypass ({m})\n"
                )),
                None => out.push_str("      Set connection advanced-options: tcp-state-bypass\n"),
            }
        }
        render_arming(out, c);
        if c.matched_packets.is_some() || c.matched_bytes.is_some() {
            out.push_str(&format!(
                "      Matched: {} packets, {} bytes\n",
                count(c.matched_packets),
                count(c.matched_bytes)
            ));
        }
        if c.current.is_some() || c.built.is_some() {
            out.push_str(&format!(
                "      Bypass connections: {} current, {} built; torn down: {} idle, {} FIN/RST, {} flushed\n",
                count(c.current),
                count(c.built),
                count(c.torn_down_idle),
                count(c.torn_down_fin_rst),
                count(c.torn_down_flushed)
            ));
        }
    }
}

/// A conditional class's trigger and whether its bypass is armed now, and why (nothing for an
/// unconditional class, whose layout stays the ASA's).
fn render_arming(out: &mut String, c: &PolicyClass) {
    let Some(trigger) = &c.trigger else { return };
    out.push_str(&format!(
        "      Bypass trigger: {trigger} down, hold {}\n",
        hms(c.trigger_hold.unwrap_or(60))
    ));
    let Some(armed) = c.armed else {
        out.push_str("      Bypass armed: unknown (no state from the daemon yet)\n");
        return;
    };
    let mut line = format!(
        "      Bypass armed: {} ({}",
        if armed { "yes" } else { "no" },
        c.armed_reason.as_deref().unwrap_or("?")
    );
    if let Some(until) = &c.hold_until {
        line.push_str(&format!(" until {until}"));
    }
    line.push(')');
    if let Some(since) = &c.armed_since {
        line.push_str(&format!(" since {since}"));
    }
    if let Some(n) = c.arm_transitions {
        line.push_str(&format!(", {n} transitions"));
    }
    out.push_str(&line);
    out.push('\n');
}

/// `show access-list` as the ASA prints it: a header with the number of entries (ACEs,
/// remarks not counted), then every element numbered by its position as the ASA numbers
/// them — a remark is an element of its own, so it takes a line number and the ACE after it
/// the next one (`line 1 remark …`, `line 2 extended …`). The YANG sequence numbers only
/// order the entries: the ASA has none (IOS's `show ip access-lists` prints those instead).
/// Left out: the ASA's `name hash` and per-ACE hashes, which are its internal values.
pub fn render_access_lists(acls: &[AccessList]) -> String {
    let mut out = String::new();
    for a in acls {
        out.push_str(&format!(
            "access-list {}; {} elements\n",
            a.name,
            a.entries.len()
        ));
        let mut line = 0;
        for e in &a.entries {
            if let Some(r) = &e.remark {
                line += 1;
                out.push_str(&format!("access-list {} line {line} remark {r}\n", a.name));
            }
            line += 1;
            out.push_str(&format!(
                "access-list {} line {line} extended {}",
                a.name,
                ace_text(e)
            ));
            if let Some(m) = e.matches {
                out.push_str(&format!(" (hitcnt={m})"));
            }
            out.push('\n');
        }
    }
    out
}

/// An entry in ASA syntax: `permit tcp 198.18.1.0 255.255.255.0 host 198.19.1.1 eq 443`.
pub fn ace_text(e: &AccessListEntry) -> String {
    let mut parts = vec![e.action.clone(), e.protocol.clone()];
    parts.push(address(e.source.as_deref()));
    if let Some(p) = &e.source_port {
        parts.push(port(p));
    }
    parts.push(address(e.destination.as_deref()));
    if let Some(p) = &e.destination_port {
        parts.push(port(p));
    }
    parts.join(" ")
}

/// A prefix as the ASA writes it: `any`, `host A`, `A MASK` (IPv6 stays `X::/len`).
fn address(prefix: Option<&str>) -> String {
    let Some(p) = prefix else {
        return "any".into();
    };
    let Some((addr, len)) = p.split_once('/') else {
        return format!("host {p}");
    };
    let Ok(len) = len.parse::<u32>() else {
        return p.into();
    };
    if addr.contains(':') {
        return if len == 128 {
            format!("host {addr}")
        } else {
            p.into()
        };
    }
    match len {
        32 => format!("host {addr}"),
        0 => "any".into(),
        n if n < 32 => {
            let mask = u32::MAX << (32 - n);
            format!("{addr} {}", std::net::Ipv4Addr::from(mask))
        }
        _ => p.into(),
    }
}

fn port(p: &str) -> String {
    match p.split_once('-') {
        Some((a, b)) => format!("range {a} {b}"),
        None => format!("eq {p}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    /// A Get (type ALL) of the reference configuration after some bypass traffic.
    fn reference() -> Value {
        let class = |bypass_current: u64| {
            json!({"name": "tcp_bypass",
                   "config": {"name": "tcp_bypass", "tcp-state-bypass": true, "idle-timeout": 900},
                   "state": {"name": "tcp_bypass", "tcp-state-bypass": true, "idle-timeout": 900,
                             "matched-packets": "12", "matched-bytes": "1200",
                             "bypass-connections-current": bypass_current.to_string(),
                             "bypass-connections-built": "3", "torn-down-idle": "2",
                             "torn-down-fin-rst": "0", "torn-down-flushed": "0"}})
        };
        json!({
            "access-lists": {"access-list": [{
                "name": "StatelessTraffic", "config": {"name": "StatelessTraffic"},
                "entries": {"entry": [
                    {"sequence": 20, "config": {"sequence": 20, "action": "permit", "protocol": "tcp",
                        "source-prefix": "198.19.1.0/24", "destination-prefix": "198.18.1.0/24",
                        "remark": "Inbound Traffic"}, "state": {"matches": "5"}},
                    {"sequence": 10, "config": {"sequence": 10, "action": "permit", "protocol": "tcp",
                        "source-prefix": "198.18.1.0/24", "destination-prefix": "198.19.1.0/24",
                        "remark": "Outbound Traffic"}, "state": {"matches": "7"}}
                ]}}]},
            "classes": {"class": [{"name": "tcp_bypass",
                "config": {"name": "tcp_bypass", "match-access-list": "StatelessTraffic"}}]},
            "policies": {"policy": [
                {"name": "Inside-policy", "config": {"name": "Inside-policy"},
                 "classes": {"class": [class(1)]}},
                {"name": "MPLS-policy", "config": {"name": "MPLS-policy"},
                 "classes": {"class": [class(0)]}},
                {"name": "Spare", "config": {"name": "Spare"}}
            ]},
            "service-policies": {"service-policy": [
                {"interface": "Inside", "config": {"interface": "Inside", "policy": "Inside-policy"},
                 "state": {"applied": true, "last-error": ""}},
                {"interface": "MPLS", "config": {"interface": "MPLS", "policy": "MPLS-policy"},
                 "state": {"applied": false, "last-error": "interface MPLS does not exist"}}
            ]}
        })
    }

    #[test]
    fn renders_like_asa_show_service_policy() {
        let text = render(&view_from_json(&reference()).unwrap());
        let expected = "\
Interface Inside:
  Service-policy: Inside-policy
    Class-map: tcp_bypass
      Match: access-list StatelessTraffic
      Set connection timeout policy:
        idle 0:15:00
      Set connection advanced-options: tcp-state-bypass
      Matched: 12 packets, 1200 bytes
      Bypass connections: 1 current, 3 built; torn down: 2 idle, 0 FIN/RST, 0 flushed
  Status: applied
Interface MPLS:
  Service-policy: MPLS-policy
    Class-map: tcp_bypass
      Match: access-list StatelessTraffic
      Set connection timeout policy:
        idle 0:15:00
      Set connection advanced-options: tcp-state-bypass
      Matched: 12 packets, 1200 bytes
      Bypass connections: 0 current, 3 built; torn down: 2 idle, 0 FIN/RST, 0 flushed
  Status: NOT applied, last error: interface MPLS does not exist
Policy-maps not applied by any service-policy:
  Service-policy: Spare

access-list StatelessTraffic; 2 elements
access-list StatelessTraffic line 1 remark Outbound Traffic
access-list StatelessTraffic line 2 extended permit tcp 198.18.1.0 255.255.255.0 198.19.1.0 255.255.255.0 (hitcnt=7)
access-list StatelessTraffic line 3 remark Inbound Traffic
access-list StatelessTraffic line 4 extended permit tcp 198.19.1.0 255.255.255.0 198.18.1.0 255.255.255.0 (hitcnt=5)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_conditional_class_shows_its_trigger_and_arming() {
        let v = json!({"policies": {"policy": [{"name": "MPLS-policy", "config": {"name": "MPLS-policy"},
            "classes": {"class": [{"name": "tcp_bypass",
                "config": {"name": "tcp_bypass", "tcp-state-bypass": true, "bypass-mode": "syn-check",
                           "trigger-link-state-group": 7, "trigger-hold-time": 30,
                           "conn-max": 100, "half-closed-timeout": 600},
                "state": {"bypass-armed": true, "armed-reason": "hold-time",
                          "armed-last-change": "2026-12-05T00:10:00Z",
                          "hold-until": "2026-12-05T00:12:30Z", "arm-transitions": "3",
                          "refused-conn-max": "4"}}]}}]}});
        let text = render(&view_from_json(&v).unwrap());
        assert!(
            text.contains(
                "      Set connection advanced-options: tcp-state-bypass (syn-check)\n\
                 \x20     Bypass trigger: link-state group 7 down, hold 0:00:30\n\
                 \x20     Bypass armed: yes (hold-time until 2026-12-05T00:12:30Z) since 2026-12-05T00:10:00Z, 3 transitions\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "      Set connection timeout policy:\n        half-closed 0:10:00\n\
                 \x20     Set connection policy: conn-max 100, embryonic-conn-max -\n\
                 \x20     Refused: 4 by conn-max, - by embryonic-conn-max\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn access_list_lines_number_remarks_and_entries_as_the_asa_does() {
        let ace = |sequence: u64, remark: Option<&str>| AccessListEntry {
            sequence,
            action: "permit".into(),
            protocol: "tcp".into(),
            source: Some("198.18.0.0/15".into()),
            destination: None,
            source_port: None,
            destination_port: Some("443".into()),
            remark: remark.map(str::to_string),
            matches: None,
        };
        let acl = AccessList {
            name: "Web".into(),
            // Sequence numbers 5, 10, 40: the ASA's line numbers count elements instead.
            entries: vec![
                ace(5, Some("web in")),
                ace(10, None),
                ace(40, Some("web out")),
            ],
        };
        assert_eq!(
            render_access_lists(&[acl]),
            "access-list Web; 3 elements\n\
             access-list Web line 1 remark web in\n\
             access-list Web line 2 extended permit tcp 198.18.0.0 255.254.0.0 any eq 443\n\
             access-list Web line 3 extended permit tcp 198.18.0.0 255.254.0.0 any eq 443\n\
             access-list Web line 4 remark web out\n\
             access-list Web line 5 extended permit tcp 198.18.0.0 255.254.0.0 any eq 443\n"
        );
    }

    #[test]
    fn global_policy_comes_first() {
        let v = json!({"tether-conntrack-bypass:bypass": {
            "policies": {"policy": [{"name": "g", "config": {"name": "g"}}]},
            "global-policy": {"config": {"policy": "g"}}}});
        assert_eq!(
            render(&view_from_json(&v).unwrap()),
            "Global policy:\n  Service-policy: g\n  Status: unknown (no state from the daemon yet)\n"
        );
        assert_eq!(
            render(&view_from_json(&json!({})).unwrap()),
            "No service-policy is configured.\n"
        );
    }

    #[test]
    fn entries_print_in_asa_syntax() {
        let e = |src: Option<&str>, sp: Option<&str>, dst: Option<&str>, dp: Option<&str>| {
            ace_text(&AccessListEntry {
                sequence: 10,
                action: "deny".into(),
                protocol: "udp".into(),
                source: src.map(Into::into),
                destination: dst.map(Into::into),
                source_port: sp.map(Into::into),
                destination_port: dp.map(Into::into),
                remark: None,
                matches: None,
            })
        };
        assert_eq!(e(None, None, None, None), "deny udp any any");
        assert_eq!(
            e(
                Some("198.18.0.1/32"),
                Some("1024-65535"),
                Some("198.19.0.0/16"),
                Some("53")
            ),
            "deny udp host 198.18.0.1 range 1024 65535 198.19.0.0 255.255.0.0 eq 53"
        );
        assert_eq!(
            e(Some("2001:db8::/32"), None, Some("2001:db8::1/128"), None),
            "deny udp 2001:db8::/32 host 2001:db8::1"
        );
    }
}
