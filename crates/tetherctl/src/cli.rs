//! The command line, written for a Cisco engineer: each command says which IOS or ASA command
//! it stands for.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tetherctl",
    version,
    about = "Drive Tether (TCP state bypass and link state tracking) over gNMI",
    long_about = "Drive Tether over gNMI: read and change its configuration and state, show them \
the way a Cisco ASA or IOS switch prints them, and import ASA/IOS configuration.\n\n\
Paths are gNMI paths on Tether's YANG modules, e.g. /tether-link-state:link-state/groups/group[id=1] \
(the module prefix is optional: /link-state/groups/group[id=1]).",
    after_help = "Cisco → tetherctl:\n  \
show link state group 1 detail   tetherctl show link-state group 1 detail\n  \
show service-policy              tetherctl show bypass\n  \
show conn (flag b)               tetherctl show conn bypass\n  \
show running-config              tetherctl export (or get / --type config)\n  \
configure terminal + paste       tetherctl import FILE\n  \
show archive / commit list       tetherctl commits\n  \
rollback / configure replace     tetherctl rollback ID\n  \
clear ufd-disable uplink-state-group N (Dell)   tetherctl clear link-state group N"
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: Command,
}

/// How to reach tetherd, with gnmic's flag names where they mean the same thing (`-a/--address`,
/// `--insecure`, `--skip-verify`, `-u`, `-p`, `-e`, `--format`).
#[derive(Debug, Args)]
pub struct Connection {
    /// The tetherd gNMI address, HOST:PORT; without a port, 57400 (gnmic's default).
    #[arg(
        long,
        short = 'a',
        visible_alias = "address",
        global = true,
        default_value = "127.0.0.1:57400",
        env = "TETHER_TARGET",
        value_parser = address
    )]
    pub target: String,
    /// TLS without checking tetherd's certificate (gnmic --skip-verify): the connection is
    /// encrypted but anyone on the path can pretend to be tetherd. Lab use only.
    #[arg(long, global = true, conflicts_with = "insecure")]
    pub skip_verify: bool,
    /// Plaintext gRPC, no TLS (the default when the target is a loopback address and no TLS
    /// option is given).
    #[arg(long, global = true)]
    pub insecure: bool,
    /// CA certificate (PEM) that signed tetherd's certificate; turns TLS on.
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long, global = true, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name in tetherd's certificate, when it differs from the target's host.
    #[arg(long, global = true, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// User name, sent as gRPC metadata `username` (like gnmic -u).
    #[arg(long, short = 'u', global = true, env = "TETHER_USERNAME")]
    pub username: Option<String>,
    /// Password, sent as gRPC metadata `password` (like gnmic -p).
    #[arg(
        long,
        short = 'p',
        global = true,
        env = "TETHER_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Value encoding on the wire (any case, as gnmic: JSON_IETF, json_ietf).
    #[arg(long, short = 'e', global = true, value_enum, ignore_case = true, default_value_t = Encoding::JsonIetf)]
    pub encoding: Encoding,
    /// Output of get, subscribe and capabilities: `json`, or `flat` (one `PATH: VALUE` line per
    /// leaf, as gnmic --format flat). Without it: get prints JSON, subscribe `TIME PATH VALUE`
    /// lines, capabilities text.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
}

/// The default gNMI port (gnmic's and tetherd's).
pub const DEFAULT_PORT: u16 = 57400;

/// `--address`: HOST:PORT as given; a HOST alone (a name, an IPv4 address, an IPv6 address
/// with or without brackets) gets the default port, as gnmic does.
pub fn address(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an empty address".into());
    }
    if text.contains("://") {
        return Err(format!(
            "{text:?} is HOST:PORT (e.g. 127.0.0.1:57400), not a URL"
        ));
    }
    let has_port = |port: &str| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = text.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((_, "")) => Ok(format!("{text}:{DEFAULT_PORT}")),
            Some((_, tail)) if tail.strip_prefix(':').is_some_and(has_port) => Ok(text.to_string()),
            _ => Err(format!("{text:?} is not [IPV6]:PORT")),
        };
    }
    match text.matches(':').count() {
        0 => Ok(format!("{text}:{DEFAULT_PORT}")),
        1 => match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && has_port(port) => Ok(text.to_string()),
            _ => Err(format!("{text:?} is not HOST:PORT")),
        },
        // A bare IPv6 address.
        _ => Ok(format!("[{text}]:{DEFAULT_PORT}")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON: get as one object of path → value, subscribe one object per line, capabilities
    /// the response as JSON.
    Json,
    /// One `PATH: VALUE` line per leaf.
    Flat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    /// RFC 7951 JSON with module-qualified names (gNMI JSON_IETF).
    #[value(name = "json_ietf", alias = "json-ietf")]
    JsonIetf,
    /// gNMI JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read configuration and state (gNMI Get), printed as JSON keyed by path.
    ///
    /// Like `show running-config` (--type config) or a `show` of everything (--type all).
    Get {
        /// gNMI paths, e.g. /link-state/groups/group[id=1]/state.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
        /// Which data.
        #[arg(long = "type", short = 't', value_enum, default_value_t = DataType::All)]
        data_type: DataType,
    },
    /// Change configuration in one all-or-nothing transaction (gNMI Set).
    ///
    /// Like `configure terminal` … `end`: deletes first, then replaces, then updates; if any part
    /// is invalid nothing changes. VALUE is JSON (`true`, `900`, `{"id": 1}`), a bare string, or
    /// @FILE to read JSON from a file.
    Set {
        /// Merge VALUE at PATH (gnmic --update-path/--update-value).
        #[arg(long = "update", value_name = "PATH=VALUE")]
        updates: Vec<String>,
        /// Make PATH exactly VALUE (like `configure replace` for that subtree).
        #[arg(long = "replace", value_name = "PATH=VALUE")]
        replaces: Vec<String>,
        /// Remove PATH and everything under it (like `no ...`).
        #[arg(long = "delete", value_name = "PATH")]
        deletes: Vec<String>,
    },
    /// Stream changes as they happen (gNMI Subscribe), one line per update.
    ///
    /// Like `terminal monitor` for state: each line is the time, the path and the value.
    Subscribe {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
        /// stream: keep going; once: current values then exit; poll: current values each time
        /// you press Enter.
        #[arg(long, value_enum, default_value_t = SubscribeMode::Stream)]
        mode: SubscribeMode,
        /// For --mode stream: on-change, sample (every --sample-interval) or target-defined.
        #[arg(long, value_enum, default_value_t = StreamMode::OnChange)]
        stream_mode: StreamMode,
        /// For --stream-mode sample: how often (10s, 500ms, 1m).
        #[arg(long, default_value = "10s", value_name = "DURATION")]
        sample_interval: String,
        /// Skip the current values; print changes only.
        #[arg(long)]
        updates_only: bool,
    },
    /// What tetherd serves (gNMI Capabilities): gNMI version, YANG modules with revisions,
    /// encodings. Like gnmic capabilities.
    Capabilities,
    /// Cisco-style show commands.
    #[command(subcommand)]
    Show(Show),
    /// List the newest commits: who changed what, when, from where.
    ///
    /// Like IOS-XR `show configuration commit list` or IOS `show archive`.
    Commits {
        /// How many commits.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: u32,
        /// Also print each leaf each commit changed, with old and new values.
        #[arg(long, short = 'v')]
        changes: bool,
    },
    /// Restore the configuration as it was right after commit ID (a new commit).
    ///
    /// Like IOS-XR `rollback configuration to ID` or IOS `configure replace`.
    Rollback {
        /// The commit to go back to (see `tetherctl commits`).
        id: u64,
        /// Text recorded with the rollback commit.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Operations that change no configuration.
    #[command(subcommand)]
    Clear(Clear),
    /// Translate Cisco ASA/IOS configuration into one gNMI Set and apply it.
    ///
    /// Translates `access-list` (ASA and IOS, with remarks), `ip access-list extended`,
    /// `class-map` + `match access-list`, `policy-map` + `class` + `set connection timeout
    /// idle|embryonic H:MM:SS` / `set connection advanced-options tcp-state-bypass`,
    /// `service-policy P interface IF|global`, `link state track N`, and `interface` /
    /// `interface range` + `link state group N upstream|downstream`. Interface names are
    /// expanded from Cisco abbreviations (g1/1 → Gi1/1, po11 → Po11). Every other line is
    /// reported as `line N: TEXT: WHY`; if there is any, nothing is applied unless --force is
    /// given, and the exit code is 3. `--map`/`--interface-map` rename interfaces to this box's
    /// names; a name Linux cannot hold ('/', ':', over 15 bytes) is warned about before sending.
    Import {
        /// The configuration file (`-` for standard input).
        file: PathBuf,
        /// Print the paths and JSON it would set; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply what translated even if some lines did not.
        #[arg(long)]
        force: bool,
        /// Replace the whole bypass and link-state configuration with the file's (like
        /// `configure replace`) instead of merging it in.
        #[arg(long)]
        replace: bool,
        /// Rename an interface: `--map Gi1/1-40=swp1-40`, `--map Po11=bond0`. Repeatable;
        /// the Cisco side is read like `interface range` (abbreviations accepted).
        #[arg(long = "map", value_name = "CISCO=LINUX")]
        maps: Vec<String>,
        /// File of interface renames, one `CISCO=LINUX` (or `CISCO LINUX`) a line, `#` comments.
        #[arg(long, value_name = "FILE")]
        interface_map: Option<PathBuf>,
    },
    /// Print the running configuration as Cisco ASA/IOS text (the inverse of `import`).
    ///
    /// Like `show running-config` on the ASA and the switch: access-lists (ASA lines, or an
    /// IOS `ip access-list extended` block when the sequence numbers are not 10, 20, …),
    /// class-maps, policy-maps, service-policies, `link state track` and the members as
    /// `interface [range]` sections. `tetherctl import` of the output sets the same
    /// configuration. Settings ASA/IOS have no command for (a group's up-delay, down-delay,
    /// min-upstream-up, description, a disabled group) are listed on stderr and the exit code
    /// is 3.
    Export,
    /// Make an argon2id password hash for tetherd's users file (`--users`).
    ///
    /// On a terminal the password is asked twice, without echo; otherwise the first line of
    /// standard input is the password (`printf '%s\n' "$PW" | tetherctl hash-password`). It is
    /// never taken from the command line, where `ps` and shell history would keep it. Prints the
    /// PHC string, or with --user a whole `[[user]]` entry to append to the file.
    HashPassword {
        /// Print a `[[user]]` entry for this user instead of the bare hash.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// The entry's role (with --user).
        #[arg(long, value_enum, default_value_t = Role::ReadOnly, requires = "user")]
        role: Role,
    },
    /// Print a shell completion script: `tetherctl completions bash > /etc/bash_completion.d/tetherctl`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print tetherctl's manual page (roff): `tetherctl man > tetherctl.1`.
    Man,
}

/// A role in tetherd's users file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Capabilities, Get, Subscribe.
    ReadOnly,
    /// Also Set and rollback.
    ReadWrite,
}

impl Role {
    /// The word the users file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::ReadWrite => "read-write",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Show {
    /// Link state tracking groups, like IOS `show link state group [N] [detail]`.
    ///
    /// `tetherctl show link state group 1 detail` (with a space, as on IOS) works too.
    #[command(name = "link-state", subcommand)]
    LinkState(LinkStateShow),
    /// TCP state bypass: service-policies, policy-maps, class-maps, access-lists and their
    /// counters, like ASA `show service-policy` and `show access-list`.
    #[command(visible_alias = "service-policy")]
    Bypass,
    /// Connections, like ASA `show conn`; `show conn bypass` lists TCP state bypass
    /// connections (flag b) with their idle times.
    Conn {
        /// Only `bypass` is supported.
        #[arg(value_parser = ["bypass"], default_value = "bypass")]
        filter: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum Clear {
    /// Manual recovery of a link state group, like Dell `clear ufd-disable uplink-state-group
    /// N`: re-enables the downstreams the group still holds disabled after it came up (with
    /// `auto-recover false`). A group that is still down keeps them.
    #[command(name = "link-state")]
    LinkState {
        /// `group`.
        #[arg(value_parser = ["group"])]
        group: String,
        /// The group number.
        id: u16,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkStateShow {
    /// `group [N] [detail]`: one group or all; `detail` lists members with (Up), (Dwn), (Dis).
    Group {
        /// A group number and/or `detail`, in IOS order: `1`, `detail`, `1 detail`.
        #[arg(num_args = 0..=2, value_name = "N|detail")]
        args: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataType {
    All,
    Config,
    State,
    Operational,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubscribeMode {
    Stream,
    Once,
    Poll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamMode {
    OnChange,
    Sample,
    TargetDefined,
}

/// IOS word order: `show link state group 1 detail` → `show link-state group 1 detail`.
pub fn ios_words(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        if args[i] == "link"
            && args.get(i + 1).map(String::as_str) == Some("state")
            && out.last().map(String::as_str) == Some("show")
        {
            out.push("link-state".to_string());
            i += 2;
        } else {
            out.push(args[i].clone());
            i += 1;
        }
    }
    out
}

/// `[N] [detail]` of `show link-state group`.
pub fn group_args(args: &[String]) -> Result<(Option<u16>, bool), String> {
    let mut group = None;
    let mut detail = false;
    for a in args {
        if a == "detail" && !detail {
            detail = true;
        } else if let (Ok(n), None, false) = (a.parse::<u16>(), group, detail) {
            group = Some(n);
        } else {
            return Err(format!(
                "unexpected {a:?}: expected `show link-state group [N] [detail]`"
            ));
        }
    }
    Ok((group, detail))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::CommandFactory;

    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ios_word_order_is_accepted() {
        assert_eq!(
            ios_words(words("tetherctl show link state group 1 detail")),
            words("tetherctl show link-state group 1 detail")
        );
        assert_eq!(
            ios_words(words("tetherctl get /link state")),
            words("tetherctl get /link state")
        );
    }

    #[test]
    fn group_arguments_follow_ios() {
        assert_eq!(group_args(&[]).unwrap(), (None, false));
        assert_eq!(group_args(&words("1")).unwrap(), (Some(1), false));
        assert_eq!(group_args(&words("detail")).unwrap(), (None, true));
        assert_eq!(group_args(&words("1 detail")).unwrap(), (Some(1), true));
        assert!(group_args(&words("detail 1")).is_err());
        assert!(group_args(&words("1 2")).is_err());
        assert!(group_args(&words("brief")).is_err());
    }

    #[test]
    fn parses_a_full_command_line() {
        let cli = Cli::try_parse_from(ios_words(words(
            "tetherctl --target 198.18.0.1:57400 -u admin show link state group 1 detail",
        )))
        .unwrap();
        assert_eq!(cli.connection.target, "198.18.0.1:57400");
        assert_eq!(cli.connection.username.as_deref(), Some("admin"));
        match cli.command {
            Command::Show(Show::LinkState(LinkStateShow::Group { args })) => {
                assert_eq!(args, words("1 detail"));
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(words("tetherctl show service-policy")).unwrap();
        assert!(matches!(cli.command, Command::Show(Show::Bypass)));
    }

    #[test]
    fn takes_gnmic_flag_names() {
        let cli = Cli::try_parse_from(words(
            "tetherctl -a 198.18.0.1:57401 --skip-verify -e JSON --format flat get /link-state",
        ))
        .unwrap();
        assert_eq!(cli.connection.target, "198.18.0.1:57401");
        assert!(cli.connection.skip_verify);
        assert_eq!(cli.connection.encoding, Encoding::Json);
        assert_eq!(cli.connection.format, Some(Format::Flat));
        let cli = Cli::try_parse_from(words(
            "tetherctl capabilities --address tether.example -e Json_IETF",
        ))
        .unwrap();
        assert_eq!(cli.connection.target, "tether.example:57400");
        assert_eq!(cli.connection.encoding, Encoding::JsonIetf);
        assert!(matches!(cli.command, Command::Capabilities));
        let cli =
            Cli::try_parse_from(words("tetherctl --target 127.0.0.1:1 capabilities")).unwrap();
        assert_eq!(cli.connection.target, "127.0.0.1:1");
        assert_eq!(cli.connection.format, None);
        assert!(
            Cli::try_parse_from(words("tetherctl --insecure --skip-verify capabilities")).is_err()
        );
        assert!(Cli::try_parse_from(words("tetherctl -e xml capabilities")).is_err());
        assert!(Cli::try_parse_from(words("tetherctl --format yaml capabilities")).is_err());
    }

    #[test]
    fn addresses_get_gnmics_default_port() {
        for (given, want) in [
            ("127.0.0.1", "127.0.0.1:57400"),
            ("127.0.0.1:830", "127.0.0.1:830"),
            ("tether.example", "tether.example:57400"),
            ("[2001:db8::1]", "[2001:db8::1]:57400"),
            ("[2001:db8::1]:57401", "[2001:db8::1]:57401"),
            ("2001:db8::1", "[2001:db8::1]:57400"),
        ] {
            assert_eq!(address(given).unwrap(), want, "{given}");
        }
        for bad in [
            "",
            "host:",
            ":57400",
            "host:port",
            "[2001:db8::1",
            "[::1]x",
            "http://h:1",
        ] {
            assert!(address(bad).is_err(), "{bad}");
        }
    }
}
