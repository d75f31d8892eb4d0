//! Entry limits from the schema's `tether-extensions:max-entries*` statements: found in the
//! compiled schema, enforced by the edit engine with the same verdict and error as the
//! reference path, a refused transaction leaving the tree as it was.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::ops;
use serde_json::json;
use tether_model::{ConfigTree, Edit, ModelError, Schema, SchemaOptions};

const PER_LIST: &str = "/tether-conntrack-bypass:bypass/config/max-entries-per-access-list";
const TOTAL: &str = "/tether-conntrack-bypass:bypass/config/max-entries";

fn schema() -> &'static Schema {
    Schema::load(SchemaOptions { simulation: true }).unwrap()
}

fn add(acl: u64, seqs: std::ops::RangeInclusive<u64>) -> Vec<Edit> {
    seqs.map(|s| {
        Edit::update(
            format!("{}/config", ops::entry(acl, s)),
            json!({"sequence": s, "action": "permit", "protocol": "tcp"}),
        )
    })
    .collect()
}

/// Both paths; they must agree. Returns the engine's verdict.
fn both(t: &mut ConfigTree, edits: &[Edit]) -> Result<(), ModelError> {
    let before = t.to_json(true).unwrap();
    let reference = t.prepare_reference(edits).map(|_| ());
    match t.prepare(edits) {
        Ok(p) => {
            assert!(reference.is_ok(), "reference refused: {reference:?}");
            t.install(&p).unwrap();
            Ok(())
        }
        Err(e) => {
            assert_eq!(
                reference.as_ref().map_err(ToString::to_string),
                Err(e.to_string())
            );
            assert_eq!(
                t.to_json(true).unwrap(),
                before,
                "a refusal changed the tree"
            );
            Err(e)
        }
    }
}

#[test]
fn the_schema_declares_the_bypass_limits() {
    let entry = "/tether-conntrack-bypass:bypass/access-lists/access-list/entries/entry";
    assert_eq!(
        schema().limit_report(),
        vec![
            (entry.to_string(), PER_LIST.to_string(), false),
            (entry.to_string(), TOTAL.to_string(), true),
        ]
    );
}

#[test]
fn limits_refuse_with_the_limit_and_the_list_named() {
    let mut t = ConfigTree::new(schema());
    both(&mut t, &[Edit::update(PER_LIST, json!(3))]).unwrap();
    both(&mut t, &add(1, 1..=3)).unwrap();
    // A fourth entry in the same list.
    let e = both(&mut t, &add(1, 4..=4)).unwrap_err();
    match &e {
        ModelError::LimitExceeded {
            limit,
            max,
            path,
            count,
        } => {
            assert_eq!((limit.as_str(), *max, *count), (PER_LIST, 3, 4));
            assert_eq!(path, &format!("{}/entries", ops::acl(1)));
        }
        other => panic!("{other}"),
    }
    // Replacing an entry, or one out and one in, stays within it.
    both(&mut t, &add(1, 3..=3)).unwrap();
    let mut swap = vec![Edit::delete(ops::entry(1, 1))];
    swap.extend(add(1, 5..=5));
    both(&mut t, &swap).unwrap();
    // Another list has its own count.
    both(&mut t, &add(2, 1..=3)).unwrap();
    // Lowering the limit below what a list holds is refused too.
    assert!(matches!(
        both(&mut t, &[Edit::update(PER_LIST, json!(2))]),
        Err(ModelError::LimitExceeded { .. })
    ));
    // The total: 6 stored.
    both(&mut t, &[Edit::update(TOTAL, json!(7))]).unwrap();
    both(&mut t, &add(3, 1..=1)).unwrap();
    let e = both(&mut t, &add(4, 1..=1)).unwrap_err();
    assert!(
        matches!(&e, ModelError::LimitExceeded { limit, count: 8, .. } if limit == TOTAL),
        "{e}"
    );
    assert!(e.to_string().contains(TOTAL), "{e}");
    // Deleting a whole list frees its entries.
    both(&mut t, &[Edit::delete(ops::acl(3))]).unwrap();
    both(&mut t, &add(4, 1..=1)).unwrap();
}

#[test]
fn the_defaults_are_in_the_schema() {
    let mut t = ConfigTree::new(schema());
    both(&mut t, &add(1, 1..=1)).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&t.to_json(true).unwrap()).unwrap();
    let config = &doc["tether-conntrack-bypass:bypass"]["config"];
    assert_eq!(
        (
            &config["max-entries-per-access-list"],
            &config["max-entries"]
        ),
        (&json!(100000), &json!(100000)),
        "{doc}"
    );
}
