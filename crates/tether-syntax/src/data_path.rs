//! Data paths in libyang's form (`/tether-link-state:link-state/groups/group[id='1']/config`).
//!
//! A path is `/`-separated segments; a segment is `[module:]name` followed by key predicates
//! `[key='value']`, the value quoted with `'`, or with `"` when it holds a `'` (a value holding
//! both cannot be written). Quoted values may hold `/`, `[` and `]`. The module is written on the
//! first segment and wherever it changes.

use std::fmt;

// ===== segments as text =====

/// Splits a data path into its node segments (`/a/b[k='x/y']/c` → `a`, `b[k='x/y']`, `c`),
/// respecting quoted predicate values that may contain `/` or `]`.
pub fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = path.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut start = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' if depth > 0 => quote = Some(b),
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'/' if depth == 0 => {
                    if i > start {
                        out.push(&path[start..i]);
                    }
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    if start < path.len() {
        out.push(&path[start..]);
    }
    out
}

/// The node name of a segment without its predicates (`group[id='1']` → `group`,
/// `m:a[k='1']` → `m:a`).
pub fn segment_name(segment: &str) -> &str {
    segment.split('[').next().unwrap_or(segment)
}

/// The schema path of a data path: predicates removed.
pub fn schema_path(path: &str) -> String {
    let segs = segments(path);
    if segs.is_empty() {
        return "/".into();
    }
    segs.iter()
        .map(|s| format!("/{}", segment_name(s)))
        .collect()
}

/// The data paths of every ancestor of `path`, outermost first, ending with `path` itself.
pub fn prefixes(path: &str) -> Vec<String> {
    let mut acc = String::new();
    segments(path)
        .into_iter()
        .map(|s| {
            acc.push('/');
            acc.push_str(s);
            acc.clone()
        })
        .collect()
}

/// The module of the first segment (`/tether-link-state:link-state/...` → `tether-link-state`).
/// A `:` inside a key value is not a module separator.
pub fn top_module(path: &str) -> Option<&str> {
    segments(path)
        .first()
        .and_then(|s| segment_name(s).split_once(':'))
        .map(|(m, _)| m)
}

/// Whether `path` is `prefix` or lies beneath it (`/a/l[k='1']` does not contain
/// `/a/l[k='10']`).
pub fn is_under(path: &str, prefix: &str) -> bool {
    if prefix == "/" || prefix.is_empty() {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || rest.starts_with('['),
        None => false,
    }
}

/// Whether the last segment carries predicates (names one list entry rather than the list).
pub fn ends_with_predicate(path: &str) -> bool {
    segments(path).last().is_some_and(|s| s.contains('['))
}

/// Key predicates of the last segment as (name, value) pairs: `entry[sequence='10']` →
/// `[("sequence", "10")]`.
pub fn last_keys(path: &str) -> Vec<(String, String)> {
    parse(path)
        .pop()
        .map(|s| {
            s.keys
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

// ===== segments as values =====

/// One segment of a data path: (module if written, name, keys in path order), borrowed from
/// the path text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub module: Option<&'a str>,
    pub name: &'a str,
    pub keys: Vec<(&'a str, &'a str)>,
}

impl Segment<'_> {
    /// The key predicates as one lookup key (`k\0v\0...`), in path order; empty without keys.
    pub fn key_text(&self) -> String {
        key_text(self.keys.iter().map(|(k, v)| (*k, *v)))
    }
}

/// Keys as one lookup key (`k\0v\0...`), the same whatever form the keys came in.
pub fn key_text<'k>(keys: impl Iterator<Item = (&'k str, &'k str)>) -> String {
    let mut out = String::new();
    for (k, v) in keys {
        out.push_str(k);
        out.push('\0');
        out.push_str(v);
        out.push('\0');
    }
    out
}

impl fmt::Display for Segment<'_> {
    /// `module:name[k='v']`, as libyang prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = self.module {
            write!(f, "{m}:")?;
        }
        f.write_str(self.name)?;
        for (k, v) in &self.keys {
            write!(f, "[{k}={}]", quote(v))?;
        }
        Ok(())
    }
}

/// Splits a data path into segments without copying it.
pub fn parse(path: &str) -> Vec<Segment<'_>> {
    segments(path)
        .into_iter()
        .map(|seg| {
            let (full, preds) = match seg.find('[') {
                Some(i) => (&seg[..i], &seg[i..]),
                None => (seg, ""),
            };
            let (module, name) = match full.split_once(':') {
                Some((m, n)) => (Some(m), n),
                None => (None, full),
            };
            Segment {
                module,
                name,
                keys: predicates(preds),
            }
        })
        .collect()
}

/// The data path of `segments` (`/` for none): the inverse of [`parse`].
pub fn print(segments: &[Segment<'_>]) -> String {
    if segments.is_empty() {
        return "/".into();
    }
    segments.iter().map(|s| format!("/{s}")).collect()
}

/// `[k='v'][k2="v2"]` as (name, value) pairs. Parsing stops at the first predicate that is not
/// of this form (an unquoted value, a missing `=`).
pub fn predicates(mut rest: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    while let Some(r) = rest.strip_prefix('[') {
        let Some(eq) = r.find('=') else { break };
        let name = r[..eq].trim();
        let after = r[eq + 1..].trim_start();
        let Some(q) = after.chars().next() else { break };
        if q != '\'' && q != '"' {
            break;
        }
        let Some(end) = after[1..].find(q) else { break };
        out.push((name, &after[1..1 + end]));
        rest = after[1 + end + 1..]
            .trim_start()
            .strip_prefix(']')
            .unwrap_or("");
    }
    out
}

/// The data path of the schema node `node` inside the list entry `entry`, whose list has the
/// schema path `list`: the entry's data path followed by the part of `node` below `list`
/// (`under("/a/l[k='1']", "/a/l", "/a/l/c/d")` is `/a/l[k='1']/c/d`). Both schema paths
/// are generated constants, so a `node` outside `list` is a caller's bug, caught in debug.
pub fn under(entry: &str, list: &str, node: &str) -> String {
    debug_assert!(is_under(node, list), "{node} is not below {list}");
    format!("{entry}{}", node.strip_prefix(list).unwrap_or(node))
}

/// Quotes a key value for a predicate: `'v'`, or `"v"` when the value holds a `'`.
pub fn quote(v: &str) -> String {
    if !v.contains('\'') {
        format!("'{v}'")
    } else {
        format!("\"{v}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_respect_quotes() {
        assert_eq!(
            segments("/m:a/b[k='x/y]z']/c"),
            vec!["m:a", "b[k='x/y]z']", "c"]
        );
        assert_eq!(segments("/"), Vec::<&str>::new());
        assert_eq!(schema_path("/m:a/b[k='x/y']/c"), "/m:a/b/c");
        assert_eq!(schema_path("/"), "/");
    }

    #[test]
    fn under_puts_the_node_below_the_entry() {
        assert_eq!(under("/a/l[k='1']", "/a/l", "/a/l/c/d"), "/a/l[k='1']/c/d");
        assert_eq!(under("/a/l[k='1']", "/a/l", "/a/l"), "/a/l[k='1']");
    }

    #[test]
    fn under_is_segment_aware() {
        assert!(is_under("/a/l[k='1']/x", "/a/l[k='1']"));
        assert!(!is_under("/a/l[k='10']/x", "/a/l[k='1']"));
        assert!(is_under("/a/l[k='1']", "/a/l"));
        assert!(!is_under("/a/l2", "/a/l"));
        assert!(is_under("/anything", "/"));
    }

    #[test]
    fn keys_of_last_segment() {
        assert_eq!(
            last_keys("/a/b[x='1'][y=\"t'w\"]"),
            vec![
                ("x".to_string(), "1".to_string()),
                ("y".to_string(), "t'w".to_string())
            ]
        );
        assert!(last_keys("/a/b").is_empty());
        assert!(last_keys("/").is_empty());
        assert_eq!(
            top_module("/tether-link-state:link-state/groups"),
            Some("tether-link-state")
        );
        assert_eq!(top_module("/a[k='m:x']/b"), None);
        assert_eq!(
            prefixes("/a/b[k='1']/c"),
            vec!["/a", "/a/b[k='1']", "/a/b[k='1']/c"]
        );
        assert!(ends_with_predicate("/a/b[k='1']"));
        assert!(!ends_with_predicate("/a[k='1']/b"));
    }

    #[test]
    fn parses_segments_with_modules_and_keys() {
        let segs = parse(
            "/tether-link-state:link-state/groups/group[id='1']/upstream/interfaces/interface[name='Po11']",
        );
        assert_eq!(segs.len(), 6);
        assert_eq!(segs[0].module, Some("tether-link-state"));
        assert_eq!(segs[0].name, "link-state");
        assert_eq!(segs[2].keys, vec![("id", "1")]);
        assert_eq!(segs[5].keys, vec![("name", "Po11")]);
        assert_eq!(segs[2].key_text(), "id\u{0}1\u{0}");
        // An unquoted value is not libyang's form: the predicate is dropped, not misread.
        assert_eq!(parse("/a[k=1]")[0].keys, Vec::<(&str, &str)>::new());
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(quote("x/y]"), "'x/y]'");
    }
}
