//! `--format flat`: a value read at a path, as one `PATH: VALUE` line per leaf (gnmic's flat
//! output).
//!
//! A JSON subtree is walked member by member. A list is a JSON array of entries; an entry's
//! predicate is made of its scalar members, because in Tether's modules (OpenConfig style, as
//! DESIGN.md requires) the only leaves directly in a list entry are its keys, each a leafref
//! to `config/<key>`; everything else sits in `config`, `state` or another container. Module
//! prefixes of RFC 7951 member names (`tether-link-state:link-state`) are kept on containers
//! and dropped from key names, which are plain in a gNMI path. An array of scalars is a
//! leaf-list and stays one value.

use serde_json::{Map, Value};
use tether_syntax::text_path::{self, TextElem, TextPath};

/// The leaves of `value`, read at `path` (text), each with its full path, in document order.
pub fn flatten(path: &str, value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    walk(path.trim_end_matches('/'), value, &mut out);
    out
}

fn walk(path: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(members) if !members.is_empty() => {
            for (name, v) in members {
                match v {
                    Value::Array(entries) if entries.iter().any(Value::is_object) => {
                        for entry in entries {
                            let Value::Object(m) = entry else { continue };
                            walk(&entry_path(path, name, m), entry, out);
                        }
                    }
                    _ => walk(&format!("{path}/{name}"), v, out),
                }
            }
        }
        _ => out.push((
            if path.is_empty() {
                "/".to_string()
            } else {
                path.to_string()
            },
            value.clone(),
        )),
    }
}

/// `PATH/NAME[k=v]...` for one list entry, keys sorted and quoted by tether-syntax's grammar.
fn entry_path(path: &str, name: &str, entry: &Map<String, Value>) -> String {
    let keys = entry
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, v)| {
            let k = k.rsplit_once(':').map_or(k.as_str(), |(_, k)| k);
            (k.to_string(), show(v))
        })
        .collect();
    let elem = TextPath {
        origin: String::new(),
        elems: vec![TextElem {
            name: name.to_string(),
            keys,
        }],
    };
    format!("{path}{}", text_path::format(&elem))
}

/// A value as the flat format prints it: strings bare, everything else as JSON.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn flattens_containers_lists_and_leaf_lists() {
        let v = json!({
            "tether-link-state:link-state": {"groups": {"group": [
                {"id": 1, "config": {"id": 1, "description": "TOR"},
                 "downstream": {"interfaces": {"interface": [
                     {"name": "Gi1/1", "state": {"oper-status": "up"}}]}}},
                {"id": 2, "config": {"id": 2}}
            ]}},
            "tags": ["a", "b"],
            "empty": {}
        });
        let got: Vec<(String, String)> = flatten("/", &v)
            .into_iter()
            .map(|(p, v)| (p, show(&v)))
            .collect();
        let want = [
            ("/tether-link-state:link-state/groups/group[id=1]/id", "1"),
            (
                "/tether-link-state:link-state/groups/group[id=1]/config/id",
                "1",
            ),
            (
                "/tether-link-state:link-state/groups/group[id=1]/config/description",
                "TOR",
            ),
            (
                "/tether-link-state:link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/1]/name",
                "Gi1/1",
            ),
            (
                "/tether-link-state:link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/1]/state/oper-status",
                "up",
            ),
            ("/tether-link-state:link-state/groups/group[id=2]/id", "2"),
            (
                "/tether-link-state:link-state/groups/group[id=2]/config/id",
                "2",
            ),
            ("/tags", "[\"a\",\"b\"]"),
            ("/empty", "{}"),
        ];
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want_sorted: Vec<(String, String)> = want
            .iter()
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect();
        want_sorted.sort();
        assert_eq!(got_sorted, want_sorted);
    }

    #[test]
    fn a_leaf_is_its_own_line_and_keys_are_quoted() {
        assert_eq!(
            flatten("/a/b/status", &json!("up")),
            vec![("/a/b/status".to_string(), json!("up"))]
        );
        let got = flatten(
            "/acl",
            &json!({"entry": [{"tether-x:name": "a]b", "v": {"x": 1}}]}),
        );
        assert_eq!(got[0].0, "/acl/entry[name=a\\]b]/tether-x:name");
    }
}
