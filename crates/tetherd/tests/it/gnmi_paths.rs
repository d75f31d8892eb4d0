//! What a path names, through tonic against a real tetherd: Subscribe refuses a path that
//! names no schema node (INVALID_ARGUMENT), a module that is not served (UNIMPLEMENTED) and an
//! invalid key value (INVALID_ARGUMENT) before it sends anything, as Get does
//! (tests/interop/test_spec_paths.py covers Get, Set and delete through pygnmi); an origin
//! may be in the prefix or the path, not both (gNMI specification 2.7); a TARGET_DEFINED
//! STREAM subscription with a sample_interval is refused (3.5.1.5.2).

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use crate::common::*;
use tether_proto::gnmi::{
    GetRequest, Path, SubscribeRequest, Subscription, SubscriptionList, subscribe_request,
    subscription_list,
};
use tonic::Code;

fn once(p: &str) -> SubscribeRequest {
    SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(path(p)),
                ..Default::default()
            }],
            mode: subscription_list::Mode::Once as i32,
            encoding: 4,
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[tokio::test]
async fn subscribe_refuses_what_names_nothing_in_the_schema() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let cases = [
        ("/link-state/nothing", Code::InvalidArgument, "nothing"),
        (
            "/openconfig-interfaces:interfaces",
            Code::Unimplemented,
            "openconfig-interfaces",
        ),
        (
            "/link-state/groups/group[id=abc]",
            Code::InvalidArgument,
            "abc",
        ),
        (
            "/link-state/groups/group[id=0]/state",
            Code::InvalidArgument,
            "id=0",
        ),
    ];
    for (p, code, needle) in cases {
        let e = c
            .subscribe(tokio_stream::iter([once(p)]))
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{p}: {e:?}");
        assert!(e.message().contains(needle), "{p}: {}", e.message());
    }
    // A group that could exist but does not: the subscription is accepted, with no data.
    let (_tx, mut s) = open(&mut c, once("/link-state/groups/group[id=9]")).await;
    assert!(is_sync(&next(&mut s).await));
}

#[tokio::test]
async fn origins_in_prefix_or_path_but_not_both() {
    let d = Daemon::start();
    let mut c = d.client().await;
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/config",
        serde_json::json!({"id": 1}),
    )
    .await
    .unwrap();
    let get = |prefix: Path, p: Path| GetRequest {
        prefix: Some(prefix),
        path: vec![p],
        r#type: 1,
        encoding: 4,
        ..Default::default()
    };
    let with_origin = |text: &str, origin: &str| Path {
        origin: origin.into(),
        ..path(text)
    };
    let ok = c
        .get(get(
            with_origin("/link-state", "tether-link-state"),
            path("/groups/group[id=1]/config/id"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        value_of(&ok.notification[0].update[0]),
        serde_json::json!(1)
    );
    let e = c
        .get(get(
            with_origin("/link-state", "tether-link-state"),
            with_origin("/groups/group[id=1]/config/id", "tether-link-state"),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("both the prefix"), "{}", e.message());
    // A module-qualified element of a module not served, without origin: UNIMPLEMENTED.
    let e = get_config(&mut c, "/openconfig-interfaces:interfaces")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e:?}");
}

#[tokio::test]
async fn target_defined_with_a_sample_interval_is_refused() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut req = once("/link-state");
    if let Some(subscribe_request::Request::Subscribe(l)) = req.request.as_mut() {
        l.mode = subscription_list::Mode::Stream as i32;
        l.subscription[0].mode = tether_proto::gnmi::SubscriptionMode::TargetDefined as i32;
        l.subscription[0].sample_interval = 1_000_000_000;
    }
    let e = c
        .subscribe(tokio_stream::iter([req.clone()]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("TARGET_DEFINED"), "{}", e.message());
    // Without one it is accepted (sync response, then the stream stays open).
    if let Some(subscribe_request::Request::Subscribe(l)) = req.request.as_mut() {
        l.subscription[0].sample_interval = 0;
    }
    let (_tx, mut s) = open(&mut c, req).await;
    until_sync(&mut s).await;
}
