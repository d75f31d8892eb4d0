//! `tetherctl import --map CISCO=LINUX` and `--interface-map FILE`: Cisco interface names
//! rewritten to the names the target box's interfaces have, ranges included
//! (`Gi1/1-40=swp1-40`), and the check that what is left can be a Linux interface name.
//!
//! Why here and not in the daemon: the Cisco names are an artefact of the text being imported;
//! the daemon stores the box's own names. Mapping after translation (on [`ir::Config`]) means
//! the parser keeps one job and every place that names an interface is rewritten alike.

use std::collections::BTreeMap;

use super::interface::{expand_range, normalize};
use super::ir;

/// Cisco name (IOS short form) → the name to use instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceMap {
    names: BTreeMap<String, String>,
}

impl InterfaceMap {
    /// Adds one `CISCO=LINUX` rule. Either side may be a range (`Gi1/1-40=swp1-40`,
    /// `Gi1/1-4, Gi1/10=eth1-5`); both sides must then name as many interfaces. The Cisco side
    /// is read like an `interface range` (abbreviations accepted); the other side is taken as
    /// written, a range expanding its last number.
    pub fn add_rule(&mut self, rule: &str) -> Result<(), String> {
        let (from, to) = rule
            .split_once('=')
            .ok_or_else(|| format!("{rule:?}: a rule is CISCO=LINUX"))?;
        let from = expand_range(from.trim()).map_err(|e| format!("{rule:?}: {e}"))?;
        let to = expand_target(to.trim()).map_err(|e| format!("{rule:?}: {e}"))?;
        if from.len() != to.len() {
            return Err(format!(
                "{rule:?}: {} Cisco names but {} names to map them to",
                from.len(),
                to.len()
            ));
        }
        for (f, t) in from.into_iter().zip(to) {
            if let Some(old) = self.names.get(&f)
                && *old != t
            {
                return Err(format!("{rule:?}: {f} is already mapped to {old}"));
            }
            self.names.insert(f, t);
        }
        Ok(())
    }

    /// Reads a map file: one rule a line, `CISCO=LINUX` or `CISCO LINUX`; `#` and `!` start
    /// comments. Errors name the line.
    pub fn add_file(&mut self, text: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.split(['#', '!']).next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let rule = if line.contains('=') {
                line.to_string()
            } else {
                let mut words = line.rsplitn(2, char::is_whitespace);
                match (words.next(), words.next()) {
                    (Some(to), Some(from)) => format!("{from}={to}"),
                    _ => return Err(format!("line {}: {line:?}: expected CISCO LINUX", i + 1)),
                }
            };
            self.add_rule(&rule)
                .map_err(|e| format!("line {}: {e}", i + 1))?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name `name` becomes (itself when not mapped).
    pub fn map<'a>(&'a self, name: &'a str) -> &'a str {
        self.names.get(name).map(String::as_str).unwrap_or(name)
    }

    /// Rewrites every interface the configuration names.
    pub fn apply(&self, config: &mut ir::Config) {
        for sp in &mut config.service_policies {
            sp.interface = self.map(&sp.interface).to_string();
        }
        for g in &mut config.link_state_groups {
            for n in g.upstream.iter_mut().chain(g.downstream.iter_mut()) {
                *n = self.map(n).to_string();
            }
        }
    }
}

/// The right side of a rule: names as written, `stem N - M` expanding the last number.
fn expand_target(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err("empty name to map to".into());
        }
        match item.rsplit_once('-') {
            Some((first, last))
                if !last.trim().is_empty() && last.trim().bytes().all(|b| b.is_ascii_digit()) =>
            {
                let first = first.trim();
                let digits = first.bytes().rev().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    // A hyphen inside a name (`br-lan`), not a range.
                    out.push(item.to_string());
                    continue;
                }
                let (stem, start) = first.split_at(first.len() - digits);
                let parse = |s: &str| s.parse::<u32>().map_err(|_| format!("{s}: not a number"));
                let (start, end) = (parse(start)?, parse(last.trim())?);
                if end < start || end - start >= 4096 {
                    return Err(format!("the range {first} - {end} is empty or too large"));
                }
                out.extend((start..=end).map(|n| format!("{stem}{n}")));
            }
            _ => out.push(normalize(item).map(|_| item.to_string())?),
        }
    }
    Ok(out)
}

/// Why Linux cannot call an interface `name`, or `None` when it can: at most 15 bytes
/// (IFNAMSIZ - 1), not `.` or `..`, no `/`, `:` or whitespace (`dev_valid_name` in the kernel;
/// `:` is refused by iproute2 and marks an alias).
pub fn linux_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 15 {
        return Some(format!("{name:?} is not 1 to 15 bytes long"));
    }
    if name == "." || name == ".." {
        return Some(format!("{name:?} is not a valid name"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace())
    {
        return Some(format!("{name:?} contains {c:?}"));
    }
    None
}

/// Every interface the configuration names that Linux could not hold, with the reason, once
/// each, in the order they appear.
pub fn non_linux_names(config: &ir::Config) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    let names = config.service_policies.iter().map(|s| &s.interface).chain(
        config
            .link_state_groups
            .iter()
            .flat_map(|g| g.upstream.iter().chain(g.downstream.iter())),
    );
    names
        .filter(|n| seen.insert(n.to_string()))
        .filter_map(|n| linux_name_problem(n).map(|why| (n.clone(), why)))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rules_with_ranges_and_abbreviations() {
        let mut m = InterfaceMap::default();
        m.add_rule("g1/1 - 40=swp1-40").unwrap();
        m.add_rule("Port-channel11=bond0").unwrap();
        m.add_rule("Inside = eth0").unwrap();
        m.add_rule("Gi2/1-2, Gi2/5=eth1-3").unwrap();
        assert_eq!(m.map("Gi1/1"), "swp1");
        assert_eq!(m.map("Gi1/40"), "swp40");
        assert_eq!(m.map("Po11"), "bond0");
        assert_eq!(m.map("Inside"), "eth0");
        assert_eq!(m.map("Gi2/5"), "eth3");
        assert_eq!(m.map("MPLS"), "MPLS");
        // A hyphen inside a target name is not a range.
        m.add_rule("MPLS=br-wan").unwrap();
        assert_eq!(m.map("MPLS"), "br-wan");
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule() {
        for (rule, says) in [
            ("Gi1/1", "CISCO=LINUX"),
            ("Gi1/1-4=eth1-3", "4 Cisco names but 3"),
            ("Gi1/4-1=eth1", "backwards"),
            ("Gi1/1=", "empty"),
        ] {
            let e = InterfaceMap::default().add_rule(rule).unwrap_err();
            assert!(e.contains(says), "{rule}: {e}");
        }
        let mut m = InterfaceMap::default();
        m.add_rule("Gi1/1=eth1").unwrap();
        assert!(
            m.add_rule("Gi1/1=eth2")
                .unwrap_err()
                .contains("already mapped")
        );
        assert!(
            m.add_rule("gi1/1=eth1").is_ok(),
            "the same rule twice is fine"
        );
    }

    #[test]
    fn map_file_lines_and_comments() {
        let mut m = InterfaceMap::default();
        m.add_file("# HQ4948A → this box\nGi1/1-40  swp1-40\nPo11=bond0 ! uplink\n\n")
            .unwrap();
        assert_eq!(m.map("Gi1/17"), "swp17");
        assert_eq!(m.map("Po11"), "bond0");
        let e = InterfaceMap::default()
            .add_file("ok=x\nnonsense\n")
            .unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }

    #[test]
    fn linux_name_rule() {
        for good in [
            "eth0",
            "swp1",
            "bond0",
            "br-wan",
            "veth.100",
            "a23456789012345",
        ] {
            assert_eq!(linux_name_problem(good), None, "{good}");
        }
        for bad in ["Gi1/1", "eth0:1", "a234567890123456", "", ".", "..", "a b"] {
            assert!(linux_name_problem(bad).is_some(), "{bad:?}");
        }
    }
}
