//! Model-based test of the edit engine: random, seeded transactions applied both through
//! the engine (`prepare` with its pruned candidate and partial validation, then `install`)
//! and through the reference path with no shortcut (`prepare_reference`: a full copy, every
//! module validated, every leaf compared). After every step the verdicts agree, a refused
//! step leaves the tree byte-identical, the change sets agree, and the installed tree equals
//! the reference tree (with defaults, and leaf for leaf).
//!
//! `TETHER_MODEL_STEPS` (default 5,000) and `TETHER_MODEL_SEED` set the run; a soak is
//! `TETHER_MODEL_STEPS=2000000 cargo test --release -p tether-model --test engine_model`.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::ops::{self, Rng};
use tether_model::{ConfigTree, Schema, SchemaOptions};

fn schema() -> &'static Schema {
    Schema::load(SchemaOptions { simulation: true }).unwrap()
}

fn steps() -> u64 {
    std::env::var("TETHER_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000)
}

fn seed() -> u64 {
    std::env::var("TETHER_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7e7e_4e12)
}

#[test]
fn the_analysis_finds_only_self_contained_lists() {
    let (prunable, reads) = schema().shortcut_report();
    // Entries and interfaces are referenced by nothing and read only themselves;
    // access-lists are read by classes, policies by service-policies, groups' members by the
    // "one group per interface" rules.
    assert_eq!(
        prunable,
        vec![
            "/tether-conntrack-bypass:bypass/access-lists/access-list/entries/entry".to_string(),
            "/tether-interfaces:interfaces/interface".to_string(),
        ],
        "reads: {reads:?}"
    );
    assert!(reads.is_empty(), "no module reads another: {reads:?}");
}

#[test]
fn engine_equals_reference_on_random_transactions() {
    let schema = schema();
    let mut engine = ConfigTree::new(schema);
    let mut reference = ConfigTree::new(schema);
    let mut rng = Rng(seed());
    let (mut accepted, mut refused, mut limited) = (0u64, 0u64, 0u64);
    for step in 0..steps() {
        let edits = ops::random_transaction(&mut rng);
        let before = engine.to_json(true).unwrap();
        let got = engine.prepare(&edits);
        let want = reference.prepare_reference(&edits);
        match (got, want) {
            (Ok(mut p), Ok((tree, want_changes))) => {
                assert_eq!(
                    p.changes(),
                    want_changes.as_slice(),
                    "step {step}: change sets differ for {edits:?}"
                );
                engine.install(&p).unwrap();
                let _ = p.take_changes();
                reference = tree;
                assert_eq!(
                    engine.to_json(true).unwrap(),
                    reference.to_json(true).unwrap(),
                    "step {step}: trees differ after {edits:?}"
                );
                assert_eq!(engine.leaves(), reference.leaves(), "step {step}");
                assert_eq!(
                    engine.leaves(),
                    engine.leaves_by_lyd_path(),
                    "step {step}: leaf paths"
                );
                accepted += 1;
            }
            (Err(e), Err(r)) => {
                assert_eq!(
                    engine.to_json(true).unwrap(),
                    before,
                    "step {step}: a refused step changed the tree"
                );
                assert_eq!(
                    e.to_string(),
                    r.to_string(),
                    "step {step}: the engine and the reference refuse differently: {edits:?}"
                );
                refused += 1;
                limited += u64::from(matches!(e, tether_model::ModelError::LimitExceeded { .. }));
            }
            (got, want) => panic!(
                "step {step}: engine {:?} but reference {:?} for {edits:?}",
                got.map(|p| p.changes().len()),
                want.map(|w| w.1.len())
            ),
        }
    }
    eprintln!(
        "{accepted} accepted, {refused} refused ({limited} by an entry limit), {} leaves at the end",
        engine.leaves().len()
    );
    assert!(
        accepted > steps() / 5 && refused > steps() / 20 && limited > steps() / 500,
        "{accepted} / {refused} / {limited}"
    );
}

/// Runs one transaction through both paths and checks they agree; returns the verdict.
fn both(
    engine: &mut ConfigTree,
    reference: &mut ConfigTree,
    edits: &[tether_model::Edit],
) -> Result<(), String> {
    let got = engine.prepare(edits);
    let want = reference.prepare_reference(edits);
    match (got, want) {
        (Ok(p), Ok((tree, changes))) => {
            assert_eq!(p.changes(), changes.as_slice());
            engine.install(&p).unwrap();
            *reference = tree;
            assert_eq!(
                engine.to_json(true).unwrap(),
                reference.to_json(true).unwrap()
            );
            Ok(())
        }
        (Err(e), Err(r)) => {
            assert_eq!(e.to_string(), r.to_string());
            Err(e.to_string())
        }
        (g, w) => panic!("engine {:?}, reference {:?}", g.err(), w.err()),
    }
}

#[test]
fn issue_13_reproduction_a_leaf_edit_beside_a_second_access_list() {
    use serde_json::json;
    use tether_model::Edit;
    let schema = schema();
    let (mut e, mut r) = (ConfigTree::new(schema), ConfigTree::new(schema));
    let a = ops::acl(100);
    let full = |s: u64| {
        json!({"sequence": s, "action": "permit", "protocol": "tcp",
            "source-prefix": "198.18.0.0/15", "destination-prefix": "198.19.0.0/24"})
    };
    both(
        &mut e,
        &mut r,
        &[
            Edit::update(format!("{a}/config"), json!({"name": "acl100"})),
            Edit::update(format!("{a}/entries/entry[sequence='1']/config"), full(1)),
        ],
    )
    .unwrap();
    both(
        &mut e,
        &mut r,
        &[Edit::update(
            format!("{}/entries", ops::acl(101)),
            json!({"entry": [{"sequence": 10, "config": full(10)}, {"sequence": 11, "config": full(11)}]}),
        )],
    )
    .unwrap();
    both(
        &mut e,
        &mut r,
        &[Edit::update(
            format!("{a}/entries/entry[sequence='1']/config/remark"),
            json!("r"),
        )],
    )
    .unwrap();
    let leaves = e.leaves();
    let entry1 = format!("{a}/entries/entry[sequence='1']/config");
    for leaf in [
        "action",
        "protocol",
        "source-prefix",
        "destination-prefix",
        "remark",
    ] {
        assert!(
            leaves.contains_key(&format!("{entry1}/{leaf}")),
            "{leaf} lost"
        );
    }
    assert_eq!(
        leaves
            .keys()
            .filter(|k| k.starts_with(&ops::acl(101)))
            .count(),
        2 + 2 * 6,
        "the second access-list is intact"
    );
}

#[test]
fn key_values_match_as_libyang_reads_them() {
    use serde_json::json;
    use tether_model::Edit;
    let schema = schema();
    let (mut e, mut r) = (ConfigTree::new(schema), ConfigTree::new(schema));
    let a = ops::acl(1);
    both(
        &mut e,
        &mut r,
        &[Edit::update(
            format!("{a}/entries/entry[sequence='7']/config"),
            json!({"sequence": 7, "action": "deny", "protocol": "udp"}),
        )],
    )
    .unwrap();
    // '07' is the same uint32 key as '7': the edit reaches the existing entry, which keeps
    // its mandatory leaves.
    both(
        &mut e,
        &mut r,
        &[Edit::update(
            format!("{a}/entries/entry[sequence='07']/config/remark"),
            json!("same entry"),
        )],
    )
    .unwrap();
    assert!(
        e.leaves()
            .contains_key(&format!("{a}/entries/entry[sequence='7']/config/remark"))
    );
}

#[test]
fn leaf_paths_are_written_as_libyang_writes_them() {
    use serde_json::json;
    use tether_model::Edit;
    let schema = schema();
    let mut t = ConfigTree::new(schema);
    // Interface names may hold '/', ':' and '.' (no key of the schema may hold a quote).
    for (g, name) in [(1, "Gi1/1"), (2, "eth0:1"), (3, "bond0.100")] {
        t.apply(&[
            Edit::update(
                format!(
                    "{}/downstream/interfaces/interface[name='{name}']/config",
                    ops::group(g)
                ),
                json!({"name": name}),
            ),
            Edit::update(
                format!("{}/interface[name='{name}']/config/description", ops::IFS),
                json!("it's \"quoted\" [1]/x"),
            ),
        ])
        .unwrap();
    }
    let leaves = t.leaves();
    assert!(leaves.contains_key(&format!(
        "{}/downstream/interfaces/interface[name='Gi1/1']/config/name",
        ops::group(1)
    )));
    assert_eq!(leaves, t.leaves_by_lyd_path());
}
