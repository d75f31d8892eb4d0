//! The forwarding plane as Tether's worker sees it.
//!
//! This crate holds the [`Dataplane`] trait — interfaces and their events, Tether's disable
//! (protodown), installing a compiled [`BypassProgram`], reading bypass counters and connections —
//! and [`SimDataplane`], the in-process implementation used by `tetherd --dataplane sim`, by tests,
//! and by demos that replay the reference scenario (TCP state bypass on an asymmetric path, link
//! state tracking) packet by packet.
//!
//! What it is not: it knows nothing of YANG or the datastore. The worker compiles config into a
//! [`BypassProgram`] (plain data) and turns events into state; the Linux implementation (nft +
//! netlink) lives in `tether-dataplane-linux`, behind the same trait.

mod classifier;
mod clock;
mod conntrack;
mod counters;
mod dataplane;
mod delta;
mod error;
mod event;
mod hash;
mod interface;
mod packet;
mod prefix;
mod program;
mod sim;

pub use clock::{ClockMode, SimClock, wall_clock_ns};
pub use conntrack::{
    ConnectionEntry, ConnectionState, DEFAULT_ICMP_IDLE, DEFAULT_OTHER_IDLE, DEFAULT_TCP_IDLE,
    DEFAULT_UDP_IDLE, EMBRYONIC_TIMEOUT, TeardownReason, default_idle_timeout,
};
pub use counters::{AclEntryCounters, BypassCounters, ClassCounters};
pub use dataplane::{Dataplane, DataplaneKind, DisableMethod};
pub use delta::ProgramDelta;
pub use error::{DataplaneError, ProgramError};
pub use event::DataplaneEvent;
pub use interface::{InterfaceCounters, InterfaceStatus, OperStatus};
pub use packet::{
    IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, InjectResult, Packet, TcpFlags,
    Verdict, VerdictReason,
};
pub use prefix::{IpPrefix, PortRange};
pub use program::{
    AccessList, AclAction, AclEntry, BypassMode, BypassProgram, ClassLimits, Policy, PolicyClass,
    Trigger, TriggerSource,
};
pub use sim::{EVENT_CHANNEL_CAPACITY, SimDataplane};
