//! `tetherctl capabilities`: gNMI Capabilities, printed as gnmic prints it (`gNMI version`,
//! `supported models`, `supported encodings`), or as JSON / flat lines with --format.

use anyhow::Result;
use serde_json::{Value, json};
use tether_proto::gnmi::{CapabilityRequest, Encoding};
use tetherctl::flat;

use super::{Ctx, refused};
use crate::cli::Format;
use crate::output::outln;

pub(super) async fn capabilities(cx: &Ctx) -> Result<u8> {
    let r = cx
        .clients
        .gnmi()
        .capabilities(CapabilityRequest::default())
        .await
        .map_err(|s| refused("Capabilities", s))?
        .into_inner();
    let encodings: Vec<String> = r
        .supported_encodings
        .iter()
        .map(|e| {
            Encoding::try_from(*e)
                .map_or_else(|_| format!("UNKNOWN({e})"), |e| e.as_str_name().to_string())
        })
        .collect();
    let doc = json!({
        "version": r.g_nmi_version,
        "supported-models": r.supported_models.iter().map(|m| json!({
            "name": m.name, "organization": m.organization, "version": m.version,
        })).collect::<Vec<Value>>(),
        "encodings": encodings,
    });
    match cx.format {
        Some(Format::Json) => outln!("{}", serde_json::to_string_pretty(&doc)?),
        Some(Format::Flat) => {
            for (p, v) in flat::flatten("", &doc) {
                outln!("{p}: {}", flat::show(&v));
            }
        }
        None => {
            outln!("gNMI version: {}", r.g_nmi_version);
            outln!("supported models:");
            for m in &r.supported_models {
                outln!("  - {}, {}, {}", m.name, m.organization, m.version);
            }
            outln!("supported encodings:");
            for e in &encodings {
                outln!("  - {e}");
            }
        }
    }
    Ok(0)
}
