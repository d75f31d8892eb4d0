//! `tetherctl export`: a gNMI Get (type CONFIG) of the two Tether modules, printed as ASA/IOS
//! text by `tetherctl::export`. What the text cannot carry is listed on stderr and the exit
//! code is 3 (partly done), as for `import`.

use anyhow::{Context, Result};
use serde_json::Value;
use tether_proto::gnmi::get_request::DataType as GnmiDataType;
use tether_schema::{tether_conntrack_bypass, tether_link_state};
use tetherctl::path;
use tonic::Code;

use super::get::get_values;
use super::{Ctx, PARTIAL, refused};
use crate::output::out;

/// The configuration under one module container, `Null` when there is none.
async fn running(cx: &Ctx, schema_path: &str) -> Result<Value> {
    match get_values(cx, vec![path::parse(schema_path)?], GnmiDataType::Config).await {
        Ok(values) => Ok(values
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or(Value::Null)),
        Err(s) if s.code() == Code::NotFound => Ok(Value::Null),
        Err(s) => Err(refused(&format!("Get {schema_path}"), s)),
    }
}

pub(super) async fn export(cx: &Ctx) -> Result<u8> {
    let bypass = running(cx, tether_conntrack_bypass::bypass::PATH).await?;
    let link_state = running(cx, tether_link_state::link_state::PATH).await?;
    let e = tetherctl::export::export(&bypass, &link_state)
        .context("the running configuration does not match the YANG model")?;
    out!("{}", e.text);
    for u in &e.untranslatable {
        eprintln!("% not exported: {u}");
    }
    Ok(if e.untranslatable.is_empty() {
        0
    } else {
        PARTIAL
    })
}
