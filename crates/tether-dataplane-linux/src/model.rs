//! A model of the kernel's `inet tether` table: an interpreter of the nft text Tether writes,
//! with nft 1.0.6's rules for what a transaction may do, so the installer's scripts (full
//! rebuilds, in-place element diffs, one-entry deltas) can be run and compared without root.
//!
//! What it checks, as `nft -f` does (each probed on this machine's nft 1.0.6): a script is one
//! transaction (an error leaves the table as it was); a rule may name only existing sets,
//! chains, counters and ct timeouts; an object still named by a rule, or a chain with rules,
//! cannot be deleted; deleting a missing element is an error, adding an existing one is not;
//! `flush table` empties chains but not sets. Element texts are compared as written (Tether
//! writes them in one canonical form, [`render::element_text`](crate::render::element_text)).
//! What it does not model: packets, and the kernel's refusal of overlapping interval elements
//! (the render's layers keep elements of a set disjoint; `render/tests.rs` checks that).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::cmd::Kernel;
use crate::error::LinuxError;
use crate::render::TABLE;

/// One set: its declaration body and its elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelSet {
    pub declaration: String,
    pub elements: BTreeSet<String>,
}

/// The table's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelTable {
    pub exists: bool,
    /// Chain → (declaration, rules in order).
    pub chains: BTreeMap<String, (String, Vec<String>)>,
    pub sets: BTreeMap<String, ModelSet>,
    /// ct timeout objects, with their declaration.
    pub timeouts: BTreeMap<String, String>,
    /// Named counters, with their declaration.
    pub counters: BTreeMap<String, String>,
}

/// The names a rule refers to.
#[derive(Default)]
struct Refs {
    sets: Vec<String>,
    chains: Vec<String>,
    counters: Vec<String>,
    timeouts: Vec<String>,
}

fn refs(rule: &str) -> Refs {
    let mut r = Refs::default();
    let clean = |t: &str| {
        t.trim_matches(|c| c == ',' || c == '}' || c == '{' || c == '"')
            .to_string()
    };
    let tokens: Vec<&str> = rule.split_whitespace().collect();
    for (i, t) in tokens.iter().enumerate() {
        if let Some(set) = t.strip_prefix('@') {
            r.sets.push(clean(set));
        }
        let next = tokens.get(i + 1).map(|n| clean(n));
        match (*t, next) {
            ("jump" | "goto", Some(n)) => r.chains.push(n),
            ("name", Some(n)) if i > 0 && tokens[i - 1] == "counter" => r.counters.push(n),
            ("set", Some(n)) if i > 1 && tokens[i - 1] == "timeout" && tokens[i - 2] == "ct" => {
                r.timeouts.push(n)
            }
            _ => {}
        }
    }
    r
}

fn fail(line: &str, why: &str) -> LinuxError {
    LinuxError::Command {
        command: "nft -f - (model)".into(),
        status: Some(1),
        stderr: format!("{why}: {line}"),
    }
}

/// The text between the outermost braces of `rest`, if any.
fn braced(rest: &str) -> Option<&str> {
    let open = rest.find('{')?;
    let close = rest.rfind('}')?;
    rest.get(open + 1..close).map(str::trim)
}

impl ModelTable {
    fn referenced(&self) -> Refs {
        let mut all = Refs::default();
        for (_, rules) in self.chains.values() {
            for rule in rules {
                let r = refs(rule);
                all.sets.extend(r.sets);
                all.chains.extend(r.chains);
                all.counters.extend(r.counters);
                all.timeouts.extend(r.timeouts);
            }
        }
        all
    }

    /// Applies one line of a script.
    fn line(&mut self, line: &str) -> Result<(), LinuxError> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        let (verb, rest) = line.split_once(' ').ok_or_else(|| fail(line, "syntax"))?;
        let (kind, rest) = match rest.strip_prefix("ct timeout ") {
            Some(r) => ("ct timeout", r),
            None => rest.split_once(' ').ok_or_else(|| fail(line, "syntax"))?,
        };
        let rest = rest
            .strip_prefix(&format!("inet {TABLE}"))
            .ok_or_else(|| fail(line, "not Tether's table"))?
            .trim_start();
        if kind == "table" {
            return match verb {
                "add" => {
                    self.exists = true;
                    Ok(())
                }
                "flush" if self.exists => {
                    for (_, rules) in self.chains.values_mut() {
                        rules.clear();
                    }
                    Ok(())
                }
                _ => Err(fail(line, "unsupported table command")),
            };
        }
        if !self.exists {
            return Err(fail(line, "No such file or directory (table)"));
        }
        let (name, body) = rest.split_once(' ').unwrap_or((rest, ""));
        let name = name.to_string();
        match (verb, kind) {
            ("add", "chain") => {
                self.chains
                    .entry(name)
                    .or_insert_with(|| (body.to_string(), Vec::new()));
            }
            ("flush", "chain") => {
                let Some((_, rules)) = self.chains.get_mut(&name) else {
                    return Err(fail(line, "No such file or directory"));
                };
                rules.clear();
            }
            ("delete", "chain") => {
                let Some((_, rules)) = self.chains.get(&name) else {
                    return Err(fail(line, "No such file or directory"));
                };
                if !rules.is_empty() || self.referenced().chains.contains(&name) {
                    return Err(fail(line, "Device or resource busy"));
                }
                self.chains.remove(&name);
            }
            ("add", "set") => {
                let declaration = braced(body).unwrap_or_default().to_string();
                match self.sets.get(&name) {
                    Some(s) if s.declaration != declaration => {
                        return Err(fail(line, "File exists (another declaration)"));
                    }
                    Some(_) => {}
                    None => {
                        self.sets.insert(
                            name,
                            ModelSet {
                                declaration,
                                elements: BTreeSet::new(),
                            },
                        );
                    }
                }
            }
            ("delete", "set") => {
                if !self.sets.contains_key(&name) {
                    return Err(fail(line, "No such file or directory"));
                }
                if self.referenced().sets.contains(&name) {
                    return Err(fail(line, "Device or resource busy"));
                }
                self.sets.remove(&name);
            }
            ("add", "rule") => {
                let r = refs(body);
                let missing = r.sets.iter().any(|s| !self.sets.contains_key(s))
                    || r.chains.iter().any(|c| !self.chains.contains_key(c))
                    || r.counters.iter().any(|c| !self.counters.contains_key(c))
                    || r.timeouts.iter().any(|t| !self.timeouts.contains_key(t));
                if missing {
                    return Err(fail(line, "No such file or directory (a named object)"));
                }
                let Some((_, rules)) = self.chains.get_mut(&name) else {
                    return Err(fail(line, "No such file or directory (chain)"));
                };
                rules.push(body.to_string());
            }
            ("add" | "delete", "element") => {
                let Some(set) = self.sets.get_mut(&name) else {
                    return Err(fail(line, "No such file or directory (set)"));
                };
                let list = braced(body).ok_or_else(|| fail(line, "syntax"))?;
                for e in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    if verb == "add" {
                        set.elements.insert(e.to_string());
                    } else if !set.elements.remove(e) {
                        return Err(fail(line, "No such file or directory (element)"));
                    }
                }
            }
            ("add", "ct timeout") => {
                self.timeouts
                    .entry(name)
                    .or_insert_with(|| body.to_string());
            }
            ("add", "counter") => {
                self.counters
                    .entry(name)
                    .or_insert_with(|| body.to_string());
            }
            ("delete", "ct timeout" | "counter") => {
                let (objects, used) = if kind == "counter" {
                    (&mut self.counters, refs_of(&self.chains, |r| r.counters))
                } else {
                    (&mut self.timeouts, refs_of(&self.chains, |r| r.timeouts))
                };
                if used.contains(&name) {
                    return Err(fail(line, "Device or resource busy"));
                }
                if objects.remove(&name).is_none() {
                    return Err(fail(line, "No such file or directory"));
                }
            }
            _ => return Err(fail(line, "unsupported command")),
        }
        Ok(())
    }

    /// `nft -j -t list table inet tether`, as far as the installer reads it.
    fn listing(&self) -> Value {
        let mut items = vec![json!({"table": {"family": "inet", "name": TABLE}})];
        for (name, (decl, _)) in &self.chains {
            let mut chain = json!({"family": "inet", "table": TABLE, "name": name});
            if decl.contains("hook") {
                chain["hook"] = json!("forward");
            }
            items.push(json!({ "chain": chain }));
        }
        for name in self.sets.keys() {
            items.push(json!({"set": {"family": "inet", "table": TABLE, "name": name}}));
        }
        for name in self.timeouts.keys() {
            items.push(json!({"ct timeout": {"family": "inet", "table": TABLE, "name": name}}));
        }
        for name in self.counters.keys() {
            items.push(json!({"counter": {"family": "inet", "table": TABLE, "name": name}}));
        }
        json!({ "nftables": items })
    }
}

fn refs_of(
    chains: &BTreeMap<String, (String, Vec<String>)>,
    pick: impl Fn(Refs) -> Vec<String>,
) -> BTreeSet<String> {
    chains
        .values()
        .flat_map(|(_, rules)| rules.iter().flat_map(|r| pick(refs(r))))
        .collect()
}

/// The kernel as a [`ModelTable`] behind the [`Kernel`] trait, with an empty conntrack table.
/// Every script it was given is kept, for tests that look at what an install sent.
#[derive(Debug, Default)]
pub struct NftModel {
    table: Mutex<ModelTable>,
    scripts: Mutex<Vec<String>>,
}

impl NftModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// The table as it stands.
    pub fn table(&self) -> ModelTable {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The scripts applied so far (successful or not), oldest first; clears the record.
    pub fn take_scripts(&self) -> Vec<String> {
        std::mem::take(&mut *self.scripts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Kernel for NftModel {
    fn nft_apply(&self, script: &str) -> Result<(), LinuxError> {
        self.scripts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(script.to_string());
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = table.clone();
        for line in script.lines() {
            next.line(line)?;
        }
        *table = next;
        Ok(())
    }

    fn nft(&self, args: &[&str]) -> Result<String, LinuxError> {
        let table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        match args {
            ["-j", "-t", "list", "table", "inet", t] if *t == TABLE => {
                if table.exists {
                    Ok(table.listing().to_string())
                } else {
                    Err(LinuxError::Command {
                        command: "nft list table (model)".into(),
                        status: Some(1),
                        stderr: "Error: No such file or directory".into(),
                    })
                }
            }
            ["--version"] => Ok("nftables v1.0.6 (model)".into()),
            _ => Err(fail(&args.join(" "), "not modelled")),
        }
    }

    fn conntrack(&self, _args: &[&str]) -> Result<String, LinuxError> {
        Ok(String::new())
    }

    fn conntrack_proc(&self) -> Option<String> {
        Some(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(script: &str) -> (NftModel, Result<(), LinuxError>) {
        let m = NftModel::new();
        let r = m.nft_apply(script);
        (m, r)
    }

    #[test]
    fn a_failed_script_changes_nothing() {
        let base = "add table inet tether\nadd set inet tether s { typeof ip saddr; }\n\
                    add element inet tether s { 1, 2 }\n";
        let (m, r) = model(base);
        r.expect("base");
        let before = m.table();
        let bad = "add element inet tether s { 3 }\ndelete element inet tether s { 9 }\n";
        assert!(m.nft_apply(bad).is_err());
        assert_eq!(m.table(), before);
    }

    #[test]
    fn nft_rules_the_model_keeps() {
        let base = "add table inet tether\nadd set inet tether s { typeof ip saddr; }\n\
                    add chain inet tether c\nadd chain inet tether d\n\
                    add rule inet tether c ip saddr @s jump d\n";
        // (script after the base, accepted)
        let cases = [
            ("delete set inet tether s", false),
            ("delete chain inet tether d", false),
            ("delete chain inet tether c", false),
            (
                "flush table inet tether\ndelete chain inet tether c\ndelete chain inet tether d\ndelete set inet tether s",
                true,
            ),
            ("add rule inet tether c ip saddr @nope accept", false),
            ("add rule inet tether c counter name \"m_1\" accept", false),
            (
                "add counter inet tether m_1 { }\nadd rule inet tether c counter name \"m_1\" accept",
                true,
            ),
            (
                "add rule inet tether c ct timeout set \"t_5\" accept",
                false,
            ),
            (
                "add element inet tether s { 1 }\nadd element inet tether s { 1 }",
                true,
            ),
            ("delete element inet tether s { 1 }", false),
            ("add set inet tether s { typeof ip daddr; }", false),
            ("add set inet tether s { typeof ip saddr; }", true),
            ("add rule inet other c accept", false),
        ];
        for (script, ok) in cases {
            let (m, r) = model(base);
            r.expect("base");
            assert_eq!(m.nft_apply(script).is_ok(), ok, "{script}");
        }
        let (m, _) = model(base);
        m.nft_apply("flush table inet tether").expect("flush");
        let t = m.table();
        assert!(t.chains.values().all(|(_, r)| r.is_empty()));
        assert!(t.sets.contains_key("s"), "flush keeps sets");
    }
}
