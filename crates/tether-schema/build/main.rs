//! Generates Tether's typed datastore from the YANG modules in `yang/`.
//!
//! The modules are compiled by libyang (the same library that validates data at run time), and
//! the compiled schema — not the YANG text — drives the generator, so groupings, typedefs,
//! leafref targets, ranges, patterns and enumerations are all resolved exactly as libyang
//! resolves them. A renamed or retyped leaf changes the generated Rust and breaks the build of
//! every caller instead of a client at run time.

mod codegen;
mod leaf_type;

use std::path::{Path, PathBuf};

use yang3::context::{Context, ContextFlags};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let yang_dir = manifest.join("../../yang");
    let yang_dir = yang_dir
        .canonicalize()
        .unwrap_or_else(|e| panic!("yang/ directory not found at {}: {e}", yang_dir.display()));
    // Relative to the package: a target directory shared by two checkouts must not watch the
    // other checkout's files.
    println!("cargo:rerun-if-changed=../../yang");
    println!("cargo:rerun-if-changed=build");

    let mut files: Vec<PathBuf> = std::fs::read_dir(&yang_dir)
        .expect("read yang/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yang"))
        .collect();
    files.sort();
    for f in &files {
        if let Some(name) = f.file_name().and_then(|n| n.to_str()) {
            println!("cargo:rerun-if-changed=../../yang/{name}");
        }
    }

    let mut ctx = Context::new(ContextFlags::NO_YANGLIBRARY).expect("libyang context");
    ctx.set_searchdir(&yang_dir).expect("searchdir");
    let names: Vec<String> = files.iter().map(|f| module_name(f)).collect();
    for name in &names {
        // Every feature on: the generated types cover the whole schema; the daemon decides at
        // run time which features it advertises.
        ctx.load_module(name, None, &["*"])
            .unwrap_or_else(|e| panic!("libyang rejected module {name}: {e}"));
    }

    let modules: Vec<_> = names
        .iter()
        .map(|n| {
            let m = ctx
                .get_module_implemented(n)
                .unwrap_or_else(|| panic!("module {n} not implemented"));
            let file = files
                .iter()
                .find(|f| module_name(f) == *n)
                .expect("file of module")
                .clone();
            (m, file)
        })
        .collect();

    let code = codegen::generate(&modules);
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("model.rs");
    std::fs::write(&out, code).expect("write generated model");
}

/// The module name is the file name without `.yang` and without an `@revision` suffix.
fn module_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("utf-8 file name");
    stem.split('@').next().unwrap_or(stem).to_string()
}
