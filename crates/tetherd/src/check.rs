//! `tetherd check`: the boot checks of the datastore, offline, with an optional repair.

use std::process::ExitCode;

use tether_model::{Schema, SchemaOptions};
use tether_store::SledStore;

use crate::config::{DataplaneKind, Flags, Settings};

pub fn run(flags: Flags, restore: bool) -> ExitCode {
    let settings = match Settings::resolve(flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tetherd check: {e:#}");
            return ExitCode::from(2);
        }
    };
    let schema = match Schema::load(SchemaOptions {
        simulation: settings.dataplane == DataplaneKind::Sim,
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tetherd check: loading the YANG schema: {e}");
            return ExitCode::FAILURE;
        }
    };
    let dir = &settings.data_dir;
    if !dir.join("db").exists() {
        eprintln!("tetherd check: {} holds no datastore", dir.display());
        return ExitCode::FAILURE;
    }
    match SledStore::check(schema, dir, restore) {
        Ok(r) => {
            for fix in &r.repairs {
                println!("repaired: {fix}");
            }
            println!(
                "{}: sound; last commit {}, {} leaves, loaded from the {}",
                dir.display(),
                r.last_commit,
                r.leaves,
                r.loaded_from
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}: NOT sound: {e}", dir.display());
            if !restore {
                println!(
                    "run `tetherd check --data-dir {} --restore` to repair it",
                    dir.display()
                );
            }
            ExitCode::FAILURE
        }
    }
}
