//! Configuration text → [`Line`]s: prompts stripped, comments and blank lines dropped, words
//! split, and each command marked as global or as a sub-command of the block above it.
//!
//! Whether a line is a sub-command is decided here, from the text alone, because a pasted
//! configuration says it three ways: a prompt (`HQ4948A(config-if)#`), indentation, or
//! neither — then only the first word tells (`service-policy` is global, `link state group`
//! is not). The parser only has to know which block is open.

/// Words that start a global configuration command, so that an unindented line ends the block
/// above it even without a prompt.
const GLOBAL_COMMANDS: &[&str] = &[
    "aaa",
    "access-group",
    "access-list",
    "archive",
    "banner",
    "boot",
    "class-map",
    "clock",
    "crypto",
    "dns",
    "domain-name",
    "enable",
    "errdisable",
    "failover",
    "hostname",
    "ip",
    "ipv6",
    "line",
    "logging",
    "monitor-interface",
    "mtu",
    "name",
    "names",
    "nat",
    "ntp",
    "object",
    "object-group",
    "policy-map",
    "route",
    "router",
    "same-security-traffic",
    "service",
    "service-policy",
    "snmp-server",
    "spanning-tree",
    "ssh",
    "telnet",
    "timeout",
    "username",
    "version",
    "vlan",
];

/// Session commands that carry no configuration.
pub const SESSION_COMMANDS: &[&str] = &["configure", "conf", "write", "wr", "copy", "exit", "end"];

/// One command of the text.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// The command, trimmed, without its prompt.
    pub text: &'a str,
    /// The words as written (names keep their case).
    pub tokens: Vec<&'a str>,
    /// The words in lower case, for matching keywords (Cisco keywords are case-insensitive).
    pub words: Vec<String>,
    /// A sub-command of the block above (by prompt, indentation or first word).
    pub sub: bool,
}

impl Line<'_> {
    /// Word `i` in lower case, or `""` past the end.
    pub fn word(&self, i: usize) -> &str {
        self.words.get(i).map(String::as_str).unwrap_or("")
    }

    /// The text after the first `n` words (for free text: remarks, descriptions).
    pub fn rest_after_words(&self, n: usize) -> &str {
        rest_after_words(self.text, n)
    }
}

/// Splits configuration text into commands, in line order.
pub fn lex(text: &str) -> impl Iterator<Item = Line<'_>> {
    text.lines().enumerate().filter_map(|(index, raw)| {
        let (body, prompt_sub) = strip_prompt(raw);
        let trimmed = body.trim();
        if trimmed.is_empty() || trimmed.starts_with(['!', ':', '#']) {
            return None;
        }
        let tokens: Vec<&str> = trimmed.split_whitespace().collect();
        let indented = body.starts_with(char::is_whitespace) && prompt_sub.is_none();
        let sub = match prompt_sub {
            Some(s) => s,
            None => indented || !is_global(&tokens),
        };
        Some(Line {
            number: index + 1,
            text: trimmed,
            words: tokens.iter().map(|w| w.to_ascii_lowercase()).collect(),
            tokens,
            sub,
        })
    })
}

/// `int`, `inter`, … `interface`: IOS accepts any prefix of three letters or more.
pub fn is_interface_keyword(word: &str) -> bool {
    word.len() >= 3 && "interface".starts_with(&word.to_ascii_lowercase())
}

fn is_global(tokens: &[&str]) -> bool {
    let Some(first) = tokens.first() else {
        return false;
    };
    let first = first.to_ascii_lowercase();
    if first == "link" {
        // `link state track N` is global, `link state group N ...` belongs to an interface.
        return tokens
            .get(2)
            .is_some_and(|t| t.eq_ignore_ascii_case("track"));
    }
    GLOBAL_COMMANDS.contains(&first.as_str())
        || is_interface_keyword(&first)
        || SESSION_COMMANDS.contains(&first.as_str())
}

/// Strips an IOS/ASA prompt (`HQ4948A(config-if)#`, `asa(config)# `). Returns the command and,
/// when there was a prompt, whether it was a sub-mode (`(config-...)`).
fn strip_prompt(line: &str) -> (&str, Option<bool>) {
    let Some(hash) = line.find('#') else {
        return (line, None);
    };
    let head = &line[..hash];
    if head.is_empty() || head.starts_with(char::is_whitespace) || head.contains(' ') {
        return (line, None);
    }
    let (host, mode) = match head.find('(') {
        Some(i) if head.ends_with(')') => (&head[..i], Some(&head[i + 1..head.len() - 1])),
        Some(_) => return (line, None),
        None => (head, None),
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return (line, None);
    }
    let sub = match mode {
        Some(m) if m.starts_with("config-") => Some(true),
        Some("config") => Some(false),
        Some(_) => return (line, None),
        None => Some(false),
    };
    (&line[hash + 1..], sub)
}

/// The remainder of `line` after its first `n` words, trimmed.
fn rest_after_words(line: &str, n: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim()
}
