//! One access-list entry (ACE) in Cisco syntax → Tether's entry config:
//! `permit|deny PROTO SRC [PORTS] DST [PORTS] [log ...]`.
//!
//! Addresses: `any` (`any4`, `any6`), `host A`, `A MASK` (a netmask on the ASA, a wildcard mask
//! in IOS ACLs), IPv6 `X::/len`. Ports: `eq`, `range`, `lt`, `gt` with numbers or the ASA's port
//! names. Objects, object-groups, `neq`, ICMP types, `time-range` and `inactive` have no Tether
//! equivalent and are refused with the reason, never dropped: dropping part of an entry would
//! change what it selects.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};

/// How the mask after an address is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskStyle {
    /// `255.255.255.0` (ASA `access-list`).
    Netmask,
    /// `0.0.0.255` (IOS numbered and `ip access-list` ACLs).
    Wildcard,
}

/// A translated entry, without sequence number and remark. Its JSON is
/// [`emit`](super::emit)'s ([`Ace::config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Ace {
    pub action: &'static str,
    /// `"tcp"`, `"udp"`, `"icmp"`, `"ip"` or a protocol number.
    pub protocol: Value,
    pub source: Option<String>,
    pub source_port: Option<String>,
    pub destination: Option<String>,
    pub destination_port: Option<String>,
}

/// IP protocols by the names the ASA and IOS accept.
const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("ahp", 51),
    ("eigrp", 88),
    ("esp", 50),
    ("gre", 47),
    ("icmp6", 58),
    ("igmp", 2),
    ("igrp", 9),
    ("ipinip", 4),
    ("ipsec", 50),
    ("nos", 94),
    ("ospf", 89),
    ("pcp", 108),
    ("pim", 103),
    ("pptp", 47),
    ("sctp", 132),
    ("snp", 109),
];

/// TCP/UDP ports by the names the ASA prints and accepts.
const PORTS: &[(&str, u16)] = &[
    ("aol", 5190),
    ("bgp", 179),
    ("biff", 512),
    ("bootpc", 68),
    ("bootps", 67),
    ("chargen", 19),
    ("cifs", 3020),
    ("citrix-ica", 1494),
    ("cmd", 514),
    ("ctiqbe", 2748),
    ("daytime", 13),
    ("discard", 9),
    ("dnsix", 195),
    ("domain", 53),
    ("echo", 7),
    ("exec", 512),
    ("finger", 79),
    ("ftp", 21),
    ("ftp-data", 20),
    ("gopher", 70),
    ("h323", 1720),
    ("hostname", 101),
    ("http", 80),
    ("https", 443),
    ("ident", 113),
    ("imap4", 143),
    ("irc", 194),
    ("isakmp", 500),
    ("kerberos", 750),
    ("klogin", 543),
    ("kshell", 544),
    ("ldap", 389),
    ("ldaps", 636),
    ("login", 513),
    ("lotusnotes", 1352),
    ("lpd", 515),
    ("mobile-ip", 434),
    ("nameserver", 42),
    ("netbios-dgm", 138),
    ("netbios-ns", 137),
    ("netbios-ssn", 139),
    ("nfs", 2049),
    ("nntp", 119),
    ("ntp", 123),
    ("pcanywhere-data", 5631),
    ("pcanywhere-status", 5632),
    ("pim-auto-rp", 496),
    ("pop2", 109),
    ("pop3", 110),
    ("pptp", 1723),
    ("radius", 1645),
    ("radius-acct", 1646),
    ("rip", 520),
    ("rsh", 514),
    ("rtsp", 554),
    ("secureid-udp", 5510),
    ("sip", 5060),
    ("smtp", 25),
    ("snmp", 161),
    ("snmptrap", 162),
    ("sqlnet", 1521),
    ("ssh", 22),
    ("sunrpc", 111),
    ("syslog", 514),
    ("tacacs", 49),
    ("talk", 517),
    ("telnet", 23),
    ("tftp", 69),
    ("time", 37),
    ("uucp", 540),
    ("vxlan", 4789),
    ("who", 513),
    ("whois", 43),
    ("www", 80),
    ("xdmcp", 177),
];

fn port_number(text: &str) -> Result<u16, String> {
    if let Ok(n) = text.parse::<u16>() {
        return Ok(n);
    }
    PORTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text))
        .map(|(_, p)| *p)
        .ok_or_else(|| format!("{text:?} is not a port number or a known port name"))
}

/// Parses the entry after `NAME [extended]` (ASA) or after the sequence number (IOS).
pub fn parse(tokens: &[&str], masks: MaskStyle) -> Result<Ace, String> {
    let mut t = Tokens { tokens, at: 0 };
    let action = match t.next("permit or deny")? {
        "permit" => "permit",
        "deny" => "deny",
        other => {
            return Err(format!("expected permit or deny, found {other:?}"));
        }
    };
    let protocol = protocol(&mut t)?;
    let ports_allowed = matches!(protocol.as_str(), Some("tcp" | "udp"));
    let source = address(&mut t, masks, "source")?;
    let source_port = ports(&mut t, ports_allowed)?;
    let destination = address(&mut t, masks, "destination")?;
    let destination_port = ports(&mut t, ports_allowed)?;
    if let (Some(s), Some(d)) = (&source, &destination)
        && s.contains(':') != d.contains(':')
    {
        return Err("source and destination are of different address families".into());
    }
    trailing(&mut t, &protocol)?;
    Ok(Ace {
        action,
        protocol,
        source,
        source_port,
        destination,
        destination_port,
    })
}

struct Tokens<'a> {
    tokens: &'a [&'a str],
    at: usize,
}

impl<'a> Tokens<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).copied()
    }
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        let t = self
            .peek()
            .ok_or_else(|| format!("the entry ends where the {what} should be"))?;
        self.at += 1;
        Ok(t)
    }
}

fn protocol(t: &mut Tokens<'_>) -> Result<Value, String> {
    let p = t.next("protocol")?;
    let lower = p.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "tcp" | "udp" | "icmp" | "ip" => json!(lower),
        "object" | "object-group" => {
            return Err(format!(
                "{p} {} as protocol cannot be translated: Tether has no objects; write the protocol",
                t.peek().unwrap_or("")
            ));
        }
        _ => match lower.parse::<u8>() {
            Ok(6) => json!("tcp"),
            Ok(17) => json!("udp"),
            Ok(1) => json!("icmp"),
            Ok(n) => json!(n),
            Err(_) => match PROTOCOLS.iter().find(|(n, _)| *n == lower) {
                Some((_, n)) => json!(n),
                None => return Err(format!("unknown protocol {p:?}")),
            },
        },
    })
}

fn address(t: &mut Tokens<'_>, masks: MaskStyle, what: &str) -> Result<Option<String>, String> {
    let a = t.next(&format!("{what} address"))?;
    match a.to_ascii_lowercase().as_str() {
        "any" | "any4" | "any6" => return Ok(None),
        "host" => {
            let h = t.next(&format!("{what} host address"))?;
            let ip: IpAddr = h
                .parse()
                .map_err(|_| format!("{what} host {h:?} is not an IP address"))?;
            return Ok(Some(match ip {
                IpAddr::V4(_) => format!("{ip}/32"),
                IpAddr::V6(_) => format!("{ip}/128"),
            }));
        }
        "object" | "object-group" | "interface" => {
            return Err(format!(
                "{what} {a} {} cannot be translated: Tether has no objects or interface addresses; write the addresses",
                t.peek().unwrap_or("")
            ));
        }
        _ => {}
    }
    if let Some((addr, len)) = a.split_once('/') {
        let ip: std::net::Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("{what} {a:?} is not an IPv6 prefix"))?;
        let len: u32 = len
            .parse()
            .ok()
            .filter(|l| *l <= 128)
            .ok_or_else(|| format!("{what} {a:?}: bad prefix length"))?;
        let bits = u128::from(ip);
        let host_mask = u128::MAX.checked_shr(len).unwrap_or(0);
        if bits & host_mask != 0 {
            return Err(format!(
                "{what} {a}: address has bits set outside the prefix"
            ));
        }
        return Ok(Some(format!("{ip}/{len}")));
    }
    let ip: Ipv4Addr = a.parse().map_err(|_| {
        format!("{what} address {a:?} is not any, host, an address and mask, or an IPv6 prefix")
    })?;
    let m = t.next(&format!("{what} mask"))?;
    let mask: Ipv4Addr = m
        .parse()
        .map_err(|_| format!("{what} mask {m:?} is not a mask"))?;
    let len = prefix_len(u32::from(mask), masks).map_err(|e| format!("{what} mask {m}: {e}"))?;
    let host_bits = u32::MAX.checked_shr(len).unwrap_or(0);
    if u32::from(ip) & host_bits != 0 {
        return Err(format!(
            "{what} {ip} {m}: the address has bits set outside the mask"
        ));
    }
    Ok(if len == 0 {
        None
    } else {
        Some(format!("{ip}/{len}"))
    })
}

fn prefix_len(mask: u32, style: MaskStyle) -> Result<u32, String> {
    let net = match style {
        MaskStyle::Netmask => mask,
        MaskStyle::Wildcard => !mask,
    };
    let len = net.leading_ones();
    if net.checked_shl(len).unwrap_or(0) != 0 {
        let hint = match style {
            MaskStyle::Netmask if (!mask).leading_ones() + mask.trailing_ones() == 32 => {
                " (it looks like an IOS wildcard mask; the ASA takes a netmask)"
            }
            _ => "",
        };
        return Err(format!("not a contiguous mask{hint}"));
    }
    Ok(len)
}

fn ports(t: &mut Tokens<'_>, allowed: bool) -> Result<Option<String>, String> {
    let Some(op) = t.peek() else {
        return Ok(None);
    };
    let op = op.to_ascii_lowercase();
    if !matches!(
        op.as_str(),
        "eq" | "range" | "lt" | "gt" | "neq" | "object-group"
    ) {
        return Ok(None);
    }
    if !allowed {
        return Err(format!("ports ({op}) are only allowed with tcp or udp"));
    }
    t.at += 1;
    let out = match op.as_str() {
        "eq" => port_number(t.next("port")?)?.to_string(),
        "range" => {
            let a = port_number(t.next("first port of the range")?)?;
            let b = port_number(t.next("last port of the range")?)?;
            if a > b {
                return Err(format!("port range {a} {b} runs backwards"));
            }
            format!("{a}-{b}")
        }
        "lt" => {
            let p = port_number(t.next("port")?)?;
            if p == 0 {
                return Err("lt 0 matches no port".into());
            }
            format!("0-{}", p - 1)
        }
        "gt" => {
            let p = port_number(t.next("port")?)?;
            if p == u16::MAX {
                return Err("gt 65535 matches no port".into());
            }
            format!("{}-65535", p + 1)
        }
        "neq" => {
            return Err(
                "neq cannot be translated: a Tether entry matches one port or one range; split it into two entries"
                    .into(),
            );
        }
        _ => {
            return Err(format!(
                "port object-group {} cannot be translated: Tether has no objects",
                t.peek().unwrap_or("")
            ));
        }
    };
    Ok(Some(out))
}

/// What may follow the destination: logging options (no meaning for Tether, accepted), and
/// everything else refused.
fn trailing(t: &mut Tokens<'_>, protocol: &Value) -> Result<(), String> {
    while let Some(word) = t.peek() {
        t.at += 1;
        match word.to_ascii_lowercase().as_str() {
            "log" | "log-input" => {
                // `log [level] [interval N] | log disable | log default`.
                while let Some(w) = t.peek() {
                    let lw = w.to_ascii_lowercase();
                    let is_level = lw.parse::<u8>().is_ok_and(|l| l <= 7)
                        || [
                            "emergencies",
                            "alerts",
                            "critical",
                            "errors",
                            "warnings",
                            "notifications",
                            "informational",
                            "debugging",
                            "disable",
                            "default",
                        ]
                        .contains(&lw.as_str());
                    if is_level {
                        t.at += 1;
                    } else if lw == "interval" {
                        t.at += 2;
                    } else {
                        break;
                    }
                }
            }
            "inactive" => {
                return Err("inactive entries cannot be translated (Tether has no inactive flag); remove the line or the keyword".into());
            }
            "time-range" => {
                return Err(
                    "time-range cannot be translated: Tether entries are always active".into(),
                );
            }
            "established" => {
                return Err("established cannot be translated: Tether entries match on addresses, protocol and ports only".into());
            }
            other if protocol.as_str().is_some_and(|p| p.starts_with("icmp")) => {
                return Err(format!(
                    "ICMP type {other:?} cannot be translated: Tether entries match ICMP as a whole"
                ));
            }
            other => return Err(format!("unexpected {other:?} after the destination")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ace(line: &str, masks: MaskStyle) -> Result<Value, String> {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        parse(&tokens, masks).map(|a| serde_json::to_value(a.config(10, None).unwrap()).unwrap())
    }

    #[test]
    fn translates_asa_entries() {
        use MaskStyle::Netmask as N;
        let cases: Vec<(&str, Value)> = vec![
            (
                "permit tcp 198.18.1.0 255.255.255.0 198.19.1.0 255.255.255.0 log disable",
                json!({"sequence": 10, "action": "permit", "protocol": "tcp",
                       "source-prefix": "198.18.1.0/24", "destination-prefix": "198.19.1.0/24"}),
            ),
            (
                "deny ip any any",
                json!({"sequence": 10, "action": "deny", "protocol": "ip"}),
            ),
            (
                "permit tcp host 198.18.0.1 any4 eq https",
                json!({"sequence": 10, "action": "permit", "protocol": "tcp",
                       "source-prefix": "198.18.0.1/32", "destination-port": "443"}),
            ),
            (
                "permit udp any range 1024 65535 198.19.0.0 255.255.0.0 eq domain log 6 interval 300",
                json!({"sequence": 10, "action": "permit", "protocol": "udp",
                       "source-port": "1024-65535", "destination-prefix": "198.19.0.0/16",
                       "destination-port": "53"}),
            ),
            (
                "permit tcp any any lt 1024",
                json!({"sequence": 10, "action": "permit", "protocol": "tcp",
                       "destination-port": "0-1023"}),
            ),
            (
                "permit tcp any gt 1023 any",
                json!({"sequence": 10, "action": "permit", "protocol": "tcp",
                       "source-port": "1024-65535"}),
            ),
            (
                "permit icmp any any",
                json!({"sequence": 10, "action": "permit", "protocol": "icmp"}),
            ),
            (
                "permit gre host 198.18.0.1 host 198.19.0.1",
                json!({"sequence": 10, "action": "permit", "protocol": 47,
                       "source-prefix": "198.18.0.1/32", "destination-prefix": "198.19.0.1/32"}),
            ),
            (
                "permit 6 any any eq 22",
                json!({"sequence": 10, "action": "permit", "protocol": "tcp",
                       "destination-port": "22"}),
            ),
            (
                "permit tcp 2001:db8::/32 host 2001:db8:1::1 eq www",
                json!({"sequence": 10, "action": "permit", "protocol": "tcp",
                       "source-prefix": "2001:db8::/32", "destination-prefix": "2001:db8:1::1/128",
                       "destination-port": "80"}),
            ),
            (
                "permit ip 0.0.0.0 0.0.0.0 any",
                json!({"sequence": 10, "action": "permit", "protocol": "ip"}),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                ace(line, N).unwrap_or_else(|e| panic!("{line}: {e}")),
                want,
                "{line}"
            );
        }
    }

    #[test]
    fn translates_ios_wildcard_masks() {
        assert_eq!(
            ace(
                "permit tcp 198.18.1.0 0.0.0.255 198.19.0.0 0.0.255.255 eq 443",
                MaskStyle::Wildcard
            )
            .unwrap(),
            json!({"sequence": 10, "action": "permit", "protocol": "tcp",
                   "source-prefix": "198.18.1.0/24", "destination-prefix": "198.19.0.0/16",
                   "destination-port": "443"})
        );
    }

    #[test]
    fn refuses_what_tether_cannot_express() {
        use MaskStyle::Netmask as N;
        let cases = [
            ("permit tcp log disable", "source address"),
            ("allow tcp any any", "expected permit or deny"),
            ("permit tcp object-group Sites any", "Tether has no objects"),
            ("permit tcp object SiteA any", "Tether has no objects"),
            (
                "permit tcp interface outside any",
                "Tether has no objects or interface addresses",
            ),
            ("permit object-group svc any any", "Tether has no objects"),
            ("permit tcp any any neq 80", "neq cannot be translated"),
            ("permit tcp any any eq 80 inactive", "inactive"),
            ("permit tcp any any time-range work", "time-range"),
            ("permit icmp any any echo-reply", "ICMP type"),
            ("permit ip any any eq 80", "only allowed with tcp or udp"),
            ("permit tcp 198.18.1.0 0.0.0.255 any", "IOS wildcard mask"),
            (
                "permit tcp 198.18.1.5 255.255.255.0 any",
                "bits set outside the mask",
            ),
            (
                "permit tcp 198.18.1.0 255.0.255.0 any",
                "not a contiguous mask",
            ),
            ("permit tcp any any eq bogus", "not a port number"),
            ("permit tcp any any range 90 80", "runs backwards"),
            ("permit tcp 198.18.1.0/24 any", "not an IPv6 prefix"),
            (
                "permit tcp host 198.18.0.1 host 2001:db8::1",
                "different address families",
            ),
            ("permit foo any any", "unknown protocol"),
            ("permit tcp any any extra", "unexpected"),
            ("permit tcp any", "destination address"),
        ];
        for (line, why) in cases {
            let e = ace(line, N).unwrap_err();
            assert!(e.contains(why), "{line}: {e:?} should say {why:?}");
        }
    }
}
