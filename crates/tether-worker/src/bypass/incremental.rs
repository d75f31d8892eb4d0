//! Incremental bypass compilation: a commit that touches one access-list entry re-reads and
//! recompiles that entry, not the 10,000 around it.
//!
//! What a commit touched is read from the leaf paths of its record against the generated
//! schema paths (an access-list entry, an access-list, anything else of the module), never
//! from names written here; the touched nodes are re-read from the running tree one by one
//! (`ConfigTree::json_at`) and patched into the previous program. Whatever is not an
//! access-list (classes, policies, service-policies, the global policy) is small and is
//! recompiled whole when any of it changed. A step that does not compile is answered by the
//! full compiler, so an error is the same error either way. `tests/bypass_incremental.rs`
//! drives random commit sequences through both paths and requires the same program.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use tether_dataplane::{BypassProgram, ProgramDelta};
use tether_model::ConfigTree;
use tether_model::tether_conntrack_bypass::bypass::{self, Bypass};
use tether_syntax::data_path;

use super::compile::{self, CompileError};

use access_list::entries::entry;
use bypass::access_lists::access_list;

/// The parts of the bypass module one commit changed, as data paths of the running tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Access-list entries: (access-list name, sequence, data path of the entry).
    entries: BTreeSet<(String, u32, String)>,
    /// Access-lists changed outside their entries (created, removed): (name, data path).
    access_lists: BTreeSet<(String, String)>,
    /// Anything else of the module changed.
    references: bool,
    /// The data path of every access-list named above.
    list_paths: BTreeMap<String, String>,
}

/// Whether `schema` is the schema path `node` or below it.
fn at_or_below(schema: &str, node: &str) -> bool {
    schema
        .strip_prefix(node)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The data path of the ancestor-or-self of `path` whose schema path is `node`, with the value
/// of its key `key` (the list's generated `KEYS`, so a renamed or added key breaks the build
/// or declines the step, never misreads a path).
fn entry_of(path: &str, node: &str, keys: &[&str]) -> Option<(String, String)> {
    let [key] = keys else { return None };
    let prefix = data_path::prefixes(path)
        .into_iter()
        .find(|p| data_path::schema_path(p) == node)?;
    let value = data_path::last_keys(&prefix)
        .into_iter()
        .find(|(k, _)| k == key)?
        .1;
    Some((prefix, value))
}

/// An entry's sequence as the generated key type reads it (its YANG range included).
fn sequence(text: &str) -> Option<u32> {
    let n: u32 = text.parse().ok()?;
    entry::Sequence::new(n).ok().map(entry::Sequence::get)
}

impl Touched {
    /// What the leaf changes at `paths` touch in the bypass module (other modules ignored).
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a str>) -> Touched {
        let mut t = Touched::default();
        for path in paths {
            let schema = data_path::schema_path(path);
            if !at_or_below(&schema, bypass::PATH) {
                continue;
            }
            if at_or_below(&schema, entry::PATH) {
                let list = entry_of(path, access_list::PATH, access_list::KEYS);
                let item = entry_of(path, entry::PATH, entry::KEYS);
                match (list, item.and_then(|(p, k)| sequence(&k).map(|k| (p, k)))) {
                    (Some((list_path, name)), Some((p, seq))) => {
                        t.list_paths.insert(name.clone(), list_path);
                        t.entries.insert((name, seq, p));
                    }
                    _ => t.references = true,
                }
            } else if at_or_below(&schema, access_list::PATH) {
                match entry_of(path, access_list::PATH, access_list::KEYS) {
                    Some((p, name)) => {
                        t.list_paths.insert(name.clone(), p.clone());
                        t.access_lists.insert((name, p));
                    }
                    None => t.references = true,
                }
            } else {
                t.references = true;
            }
        }
        t
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.access_lists.is_empty() && !self.references
    }

    /// The delta a dataplane gets for this change.
    pub fn delta(&self) -> ProgramDelta {
        ProgramDelta {
            entries: self
                .entries
                .iter()
                .map(|(a, s, _)| (a.clone(), *s))
                .collect(),
            access_lists: self.access_lists.iter().map(|(a, _)| a.clone()).collect(),
            structure: self.references,
            arming: Default::default(),
        }
    }
}

/// Why an incremental step could not be taken (the caller falls back to the full compiler).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("cannot read {path}: {detail}")]
    Read { path: String, detail: String },
}

fn read<T: DeserializeOwned>(config: &ConfigTree, path: &str) -> Result<Option<T>, StepError> {
    let read_error = |detail: String| StepError::Read {
        path: path.to_string(),
        detail,
    };
    match config
        .json_at(path)
        .map_err(|e| read_error(e.to_string()))?
    {
        None => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| read_error(e.to_string())),
    }
}

/// `previous` (the program of the configuration before the commit) with what `touched` names
/// re-read from `config` and recompiled.
pub fn recompile(
    previous: &BypassProgram,
    config: &ConfigTree,
    touched: &Touched,
) -> Result<BypassProgram, StepError> {
    let mut program = previous.clone();
    // Lists changed as a whole, and lists of touched entries the program does not hold yet.
    let mut whole: BTreeMap<&str, &str> = touched
        .access_lists
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    for (acl, _, _) in &touched.entries {
        if !program.access_lists.contains_key(acl)
            && let Some(p) = touched.list_paths.get(acl)
        {
            whole.insert(acl.as_str(), p.as_str());
        }
    }
    for (name, path) in whole.iter().map(|(n, p)| (n.to_string(), *p)) {
        match read::<access_list::AccessList>(config, path)? {
            Some(acl) => {
                let (_, list) = compile::compile_access_list(&acl)?;
                program.access_lists.insert(name, list);
            }
            None => {
                program.access_lists.remove(&name);
            }
        }
    }
    for (acl, sequence, path) in &touched.entries {
        if whole.contains_key(acl.as_str()) {
            continue;
        }
        let compiled = match read::<entry::Entry>(config, path)? {
            Some(e) => compile::compile_list_entry(acl, &e)?,
            None => None,
        };
        let Some(list) = program.access_lists.get_mut(acl) else {
            continue;
        };
        let at = list.entries.binary_search_by_key(sequence, |e| e.sequence);
        match (at, compiled) {
            (Ok(i), Some(e)) => list.entries[i] = e,
            (Err(i), Some(e)) => list.entries.insert(i, e),
            (Ok(i), None) => {
                list.entries.remove(i);
            }
            (Err(_), None) => {}
        }
    }
    if touched.references {
        let b = Bypass {
            classes: read(config, bypass::classes::PATH)?,
            policies: read(config, bypass::policies::PATH)?,
            service_policies: read(config, bypass::service_policies::PATH)?,
            global_policy: read(config, bypass::global_policy::PATH)?,
            ..Bypass::default()
        };
        program = compile::compile_references(&b, program)?;
    } else {
        program.validate().map_err(CompileError::from)?;
    }
    Ok(program)
}

/// How a commit's program was obtained.
#[derive(Debug)]
pub enum Followed {
    /// Patched from the previous program (`recompile`).
    Incremental(BypassProgram),
    /// The full compiler's verdict, on the whole module read back.
    Full(Result<BypassProgram, CompileError>),
    /// The running tree could not be read (logged; the program stays).
    Unreadable(String),
}

/// The program after a commit that touched `touched`: patched from `previous` (the program of
/// the configuration before the commit; `None` when unknown, e.g. after a compile error), and
/// compiled in full from `config` when there is no previous program or a step cannot be taken.
pub fn follow(
    previous: Option<&BypassProgram>,
    config: &ConfigTree,
    touched: &Touched,
) -> Followed {
    if let Some(p) = previous
        && let Ok(program) = recompile(p, config, touched)
    {
        return Followed::Incremental(program);
    }
    match config.typed_modules(&[tether_model::tether_conntrack_bypass::NAME]) {
        Ok(typed) => Followed::Full(compile::compile(&typed)),
        Err(e) => Followed::Unreadable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaf paths built by the generated `entry()` builders and schema constants, the way
    /// the store records them, classified as the incremental path reads them.
    #[test]
    fn touched_reads_paths_built_from_the_generated_schema() {
        let acl = access_list::entry("A-1");
        let e7 = entry::entry(&acl, 7);
        let leaf = |parent: &str, list: &'static str, node: &'static str| {
            data_path::under(parent, list, node)
        };
        let remark = leaf(&e7, entry::PATH, entry::config::Config::REMARK);
        let acl_name = leaf(&acl, access_list::PATH, access_list::config::Config::NAME);
        let class = leaf(
            &bypass::classes::class::entry("c"),
            bypass::classes::class::PATH,
            bypass::classes::class::config::Config::MATCH_ACCESS_LIST,
        );
        let lst = "/tether-link-state:link-state/groups/group[id='1']/config/id";

        let t = Touched::of([remark.as_str()]);
        assert_eq!(
            t.delta().entries,
            [("A-1".to_string(), 7)].into_iter().collect()
        );
        assert!(t.delta().access_lists.is_empty() && !t.delta().structure);

        let t = Touched::of([acl_name.as_str()]);
        assert_eq!(
            t.delta().access_lists,
            ["A-1".to_string()].into_iter().collect()
        );

        assert!(Touched::of([class.as_str()]).delta().structure);
        assert!(
            Touched::of([lst]).is_empty(),
            "other modules are not bypass's"
        );
        // A sequence outside the key type's range is not read as an entry.
        let bad = format!("{acl}/entries/entry[sequence='0']/config/remark");
        assert!(Touched::of([bad.as_str()]).delta().structure);
    }
}
