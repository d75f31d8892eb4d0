//! `tetherctl`: Tether's command line, a gNMI client for network engineers.
//!
//! Exit codes: 0 done; 1 error (unreachable daemon, request refused); 2 bad command line;
//! 3 partly done: `import` left lines untranslated, or `show conn bypass` could not list the
//! connection entries.
//!
//! This file only parses the command line and starts the runtime; `cli.rs` is the grammar,
//! `client.rs` the connection, and `cmd/` one file per command family.

mod cli;
mod client;
mod cmd;
mod output;
mod skip_verify;

use std::process::ExitCode;

use clap::Parser;

use cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse_from(cli::ios_words(std::env::args().collect()));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("% cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("% {e:#}");
            ExitCode::FAILURE
        }
    }
}
