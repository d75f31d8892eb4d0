//! `tetherctl show ...`: the Cisco-style views, each a gNMI Get of one container rendered
//! by `tetherctl::show`.
//!
//! Only the I/O is here; the layouts are pure functions in the library, where they are
//! tested against fixed text.

use anyhow::{Result, bail};
use serde_json::Value;
use tether_proto::gnmi::get_request::DataType as GnmiDataType;
use tether_proto::sim::ListConnectionsRequest;
use tether_schema::{tether_conntrack_bypass, tether_link_state};
use tetherctl::path;
use tetherctl::show::{bypass, conn, link_state};
use tonic::Code;

use super::get::get_values;
use super::{Ctx, PARTIAL, refused};
use crate::output::out;

/// The value of a Get of one container, or None when the daemon has nothing there.
async fn get_container(cx: &Ctx, schema_path: &str) -> Result<Option<Value>> {
    match get_values(cx, vec![path::parse(schema_path)?], GnmiDataType::All).await {
        Ok(values) => Ok(values.into_iter().next().map(|(_, v)| v)),
        Err(s) if s.code() == Code::NotFound => Ok(None),
        Err(s) => Err(refused(&format!("Get {schema_path}"), s)),
    }
}

pub(super) async fn show_link_state(cx: &Ctx, group: Option<u16>, detail: bool) -> Result<u8> {
    let value = get_container(cx, tether_link_state::link_state::PATH)
        .await?
        .unwrap_or(Value::Null);
    let mut groups = link_state::groups_from_json(&value)
        .map_err(|e| anyhow::anyhow!("the link-state state does not match the YANG model: {e}"))?;
    if let Some(id) = group {
        groups.retain(|g| g.id == u64::from(id));
        if groups.is_empty() {
            bail!("link state group {id} is not configured");
        }
    }
    out!(
        "{}",
        if detail {
            link_state::render_detail(&groups)
        } else {
            link_state::render_summary(&groups)
        }
    );
    Ok(0)
}

async fn bypass_view(cx: &Ctx) -> Result<bypass::BypassView> {
    let value = get_container(cx, tether_conntrack_bypass::bypass::PATH)
        .await?
        .unwrap_or(Value::Null);
    Ok(bypass::view_from_json(&value)?)
}

pub(super) async fn show_bypass(cx: &Ctx) -> Result<u8> {
    out!("{}", bypass::render(&bypass_view(cx).await?));
    Ok(0)
}

/// The bypass counters from gNMI state, then the connection entries, which only the
/// simulator's own service can list (exit code `PARTIAL` without them).
pub(super) async fn show_conn_bypass(cx: &Ctx) -> Result<u8> {
    let view = bypass_view(cx).await?;
    out!("{}", conn::render_counters(&view));
    let listed = cx
        .clients
        .simulator()
        .list_connections(ListConnectionsRequest { bypass_only: true })
        .await;
    match listed {
        Ok(r) => {
            let r = r.into_inner();
            let usage = conn::Usage {
                in_use: r.in_use,
                most_used: r.most_used,
            };
            let connections: Vec<_> = r.connections.into_iter().filter(|c| c.bypass).collect();
            out!("{}", conn::render_connections(usage, &connections));
            Ok(0)
        }
        Err(s) if matches!(s.code(), Code::Unimplemented | Code::NotFound) => {
            eprintln!(
                "% Connection entries are unavailable: {} does not serve tether.sim.v1.Simulator. \
                 Only the in-process dataplane (tetherd --dataplane sim) lists its connection \
                 table; the counters above come from gNMI state.",
                cx.clients.target
            );
            Ok(PARTIAL)
        }
        Err(s) => Err(refused("ListConnections", s)),
    }
}
