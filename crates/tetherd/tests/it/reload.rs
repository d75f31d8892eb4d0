//! SIGHUP (systemd's `ExecReload=`): the users file and the TLS certificates are read again,
//! new logins and new connections use them, and a Subscribe opened before keeps streaming.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

use crate::common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::json;
use tether_proto::gnmi::{
    CapabilityRequest, SetRequest, SubscribeRequest, SubscribeResponse, Subscription,
    SubscriptionList, SubscriptionMode, subscribe_request, subscribe_response, subscription_list,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Streaming};

/// A CA and a `localhost` server certificate it signed: (CA PEM, cert PEM, key PEM).
fn server_pki() -> (String, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// Replaces a file the way an operator's tool does: a new file renamed over the old one.
fn replace(path: &FsPath, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

const DESCRIPTION: &str = "/link-state/groups/group[id=3]/config/description";

fn set_description(v: &str) -> SetRequest {
    SetRequest {
        update: vec![update(
            "/link-state/groups/group[id=3]/config",
            json!({"id": 3, "description": v}),
        )],
        ..Default::default()
    }
}

async fn next(s: &mut Streaming<SubscribeResponse>) -> SubscribeResponse {
    tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .expect("a response within 10 s")
        .unwrap()
        .expect("the stream is open")
}

/// The description values an update carries (empty for a sync response).
fn descriptions(r: &SubscribeResponse) -> Vec<serde_json::Value> {
    match &r.response {
        Some(subscribe_response::Response::Update(n)) => n.update.iter().map(value_of).collect(),
        _ => vec![],
    }
}

#[tokio::test]
async fn sighup_reloads_users_and_certificates_and_open_streams_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let file = |n: &str| -> PathBuf { dir.path().join(n) };
    let (ca_a, cert_a, key_a) = server_pki();
    let (ca_b, cert_b, key_b) = server_pki();
    std::fs::write(file("server.pem"), &cert_a).unwrap();
    std::fs::write(file("server.key"), &key_a).unwrap();
    std::fs::write(
        file("users.toml"),
        users_toml(&[("admin", "admin-pw", "read-write")]),
    )
    .unwrap();
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let d = Daemon::start_with(&[
        "--tls-cert",
        &s(file("server.pem")),
        "--tls-key",
        &s(file("server.key")),
        "--users",
        &s(file("users.toml")),
    ]);

    // Before: admin sets, and opens a STREAM on the description over a connection on cert A.
    let mut old = tls_client(&d, &ca_a, None).await.unwrap();
    old.set(with_user(set_description("before"), "admin", "admin-pw"))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(path(DESCRIPTION)),
                mode: SubscriptionMode::OnChange as i32,
                ..Default::default()
            }],
            mode: subscription_list::Mode::Stream as i32,
            encoding: 4,
            ..Default::default()
        })),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut stream = old
        .subscribe(with_user(ReceiverStream::new(rx), "admin", "admin-pw"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        descriptions(&next(&mut stream).await),
        vec![json!("before")]
    );
    assert!(descriptions(&next(&mut stream).await).is_empty(), "sync");

    // The operator changes admin's password, adds ops, and rolls the certificate to CA B.
    replace(
        &file("users.toml"),
        &users_toml(&[
            ("admin", "admin-pw-2", "read-write"),
            ("ops", "ops-pw", "read-write"),
        ]),
    );
    replace(&file("server.pem"), &cert_b);
    replace(&file("server.key"), &key_b);
    d.signal("HUP");
    d.wait_log("SIGHUP: reload done", 1).await;
    d.wait_log("users file reloaded", 1).await;
    d.wait_log("TLS certificates reloaded", 1).await;

    // New connections get certificate B: a client trusting only CA A cannot connect.
    let refused = match tls_client(&d, &ca_a, None).await {
        Err(_) => true,
        Ok(mut c) => c.capabilities(CapabilityRequest::default()).await.is_err(),
    };
    assert!(
        refused,
        "after the reload the server presents the new certificate"
    );
    let mut new = tls_client(&d, &ca_b, None).await.unwrap();
    // New logins use the new users file: the old password is refused, the new user gets in.
    assert_eq!(
        new.set(with_user(set_description("x"), "admin", "admin-pw"))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    new.set(with_user(set_description("after"), "ops", "ops-pw"))
        .await
        .unwrap();

    // The stream opened before the reload, on the connection made with cert A, still streams.
    assert_eq!(descriptions(&next(&mut stream).await), vec![json!("after")]);
    // And that connection still carries new RPCs, authenticated against the new file.
    old.set(with_user(
        set_description("old conn"),
        "admin",
        "admin-pw-2",
    ))
    .await
    .unwrap();
    assert_eq!(
        descriptions(&next(&mut stream).await),
        vec![json!("old conn")]
    );

    // A broken users file or certificate on SIGHUP changes nothing and says why.
    std::fs::write(file("users.toml"), "[[user]]\nname = \"half\"\n").unwrap();
    std::fs::write(file("server.pem"), "not a certificate").unwrap();
    d.signal("HUP");
    d.wait_log("SIGHUP: reload done", 2).await;
    d.wait_log("the users in force stay", 1).await;
    d.wait_log("the TLS certificates in force stay", 1).await;
    let mut again = tls_client(&d, &ca_b, None).await.unwrap();
    again
        .set(with_user(set_description("still"), "ops", "ops-pw"))
        .await
        .unwrap();
    assert_eq!(descriptions(&next(&mut stream).await), vec![json!("still")]);
    drop(tx);
}
