//! Installing the rendered program: one `nft -f -` transaction, in place when only set elements
//! changed, and the conntrack housekeeping that follows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;
use tether_dataplane::{AclAction, BypassProgram, ProgramDelta};
use tracing::{debug, info, info_span, warn};

use crate::cmd::Kernel;
use crate::conntrack::{self, CtEntry};
use crate::error::LinuxError;
use crate::render::{
    self, ClassInfo, RenderOptions, Rendered, TABLE, base_chain, counter_object, element_lines,
    gate_script, raw_base_chain, rearm,
};

/// How an install was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyKind {
    /// Nothing differed.
    Unchanged,
    /// Only set elements were added or deleted.
    Elements,
    /// Chains and sets were rebuilt (ct timeout objects and counters kept).
    Rebuild,
}

/// Bypass entries an install deleted from conntrack, with the class that had built them.
pub type Flushed = Vec<(CtEntry, Option<ClassInfo>)>;

/// What is in the kernel's `inet tether` table, as far as Tether's objects go.
#[derive(Debug, Default, Clone)]
struct Listing {
    exists: bool,
    chains: Vec<String>,
    sets: Vec<String>,
    timeouts: Vec<String>,
    counters: Vec<String>,
}

fn list_table(tools: &dyn Kernel) -> Result<Listing, LinuxError> {
    let text = match tools.nft(&["-j", "-t", "list", "table", "inet", TABLE]) {
        Ok(t) => t,
        Err(LinuxError::Command { stderr, .. }) if stderr.contains("No such file") => {
            return Ok(Listing::default());
        }
        Err(e) => return Err(e),
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| LinuxError::Parse {
        what: "nft -j list table".into(),
        detail: e.to_string(),
    })?;
    let mut l = Listing {
        exists: true,
        ..Default::default()
    };
    for item in v["nftables"].as_array().into_iter().flatten() {
        let Some(obj) = item.as_object() else {
            continue;
        };
        for (kind, body) in obj {
            let name = body["name"].as_str().unwrap_or_default().to_string();
            match kind.as_str() {
                "chain" if body.get("hook").is_none() => l.chains.push(name),
                "set" | "map" => l.sets.push(name),
                "ct timeout" => l.timeouts.push(name),
                "counter" => l.counters.push(name),
                _ => {}
            }
        }
    }
    Ok(l)
}

/// Per-named-counter values of the table.
pub fn read_counters(tools: &dyn Kernel) -> Result<BTreeMap<String, (u64, u64)>, LinuxError> {
    let text = tools.nft(&["-j", "list", "counters", "table", "inet", TABLE])?;
    let v: Value = serde_json::from_str(&text).map_err(|e| LinuxError::Parse {
        what: "nft -j list counters".into(),
        detail: e.to_string(),
    })?;
    let mut out = BTreeMap::new();
    for item in v["nftables"].as_array().into_iter().flatten() {
        if let Some(c) = item.get("counter") {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            out.insert(
                name,
                (
                    c["packets"].as_u64().unwrap_or(0),
                    c["bytes"].as_u64().unwrap_or(0),
                ),
            );
        }
    }
    Ok(out)
}

/// The program as installed, and what Tether knows of the kernel's table.
#[derive(Debug, Default)]
pub struct Installer {
    pub options: RenderOptions,
    pub installed: Option<(BypassProgram, Rendered)>,
    /// Tether's objects in the kernel table as of the last transaction, so installs need not list
    /// the table (listing reads every set element: ~0.1 s at 10,000). `None`: list before the next
    /// rebuild (first install, after a failure, drift).
    known: Option<Listing>,
    /// Every conntrack entry installs deleted since this was last taken (counted as flushed or
    /// not), so their DESTROY events are not taken for teardowns.
    pub deleted: Vec<crate::teardowns::Tuple>,
}

/// Which class a packet without a connection falls into under `policy` (the simulator's rules):
/// `Some(Ok(class))` for a permit, `Some(Err(class))` for a deny of a bypass class, `None` if none.
pub fn classify<'a>(
    program: &'a BypassProgram,
    policy: &str,
    e: &CtEntry,
) -> Option<Result<&'a str, &'a str>> {
    let p = program.policies.get(policy)?;
    for c in &p.classes {
        let acl = program.access_lists.get(&c.access_list)?;
        let first = acl
            .entries
            .iter()
            .find(|a| a.matches(e.protocol, e.src, e.dst, e.sport, e.dport));
        match first.map(|a| a.action) {
            Some(AclAction::Permit) => return Some(Ok(c.name.as_str())),
            Some(AclAction::Deny) if c.tcp_state_bypass => return Some(Err(c.name.as_str())),
            _ => {}
        }
    }
    None
}

impl Installer {
    pub fn new(options: RenderOptions) -> Self {
        Self {
            options,
            installed: None,
            known: None,
            deleted: Vec::new(),
        }
    }

    /// Installs `program`, which differs from the installed one only where `delta` says: the
    /// touched entries' elements in one transaction when [`render::incremental::update`]
    /// can patch them in, else as [`Installer::install`] (also when `delta` is `None`).
    pub fn update(
        &mut self,
        tools: &dyn Kernel,
        program: &BypassProgram,
        delta: Option<&ProgramDelta>,
    ) -> Result<(ApplyKind, Flushed), LinuxError> {
        let (Some(delta), Some(_), Some((old_program, rendered))) =
            (delta, &self.known, &mut self.installed)
        else {
            return self.install(tools, program);
        };
        let Some(changes) = render::incremental::update(old_program, rendered, program, delta)
        else {
            return self.install(tools, program);
        };
        let mut script = String::new();
        for (set, element) in &changes.deleted {
            element_lines("delete", set, &[element], &mut script);
        }
        for (set, element) in &changes.added {
            element_lines("add", set, &[element], &mut script);
        }
        // Arming flips gate chains only; it never needs a flush (a disarmed class keeps the
        // bypass connections it built).
        let gates_before = rearm(rendered, program);
        script.push_str(&gate_script(&gates_before, &rendered.gates));
        *old_program = program.clone();
        if script.is_empty() {
            return Ok((ApplyKind::Unchanged, Vec::new()));
        }
        let safe = changes.deleted.is_empty()
            && changes
                .added
                .iter()
                .all(|(set, _)| rendered.add_safe_sets.contains(set));
        let classes = rendered.classes.clone();
        let applied = {
            let _s = info_span!("nft.apply", kind = "delta", bytes = script.len()).entered();
            tools.nft_apply(&script)
        };
        if let Err(e) = applied {
            warn!(error = %e, "delta update failed; rebuilding the table");
            self.forget();
            return self.install(tools, program);
        }
        let flushed = if safe {
            Vec::new()
        } else {
            self.flush_stale(tools, program, &classes)?
        };
        Ok((ApplyKind::Elements, flushed))
    }

    /// Installs `program`; returns how, and the bypass entries it flushed (already deleted).
    pub fn install(
        &mut self,
        tools: &dyn Kernel,
        program: &BypassProgram,
    ) -> Result<(ApplyKind, Flushed), LinuxError> {
        let new = render::render(program, self.options);
        let mut safe = false;
        let kind = match &self.installed {
            // A conditional class names its ct timeout only in its gate (outside the
            // skeleton), so equal skeletons need equal timeouts too.
            Some((_, old))
                if old.skeleton == new.skeleton
                    && old.timeouts == new.timeouts
                    && old.established_timeouts == new.established_timeouts
                    && self.known.is_some() =>
            {
                let (mut script, only_safe_adds) = element_diff(old, &new);
                script.push_str(&gate_script(&old.gates, &new.gates));
                safe = only_safe_adds;
                if script.is_empty() {
                    ApplyKind::Unchanged
                } else {
                    let _s =
                        info_span!("nft.apply", kind = "elements", bytes = script.len()).entered();
                    match tools.nft_apply(&script) {
                        Ok(()) => ApplyKind::Elements,
                        Err(e) => {
                            // The table was changed behind our back: rebuild it.
                            warn!(error = %e, "in-place update failed; rebuilding the table");
                            self.known = None;
                            self.rebuild(tools, &new)?;
                            ApplyKind::Rebuild
                        }
                    }
                }
            }
            _ => {
                self.rebuild(tools, &new)?;
                ApplyKind::Rebuild
            }
        };
        let old_classes: Vec<ClassInfo> = self
            .installed
            .as_ref()
            .map(|(_, r)| r.classes.clone())
            .unwrap_or_default();
        self.installed = Some((program.clone(), new));
        // Only additions to permit runs of last classes cannot change a live connection's class.
        let flushed = if kind == ApplyKind::Unchanged || (kind == ApplyKind::Elements && safe) {
            Vec::new()
        } else {
            self.flush_stale(tools, program, &old_classes)?
        };
        if kind == ApplyKind::Rebuild {
            self.collect_garbage(tools)?;
        }
        Ok((kind, flushed))
    }

    fn rebuild(&mut self, tools: &dyn Kernel, new: &Rendered) -> Result<(), LinuxError> {
        let existing = match self.known.take() {
            Some(k) => k,
            None => list_table(tools)?,
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "add table inet {TABLE} {{ comment \"managed by Tether: do not edit\"; }}"
        );
        s.push_str(&base_chain());
        s.push_str(&raw_base_chain());
        s.push_str(&new.timeout_objects());
        for c in &new.counters {
            s.push_str(&counter_object(c, &new.classes));
        }
        let _ = writeln!(s, "flush table inet {TABLE}");
        for c in &existing.chains {
            let _ = writeln!(s, "delete chain inet {TABLE} {c}");
        }
        for set in &existing.sets {
            let _ = writeln!(s, "delete set inet {TABLE} {set}");
        }
        s.push_str(&new.skeleton);
        for (set, elems) in &new.elements {
            let v: Vec<&String> = elems.iter().collect();
            element_lines("add", set, &v, &mut s);
        }
        s.push_str(&gate_script(&BTreeMap::new(), &new.gates));
        let _s = info_span!("nft.apply", kind = "rebuild", bytes = s.len()).entered();
        tools.nft_apply(&s)?;
        let mut timeouts: BTreeSet<String> = existing.timeouts.into_iter().collect();
        timeouts.extend(new.timeout_names());
        let mut counters: BTreeSet<String> = existing.counters.into_iter().collect();
        counters.extend(new.counters.iter().cloned());
        self.known = Some(Listing {
            exists: true,
            chains: new.chains.clone(),
            sets: new.sets.keys().cloned().collect(),
            timeouts: timeouts.into_iter().collect(),
            counters: counters.into_iter().collect(),
        });
        Ok(())
    }

    /// Deletes bypass entries the new program would not build again with the same class and
    /// timeout (a removed class, an access-list that no longer selects them, a changed timeout).
    /// Bypass connections survive it: their next packet, mid-flow, builds a fresh entry.
    fn flush_stale(
        &mut self,
        tools: &dyn Kernel,
        program: &BypassProgram,
        old_classes: &[ClassInfo],
    ) -> Result<Flushed, LinuxError> {
        let Some((_, new)) = &self.installed else {
            return Ok(Vec::new());
        };
        let entries = conntrack::list_tagged(tools)?;
        let mut flushed = Vec::new();
        for e in entries.into_iter().filter(CtEntry::bypass) {
            let now = new.classes.iter().find(|c| c.id == e.class_id());
            let before = old_classes.iter().find(|c| c.id == e.class_id());
            let keep = match now {
                Some(c) => {
                    // Only a `full` class builds entries with a bypass mark.
                    c.bypass
                        && c.mode == tether_dataplane::BypassMode::Full
                        && before.is_none_or(|b| b.timeout_secs == c.timeout_secs)
                        && classify(program, &c.policy, &e) == Some(Ok(c.class.as_str()))
                }
                None => false,
            };
            if !keep {
                conntrack::delete(tools, &e)?;
                self.deleted.push(crate::teardowns::tuple(&e));
                // A changed timeout is not a teardown: the connection rebuilds at once.
                let counted =
                    now.is_none_or(|c| before.is_none_or(|b| b.timeout_secs == c.timeout_secs));
                debug!(src = %e.src, dst = %e.dst, sport = e.sport, dport = e.dport, counted, "bypass entry flushed");
                if counted {
                    flushed.push((e, before.or(now).cloned()));
                }
            }
        }
        Ok(flushed)
    }

    /// Deletes ct timeout objects and counters no class uses any more (after the entries that
    /// used them were flushed: deleting a timeout object in use would reset those entries to the
    /// kernel defaults).
    fn collect_garbage(&mut self, tools: &dyn Kernel) -> Result<(), LinuxError> {
        let Some((_, new)) = &self.installed else {
            return Ok(());
        };
        let Some(existing) = self.known.clone() else {
            return Ok(());
        };
        let want_t: BTreeSet<String> = new.timeout_names();
        let mut s = String::new();
        for t in existing.timeouts.iter().filter(|t| !want_t.contains(*t)) {
            let _ = writeln!(s, "delete ct timeout inet {TABLE} {t}");
        }
        for c in existing
            .counters
            .iter()
            .filter(|c| !new.counters.contains(*c))
        {
            let _ = writeln!(s, "delete counter inet {TABLE} {c}");
        }
        if !s.is_empty() {
            info!(
                objects = s.lines().count(),
                "deleting unused ct timeouts and counters"
            );
            tools.nft_apply(&s)?;
            // What is gone is no longer known to be there: the next collection would
            // otherwise delete it again and fail the install that follows.
            if let Some(known) = &mut self.known {
                known.timeouts.retain(|t| want_t.contains(t));
                known.counters.retain(|c| new.counters.contains(c));
            }
        }
        Ok(())
    }

    /// Whether the kernel's table still has what Tether installed: every set, chain and object,
    /// the same rules and the same set elements (counters aside). Cheap enough for a periodic check
    /// with a few thousand elements; `Ok(false)` means drift (reinstall with [`Installer::forget`]).
    pub fn verify(&self, tools: &dyn Kernel) -> Result<bool, LinuxError> {
        let Some((_, r)) = &self.installed else {
            return Ok(true);
        };
        let l = list_table(tools)?;
        if !l.exists {
            return Ok(false);
        }
        let chains: BTreeSet<&String> = l.chains.iter().collect();
        let sets: BTreeSet<&String> = l.sets.iter().collect();
        let want_chains: BTreeSet<&String> = r.chains.iter().collect();
        let want_sets: BTreeSet<&String> = r.sets.keys().collect();
        let timeouts: BTreeSet<String> = r.timeout_names();
        let have_t: BTreeSet<String> = l.timeouts.iter().cloned().collect();
        let have_c: BTreeSet<String> = l.counters.iter().cloned().collect();
        if chains != want_chains
            || sets != want_sets
            || !timeouts.is_subset(&have_t)
            || !r.counters.is_subset(&have_c)
        {
            return Ok(false);
        }
        // Rule count of the base chain and element counts of the sets.
        let fwd = tools.nft(&["-j", "list", "chain", "inet", TABLE, "forward"])?;
        let v: Value = serde_json::from_str(&fwd).map_err(|e| LinuxError::Parse {
            what: "nft -j list chain".into(),
            detail: e.to_string(),
        })?;
        let rules = v["nftables"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|i| i.get("rule").is_some()).count());
        let want_rules = r
            .skeleton
            .lines()
            .filter(|l| l.starts_with(&format!("add rule inet {TABLE} forward ")))
            .count();
        Ok(rules == want_rules)
    }

    /// Forgets what was installed, so the next install rebuilds.
    pub fn forget(&mut self) {
        self.installed = None;
        self.known = None;
    }
}

/// `delete element` / `add element` lines turning `old`'s sets into `new`'s.
/// Also says whether the change is only additions to [`Rendered::add_safe_sets`].
fn element_diff(old: &Rendered, new: &Rendered) -> (String, bool) {
    let mut s = String::new();
    let empty = BTreeSet::new();
    // Deletions first: an element moving between layers must leave before it arrives.
    let deletions_before = s.len();
    for (set, want) in &new.elements {
        let have = old.elements.get(set).unwrap_or(&empty);
        let gone: Vec<&String> = have.difference(want).collect();
        element_lines("delete", set, &gone, &mut s);
    }
    for (set, have) in &old.elements {
        if !new.elements.contains_key(set) {
            let gone: Vec<&String> = have.iter().collect();
            element_lines("delete", set, &gone, &mut s);
        }
    }
    let mut safe = s.len() == deletions_before;
    for (set, want) in &new.elements {
        let have = old.elements.get(set).unwrap_or(&empty);
        let added: Vec<&String> = want.difference(have).collect();
        if !added.is_empty() && !new.add_safe_sets.contains(set) {
            safe = false;
        }
        element_lines("add", set, &added, &mut s);
    }
    (s, safe)
}

/// Deletes the whole table (tests and `tetherd --dataplane linux` teardown on request only).
pub fn delete_table(tools: &dyn Kernel) -> Result<(), LinuxError> {
    match tools.nft(&["delete", "table", "inet", TABLE]) {
        Ok(_) => Ok(()),
        Err(LinuxError::Command { stderr, .. }) if stderr.contains("No such file") => Ok(()),
        Err(e) => Err(e),
    }
}

/// One part of a set element in `nft -n -j` output, written like [`render::element_text`].
fn element_part(v: &Value) -> Option<String> {
    let addr = |s: &str| -> Option<String> {
        let a: std::net::IpAddr = s.parse().ok()?;
        Some(format!("{a}/{}", if a.is_ipv6() { 128 } else { 32 }))
    };
    match v {
        Value::String(s) => addr(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let a: std::net::IpAddr = p["addr"].as_str()?.parse().ok()?;
                Some(format!("{a}/{}", p["len"].as_u64()?))
            } else if let Some(r) = o.get("range") {
                let (lo, hi) = (r.get(0)?, r.get(1)?);
                match (lo.as_u64(), hi.as_u64()) {
                    (Some(lo), Some(hi)) if lo == hi => Some(lo.to_string()),
                    (Some(lo), Some(hi)) => Some(format!("{lo}-{hi}")),
                    _ => None,
                }
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Hits per access-list entry, from the sets' per-element counters.
pub fn read_element_counters(
    tools: &dyn Kernel,
    rendered: &Rendered,
) -> Result<Vec<tether_dataplane::AclEntryCounters>, LinuxError> {
    let text = tools.nft(&["-n", "-j", "list", "table", "inet", TABLE])?;
    let v: Value = serde_json::from_str(&text).map_err(|e| LinuxError::Parse {
        what: "nft -j list table".into(),
        detail: e.to_string(),
    })?;
    let mut hits: BTreeMap<(String, String), u64> = BTreeMap::new();
    for item in v["nftables"].as_array().into_iter().flatten() {
        let Some(set) = item.get("set") else { continue };
        let name = set["name"].as_str().unwrap_or_default().to_string();
        for e in set["elem"].as_array().into_iter().flatten() {
            let Some(parts) = e["elem"]["val"]["concat"].as_array() else {
                continue;
            };
            let Some(parts) = parts.iter().map(element_part).collect::<Option<Vec<_>>>() else {
                continue;
            };
            let packets = e["elem"]["counter"]["packets"].as_u64().unwrap_or(0);
            hits.insert((name.clone(), parts.join(" . ")), packets);
        }
    }
    let mut out = Vec::new();
    let mut credited = BTreeSet::new();
    for p in &rendered.entries {
        let key = (p.set.clone(), p.element.clone());
        // An identical selector later in the same run is shadowed: the first one gets the hits.
        let h = if credited.insert(key.clone()) {
            hits.get(&key).copied().unwrap_or(0)
        } else {
            0
        };
        out.push(tether_dataplane::AclEntryCounters {
            access_list: p.access_list.clone(),
            sequence: p.sequence,
            hits: h,
        });
    }
    out.sort_by(|a, b| (&a.access_list, a.sequence).cmp(&(&b.access_list, b.sequence)));
    Ok(out)
}
