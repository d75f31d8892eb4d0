//! The `tether.sim.v1.Simulator` gRPC service over Tether's in-process dataplane.
//!
//! What it is for: letting tests, demos and generic gRPC clients (grpcurl, through the daemon's
//! server reflection) replay traffic through a [`SimDataplane`]: inject one packet and get the
//! verdict, the reason and the connection entry it built or hit; list the connection table; read and
//! advance the simulated clock. `tetherd --dataplane sim` mounts [`service`] on the gNMI port.
//!
//! What it is not for: interfaces and carriers. Those are config, created and cut through gNMI
//! (`/interfaces/interface/simulation`), so this service never creates or changes an interface.
//!
//! Mapping onto the wire (`proto/tether/sim/v1/simulator.proto`):
//! - reasons are [`tether_dataplane::VerdictReason::as_str`] (`established`, `new-syn`,
//!   `new-flow`, `bypass`, `acl-deny`, `no-connection`, `interface-down`, ...);
//! - connection states: an embryonic TCP entry is `syn-sent`, a FIN seen from one side is
//!   `fin-wait`, an open bypass entry is `bypass`, any other open entry `established`, and the
//!   snapshot of a packet that tore its entry down `closed`;
//! - `idle_ns` is the simulated time since the entry's last packet and `timeout_ns` the timeout in
//!   force (the embryonic timeout until the SYN-ACK, then the class's or the protocol's idle one);
//! - times (`now_ns`, `created_ns`) are on the dataplane's clock, in ns since the Unix epoch (the
//!   simulated clock starts at the wall clock, then runs at real time or, with `tetherd
//!   --sim-clock manual`, stands still; `AdvanceClock` jumps it ahead in either mode).
//!
//! Invalid input (an address that does not parse, mixed address families, a protocol above 255,
//! a port above 65535, an interface that does not exist) is refused with `InvalidArgument` and a
//! message that starts with the offending field's name; nothing reaches the dataplane.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tether_dataplane::{
    ConnectionEntry, ConnectionState, Dataplane, DataplaneError, InjectResult, Packet,
    SimDataplane, TcpFlags, Verdict,
};
use tether_proto::sim;
use tether_proto::sim::simulator_server::{Simulator, SimulatorServer};
use tonic::{Request, Response, Status};

/// Called after every `AdvanceClock`, once the clock has moved and expired connections are gone.
/// The daemon passes a closure calling `WorkerHandle::clock_advanced`, so that the worker reacts
/// to the new time (LST up-delay, counters) at once instead of at its next poll.
pub type ClockCallback = Arc<dyn Fn() + Send + Sync>;

/// The tonic service for `tether.sim.v1.Simulator` over `sim`; `on_clock` runs after each
/// `AdvanceClock`. Add it to a `tonic::transport::Server` (with the reflection service for
/// [`tether_proto::FILE_DESCRIPTOR_SET`] so generic clients can discover it).
pub fn service(
    sim: Arc<SimDataplane>,
    on_clock: ClockCallback,
) -> SimulatorServer<SimulatorService> {
    SimulatorServer::new(SimulatorService::new(sim, on_clock))
}

/// The implementation of [`Simulator`]; see [`service`].
#[derive(Clone)]
pub struct SimulatorService {
    sim: Arc<SimDataplane>,
    on_clock: ClockCallback,
}

impl SimulatorService {
    pub fn new(sim: Arc<SimDataplane>, on_clock: ClockCallback) -> Self {
        Self { sim, on_clock }
    }
}

impl std::fmt::Debug for SimulatorService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorService")
            .field("sim", &self.sim)
            .finish_non_exhaustive()
    }
}

#[tonic::async_trait]
impl Simulator for SimulatorService {
    async fn inject_packet(
        &self,
        request: Request<sim::InjectPacketRequest>,
    ) -> Result<Response<sim::InjectPacketResponse>, Status> {
        let packet = packet_from_request(request.get_ref())?;
        // The dataplane would drop a packet on an unknown interface; the RPC refuses it instead,
        // since a misspelt name is a caller's mistake and not traffic to account.
        if let Err(e) = self.sim.interface(&packet.ingress_interface) {
            return Err(match e {
                DataplaneError::UnknownInterface(name) => Status::invalid_argument(format!(
                    "ingress_interface: no interface named {name:?} (create it with a gNMI Set on \
                     /interfaces/interface[name={name}]/simulation)"
                )),
                other => internal(other),
            });
        }
        // One short critical section (a hash lookup and a classifier probe): no need to leave the
        // async worker thread for it.
        let result = self.sim.inject(&packet);
        let now = self.sim.now_ns();
        tracing::debug!(
            interface = %packet.ingress_interface,
            src = %packet.src,
            dst = %packet.dst,
            protocol = packet.protocol,
            verdict = ?result.verdict,
            reason = result.reason.as_str(),
            "sim packet injected"
        );
        Ok(Response::new(inject_response(&result, now)))
    }

    async fn list_connections(
        &self,
        request: Request<sim::ListConnectionsRequest>,
    ) -> Result<Response<sim::ListConnectionsResponse>, Status> {
        let bypass_only = request.get_ref().bypass_only;
        let sim = self.sim.clone();
        // Copies the whole table: off the async threads, it may hold many thousands of entries.
        let (entries, usage, now) = tokio::task::spawn_blocking(move || {
            let entries = sim.connections(bypass_only);
            let usage = sim.connection_usage();
            // Read after the table so that a concurrent clock step can only make idle times larger.
            (entries, usage, sim.now_ns())
        })
        .await
        .map_err(internal)?;
        let entries = entries.map_err(internal)?;
        let connections = entries.iter().map(|e| connection(e, now)).collect();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Ok(Response::new(sim::ListConnectionsResponse {
            connections,
            in_use: count(usage.0),
            most_used: count(usage.1),
        }))
    }

    async fn advance_clock(
        &self,
        request: Request<sim::AdvanceClockRequest>,
    ) -> Result<Response<sim::AdvanceClockResponse>, Status> {
        let by = Duration::from_nanos(request.get_ref().nanoseconds);
        let sim = self.sim.clone();
        // Expiry scans the whole connection table.
        let now_ns = tokio::task::spawn_blocking(move || sim.advance(by))
            .await
            .map_err(internal)?;
        (self.on_clock)();
        tracing::debug!(
            by_ns = request.get_ref().nanoseconds,
            now_ns,
            "sim clock advanced"
        );
        Ok(Response::new(sim::AdvanceClockResponse { now_ns }))
    }

    async fn get_clock(
        &self,
        _request: Request<sim::GetClockRequest>,
    ) -> Result<Response<sim::GetClockResponse>, Status> {
        Ok(Response::new(sim::GetClockResponse {
            now_ns: self.sim.now_ns(),
        }))
    }
}

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(format!("simulator: {e}"))
}

/// The dataplane packet an `InjectPacket` request describes, or `InvalidArgument` naming the field.
/// Does not check that the interface exists (that needs the dataplane).
fn packet_from_request(r: &sim::InjectPacketRequest) -> Result<Packet, Status> {
    if r.ingress_interface.is_empty() {
        return Err(Status::invalid_argument(
            "ingress_interface: required (the name of a simulated interface)",
        ));
    }
    let src = address("source_address", &r.source_address)?;
    let dst = address("destination_address", &r.destination_address)?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(Status::invalid_argument(format!(
            "destination_address: {dst} is not of the same address family as source_address {src}"
        )));
    }
    let protocol = u8::try_from(r.protocol).map_err(|_| {
        Status::invalid_argument(format!(
            "protocol: {} is not an IP protocol number (0..255)",
            r.protocol
        ))
    })?;
    let src_port = port("source_port", r.source_port)?;
    let dst_port = port("destination_port", r.destination_port)?;
    let tcp_flags = r.tcp_flags.map(tcp_flags).unwrap_or_default();
    Ok(Packet {
        ingress_interface: r.ingress_interface.clone(),
        src,
        dst,
        protocol,
        src_port,
        dst_port,
        tcp_flags,
        length: r.length,
    })
}

fn address(field: &str, text: &str) -> Result<IpAddr, Status> {
    text.trim().parse().map_err(|_| {
        Status::invalid_argument(format!(
            "{field}: {text:?} is not an IPv4 or IPv6 address (e.g. \"198.18.0.10\" or \"2001:db8::1\")"
        ))
    })
}

fn port(field: &str, value: u32) -> Result<u16, Status> {
    u16::try_from(value).map_err(|_| {
        Status::invalid_argument(format!("{field}: {value} is not a port number (0..65535)"))
    })
}

fn tcp_flags(f: sim::TcpFlags) -> TcpFlags {
    TcpFlags {
        syn: f.syn,
        ack: f.ack,
        fin: f.fin,
        rst: f.rst,
        psh: f.psh,
        urg: f.urg,
    }
}

/// The wire form of an inject result; `now_ns` is the dataplane's time after the packet.
fn inject_response(r: &InjectResult, now_ns: u64) -> sim::InjectPacketResponse {
    let verdict = match r.verdict {
        Verdict::Pass => sim::Verdict::Pass,
        Verdict::Drop => sim::Verdict::Drop,
    };
    sim::InjectPacketResponse {
        verdict: verdict.into(),
        reason: r.reason.as_str().to_string(),
        connection: r.connection.as_ref().map(|c| connection(c, now_ns)),
        policy: r.policy.as_deref().unwrap_or_default().to_string(),
        class: r.class.as_deref().unwrap_or_default().to_string(),
    }
}

/// The wire form of a connection entry at time `now_ns`.
fn connection(e: &ConnectionEntry, now_ns: u64) -> sim::Connection {
    sim::Connection {
        protocol: u32::from(e.protocol),
        source_address: e.originator.ip().to_string(),
        source_port: u32::from(e.originator.port()),
        destination_address: e.responder.ip().to_string(),
        destination_port: u32::from(e.responder.port()),
        ingress_interface: e.ingress_interface.to_string(),
        bypass: e.bypass,
        state: state_name(e).to_string(),
        idle_ns: now_ns.saturating_sub(e.last_seen_ns),
        timeout_ns: u64::try_from(e.current_timeout().as_nanos()).unwrap_or(u64::MAX),
        packets: e.packets,
        bytes: e.bytes,
        policy: e.policy.as_deref().unwrap_or_default().to_string(),
        class: e.class.as_deref().unwrap_or_default().to_string(),
        created_ns: e.built_ns,
    }
}

/// The `state` string of a connection entry (see the crate docs).
fn state_name(e: &ConnectionEntry) -> &'static str {
    match e.state {
        ConnectionState::Embryonic => "syn-sent",
        ConnectionState::Established if e.bypass => "bypass",
        ConnectionState::Established => "established",
        ConnectionState::Closing => "fin-wait",
        ConnectionState::Closed => "closed",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn request() -> sim::InjectPacketRequest {
        sim::InjectPacketRequest {
            ingress_interface: "Inside".into(),
            source_address: "198.18.0.10".into(),
            destination_address: "198.19.0.10".into(),
            protocol: 6,
            source_port: 40000,
            destination_port: 443,
            tcp_flags: Some(sim::TcpFlags {
                syn: true,
                ..Default::default()
            }),
            length: 60,
        }
    }

    #[test]
    fn a_valid_request_maps_field_by_field() {
        let p = packet_from_request(&request()).unwrap();
        assert_eq!(p.ingress_interface, "Inside");
        assert_eq!(p.src, "198.18.0.10".parse::<IpAddr>().unwrap());
        assert_eq!(p.dst, "198.19.0.10".parse::<IpAddr>().unwrap());
        assert_eq!(
            (p.protocol, p.src_port, p.dst_port, p.length),
            (6, 40000, 443, 60)
        );
        assert_eq!(p.tcp_flags, TcpFlags::SYN);
        let mut r = request();
        r.tcp_flags = None;
        r.source_address = "2001:db8::1".into();
        r.destination_address = "2001:db8::2".into();
        let p = packet_from_request(&r).unwrap();
        assert_eq!(p.tcp_flags, TcpFlags::default());
        assert!(p.src.is_ipv6());
    }

    #[test]
    fn invalid_fields_are_named() {
        type Edit = fn(&mut sim::InjectPacketRequest);
        let cases: &[(Edit, &str)] = &[
            (|r| r.ingress_interface.clear(), "ingress_interface"),
            (
                |r| r.source_address = "198.18.0.256".into(),
                "source_address",
            ),
            (|r| r.source_address.clear(), "source_address"),
            (
                |r| r.destination_address = "inside".into(),
                "destination_address",
            ),
            (
                |r| r.destination_address = "2001:db8::1".into(),
                "destination_address",
            ),
            (|r| r.protocol = 256, "protocol"),
            (|r| r.source_port = 65536, "source_port"),
            (|r| r.destination_port = u32::MAX, "destination_port"),
        ];
        for (edit, field) in cases {
            let mut r = request();
            edit(&mut r);
            let e = packet_from_request(&r).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "{field}");
            assert!(
                e.message().starts_with(&format!("{field}: ")),
                "{field}: {}",
                e.message()
            );
        }
        let mut r = request();
        (r.protocol, r.source_port, r.destination_port) = (255, 65535, 0);
        assert!(packet_from_request(&r).is_ok());
    }
}
