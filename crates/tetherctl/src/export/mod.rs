//! `tetherctl export`: the running configuration back as Cisco ASA/IOS text, the inverse of
//! [`import`](crate::import).
//!
//! [`running`] reads the two module containers of a gNMI Get (RFC 7951 JSON, through the
//! generated types) into the import's own [`ir::Config`](crate::import::ir::Config), and
//! [`print`] writes that as the lines `import` reads. Going through the same plain data both
//! ways is what makes import → export → import a fixed point (`tests/export_round_trip.rs`
//! checks it on the reference and on larger fixtures).
//!
//! What ASA/IOS has no command for (a group's description, `min-upstream-up`, `up-delay`,
//! `down-delay`, a disabled group, an access-list's description) is not dropped silently:
//! each is returned in [`Export::untranslatable`] and the command exits with status 3.

pub mod print;
pub mod running;

use serde_json::Value;

/// The text and what it could not carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Export {
    pub text: String,
    /// One line per configured leaf that ASA/IOS text cannot express.
    pub untranslatable: Vec<String>,
}

/// Exports the values of a Get of `/tether-conntrack-bypass:bypass` and
/// `/tether-link-state:link-state` (either may be `Null`: nothing configured there).
pub fn export(bypass: &Value, link_state: &Value) -> Result<Export, serde_json::Error> {
    let running = running::read(bypass, link_state)?;
    Ok(Export {
        text: print::print(&running.config),
        untranslatable: running.untranslatable,
    })
}
