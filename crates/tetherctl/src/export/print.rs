//! [`Config`] → ASA/IOS configuration text, in the order an ASA and a Catalyst print their
//! running configuration: access-lists, class-maps, policy-maps, service-policies, then
//! link state tracking.
//!
//! Access-lists numbered 10, 20, 30, … (how `import` numbers ASA lines, and the ASA's own
//! `line` numbering does not exist in the configuration) are written as ASA `access-list`
//! lines with netmasks; any other numbering, or an empty access-list, as an IOS
//! `ip access-list extended` block with explicit sequence numbers and wildcard masks, so the
//! numbers survive. Interface members are grouped into `interface range` runs where the names
//! differ only in their last number.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::Value;

use crate::import::acl::{Ace, MaskStyle};
use crate::import::ir::{AccessList, Config, LinkStateGroup};
use crate::order::natural_cmp;
use crate::timefmt::hms;

/// The whole text (empty when nothing is configured).
pub fn print(c: &Config) -> String {
    let mut out = String::new();
    let mut section = |s: String| {
        if !s.is_empty() {
            if !out.is_empty() {
                out.push_str("!\n");
            }
            out.push_str(&s);
        }
    };
    section(c.access_lists.iter().map(access_list).collect());
    section(class_maps(c));
    section(policy_maps(c));
    section(service_policies(c));
    section(link_state(&c.link_state_groups));
    out
}

fn access_list(a: &AccessList) -> String {
    let mut out = String::new();
    let asa = !a.entries.is_empty()
        && a.entries
            .iter()
            .zip(1u32..)
            .all(|(e, i)| Some(e.sequence) == i.checked_mul(10));
    if asa {
        for e in &a.entries {
            if let Some(r) = &e.remark {
                let _ = writeln!(out, "access-list {} remark {r}", a.name);
            }
            let _ = writeln!(
                out,
                "access-list {} extended {}",
                a.name,
                ace(&e.ace, MaskStyle::Netmask)
            );
        }
    } else {
        let _ = writeln!(out, "ip access-list extended {}", a.name);
        for e in &a.entries {
            if let Some(r) = &e.remark {
                let _ = writeln!(out, " remark {r}");
            }
            let _ = writeln!(out, " {} {}", e.sequence, ace(&e.ace, MaskStyle::Wildcard));
        }
    }
    out
}

/// `permit tcp SRC [PORTS] DST [PORTS]`.
pub fn ace(a: &Ace, masks: MaskStyle) -> String {
    let protocol = match &a.protocol {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut words = vec![a.action.to_string(), protocol];
    words.push(address(a.source.as_deref(), masks));
    words.extend(ports(a.source_port.as_deref()));
    words.push(address(a.destination.as_deref(), masks));
    words.extend(ports(a.destination_port.as_deref()));
    words.join(" ")
}

/// `any`, `host A`, `A MASK` (IPv4) or `X::/len` (IPv6).
fn address(prefix: Option<&str>, masks: MaskStyle) -> String {
    let Some(p) = prefix else {
        return "any".into();
    };
    let Some((addr, len)) = p.split_once('/') else {
        return format!("host {p}");
    };
    let (Ok(ip), Ok(len)) = (addr.parse::<IpAddr>(), len.parse::<u32>()) else {
        return p.to_string();
    };
    match ip {
        IpAddr::V4(_) if len == 32 => format!("host {ip}"),
        IpAddr::V6(_) if len == 128 => format!("host {ip}"),
        IpAddr::V6(_) => p.to_string(),
        IpAddr::V4(_) => {
            let net = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            let mask = match masks {
                MaskStyle::Netmask => net,
                MaskStyle::Wildcard => !net,
            };
            format!("{ip} {}", std::net::Ipv4Addr::from(mask))
        }
    }
}

/// `eq N` or `range N M`.
fn ports(p: Option<&str>) -> Option<String> {
    let p = p?;
    Some(match p.split_once('-') {
        Some((a, b)) => format!("range {a} {b}"),
        None => format!("eq {p}"),
    })
}

fn class_maps(c: &Config) -> String {
    c.class_maps
        .iter()
        .map(|m| match &m.match_access_list {
            Some(a) => format!("class-map {}\n match access-list {a}\n", m.name),
            None => format!("class-map {}\n", m.name),
        })
        .collect()
}

fn policy_maps(c: &Config) -> String {
    let mut out = String::new();
    for p in &c.policy_maps {
        let _ = writeln!(out, "policy-map {}", p.name);
        if let Some(d) = &p.description {
            let _ = writeln!(out, " description {d}");
        }
        for class in &p.classes {
            let _ = writeln!(out, " class {}", class.name);
            let mut timeouts = String::new();
            if let Some(s) = class.embryonic_timeout {
                let _ = write!(timeouts, " embryonic {}", hms(s));
            }
            if let Some(s) = class.idle_timeout {
                let _ = write!(timeouts, " idle {}", hms(s));
            }
            if let Some(s) = class.half_closed_timeout {
                let _ = write!(timeouts, " half-closed {}", hms(s));
            }
            if !timeouts.is_empty() {
                let _ = writeln!(out, "  set connection timeout{timeouts}");
            }
            let mut limits = String::new();
            if let Some(n) = class.conn_max {
                let _ = write!(limits, " conn-max {n}");
            }
            if let Some(n) = class.embryonic_conn_max {
                let _ = write!(limits, " embryonic-conn-max {n}");
            }
            if !limits.is_empty() {
                let _ = writeln!(out, "  set connection{limits}");
            }
            if class.tcp_state_bypass {
                let _ = writeln!(out, "  set connection advanced-options tcp-state-bypass");
            }
        }
    }
    out
}

fn service_policies(c: &Config) -> String {
    let mut out = String::new();
    for s in &c.service_policies {
        let _ = writeln!(out, "service-policy {} interface {}", s.policy, s.interface);
    }
    if let Some(p) = &c.global_policy {
        let _ = writeln!(out, "service-policy {p} global");
    }
    out
}

fn link_state(groups: &[LinkStateGroup]) -> String {
    let mut out = String::new();
    for g in groups.iter().filter(|g| g.tracked) {
        let _ = writeln!(out, "link state track {}", g.id);
    }
    for g in groups {
        for (side, names) in [("upstream", &g.upstream), ("downstream", &g.downstream)] {
            for run in runs(names) {
                let _ = writeln!(out, "{run}\n link state group {} {side}", g.id);
            }
        }
    }
    out
}

/// `interface X` or `interface range X - N` lines covering `names` in order: a run is names
/// with the same stem and consecutive last numbers. Names with a `-` or `,` of their own are
/// never put in a range (the range syntax would split them).
fn runs(names: &[String]) -> Vec<String> {
    // The daemon returns list entries in its own key order (Gi1/1, Gi1/10, Gi1/2, …); a switch
    // prints them as people count.
    let mut names = names.to_vec();
    names.sort_by(|a, b| natural_cmp(a, b));
    let mut out = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let mut j = i + 1;
        if let Some((stem, first)) = rangeable(&names[i]) {
            while j < names.len() && rangeable(&names[j]) == Some((stem, first + (j - i) as u32)) {
                j += 1;
            }
            if j - i > 1 {
                let last = first + (j - i - 1) as u32;
                out.push(format!("interface range {} - {last}", names[i]));
                i = j;
                continue;
            }
        }
        out.push(format!("interface {}", names[i]));
        i += 1;
    }
    out
}

/// (stem, last number) of a name that can be in an `interface range`.
fn rangeable(name: &str) -> Option<(&str, u32)> {
    if name.contains(['-', ',']) {
        return None;
    }
    let digits = name.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (stem, number) = name.split_at(name.len() - digits);
    // A leading zero would not survive the range (`swp01 - 2` expands to swp01, swp2).
    if number.is_empty() || (number.len() > 1 && number.starts_with('0')) {
        return None;
    }
    Some((stem, number.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn runs_group_consecutive_names() {
        assert_eq!(
            runs(&names(&[
                "Gi1/10", "Gi1/1", "Gi1/2", "Gi1/3", "Po11", "Gi1/5", "swp9", "swp10"
            ])),
            [
                "interface range Gi1/1 - 3",
                "interface Gi1/5",
                "interface Gi1/10",
                "interface Po11",
                "interface range swp9 - 10",
            ]
        );
        assert_eq!(
            runs(&names(&[
                "bond0-a1", "bond0-a2", "swp01", "swp02", "Inside"
            ])),
            [
                "interface Inside",
                "interface bond0-a1",
                "interface bond0-a2",
                "interface swp01",
                "interface swp02",
            ]
        );
    }

    #[test]
    fn addresses_as_the_asa_and_ios_write_them() {
        let n = MaskStyle::Netmask;
        let w = MaskStyle::Wildcard;
        assert_eq!(address(None, n), "any");
        assert_eq!(
            address(Some("198.18.1.0/24"), n),
            "198.18.1.0 255.255.255.0"
        );
        assert_eq!(address(Some("198.18.1.0/24"), w), "198.18.1.0 0.0.0.255");
        assert_eq!(address(Some("198.18.1.7/32"), n), "host 198.18.1.7");
        assert_eq!(address(Some("2001:db8::/32"), n), "2001:db8::/32");
        assert_eq!(address(Some("2001:db8::1/128"), w), "host 2001:db8::1");
        assert_eq!(address(Some("0.0.0.0/0"), n), "0.0.0.0 0.0.0.0");
        assert_eq!(ports(Some("443")).as_deref(), Some("eq 443"));
        assert_eq!(
            ports(Some("1024-65535")).as_deref(),
            Some("range 1024 65535")
        );
    }
}
