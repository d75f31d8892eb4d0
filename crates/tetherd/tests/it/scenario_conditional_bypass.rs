//! Conditional bypass (issue 20) end to end on the in-process dataplane: the reference
//! scenario's classes armed by a link-state group that tracks the fibre, so the firewall stays
//! stateful while the fibre is up and bypasses only while it is down (and for the hold time
//! after it returns). Configuration through gNMI, packets and the clock through the simulator,
//! the arming watched over a Subscribe STREAM.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{
    Encoding, GetRequest, SubscribeRequest, Subscription, SubscriptionList, SubscriptionMode,
    subscribe_request, subscribe_response, subscription_list,
};
use tether_proto::sim::simulator_client::SimulatorClient;
use tether_proto::sim::{AdvanceClockRequest, InjectPacketRequest, TcpFlags, Verdict};
use tonic::transport::Channel;
use tonic::{Code, Streaming};

const SITE: &str = "198.18.1.10";
const DC: &str = "198.19.1.20";
const SEC: u64 = 1_000_000_000;
const CLASS: &str = "/tether-conntrack-bypass:bypass/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]";
const FIBRE: &str = "/interfaces/interface[name=Fibre]/simulation/config/carrier";

fn ack(sport: u32) -> InjectPacketRequest {
    InjectPacketRequest {
        ingress_interface: "MPLS".into(),
        source_address: SITE.into(),
        destination_address: DC.into(),
        protocol: 6,
        source_port: sport,
        destination_port: 443,
        tcp_flags: Some(TcpFlags {
            ack: true,
            ..Default::default()
        }),
        length: 1200,
    }
}

async fn verdict(sim: &mut SimulatorClient<Channel>, p: InjectPacketRequest) -> (Verdict, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match sim.inject_packet(p.clone()).await {
            Ok(r) => {
                let r = r.into_inner();
                return (Verdict::try_from(r.verdict).unwrap(), r.reason);
            }
            Err(s) if s.message().contains("no interface named") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("InjectPacket: {s:?}"),
        }
    }
}

/// The class's arming leaves (STATE), or `Null` before the worker published them.
async fn arming(c: &mut GNmiClient<Channel>) -> Value {
    let r = c
        .get(GetRequest {
            path: vec![path(&format!("{CLASS}/state"))],
            r#type: 2,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await;
    match r {
        Ok(r) => normalize(value_of(&r.into_inner().notification[0].update[0])),
        Err(s) if s.code() == Code::NotFound => Value::Null,
        Err(s) => panic!("class state: {s}"),
    }
}

/// Polls the class state until `reason` is the armed-reason.
async fn until_reason(c: &mut GNmiClient<Channel>, reason: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = arming(c).await;
        if s.get("armed-reason") == Some(&json!(reason)) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "armed-reason never {reason}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next `bypass-armed` value on a STREAM ON_CHANGE subscription.
async fn next_armed(s: &mut Streaming<tether_proto::gnmi::SubscribeResponse>) -> bool {
    loop {
        let r = next(s).await;
        if let Some(subscribe_response::Response::Update(n)) = &r.response {
            for u in &n.update {
                if u.path.as_ref().unwrap().elem.last().unwrap().name == "bypass-armed" {
                    return value_of(u) == json!(true);
                }
            }
        }
    }
}

fn scenario() -> Value {
    let mut b = scenario_bypass();
    for p in b["policies"]["policy"].as_array_mut().unwrap() {
        let cfg = &mut p["classes"]["class"][0]["config"];
        cfg["trigger-link-state-group"] = json!(7);
        cfg["trigger-hold-time"] = json!(30);
    }
    b
}

#[tokio::test]
async fn bypass_is_armed_only_while_the_fibre_group_is_down_and_for_the_hold_after() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut sim = d.simulator().await;
    sim_interfaces(&mut c, &["Inside", "MPLS", "Fibre"]).await;
    set_update(
        &mut c,
        "/link-state/groups/group[id=7]",
        json!({"config": {"id": 7, "description": "the fibre"},
               "upstream": {"interfaces": {"interface": [{"name": "Fibre", "config": {"name": "Fibre"}}]}}}),
    )
    .await
    .unwrap();
    set_update(&mut c, "/tether-conntrack-bypass:bypass", scenario())
        .await
        .unwrap();

    // Fibre up: the class is disarmed and the firewall is stateful.
    let s = until_reason(&mut c, "trigger-up").await;
    assert_eq!(s["bypass-armed"], json!(false), "{s}");
    let (v, reason) = verdict(&mut sim, ack(40000)).await;
    assert_eq!((v, reason.as_str()), (Verdict::Drop, "no-connection"));

    let (_tx, mut stream) = open(
        &mut c,
        SubscribeRequest {
            request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
                subscription: vec![Subscription {
                    path: Some(path(&format!("{CLASS}/state/bypass-armed"))),
                    mode: SubscriptionMode::OnChange as i32,
                    ..Default::default()
                }],
                mode: subscription_list::Mode::Stream as i32,
                encoding: Encoding::JsonIetf as i32,
                ..Default::default()
            })),
            ..Default::default()
        },
    )
    .await;
    assert!(!next_armed(&mut stream).await, "initial value: disarmed");

    // Cut the fibre: the group goes down, the bypass arms, the flow passes over MPLS.
    set_update(&mut c, FIBRE, json!(false)).await.unwrap();
    assert!(next_armed(&mut stream).await, "streamed: armed");
    let s = until_reason(&mut c, "trigger-down").await;
    assert_eq!(s["arm-transitions"], json!("1"), "{s}");
    let (v, reason) = verdict(&mut sim, ack(40000)).await;
    assert_eq!((v, reason.as_str()), (Verdict::Pass, "bypass"));

    // Restore it: still armed for the 30 s hold, so flows still arriving over MPLS pass.
    set_update(&mut c, FIBRE, json!(true)).await.unwrap();
    let s = until_reason(&mut c, "hold-time").await;
    assert_eq!(s["bypass-armed"], json!(true), "{s}");
    assert!(s.get("hold-until").is_some(), "{s}");
    let (v, reason) = verdict(&mut sim, ack(40001)).await;
    assert_eq!(
        (v, reason.as_str()),
        (Verdict::Pass, "bypass"),
        "a new pickup during the hold"
    );
    sim.advance_clock(AdvanceClockRequest {
        nanoseconds: 30 * SEC - 1,
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        arming(&mut c).await["armed-reason"],
        json!("hold-time"),
        "1 ns early"
    );
    sim.advance_clock(AdvanceClockRequest { nanoseconds: 1 })
        .await
        .unwrap();
    assert!(!next_armed(&mut stream).await, "streamed: disarmed");
    let s = until_reason(&mut c, "trigger-up").await;
    assert_eq!(s["arm-transitions"], json!("2"), "{s}");
    assert!(s.get("hold-until").is_none(), "{s}");

    // New asymmetric flows are held to state again; the bypass connections built while armed
    // keep their entries (still checked against the access-list) until they end.
    let (v, reason) = verdict(&mut sim, ack(40002)).await;
    assert_eq!((v, reason.as_str()), (Verdict::Drop, "no-connection"));
    let (v, reason) = verdict(&mut sim, ack(40000)).await;
    assert_eq!((v, reason.as_str()), (Verdict::Pass, "established"));
}

#[tokio::test]
async fn bad_triggers_are_refused_with_the_path_and_change_nothing() {
    let d = Daemon::start();
    let mut c = d.client().await;
    set_update(&mut c, "/tether-conntrack-bypass:bypass", scenario())
        .await
        .unwrap();
    let before = get_value(&mut c, "/tether-conntrack-bypass:bypass")
        .await
        .unwrap();
    let cfg = format!("{CLASS}/config");
    for (leaf, value, fragment) in [
        ("trigger-interface", json!("Fibre"), "at most one trigger"),
        (
            "tcp-state-bypass",
            json!(false),
            "A trigger arms tcp-state-bypass",
        ),
        ("trigger-hold-time", json!(86401), "trigger-hold-time"),
        (
            "trigger-link-state-group",
            json!(0),
            "trigger-link-state-group",
        ),
        (
            "trigger-link-state-group",
            json!(4097),
            "trigger-link-state-group",
        ),
        ("trigger-interface", json!("bad name!"), "trigger-interface"),
    ] {
        let e = set_update(&mut c, &format!("{cfg}/{leaf}"), value.clone())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{leaf}={value}: {e:?}");
        assert!(
            e.message().contains(fragment),
            "{leaf}={value}: {}",
            e.message()
        );
        assert!(e.message().len() <= 1100, "{}", e.message());
    }
    let after = get_value(&mut c, "/tether-conntrack-bypass:bypass")
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_class_and_its_trigger_group_made_in_one_set_are_never_armed() {
    let d = Daemon::start();
    let mut c = d.client().await;
    sim_interfaces(&mut c, &["Inside", "MPLS", "Fibre"]).await;
    let group = json!({"group": [{"id": 7, "config": {"id": 7},
        "upstream": {"interfaces": {"interface": [{"name": "Fibre", "config": {"name": "Fibre"}}]}}}]});
    c.set(tether_proto::gnmi::SetRequest {
        update: vec![
            update("/tether-link-state:link-state/groups", group),
            update("/tether-conntrack-bypass:bypass", scenario()),
        ],
        ..Default::default()
    })
    .await
    .unwrap();
    let s = until_reason(&mut c, "trigger-up").await;
    assert_eq!(
        s["arm-transitions"],
        json!("0"),
        "never armed on the way: {s}"
    );
}
