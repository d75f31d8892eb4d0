//! After the Sets of a row: does the store hold exactly what the row acknowledged?

use std::collections::BTreeMap;

/// Access-list name → number of entries, read from the leaves (`.../config/action`).
pub(crate) fn census(leaves: &BTreeMap<String, String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for k in leaves.keys() {
        if !k.ends_with("/config/action") {
            continue;
        }
        if let Some(rest) = k.split("access-list[name='").nth(1)
            && let Some(name) = rest.split('\'').next()
        {
            *out.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    out
}

pub(crate) fn diff(
    want: &BTreeMap<String, String>,
    got: &BTreeMap<String, String>,
) -> Option<String> {
    let mut bad = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            Some(g) if g == v => {}
            Some(g) => bad.push(format!("{k} = {g:?}, expected {v:?}")),
            None => bad.push(format!("{k} missing")),
        }
    }
    for k in got.keys() {
        if !want.contains_key(k) {
            bad.push(format!("{k} unexpected"));
        }
    }
    if bad.is_empty() {
        None
    } else {
        Some(format!("{} leaves differ, e.g. {}", bad.len(), bad[0]))
    }
}

/// What the check after a row expects of the running tree.
pub(crate) enum Expect {
    /// Exactly these leaves.
    Leaves(BTreeMap<String, String>),
    /// Exactly these access-lists with these numbers of entries.
    Counts(BTreeMap<String, usize>),
}

impl Expect {
    /// What in `leaves` differs from the expectation, if anything.
    pub(crate) fn mismatch(&self, leaves: &BTreeMap<String, String>) -> Option<String> {
        match self {
            Expect::Leaves(want) => diff(want, leaves),
            Expect::Counts(want) => {
                let got = census(leaves);
                let names: std::collections::BTreeSet<&String> =
                    got.keys().chain(want.keys()).collect();
                let bad: Vec<String> = names
                    .into_iter()
                    .filter(|n| got.get(*n) != want.get(*n))
                    .map(|n| {
                        format!(
                            "`{n}` has {} entries, expected {}",
                            got.get(n).copied().unwrap_or(0),
                            want.get(n).copied().unwrap_or(0)
                        )
                    })
                    .collect();
                (!bad.is_empty()).then(|| {
                    format!(
                        "{} access-lists wrong, e.g. {}",
                        bad.len(),
                        bad[..bad.len().min(3)].join(", ")
                    )
                })
            }
        }
    }
}
