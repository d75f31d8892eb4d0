//! The Modular Policy Framework: `class-map` (traffic by access-list), `policy-map` (actions
//! per class: `set connection` timeouts and tcp-state-bypass) and `service-policy` (a
//! policy-map on an interface, or global).

use super::super::interface;
use super::super::ir::{ClassMap, PolicyClass, ServicePolicy};
use super::super::lex::Line;
use super::{Block, ClassMapHeader, Parser, check_name};
use crate::timefmt::{hms, parse_hms};

/// The YANG `description` length of a policy.
const MAX_DESCRIPTION: usize = 240;
/// The YANG ranges of the timeouts, in seconds (the ASA's own maxima).
const MAX_IDLE_TIMEOUT: u64 = 4_294_800;
const MAX_EMBRYONIC_TIMEOUT: u64 = 3600;
const MIN_HALF_CLOSED_TIMEOUT: u64 = 30;
/// The YANG range of `conn-max` and `embryonic-conn-max` (the ASA's maximum).
const MAX_CONNECTIONS: u64 = 2_000_000;

/// One action of a `set connection` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    IdleTimeout(u64),
    EmbryonicTimeout(u64),
    HalfClosedTimeout(u64),
    ConnMax(u64),
    EmbryonicConnMax(u64),
    TcpStateBypass,
}

impl Parser {
    /// `class-map [match-all|match-any] NAME`.
    pub(super) fn class_map_header(&mut self, cx: &Line<'_>) -> Block {
        if cx.word(1) == "type" {
            return self.untranslated(
                cx,
                "only traffic class-maps (class-map NAME) are translated, not typed ones",
            );
        }
        let at = if matches!(cx.word(1), "match-all" | "match-any") {
            2
        } else {
            1
        };
        let (Some(&name), None) = (cx.tokens.get(at), cx.tokens.get(at + 1)) else {
            return self.untranslated(cx, "expected 'class-map NAME'");
        };
        if let Err(e) = check_name("class-map", name) {
            return self.untranslated(cx, e);
        }
        if name.eq_ignore_ascii_case("class-default") {
            return self.untranslated(cx, "class-default has no Tether equivalent");
        }
        if !self.config.class_maps.iter().any(|c| c.name == name) {
            self.config.class_maps.push(ClassMap {
                name: name.to_string(),
                match_access_list: None,
            });
            self.class_map_headers.push(ClassMapHeader {
                name: name.to_string(),
                line: cx.number,
                text: cx.text.to_string(),
            });
        }
        Block::ClassMap(name.to_string())
    }

    /// A line of a class-map: `match access-list ACL`.
    pub(super) fn class_map_command(&mut self, cx: &Line<'_>, name: &str) {
        if cx.word(0) == "match" && cx.word(1) == "access-list" && cx.tokens.len() == 3 {
            let acl = cx.tokens[2];
            if let Err(e) = check_name("access-list", acl) {
                return self.problem(cx, e);
            }
            let Some(class) = self.config.class_maps.iter_mut().find(|c| c.name == name) else {
                return;
            };
            match class.match_access_list.clone() {
                Some(old) if old != acl => self.problem(
                    cx,
                    format!("a Tether class matches one access-list; class-map {name} already matches {old}"),
                ),
                _ => class.match_access_list = Some(acl.to_string()),
            }
        } else if cx.word(0) == "match" {
            self.problem(
                cx,
                "only 'match access-list ACL' is translated: Tether classes select traffic by access-list",
            );
        } else {
            self.problem(cx, "not translated in a class-map");
        }
    }

    /// `policy-map NAME`.
    pub(super) fn policy_map_header(&mut self, cx: &Line<'_>) -> Block {
        if cx.word(1) == "type" {
            return self.untranslated(
                cx,
                "only Layer 3/4 policy-maps (policy-map NAME) are translated, not inspection or other typed ones",
            );
        }
        let (Some(&name), None) = (cx.tokens.get(1), cx.tokens.get(2)) else {
            return self.untranslated(cx, "expected 'policy-map NAME'");
        };
        if let Err(e) = check_name("policy-map", name) {
            return self.untranslated(cx, e);
        }
        self.config.policy_map(name);
        Block::PolicyMap {
            policy: name.to_string(),
            class: None,
        }
    }

    /// A line of a policy-map: `class C`, `description ...`, or `set connection ...` under a
    /// class. `class` is the class being configured, which `class C` changes.
    pub(super) fn policy_map_command(
        &mut self,
        cx: &Line<'_>,
        policy: &str,
        class: &mut Option<Result<String, usize>>,
    ) {
        match cx.word(0) {
            "class" => {
                let Some(&cname) = cx.tokens.get(1).filter(|_| cx.tokens.len() == 2) else {
                    return self.problem(cx, "expected 'class NAME'");
                };
                if cname.eq_ignore_ascii_case("class-default") {
                    *class = Some(Err(cx.number));
                    return self.problem(
                        cx,
                        "class-default has no Tether equivalent; put the actions under a class-map that matches an access-list",
                    );
                }
                if let Err(e) = check_name("class-map", cname) {
                    *class = Some(Err(cx.number));
                    return self.problem(cx, e);
                }
                *class = Some(Ok(cname.to_string()));
                let p = self.config.policy_map(policy);
                if !p.classes.iter().any(|c| c.name == cname) {
                    p.classes.push(PolicyClass {
                        name: cname.to_string(),
                        ..PolicyClass::default()
                    });
                }
            }
            "description" => {
                let d = cx.rest_after_words(1);
                if d.len() > MAX_DESCRIPTION {
                    return self.problem(
                        cx,
                        format!("descriptions are at most {MAX_DESCRIPTION} characters"),
                    );
                }
                self.config.policy_map(policy).description = Some(d.to_string());
            }
            "set" if cx.word(1) == "connection" => match class.clone() {
                Some(Ok(cname)) => match set_connection(cx) {
                    Ok(actions) => self.apply(policy, &cname, &actions),
                    Err(why) => self.problem(cx, why),
                },
                Some(Err(l)) => self.problem(
                    cx,
                    format!("under the class at line {l}, which is not translated"),
                ),
                None => self.problem(cx, "'set connection' outside a class"),
            },
            _ => self.problem(
                cx,
                "not translated in a policy-map: only 'class', 'set connection timeout idle|embryonic|half-closed', 'set connection conn-max|embryonic-conn-max', 'set connection advanced-options tcp-state-bypass' and 'description'",
            ),
        }
    }

    fn apply(&mut self, policy: &str, class: &str, actions: &[Action]) {
        let p = self.config.policy_map(policy);
        let Some(c) = p.classes.iter_mut().find(|c| c.name == class) else {
            return;
        };
        for a in actions {
            match *a {
                Action::IdleTimeout(s) => c.idle_timeout = Some(s),
                Action::EmbryonicTimeout(s) => c.embryonic_timeout = Some(s),
                Action::HalfClosedTimeout(s) => c.half_closed_timeout = Some(s),
                Action::ConnMax(n) => c.conn_max = Some(n),
                Action::EmbryonicConnMax(n) => c.embryonic_conn_max = Some(n),
                Action::TcpStateBypass => c.tcp_state_bypass = true,
            }
        }
    }

    /// `service-policy P interface IF` / `service-policy P global`.
    pub(super) fn service_policy(&mut self, cx: &Line<'_>) {
        let policy = cx.tokens.get(1).copied().unwrap_or("");
        if let Err(e) = check_name("policy-map", policy) {
            return self.problem(cx, e);
        }
        match (cx.words.get(2).map(String::as_str), cx.tokens.get(3), cx.tokens.len()) {
            (Some("global"), None, 3) => {
                if let Some(old) = &self.config.global_policy
                    && old != policy
                {
                    let why = format!("replaces the global service-policy {old} set above (one global policy, as on the ASA)");
                    self.problem(cx, why);
                }
                self.config.global_policy = Some(policy.to_string());
            }
            (Some("interface"), Some(ifname), 4) => match interface::normalize(ifname) {
                Ok(ifname) => {
                    let list = &mut self.config.service_policies;
                    list.retain(|s| s.interface != ifname);
                    list.push(ServicePolicy {
                        interface: ifname,
                        policy: policy.to_string(),
                    });
                }
                Err(e) => self.problem(cx, e),
            },
            _ => self.problem(
                cx,
                "expected 'service-policy POLICY interface NAME' or 'service-policy POLICY global' (IOS QoS 'service-policy input|output' is not translated)",
            ),
        }
    }
}

/// The actions of a `set connection` line, or why it cannot be translated. All or nothing:
/// a line whose last option is refused sets none of the others.
fn set_connection(cx: &Line<'_>) -> Result<Vec<Action>, String> {
    let words = &cx.words;
    match cx.word(2) {
        "advanced-options" => {
            if words.len() == 4 && words[3] == "tcp-state-bypass" {
                Ok(vec![Action::TcpStateBypass])
            } else {
                Err("only 'set connection advanced-options tcp-state-bypass' is translated".into())
            }
        }
        "timeout" => {
            let mut actions = Vec::new();
            let mut i = 3;
            let mut reset = false;
            while i < words.len() {
                match words[i].as_str() {
                    kind @ ("idle" | "embryonic" | "half-closed") => {
                        let Some(value) = words.get(i + 1) else {
                            return Err(format!("'{kind}' without a time"));
                        };
                        let secs = parse_hms(value)?;
                        let (min, max, action): (u64, u64, fn(u64) -> Action) = match kind {
                            "idle" => (1, MAX_IDLE_TIMEOUT, Action::IdleTimeout),
                            "embryonic" => (1, MAX_EMBRYONIC_TIMEOUT, Action::EmbryonicTimeout),
                            _ => (MIN_HALF_CLOSED_TIMEOUT, MAX_IDLE_TIMEOUT, Action::HalfClosedTimeout),
                        };
                        if secs < min || secs > max {
                            return Err(format!(
                                "{kind} {value} is outside what Tether accepts ({} to {}); 0:00:00 (never time out) has no equivalent",
                                hms(min),
                                hms(max)
                            ));
                        }
                        actions.push(action(secs));
                        i += 2;
                    }
                    "reset" => {
                        reset = true;
                        i += 1;
                    }
                    other => {
                        return Err(format!(
                            "timeout {other} cannot be translated: Tether has idle, embryonic and half-closed timeouts"
                        ));
                    }
                }
            }
            if actions.is_empty() {
                return Err("expected 'set connection timeout idle H:MM:SS'".into());
            }
            if reset {
                // Translating the timeout without the reset would silently change
                // behaviour (no RST to the endpoints); refuse the line as a whole.
                return Err("'reset' (send TCP RST when a connection times out) cannot be translated; remove it to import the timeout".into());
            }
            Ok(actions)
        }
        "conn-max" | "embryonic-conn-max" => {
            let mut actions = Vec::new();
            for pair in words[2..].chunks(2) {
                let [kind, value] = pair else {
                    return Err(format!("'{}' without a number", pair[0]));
                };
                let n: u64 = value
                    .parse()
                    .map_err(|_| format!("{kind} {value}: not a number"))?;
                if n > MAX_CONNECTIONS {
                    return Err(format!("{kind} {value} is above what Tether accepts ({MAX_CONNECTIONS})"));
                }
                // 0 is the ASA's "no limit": the leaf is left out.
                let n = (n > 0).then_some(n);
                match (kind.as_str(), n) {
                    ("conn-max", Some(n)) => actions.push(Action::ConnMax(n)),
                    ("embryonic-conn-max", Some(n)) => actions.push(Action::EmbryonicConnMax(n)),
                    ("conn-max" | "embryonic-conn-max", None) => {}
                    (other, _) => {
                        return Err(format!(
                            "connection limit {other} cannot be translated: Tether has conn-max and embryonic-conn-max"
                        ));
                    }
                }
            }
            Ok(actions)
        }
        _ => Err("only 'set connection timeout idle|embryonic|half-closed', 'set connection conn-max|embryonic-conn-max' and 'set connection advanced-options tcp-state-bypass' are translated".into()),
    }
}
