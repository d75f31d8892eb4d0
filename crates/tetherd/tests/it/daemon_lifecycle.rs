//! Durability across a crash, graceful SIGTERM, and refusals at start-up.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::process::Command;
use std::time::Duration;

use crate::common::*;
use serde_json::json;
use tether_proto::gnmi::{SubscribeRequest, Subscription, SubscriptionList, subscribe_request};
use tokio_stream::wrappers::ReceiverStream;

#[tokio::test]
async fn acknowledged_set_survives_kill_9_and_sigterm_drains() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]/config/description",
        json!("before crash"),
    )
    .await
    .unwrap();
    d.kill9();

    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        get_value(&mut c, "/link-state/groups/group[id=1]/config/description")
            .await
            .unwrap(),
        json!("before crash")
    );
    assert_eq!(
        normalize(get_value(&mut c, "/bypass").await.unwrap()),
        normalize(scenario_bypass())
    );

    // An open STREAM subscription does not hold up a SIGTERM.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(path("/link-state")),
                mode: 1,
                ..Default::default()
            }],
            encoding: 4,
            ..Default::default()
        })),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut s = c
        .subscribe(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let _ = s.message().await.unwrap();
    let started = std::time::Instant::now();
    // `sigterm` waits on a blocking thread, so this runtime keeps serving the client's
    // connection meanwhile.
    let status = sigterm(d).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "drained in {:?}",
        started.elapsed()
    );
    assert!(status.success(), "exit status {status:?}");
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.message().await {
                Ok(Some(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
    })
    .await
    .expect("stream ends");
    if let Err(e) = end {
        assert!(
            matches!(
                e.code(),
                tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
            ),
            "{e:?}"
        );
    }
}

fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tetherd"))
        .args(["--data-dir", dir.path().join("d").to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn refuses_plaintext_off_loopback_and_unreadable_tls_files() {
    // (`--dataplane linux` is exercised only inside the network namespaces of
    // crates/tether-dataplane-linux/tests and tests/netns: never on the test host itself.)
    let e = refused(&["--listen", "0.0.0.0:0"]);
    assert!(e.contains("--insecure"), "{e}");
    let e = refused(&[
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--tls-key",
        "/nonexistent/key.pem",
    ]);
    assert!(e.contains("/nonexistent/cert.pem"), "{e}");
}

/// `tetherd check --data-dir DIR`: sound after a clean stop; a damaged leaf table is named,
/// refused at start-up, and repaired by `--restore`.
#[tokio::test]
async fn tetherd_check_reports_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    load_scenario(&mut c).await;
    let before = whole_config(&mut c).await;
    drop(c);
    let status = sigterm(d).await;
    assert!(status.success(), "{status:?}");
    let check = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tetherd"))
            .args(["check", "--data-dir", data.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let ok = check(&[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("sound"));

    // Damage the leaf table behind tetherd's back: one leaf gone.
    let victim = {
        let db = sled::open(&data).unwrap();
        let t = db.open_tree("config").unwrap();
        let (k, _) = t.iter().next().unwrap().unwrap();
        t.remove(&k).unwrap();
        db.flush().unwrap();
        String::from_utf8(k.to_vec()).unwrap()
    };
    let bad = check(&[]);
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stdout).to_string();
    assert!(
        text.contains("NOT sound") && text.contains(&victim),
        "{text}"
    );
    assert!(
        Daemon::start_in(&data, &[]).is_err(),
        "tetherd must refuse a datastore that fails the check"
    );

    let fixed = check(&["--restore"]);
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stdout)
    );
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(whole_config(&mut c).await, before);
}
