//! Data paths in libyang's form (`/tether-link-state:link-state/groups/group[id='1']/config`)
//! and the small amount of parsing the edit engine needs on them.

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

/// The node name of a segment without its predicates (`group[id='1']` → `group`).
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
pub fn top_module(path: &str) -> Option<&str> {
    segments(path)
        .first()
        .and_then(|s| s.split_once(':'))
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
    let Some(seg) = segments(path).last().copied() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = match seg.find('[') {
        Some(i) => &seg[i..],
        None => return out,
    };
    while let Some(r) = rest.strip_prefix('[') {
        let Some(eq) = r.find('=') else { break };
        let name = r[..eq].trim();
        let after = r[eq + 1..].trim_start();
        let Some(q) = after.chars().next() else { break };
        if q != '\'' && q != '"' {
            break;
        }
        let Some(end) = after[1..].find(q) else { break };
        out.push((name.to_string(), after[1..1 + end].to_string()));
        rest = after[1 + end + 1..]
            .trim_start()
            .strip_prefix(']')
            .unwrap_or("");
    }
    out
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
        assert_eq!(
            top_module("/tether-link-state:link-state/groups"),
            Some("tether-link-state")
        );
        assert_eq!(
            prefixes("/a/b[k='1']/c"),
            vec!["/a", "/a/b[k='1']", "/a/b[k='1']/c"]
        );
    }
}
