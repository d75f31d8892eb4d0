//! Capabilities (gNMI specification §3.2): our modules, the encodings we speak, the
//! gNMI version.

use tether_model::Schema;
use tether_proto::gnmi::{CapabilityResponse, Encoding, ModelData};

/// The gNMI version the service implements.
pub const GNMI_VERSION: &str = "0.10.0";

pub fn capabilities(schema: &Schema) -> CapabilityResponse {
    CapabilityResponse {
        supported_models: schema
            .modules()
            .iter()
            .chain(schema.deviations())
            .map(|m| ModelData {
                name: m.name.to_string(),
                organization: m.organization.to_string(),
                version: m.revision.to_string(),
            })
            .collect(),
        supported_encodings: vec![
            Encoding::Json as i32,
            Encoding::JsonIetf as i32,
            Encoding::Proto as i32,
        ],
        g_nmi_version: GNMI_VERSION.to_string(),
        extension: Vec::new(),
    }
}
