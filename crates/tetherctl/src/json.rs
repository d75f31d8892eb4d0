//! Reading RFC 7951 JSON as Get returns it: member names may or may not carry their module
//! (`tether-link-state:groups` or `groups`), 64-bit numbers arrive as strings, lists as arrays.

use serde_json::Value;

/// The member `name` of an object, whether or not it is module-qualified.
pub fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.rsplit_once(':').is_some_and(|(_, local)| local == name))
            .map(|(_, v)| v)
    })
}

/// Follows a chain of member names.
pub fn at<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().try_fold(v, |v, n| field(v, n))
}

/// The entries of a list member (an array; a single object is taken as one entry).
pub fn list<'a>(v: &'a Value, names: &[&str]) -> Vec<&'a Value> {
    match at(v, names) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

/// A string leaf (numbers are shown as text).
pub fn text(v: &Value, names: &[&str]) -> Option<String> {
    match at(v, names)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An unsigned number leaf, from a JSON number or a string (RFC 7951 writes 64-bit integers
/// as strings).
pub fn uint(v: &Value, names: &[&str]) -> Option<u64> {
    match at(v, names)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A boolean leaf.
pub fn boolean(v: &Value, names: &[&str]) -> Option<bool> {
    match at(v, names)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Compares interface names the way a person orders them: `Gi1/2` before `Gi1/10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let ord = match (x, y) {
            ((true, nx), (true, ny)) => {
                let (tx, ty) = (nx.trim_start_matches('0'), ny.trim_start_matches('0'));
                tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
            }
            ((_, sx), (_, sy)) => sx.cmp(sy),
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn reads_qualified_and_bare_members() {
        let v = json!({"tether-link-state:groups": {"group": [{"id": 1}, {"id": "2"}]},
                       "state": {"transitions": "18446744073709551615", "enabled": true}});
        assert_eq!(list(&v, &["groups", "group"]).len(), 2);
        assert_eq!(uint(list(&v, &["groups", "group"])[1], &["id"]), Some(2));
        assert_eq!(uint(&v, &["state", "transitions"]), Some(u64::MAX));
        assert_eq!(boolean(&v, &["state", "enabled"]), Some(true));
        assert_eq!(text(&v, &["state", "enabled"]).as_deref(), Some("true"));
        assert!(at(&v, &["nothing"]).is_none());
    }

    #[test]
    fn orders_interface_names_naturally() {
        let mut names = vec!["Gi1/10", "Gi1/2", "Po11", "Gi1/1", "Gi2/1", "Gi1/02"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec!["Gi1/1", "Gi1/02", "Gi1/2", "Gi1/10", "Gi2/1", "Po11"]
        );
    }
}
