//! `show conn bypass`: the connection table's TCP state bypass entries (the ASA's `b` flag),
//! in the layout of the ASA's `show conn`: first the whole table's usage — how many entries
//! are in use and the most there have been at once since the daemon started — then one line
//! per listed entry:
//!
//! ```text
//! 3 in use, 5 most used
//! TCP Inside 198.18.1.10:51000 198.19.1.20:443, idle 0:00:12, bytes 1234, flags b
//! ```
//!
//! Where it differs from the ASA, and why: the ASA names an interface before both ends
//! (`TCP outside A inside B`); Tether's table knows only the interface the initiator's first
//! packet came in on, so the responder has none, and the initiator comes first. IPv6 ends are
//! bracketed (`[2001:db8::1]:5000`) so the port cannot be read as part of the address.

use tether_proto::sim::Connection;

use crate::timefmt::hms;

use super::bypass::BypassView;

const NS_PER_S: u64 = 1_000_000_000;

/// The protocol name the ASA prints.
fn protocol(p: u32) -> String {
    match p {
        6 => "TCP".into(),
        17 => "UDP".into(),
        1 => "ICMP".into(),
        58 => "ICMP6".into(),
        n => format!("PROTO{n}"),
    }
}

fn endpoint(address: &str, port: u32) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// The connection table's usage, the ASA's `N in use, M most used`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Entries in the table now (all of them, not only those listed).
    pub in_use: u64,
    /// The most entries the table has held at once since the daemon started.
    pub most_used: u64,
}

/// The usage line, then one line per connection, oldest first.
pub fn render_connections(usage: Usage, connections: &[Connection]) -> String {
    let mut conns: Vec<&Connection> = connections.iter().collect();
    conns.sort_by(|a, b| {
        a.created_ns
            .cmp(&b.created_ns)
            .then_with(|| a.source_address.cmp(&b.source_address))
            .then_with(|| a.source_port.cmp(&b.source_port))
    });
    let mut out = format!("{} in use, {} most used\n", usage.in_use, usage.most_used);
    for c in conns {
        out.push_str(&format!(
            "{} {} {} {}, idle {}, bytes {}, flags {}\n",
            protocol(c.protocol),
            if c.ingress_interface.is_empty() {
                "-"
            } else {
                &c.ingress_interface
            },
            endpoint(&c.source_address, c.source_port),
            endpoint(&c.destination_address, c.destination_port),
            hms(c.idle_ns / NS_PER_S),
            c.bytes,
            if c.bypass { "b" } else { "-" },
        ));
    }
    out
}

/// The per-class bypass connection counters from gNMI state, for when the entries themselves
/// cannot be listed (and as a summary above them).
pub fn render_counters(view: &BypassView) -> String {
    let mut out = String::new();
    for p in &view.policies {
        for c in &p.classes {
            if !c.tcp_state_bypass && c.current.is_none() {
                continue;
            }
            let n = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
            out.push_str(&format!(
                "policy-map {} class {}: {} current bypass connections, {} built, {} torn down by idle timeout{}\n",
                p.name,
                c.name,
                n(c.current),
                n(c.built),
                n(c.torn_down_idle),
                c.idle_timeout
                    .map(|t| format!(" (idle {})", hms(t)))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::bypass::{Policy, PolicyClass};
    use super::*;

    fn conn(src: &str, sport: u32, idle_s: u64, created: u64) -> Connection {
        Connection {
            protocol: 6,
            source_address: src.into(),
            source_port: sport,
            destination_address: "198.19.1.20".into(),
            destination_port: 443,
            ingress_interface: "MPLS".into(),
            bypass: true,
            state: "bypass".into(),
            idle_ns: idle_s * NS_PER_S + 999,
            timeout_ns: 900 * NS_PER_S,
            packets: 3,
            bytes: 1234,
            policy: "MPLS-policy".into(),
            class: "tcp_bypass".into(),
            created_ns: created,
        }
    }

    const USAGE: Usage = Usage {
        in_use: 3,
        most_used: 5,
    };

    #[test]
    fn lists_connections_like_asa_show_conn() {
        let text = render_connections(
            USAGE,
            &[
                conn("198.18.1.11", 51001, 75, 2),
                conn("198.18.1.10", 51000, 12, 1),
            ],
        );
        assert_eq!(
            text,
            "3 in use, 5 most used\n\
             TCP MPLS 198.18.1.10:51000 198.19.1.20:443, idle 0:00:12, bytes 1234, flags b\n\
             TCP MPLS 198.18.1.11:51001 198.19.1.20:443, idle 0:01:15, bytes 1234, flags b\n"
        );
        let empty = Usage {
            in_use: 0,
            most_used: 7,
        };
        assert_eq!(render_connections(empty, &[]), "0 in use, 7 most used\n");
    }

    #[test]
    fn ipv6_endpoints_are_bracketed() {
        let mut c = conn("2001:db8::1", 5000, 0, 0);
        c.destination_address = "2001:db8::2".into();
        assert!(
            render_connections(USAGE, &[c])
                .contains("TCP MPLS [2001:db8::1]:5000 [2001:db8::2]:443, idle 0:00:00")
        );
    }

    #[test]
    fn counters_summarise_bypass_classes() {
        let view = BypassView {
            policies: vec![Policy {
                name: "Inside-policy".into(),
                description: None,
                classes: vec![PolicyClass {
                    name: "tcp_bypass".into(),
                    tcp_state_bypass: true,
                    idle_timeout: Some(900),
                    current: Some(2),
                    built: Some(5),
                    torn_down_idle: Some(3),
                    ..Default::default()
                }],
            }],
            ..Default::default()
        };
        assert_eq!(
            render_counters(&view),
            "policy-map Inside-policy class tcp_bypass: 2 current bypass connections, 5 built, 3 torn down by idle timeout (idle 0:15:00)\n"
        );
    }
}
