//! What the rows store: access-list entries valid per the YANG, their paths, and one Set.

use serde_json::{Value, json};
use tether_model::Edit;
use tether_store::{CommitMeta, SledStore, Store};

pub(crate) const ACLS: &str = "/tether-conntrack-bypass:bypass/access-lists";
pub(crate) const GROUP1: &str = "/tether-link-state:link-state/groups/group[id='1']";
/// The small access-list that is not one of the big ones.
pub(crate) const SMALL: &str = "small";

pub(crate) fn acl(name: &str) -> String {
    format!("{ACLS}/access-list[name='{name}']")
}

pub(crate) fn big_name(k: usize) -> String {
    format!("big-{k:03}")
}

/// Entry `seq`, the `i`-th generated entry of the run (addresses and protocol follow `i`).
pub(crate) fn entry(seq: u32, i: usize) -> Value {
    let mut c = json!({
        "sequence": seq,
        "action": if i % 5 == 4 { "deny" } else { "permit" },
        "source-prefix": format!("198.18.{}.{}/32", (i / 256) % 256, i % 256),
        "destination-prefix": format!("198.19.{}.0/24", i % 256),
    });
    match i % 4 {
        0 => {
            c["protocol"] = json!("tcp");
            c["destination-port"] = json!(format!("{}", 1 + i % 65535));
        }
        1 => {
            c["protocol"] = json!("udp");
            c["source-port"] = json!("1024-65535");
            c["destination-port"] = json!("53");
        }
        2 => c["protocol"] = json!("icmp"),
        _ => c["protocol"] = json!("ip"),
    }
    json!({"sequence": seq, "config": c})
}

/// `{"entry": [...]}`: `count` entries with sequences from `first_seq`.
pub(crate) fn entries(first_seq: u32, count: usize, first_i: usize) -> Value {
    let e: Vec<Value> = (0..count)
        .map(|k| entry(first_seq + k as u32, first_i + k))
        .collect();
    json!({ "entry": e })
}

/// A whole access-list as one JSON subtree (the value of an update at `acl(name)`).
pub(crate) fn acl_subtree(name: &str, first_seq: u32, count: usize, first_i: usize) -> Value {
    json!({"name": name, "config": {"name": name}, "entries": entries(first_seq, count, first_i)})
}

/// One line, no table separators, data paths abbreviated, at most 240 characters.
pub(crate) fn short(s: &str) -> String {
    let s = s
        .replace(&format!("{ACLS}/"), "bypass:…/")
        .replace("/tether-link-state:link-state/", "link-state:…/");
    let s: String = s
        .chars()
        .map(|c| match c {
            '|' => '/',
            '\n' | '\r' | '\t' => ' ',
            c => c,
        })
        .collect();
    if s.chars().count() > 240 {
        format!("{}…", s.chars().take(240).collect::<String>())
    } else {
        s
    }
}

pub(crate) fn commit(s: &SledStore, edits: Vec<Edit>) -> Result<(), String> {
    let meta = CommitMeta {
        user: "bench".into(),
        client: "bench".into(),
        ..Default::default()
    };
    s.commit(edits, meta)
        .wait_blocking()
        .map(|_| ())
        .map_err(|e| short(&e.to_string()))
}
