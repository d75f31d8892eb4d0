//! The Depth extension (gnmi-depth.md): how many levels below each requested path Get and
//! Subscribe return.
//!
//! Levels are counted in data nodes that hold children (containers and list entries; a
//! list and its entries are one level): level 1 is the requested node's own leaves and
//! leaf-lists, level 2 adds those of its child containers and list entries, and so on. The
//! last level carries only leaves and leaf-lists. A leaf `n` data-path segments below the
//! requested node is therefore returned when `n <= level`; the root is the node above the
//! top-level containers.
//!
//! Get (a JSON subtree per node) prunes the JSON value with [`prune`]; Subscribe (a value
//! per leaf) keeps the leaves [`leaf_within`] admits; ON_CHANGE events are matched with
//! [`crate::path::beyond`]. All three count the same segments, so a Get, a ONCE and a STREAM
//! of the same path and level report the same leaves (see the tests in `tests/it`).

use serde_json::Value;

use crate::path::parse_data_path;

/// The JSON content of a node (`value`), cut below `level` levels. Members that are
/// objects (containers) or arrays of objects (list entries) are the next level; a container
/// left with nothing is dropped.
pub(crate) fn prune(value: Value, level: u32) -> Value {
    let Value::Object(members) = value else {
        return value;
    };
    let mut out = serde_json::Map::new();
    for (k, v) in members {
        match v {
            Value::Object(_) => {
                if level > 1 {
                    match prune(v, level - 1) {
                        Value::Object(m) if m.is_empty() => {}
                        p => {
                            out.insert(k, p);
                        }
                    }
                }
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                if level > 1 {
                    let entries: Vec<Value> =
                        items.into_iter().map(|e| prune(e, level - 1)).collect();
                    out.insert(k, Value::Array(entries));
                }
            }
            // A leaf, or a leaf-list (an array of scalars).
            scalar => {
                out.insert(k, scalar);
            }
        }
    }
    Value::Object(out)
}

/// Whether the leaf at `leaf` lies within `level` levels of the node at `base` (its data
/// path; `/` for the root).
pub(crate) fn leaf_within(base: &str, leaf: &str, level: u32) -> bool {
    let base = if base == "/" {
        0
    } else {
        parse_data_path(base).len()
    };
    let below = parse_data_path(leaf).len().saturating_sub(base);
    below <= level as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The data of gnmi-depth.md §2, and its examples §4.
    fn basket() -> Value {
        json!({
            "contents": ["fruits", "vegetables"],
            "fruits": [
                {"name": "apples", "size": "XL", "colors": ["red", "yellow"],
                 "origin": {"country": "NL", "city": "Amsterdam"}},
                {"name": "orange", "size": "M"}
            ],
            "description": {"fabric": "cotton"},
            "broken": {"reason": "too heavy"}
        })
    }

    #[test]
    fn the_examples_of_the_specification() {
        assert_eq!(
            prune(basket(), 1),
            json!({"contents": ["fruits", "vegetables"]})
        );
        let fruits = basket()["fruits"].clone();
        let entries: Vec<Value> = fruits
            .as_array()
            .unwrap()
            .iter()
            .map(|e| prune(e.clone(), 1))
            .collect();
        assert_eq!(
            entries,
            vec![
                json!({"name": "apples", "size": "XL", "colors": ["red", "yellow"]}),
                json!({"name": "orange", "size": "M"})
            ]
        );
        assert_eq!(
            prune(basket(), 2),
            json!({
                "contents": ["fruits", "vegetables"],
                "fruits": [
                    {"name": "apples", "size": "XL", "colors": ["red", "yellow"]},
                    {"name": "orange", "size": "M"}
                ],
                "description": {"fabric": "cotton"},
                "broken": {"reason": "too heavy"}
            })
        );
        assert_eq!(prune(basket(), 3), basket());
        assert_eq!(prune(json!(5), 1), json!(5));
    }

    #[test]
    fn leaves_are_counted_from_the_node() {
        let base = "/m:basket";
        assert!(leaf_within(base, "/m:basket/contents", 1));
        assert!(!leaf_within(
            base,
            "/m:basket/fruits[name='apples']/size",
            1
        ));
        assert!(leaf_within(base, "/m:basket/fruits[name='apples']/size", 2));
        assert!(!leaf_within(
            base,
            "/m:basket/fruits[name='a/b']/origin/city",
            2
        ));
        assert!(leaf_within(
            base,
            "/m:basket/fruits[name='a/b']/origin/city",
            3
        ));
        assert!(!leaf_within("/", "/m:basket/contents", 1));
        assert!(leaf_within("/", "/m:basket/contents", 2));
        assert!(leaf_within("/m:basket/contents", "/m:basket/contents", 1));
    }

    /// `prune` on a subtree and `leaf_within` on its leaves keep the same leaves.
    #[test]
    fn subtree_and_leaves_agree() {
        fn leaves(prefix: &str, v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        leaves(&format!("{prefix}/{k}"), c, out);
                    }
                }
                Value::Array(a) if a.iter().any(Value::is_object) => {
                    for (i, e) in a.iter().enumerate() {
                        leaves(&format!("{prefix}[i='{i}']"), e, out);
                    }
                }
                _ => out.push(prefix.to_string()),
            }
        }
        let mut all = Vec::new();
        leaves("/m:basket", &basket(), &mut all);
        for level in 1..5 {
            let mut kept = Vec::new();
            leaves("/m:basket", &prune(basket(), level), &mut kept);
            let admitted: Vec<String> = all
                .iter()
                .filter(|l| leaf_within("/m:basket", l, level))
                .cloned()
                .collect();
            assert_eq!(kept, admitted, "level {level}");
        }
    }
}
