//! The embedded default's clock runs at real time: an LST up-delay ends and a bypass entry's idle
//! timeout passes with nobody stepping the clock, `last-change` moves with the wall clock, and
//! AdvanceClock still jumps ahead. (Every other suite runs `--sim-clock manual`.)

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{Encoding, GetRequest};
use tether_proto::sim::simulator_client::SimulatorClient;
use tether_proto::sim::{
    AdvanceClockRequest, GetClockRequest, InjectPacketRequest, ListConnectionsRequest, TcpFlags,
};
use tonic::transport::Channel;

/// Get of one path with type STATE: the JSON value of its single update.
async fn get_state(c: &mut GNmiClient<Channel>, p: &str) -> Result<Value, tonic::Status> {
    let r = c
        .get(GetRequest {
            path: vec![path(p)],
            r#type: 2,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await?
        .into_inner();
    let n = r.notification.into_iter().next().expect("one notification");
    Ok(value_of(&n.update[0]))
}

async fn leaf(c: &mut GNmiClient<Channel>, p: &str) -> String {
    match get_state(c, p).await {
        Ok(Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(e) => format!("<{}>", e.code()),
    }
}

async fn wait_leaf(c: &mut GNmiClient<Channel>, p: &str, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let v = leaf(c, p).await;
        if v == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{p} is {v}, wanted {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn up_delay_ends_on_real_time_without_a_clock_step() {
    let d = Daemon::start_with(&["--sim-clock", "real"]);
    let mut c = d.client().await;
    sim_interfaces(&mut c, &["up1", "down1"]).await;
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]",
        json!({"config": {"id": 1, "up-delay": 2},
               "upstream": {"interfaces": {"interface": [{"name": "up1", "config": {"name": "up1"}}]}},
               "downstream": {"interfaces": {"interface": [{"name": "down1", "config": {"name": "down1"}}]}}}),
    )
    .await
    .unwrap();
    let status = "/link-state/groups/group[id=1]/state/status";
    let member = "/link-state/groups/group[id=1]/downstream/interfaces/interface[name=down1]/state/oper-status";
    wait_leaf(&mut c, status, "up", Duration::from_secs(10)).await;
    let first_change = leaf(
        &mut c,
        "/interfaces/interface[name=down1]/state/last-change",
    )
    .await;

    let carrier = "/interfaces/interface[name=up1]/simulation/config/carrier";
    set_update(&mut c, carrier, json!(false)).await.unwrap();
    wait_leaf(&mut c, member, "disabled", Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    set_update(&mut c, carrier, json!(true)).await.unwrap();
    // The delay runs on real time: still disabled at once, enabled about 2 s later by itself.
    let restored = Instant::now();
    assert_eq!(leaf(&mut c, member).await, "disabled");
    wait_leaf(&mut c, member, "up", Duration::from_secs(10)).await;
    let waited = restored.elapsed();
    eprintln!("up-delay 2 s ended after {waited:?} of real time");
    assert!(
        waited >= Duration::from_millis(1900),
        "ended early: {waited:?}"
    );
    let last_change = leaf(
        &mut c,
        "/interfaces/interface[name=down1]/state/last-change",
    )
    .await;
    // RFC 3339 text of the same format sorts in time order.
    assert!(
        last_change > first_change,
        "{last_change} after {first_change}"
    );
}

#[tokio::test]
async fn idle_timeout_passes_on_real_time_and_advance_clock_jumps() {
    let d = Daemon::start_with(&["--sim-clock", "real"]);
    let mut c = d.client().await;
    sim_interfaces(&mut c, &["Inside"]).await;
    set_update(
        &mut c,
        "/tether-conntrack-bypass:bypass",
        json!({
            "access-lists": {"access-list": [{"name": "a", "config": {"name": "a"},
                "entries": {"entry": [{"sequence": 10, "config": {"sequence": 10, "action": "permit",
                    "protocol": "tcp", "source-prefix": "198.18.1.0/24", "destination-prefix": "198.19.1.0/24"}}]}}]},
            "classes": {"class": [{"name": "c", "config": {"name": "c", "match-access-list": "a"}}]},
            "policies": {"policy": [{"name": "p", "config": {"name": "p"}, "classes": {"class": [
                {"name": "c", "config": {"name": "c", "tcp-state-bypass": true, "idle-timeout": 1}}]}}]},
            "service-policies": {"service-policy": [{"interface": "Inside", "config": {"interface": "Inside", "policy": "p"}}]}
        }),
    )
    .await
    .unwrap();
    let mut sim = SimulatorClient::connect(format!("http://{}", d.addr))
        .await
        .unwrap();
    let mid_flow = InjectPacketRequest {
        ingress_interface: "Inside".into(),
        source_address: "198.18.1.10".into(),
        destination_address: "198.19.1.20".into(),
        protocol: 6,
        source_port: 40000,
        destination_port: 443,
        tcp_flags: Some(TcpFlags {
            ack: true,
            ..Default::default()
        }),
        length: 100,
    };
    let bypassed = || async {
        let mut sim = SimulatorClient::connect(format!("http://{}", d.addr))
            .await
            .unwrap();
        sim.list_connections(ListConnectionsRequest { bypass_only: true })
            .await
            .unwrap()
            .into_inner()
            .connections
            .len()
    };
    // Wait for the worker to install the program: the mid-flow packet is bypassed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim
        .inject_packet(mid_flow.clone())
        .await
        .unwrap()
        .into_inner()
        .reason
        != "bypass"
    {
        assert!(Instant::now() < deadline, "program never installed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(bypassed().await, 1);
    let t0 = sim
        .get_clock(GetClockRequest {})
        .await
        .unwrap()
        .into_inner()
        .now_ns;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        bypassed().await,
        0,
        "idle timeout of 1 s passed on real time"
    );
    let t1 = sim
        .get_clock(GetClockRequest {})
        .await
        .unwrap()
        .into_inner()
        .now_ns;
    assert!(t1 - t0 >= 1_300_000_000, "the clock ran: {} ns", t1 - t0);
    let torn = "/bypass/policies/policy[name=p]/classes/class[name=c]/state";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = get_state(&mut c, torn).await.unwrap();
        let idle = s
            .get("torn-down-idle")
            .or_else(|| s.get("tether-conntrack-bypass:torn-down-idle"))
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            });
        if idle.as_deref() == Some("1") {
            break;
        }
        assert!(Instant::now() < deadline, "no idle teardown in {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // AdvanceClock on real time jumps ahead of the running clock.
    assert_eq!(
        sim.inject_packet(mid_flow.clone())
            .await
            .unwrap()
            .into_inner()
            .reason,
        "bypass"
    );
    let before = sim
        .get_clock(GetClockRequest {})
        .await
        .unwrap()
        .into_inner()
        .now_ns;
    let after = sim
        .advance_clock(AdvanceClockRequest {
            nanoseconds: 3_600_000_000_000,
        })
        .await
        .unwrap()
        .into_inner()
        .now_ns;
    assert!(after >= before + 3_600_000_000_000);
    assert_eq!(bypassed().await, 0, "the jump expired the entry");
}
