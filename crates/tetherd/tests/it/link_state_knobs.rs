//! The peers' link-state knobs end to end through gNMI on the in-process dataplane: a
//! percentage threshold with hysteresis, an upstream and a downstream shared by two groups,
//! `downstream-disable-links`, bad input refused with the path beside valid edits (nothing
//! changes), and a SIGKILL restart in the middle.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use crate::common::*;
use crate::scenario_link_state::{set_carrier, state};
use serde_json::{Value, json};
use tether_proto::gnmi::SetRequest;
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tonic::Code;
use tonic::transport::Channel;

const IFACES: [&str; 7] = ["u1", "u2", "u3", "u4", "d1", "d2", "d3"];

fn members(names: &[&str]) -> Value {
    let list: Vec<Value> = (names.iter())
        .map(|n| json!({"name": n, "config": {"name": n}}))
        .collect();
    json!({"interfaces": {"interface": list}})
}

/// Group 1: u1-u4 up, d1 down, down below 50 %, up at 75 %. Group 2: u1, u2 up (shared with
/// group 1), d1 (shared) and d2 down. Group 3: u3, u4 up, d2, d3 down, one downstream per
/// failed upstream.
async fn configure(c: &mut GNmiClient<Channel>) {
    sim_interfaces(c, &IFACES).await;
    let groups = json!({"group": [
        {"id": 1, "config": {"id": 1, "threshold-type": "percentage", "threshold-down": 50, "threshold-up": 75},
         "upstream": members(&["u1", "u2", "u3", "u4"]), "downstream": members(&["d1"])},
        {"id": 2, "config": {"id": 2},
         "upstream": members(&["u1", "u2"]), "downstream": members(&["d1", "d2"])},
        {"id": 3, "config": {"id": 3, "downstream-disable-links": 1},
         "upstream": members(&["u3", "u4"]), "downstream": members(&["d2", "d3"])},
    ]});
    set_update(c, "/link-state/groups", groups).await.unwrap();
}

/// (group 1, group 2, group 3 status; which of d1-d3 are disabled by Tether).
type Seen = (Vec<String>, Vec<bool>);

async fn seen(c: &mut GNmiClient<Channel>) -> Seen {
    let s = state(c, "/link-state/groups").await;
    let groups = (1..=3)
        .map(|id| {
            let key = format!("group[id={id}]/state/status");
            (s.iter().find(|(k, _)| k.ends_with(&key)))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    let mut disabled = Vec::new();
    for d in ["d1", "d2", "d3"] {
        let s = state(c, &format!("/interfaces/interface[name={d}]")).await;
        disabled.push(
            s.iter()
                .any(|(k, v)| k.ends_with("state/disabled-by") && v == "link-state-group"),
        );
    }
    (groups, disabled)
}

async fn wait_for(c: &mut GNmiClient<Channel>, groups: [&str; 3], disabled: [bool; 3], what: &str) {
    let want: Seen = (
        groups.iter().map(|s| s.to_string()).collect(),
        disabled.to_vec(),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = seen(c).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {got:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Set of a valid edit and a bad one: INVALID_ARGUMENT naming `fragment`, nothing changes.
async fn refused(c: &mut GNmiClient<Channel>, bad: Update, fragment: &str) {
    let before = whole_config(c).await;
    let r = c
        .set(SetRequest {
            update: vec![
                update(
                    "/link-state/groups/group[id=2]/config/description",
                    json!("must not stick"),
                ),
                bad,
            ],
            ..Default::default()
        })
        .await;
    let e = r.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{fragment}: {e:?}");
    assert!(
        e.message().contains(fragment),
        "{:?} should name {fragment}",
        e.message()
    );
    assert!(e.message().len() <= 1100, "capped message");
    assert_eq!(
        whole_config(c).await,
        before,
        "{fragment}: datastore unchanged"
    );
}

use tether_proto::gnmi::Update;

#[tokio::test]
async fn thresholds_shared_members_disable_links_bad_input_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    configure(&mut c).await;
    wait_for(&mut c, ["up", "up", "up"], [false, false, false], "all up").await;

    // Bad input, each beside a valid edit.
    let g1 = "/link-state/groups/group[id=1]/config";
    refused(
        &mut c,
        update(&format!("{g1}/threshold-up"), json!(101)),
        "threshold-up",
    )
    .await;
    refused(
        &mut c,
        update(&format!("{g1}/threshold-down"), json!(80)),
        "threshold-down",
    )
    .await;
    refused(
        &mut c,
        update(
            "/link-state/groups/group[id=3]/upstream/interfaces/interface[name=d1]",
            json!({"name": "d1", "config": {"name": "d1"}}),
        ),
        "d1",
    )
    .await;
    refused(
        &mut c,
        update(&format!("{g1}/threshold-down"), json!(0)),
        "threshold-down",
    )
    .await;
    refused(
        &mut c,
        update(
            "/link-state/groups/group[id=3]/config/downstream-disable-links",
            json!(0),
        ),
        "downstream-disable-links",
    )
    .await;

    // u1 down: group 1 at 75 %, group 2 still has u2.
    set_carrier(&mut c, "u1", false).await;
    wait_for(&mut c, ["up", "up", "up"], [false, false, false], "u1 down").await;
    // u3 down: group 1 at 50 % (not below), group 3 disables one downstream, d2.
    set_carrier(&mut c, "u3", false).await;
    wait_for(&mut c, ["up", "up", "up"], [false, true, false], "u3 down").await;
    let g3 = state(&mut c, "/link-state/groups/group[id=3]").await;
    assert!(
        g3.iter()
            .any(|(k, v)| k.ends_with("group[id=3]/state/downstream-disabled") && v == "1"),
        "{g3:?}"
    );
    // u2 down: group 1 at 25 % and group 2 with none are down; d1 is held by both.
    set_carrier(&mut c, "u2", false).await;
    wait_for(
        &mut c,
        ["down", "down", "up"],
        [true, true, false],
        "u2 down",
    )
    .await;
    for id in [1, 2] {
        let s = state(&mut c, &format!("/link-state/groups/group[id={id}]")).await;
        assert!(
            s.iter().any(
                |(k, v)| k.ends_with("interface[name=d1]/state/oper-status") && v == "disabled"
            ),
            "group {id}: {s:?}"
        );
    }

    // A crash: everything comes back as it was.
    let config_before = whole_config(&mut c).await;
    d.kill9();
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(whole_config(&mut c).await, config_before);
    wait_for(
        &mut c,
        ["down", "down", "up"],
        [true, true, false],
        "after the restart",
    )
    .await;

    // u2 back: group 2 is up, group 1 at 50 % stays down (hysteresis) and still holds d1;
    // group 3 still holds d2.
    set_carrier(&mut c, "u2", true).await;
    wait_for(&mut c, ["down", "up", "up"], [true, true, false], "u2 back").await;
    // u1 back: 75 %, group 1 comes up and d1 is enabled.
    set_carrier(&mut c, "u1", true).await;
    wait_for(&mut c, ["up", "up", "up"], [false, true, false], "u1 back").await;
    // u3 back: group 3 releases d2.
    set_carrier(&mut c, "u3", true).await;
    wait_for(&mut c, ["up", "up", "up"], [false, false, false], "u3 back").await;
}

async fn awaiting_clear(c: &mut GNmiClient<Channel>, id: u16) -> Option<String> {
    let s = state(c, &format!("/link-state/groups/group[id={id}]")).await;
    let key = format!("group[id={id}]/state/awaiting-clear");
    (s.iter().find(|(k, _)| k.ends_with(&key))).map(|(_, v)| v.clone())
}

#[tokio::test]
async fn manual_recovery_holds_across_a_restart_until_the_admin_clear() {
    use tether_proto::admin::ClearGroupRequest;
    use tether_proto::admin::link_state_client::LinkStateClient;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    configure(&mut c).await;
    set_update(
        &mut c,
        "/link-state/groups/group[id=2]/config/auto-recover",
        json!(false),
    )
    .await
    .unwrap();
    wait_for(&mut c, ["up", "up", "up"], [false, false, false], "all up").await;
    set_carrier(&mut c, "u1", false).await;
    set_carrier(&mut c, "u2", false).await;
    // Group 1 is at 50 %, not below: up. Group 2 has none: down, d1 and d2 disabled.
    wait_for(
        &mut c,
        ["up", "down", "up"],
        [true, true, false],
        "u1, u2 down",
    )
    .await;
    // Both back: group 2 is up, but (manual recovery) holds d1 and d2.
    set_carrier(&mut c, "u1", true).await;
    set_carrier(&mut c, "u2", true).await;
    wait_for(&mut c, ["up", "up", "up"], [true, true, false], "held").await;
    assert_eq!(awaiting_clear(&mut c, 2).await.as_deref(), Some("true"));

    d.kill9();
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    wait_for(
        &mut c,
        ["up", "up", "up"],
        [true, true, false],
        "held after the restart",
    )
    .await;
    assert_eq!(awaiting_clear(&mut c, 2).await.as_deref(), Some("true"));

    let mut admin = LinkStateClient::connect(format!("http://{}", d.addr))
        .await
        .unwrap();
    for (group, code) in [
        (0, Code::InvalidArgument),
        (4097, Code::InvalidArgument),
        (9, Code::NotFound),
    ] {
        let e = admin
            .clear_group(ClearGroupRequest { group })
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "group {group}: {e:?}");
    }
    let before = whole_config(&mut c).await;
    let r = admin
        .clear_group(ClearGroupRequest { group: 2 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.enabled, vec!["d1".to_string(), "d2".to_string()]);
    wait_for(&mut c, ["up", "up", "up"], [false, false, false], "cleared").await;
    assert_eq!(awaiting_clear(&mut c, 2).await.as_deref(), Some("false"));
    assert_eq!(
        whole_config(&mut c).await,
        before,
        "a clear changes no configuration"
    );
    // Nothing left to clear.
    let r = admin
        .clear_group(ClearGroupRequest { group: 2 })
        .await
        .unwrap()
        .into_inner();
    assert!(r.enabled.is_empty());
}
