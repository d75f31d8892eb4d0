//! Username/password roles, TLS and mutual TLS against a real tetherd.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use crate::common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::json;
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{CapabilityRequest, GetRequest, SetRequest};
use tonic::Code;
use tonic::transport::Channel;

/// A users file with `viewer` (read-only, password view-pw) and `admin` (read-write,
/// admin-pw).
fn users_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let users = dir.path().join("users.toml");
    std::fs::write(
        &users,
        users_toml(&[
            ("viewer", "view-pw", "read-only"),
            ("admin", "admin-pw", "read-write"),
        ]),
    )
    .unwrap();
    users
}

#[tokio::test]
async fn roles_from_the_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(&dir);
    let d = Daemon::start_with(&["--users", users.to_str().unwrap()]);
    let mut c = d.client().await;
    let desc = |v: &str| SetRequest {
        update: vec![update(
            "/link-state/groups/group[id=3]/config",
            json!({"id": 3, "description": v}),
        )],
        ..Default::default()
    };

    assert_eq!(
        c.capabilities(CapabilityRequest::default())
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        c.get(with_user(GetRequest::default(), "admin", "wrong"))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        c.set(with_user(desc("x"), "nobody", "x"))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        c.set(with_user(desc("x"), "viewer", "view-pw"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    c.set(with_user(desc("by admin"), "admin", "admin-pw"))
        .await
        .unwrap();
    let r = c
        .get(with_user(
            GetRequest {
                path: vec![path("/link-state/groups/group[id=3]/config/description")],
                encoding: 4,
                ..Default::default()
            },
            "viewer",
            "view-pw",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(value_of(&r.notification[0].update[0]), json!("by admin"));
}

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["tester".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        dir,
    }
}

async fn pki_client(
    d: &Daemon,
    pki: &Pki,
    with_cert: bool,
) -> Result<GNmiClient<Channel>, tonic::transport::Error> {
    let identity = with_cert.then_some((pki.client_cert.as_str(), pki.client_key.as_str()));
    tls_client(d, &pki.ca_pem, identity).await
}

#[tokio::test]
async fn tls_and_mutual_tls() {
    let pki = pki();
    let file = |n: &str| pki.dir.path().join(n).to_str().unwrap().to_string();
    let (cert, key, ca) = (file("server.pem"), file("server.key"), file("ca.pem"));

    let d = Daemon::start_with(&["--tls-cert", &cert, "--tls-key", &key]);
    let mut c = pki_client(&d, &pki, false).await.unwrap();
    assert!(c.capabilities(CapabilityRequest::default()).await.is_ok());
    // Plaintext against a TLS port fails.
    let mut plain = GNmiClient::connect(format!("http://{}", d.addr))
        .await
        .unwrap();
    assert!(
        plain
            .capabilities(CapabilityRequest::default())
            .await
            .is_err()
    );

    let m = Daemon::start_with(&["--tls-cert", &cert, "--tls-key", &key, "--tls-ca", &ca]);
    let mut c = pki_client(&m, &pki, true).await.unwrap();
    load_scenario(&mut c).await;
    assert!(c.capabilities(CapabilityRequest::default()).await.is_ok());
    // Without a client certificate: refused during the handshake or on the first call.
    let refused = match pki_client(&m, &pki, false).await {
        Err(_) => true,
        Ok(mut c) => c.capabilities(CapabilityRequest::default()).await.is_err(),
    };
    assert!(refused, "mutual TLS requires a client certificate");
}

#[tokio::test]
async fn admin_and_simulator_services_use_the_same_users_and_roles() {
    use tether_proto::admin::datastore_client::DatastoreClient;
    use tether_proto::admin::{ListCommitsRequest, RollbackRequest};
    use tether_proto::sim::simulator_client::SimulatorClient;
    use tether_proto::sim::{AdvanceClockRequest, GetClockRequest};

    let dir = tempfile::tempdir().unwrap();
    let users = users_file(&dir);
    let d = Daemon::start_with(&["--users", users.to_str().unwrap()]);
    let mut c = d.client().await;
    c.set(with_user(
        SetRequest {
            update: vec![update(
                "/link-state/groups/group[id=3]/config",
                json!({"id": 3}),
            )],
            ..Default::default()
        },
        "admin",
        "admin-pw",
    ))
    .await
    .unwrap();

    let mut admin = DatastoreClient::connect(format!("http://{}", d.addr))
        .await
        .unwrap();
    assert_eq!(
        code(admin.list_commits(ListCommitsRequest { limit: 5 }).await),
        Err(Code::Unauthenticated)
    );
    let commits = admin
        .list_commits(with_user(
            ListCommitsRequest { limit: 5 },
            "viewer",
            "view-pw",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(commits.commits.len(), 1);
    assert_eq!(commits.commits[0].user, "admin");
    let rb = |u: &str, p: &str| {
        with_user(
            RollbackRequest {
                id: 0,
                comment: String::new(),
            },
            u,
            p,
        )
    };
    assert_eq!(
        code(admin.rollback(rb("viewer", "view-pw")).await),
        Err(Code::PermissionDenied)
    );
    assert_eq!(
        code(admin.rollback(rb("admin", "wrong")).await),
        Err(Code::Unauthenticated)
    );
    admin.rollback(rb("admin", "admin-pw")).await.unwrap();

    let mut sim = SimulatorClient::connect(format!("http://{}", d.addr))
        .await
        .unwrap();
    sim.get_clock(with_user(GetClockRequest {}, "viewer", "view-pw"))
        .await
        .unwrap();
    let adv = |u: &str, p: &str| with_user(AdvanceClockRequest { nanoseconds: 1 }, u, p);
    assert_eq!(
        code(sim.advance_clock(adv("viewer", "view-pw")).await),
        Err(Code::PermissionDenied)
    );
    sim.advance_clock(adv("admin", "admin-pw")).await.unwrap();
}

fn code<T>(r: Result<T, tonic::Status>) -> Result<(), Code> {
    r.map(|_| ()).map_err(|s| s.code())
}
