//! The datastore keeps exactly what it acknowledged (issue 13), through gNMI: the three
//! Sets that corrupted the first engine, then refused Sets over several access-lists and
//! link-state groups that must leave the running configuration byte-identical, across a
//! SIGTERM restart and a SIGKILL restart.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::SetRequest;
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tonic::Code;
use tonic::transport::Channel;

const BYPASS: &str = "/tether-conntrack-bypass:bypass";
const LINK_STATE: &str = "/tether-link-state:link-state";

fn acl(name: &str) -> String {
    format!("{BYPASS}/access-lists/access-list[name={name}]")
}

fn entry(name: &str, seq: u32) -> String {
    format!("{}/entries/entry[sequence={seq}]", acl(name))
}

fn group(id: u32) -> String {
    format!("{LINK_STATE}/groups/group[id={id}]")
}

/// Step 1's entry config, exactly as in the issue.
fn entry_a1() -> Value {
    json!({"sequence": 1, "action": "permit", "protocol": "tcp",
           "source-prefix": "198.18.0.0/15", "destination-prefix": "198.19.0.0/24"})
}

/// A complete entry config with a destination port (so that a non-TCP/UDP protocol breaks
/// the entry's `must`).
fn entry_config(seq: u32, protocol: &str, port: &str) -> Value {
    json!({"sequence": seq, "action": "permit", "protocol": protocol,
           "source-prefix": format!("198.18.{seq}.0/24"),
           "destination-prefix": format!("198.19.{seq}.0/24"),
           "destination-port": port})
}

/// Step 2's subtree: access-list b with entries 10 and 11, complete.
fn entries_b() -> Value {
    json!({"entry": [
        {"sequence": 10, "config": entry_config(10, "tcp", "443")},
        {"sequence": 11, "config": entry_config(11, "udp", "53")},
    ]})
}

/// A Set that must be refused with INVALID_ARGUMENT and leave the running configuration
/// byte-identical.
async fn refused(c: &mut GNmiClient<Channel>, what: &str, req: SetRequest) {
    let (before_bytes, before) = crate::common::running_config(c).await;
    let err = c
        .set(req)
        .await
        .expect_err(&format!("{what}: must be refused"));
    assert_eq!(err.code(), Code::InvalidArgument, "{what}: {err}");
    assert!(
        err.message().len() < 2000,
        "{what}: the error echoes too much: {} bytes",
        err.message().len()
    );
    let (after_bytes, after) = crate::common::running_config(c).await;
    assert_eq!(
        after, before,
        "{what}: the refused Set changed the running config"
    );
    assert!(
        after_bytes == before_bytes,
        "{what}: the running config is not byte-identical after the refused Set"
    );
}

/// A Set that must be accepted; returns the running configuration it leaves.
async fn accepted(c: &mut GNmiClient<Channel>, what: &str, req: SetRequest) -> Value {
    c.set(req)
        .await
        .unwrap_or_else(|e| panic!("{what}: must be accepted: {e}"));
    crate::common::running_config(c).await.1
}

fn updates(list: Vec<(&str, Value)>) -> SetRequest {
    SetRequest {
        update: list.into_iter().map(|(p, v)| update(p, v)).collect(),
        ..Default::default()
    }
}

/// SIGTERM, and wait for a clean exit.
async fn sigterm(d: Daemon) {
    let status = crate::common::sigterm(d).await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

/// Steps 1 and 2 of issue 13: access-list a with entry 1 (one Set of two updates), then
/// access-list b's entries as one JSON subtree.
async fn issue_13_steps_1_and_2(c: &mut GNmiClient<Channel>) {
    let a_config = format!("{}/config", acl("a"));
    let a1_config = format!("{}/config", entry("a", 1));
    accepted(
        c,
        "step 1",
        updates(vec![
            (&a_config, json!({"name": "a"})),
            (&a1_config, entry_a1()),
        ]),
    )
    .await;
    let b_entries = format!("{}/entries", acl("b"));
    accepted(c, "step 2", updates(vec![(&b_entries, entries_b())])).await;
}

/// The exact reproduction of issue 13: the third, valid Set was refused and yet half-applied.
#[tokio::test]
async fn issue_13_a_remark_after_a_second_access_list_is_applied_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;

    issue_13_steps_1_and_2(&mut c).await;
    let a1_config = format!("{}/config", entry("a", 1));
    let b_entries = format!("{}/entries", acl("b"));
    let b_before = get_value(&mut c, &b_entries).await.unwrap();

    // Step 3: one leaf. Valid, so it must succeed and change exactly that leaf.
    let remark = format!("{}/config/remark", entry("a", 1));
    set_update(&mut c, &remark, json!("r"))
        .await
        .expect("step 3 (a valid one-leaf Set) is accepted");
    let mut want = entry_a1();
    want["remark"] = json!("r");
    assert_eq!(
        get_value(&mut c, &a1_config).await.unwrap(),
        want,
        "entry 1 keeps every leaf and gains the remark"
    );
    assert_eq!(
        normalize(get_value(&mut c, &b_entries).await.unwrap()),
        normalize(b_before),
        "access-list b is untouched"
    );

    // Later Sets to the bypass module still work.
    set_update(&mut c, &remark, json!("r2"))
        .await
        .expect("a later bypass Set is accepted");
    let acknowledged = crate::common::running_config(&mut c).await.1;

    drop(c);
    sigterm(d).await;
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        crate::common::running_config(&mut c).await.1,
        acknowledged,
        "after SIGTERM and restart the config is what was acknowledged"
    );
}

/// Refused Sets over three access-lists and two link-state groups leave the running config
/// byte-identical; restarts (SIGTERM, SIGKILL) give back exactly the acknowledged config.
#[tokio::test]
async fn refused_sets_leave_no_trace_and_restarts_keep_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;

    // ===== the three Sets of issue 13 =====
    issue_13_steps_1_and_2(&mut c).await;
    let b_entries = format!("{}/entries", acl("b"));
    let a1_remark = format!("{}/config/remark", entry("a", 1));
    accepted(&mut c, "step 3", updates(vec![(&a1_remark, json!("r"))])).await;

    // ===== a third access-list, classes, a policy, service-policies, two groups =====
    let c_entries: Vec<Value> = (1..=6)
        .map(|s| json!({"sequence": s * 10, "config": entry_config(s * 10, "tcp", "1024-65535")}))
        .collect();
    let bypass = json!({
        "access-lists": {"access-list": [{"name": "c", "config": {"name": "c"},
            "entries": {"entry": c_entries}}]},
        "classes": {"class": [
            {"name": "cls-a", "config": {"name": "cls-a", "match-access-list": "a"}},
            {"name": "cls-c", "config": {"name": "cls-c", "match-access-list": "c"}}]},
        "policies": {"policy": [{"name": "pol", "config": {"name": "pol"},
            "classes": {"class": [{"name": "cls-a",
                "config": {"name": "cls-a", "tcp-state-bypass": true, "idle-timeout": 900}}]}}]},
        "service-policies": {"service-policy": [
            {"interface": "Inside", "config": {"interface": "Inside", "policy": "pol"}}]}
    });
    let member = |n: &str| json!({"name": n, "config": {"name": n}});
    let link_state = json!({"groups": {"group": [
        {"id": 1, "config": {"id": 1, "enabled": true, "description": "one"},
         "upstream": {"interfaces": {"interface": [member("Po11")]}},
         "downstream": {"interfaces": {"interface": [member("Gi1/1"), member("Gi1/2")]}}},
        {"id": 2, "config": {"id": 2, "enabled": true, "description": "two"},
         "upstream": {"interfaces": {"interface": [member("Po12")]}},
         "downstream": {"interfaces": {"interface": [member("Gi1/3")]}}}]}});
    accepted(
        &mut c,
        "load c, classes, policy, groups",
        updates(vec![(BYPASS, bypass), (LINK_STATE, link_state)]),
    )
    .await;

    // ===== refused Sets, each leaving the config byte-identical =====
    let b10_config = format!("{}/config", entry("b", 10));
    refused(
        &mut c,
        "a remark on b/10 with protocol icmp (a port needs tcp or udp)",
        updates(vec![
            (&format!("{b10_config}/remark"), json!("refused-1")),
            (&format!("{b10_config}/protocol"), json!("icmp")),
        ]),
    )
    .await;
    refused(
        &mut c,
        "a class matching a missing access-list",
        updates(vec![(
            &format!("{BYPASS}/classes/class[name=cls-z]/config"),
            json!({"name": "cls-z", "match-access-list": "zz"}),
        )]),
    )
    .await;
    refused(
        &mut c,
        "a valid description with Po11 also downstream of group 2",
        updates(vec![
            (
                &format!("{}/config/description", group(1)),
                json!("refused-2"),
            ),
            (
                &format!(
                    "{}/downstream/interfaces/interface[name=Po11]/config",
                    group(2)
                ),
                json!({"name": "Po11"}),
            ),
        ]),
    )
    .await;
    refused(
        &mut c,
        "deleting access-list a that class cls-a matches",
        SetRequest {
            delete: vec![path(&acl("a"))],
            ..Default::default()
        },
    )
    .await;
    refused(
        &mut c,
        "replacing b's entries with one that lacks its mandatory action",
        SetRequest {
            replace: vec![update(
                &b_entries,
                json!({"entry": [{"sequence": 12, "config": {"sequence": 12, "protocol": "tcp"}}]}),
            )],
            ..Default::default()
        },
    )
    .await;
    refused(
        &mut c,
        "a remark in c with a bad prefix in a",
        updates(vec![
            (
                &format!("{}/config/remark", entry("c", 30)),
                json!("refused-3"),
            ),
            (
                &format!("{}/config/source-prefix", entry("a", 1)),
                json!("198.18.0.0/99"),
            ),
        ]),
    )
    .await;

    // ===== valid Sets in between still apply whole =====
    accepted(
        &mut c,
        "b/12 added, b/11 deleted, a remark in c",
        SetRequest {
            delete: vec![path(&entry("b", 11))],
            update: vec![
                update(
                    &format!("{}/config", entry("b", 12)),
                    entry_config(12, "udp", "123"),
                ),
                update(&format!("{}/config/remark", entry("c", 30)), json!("c30")),
            ],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        get_value(&mut c, &format!("{}/config", entry("a", 1)))
            .await
            .unwrap(),
        {
            let mut v = entry_a1();
            v["remark"] = json!("r");
            v
        },
        "a/1 is untouched by Sets to b and c"
    );
    let acknowledged = accepted(
        &mut c,
        "group 2's description",
        updates(vec![(
            &format!("{}/config/description", group(2)),
            json!("two, edited"),
        )]),
    )
    .await;
    for marker in ["refused-1", "refused-2", "refused-3", "zz", "198.18.0.0/99"] {
        assert!(
            !acknowledged.to_string().contains(marker),
            "{marker} from a refused Set is in the running config"
        );
    }

    // ===== SIGTERM restart =====
    drop(c);
    sigterm(d).await;
    let mut d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        crate::common::running_config(&mut c).await.1,
        acknowledged,
        "after SIGTERM and restart the config is what was acknowledged"
    );
    refused(
        &mut c,
        "after the restart: protocol icmp on b/12 (it has a port)",
        updates(vec![(
            &format!("{}/config/protocol", entry("b", 12)),
            json!("icmp"),
        )]),
    )
    .await;

    // ===== SIGKILL restart =====
    drop(c);
    d.kill9();
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        crate::common::running_config(&mut c).await.1,
        acknowledged,
        "after SIGKILL and restart the config is what was acknowledged"
    );

    // ===== and further Sets work, in both modules =====
    let after = accepted(
        &mut c,
        "after both restarts",
        updates(vec![
            (&format!("{}/config/remark", entry("b", 10)), json!("b10")),
            (
                &format!("{}/config/description", group(1)),
                json!("one, edited"),
            ),
        ]),
    )
    .await;
    assert_eq!(
        get_value(&mut c, &format!("{}/config/remark", entry("b", 10)))
            .await
            .unwrap(),
        json!("b10")
    );
    assert_ne!(after, acknowledged);
}
