//! Rust types, clients and servers generated from Tether's protobuf files in `proto/`.
//!
//! What it is for: the one shared copy of the wire contract, used by the daemon's northbound
//! (`tether-gnmi`, the simulator service) and by `tetherctl`:
//! - [`gnmi`]: the OpenConfig gNMI 0.10.0 messages, the `gNMI` service client
//!   ([`gnmi::g_nmi_client::GNmiClient`]) and server ([`gnmi::g_nmi_server::GNmiServer`], trait
//!   [`gnmi::g_nmi_server::GNmi`]).
//! - [`gnmi_ext`]: the gNMI extensions (registered, master arbitration, history, commit confirmed,
//!   depth).
//! - [`sim`] (`tether.sim.v1`): the in-process dataplane simulator service (inject packets, list
//!   connections, drive the simulated clock).
//! - [`admin`] (`tether.admin.v1`): the datastore administration service (commit log,
//!   rollback).
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptor set of all of the above, for gRPC server
//!   reflection.
//!
//! What it is not for: behaviour. It holds no path parsing, encoding, validation or helpers;
//! those live in `tether-syntax`, `tether-gnmi` and `tether-model`. The one exception is the
//! conversion between [`gnmi::Path`] and `tether_syntax::text_path::TextPath` (the gnmic text
//! grammar), so the CLI and the tests turn text into paths one way. The code is generated at build time by
//! `build.rs` with protox (no system `protoc`) and tonic-prost-build.

/// gNMI 0.10.0 (`package gnmi`): messages, the `gNMI` service client and server.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod gnmi {
    tonic::include_proto!("gnmi");
}

/// gNMI extensions (`package gnmi_ext`) carried in the `extension` fields of gNMI messages.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod gnmi_ext {
    tonic::include_proto!("gnmi_ext");
}

/// Tether's own protobuf packages (`package tether.*`).
pub mod tether {
    /// The simulator packages (`package tether.sim.*`).
    pub mod sim {
        /// The simulator service, version 1 (`package tether.sim.v1`).
        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod v1 {
            tonic::include_proto!("tether.sim.v1");
        }
    }

    /// The administration packages (`package tether.admin.*`).
    pub mod admin {
        /// The datastore administration service, version 1 (`package tether.admin.v1`).
        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod v1 {
            tonic::include_proto!("tether.admin.v1");
        }
    }
}

/// The in-process dataplane simulator service (`tether.sim.v1`): short alias of
/// [`tether::sim::v1`].
pub use tether::sim::v1 as sim;

/// The datastore administration service (`tether.admin.v1`): short alias of
/// [`tether::admin::v1`].
pub use tether::admin::v1 as admin;

/// Encoded `google.protobuf.FileDescriptorSet` of every file in `proto/` and their imports
/// (`google/protobuf/{any,descriptor,duration}.proto`), with source info, for
/// `tonic_reflection::server::Builder::register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tether_descriptor.bin"));

// ===== gNMI paths <-> gnmic text =====

use tether_syntax::text_path::{TextElem, TextPath};

impl From<TextPath> for gnmi::Path {
    fn from(p: TextPath) -> Self {
        gnmi::Path {
            origin: p.origin,
            elem: p
                .elems
                .into_iter()
                .map(|e| gnmi::PathElem {
                    name: e.name,
                    key: e.keys.into_iter().collect(),
                })
                .collect(),
            ..Default::default()
        }
    }
}

impl From<&gnmi::Path> for TextPath {
    /// The target is dropped (it is not part of the text form). Paths from gNMI < 0.4 peers
    /// (the deprecated `element` strings) become elements without keys.
    fn from(path: &gnmi::Path) -> Self {
        #[allow(deprecated)]
        let elems = if path.elem.is_empty() && !path.element.is_empty() {
            path.element
                .iter()
                .map(|name| TextElem {
                    name: name.clone(),
                    ..Default::default()
                })
                .collect()
        } else {
            path.elem
                .iter()
                .map(|e| TextElem {
                    name: e.name.clone(),
                    keys: e.key.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                })
                .collect()
        };
        TextPath {
            origin: path.origin.clone(),
            elems,
        }
    }
}
