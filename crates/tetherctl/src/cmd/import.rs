//! `tetherctl import`: a Cisco ASA/IOS configuration file as one gNMI Set.
//!
//! The translation itself is pure and lives in `tetherctl::import`; this file reads the file,
//! reports the lines it could not translate, and sends nothing while any are left unless
//! `--force` is given, so that a partial import is always a choice the user made.

use anyhow::{Context, Result, bail};
use tether_proto::gnmi::{SetRequest, Update};
use tetherctl::import::rename::{self, InterfaceMap};
use tetherctl::typed::{self, JsonEncoding};
use tetherctl::{import, path};

use super::set::send_set;
use super::{Ctx, PARTIAL};
use crate::output::outln;

/// The configuration text, from a file or from standard input when the name is `-`.
fn read_config(file: &std::path::Path) -> Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("reading standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

fn report_problems(t: &import::Translation) {
    for p in &t.problems {
        eprintln!("{p}");
    }
}

/// Reads, translates and renames: the Translation to send.
fn translate(
    file: &std::path::Path,
    maps: &[String],
    map_file: Option<&std::path::Path>,
) -> Result<import::Translation> {
    let mut map = InterfaceMap::default();
    if let Some(f) = map_file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        map.add_file(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
    }
    for rule in maps {
        map.add_rule(rule)
            .map_err(|e| anyhow::anyhow!("--map {e}"))?;
    }
    let mut t = import::translate(&read_config(file)?);
    map.apply(&mut t.config);
    for (name, why) in rename::non_linux_names(&t.config) {
        eprintln!(
            "% warning: interface {name} cannot be a Linux interface name ({why}; Linux allows 1-15 \
             bytes without '/', ':' or spaces), so the Linux dataplane will never find it. \
             Rename it with --map {name}=LINUXNAME or --interface-map FILE."
        );
    }
    Ok(t)
}

fn set_request(
    t: &import::Translation,
    encoding: JsonEncoding,
    replace: bool,
) -> Result<SetRequest> {
    let updates: Vec<Update> = t
        .updates()?
        .iter()
        .map(|(p, v)| Update {
            path: path::parse(p).ok(),
            val: Some(typed::to_typed(v, encoding)),
            ..Default::default()
        })
        .collect();
    Ok(if replace {
        SetRequest {
            replace: updates,
            ..Default::default()
        }
    } else {
        SetRequest {
            update: updates,
            ..Default::default()
        }
    })
}

/// `--dry-run`: prints the Set it would send; needs no daemon.
pub(super) fn import_dry_run(
    file: &std::path::Path,
    replace: bool,
    maps: &[String],
    map_file: Option<&std::path::Path>,
) -> Result<u8> {
    let t = translate(file, maps, map_file)?;
    report_problems(&t);
    let updates = t.updates()?;
    outln!(
        "! Dry run: one gNMI Set with {} {}; nothing is sent.",
        updates.len(),
        if replace { "replaces" } else { "updates" }
    );
    for line in t.summary() {
        outln!("!   {line}");
    }
    for (p, v) in &updates {
        outln!("{} {p}", if replace { "replace" } else { "update" });
        outln!("{}", serde_json::to_string_pretty(v)?);
    }
    if !t.problems.is_empty() {
        eprintln!(
            "% {} line(s) not translated (listed above)",
            t.problems.len()
        );
        return Ok(PARTIAL);
    }
    Ok(0)
}

pub(super) async fn import_apply(
    cx: &Ctx,
    file: &std::path::Path,
    force: bool,
    replace: bool,
    maps: &[String],
    map_file: Option<&std::path::Path>,
) -> Result<u8> {
    let t = translate(file, maps, map_file)?;
    report_problems(&t);
    if !t.problems.is_empty() && !force {
        eprintln!(
            "% {} line(s) not translated (listed above); nothing was applied. \
             Fix them, or use --force to apply the rest, or --dry-run to see it.",
            t.problems.len()
        );
        return Ok(PARTIAL);
    }
    if t.is_empty() {
        bail!("{}: nothing to import", file.display());
    }
    for line in t.summary() {
        outln!("! {line}");
    }
    send_set(cx, set_request(&t, cx.encoding, replace)?).await?;
    Ok(if t.problems.is_empty() { 0 } else { PARTIAL })
}
