//! `show link state group [N] [detail]`, laid out exactly as Cisco IOS prints it:
//!
//! ```text
//! Link State Group: 1 Status: Enabled, Up
//! Upstream Interfaces : Po11(Up)
//! Downstream Interfaces: Gi1/1(Up) Gi1/2(Up) Gi1/3(Up) Gi1/4(Up)
//!                        Gi1/5(Up) Gi1/6(Up) Gi1/7(Up) Gi1/8(Up)
//!
//! (Up):Interface up (Dwn):Interface Down (Dis):Interface disabled
//! ```

use serde_json::Value;
use tether_schema::tether_link_state::{self, link_state::LinkState};

use crate::order::natural_cmp;

use tether_link_state::link_state::groups::group::state::Status;

/// Interfaces per line in the detail output, as IOS prints them.
const PER_LINE: usize = 4;

/// The legend IOS prints after the detail output.
pub const LEGEND: &str = "(Up):Interface up (Dwn):Interface Down (Dis):Interface disabled";

/// A link state tracking group as the show command needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStateGroup {
    pub id: u64,
    /// `link state track N` (the group tracks and acts); YANG `enabled`, default true.
    pub enabled: bool,
    /// `state/status`; None when the daemon has not published state for the group yet.
    pub up: Option<bool>,
    pub upstream: Vec<Member>,
    pub downstream: Vec<Member>,
    /// Lines for the knobs IOS does not have (thresholds, disable links, manual recovery),
    /// printed after the members in the Dell Enterprise SONiC / OS9 wording; empty for a
    /// group configured as on IOS, so its output stays IOS's.
    pub knobs: Vec<String>,
}

/// A member interface and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub status: MemberStatus,
}

/// The status IOS shows in parentheses after a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    Up,
    Down,
    Disabled,
    /// No state published yet.
    Unknown,
}

impl MemberStatus {
    /// IOS's abbreviation.
    pub fn abbreviation(self) -> &'static str {
        match self {
            MemberStatus::Up => "Up",
            MemberStatus::Down => "Dwn",
            MemberStatus::Disabled => "Dis",
            MemberStatus::Unknown => "?",
        }
    }
}

/// The groups of a Get of `/tether-link-state:link-state` (its value: `{"groups": ...}`, or a
/// whole document with the module-qualified `tether-link-state:link-state` member), ordered by
/// id, members in natural order (`Gi1/2` before `Gi1/10`).
///
/// The JSON is read into the types generated from the YANG, so a leaf renamed or retyped in
/// the model breaks this build, not the output.
pub fn groups_from_json(v: &Value) -> Result<Vec<LinkStateGroup>, serde_json::Error> {
    let root = match v {
        Value::Object(o) if o.keys().any(|k| k.contains(':')) => {
            serde_json::from_value::<tether_link_state::Data>(v.clone())?.link_state
        }
        Value::Null => None,
        _ => Some(serde_json::from_value::<LinkState>(v.clone())?),
    };
    let mut groups: Vec<LinkStateGroup> = root
        .and_then(|r| r.groups)
        .map(|g| g.group)
        .unwrap_or_default()
        .into_iter()
        .map(|g| {
            let state = g.state.as_ref();
            let enabled = state
                .and_then(|s| s.enabled)
                .or_else(|| g.config.as_ref().and_then(|c| c.enabled))
                .unwrap_or(true);
            let knobs = g
                .state
                .as_ref()
                .map(|s| knobs(u16::from(g.id), s, g.config.as_ref()))
                .unwrap_or_default();
            LinkStateGroup {
                id: u64::from(u16::from(g.id)),
                enabled,
                knobs,
                up: state.and_then(|s| s.status).map(|s| s == Status::Up),
                upstream: members(g.upstream.and_then(|u| u.interfaces).map(|i| {
                    i.interface
                        .into_iter()
                        .map(|m| (m.name.to_string(), m.state.and_then(|s| s.oper_status)))
                        .map(|(name, st)| (name, st.as_ref().and_then(yang_name)))
                        .collect()
                })),
                downstream: members(g.downstream.and_then(|d| d.interfaces).map(|i| {
                    i.interface
                        .into_iter()
                        .map(|m| (m.name.to_string(), m.state.and_then(|s| s.oper_status)))
                        .map(|(name, st)| (name, st.as_ref().and_then(yang_name)))
                        .collect()
                })),
            }
        })
        .collect();
    groups.sort_by_key(|g| g.id);
    Ok(groups)
}

/// The non-IOS knobs of a group, from its state (which mirrors what is in force), as lines:
/// `Threshold type percentage up 75 down 50`, `Downstream disable links 2`, `Downstream
/// auto-recover off (waiting for clear link-state group N)`.
fn knobs(
    id: u16,
    s: &tether_link_state::link_state::groups::group::state::State,
    config: Option<&tether_link_state::link_state::groups::group::config::Config>,
) -> Vec<String> {
    let mut out = Vec::new();
    let kind = s.threshold_type.as_ref().and_then(yang_name);
    if let (Some(down), Some(up)) = (s.threshold_down, s.threshold_up) {
        out.push(format!(
            "Threshold type {} up {} down {}",
            kind.as_deref().unwrap_or("count"),
            up.get(),
            down.get()
        ));
    }
    if let Some(n) = s.downstream_disable_links {
        out.push(format!("Downstream disable links {}", n.get()));
    }
    let auto = s
        .auto_recover
        .or_else(|| config.and_then(|c| c.auto_recover));
    if auto == Some(false) {
        out.push(match s.awaiting_clear {
            Some(true) => {
                format!("Downstream auto-recover off: waiting for clear link-state group {id}")
            }
            _ => "Downstream auto-recover off".to_string(),
        });
    }
    out
}

/// The YANG name of an enumeration value, as the generated type serialises it.
fn yang_name<T: serde::Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v).ok()?.as_str().map(str::to_string)
}

/// Members as (name, YANG `oper-status`), in natural order.
fn members(list: Option<Vec<(String, Option<String>)>>) -> Vec<Member> {
    let mut out: Vec<Member> = list
        .unwrap_or_default()
        .into_iter()
        .map(|(name, status)| Member {
            name,
            status: match status.as_deref() {
                Some("up") => MemberStatus::Up,
                Some("down") => MemberStatus::Down,
                Some("disabled") => MemberStatus::Disabled,
                _ => MemberStatus::Unknown,
            },
        })
        .collect();
    out.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    out
}

fn status(g: &LinkStateGroup) -> String {
    format!(
        "{}, {}",
        if g.enabled { "Enabled" } else { "Disabled" },
        match g.up {
            Some(true) => "Up",
            Some(false) => "Down",
            None => "Unknown",
        }
    )
}

/// `show link state group [N]`: one line per group.
pub fn render_summary(groups: &[LinkStateGroup]) -> String {
    let mut out = String::new();
    for g in groups {
        out.push_str(&format!(
            "Link State Group: {:<6} Status: {}\n",
            g.id,
            status(g)
        ));
    }
    out
}

/// `show link state group [N] detail`: each group with its members, then the legend.
pub fn render_detail(groups: &[LinkStateGroup]) -> String {
    let mut out = String::new();
    for g in groups {
        out.push_str(&format!(
            "Link State Group: {} Status: {}\n",
            g.id,
            status(g)
        ));
        member_lines(&mut out, "Upstream Interfaces : ", &g.upstream);
        member_lines(&mut out, "Downstream Interfaces: ", &g.downstream);
        for line in &g.knobs {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    if !groups.is_empty() {
        out.push_str(LEGEND);
        out.push('\n');
    }
    out
}

/// `label` then the members, four per line, continuation lines aligned under the first
/// member.
fn member_lines(out: &mut String, label: &str, members: &[Member]) {
    let items: Vec<String> = members
        .iter()
        .map(|m| format!("{}({})", m.name, m.status.abbreviation()))
        .collect();
    if items.is_empty() {
        out.push_str(label.trim_end());
        out.push('\n');
        return;
    }
    let indent = " ".repeat(label.len());
    for (i, chunk) in items.chunks(PER_LINE).enumerate() {
        out.push_str(if i == 0 { label } else { &indent });
        out.push_str(&chunk.join(" "));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn member(name: &str, oper: &str) -> Value {
        json!({"name": name, "config": {"name": name},
               "state": {"name": name, "oper-status": oper, "disabled-by-group": false}})
    }

    /// The Get value of the reference's switch: group 1, Po11 upstream, Gi1/1-40 downstream,
    /// all up. The members are listed out of order on purpose.
    fn reference_state() -> Value {
        let mut down: Vec<Value> = (1..=40)
            .map(|i| member(&format!("Gi1/{i}"), "up"))
            .collect();
        down.reverse();
        json!({
            "groups": {"group": [{
                "id": 1,
                "config": {"id": 1, "enabled": true},
                "state": {"id": 1, "enabled": true, "status": "up", "upstream-up": 1,
                          "upstream-total": 1, "transitions": "0"},
                "upstream": {"interfaces": {"interface": [member("Po11", "up")]}},
                "downstream": {"interfaces": {"interface": down}}
            }]}
        })
    }

    #[test]
    fn detail_matches_the_reference_layout() {
        // The reference's output with the paste glitch ("Enabled, \nUp") repaired and
        // trailing blanks trimmed.
        let expected = include_str!("../../tests/fixtures/show-link-state-group-1-detail.txt");
        let groups = groups_from_json(&reference_state()).unwrap();
        assert_eq!(render_detail(&groups), expected);
    }

    #[test]
    fn continuation_lines_align_under_the_first_interface() {
        let text = render_detail(&groups_from_json(&reference_state()).unwrap());
        let lines: Vec<&str> = text.lines().collect();
        let first = lines[2].find("Gi1/1(").unwrap();
        assert_eq!(first, "Downstream Interfaces: ".len());
        for l in &lines[3..12] {
            assert_eq!(l.find('G'), Some(first), "{l:?}");
            assert_eq!(l.split_whitespace().count(), 4, "{l:?}");
        }
    }

    #[test]
    fn statuses_are_abbreviated_as_ios_does() {
        let v = json!({"tether-link-state:link-state": {"groups": {"group": [
            {"id": 2, "config": {"id": 2, "enabled": false},
             "state": {"status": "down"},
             "upstream": {"interfaces": {"interface": [member("Te1/49", "down")]}},
             "downstream": {"interfaces": {"interface": [
                 member("Gi1/3", "disabled"), member("Gi1/1", "down"),
                 {"name": "Gi1/2", "config": {"name": "Gi1/2"}}]}}},
            {"id": 1, "config": {"id": 1},
             "upstream": {"interfaces": {"interface": []}}}
        ]}}});
        let groups = groups_from_json(&v).unwrap();
        assert_eq!(
            render_detail(&groups),
            "Link State Group: 1 Status: Enabled, Unknown\n\
             Upstream Interfaces :\n\
             Downstream Interfaces:\n\
             \n\
             Link State Group: 2 Status: Disabled, Down\n\
             Upstream Interfaces : Te1/49(Dwn)\n\
             Downstream Interfaces: Gi1/1(Dwn) Gi1/2(?) Gi1/3(Dis)\n\
             \n\
             (Up):Interface up (Dwn):Interface Down (Dis):Interface disabled\n"
        );
    }

    #[test]
    fn the_peers_knobs_follow_the_members() {
        let v = json!({"groups": {"group": [{
            "id": 3,
            "config": {"id": 3, "auto-recover": false},
            "state": {"id": 3, "status": "up", "threshold-type": "percentage",
                      "threshold-down": 50, "threshold-up": 75, "downstream-disable-links": 2,
                      "auto-recover": false, "awaiting-clear": true},
            "upstream": {"interfaces": {"interface": [member("u1", "up")]}},
            "downstream": {"interfaces": {"interface": [member("d1", "disabled")]}}
        }]}});
        assert_eq!(
            render_detail(&groups_from_json(&v).unwrap()),
            "Link State Group: 3 Status: Enabled, Up\n\
             Upstream Interfaces : u1(Up)\n\
             Downstream Interfaces: d1(Dis)\n\
             Threshold type percentage up 75 down 50\n\
             Downstream disable links 2\n\
             Downstream auto-recover off: waiting for clear link-state group 3\n\
             \n\
             (Up):Interface up (Dwn):Interface Down (Dis):Interface disabled\n"
        );
    }

    #[test]
    fn summary_is_one_line_per_group() {
        let mut groups = groups_from_json(&reference_state()).unwrap();
        groups.push(LinkStateGroup {
            id: 12,
            enabled: true,
            up: Some(false),
            upstream: vec![],
            downstream: vec![],
            knobs: vec![],
        });
        assert_eq!(
            render_summary(&groups),
            "Link State Group: 1      Status: Enabled, Up\n\
             Link State Group: 12     Status: Enabled, Down\n"
        );
    }

    #[test]
    fn nothing_configured_prints_nothing() {
        assert_eq!(render_detail(&[]), "");
        assert_eq!(render_summary(&groups_from_json(&json!({})).unwrap()), "");
    }
}
