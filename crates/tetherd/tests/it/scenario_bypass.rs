//! The reference TCP-state-bypass scenario end to end against a real tetherd on the
//! in-process dataplane: configuration through gNMI only, packets and the clock through the
//! `tether.sim.v1.Simulator` service on the same port.
//!
//! A site (198.18.1.0/24) talks to the data centre (198.19.1.0/24) over fibre, a path the
//! firewall never sees. The fibre is cut; the site's segments of the already established
//! connection now arrive on the firewall's MPLS interface as ACK-only packets, and the data
//! centre's replies enter on Inside.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{Encoding, GetRequest};
use tether_proto::sim::simulator_client::SimulatorClient;
use tether_proto::sim::{
    AdvanceClockRequest, InjectPacketRequest, ListConnectionsRequest, TcpFlags, Verdict,
};
use tonic::transport::Channel;

const SITE: &str = "198.18.1.10";
const DC: &str = "198.19.1.20";
const MIN: u64 = 60_000_000_000;

fn ack() -> TcpFlags {
    TcpFlags {
        ack: true,
        ..Default::default()
    }
}

fn packet(
    iface: &str,
    src: &str,
    sport: u32,
    dst: &str,
    dport: u32,
    flags: TcpFlags,
) -> InjectPacketRequest {
    InjectPacketRequest {
        ingress_interface: iface.into(),
        source_address: src.into(),
        destination_address: dst.into(),
        protocol: 6,
        source_port: sport,
        destination_port: dport,
        tcp_flags: Some(flags),
        length: 1200,
    }
}

async fn inject(sim: &mut SimulatorClient<Channel>, p: InjectPacketRequest) -> (Verdict, String) {
    let r = sim.inject_packet(p).await.unwrap().into_inner();
    (Verdict::try_from(r.verdict).unwrap(), r.reason)
}

async fn interfaces(c: &mut GNmiClient<Channel>) {
    sim_interfaces(c, &["Inside", "MPLS"]).await;
}

/// Waits until the worker has installed what the last Set asked for: probes with a packet
/// until the verdict is the expected one.
async fn until_verdict(
    sim: &mut SimulatorClient<Channel>,
    p: InjectPacketRequest,
    want: Verdict,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The worker creates simulated interfaces after the Set returns: until it has, the
        // simulator answers that the ingress interface does not exist.
        let (v, reason) = match sim.inject_packet(p.clone()).await {
            Ok(r) => {
                let r = r.into_inner();
                (Verdict::try_from(r.verdict).unwrap(), r.reason)
            }
            Err(s)
                if s.code() == tonic::Code::InvalidArgument
                    && s.message().contains("no interface named") =>
            {
                assert!(Instant::now() < deadline, "interface never created: {s:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Err(s) => panic!("InjectPacket: {s:?}"),
        };
        if v == want {
            return reason;
        }
        assert!(
            Instant::now() < deadline,
            "still {v:?} ({reason}), wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The class's state, or `Null` while the worker has not sampled its counters yet (they are
/// published on the sampling period and on clock steps, asynchronously to the RPCs).
async fn class_state(c: &mut GNmiClient<Channel>, policy: &str) -> Value {
    let r = c
        .get(GetRequest {
            path: vec![path(&format!(
                "/bypass/policies/policy[name={policy}]/classes/class[name=tcp_bypass]/state"
            ))],
            r#type: 2,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await;
    match r {
        Ok(r) => value_of(&r.into_inner().notification[0].update[0]),
        Err(s) if s.code() == tonic::Code::NotFound => Value::Null,
        Err(s) => panic!("class state: {s}"),
    }
}

fn counter(v: &Value, leaf: &str) -> u64 {
    let x = v
        .get(leaf)
        .or_else(|| v.get(format!("tether-conntrack-bypass:{leaf}")));
    match x {
        Some(Value::String(s)) => s.parse().unwrap(),
        Some(Value::Number(n)) => n.as_u64().unwrap(),
        other => panic!("{leaf}: {other:?} in {v}"),
    }
}

#[tokio::test]
async fn asymmetric_return_passes_only_with_the_bypass_policy_and_expires_when_idle() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut sim = d.simulator().await;
    interfaces(&mut c).await;

    // Control run: the access-list, class and policies exist, but no service-policy binds
    // them. The site's mid-connection ACK arriving on MPLS is dropped, as on a stateful
    // firewall that never saw the handshake.
    let mut scenario = scenario_bypass();
    let bindings = scenario
        .as_object_mut()
        .unwrap()
        .remove("service-policies")
        .expect("the scenario binds service-policies");
    set_update(&mut c, "/tether-conntrack-bypass:bypass", scenario)
        .await
        .unwrap();
    let mid_flow = packet("MPLS", SITE, 40000, DC, 443, ack());
    let (v, reason) = inject(&mut sim, mid_flow.clone()).await;
    assert_eq!((v, reason.as_str()), (Verdict::Drop, "no-connection"));

    // Bind Inside-policy and MPLS-policy: the same segment now passes, bypassing state.
    set_update(
        &mut c,
        "/tether-conntrack-bypass:bypass/service-policies",
        bindings,
    )
    .await
    .unwrap();
    let reason = until_verdict(&mut sim, mid_flow.clone(), Verdict::Pass).await;
    assert_eq!(reason, "bypass");
    // The data centre's reply enters on Inside and passes too.
    let (v, _) = inject(&mut sim, packet("Inside", DC, 443, SITE, 40000, ack())).await;
    assert_eq!(v, Verdict::Pass);
    // A FIN does not close a bypass entry (only the idle timeout does, as on the ASA).
    let fin = TcpFlags {
        fin: true,
        ack: true,
        ..Default::default()
    };
    assert_eq!(
        inject(&mut sim, packet("MPLS", SITE, 40000, DC, 443, fin))
            .await
            .0,
        Verdict::Pass
    );

    // Traffic the access-list does not select is still dropped.
    let (v, _) = inject(
        &mut sim,
        packet("MPLS", "198.18.2.10", 40001, DC, 443, ack()),
    )
    .await;
    assert_eq!(v, Verdict::Drop);

    let conns = sim
        .list_connections(ListConnectionsRequest { bypass_only: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(conns.connections.len(), 1, "{conns:?}");
    assert_eq!(conns.connections[0].timeout_ns, 15 * MIN);

    // 15 idle minutes later (simulated) the entry is gone, and the counters say why.
    sim.advance_clock(AdvanceClockRequest {
        nanoseconds: 15 * MIN - 1,
    })
    .await
    .unwrap();
    let conns = sim
        .list_connections(ListConnectionsRequest { bypass_only: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(conns.connections.len(), 1, "not a nanosecond early");
    sim.advance_clock(AdvanceClockRequest { nanoseconds: 1 })
        .await
        .unwrap();
    let conns = sim
        .list_connections(ListConnectionsRequest { bypass_only: true })
        .await
        .unwrap()
        .into_inner();
    assert!(conns.connections.is_empty(), "{conns:?}");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = class_state(&mut c, "MPLS-policy").await;
        if s.get("torn-down-idle").is_some() && counter(&s, "torn-down-idle") >= 1 {
            assert!(counter(&s, "bypass-connections-built") >= 1, "{s}");
            assert_eq!(counter(&s, "bypass-connections-current"), 0, "{s}");
            assert!(counter(&s, "matched-packets") >= 2, "{s}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counters never showed the teardown: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn up_delay_waits_exactly_five_simulated_seconds() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut sim = d.simulator().await;
    sim_interfaces(&mut c, &["Po11", "Gi1/1", "Gi1/2"]).await;
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]",
        json!({
            "config": {"id": 1, "up-delay": 5},
            "upstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}},
            "downstream": {"interfaces": {"interface": [
                {"name": "Gi1/1", "config": {"name": "Gi1/1"}}, {"name": "Gi1/2", "config": {"name": "Gi1/2"}}]}}
        }),
    )
    .await
    .unwrap();
    let probe = |iface: &str| {
        packet(
            iface,
            SITE,
            1,
            DC,
            2,
            TcpFlags {
                syn: true,
                ..Default::default()
            },
        )
    };
    until_verdict(&mut sim, probe("Gi1/1"), Verdict::Pass).await;

    let carrier = "/interfaces/interface[name=Po11]/simulation/config/carrier";
    set_update(&mut c, carrier, json!(false)).await.unwrap();
    assert_eq!(
        until_verdict(&mut sim, probe("Gi1/1"), Verdict::Drop).await,
        "interface-down"
    );
    set_update(&mut c, carrier, json!(true)).await.unwrap();

    // Po11 is back; the downstreams stay disabled for the up-delay of 5 simulated seconds.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inject(&mut sim, probe("Gi1/2")).await.0, Verdict::Drop);
    sim.advance_clock(AdvanceClockRequest {
        nanoseconds: 5_000_000_000 - 1,
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        inject(&mut sim, probe("Gi1/2")).await.0,
        Verdict::Drop,
        "1 ns early"
    );
    sim.advance_clock(AdvanceClockRequest { nanoseconds: 1 })
        .await
        .unwrap();
    until_verdict(&mut sim, probe("Gi1/2"), Verdict::Pass).await;
}

#[tokio::test]
async fn bypass_modes_set_over_gnmi_change_the_simulated_verdicts() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut sim = d.simulator().await;
    interfaces(&mut c).await;
    set_update(&mut c, "/tether-conntrack-bypass:bypass", scenario_bypass())
        .await
        .unwrap();
    let mode = "/tether-conntrack-bypass:bypass/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]/config/bypass-mode";
    let mut port = 41000;
    for (m, reason) in [
        ("stateless", "stateless"),
        ("syn-check", "no-syn-check"),
        ("full", "bypass"),
    ] {
        set_update(&mut c, mode, json!(m)).await.unwrap();
        // A fresh flow per probe, until the worker has installed the new mode.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            port += 1;
            let (v, got) = inject(&mut sim, packet("MPLS", SITE, port, DC, 443, ack())).await;
            if got == reason {
                assert_eq!(v, Verdict::Pass, "{m}");
                break;
            }
            assert!(Instant::now() < deadline, "{m}: still {got}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let e = set_update(&mut c, mode, json!("loose")).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
}

#[tokio::test]
async fn conn_max_refuses_over_gnmi_and_counts_and_zero_is_refused() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut sim = d.simulator().await;
    interfaces(&mut c).await;
    let mut b = scenario_bypass();
    for p in b["policies"]["policy"].as_array_mut().unwrap() {
        let cfg = &mut p["classes"]["class"][0]["config"];
        cfg["tcp-state-bypass"] = json!(false);
        cfg["conn-max"] = json!(1);
        cfg["embryonic-conn-max"] = json!(1);
        cfg["half-closed-timeout"] = json!(30);
    }
    set_update(&mut c, "/tether-conntrack-bypass:bypass", b)
        .await
        .unwrap();
    let syn = |port| {
        packet(
            "MPLS",
            SITE,
            port,
            DC,
            443,
            TcpFlags {
                syn: true,
                ..Default::default()
            },
        )
    };
    // SYNs pass until the worker has installed the limit (a new flow each); once it has,
    // the class's first SYN builds its one connection and the next is refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut port = 42000;
    loop {
        port += 1;
        let (v, reason) = inject(&mut sim, syn(port)).await;
        if reason == "conn-limit" {
            assert_eq!(v, Verdict::Drop);
            break;
        }
        assert_eq!((v, reason.as_str()), (Verdict::Pass, "new-syn"));
        assert!(Instant::now() < deadline, "conn-max never enforced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loop {
        let s = class_state(&mut c, "MPLS-policy").await;
        if s.get("refused-conn-max").is_some() && counter(&s, "refused-conn-max") >= 1 {
            assert_eq!(counter(&s, "refused-embryonic-conn-max"), 0, "{s}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "refused-conn-max never counted: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cfg = "/tether-conntrack-bypass:bypass/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]/config";
    for leaf in ["conn-max", "embryonic-conn-max"] {
        let e = set_update(&mut c, &format!("{cfg}/{leaf}"), json!(0))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{leaf}: {e:?}");
        assert!(e.message().contains(leaf), "{leaf}: {}", e.message());
    }
}
