//! gNMI extensions against a real tetherd: Depth honoured in Get and Subscribe (ONCE and
//! STREAM ON_CHANGE report the same leaves), Commit accepted on Set only (its behaviour is
//! `gnmi_commit_confirmed.rs`), and every other extension refused by name in every RPC, with
//! nothing changed.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::{
    CapabilityRequest, Encoding, GetRequest, SetRequest, SubscribeRequest, Subscription,
    SubscriptionList, SubscriptionMode, subscribe_request, subscribe_response, subscription_list,
};
use tether_proto::gnmi_ext::{
    Commit, CommitRequest, Depth, Extension, History, MasterArbitration, RegisteredExtension,
    commit, extension::Ext,
};
use tonic::Code;

const GROUP: &str = "/link-state/groups/group[id=1]";

fn depth(level: u32) -> Extension {
    Extension {
        ext: Some(Ext::Depth(Depth { level })),
    }
}

async fn get_depth(
    c: &mut tether_proto::gnmi::g_nmi_client::GNmiClient<tonic::transport::Channel>,
    p: &str,
    level: u32,
) -> Value {
    let r = c
        .get(GetRequest {
            path: vec![path(p)],
            r#type: 1,
            encoding: Encoding::JsonIetf as i32,
            extension: vec![depth(level)],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    value_of(&r.notification[0].update[0])
}

fn subscription(mode: subscription_list::Mode, p: &str, ext: Vec<Extension>) -> SubscribeRequest {
    SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(path(p)),
                mode: SubscriptionMode::OnChange as i32,
                ..Default::default()
            }],
            mode: mode as i32,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })),
        extension: ext,
    }
}

/// The gNMI paths of a notification's updates, as `/a/b[k=v]/c` text.
fn update_paths(r: &tether_proto::gnmi::SubscribeResponse) -> Vec<String> {
    let Some(subscribe_response::Response::Update(n)) = &r.response else {
        return Vec::new();
    };
    n.update
        .iter()
        .map(|u| tether_syntax::text_path::TextPath::from(u.path.as_ref().unwrap()).to_string())
        .collect()
}

#[tokio::test]
async fn depth_limits_get_to_the_levels_asked_for() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;

    assert_eq!(get_depth(&mut c, GROUP, 1).await, json!({"id": 1}));
    assert_eq!(
        get_depth(&mut c, GROUP, 2).await,
        json!({"id": 1, "config": {"id": 1, "enabled": true}})
    );
    // Level 4 reaches the member list entries' own leaves, not their config.
    let four = get_depth(&mut c, GROUP, 4).await;
    assert_eq!(
        four["upstream"],
        json!({"interfaces": {"interface": [{"name": "Po11"}]}})
    );
    // Level 0 is no limit; a list path without keys takes the level from each entry.
    assert_eq!(
        normalize(get_depth(&mut c, "/link-state", 0).await),
        normalize(scenario_link_state())
    );
    assert_eq!(
        get_depth(&mut c, "/link-state/groups/group", 1).await,
        json!({"id": 1})
    );
    // The root: its own leaves (none) are level 1, a top-level container's are level 2.
    let r = c
        .get(GetRequest {
            r#type: 1,
            encoding: Encoding::JsonIetf as i32,
            extension: vec![depth(4)],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let root = value_of(&r.notification[0].update[0]);
    assert_eq!(
        root["tether-link-state:link-state"],
        json!({"groups": {"group": [{"id": 1}]}})
    );
}

#[tokio::test]
async fn depth_in_subscribe_matches_get_in_once_and_on_change() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;

    let (_tx, mut once) = open(
        &mut c,
        subscription(subscription_list::Mode::Once, GROUP, vec![depth(2)]),
    )
    .await;
    let mut paths = Vec::new();
    loop {
        let r = next(&mut once).await;
        if is_sync(&r) {
            break;
        }
        paths.extend(update_paths(&r));
    }
    assert!(
        paths.iter().any(|p| p.ends_with("/config/enabled")),
        "{paths:?}"
    );
    for p in &paths {
        let below = p.split('/').count() - GROUP.split('/').count();
        assert!(below <= 2, "{p} is {below} levels below {GROUP}");
        assert!(!p.contains("stream/interfaces"), "{p}");
    }

    let (_tx, mut stream) = open(
        &mut c,
        subscription(subscription_list::Mode::Stream, GROUP, vec![depth(2)]),
    )
    .await;
    loop {
        if is_sync(&next(&mut stream).await) {
            break;
        }
    }
    // A downstream member is 4 and 5 levels below the group: not for this subscription.
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/41]",
        json!({"name": "Gi1/41", "config": {"name": "Gi1/41"}}),
    )
    .await
    .unwrap();
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/config/description",
        json!("two levels"),
    )
    .await
    .unwrap();
    loop {
        let r = next(&mut stream).await;
        let paths = update_paths(&r);
        assert!(
            paths.iter().all(|p| !p.contains("stream/interfaces")),
            "{paths:?}"
        );
        if paths.iter().any(|p| p.ends_with("/config/description")) {
            break;
        }
    }
}

#[tokio::test]
async fn unimplemented_extensions_are_refused_by_name_in_every_rpc() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let before = whole_config(&mut c).await;

    let cases: Vec<(Extension, &str)> = vec![
        (
            Extension {
                ext: Some(Ext::RegisteredExt(RegisteredExtension {
                    id: 999,
                    msg: b"x".to_vec(),
                })),
            },
            "registered extension id 999",
        ),
        (
            Extension {
                ext: Some(Ext::MasterArbitration(MasterArbitration::default())),
            },
            "master_arbitration",
        ),
        (
            Extension {
                ext: Some(Ext::History(History::default())),
            },
            "history",
        ),
    ];
    for (ext, name) in cases {
        let check = |s: tonic::Status, rpc: &str| {
            assert_eq!(s.code(), Code::Unimplemented, "{rpc} {name}: {s:?}");
            assert!(s.message().contains(name), "{rpc}: {}", s.message());
        };
        let e = c
            .capabilities(CapabilityRequest {
                extension: vec![ext.clone()],
            })
            .await
            .unwrap_err();
        check(e, "Capabilities");
        let e = c
            .get(GetRequest {
                path: vec![path(GROUP)],
                extension: vec![ext.clone()],
                ..Default::default()
            })
            .await
            .unwrap_err();
        check(e, "Get");
        let e = c
            .set(SetRequest {
                update: vec![update(
                    "/link-state/groups/group[id=1]/config/description",
                    json!("never"),
                )],
                extension: vec![ext.clone()],
                ..Default::default()
            })
            .await
            .unwrap_err();
        check(e, "Set");
        let first = subscription(subscription_list::Mode::Once, GROUP, vec![ext.clone()]);
        let e = c.subscribe(tokio_stream::iter([first])).await.unwrap_err();
        check(e, "Subscribe");
    }
    assert_eq!(whole_config(&mut c).await, before, "nothing changed");
}

#[tokio::test]
async fn commit_extension_is_taken_on_set_only() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let before = whole_config(&mut c).await;
    // A confirmed commit without its id is refused: the id is how it is confirmed.
    let e = c
        .set(SetRequest {
            update: vec![update(
                "/link-state/groups/group[id=1]/config/description",
                json!("unconfirmed"),
            )],
            extension: vec![Extension {
                ext: Some(Ext::Commit(Commit {
                    id: String::new(),
                    action: Some(commit::Action::Commit(CommitRequest {
                        rollback_duration: Some(prost_types::Duration {
                            seconds: 60,
                            nanos: 0,
                        }),
                    })),
                })),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("commit extension"), "{}", e.message());
    assert_eq!(whole_config(&mut c).await, before, "nothing changed");

    // Depth belongs to Get and Subscribe; on Set it is refused, not ignored.
    let e = c
        .set(SetRequest {
            update: vec![update(
                "/link-state/groups/group[id=1]/config/description",
                json!("deep"),
            )],
            extension: vec![depth(1)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(whole_config(&mut c).await, before, "nothing changed");
}
