//! Every limit of `tether_gnmi::Limits` hit through a stock client (tonic): the status is
//! RESOURCE_EXHAUSTED naming the option, nothing changes, and other clients carry on; error
//! messages stay under 1 KiB; garbage protobuf is INVALID_ARGUMENT; big ONCE notifications
//! are split under the limit and carry exactly what the unsplit ones do.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::collections::BTreeSet;

use crate::common::*;
use serde_json::json;
use tether_proto::gnmi::{
    GetRequest, GetResponse, SetRequest, SubscribeRequest, SubscribeResponse, Subscription,
    SubscriptionList, SubscriptionMode, subscribe_request, subscribe_response, subscription_list,
};
use tonic::Code;

fn exhausted(status: tonic::Status, option: &str) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains(option), "{}", status.message());
}

fn sub_list(mode: subscription_list::Mode, paths: &[&str]) -> SubscribeRequest {
    SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: paths
                .iter()
                .map(|p| Subscription {
                    path: Some(path(p)),
                    mode: SubscriptionMode::OnChange as i32,
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

#[tokio::test]
async fn request_size_updates_per_set_and_paths_per_get() {
    let d = Daemon::start_with(&[
        "--max-request-bytes",
        "100000",
        "--max-updates-per-set",
        "3",
        "--max-paths-per-get",
        "2",
    ]);
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let (before, _) = running_config(&mut c).await;

    let big = SetRequest {
        update: vec![update(
            "/link-state/groups/group[id=1]/config/description",
            json!("x".repeat(200_000)),
        )],
        ..Default::default()
    };
    exhausted(c.set(big).await.unwrap_err(), "--max-request-bytes");

    let four = SetRequest {
        update: (1..=4)
            .map(|i| {
                update(
                    &format!("/link-state/groups/group[id={i}]/config"),
                    json!({"id": i}),
                )
            })
            .collect(),
        ..Default::default()
    };
    exhausted(c.set(four).await.unwrap_err(), "--max-updates-per-set");

    let three = GetRequest {
        path: vec![path("/link-state"), path("/bypass"), path("/interfaces")],
        ..Default::default()
    };
    exhausted(c.get(three).await.unwrap_err(), "--max-paths-per-get");

    // Refused requests changed nothing, and the client is still served.
    let (after, _) = running_config(&mut c).await;
    assert_eq!(before, after);
    let two = GetRequest {
        path: vec![path("/link-state"), path("/bypass")],
        ..Default::default()
    };
    assert_eq!(c.get(two).await.unwrap().into_inner().notification.len(), 2);
}

/// Opens a Subscribe with `first`; the status if the call itself is refused.
async fn try_open(
    c: &mut tether_proto::gnmi::g_nmi_client::GNmiClient<tonic::transport::Channel>,
    first: SubscribeRequest,
) -> Result<
    (
        tokio::sync::mpsc::Sender<SubscribeRequest>,
        tonic::Streaming<SubscribeResponse>,
    ),
    tonic::Status,
> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(first).await.unwrap();
    let s = c
        .subscribe(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?;
    Ok((tx, s.into_inner()))
}

#[tokio::test]
async fn subscriptions_and_streams_per_client() {
    let d = Daemon::start_with(&[
        "--max-subscriptions-per-stream",
        "2",
        "--max-streams-per-client",
        "2",
    ]);
    let mut c = d.client().await;
    load_scenario(&mut c).await;

    let too_many = sub_list(
        subscription_list::Mode::Once,
        &["/link-state", "/bypass", "/interfaces"],
    );
    exhausted(
        try_open(&mut c, too_many).await.unwrap_err(),
        "--max-subscriptions-per-stream",
    );

    let stream = || sub_list(subscription_list::Mode::Stream, &["/link-state"]);
    let (_t1, mut s1) = try_open(&mut c, stream()).await.unwrap();
    let (t2, mut s2) = try_open(&mut c, stream()).await.unwrap();
    until_sync(&mut s1).await;
    until_sync(&mut s2).await;
    exhausted(
        try_open(&mut c, stream()).await.unwrap_err(),
        "--max-streams-per-client",
    );
    // Unary RPCs are not streams: still served.
    c.get(GetRequest::default()).await.unwrap();
    // A stream that ends gives its place back (once the server has seen it end).
    drop((t2, s2));
    let mut opened = None;
    for _ in 0..100 {
        match try_open(&mut c, stream()).await {
            Ok(s) => {
                opened = Some(s);
                break;
            }
            Err(e) => exhausted(e, "--max-streams-per-client"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(opened.is_some(), "the ended stream's place came back");
}

#[tokio::test]
async fn rpcs_per_client_count_streams_too() {
    let d = Daemon::start_with(&["--max-rpcs-per-client", "2"]);
    let mut c = d.client().await;
    let stream = || sub_list(subscription_list::Mode::Stream, &["/link-state"]);
    let (_t1, mut s1) = try_open(&mut c, stream()).await.unwrap();
    let (_t2, mut s2) = try_open(&mut c, stream()).await.unwrap();
    until_sync(&mut s1).await;
    until_sync(&mut s2).await;
    exhausted(
        c.get(GetRequest::default()).await.unwrap_err(),
        "--max-rpcs-per-client",
    );
}

#[tokio::test]
async fn a_one_mebibyte_key_gets_a_short_invalid_argument() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let key = "k".repeat(1 << 20);
    let set = SetRequest {
        update: vec![update(
            &format!(
                "/link-state/groups/group[id=1]/downstream/interfaces/interface[name={key}]/config"
            ),
            json!({"name": key}),
        )],
        ..Default::default()
    };
    let e = c.set(set).await.unwrap_err();
    println!(
        "1 MiB key: {:?}, {} bytes of message",
        e.code(),
        e.message().len()
    );
    assert_eq!(
        e.code(),
        Code::InvalidArgument,
        "{}",
        &e.message()[..200.min(e.message().len())]
    );
    assert!(e.message().len() <= 1024, "{}", e.message().len());
    let get = GetRequest {
        path: vec![path(&format!("/interfaces/interface[name={key}]"))],
        ..Default::default()
    };
    let e = c.get(get).await.unwrap_err();
    assert!(
        e.message().len() <= 1024,
        "{:?} {}",
        e.code(),
        e.message().len()
    );
}

/// Bytes that are not a GetRequest: field 1 (prefix, a message) sent as a varint.
#[derive(Clone, PartialEq, prost::Message)]
struct NotAGetRequest {
    #[prost(uint64, tag = "1")]
    prefix: u64,
}

#[tokio::test]
async fn garbage_protobuf_is_invalid_argument() {
    let d = Daemon::start();
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", d.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<NotAGetRequest, GetResponse>::default();
    let e = grpc
        .unary(
            tonic::Request::new(NotAGetRequest { prefix: 7 }),
            "/gnmi.gNMI/Get".parse().unwrap(),
            codec,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // The daemon is fine and answers the next client.
    d.client().await.get(GetRequest::default()).await.unwrap();
}

fn leaf_set(responses: &[SubscribeResponse]) -> BTreeSet<String> {
    responses
        .iter()
        .filter_map(|r| match &r.response {
            Some(subscribe_response::Response::Update(n)) => Some(n),
            _ => None,
        })
        .flat_map(|n| n.update.iter())
        // Configuration only: state (counters, applied flags) moves on its own between the
        // two daemons.
        .filter(|u| {
            u.path
                .as_ref()
                .is_some_and(|p| p.elem.iter().any(|e| e.name == "config"))
        })
        .map(|u| format!("{:?} = {}", u.path, value_of(u)))
        .collect()
}

async fn once_root(d: &Daemon) -> Vec<SubscribeResponse> {
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let (_tx, mut s) = open(&mut c, sub_list(subscription_list::Mode::Once, &["/"])).await;
    let mut out = Vec::new();
    loop {
        let r = next(&mut s).await;
        if is_sync(&r) {
            return out;
        }
        out.push(r);
    }
}

#[tokio::test]
async fn big_once_notifications_are_split_and_lose_nothing() {
    use prost::Message;
    let limit = 4096;
    let split = Daemon::start_with(&["--max-notification-bytes", &limit.to_string()]);
    let whole = Daemon::start();
    let parts = once_root(&split).await;
    let reference = once_root(&whole).await;
    println!(
        "ONCE of the root: {} notifications unsplit (largest {} bytes), {} at a {limit}-byte limit (largest {} bytes)",
        reference.len(),
        reference.iter().map(|r| r.encoded_len()).max().unwrap_or(0),
        parts.len(),
        parts.iter().map(|r| r.encoded_len()).max().unwrap_or(0)
    );
    assert!(parts.len() > reference.len());
    for p in &parts {
        assert!(p.encoded_len() <= limit + 16, "{}", p.encoded_len());
    }
    // Timestamps differ between daemons; the configuration's (path, value) pairs must not.
    let (a, b) = (leaf_set(&parts), leaf_set(&reference));
    assert!(a.len() > 50, "{} config leaves", a.len());
    assert!(
        a == b,
        "split and unsplit ONCE differ: {:?}",
        a.symmetric_difference(&b).take(5).collect::<Vec<_>>()
    );
}
