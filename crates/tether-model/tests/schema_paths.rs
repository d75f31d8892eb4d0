//! The data-path grammar of `tether-syntax` and the generated path builders of
//! `tether-schema` agree with libyang on every path the schema can name.
//!
//! Three checks, from the compiled schema and never from names written here:
//! - every data node of every module: its schema path parses and prints back unchanged, has
//!   one segment per data ancestor, and libyang finds the same node at it;
//! - every node of data trees built by the model-based generator (several access-lists,
//!   groups, classes and interfaces): libyang's own data path parses to segments whose names,
//!   keys and schema path are the node's, and prints back to a path libyang resolves to it;
//! - key values from a wide alphabet (quotes, brackets, slashes, spaces) through the generated
//!   `entry` builders: libyang accepts the path exactly when the generated newtype accepts the
//!   value, and then holds that value as the key.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::ops::{self, Rng};
use proptest::prelude::*;
use tether_model::tether_conntrack_bypass::bypass::access_lists::access_list;
use tether_model::tether_interfaces::interfaces::interface;
use tether_model::{ConfigTree, Schema, SchemaOptions};
use tether_syntax::data_path::{parse, print, schema_path, segments};
use yang3::data::{Data, DataTree};
use yang3::schema::{SchemaNodeKind, SchemaPathFormat};

fn schema() -> &'static Schema {
    Schema::load(SchemaOptions { simulation: true }).unwrap()
}

fn is_data(kind: SchemaNodeKind) -> bool {
    matches!(
        kind,
        SchemaNodeKind::Container
            | SchemaNodeKind::List
            | SchemaNodeKind::Leaf
            | SchemaNodeKind::LeafList
    )
}

#[test]
fn every_schema_node_round_trips_and_resolves() {
    let ctx = schema().context();
    let mut seen = 0;
    for node in ctx.traverse().filter(|n| is_data(n.kind())) {
        let p = node.path(SchemaPathFormat::DATA);
        let parsed = parse(&p);
        assert_eq!(print(&parsed), p, "parse∘print of {p}");
        assert_eq!(
            schema_path(&p),
            p,
            "a schema path is its own schema path: {p}"
        );
        let depth = node.ancestors().filter(|a| is_data(a.kind())).count() + 1;
        assert_eq!(segments(&p).len(), depth, "segments of {p}");
        let found = ctx.find_path(&p).unwrap();
        assert_eq!(
            found.path(SchemaPathFormat::DATA),
            p,
            "libyang resolves {p}"
        );
        seen += 1;
    }
    assert!(seen > 100, "the schema names {seen} data nodes");
}

#[test]
fn every_data_node_of_generated_trees_agrees_with_libyang() {
    let mut rng = Rng(0x5eed_9a7c);
    let mut tree = ConfigTree::new(schema());
    let mut checked = 0;
    for step in 0..400 {
        // Refused transactions are part of the run; only the accepted tree is checked.
        let _ = tree.apply(&ops::random_transaction(&mut rng));
        if step % 50 != 49 {
            continue;
        }
        for node in tree.tree().traverse() {
            let p = node.path();
            let parsed = parse(&p);
            assert_eq!(print(&parsed), p, "parse∘print of libyang's {p}");
            assert_eq!(
                schema_path(&p),
                node.schema().path(SchemaPathFormat::DATA),
                "schema path of {p}"
            );
            let last = parsed.last().unwrap();
            assert_eq!(last.name, node.schema().name(), "last segment of {p}");
            if node.schema().kind() == SchemaNodeKind::List {
                let keys: Vec<(String, String)> = node
                    .list_keys()
                    .map(|k| (k.schema().name().to_string(), k.value_canonical().unwrap()))
                    .collect();
                let ours: Vec<(String, String)> = last
                    .keys
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                assert_eq!(ours, keys, "keys of {p}");
            }
            let again = tree.tree().find_path(&print(&parsed)).unwrap();
            assert_eq!(again.path(), p, "libyang resolves the reprinted {p}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "checked {checked} data nodes");
}

/// Key values that stress the quoting: both quote kinds (never both at once — an XPath 1.0
/// literal cannot hold both), brackets, slashes, spaces and the characters names allow.
fn key_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9][A-Za-z0-9/._:\\-]{0,20}",
        "[A-Za-z0-9 '\\[\\]/=._-]{1,20}",
        "[A-Za-z0-9 \"\\[\\]/=._-]{1,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn generated_entry_builders_agree_with_libyang(name in key_value(), seq in 0u64..5_000_000_000) {
        let ctx = schema().context();

        let path = interface::entry(&name);
        let libyang = DataTree::new(ctx).new_path(&path, None, false).map(|_| ()).is_ok();
        let rust = interface::InterfaceName::new(name.clone()).is_ok();
        prop_assert_eq!(libyang, rust, "interface {:?}: libyang {} newtype {}", name, libyang, rust);
        if libyang {
            let mut t = DataTree::new(ctx);
            t.new_path(&path, None, false).unwrap();
            let node = t.find_path(&path).unwrap();
            let key = node.list_keys().next().unwrap().value_canonical().unwrap();
            prop_assert_eq!(key, name.clone());
            let printed = node.path();
            prop_assert_eq!(parse(&printed), parse(&path));
        }

        let acl = access_list::entry(&name);
        let entry = access_list::entries::entry::entry(&acl, seq);
        let libyang = DataTree::new(ctx).new_path(&entry, None, false).map(|_| ()).is_ok();
        let rust = access_list::AclName::new(name.clone()).is_ok()
            && u32::try_from(seq)
                .ok()
                .and_then(|s| access_list::entries::entry::Sequence::new(s).ok())
                .is_some();
        prop_assert_eq!(libyang, rust, "entry {:?} {}: libyang {} newtype {}", name, seq, libyang, rust);
    }
}
