//! `tetherctl get`: a gNMI Get printed as one JSON object of path → value (`--format flat`: one
//! `PATH: VALUE` line per leaf).
//!
//! `get_values` is also what the `show` commands read through, so that they and `get` see
//! the daemon the same way.

use anyhow::Result;
use serde_json::{Map, Value};
use tether_proto::gnmi::{self, GetRequest, get_request::DataType as GnmiDataType};
use tetherctl::{flat, path, typed};

use super::{Ctx, parse_paths, refused};
use crate::cli::{DataType, Format};
use crate::output::outln;

/// Get, returning (path, value) for each update of each notification.
pub(super) async fn get_values(
    cx: &Ctx,
    paths: Vec<gnmi::Path>,
    data_type: GnmiDataType,
) -> Result<Vec<(String, Value)>, tonic::Status> {
    let response = cx
        .clients
        .gnmi()
        .get(GetRequest {
            path: paths,
            r#type: data_type as i32,
            encoding: cx.gnmi_encoding,
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut out = Vec::new();
    for n in &response.notification {
        for u in &n.update {
            let p = path::join(n.prefix.as_ref(), u.path.as_ref());
            out.push((path::format(&p), typed::to_json(u.val.as_ref())));
        }
    }
    Ok(out)
}

pub(super) async fn get(cx: &Ctx, paths: &[String], data_type: DataType) -> Result<u8> {
    let data_type = match data_type {
        DataType::All => GnmiDataType::All,
        DataType::Config => GnmiDataType::Config,
        DataType::State => GnmiDataType::State,
        DataType::Operational => GnmiDataType::Operational,
    };
    let values = get_values(cx, parse_paths(paths)?, data_type)
        .await
        .map_err(|s| refused("Get", s))?;
    if cx.format == Some(Format::Flat) {
        for (p, v) in &values {
            for (leaf, value) in flat::flatten(p, v) {
                outln!("{leaf}: {}", flat::show(&value));
            }
        }
        return Ok(0);
    }
    let doc: Map<String, Value> = values.into_iter().collect();
    outln!("{}", serde_json::to_string_pretty(&Value::Object(doc))?);
    Ok(0)
}
