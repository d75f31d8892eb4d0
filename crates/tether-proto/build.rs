//! Compiles `proto/` (gNMI, gNMI extensions, tether.sim.v1, tether.admin.v1) with protox, a
//! pure-Rust protobuf compiler, so no system `protoc` is needed; then generates prost messages and
//! tonic clients and servers from the descriptor set, and writes the encoded descriptor set (with
//! imports and source info) to `$OUT_DIR/tether_descriptor.bin` for gRPC server reflection.

use std::{env, error::Error, fs, path::PathBuf};

use prost_types::FileDescriptorSet;

/// Proto files to compile, relative to the `proto/` include root.
const PROTOS: &[&str] = &[
    "gnmi_ext/gnmi_ext.proto",
    "gnmi/gnmi.proto",
    "tether/sim/v1/simulator.proto",
    "tether/admin/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    for proto in PROTOS {
        println!(
            "cargo:rerun-if-changed={}",
            proto_root.join(proto).display()
        );
    }

    let files: Vec<PathBuf> = PROTOS.iter().map(|p| proto_root.join(p)).collect();
    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?;
    let fds: FileDescriptorSet = compiler.file_descriptor_set();
    fs::write(
        out_dir.join("tether_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .compile_fds(fds)?;
    Ok(())
}
