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
mod wire_status;

use clap::{CommandFactory, Parser};

use crate::config::{Flags, Settings};

fn main() -> std::process::ExitCode {
    let flags = Flags::parse();
    match flags.command.clone() {
        Some(config::Command::Check { restore }) => return check::run(flags, restore),
        Some(config::Command::Man) => return print_man(),
        Some(config::Command::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Flags::command(),
                "tetherd",
                &mut std::io::stdout(),
            );
            return std::process::ExitCode::SUCCESS;
        }
        None => {}
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
        let export = tether_telemetry::otel::resolve(settings.otlp_endpoint.as_deref(), |k| {
            std::env::var(k).ok()
        });
        match export.and_then(|e| logging::init(settings.log_format, e)) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("tetherd: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    };
    if let Some(g) = &otel_guard {
        tracing::info!("exporting traces over {}", g.export());
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

/// `tetherd man`: the manual page, section 8 (a system daemon), from the clap definitions so
/// it cannot disagree with `--help`.
fn print_man() -> std::process::ExitCode {
    let page = clap_mangen::Man::new(Flags::command()).section("8");
    match page.render(&mut std::io::stdout()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tetherd: writing the manual page: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
