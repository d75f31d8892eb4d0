//! The Simulator service over real gRPC (tonic on an ephemeral loopback port): the reference TCP
//! state bypass scenario, the clock callback, and argument validation.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tether_dataplane::{
    AccessList, AclAction, AclEntry, BypassProgram, Dataplane, IPPROTO_TCP, Policy, PolicyClass,
    PortRange, SimClock, SimDataplane,
};
use tether_proto::sim;
use tether_proto::sim::simulator_client::SimulatorClient;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;

const T0: u64 = 1_700_000_000_000_000_000;
const MIN_NS: u64 = 60_000_000_000;

struct Harness {
    sim: Arc<SimDataplane>,
    client: SimulatorClient<Channel>,
    clock_calls: Arc<AtomicUsize>,
}

async fn start(interfaces: &[&str]) -> Harness {
    let sim = Arc::new(SimDataplane::with_clock(SimClock::starting_at(T0)));
    for i in interfaces {
        sim.create_interface(i).unwrap();
    }
    let clock_calls = Arc::new(AtomicUsize::new(0));
    let calls = clock_calls.clone();
    let svc = tether_simulator::service(
        sim.clone(),
        Arc::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let client = SimulatorClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    Harness {
        sim,
        client,
        clock_calls,
    }
}

fn permit(sequence: u32, src: &str, dst: &str) -> AclEntry {
    AclEntry {
        sequence,
        action: AclAction::Permit,
        protocol: Some(IPPROTO_TCP),
        source: src.parse().unwrap(),
        destination: dst.parse().unwrap(),
        source_ports: PortRange::ANY,
        destination_ports: PortRange::ANY,
    }
}

/// The reference configuration: access-list StatelessTraffic between the site (198.18.0.0/24) and
/// the data centre (198.19.0.0/24), class tcp_bypass, Inside-policy and MPLS-policy with
/// tcp-state-bypass and a 15-minute idle timeout, applied on Inside and MPLS.
fn reference_program() -> BypassProgram {
    let class = PolicyClass {
        name: "tcp_bypass".into(),
        access_list: "StatelessTraffic".into(),
        tcp_state_bypass: true,
        idle_timeout: Duration::from_secs(15 * 60),
        limits: Default::default(),
        mode: Default::default(),
        trigger: None,
        armed: true,
    };
    BypassProgram {
        access_lists: [(
            "StatelessTraffic".to_string(),
            AccessList {
                entries: vec![
                    permit(10, "198.18.0.0/24", "198.19.0.0/24"),
                    permit(20, "198.19.0.0/24", "198.18.0.0/24"),
                ],
            },
        )]
        .into(),
        policies: [
            (
                "Inside-policy".to_string(),
                Policy {
                    classes: vec![class.clone()],
                },
            ),
            (
                "MPLS-policy".to_string(),
                Policy {
                    classes: vec![class],
                },
            ),
        ]
        .into(),
        service_policies: [
            ("Inside".to_string(), "Inside-policy".to_string()),
            ("MPLS".to_string(), "MPLS-policy".to_string()),
        ]
        .into(),
        global_policy: None,
    }
}

fn tcp(
    ingress: &str,
    src: (&str, u32),
    dst: (&str, u32),
    flags: sim::TcpFlags,
) -> sim::InjectPacketRequest {
    sim::InjectPacketRequest {
        ingress_interface: ingress.into(),
        source_address: src.0.into(),
        destination_address: dst.0.into(),
        protocol: 6,
        source_port: src.1,
        destination_port: dst.1,
        tcp_flags: Some(flags),
        length: 100,
    }
}

fn syn() -> sim::TcpFlags {
    sim::TcpFlags {
        syn: true,
        ..Default::default()
    }
}

fn ack() -> sim::TcpFlags {
    sim::TcpFlags {
        ack: true,
        ..Default::default()
    }
}

async fn inject(
    client: &mut SimulatorClient<Channel>,
    r: sim::InjectPacketRequest,
) -> sim::InjectPacketResponse {
    client.inject_packet(r).await.unwrap().into_inner()
}

async fn list(client: &mut SimulatorClient<Channel>, bypass_only: bool) -> Vec<sim::Connection> {
    client
        .list_connections(sim::ListConnectionsRequest { bypass_only })
        .await
        .unwrap()
        .into_inner()
        .connections
}

async fn advance(client: &mut SimulatorClient<Channel>, ns: u64) -> u64 {
    client
        .advance_clock(sim::AdvanceClockRequest { nanoseconds: ns })
        .await
        .unwrap()
        .into_inner()
        .now_ns
}

#[tokio::test]
async fn reference_bypass_scenario() {
    let Harness {
        sim,
        mut client,
        clock_calls,
    } = start(&["Inside", "MPLS"]).await;
    let c = &mut client;
    let site = ("198.18.0.10", 40000);
    let dc = ("198.19.0.10", 443);

    // Before any bypass config: the fibre path opens a connection with a SYN on Inside (a normal,
    // embryonic entry); ACK-only segments of a connection this firewall never saw are dropped.
    let r = inject(c, tcp("Inside", site, dc, syn())).await;
    assert_eq!(
        (r.verdict(), r.reason.as_str()),
        (sim::Verdict::Pass, "new-syn")
    );
    let conn = r.connection.unwrap();
    assert_eq!(
        (
            conn.state.as_str(),
            conn.bypass,
            conn.source_address.as_str(),
            conn.source_port,
            conn.destination_address.as_str(),
            conn.destination_port,
            conn.ingress_interface.as_str(),
            conn.protocol,
        ),
        (
            "syn-sent",
            false,
            "198.18.0.10",
            40000,
            "198.19.0.10",
            443,
            "Inside",
            6
        )
    );
    assert_eq!((conn.packets, conn.bytes, conn.idle_ns), (1, 100, 0));
    assert_eq!(
        conn.timeout_ns, 30_000_000_000,
        "embryonic timeout until the SYN-ACK"
    );
    assert_eq!(conn.created_ns, T0);
    assert_eq!((r.policy.as_str(), r.class.as_str()), ("", ""));

    // The fibre is cut; the same site's traffic to another DC host comes back over MPLS mid-flow.
    let mid_flow = tcp("MPLS", ("198.19.0.20", 443), ("198.18.0.20", 50000), ack());
    let r = inject(c, mid_flow.clone()).await;
    assert_eq!(
        (r.verdict(), r.reason.as_str()),
        (sim::Verdict::Drop, "no-connection")
    );
    assert!(r.connection.is_none());

    // With the service-policies installed, the ACK-only segment on MPLS is bypassed.
    sim.install_bypass(&reference_program()).unwrap();
    let r = inject(c, mid_flow.clone()).await;
    assert_eq!(
        (r.verdict(), r.reason.as_str()),
        (sim::Verdict::Pass, "bypass")
    );
    assert_eq!(
        (r.policy.as_str(), r.class.as_str()),
        ("MPLS-policy", "tcp_bypass")
    );
    let conn = r.connection.unwrap();
    assert_eq!(
        (
            conn.state.as_str(),
            conn.bypass,
            conn.ingress_interface.as_str()
        ),
        ("bypass", true, "MPLS")
    );
    assert_eq!(
        (conn.policy.as_str(), conn.class.as_str()),
        ("MPLS-policy", "tcp_bypass")
    );
    assert_eq!(conn.timeout_ns, 15 * MIN_NS);
    // Its reply, leaving the data centre on Inside, matches the bypass entry.
    let reply = tcp(
        "Inside",
        ("198.18.0.20", 50000),
        ("198.19.0.20", 443),
        ack(),
    );
    let r = inject(c, reply).await;
    assert_eq!(
        (r.verdict(), r.reason.as_str()),
        (sim::Verdict::Pass, "established")
    );
    assert_eq!(r.connection.unwrap().packets, 2);

    // Traffic outside the access-list gets no bypass.
    let outside = tcp("MPLS", ("198.19.1.5", 443), ("198.18.0.20", 50001), ack());
    let r = inject(c, outside).await;
    assert_eq!(
        (r.verdict(), r.reason.as_str()),
        (sim::Verdict::Drop, "no-connection")
    );
    let r = inject(
        c,
        tcp("MPLS", ("198.19.0.20", 443), ("198.18.0.20", 50000), ack()),
    )
    .await;
    assert_eq!(
        r.verdict(),
        sim::Verdict::Pass,
        "the bypass entry is unaffected"
    );

    // The table: the embryonic entry and the bypass entry (kept by the install: its class still
    // builds it).
    let all = list(c, false).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let bypass = list(c, true).await;
    assert_eq!(bypass.len(), 1);
    assert_eq!(
        (
            bypass[0].source_address.as_str(),
            bypass[0].packets,
            bypass[0].bytes
        ),
        ("198.19.0.20", 3, 300)
    );

    // 15 idle minutes, less one nanosecond: the embryonic entry is long gone, the bypass one stays.
    assert_eq!(clock_calls.load(Ordering::SeqCst), 0);
    let now = advance(c, 15 * MIN_NS - 1).await;
    assert_eq!(now, T0 + 15 * MIN_NS - 1);
    assert_eq!(
        clock_calls.load(Ordering::SeqCst),
        1,
        "AdvanceClock wakes the worker"
    );
    let left = list(c, false).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].bypass);
    assert_eq!(left[0].idle_ns, 15 * MIN_NS - 1);
    assert_eq!(left[0].timeout_ns, 15 * MIN_NS);

    // The last nanosecond: expired exactly at the idle timeout.
    assert_eq!(advance(c, 1).await, T0 + 15 * MIN_NS);
    assert_eq!(clock_calls.load(Ordering::SeqCst), 2);
    assert!(list(c, false).await.is_empty());
    let clock = c
        .get_clock(sim::GetClockRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(clock.now_ns, T0 + 15 * MIN_NS);
    assert_eq!(sim.now_ns(), T0 + 15 * MIN_NS);

    // Counters show one bypass connection built and torn down for idleness.
    let counters = sim.bypass_counters().unwrap();
    let mpls = counters
        .classes
        .iter()
        .find(|k| k.policy == "MPLS-policy" && k.class == "tcp_bypass")
        .unwrap();
    assert_eq!(
        (mpls.bypass_built, mpls.bypass_current, mpls.torn_down_idle),
        (1, 0, 1)
    );
}

#[tokio::test]
async fn other_protocols_ipv6_and_down_interfaces() {
    let Harness {
        sim, mut client, ..
    } = start(&["Inside", "Outside"]).await;
    let c = &mut client;
    let udp = sim::InjectPacketRequest {
        ingress_interface: "Inside".into(),
        source_address: "2001:db8:0:0::10".into(),
        destination_address: "2001:db8::20".into(),
        protocol: 17,
        source_port: 5353,
        destination_port: 53,
        tcp_flags: None,
        length: 80,
    };
    let r = inject(c, udp.clone()).await;
    assert_eq!(
        (r.verdict(), r.reason.as_str()),
        (sim::Verdict::Pass, "new-flow")
    );
    let conn = r.connection.unwrap();
    assert_eq!(
        (
            conn.state.as_str(),
            conn.source_address.as_str(),
            conn.protocol
        ),
        ("established", "2001:db8::10", 17)
    );
    assert_eq!(conn.timeout_ns, 120_000_000_000);

    sim.set_carrier("Outside", false).unwrap();
    let mut down = udp;
    down.ingress_interface = "Outside".into();
    let r = inject(c, down).await;
    assert_eq!(
        (r.verdict(), r.reason.as_str()),
        (sim::Verdict::Drop, "interface-down")
    );
}

#[tokio::test]
async fn invalid_requests_name_the_field() {
    let Harness {
        sim, mut client, ..
    } = start(&["Inside"]).await;
    let c = &mut client;
    let good = tcp(
        "Inside",
        ("198.18.0.10", 40000),
        ("198.19.0.10", 443),
        syn(),
    );
    type Edit = fn(&mut sim::InjectPacketRequest);
    let cases: &[(Edit, &str)] = &[
        (
            |r| r.ingress_interface = "Nowhere".into(),
            "ingress_interface",
        ),
        (|r| r.ingress_interface.clear(), "ingress_interface"),
        (|r| r.source_address = "198.18.0".into(), "source_address"),
        (
            |r| r.destination_address = "2001:db8::1".into(),
            "destination_address",
        ),
        (|r| r.protocol = 256, "protocol"),
        (|r| r.source_port = 70000, "source_port"),
        (|r| r.destination_port = 65536, "destination_port"),
    ];
    for (edit, field) in cases {
        let mut r = good.clone();
        edit(&mut r);
        let e = c.inject_packet(r).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{field}: {e:?}");
        assert!(e.message().starts_with(field), "{field}: {}", e.message());
    }
    // Nothing reached the dataplane.
    assert!(sim.connections(false).unwrap().is_empty());
    assert_eq!(sim.interface("Inside").unwrap().counters.in_packets, 0);
}
