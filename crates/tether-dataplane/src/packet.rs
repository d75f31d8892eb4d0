//! Packets injected into the simulator and the verdicts it returns.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::conntrack::ConnectionEntry;

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;

/// A packet as the firewall sees it: the 5-tuple, TCP flags and size, and where it came in.
///
/// For protocols without ports the ports should be 0 (they take part in the connection key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    pub ingress_interface: String,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub src_port: u16,
    pub dst_port: u16,
    /// Ignored unless `protocol` is TCP.
    pub tcp_flags: TcpFlags,
    /// Bytes on the wire, for counters.
    pub length: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub urg: bool,
}

impl TcpFlags {
    pub const SYN: TcpFlags = TcpFlags {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
        psh: false,
        urg: false,
    };
    pub const SYN_ACK: TcpFlags = TcpFlags {
        syn: true,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
        urg: false,
    };
    pub const ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
        urg: false,
    };
    pub const FIN_ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: true,
        rst: false,
        psh: false,
        urg: false,
    };
    pub const RST: TcpFlags = TcpFlags {
        syn: false,
        ack: false,
        fin: false,
        rst: true,
        psh: false,
        urg: false,
    };

    /// Whether the packet may open a new stateful connection: SYN without ACK, FIN or RST — the
    /// same test as the Linux dataplane's `tcp flags & (syn|ack|fin|rst) == syn`.
    pub fn is_initial_syn(&self) -> bool {
        self.syn && !self.ack && !self.fin && !self.rst
    }
}

impl Packet {
    /// A TCP packet, the common case in tests and demos.
    pub fn tcp(ingress: &str, src: (IpAddr, u16), dst: (IpAddr, u16), flags: TcpFlags) -> Self {
        Self {
            ingress_interface: ingress.to_string(),
            src: src.0,
            dst: dst.0,
            protocol: IPPROTO_TCP,
            src_port: src.1,
            dst_port: dst.1,
            tcp_flags: flags,
            length: 64,
        }
    }

    /// The same packet travelling the other way (ports and addresses swapped), entering at `ingress`.
    pub fn reply(&self, ingress: &str, flags: TcpFlags) -> Self {
        Self {
            ingress_interface: ingress.to_string(),
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            tcp_flags: flags,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Drop,
}

/// Why a packet passed or was dropped; `as_str` gives the stable names shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum VerdictReason {
    /// Matched an existing connection entry (normal or bypass).
    Established,
    /// A TCP SYN built a new stateful connection.
    NewSyn,
    /// A non-TCP packet built a new connection (UDP, ICMP, other protocols).
    NewFlow,
    /// A tcp-state-bypass class matched: a bypass entry was built without any TCP state check.
    Bypass,
    /// A `syn-check` bypass class matched a TCP packet that is not a SYN: an ordinary entry
    /// was built without the SYN check (Junos `no-syn-check`).
    NoSynCheck,
    /// A `stateless` bypass class matched: passed on its access-list alone, no entry built.
    Stateless,
    /// The class already has `conn-max` connections.
    ConnLimit,
    /// The class already has `embryonic-conn-max` embryonic connections.
    EmbryonicLimit,
    /// The access-list of a bypass class denied the packet (first match was `deny`).
    AclDeny,
    /// A TCP packet that is not an initial SYN and has no connection entry.
    NoConnection,
    /// The ingress interface is not operationally up.
    InterfaceDown,
    /// The ingress interface does not exist.
    UnknownInterface,
}

impl VerdictReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            VerdictReason::Established => "established",
            VerdictReason::NewSyn => "new-syn",
            VerdictReason::NewFlow => "new-flow",
            VerdictReason::Bypass => "bypass",
            VerdictReason::NoSynCheck => "no-syn-check",
            VerdictReason::Stateless => "stateless",
            VerdictReason::ConnLimit => "conn-limit",
            VerdictReason::EmbryonicLimit => "embryonic-limit",
            VerdictReason::AclDeny => "acl-deny",
            VerdictReason::NoConnection => "no-connection",
            VerdictReason::InterfaceDown => "interface-down",
            VerdictReason::UnknownInterface => "unknown-interface",
        }
    }
}

impl std::fmt::Display for VerdictReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the simulated firewall did with one packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectResult {
    pub verdict: Verdict,
    pub reason: VerdictReason,
    /// The policy and class that classified the packet (for a packet of an existing connection: the
    /// class the connection was built by, if any).
    pub policy: Option<Arc<str>>,
    pub class: Option<Arc<str>>,
    /// The connection entry after this packet (also when the packet closed it), if there is one.
    pub connection: Option<ConnectionEntry>,
}

impl InjectResult {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}
