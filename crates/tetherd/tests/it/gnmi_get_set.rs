//! Capabilities, Get and Set against a real tetherd.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use crate::common::*;
use serde_json::json;
use tether_proto::gnmi::{
    CapabilityRequest, Encoding, GetRequest, ModelData, SetRequest, update_result::Operation,
};
use tonic::Code;

#[tokio::test]
async fn capabilities_list_models_encodings_and_version() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let caps = c
        .capabilities(CapabilityRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(caps.g_nmi_version, "0.10.0");
    let names: Vec<&str> = caps
        .supported_models
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    for m in [
        "tether-interfaces",
        "tether-conntrack-bypass",
        "tether-link-state",
    ] {
        assert!(names.contains(&m), "{m} in {names:?}");
    }
    assert!(
        caps.supported_models
            .iter()
            .all(|m| !m.version.is_empty() && !m.organization.is_empty())
    );
    assert!(caps.supported_encodings.contains(&(Encoding::Json as i32)));
    assert!(
        caps.supported_encodings
            .contains(&(Encoding::JsonIetf as i32))
    );
}

#[tokio::test]
async fn scenario_goes_in_and_comes_out_identical() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let r = load_scenario(&mut c).await;
    assert_eq!(r.response.len(), 2);
    assert!(r.response.iter().all(|u| u.op == Operation::Update as i32));
    assert!(r.timestamp > 1_600_000_000_000_000_000, "ns timestamp");

    let bypass = get_value(&mut c, "/tether-conntrack-bypass:bypass")
        .await
        .unwrap();
    assert_eq!(normalize(bypass), normalize(scenario_bypass()));
    // Bare first element and origin-as-module spellings read the same data.
    let ls = get_value(&mut c, "/link-state").await.unwrap();
    assert_eq!(normalize(ls), normalize(scenario_link_state()));
    let ls2 = get_value(&mut c, "tether-link-state:/link-state")
        .await
        .unwrap();
    assert_eq!(normalize(ls2), normalize(scenario_link_state()));

    // A leaf and a list entry.
    let t = get_value(&mut c, "/bypass/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]/config/idle-timeout")
        .await
        .unwrap();
    assert_eq!(t, json!(900));
    let up = get_value(
        &mut c,
        "/link-state/groups/group[id=1]/upstream/interfaces/interface[name=Po11]",
    )
    .await
    .unwrap();
    assert_eq!(up, json!({"name": "Po11", "config": {"name": "Po11"}}));

    // JSON encoding carries the same content in json_val.
    let r = c
        .get(GetRequest {
            path: vec![path("/link-state/groups/group[id=1]/config/enabled")],
            encoding: 0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        r.notification[0].update[0].val.as_ref().unwrap().value,
        Some(tether_proto::gnmi::typed_value::Value::JsonVal(_))
    ));
    assert_eq!(value_of(&r.notification[0].update[0]), json!(true));
}

#[tokio::test]
async fn replace_update_delete() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;

    // Replace of a container replaces only that subtree.
    set_replace(
        &mut c,
        "/link-state/groups/group[id=1]/config",
        json!({"id": 1, "description": "TOR uplink"}),
    )
    .await
    .unwrap();
    let cfg = get_value(&mut c, "/link-state/groups/group[id=1]/config")
        .await
        .unwrap();
    assert_eq!(cfg, json!({"id": 1, "description": "TOR uplink"}));
    let down = get_config(
        &mut c,
        "/link-state/groups/group[id=1]/downstream/interfaces/interface",
    )
    .await
    .unwrap();
    assert_eq!(
        down.update.len(),
        40,
        "siblings of the replaced container are untouched"
    );

    // pygnmi sends strings without JSON quotes.
    c.set(SetRequest {
        update: vec![update_raw(
            "/link-state/groups/group[id=1]/config/description",
            "core uplink",
        )],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        get_value(&mut c, "/link-state/groups/group[id=1]/config/description")
            .await
            .unwrap(),
        json!("core uplink")
    );

    // Delete, delete of an absent path, one result per operation in order.
    let r = c
        .set(SetRequest {
            delete: vec![
                path("/link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/40]"),
                path("/link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi9/9]"),
            ],
            update: vec![update(
                "/link-state/groups/group[id=1]/config/up-delay",
                json!(5),
            )],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ops: Vec<i32> = r.response.iter().map(|u| u.op).collect();
    assert_eq!(
        ops,
        vec![
            Operation::Delete as i32,
            Operation::Delete as i32,
            Operation::Update as i32
        ]
    );
    let e = get_config(
        &mut c,
        "/link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/40]",
    )
    .await;
    assert_eq!(e.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        get_value(&mut c, "/link-state/groups/group[id=1]/config/up-delay")
            .await
            .unwrap(),
        json!(5)
    );

    // Delete everything.
    set_delete(&mut c, "/bypass").await.unwrap();
    assert_eq!(
        get_config(&mut c, "/bypass/classes")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn bad_input_is_invalid_argument_and_changes_nothing() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let before = whole_config(&mut c).await;

    let idle = "/bypass/policies/policy[name=Inside-policy]/classes/class[name=tcp_bypass]/config/idle-timeout";
    let entry =
        "/bypass/access-lists/access-list[name=StatelessTraffic]/entries/entry[sequence=10]/config";
    let cases: Vec<(&str, tether_proto::gnmi::Update, &str)> = vec![
        (
            "unknown node",
            update("/link-state/thing", json!(1)),
            "thing",
        ),
        (
            "unknown leaf",
            update("/link-state/groups/group[id=1]/config/bogus", json!(1)),
            "bogus",
        ),
        (
            "string for number",
            update(
                "/link-state/groups/group[id=1]/config/up-delay",
                json!("abc"),
            ),
            "up-delay",
        ),
        ("idle-timeout 0", update(idle, json!(0)), "idle-timeout"),
        (
            "idle-timeout too big",
            update(idle, json!(4294801)),
            "idle-timeout",
        ),
        (
            "port 70000",
            update(&format!("{entry}/destination-port"), json!("70000")),
            "destination-port",
        ),
        (
            "prefix /33",
            update(&format!("{entry}/source-prefix"), json!("10.0.0.0/33")),
            "source-prefix",
        ),
        (
            "prefix /129",
            update(&format!("{entry}/source-prefix"), json!("2001:db8::/129")),
            "source-prefix",
        ),
        (
            "class without access-list",
            update(
                "/bypass/classes/class[name=other]",
                json!({"name": "other", "config": {"name": "other", "match-access-list": "Missing"}}),
            ),
            "match-access-list",
        ),
        (
            "policy class without class",
            update(
                "/bypass/policies/policy[name=Inside-policy]/classes/class[name=nope]",
                json!({"name": "nope", "config": {"name": "nope", "tcp-state-bypass": true}}),
            ),
            "nope",
        ),
        (
            "upstream in 1 and downstream in 2",
            update(
                "/link-state/groups/group[id=2]",
                json!({"id": 2, "config": {"id": 2},
                       "downstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}}}),
            ),
            "Po11",
        ),
        (
            "malformed JSON",
            update_raw("/link-state/groups/group[id=1]/config", "{\"enabled\": tru"),
            "group",
        ),
        (
            "empty key",
            update(
                "/bypass/access-lists/access-list[name=]",
                json!({"config": {"name": ""}}),
            ),
            "access-list",
        ),
    ];
    for (what, u, fragment) in cases {
        let r = c
            .set(SetRequest {
                update: vec![u],
                ..Default::default()
            })
            .await;
        let e = r.expect_err(what);
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {e:?}");
        assert!(
            e.message().contains(fragment),
            "{what}: message {:?} should name {fragment}",
            e.message()
        );
    }
    // A bad part spoils the whole Set.
    let r = c
        .set(SetRequest {
            update: vec![
                update(
                    "/link-state/groups/group[id=1]/config/description",
                    json!("changed"),
                ),
                update(idle, json!(0)),
            ],
            ..Default::default()
        })
        .await;
    assert_eq!(r.unwrap_err().code(), Code::InvalidArgument);
    // A module this target does not serve is UNIMPLEMENTED, and changes nothing either.
    let e = set_update(&mut c, "/nosuch:thing", json!(1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e:?}");
    assert!(e.message().contains("nosuch"), "{}", e.message());
    assert_eq!(whole_config(&mut c).await, before, "datastore unchanged");
}

#[tokio::test]
async fn wildcards_and_not_found() {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;

    let n = get_config(&mut c, "/bypass/access-lists/access-list[name=StatelessTraffic]/entries/entry[sequence=*]/config/remark")
        .await
        .unwrap();
    let mut remarks: Vec<String> = n
        .update
        .iter()
        .map(|u| value_of(u).as_str().unwrap().to_string())
        .collect();
    remarks.sort();
    assert_eq!(remarks, vec!["Inbound Traffic", "Outbound Traffic"]);
    // Each update carries the concrete path, keys filled in.
    assert!(n.update.iter().all(|u| {
        u.path.as_ref().unwrap().elem[4]
            .key
            .contains_key("sequence")
    }));

    let n = get_config(
        &mut c,
        "/bypass/policies/policy[name=*]/classes/class/config/idle-timeout",
    )
    .await
    .unwrap();
    assert_eq!(n.update.len(), 2);
    let n = get_config(&mut c, "/bypass/.../policy").await.unwrap();
    assert_eq!(
        n.update.len(),
        4,
        "service-policy policy leaves and policy list entries"
    );
    let n = get_config(
        &mut c,
        "/link-state/groups/group[id=1]/*/interfaces/interface[name=Po11]",
    )
    .await
    .unwrap();
    assert_eq!(n.update.len(), 1);

    // Nothing there, or nothing in the schema.
    assert_eq!(
        get_config(&mut c, "/link-state/groups/group[id=9]")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        get_config(&mut c, "/link-state/nothing")
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    // Unsupported encodings.
    let e = c
        .get(GetRequest {
            path: vec![path("/link-state")],
            encoding: Encoding::Ascii as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(e.unwrap_err().code(), Code::Unimplemented);
    // use_models restricts the answer to those modules.
    let r = c
        .get(GetRequest {
            r#type: 1,
            encoding: 4,
            use_models: vec![ModelData {
                name: "tether-link-state".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let doc = value_of(&r.notification[0].update[0]);
    assert!(
        doc.get("tether-link-state:link-state").is_some()
            && doc.get("tether-conntrack-bypass:bypass").is_none()
    );
}
