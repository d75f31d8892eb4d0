//! Entry limits through gNMI (issue 17): a Set that would leave more access-list entries
//! than `bypass/config/max-entries-per-access-list` or `max-entries` allows is refused with
//! RESOURCE_EXHAUSTED naming the limit, and the running configuration stays byte-identical.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::SetRequest;
use tonic::Code;

const BYPASS: &str = "/tether-conntrack-bypass:bypass";

fn entries(acl: &str, seqs: std::ops::RangeInclusive<u32>) -> Value {
    let list: Vec<Value> = seqs
        .map(|s| {
            json!({"sequence": s, "config": {"sequence": s, "action": "permit", "protocol": "tcp",
                   "source-prefix": format!("198.18.{s}.0/24")}})
        })
        .collect();
    json!({"name": acl, "config": {"name": acl}, "entries": {"entry": list}})
}

fn acl_path(acl: &str) -> String {
    format!("{BYPASS}/access-lists/access-list[name={acl}]")
}

#[tokio::test]
async fn a_set_over_a_limit_is_resource_exhausted_and_changes_nothing() {
    let d = Daemon::start();
    let mut c = d.client().await;
    // The defaults are in the schema.
    let limit = get_value(&mut c, &format!("{BYPASS}/config/max-entries")).await;
    assert_eq!(limit.ok(), Some(json!(100000)));

    set_update(
        &mut c,
        &format!("{BYPASS}/config"),
        json!({"max-entries-per-access-list": 4, "max-entries": 6}),
    )
    .await
    .unwrap();
    set_update(&mut c, &acl_path("A"), entries("A", 1..=4))
        .await
        .unwrap();

    let cases: [(&str, Value, &str); 3] = [
        // A fifth entry in A.
        ("A", entries("A", 5..=5), "max-entries-per-access-list"),
        // Within B's own limit, over the total (4 + 3 > 6).
        ("B", entries("B", 1..=3), "bypass/config/max-entries"),
        // A whole list over the per-list limit.
        ("C", entries("C", 1..=5), "max-entries-per-access-list"),
    ];
    for (acl, body, needle) in cases {
        let (before, _) = running_config(&mut c).await;
        let err = set_update(&mut c, &acl_path(acl), body).await.unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted, "{acl}: {err:?}");
        assert!(err.message().contains(needle), "{acl}: {}", err.message());
        assert!(err.message().len() < 1024);
        let (after, _) = running_config(&mut c).await;
        assert_eq!(
            before, after,
            "{acl}: a refused Set changed the configuration"
        );
    }

    // Lowering a limit below what is stored is refused the same way.
    let err = c
        .set(SetRequest {
            update: vec![update(
                &format!("{BYPASS}/config/max-entries-per-access-list"),
                json!(3),
            )],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");

    // Within both limits: accepted.
    set_update(&mut c, &acl_path("B"), entries("B", 1..=2))
        .await
        .unwrap();
    // Freeing room (a delete in the same Set) lets an entry in.
    c.set(SetRequest {
        delete: vec![path(&format!(
            "{}/entries/entry[sequence=1]",
            acl_path("A")
        ))],
        update: vec![update(&acl_path("B"), entries("B", 3..=3))],
        ..Default::default()
    })
    .await
    .unwrap();
}
