//! `tetherd`, the Tether daemon: reads its settings, opens the datastore, serves gNMI (and
//! gRPC reflection) on one port, and drains on SIGTERM/SIGINT.

mod check;
mod config;
mod guard;
mod logging;
mod notify;
mod serve;
mod signals;
mod tls;

use clap::Parser;

use crate::config::{Flags, Settings};

fn main() -> std::process::ExitCode {
    let flags = Flags::parse();
    if let Some(config::Command::Check { restore }) = flags.command.clone() {
        return check::run(flags, restore);
    }
    let settings = match Settings::resolve(flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tetherd: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tetherd: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let otel_guard = {
        let _rt = runtime.enter();
        match logging::init(settings.log_format, settings.otlp_endpoint.as_deref()) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("tetherd: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    };
    if let Some(url) = &settings.otlp_endpoint {
        tracing::info!(endpoint = %url, "exporting traces over OTLP/gRPC");
    }
    let result = runtime.block_on(serve::run(settings));
    if let Some(g) = otel_guard {
        let _rt = runtime.enter();
        g.flush();
        drop(g);
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("tetherd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
