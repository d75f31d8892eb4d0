//! Subscribe ONCE, POLL and STREAM against a real tetherd.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::time::Duration;

use crate::common::*;
use serde_json::json;
use tether_proto::gnmi::{
    Poll, SubscribeRequest, SubscribeResponse, Subscription, SubscriptionList, SubscriptionMode,
    subscribe_request, subscribe_response, subscription_list,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Streaming};

fn list(
    mode: subscription_list::Mode,
    paths: &[&str],
    sub_mode: SubscriptionMode,
) -> SubscribeRequest {
    SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: paths
                .iter()
                .map(|p| Subscription {
                    path: Some(path(p)),
                    mode: sub_mode as i32,
                    ..Default::default()
                })
                .collect(),
            mode: mode as i32,
            encoding: 4,
            ..Default::default()
        })),
        ..Default::default()
    }
}

async fn open(
    d: &Daemon,
    first: SubscribeRequest,
) -> (mpsc::Sender<SubscribeRequest>, Streaming<SubscribeResponse>) {
    let mut c = d.client().await;
    crate::common::open(&mut c, first).await
}

fn leaves(r: &SubscribeResponse) -> Vec<(String, serde_json::Value)> {
    let Some(subscribe_response::Response::Update(n)) = &r.response else {
        return vec![];
    };
    n.update
        .iter()
        .map(|u| {
            let p = u.path.as_ref().unwrap();
            let last = p.elem.last().unwrap().name.clone();
            (last, value_of(u))
        })
        .collect()
}

#[tokio::test]
async fn once_sends_values_then_sync_then_ends() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let (_tx, mut s) = open(
        &d,
        list(
            subscription_list::Mode::Once,
            &["/link-state/groups/group[id=1]/config"],
            SubscriptionMode::TargetDefined,
        ),
    )
    .await;
    let first = next(&mut s).await;
    assert!(leaves(&first).contains(&("enabled".to_string(), json!(true))));
    let Some(subscribe_response::Response::Update(n)) = &first.response else {
        panic!()
    };
    assert!(n.timestamp > 1_600_000_000_000_000_000);
    assert_eq!(
        n.update[0].path.as_ref().unwrap().elem[0].name,
        "tether-link-state:link-state"
    );
    assert!(is_sync(&next(&mut s).await));
    let end = tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .unwrap();
    assert!(matches!(end, Ok(None)), "stream ends after sync: {end:?}");
}

#[tokio::test]
async fn poll_answers_each_poll() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let (tx, mut s) = open(
        &d,
        list(
            subscription_list::Mode::Poll,
            &["/link-state/groups/group[id=1]/config/description"],
            SubscriptionMode::TargetDefined,
        ),
    )
    .await;
    assert!(
        is_sync(&next(&mut s).await),
        "no description yet: just the sync"
    );
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/config/description",
        json!("polled"),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        tx.send(SubscribeRequest {
            request: Some(subscribe_request::Request::Poll(Poll {})),
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(
            leaves(&next(&mut s).await),
            vec![("description".to_string(), json!("polled"))]
        );
        assert!(is_sync(&next(&mut s).await));
    }
}

#[tokio::test]
async fn stream_on_change_sees_sets_and_deletes_and_survives_half_close() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let mut req = list(
        subscription_list::Mode::Stream,
        &["/link-state/groups/group[id=*]/config", "/bypass/classes"],
        SubscriptionMode::OnChange,
    );
    if let Some(subscribe_request::Request::Subscribe(l)) = &mut req.request {
        l.updates_only = true;
    }
    let (tx, mut s) = open(&d, req).await;
    assert!(is_sync(&next(&mut s).await), "updates_only: sync first");
    drop(tx); // half-close: the stream must stay open

    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/config/description",
        json!("on change"),
    )
    .await
    .unwrap();
    let r = next(&mut s).await;
    assert_eq!(
        leaves(&r),
        vec![("description".to_string(), json!("on change"))]
    );
    let Some(subscribe_response::Response::Update(n)) = &r.response else {
        panic!()
    };
    assert_eq!(
        n.update[0].path.as_ref().unwrap().elem[2]
            .key
            .get("id")
            .map(String::as_str),
        Some("1")
    );

    // A change outside the subscribed paths is not sent; the next one is.
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/upstream/interfaces/interface[name=Po12]",
        json!({"config": {"name": "Po12"}}),
    )
    .await
    .unwrap();
    set_delete(&mut c, "/link-state/groups/group[id=1]/config/description")
        .await
        .unwrap();
    let r = next(&mut s).await;
    let Some(subscribe_response::Response::Update(n)) = &r.response else {
        panic!("{r:?}")
    };
    assert!(n.update.is_empty());
    assert_eq!(n.delete.len(), 1);
    assert_eq!(n.delete[0].elem.last().unwrap().name, "description");
}

#[tokio::test]
async fn stream_initial_sync_and_sample() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let mut req = list(
        subscription_list::Mode::Stream,
        &["/link-state/groups/group[id=1]/config/enabled"],
        SubscriptionMode::Sample,
    );
    if let Some(subscribe_request::Request::Subscribe(l)) = &mut req.request {
        l.subscription[0].sample_interval = 100_000_000;
        l.subscription[0].suppress_redundant = true;
    }
    let (_tx, mut s) = open(&d, req).await;
    assert_eq!(
        leaves(&next(&mut s).await),
        vec![("enabled".to_string(), json!(true))]
    );
    assert!(is_sync(&next(&mut s).await));
    // Suppressed while unchanged; sent on the next sample after a change.
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/config/enabled",
        json!(false),
    )
    .await
    .unwrap();
    assert_eq!(
        leaves(&next(&mut s).await),
        vec![("enabled".to_string(), json!(false))]
    );

    // Too short an interval is refused.
    let mut req = list(
        subscription_list::Mode::Stream,
        &["/link-state"],
        SubscriptionMode::Sample,
    );
    if let Some(subscribe_request::Request::Subscribe(l)) = &mut req.request {
        l.subscription[0].sample_interval = 1_000;
    }
    let mut c2 = d.client().await;
    let (tx, rx) = mpsc::channel(1);
    tx.send(req).await.unwrap();
    let e = c2.subscribe(ReceiverStream::new(rx)).await;
    assert_eq!(e.err().map(|e| e.code()), Some(Code::InvalidArgument));
}

#[tokio::test]
async fn slow_subscriber_is_ended_and_others_keep_going() {
    let d = Daemon::start_with(&["--subscriber-queue", "8"]);
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let sub = |p: &str| {
        list(
            subscription_list::Mode::Stream,
            &[p],
            SubscriptionMode::OnChange,
        )
    };
    // The slow one never reads; a small HTTP/2 window keeps the transport from absorbing much.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", d.addr))
        .unwrap()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .unwrap();
    let mut slow_client = tether_proto::gnmi::g_nmi_client::GNmiClient::new(channel);
    let (_slow_tx, slow_rx) = mpsc::channel(1);
    _slow_tx.send(sub("/link-state")).await.unwrap();
    let mut slow = slow_client
        .subscribe(ReceiverStream::new(slow_rx))
        .await
        .unwrap()
        .into_inner();
    let (_fast_tx, mut fast) =
        open(&d, sub("/link-state/groups/group[id=1]/config/description")).await;
    // No description yet: only the sync.
    assert!(is_sync(&next(&mut fast).await));

    // Each Set changes 40 leaves under /link-state: big notifications for the slow one.
    for i in 0..400 {
        let v = scenario_link_state()["groups"]["group"][0]["downstream"]["interfaces"].clone();
        if i % 2 == 0 {
            set_delete(&mut c, "/link-state/groups/group[id=1]/downstream")
                .await
                .unwrap();
        } else {
            set_update(
                &mut c,
                "/link-state/groups/group[id=1]/downstream/interfaces",
                v,
            )
            .await
            .unwrap();
        }
        set_update(
            &mut c,
            "/link-state/groups/group[id=1]/config/description",
            json!(format!("n{i}")),
        )
        .await
        .unwrap();
        // The fast subscriber keeps up.
        let r = next(&mut fast).await;
        assert_eq!(
            leaves(&r),
            vec![("description".to_string(), json!(format!("n{i}")))]
        );
    }
    // The slow one: whatever was buffered, then RESOURCE_EXHAUSTED.
    let mut got = 0;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.message())
            .await
            .expect("slow stream answers")
        {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("slow stream ended without an error after {got} messages"),
            Err(s) => break s,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(got < 800, "ended early, not after everything ({got})");
}
