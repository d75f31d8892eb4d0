//! The gNMI Commit extension (gnmi_ext field 4, gnmi-commit-confirmed.md) against a real
//! tetherd, on the store's one confirmed-commit engine: rollback after the duration, confirm,
//! cancel, set_rollback_duration, the refusals (a second commit, a plain Set, nothing
//! pending, a wrong id, a confirm that carries changes), a restart with a commit pending, and
//! the interplay with NETCONF's confirmed commit (the commit id is the persist-id).

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::time::{Duration, Instant};

use crate::common::netconf::{self, Netconf};
use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{SetRequest, SetResponse};
use tether_proto::gnmi_ext::{
    Commit, CommitCancel, CommitConfirm, CommitRequest, CommitSetRollbackDuration, Extension,
    commit::Action, extension::Ext,
};
use tonic::transport::Channel;
use tonic::{Code, Status};

const DESC: &str = "/link-state/groups/group[id=1]/config/description";

fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap(),
        nanos: i32::try_from(d.subsec_nanos()).unwrap(),
    }
}

fn ext(id: &str, action: Action) -> Vec<Extension> {
    vec![Extension {
        ext: Some(Ext::Commit(Commit {
            id: id.into(),
            action: Some(action),
        })),
    }]
}

fn start(rollback: Duration) -> Action {
    Action::Commit(CommitRequest {
        rollback_duration: Some(duration(rollback)),
    })
}

/// A Set of the group's description carrying `extension`.
async fn set_desc(
    c: &mut GNmiClient<Channel>,
    desc: &str,
    extension: Vec<Extension>,
) -> Result<SetResponse, Status> {
    c.set(SetRequest {
        update: vec![update(DESC, json!(desc))],
        extension,
        ..Default::default()
    })
    .await
    .map(tonic::Response::into_inner)
}

/// A Set with no operations carrying `id`'s `action` (confirm, cancel, set_rollback_duration).
async fn act(c: &mut GNmiClient<Channel>, id: &str, action: Action) -> Result<(), Status> {
    c.set(SetRequest {
        extension: ext(id, action),
        ..Default::default()
    })
    .await
    .map(|_| ())
}

async fn desc(c: &mut GNmiClient<Channel>) -> Value {
    get_value(c, DESC).await.unwrap()
}

async fn wait_for_desc(c: &mut GNmiClient<Channel>, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while desc(c).await != json!(want) {
        assert!(Instant::now() < deadline, "the rollback never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ready() -> (Daemon, GNmiClient<Channel>) {
    let d = Daemon::start();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    set_desc(&mut c, "before", vec![]).await.unwrap();
    (d, c)
}

#[tokio::test]
async fn a_commit_not_confirmed_rolls_back_after_its_duration() {
    let (_d, mut c) = ready().await;
    set_desc(
        &mut c,
        "trial",
        ext("c1", start(Duration::from_millis(800))),
    )
    .await
    .unwrap();
    assert_eq!(desc(&mut c).await, json!("trial"));
    // One commit at a time, and no plain Set meanwhile (§3.2.1).
    let e = set_desc(&mut c, "other", ext("c2", start(Duration::from_secs(60))))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let e = set_desc(&mut c, "plain", vec![]).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message().contains("confirmed commit is pending"),
        "{}",
        e.message()
    );
    assert!(
        !e.message().contains("c1"),
        "the id is a token: {}",
        e.message()
    );
    // "A SetRequest call made without extension" (§3.2.1) includes one with no operations:
    // a client that sends it would otherwise be told OK with a rollback about to happen.
    let e = empty_set(&mut c).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(
        e.message().contains("confirmed commit is pending"),
        "{}",
        e.message()
    );
    wait_for_desc(&mut c, "before").await;
    // Then the device takes plain Sets again, and confirming is too late.
    let e = act(&mut c, "c1", Action::Confirm(CommitConfirm {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    empty_set(&mut c).await.unwrap();
    set_desc(&mut c, "after", vec![]).await.unwrap();
}

/// A Set with no operations and no extension.
async fn empty_set(c: &mut GNmiClient<Channel>) -> Result<SetResponse, Status> {
    c.set(SetRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn confirm_keeps_it_and_wrong_ids_are_refused() {
    let (_d, mut c) = ready().await;
    set_desc(&mut c, "kept", ext("c1", start(Duration::from_secs(2))))
        .await
        .unwrap();
    for action in [
        Action::Confirm(CommitConfirm {}),
        Action::Cancel(CommitCancel {}),
        Action::SetRollbackDuration(CommitSetRollbackDuration {
            rollback_duration: Some(duration(Duration::from_secs(5))),
        }),
    ] {
        let e = act(&mut c, "not-c1", action).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    }
    // A confirm cannot amend the commit.
    let e = set_desc(
        &mut c,
        "amended",
        ext("c1", Action::Confirm(CommitConfirm {})),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    act(&mut c, "c1", Action::Confirm(CommitConfirm {}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(desc(&mut c).await, json!("kept"));
    for action in [
        Action::Confirm(CommitConfirm {}),
        Action::Cancel(CommitCancel {}),
    ] {
        let e = act(&mut c, "c1", action).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    }
}

#[tokio::test]
async fn cancel_and_set_rollback_duration() {
    let (d, mut c) = ready().await;
    set_desc(
        &mut c,
        "cancelled",
        ext("c1", start(Duration::from_secs(600))),
    )
    .await
    .unwrap();
    act(&mut c, "c1", Action::Cancel(CommitCancel {}))
        .await
        .unwrap();
    assert_eq!(desc(&mut c).await, json!("before"));
    // A long window shortened: it rolls back at the new deadline.
    set_desc(
        &mut c,
        "shortened",
        ext("c2", start(Duration::from_secs(600))),
    )
    .await
    .unwrap();
    act(
        &mut c,
        "c2",
        Action::SetRollbackDuration(CommitSetRollbackDuration {
            rollback_duration: Some(duration(Duration::from_millis(300))),
        }),
    )
    .await
    .unwrap();
    wait_for_desc(&mut c, "before").await;
    // The log says why each change came.
    let commits = admin_commits(&d).await;
    assert!(
        commits.iter().any(|m| m.contains("cancel-commit")),
        "{commits:?}"
    );
    assert!(
        commits.iter().any(|m| m.contains("not confirmed in time")),
        "{commits:?}"
    );
}

#[tokio::test]
async fn a_restart_with_a_commit_pending_rolls_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    set_desc(&mut c, "before", vec![]).await.unwrap();
    set_desc(
        &mut c,
        "pending",
        ext("c1", start(Duration::from_secs(3600))),
    )
    .await
    .unwrap();
    d.kill9();
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(desc(&mut c).await, json!("before"));
    let e = act(&mut c, "c1", Action::Confirm(CommitConfirm {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
}

fn group_xml(desc: &str) -> String {
    format!(
        "<edit-config><target><candidate/></target><config><link-state \
         xmlns=\"urn:tether:yang:tether-link-state\"><groups><group><id>1</id><config>\
         <description>{desc}</description></config></group></groups></link-state></config>\
         </edit-config>"
    )
}

/// RFC 6241 §8.4.1 decides between NETCONF and gNMI as between two sessions: a confirmed
/// commit made without persist belongs to its session; one made with persist is confirmed or
/// cancelled by whoever gives the persist-id, which is the gNMI commit id.
#[tokio::test]
async fn netconf_and_gnmi_share_the_engine() {
    let (d, mut c) = ready().await;
    let mut nc = Netconf::connect(&netconf::address(&d).await).await;

    nc.ok(&group_xml("nc-session")).await;
    nc.ok("<commit><confirmed/><confirm-timeout>600</confirm-timeout></commit>")
        .await;
    assert_eq!(desc(&mut c).await, json!("nc-session"));
    let e = act(&mut c, "anything", Action::Confirm(CommitConfirm {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("NETCONF session"), "{}", e.message());
    let e = set_desc(&mut c, "gnmi", ext("g", start(Duration::from_secs(60))))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    nc.ok("<cancel-commit/>").await;
    assert_eq!(desc(&mut c).await, json!("before"));

    // With persist, the persist-id is the gNMI commit id.
    nc.ok(&group_xml("nc-persist")).await;
    nc.ok("<commit><confirmed/><persist>shared</persist></commit>")
        .await;
    let e = act(&mut c, "other", Action::Confirm(CommitConfirm {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    act(&mut c, "shared", Action::Confirm(CommitConfirm {}))
        .await
        .unwrap();
    assert_eq!(nc.error_tag("<cancel-commit/>").await, "operation-failed");
    assert_eq!(desc(&mut c).await, json!("nc-persist"));

    // A gNMI confirmed commit: NETCONF edits of running are in-use, and its id confirms it.
    set_desc(&mut c, "gnmi", ext("g1", start(Duration::from_secs(60))))
        .await
        .unwrap();
    assert_eq!(
        nc.error_tag("<commit/>").await,
        "in-use",
        "a plain commit does not confirm a persistent one"
    );
    assert_eq!(
        nc.error_tag("<commit><persist-id>nope</persist-id></commit>")
            .await,
        "invalid-value"
    );
    nc.ok("<cancel-commit><persist-id>g1</persist-id></cancel-commit>")
        .await;
    assert_eq!(desc(&mut c).await, json!("nc-persist"));
}

/// The comments of the newest commits (tether.admin.v1 ListCommits).
async fn admin_commits(d: &Daemon) -> Vec<String> {
    let mut a = tether_proto::admin::datastore_client::DatastoreClient::connect(format!(
        "http://{}",
        d.addr
    ))
    .await
    .unwrap();
    a.list_commits(tether_proto::admin::ListCommitsRequest { limit: 10 })
        .await
        .unwrap()
        .into_inner()
        .commits
        .into_iter()
        .map(|c| c.comment)
        .collect()
}
