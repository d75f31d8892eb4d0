//! The reference link-state-tracking scenario end to end, through gNMI only, against a real
//! tetherd on the in-process dataplane: group 1, Po11 upstream, Gi1/1-40 downstream. Cut
//! Po11 (a Set of its simulated carrier): all 40 are disabled and a STREAM ON_CHANGE
//! subscriber hears the group and the 40 members change; restore: all 40 are up again. Then a
//! SIGKILL while the group is down: config, what Tether disabled and state all come back.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::subscribe_request::Request;
use tether_proto::gnmi::subscribe_response::Response;
use tether_proto::gnmi::{
    Encoding, GetRequest, Path, SubscribeRequest, Subscription, SubscriptionList, SubscriptionMode,
    subscription_list, typed_value,
};
use tonic::transport::Channel;

const DOWNSTREAMS: usize = 40;

fn downstream(i: usize) -> String {
    format!("Gi1/{i}")
}

/// Po11 and Gi1/1-40 as simulated interfaces with carrier, and group 1 over them.
async fn configure(c: &mut GNmiClient<Channel>) {
    let mut ifaces = vec![
        json!({"name": "Po11", "config": {"name": "Po11"}, "simulation": {"config": {"carrier": true}}}),
    ];
    for i in 1..=DOWNSTREAMS {
        let n = downstream(i);
        ifaces.push(
            json!({"name": n, "config": {"name": n}, "simulation": {"config": {"carrier": true}}}),
        );
    }
    set_update(
        c,
        "/tether-interfaces:interfaces",
        json!({"interface": ifaces}),
    )
    .await
    .unwrap();
    let down: Vec<Value> = (1..=DOWNSTREAMS)
        .map(|i| json!({"name": downstream(i), "config": {"name": downstream(i)}}))
        .collect();
    set_update(
        c,
        "/link-state/groups/group[id=1]",
        json!({
            "config": {"id": 1, "description": "HQ4948A uplink to the 6509"},
            "upstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}},
            "downstream": {"interfaces": {"interface": down}}
        }),
    )
    .await
    .unwrap();
}

pub(crate) async fn set_carrier(c: &mut GNmiClient<Channel>, iface: &str, up: bool) {
    set_update(
        c,
        &format!("/interfaces/interface[name={iface}]/simulation/config/carrier"),
        json!(up),
    )
    .await
    .unwrap();
}

/// gNMI path → `a/b[k=v]/c`, for matching.
fn text(prefix: Option<&Path>, p: &Path) -> String {
    prefix
        .into_iter()
        .chain(std::iter::once(p))
        .flat_map(|p| p.elem.iter())
        .map(|e| {
            let mut keys: Vec<_> = e.key.iter().collect();
            keys.sort();
            let name = e.name.rsplit(':').next().unwrap_or(&e.name);
            let k: String = keys.iter().map(|(k, v)| format!("[{k}={v}]")).collect();
            format!("{name}{k}")
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn scalar(v: &tether_proto::gnmi::TypedValue) -> String {
    match v.value.as_ref() {
        Some(typed_value::Value::JsonIetfVal(b)) | Some(typed_value::Value::JsonVal(b)) => {
            match serde_json::from_slice::<Value>(b).unwrap() {
                Value::String(s) => s,
                other => other.to_string(),
            }
        }
        Some(typed_value::Value::StringVal(s)) => s.clone(),
        Some(typed_value::Value::BoolVal(b)) => b.to_string(),
        Some(typed_value::Value::UintVal(u)) => u.to_string(),
        other => format!("{other:?}"),
    }
}

/// Every state leaf under `p` (Get, type STATE) as text path → value.
pub(crate) async fn state(c: &mut GNmiClient<Channel>, p: &str) -> BTreeMap<String, String> {
    let r = match c
        .get(GetRequest {
            path: vec![path(p)],
            r#type: 2,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })
        .await
    {
        Ok(r) => r.into_inner(),
        // No state yet (the worker has not published it).
        Err(s) if s.code() == tonic::Code::NotFound => return BTreeMap::new(),
        Err(s) => panic!("Get {p}: {s}"),
    };
    let mut out = BTreeMap::new();
    for n in r.notification {
        for u in n.update {
            flatten(
                &text(n.prefix.as_ref(), u.path.as_ref().unwrap()),
                &value_of(&u),
                &mut out,
            );
        }
    }
    out
}

fn flatten(at: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let k = k.rsplit(':').next().unwrap_or(k);
                flatten(&format!("{at}/{k}"), v, out);
            }
        }
        Value::Array(a) => {
            for item in a {
                // List entries: key by their `name` or `id`.
                let key = item
                    .get("name")
                    .map(|n| format!("[name={}]", n.as_str().unwrap_or_default()))
                    .or_else(|| item.get("id").map(|i| format!("[id={i}]")))
                    .unwrap_or_default();
                flatten(&format!("{at}{key}"), item, out);
            }
        }
        Value::String(s) => {
            out.insert(at.to_string(), s.clone());
        }
        other => {
            out.insert(at.to_string(), other.to_string());
        }
    }
}

async fn member_status(c: &mut GNmiClient<Channel>) -> (String, Vec<String>) {
    let s = state(c, "/link-state/groups/group[id=1]").await;
    let group = s
        .iter()
        .find(|(k, _)| k.ends_with("group[id=1]/state/status"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let members = (1..=DOWNSTREAMS)
        .map(|i| {
            let want = format!(
                "downstream/interfaces/interface[name={}]/state/oper-status",
                downstream(i)
            );
            s.iter()
                .find(|(k, _)| k.ends_with(&want))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    (group, members)
}

/// Polls Get until the group and its members reach the wanted statuses.
async fn wait_for(c: &mut GNmiClient<Channel>, group: &str, member: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (g, m) = member_status(c).await;
        if g == group && m.iter().all(|s| s == member) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {g}, members {m:?}; wanted {group}/{member}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cut_and_restore_po11_through_gnmi_with_on_change_telemetry() {
    let d = Daemon::start();
    let mut c = d.client().await;
    configure(&mut c).await;
    wait_for(&mut c, "up", "up").await;

    // A collector holds a STREAM ON_CHANGE subscription on the group.
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tx.send(SubscribeRequest {
        request: Some(Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(path("/link-state/groups/group[id=1]")),
                mode: SubscriptionMode::OnChange as i32,
                ..Default::default()
            }],
            mode: subscription_list::Mode::Stream as i32,
            encoding: Encoding::JsonIetf as i32,
            updates_only: true,
            ..Default::default()
        })),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut stream = d
        .client()
        .await
        .subscribe(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    // updates_only: the first message is the sync response.
    let first = stream.message().await.unwrap().unwrap();
    assert!(matches!(first.response, Some(Response::SyncResponse(true))));

    let cut_at = Instant::now();
    set_carrier(&mut c, "Po11", false).await;

    // The subscriber hears the group go down and all 40 members become disabled.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut first_notification = None;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !(seen.get("link-state/groups/group[id=1]/state/status").map(String::as_str) == Some("down")
        && (1..=DOWNSTREAMS).all(|i| {
            seen.get(&format!(
                "link-state/groups/group[id=1]/downstream/interfaces/interface[name={}]/state/oper-status",
                downstream(i)
            ))
            .map(String::as_str)
                == Some("disabled")
        }))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, stream.message())
            .await
            .expect("ON_CHANGE notifications in time")
            .unwrap()
            .unwrap();
        if let Some(Response::Update(n)) = msg.response {
            first_notification.get_or_insert_with(|| cut_at.elapsed());
            assert!(n.timestamp > 1_600_000_000_000_000_000, "timestamps are ns since the epoch");
            for u in &n.update {
                seen.insert(text(n.prefix.as_ref(), u.path.as_ref().unwrap()), scalar(u.val.as_ref().unwrap()));
            }
        }
    }
    eprintln!(
        "first ON_CHANGE notification {:?} after the Set",
        first_notification
    );

    // Get agrees, and the interfaces say who disabled them.
    wait_for(&mut c, "down", "disabled").await;
    let gi = state(&mut c, "/interfaces/interface[name=Gi1/7]").await;
    assert!(
        gi.iter()
            .any(|(k, v)| k.ends_with("state/disabled-by") && v == "link-state-group"),
        "{gi:?}"
    );
    let po = state(&mut c, "/interfaces/interface[name=Po11]").await;
    assert!(
        po.iter()
            .any(|(k, v)| k.ends_with("state/carrier") && v == "false"),
        "{po:?}"
    );

    // Restore Po11: all 40 come back.
    set_carrier(&mut c, "Po11", true).await;
    wait_for(&mut c, "up", "up").await;
}

#[tokio::test]
async fn sigkill_while_down_keeps_config_disabled_records_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    configure(&mut c).await;
    wait_for(&mut c, "up", "up").await;
    set_carrier(&mut c, "Po11", false).await;
    wait_for(&mut c, "down", "disabled").await;
    let config_before = whole_config(&mut c).await;

    d.kill9();
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(whole_config(&mut c).await, config_before);
    // Still down, the same 40 still disabled by the group.
    wait_for(&mut c, "down", "disabled").await;
    // And the group recovers normally after the restart.
    set_carrier(&mut c, "Po11", true).await;
    wait_for(&mut c, "up", "up").await;
}
