//! `tetherctl hash-password` prints what tetherd's users file reader (tether-auth) accepts and
//! verifies: the bare PHC string inside a hand-written entry, and the whole `[[user]]` entry
//! with --user/--role; a wrong password is refused, and an empty one is not hashed.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use tether_auth::{Role, Users};

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tetherctl"))
        .arg("hash-password")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command-line error exits before reading stdin: the pipe may be closed already.
    match child.stdin.take().unwrap().write_all(stdin) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.unwrap(),
    }
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test]
async fn the_entry_is_read_and_verified_by_tether_auth() {
    let entries = stdout(&run(
        &["--user", "alice", "--role", "read-write"],
        b"s3cret with spaces\n",
    )) + &stdout(&run(&["--user", "bob"], b"bob-pw\r\n"));
    let users = Arc::new(Users::parse(&entries).unwrap());
    assert_eq!(users.len(), 2);
    let alice = users
        .verify_password("alice", "s3cret with spaces")
        .await
        .unwrap();
    assert_eq!(alice.role, Role::ReadWrite);
    let bob = users.verify_password("bob", "bob-pw").await.unwrap();
    assert_eq!(bob.role, Role::ReadOnly, "read-only is the default role");
    assert!(users.verify_password("alice", "s3cret").await.is_err());
    assert!(users.verify_password("bob", "bob-pw\r").await.is_err());
}

#[tokio::test]
async fn the_bare_hash_fits_a_hand_written_entry() {
    let hash = stdout(&run(&[], b"pw-only-line\nignored second line\n"));
    let hash = hash.trim_end();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let file =
        format!("[[user]]\nname = \"carol\"\nrole = \"read-only\"\npassword_hash = \"{hash}\"\n");
    let users = Arc::new(Users::parse(&file).unwrap());
    assert!(users.verify_password("carol", "pw-only-line").await.is_ok());
    assert!(
        users
            .verify_password("carol", "ignored second line")
            .await
            .is_err()
    );
}

#[test]
fn an_empty_password_is_refused() {
    for input in [&b""[..], b"\n"] {
        let out = run(&[], input);
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("empty password"));
    }
}

#[test]
fn role_needs_a_user() {
    let out = run(&["--role", "read-write"], b"pw\n");
    assert_eq!(out.status.code(), Some(2), "a command-line error");
}
