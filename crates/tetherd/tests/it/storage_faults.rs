//! Storage faults through gNMI (issue 13): a Set that cannot be made durable is refused with
//! RESOURCE_EXHAUSTED (no space) or UNAVAILABLE (read-only, I/O error) and leaves no trace in
//! Get or Subscribe; Sets resume by themselves once the disk is usable again; a restart gives
//! back exactly the acknowledged Sets.
//!
//! The faults are real: a small tmpfs filled by a file, ext4 on a loop device with its journal
//! aborted, and a read-only bind mount. They need root (mount, losetup); without it each test
//! prints why and passes.
//!
//! Kernel facts behind the choice of faults (measured, kernel 6.18):
//! - `mount -o remount,bind,ro` is refused (EBUSY) while a file on that mount is open for
//!   writing, and sled keeps its data file open read-write: a running tetherd cannot be put on
//!   a read-only bind mount. The bind mount test therefore makes the mount read-only while the
//!   daemon is stopped, and only tries the live remount to report it.
//! - `mount -o remount,abort` on ext4 aborts the journal: every later write gets EROFS on the
//!   open files, as after a real journal abort. It cannot be undone without an unmount.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{
    Encoding, SubscribeRequest, Subscription, SubscriptionList, subscribe_request,
    subscribe_response, subscription_list,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

// ===== environment =====

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Why this test cannot run here, if it cannot.
fn missing(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("not root (mount and losetup need root)".into());
    }
    for t in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !found {
            return Some(format!("{t} is not installed"));
        }
    }
    None
}

macro_rules! skip_unless {
    ($($tool:expr),*) => {
        if let Some(why) = missing(&[$($tool),*]) {
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
}

fn sh(cmd: &str) -> Result<String, String> {
    let o = Command::new("sh").args(["-c", cmd]).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.status.success() {
        Ok(text.trim().to_string())
    } else {
        Err(format!("`{cmd}` failed: {}", text.trim()))
    }
}

/// Shell commands run in reverse order when dropped, even on panic: unmounts and loop devices.
/// Declare it after the tempdir and before the daemon, so that the daemon dies first and the
/// directory goes last.
#[derive(Default)]
struct Cleanup(Vec<String>);

impl Cleanup {
    fn push(&mut self, cmd: String) {
        self.0.push(cmd);
    }
    fn umount(&mut self, dir: &FsPath) {
        let d = dir.display();
        self.push(format!(
            "umount {d} || (sleep 1; umount {d}) || umount -l {d}"
        ));
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for cmd in self.0.iter().rev() {
            if let Err(e) = sh(cmd) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

// ===== gNMI helpers =====

const LINK_STATE: &str = "/tether-link-state:link-state";
const BYPASS: &str = "/tether-conntrack-bypass:bypass";

fn description(id: u32) -> String {
    format!("{LINK_STATE}/groups/group[id={id}]/config/description")
}

/// A small configuration in both modules.
async fn load_base(c: &mut GNmiClient<Channel>) {
    let entry = |seq: u32| {
        json!({"sequence": seq, "config": {"sequence": seq, "action": "permit", "protocol": "tcp",
               "source-prefix": format!("198.18.{seq}.0/24"),
               "destination-prefix": format!("198.19.{seq}.0/24")}})
    };
    let acl = |name: &str, seqs: &[u32]| {
        json!({"name": name, "config": {"name": name},
               "entries": {"entry": seqs.iter().map(|s| entry(*s)).collect::<Vec<_>>()}})
    };
    let member = |n: &str| json!({"name": n, "config": {"name": n}});
    c.set(tether_proto::gnmi::SetRequest {
        update: vec![
            update(
                BYPASS,
                json!({"access-lists": {"access-list": [acl("a", &[1, 2]), acl("b", &[10, 11, 12])]},
                       "classes": {"class": [{"name": "cls", "config": {"name": "cls", "match-access-list": "a"}}]}}),
            ),
            update(
                LINK_STATE,
                json!({"groups": {"group": [
                    {"id": 1, "config": {"id": 1, "description": "one"},
                     "upstream": {"interfaces": {"interface": [member("Po11")]}},
                     "downstream": {"interfaces": {"interface": [member("Gi1/1")]}}},
                    {"id": 2, "config": {"id": 2, "description": "two"},
                     "upstream": {"interfaces": {"interface": [member("Po12")]}}}]}}),
            ),
        ],
        ..Default::default()
    })
    .await
    .expect("base config");
}

/// The running configuration (CONFIG Get of `/`), list order normalised.
async fn running(c: &mut GNmiClient<Channel>) -> Value {
    crate::common::running_config(c).await.1
}

/// Every path and value a Subscribe ONCE of both modules sends before its sync_response.
async fn subscribe_once(d: &Daemon) -> String {
    let mut c = d.client().await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: [LINK_STATE, BYPASS]
                .iter()
                .map(|p| Subscription {
                    path: Some(path(p)),
                    ..Default::default()
                })
                .collect(),
            mode: subscription_list::Mode::Once as i32,
            encoding: Encoding::JsonIetf as i32,
            ..Default::default()
        })),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut s = c
        .subscribe(ReceiverStream::new(rx))
        .await
        .expect("Subscribe answers")
        .into_inner();
    let mut seen = String::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), s.message())
            .await
            .expect("Subscribe ONCE answers in time")
            .expect("Subscribe ONCE stream")
            .expect("sync_response before the end");
        match m.response {
            Some(subscribe_response::Response::SyncResponse(true)) => return seen,
            Some(subscribe_response::Response::Update(n)) => {
                for u in &n.update {
                    seen.push_str(&format!("{:?} = {}\n", u.path, value_of(u)));
                }
            }
            _ => {}
        }
    }
}

/// Get and Subscribe show exactly `acknowledged` and no trace of `refused`.
async fn shows_only_acknowledged(d: &Daemon, acknowledged: &Value, refused: &str, when: &str) {
    let mut c = d.client().await;
    assert_eq!(
        &running(&mut c).await,
        acknowledged,
        "{when}: Get shows the acknowledged config"
    );
    let seen = subscribe_once(d).await;
    assert!(
        !seen.contains(refused),
        "{when}: Subscribe ONCE shows the refused value {refused}"
    );
    assert!(
        seen.contains("Po11"),
        "{when}: Subscribe ONCE shows the config"
    );
}

/// Sets of `description(1)` with fresh values until one is refused; the accepted ones become
/// the acknowledged config. Returns the refused value and its status.
async fn set_until_refused(
    c: &mut GNmiClient<Channel>,
    acknowledged: &mut Value,
    tag: &str,
) -> (String, tonic::Status) {
    for i in 0..400 {
        // Long values eat the space sled still had in its last page.
        let value = format!("{tag}-{i:04}-{}", "x".repeat(200));
        match set_update(c, &description(1), json!(value)).await {
            Ok(_) => *acknowledged = running(c).await,
            Err(status) => return (value, status),
        }
    }
    panic!("{tag}: 400 Sets accepted on a faulty disk");
}

/// Retries one Set until it is accepted (the disk is usable again), without restarting.
async fn set_resumes(c: &mut GNmiClient<Channel>, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match set_update(c, &description(2), json!(value)).await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => {
                assert!(
                    matches!(e.code(), Code::ResourceExhausted | Code::Unavailable),
                    "a Set while the disk recovers: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("Sets did not resume within 20 s without a restart: {e}"),
        }
    }
}

/// Writes zeros to `file` until the file system is full.
fn fill(file: &FsPath) {
    let mut f = std::fs::File::create(file).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = f.write_all(&chunk) {
            assert_eq!(
                e.raw_os_error(),
                Some(28),
                "filler stops on ENOSPC, not {e}"
            );
            // the last partial chunk may have left a few bytes
            let small = vec![0u8; 512];
            while f.write_all(&small).is_ok() {}
            return;
        }
    }
}

// ===== (a) no space =====

#[tokio::test]
async fn full_disk_refuses_with_resource_exhausted_and_recovers_without_restart() {
    skip_unless!();
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mut cleanup = Cleanup::default();
    sh(&format!(
        "mount -t tmpfs -o size=8m tmpfs {}",
        mnt.display()
    ))
    .unwrap();
    cleanup.umount(&mnt);
    let data = mnt.join("data");
    let filler = mnt.join("filler");

    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    load_base(&mut c).await;
    let mut acknowledged = running(&mut c).await;

    fill(&filler);
    let (refused, status) = set_until_refused(&mut c, &mut acknowledged, "full").await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(status.message().len() < 500, "{}", status.message());
    shows_only_acknowledged(&d, &acknowledged, &refused, "disk full").await;

    // Still full: still refused, still no trace.
    let err = set_update(&mut c, &description(2), json!("refused-again"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    shows_only_acknowledged(&d, &acknowledged, "refused-again", "disk still full").await;

    // Space comes back: Sets resume by themselves.
    std::fs::remove_file(&filler).unwrap();
    set_resumes(&mut c, "after space came back").await;
    acknowledged = running(&mut c).await;
    assert_eq!(
        get_value(&mut c, &description(2)).await.unwrap(),
        json!("after space came back")
    );
    assert!(!acknowledged.to_string().contains(&refused));
    assert!(!acknowledged.to_string().contains("refused-again"));

    // A restart gives back exactly the acknowledged Sets, after SIGTERM and after SIGKILL.
    drop(c);
    let status = sigterm(d).await;
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let mut d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        running(&mut c).await,
        acknowledged,
        "after SIGTERM + restart"
    );
    set_update(&mut c, &description(1), json!("after restart"))
        .await
        .unwrap();
    acknowledged = running(&mut c).await;
    drop(c);
    d.kill9();
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        running(&mut c).await,
        acknowledged,
        "after SIGKILL + restart"
    );
}

// ===== (b) read-only at run time: ext4 journal abort =====

/// An ext4 file system on a loop device over a sparse file in `dir`, mounted on `mnt`.
fn ext4_on_loop(dir: &FsPath, mnt: &FsPath, cleanup: &mut Cleanup) -> String {
    let img = dir.join("disk.img");
    sh(&format!(
        "truncate -s 64M {img} && mkfs.ext4 -q -F {img}",
        img = img.display()
    ))
    .unwrap();
    let dev = sh(&format!("losetup -f --show {}", img.display())).unwrap();
    cleanup.push(format!("losetup -d {dev}"));
    std::fs::create_dir_all(mnt).unwrap();
    sh(&format!(
        "mount -o errors=remount-ro {dev} {}",
        mnt.display()
    ))
    .unwrap();
    cleanup.umount(mnt);
    dev
}

#[tokio::test]
async fn journal_abort_refuses_with_unavailable_and_a_restart_keeps_the_acknowledged_config() {
    skip_unless!("losetup", "mkfs.ext4", "e2fsck");
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let mut cleanup = Cleanup::default();
    let dev = ext4_on_loop(dir.path(), &mnt, &mut cleanup);
    let data = mnt.join("data");

    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    load_base(&mut c).await;
    let mut acknowledged = running(&mut c).await;

    sh(&format!("mount -o remount,abort {}", mnt.display())).unwrap();
    let (refused, status) = set_until_refused(&mut c, &mut acknowledged, "aborted").await;
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(status.message().len() < 500, "{}", status.message());
    shows_only_acknowledged(&d, &acknowledged, &refused, "journal aborted").await;
    let err = set_update(&mut c, &description(2), json!("refused-again"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    shows_only_acknowledged(&d, &acknowledged, "refused-again", "still aborted").await;

    // An aborted journal is repaired offline only: stop, unmount, fsck, mount, start.
    drop(c);
    let status = sigterm(d).await;
    eprintln!("tetherd exit status after SIGTERM on an aborted journal: {status:?}");
    sh(&format!("umount {}", mnt.display())).unwrap();
    // e2fsck exits 1 when it repaired something
    let fsck = Command::new("e2fsck").args(["-fy", &dev]).output().unwrap();
    assert!(
        matches!(fsck.status.code(), Some(0 | 1)),
        "e2fsck: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    sh(&format!("mount {dev} {}", mnt.display())).unwrap();

    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        running(&mut c).await,
        acknowledged,
        "after the repair the config is exactly the acknowledged Sets"
    );
    set_update(&mut c, &description(2), json!("after repair"))
        .await
        .expect("Sets work after the repair");
}

// ===== (c) read-only bind mount =====

/// Starts tetherd on `data` if it starts; otherwise its stderr.
fn start_or_stderr(data: &FsPath) -> Result<Daemon, String> {
    match Daemon::start_in(data, &[]) {
        Ok(d) => Ok(d),
        Err(_) => {
            let mut child = Command::new(env!("CARGO_BIN_EXE_tetherd"))
                .args([
                    "--data-dir",
                    data.to_str().unwrap(),
                    "--listen",
                    "127.0.0.1:0",
                    "--netconf-listen",
                    "127.0.0.1:0",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    let out = child.wait_with_output().unwrap();
                    return Err(String::from_utf8_lossy(&out.stderr).into_owned());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("tetherd neither started nor exited on a read-only data dir");
        }
    }
}

#[tokio::test]
async fn read_only_bind_mount_refuses_writes_and_rw_brings_them_back() {
    skip_unless!();
    let dir = tempfile::tempdir().unwrap();
    let ro: PathBuf = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut cleanup = Cleanup::default();
    sh(&format!("mount --bind {d} {d}", d = ro.display())).unwrap();
    cleanup.umount(&ro);
    let data = ro.join("data");
    let remount = |mode: &str| sh(&format!("mount -o remount,bind,{mode} {}", ro.display()));

    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    load_base(&mut c).await;
    let mut acknowledged = running(&mut c).await;

    // While tetherd runs: the kernel refuses (EBUSY) as long as sled holds its file open for
    // writing. Should it ever succeed, the Set must be refused with UNAVAILABLE.
    let d = match remount("ro") {
        Err(e) => {
            eprintln!("live read-only remount refused, as expected with open files: {e}");
            d
        }
        Ok(_) => {
            let (refused, status) = set_until_refused(&mut c, &mut acknowledged, "ro").await;
            assert_eq!(status.code(), Code::Unavailable, "{status}");
            shows_only_acknowledged(&d, &acknowledged, &refused, "read-only").await;
            remount("rw").unwrap();
            set_resumes(&mut c, "after rw").await;
            acknowledged = running(&mut c).await;
            d
        }
    };

    // With tetherd stopped, the remount works: start on a read-only data dir.
    drop(c);
    let status = sigterm(d).await;
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    remount("ro").unwrap();
    assert!(
        std::fs::File::create(ro.join("probe")).is_err(),
        "the bind mount is read-only"
    );
    let d = match start_or_stderr(&data) {
        // Refusing to start is fine if it says why.
        Err(stderr) => {
            assert!(
                stderr.to_lowercase().contains("read-only"),
                "tetherd refused to start on a read-only data dir without saying why:\n{stderr}"
            );
            remount("rw").unwrap();
            Daemon::start_in(&data, &[]).unwrap()
        }
        // Serving is fine if Get works and Sets are UNAVAILABLE until the disk is writable.
        Ok(d) => {
            let mut c = d.client().await;
            assert_eq!(running(&mut c).await, acknowledged, "read-only boot");
            let err = set_update(&mut c, &description(1), json!("refused-ro"))
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::Unavailable, "{err}");
            shows_only_acknowledged(&d, &acknowledged, "refused-ro", "read-only boot").await;
            remount("rw").unwrap();
            set_resumes(&mut c, "after rw").await;
            acknowledged = running(&mut c).await;
            d
        }
    };
    let mut c = d.client().await;
    assert_eq!(running(&mut c).await, acknowledged);
    drop(c);
    let status = sigterm(d).await;
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let d = Daemon::start_in(&data, &[]).unwrap();
    let mut c = d.client().await;
    assert_eq!(
        running(&mut c).await,
        acknowledged,
        "after the restart: exactly the acknowledged Sets"
    );
    set_update(&mut c, &description(1), json!("rw again"))
        .await
        .expect("Sets work on the writable disk");
}
