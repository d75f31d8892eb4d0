#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::json;
use tether_model::{Edit, ModelError, Schema, SchemaOptions};
use tether_proto::admin::datastore_client::DatastoreClient;
use tether_store::{CommitMeta, SledStore, Store, StoreError, StoreOptions};
use tonic::Code;
use tonic::metadata::MetadataValue;

use super::*;

const GROUP: &str = "/tether-link-state:link-state/groups/group[id='1']/config";

fn open(dir: &std::path::Path) -> Arc<dyn Store> {
    let schema = Schema::load(SchemaOptions { simulation: true }).unwrap();
    Arc::new(SledStore::open(schema, StoreOptions::new(dir)).unwrap())
}

async fn commit(store: &Arc<dyn Store>, value: serde_json::Value, user: &str) -> u64 {
    let meta = CommitMeta {
        user: user.into(),
        client: "198.18.0.1:5000".into(),
        ..CommitMeta::default()
    };
    store
        .commit(vec![Edit::update(GROUP, value)], meta)
        .wait()
        .await
        .unwrap()
        .id
}

fn with_user<T>(message: T, user: &str) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("username", MetadataValue::try_from(user).unwrap());
    r
}

#[tokio::test]
async fn lists_commits_newest_first_with_their_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = commit(
        &store,
        json!({"id": 1, "description": "TOR uplinks"}),
        "alice",
    )
    .await;
    let second = commit(&store, json!({"id": 1, "description": "core"}), "bob").await;
    let svc = DatastoreService::new(store);

    let all = svc
        .list_commits(Request::new(ListCommitsRequest { limit: 0 }))
        .await
        .unwrap()
        .into_inner()
        .commits;
    assert_eq!(
        all.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    let newest = &all[0];
    assert_eq!(newest.user, "bob");
    assert_eq!(newest.client, "198.18.0.1:5000");
    assert!(newest.time_ns > 0);
    let change = newest
        .changes
        .iter()
        .find(|c| c.path.ends_with("/description"))
        .unwrap();
    assert_eq!(change.old.as_deref(), Some("TOR uplinks"));
    assert_eq!(change.new.as_deref(), Some("core"));
    // The first commit created the group: its leaves had no old value.
    assert!(all[1].changes.iter().all(|c| c.old.is_none()));

    let one = svc
        .list_commits(Request::new(ListCommitsRequest { limit: 1 }))
        .await
        .unwrap()
        .into_inner()
        .commits;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, second);
}

#[tokio::test]
async fn rollback_is_a_new_commit_by_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = commit(
        &store,
        json!({"id": 1, "description": "TOR uplinks"}),
        "alice",
    )
    .await;
    commit(&store, json!({"id": 1, "description": "core"}), "alice").await;
    let svc = DatastoreService::new(store.clone());

    let answer = svc
        .rollback(with_user(
            RollbackRequest {
                id: first,
                comment: String::new(),
            },
            "carol",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.changed_leaves, 1);
    let log = store.commits(1).unwrap();
    assert_eq!(log[0].id, answer.commit_id);
    assert_eq!(log[0].meta.user, "carol");
    assert_eq!(
        log[0].meta.comment.as_deref(),
        Some(&*format!("rollback to {first}"))
    );
    let description = store
        .config()
        .leaves()
        .into_iter()
        .find(|(p, _)| p.ends_with("/description"))
        .map(|(_, v)| v);
    assert_eq!(description.as_deref(), Some("TOR uplinks"));

    // A comment given by the client is kept as is.
    let again = svc
        .rollback(with_user(
            RollbackRequest {
                id: first,
                comment: "undo the core rename".into(),
            },
            "carol",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.changed_leaves, 0, "already at commit {first}");
}

#[tokio::test]
async fn rollback_to_an_unknown_commit_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    commit(&store, json!({"id": 1}), "alice").await;
    let svc = DatastoreService::new(store);
    let err = svc
        .rollback(Request::new(RollbackRequest {
            id: 999,
            comment: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    assert!(err.message().contains("999"), "{err}");
}

#[test]
fn store_errors_map_to_grpc_codes() {
    let cases = [
        (StoreError::UnknownCommit(7), Code::NotFound),
        (
            StoreError::Model(ModelError::Value {
                path: "/x".into(),
                message: "bad".into(),
            }),
            Code::InvalidArgument,
        ),
        (
            StoreError::Model(ModelError::NotFound("/x".into())),
            Code::InvalidArgument,
        ),
        (
            StoreError::Model(ModelError::Internal("libyang".into())),
            Code::Internal,
        ),
        (StoreError::Closed, Code::Unavailable),
        (
            StoreError::NoSpace("No space left on device".into()),
            Code::ResourceExhausted,
        ),
        (
            StoreError::Unavailable("Read-only file system".into()),
            Code::Unavailable,
        ),
        (
            StoreError::Corrupt {
                key: "commit 3".into(),
                message: "bad json".into(),
            },
            Code::Internal,
        ),
    ];
    for (error, code) in cases {
        let text = error.to_string();
        let s = status(error);
        assert_eq!(s.code(), code, "{text}");
        assert_eq!(s.message(), text);
    }
}

/// Over a real connection: the peer address becomes the commit's client.
#[tokio::test]
async fn over_grpc_the_peer_address_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = commit(&store, json!({"id": 1, "description": "a"}), "alice").await;
    commit(&store, json!({"id": 1, "description": "b"}), "alice").await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service(store.clone()))
            .serve_with_incoming(incoming),
    );

    let mut client = DatastoreClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let reply = client
        .rollback(with_user(
            RollbackRequest {
                id: first,
                comment: "tetherctl rollback".into(),
            },
            "dave",
        ))
        .await
        .unwrap()
        .into_inner();
    let listed = client
        .list_commits(ListCommitsRequest { limit: 5 })
        .await
        .unwrap()
        .into_inner()
        .commits;
    assert_eq!(listed[0].id, reply.commit_id);
    assert_eq!(listed[0].user, "dave");
    assert_eq!(listed[0].comment, "tetherctl rollback");
    assert!(
        listed[0].client.starts_with("127.0.0.1:"),
        "{}",
        listed[0].client
    );
    server.abort();
}
