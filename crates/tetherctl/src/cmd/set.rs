//! `tetherctl set`: `--update`, `--replace` and `--delete` as one gNMI Set, which the daemon
//! applies whole or not at all.
//!
//! `send_set` is shared with `import`, so that both print a Set's results the same way.

use anyhow::{Result, anyhow, bail};
use tether_proto::gnmi::{SetRequest, Update, update_result};
use tetherctl::{path, timefmt, typed};

use super::{Ctx, parse_paths, refused};
use crate::output::outln;

/// Reads the file a `@name` value names.
fn read_file(name: &str) -> Result<String, String> {
    std::fs::read_to_string(name).map_err(|e| format!("{name}: {e}"))
}

/// `path=value` arguments as gNMI updates.
fn assignments(cx: &Ctx, args: &[String]) -> Result<Vec<Update>> {
    args.iter()
        .map(|a| {
            let (p, v) = typed::split_assignment(a).map_err(|e| anyhow!(e))?;
            let value = typed::parse_value(v, read_file).map_err(|e| anyhow!(e))?;
            Ok(Update {
                path: Some(path::parse(p)?),
                val: Some(typed::to_typed(&value, cx.encoding)),
                ..Default::default()
            })
        })
        .collect()
}

pub(super) async fn set(
    cx: &Ctx,
    updates: &[String],
    replaces: &[String],
    deletes: &[String],
) -> Result<u8> {
    if updates.is_empty() && replaces.is_empty() && deletes.is_empty() {
        bail!("nothing to set: give --update, --replace or --delete");
    }
    let request = SetRequest {
        delete: parse_paths(deletes)?,
        replace: assignments(cx, replaces)?,
        update: assignments(cx, updates)?,
        ..Default::default()
    };
    send_set(cx, request).await?;
    Ok(0)
}

/// Sends a Set and prints its results and commit time.
pub(super) async fn send_set(cx: &Ctx, request: SetRequest) -> Result<()> {
    let response = cx
        .clients
        .gnmi()
        .set(request)
        .await
        .map_err(|s| refused("Set refused, nothing changed", s))?
        .into_inner();
    for r in &response.response {
        let op = update_result::Operation::try_from(r.op)
            .map(|o| o.as_str_name().to_ascii_lowercase())
            .unwrap_or_else(|_| r.op.to_string());
        let p = path::join(response.prefix.as_ref(), r.path.as_ref());
        outln!("{op:<8} {}", path::format(&p));
    }
    outln!(
        "Committed at {}",
        timefmt::rfc3339_signed(response.timestamp)
    );
    Ok(())
}
