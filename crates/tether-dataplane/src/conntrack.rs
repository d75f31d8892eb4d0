//! Connection entries: the stateful firewall's table rows, their TCP state and timeouts.
//!
//! The state machine is deliberately the ASA's coarse one, not a full TCP tracker: SYN opens an
//! embryonic entry, the SYN-ACK establishes it, RST or a FIN from each side closes it, and a
//! bypass entry ignores all of that and lives until its idle timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::packet::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Packet, TcpFlags};
use crate::prefix::to_bits;

/// ASA default `timeout conn`: idle timeout of a TCP connection no class configures.
pub const DEFAULT_TCP_IDLE: Duration = Duration::from_secs(3600);
/// ASA default `timeout embryonic`: how long a TCP entry may wait for the SYN-ACK.
pub const EMBRYONIC_TIMEOUT: Duration = Duration::from_secs(30);
/// ASA default `timeout udp`.
pub const DEFAULT_UDP_IDLE: Duration = Duration::from_secs(120);
/// ASA default `timeout icmp`.
pub const DEFAULT_ICMP_IDLE: Duration = Duration::from_secs(2);
/// Other IP protocols are tracked like UDP (the simulator keeps no per-protocol state for them).
pub const DEFAULT_OTHER_IDLE: Duration = DEFAULT_UDP_IDLE;

fn default_embryonic() -> Duration {
    EMBRYONIC_TIMEOUT
}

/// The idle timeout of a connection no class configures.
pub fn default_idle_timeout(protocol: u8) -> Duration {
    match protocol {
        IPPROTO_TCP => DEFAULT_TCP_IDLE,
        IPPROTO_UDP => DEFAULT_UDP_IDLE,
        IPPROTO_ICMP | IPPROTO_ICMPV6 => DEFAULT_ICMP_IDLE,
        _ => DEFAULT_OTHER_IDLE,
    }
}

/// One row of the connection table, as reported to users (`show conn`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionEntry {
    /// Unique for the dataplane's lifetime, so a closed-and-reopened 5-tuple is a different entry.
    pub id: u64,
    pub protocol: u8,
    /// Sender of the packet that built the entry.
    pub originator: SocketAddr,
    pub responder: SocketAddr,
    /// Interface the first packet came in on.
    pub ingress_interface: Arc<str>,
    /// Built by a tcp-state-bypass class (the ASA's `b` flag): no TCP state checks, idle timeout only.
    pub bypass: bool,
    /// The policy and class that built the entry, if one matched.
    pub policy: Option<Arc<str>>,
    pub class: Option<Arc<str>>,
    pub state: ConnectionState,
    /// The idle timeout once established (the class's or the protocol default).
    pub idle_timeout: Duration,
    /// How long it may stay embryonic (the class's, else [`EMBRYONIC_TIMEOUT`], at most the
    /// idle timeout).
    #[serde(default = "default_embryonic")]
    pub embryonic_timeout: Duration,
    /// How long it may stay half-closed (the class's; `None`: the idle timeout).
    #[serde(default)]
    pub half_closed_timeout: Option<Duration>,
    pub built_ns: u64,
    pub last_seen_ns: u64,
    /// When the entry expires if no packet comes: `last_seen_ns` + the timeout in force (the
    /// embryonic timeout until the SYN-ACK is seen).
    pub expires_ns: u64,
    pub packets: u64,
    pub bytes: u64,
    pub fin_from_originator: bool,
    pub fin_from_responder: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionState {
    /// TCP: SYN seen, waiting for the SYN-ACK (embryonic timeout applies).
    Embryonic,
    /// Open: TCP after the SYN-ACK; any bypass, UDP or ICMP entry.
    Established,
    /// TCP: a FIN has been seen from one side.
    Closing,
    /// Torn down; only appears in snapshots of the packet or event that closed the entry.
    Closed,
}

/// Why an entry left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeardownReason {
    /// No packet for the idle (or embryonic) timeout.
    Idle,
    /// RST, or a FIN from both sides (never for bypass entries).
    FinRst,
    /// Removed by a program install because its class no longer builds bypass entries.
    Flushed,
}

impl TeardownReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            TeardownReason::Idle => "idle",
            TeardownReason::FinRst => "fin-rst",
            TeardownReason::Flushed => "flushed",
        }
    }
}

impl ConnectionEntry {
    /// The timeout currently in force.
    pub fn current_timeout(&self) -> Duration {
        match self.state {
            ConnectionState::Embryonic => self.embryonic_timeout,
            ConnectionState::Closing => self.half_closed_timeout.unwrap_or(self.idle_timeout),
            _ => self.idle_timeout,
        }
    }

    /// Expired once a full timeout has passed since the last packet: at exactly `timeout`, not before.
    pub fn is_expired(&self, now_ns: u64) -> bool {
        now_ns >= self.expires_ns
    }

    pub(crate) fn refresh_expiry(&mut self) {
        self.expires_ns = self
            .last_seen_ns
            .saturating_add(duration_ns(self.current_timeout()));
    }

    /// Records one packet of this connection; returns `Some(FinRst)` when it closes the entry.
    ///
    /// Bypass entries never close on FIN/RST (ASA: "all TCP sessions remain in the state table until
    /// the idle timeout is reached"); their flags are still recorded for display.
    pub(crate) fn account(
        &mut self,
        from_originator: bool,
        packet: &Packet,
        now_ns: u64,
    ) -> Option<TeardownReason> {
        self.packets += 1;
        self.bytes += u64::from(packet.length);
        self.last_seen_ns = now_ns;
        let closed = if self.protocol == IPPROTO_TCP {
            self.track_tcp(from_originator, packet.tcp_flags)
        } else {
            false
        };
        if closed {
            self.state = ConnectionState::Closed;
        }
        self.refresh_expiry();
        closed.then_some(TeardownReason::FinRst)
    }

    fn track_tcp(&mut self, from_originator: bool, flags: TcpFlags) -> bool {
        if flags.fin {
            if from_originator {
                self.fin_from_originator = true
            } else {
                self.fin_from_responder = true
            }
        }
        if self.bypass {
            return false;
        }
        if flags.rst {
            return true;
        }
        if self.state == ConnectionState::Embryonic && !from_originator && flags.syn && flags.ack {
            self.state = ConnectionState::Established;
        }
        if self.fin_from_originator && self.fin_from_responder {
            return true;
        }
        if (self.fin_from_originator || self.fin_from_responder)
            && self.state != ConnectionState::Embryonic
        {
            self.state = ConnectionState::Closing;
        }
        false
    }
}

pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The connection table's key: the 5-tuple with its two endpoints in a fixed order, so a packet and
/// its reply find the same entry. Addresses as integers (IPv4 in the low bits, with the family flag
/// keeping `::a.b.c.d` apart from `a.b.c.d`) keep hashing cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FlowKey {
    protocol: u8,
    v6: bool,
    low: (u128, u16),
    high: (u128, u16),
}

impl FlowKey {
    /// The key and whether the packet travels low → high (used to tell originator from responder).
    pub(crate) fn of(packet: &Packet) -> Self {
        let a = (to_bits(packet.src), packet.src_port);
        let b = (to_bits(packet.dst), packet.dst_port);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            protocol: packet.protocol,
            v6: packet.src.is_ipv6(),
            low,
            high,
        }
    }
}

/// Whether `packet` was sent by the entry's originator.
pub(crate) fn from_originator(entry: &ConnectionEntry, packet: &Packet) -> bool {
    entry.originator == SocketAddr::new(packet.src, packet.src_port)
}

pub(crate) fn socket(addr: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(addr, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bypass: bool) -> ConnectionEntry {
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.19.0.1".parse().unwrap();
        let mut e = ConnectionEntry {
            id: 1,
            protocol: IPPROTO_TCP,
            originator: socket(a, 40000),
            responder: socket(b, 443),
            ingress_interface: Arc::from("inside"),
            bypass,
            policy: None,
            class: None,
            state: if bypass {
                ConnectionState::Established
            } else {
                ConnectionState::Embryonic
            },
            idle_timeout: DEFAULT_TCP_IDLE,
            embryonic_timeout: EMBRYONIC_TIMEOUT,
            half_closed_timeout: None,
            built_ns: 0,
            last_seen_ns: 0,
            expires_ns: 0,
            packets: 0,
            bytes: 0,
            fin_from_originator: false,
            fin_from_responder: false,
        };
        e.refresh_expiry();
        e
    }

    fn pkt(from_originator: bool, flags: TcpFlags) -> Packet {
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.19.0.1".parse().unwrap();
        let p = Packet::tcp("inside", (a, 40000), (b, 443), flags);
        if from_originator {
            p
        } else {
            p.reply("outside", flags)
        }
    }

    /// (bypass, packets as (from originator, flags), whether the last one closes, final state)
    type Case<'a> = (bool, &'a [(bool, TcpFlags)], bool, ConnectionState);

    #[test]
    fn fin_rst_close_normal_but_not_bypass_entries() {
        use ConnectionState::*;
        let cases: &[Case] = &[
            (false, &[(false, TcpFlags::SYN_ACK)], false, Established),
            (false, &[(true, TcpFlags::ACK)], false, Embryonic),
            (
                false,
                &[(false, TcpFlags::SYN_ACK), (true, TcpFlags::FIN_ACK)],
                false,
                Closing,
            ),
            (
                false,
                &[
                    (false, TcpFlags::SYN_ACK),
                    (true, TcpFlags::FIN_ACK),
                    (false, TcpFlags::FIN_ACK),
                ],
                true,
                Closed,
            ),
            (
                false,
                &[(false, TcpFlags::SYN_ACK), (true, TcpFlags::RST)],
                true,
                Closed,
            ),
            (false, &[(false, TcpFlags::RST)], true, Closed),
            (true, &[(true, TcpFlags::RST)], false, Established),
            (
                true,
                &[(true, TcpFlags::FIN_ACK), (false, TcpFlags::FIN_ACK)],
                false,
                Established,
            ),
        ];
        for (i, (bypass, packets, want_closed, want_state)) in cases.iter().enumerate() {
            let mut e = entry(*bypass);
            let mut closed = None;
            for (from, flags) in packets.iter() {
                closed = e.account(*from, &pkt(*from, *flags), 1);
            }
            assert_eq!(closed.is_some(), *want_closed, "case {i}");
            assert_eq!(e.state, *want_state, "case {i}");
        }
    }

    #[test]
    fn embryonic_timeout_until_syn_ack() {
        let mut e = entry(false);
        assert_eq!(e.expires_ns, duration_ns(EMBRYONIC_TIMEOUT));
        e.account(false, &pkt(false, TcpFlags::SYN_ACK), 10);
        assert_eq!(e.expires_ns, 10 + duration_ns(DEFAULT_TCP_IDLE));
        assert!(!e.is_expired(9 + duration_ns(DEFAULT_TCP_IDLE)));
        assert!(e.is_expired(10 + duration_ns(DEFAULT_TCP_IDLE)));
    }

    #[test]
    fn flow_key_is_direction_free() {
        let p = pkt(true, TcpFlags::SYN);
        assert_eq!(
            FlowKey::of(&p),
            FlowKey::of(&p.reply("x", TcpFlags::SYN_ACK))
        );
        let v4 = Packet::tcp(
            "i",
            ("1.2.3.4".parse().unwrap(), 1),
            ("5.6.7.8".parse().unwrap(), 2),
            TcpFlags::SYN,
        );
        let v6 = Packet::tcp(
            "i",
            ("::1.2.3.4".parse().unwrap(), 1),
            ("::5.6.7.8".parse().unwrap(), 2),
            TcpFlags::SYN,
        );
        assert_ne!(FlowKey::of(&v4), FlowKey::of(&v6));
    }
}
