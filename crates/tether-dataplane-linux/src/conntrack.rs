//! Reading and deleting the conntrack entries Tether's classes built (tagged by `ct mark`).

use std::net::IpAddr;

use crate::cmd::Kernel;
use crate::error::LinuxError;
use crate::render::{ID_MASK, TAG_BYPASS, TAG_MASK, TAGS_MASK};

/// One conntrack entry carrying a Tether mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtEntry {
    pub protocol: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// Seconds left before it expires.
    pub timeout_secs: u64,
    pub state: Option<String>,
    pub mark: u32,
    /// conntrack's id (`-o id`), 0 when unknown.
    pub id: u64,
    pub packets: u64,
    pub bytes: u64,
    pub seen_reply: bool,
}

impl CtEntry {
    pub fn bypass(&self) -> bool {
        self.mark & TAG_MASK == TAG_BYPASS
    }
    pub fn class_id(&self) -> u32 {
        self.mark & ID_MASK
    }
}

/// Parses one line of `conntrack -L` or `/proc/net/nf_conntrack`.
pub fn parse_line(line: &str) -> Option<CtEntry> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut i = 0;
    if tokens.first().is_some_and(|t| t.starts_with("ipv")) {
        i = 2;
    }
    let protocol: u8 = tokens.get(i + 1)?.parse().ok()?;
    let timeout_secs: u64 = tokens.get(i + 2)?.parse().ok()?;
    let state = tokens
        .get(i + 3)
        .filter(|t| !t.contains('=') && !t.starts_with('['))
        .map(|s| s.to_string());
    let (mut src, mut dst, mut sport, mut dport) = (None, None, None, None);
    let (mut mark, mut id, mut packets, mut bytes) = (0u32, 0u64, 0u64, 0u64);
    let mut seen_reply = false;
    for t in &tokens[i + 3..] {
        if *t == "[UNREPLIED]" {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        match k {
            "src" if src.is_none() => src = v.parse().ok(),
            "src" => seen_reply = true,
            "dst" if dst.is_none() => dst = v.parse().ok(),
            "sport" if sport.is_none() => sport = v.parse().ok(),
            "dport" if dport.is_none() => dport = v.parse().ok(),
            "mark" => mark = v.parse().ok()?,
            "id" => id = v.parse().unwrap_or(0),
            "packets" => packets += v.parse::<u64>().unwrap_or(0),
            "bytes" => bytes += v.parse::<u64>().unwrap_or(0),
            _ => {}
        }
    }
    // "src" appears twice in every entry (original and reply tuple); seen-reply is the flag.
    seen_reply = seen_reply && !line.contains("[UNREPLIED]");
    Some(CtEntry {
        protocol,
        src: src?,
        dst: dst?,
        sport: sport.unwrap_or(0),
        dport: dport.unwrap_or(0),
        timeout_secs,
        state,
        mark,
        id,
        packets,
        bytes,
        seen_reply,
    })
}

/// Every entry with a Tether tag: one read of `/proc/net/nf_conntrack` (both families; one
/// process in a namespace), else `conntrack -L` filtered by mark in the kernel.
pub fn list_tagged(tools: &dyn Kernel) -> Result<Vec<CtEntry>, LinuxError> {
    let tagged = |e: &CtEntry| e.mark & TAGS_MASK == TAG_BYPASS & TAGS_MASK;
    if let Some(text) = tools.conntrack_proc() {
        // /proc has no conntrack ids: use a stable stand-in from the tuple.
        return Ok(text
            .lines()
            // Cheap pre-filter: tagged marks are 2113929216..=2147483647 in decimal.
            .filter(|l| l.contains("mark=21"))
            .filter_map(parse_line)
            .filter(tagged)
            .map(|mut e| {
                e.id = tuple_id(&e);
                e
            })
            .collect());
    }
    let mark = format!("{:#x}/{:#x}", TAG_BYPASS & TAGS_MASK, TAGS_MASK);
    let mut out = Vec::new();
    for family in ["ipv4", "ipv6"] {
        let text = match tools.conntrack(&["-L", "-f", family, "-o", "id", "--mark", &mark]) {
            Ok(t) => t,
            // conntrack exits non-zero on an empty table in some versions.
            Err(LinuxError::Command { stderr, .. }) if stderr.contains("0 flow entries") => {
                String::new()
            }
            Err(e) => return Err(e),
        };
        out.extend(text.lines().filter_map(parse_line).filter(tagged));
    }
    Ok(out)
}

/// A stable id from the original tuple (FNV-1a), for sources without conntrack ids.
fn tuple_id(e: &CtEntry) -> u64 {
    let key = format!("{} {} {} {} {}", e.protocol, e.src, e.dst, e.sport, e.dport);
    tether_syntax::fnv::fnv1a(key.as_bytes()) >> 1
}

/// Deletes one entry (by its original tuple and mark); a vanished entry is not an error.
pub fn delete(tools: &dyn Kernel, e: &CtEntry) -> Result<(), LinuxError> {
    let family = if e.src.is_ipv6() { "ipv6" } else { "ipv4" };
    let (proto, src, dst, sport, dport, mark) = (
        e.protocol.to_string(),
        e.src.to_string(),
        e.dst.to_string(),
        e.sport.to_string(),
        e.dport.to_string(),
        e.mark.to_string(),
    );
    let mut args = vec!["-D", "-f", family, "-p", &proto, "-s", &src, "-d", &dst];
    if matches!(e.protocol, 6 | 17) {
        args.extend(["--sport", &sport, "--dport", &dport]);
    }
    args.extend(["--mark", &mark]);
    match tools.conntrack(&args) {
        Ok(_) => Ok(()),
        Err(LinuxError::Command { stderr, .. }) if stderr.contains("0 flow entries") => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conntrack_and_proc_lines() {
        let cases = [
            (
                "tcp      6 899 ESTABLISHED src=198.18.0.2 dst=198.19.0.2 sport=40000 dport=5001 src=198.19.0.2 dst=198.18.0.2 sport=5001 dport=40000 [ASSURED] mark=2113929217 use=1 id=1234",
                (6, "198.18.0.2", 40000, 899, 0x7e00_0001, 1234, true),
            ),
            (
                "ipv4     2 tcp      6 299 ESTABLISHED src=198.19.0.2 dst=198.18.0.2 sport=5001 dport=40000 [UNREPLIED] src=198.18.0.2 dst=198.19.0.2 sport=40000 dport=5001 mark=2113929217 zone=0 use=2",
                (6, "198.19.0.2", 5001, 299, 0x7e00_0001, 0, false),
            ),
            (
                "ipv6     10 udp      17 29 src=2001:db8::1 dst=2001:db8::2 sport=5353 dport=53 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 sport=53 dport=5353 mark=0 zone=0 use=2",
                (17, "2001:db8::1", 5353, 29, 0, 0, false),
            ),
        ];
        for (line, (proto, src, sport, timeout, mark, id, reply)) in cases {
            let e = parse_line(line).unwrap();
            assert_eq!(
                (
                    e.protocol,
                    e.src,
                    e.sport,
                    e.timeout_secs,
                    e.mark,
                    e.id,
                    e.seen_reply
                ),
                (proto, src.parse().unwrap(), sport, timeout, mark, id, reply),
                "{line}"
            );
        }
        assert!(
            parse_line("conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.")
                .is_none()
        );
    }
}
