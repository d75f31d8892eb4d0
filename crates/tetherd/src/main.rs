//! `tetherd`, the Tether daemon: reads its settings, opens the datastore, serves gNMI (and
//! gRPC reflection) on one port, and drains on SIGTERM/SIGINT.

mod config;
mod logging;
mod serve;

use clap::Parser;

use crate::config::{Flags, Settings};

fn main() -> std::process::ExitCode {
    let flags = Flags::parse();
    let settings = match Settings::resolve(flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tetherd: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    logging::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve::run(settings)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("tetherd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
