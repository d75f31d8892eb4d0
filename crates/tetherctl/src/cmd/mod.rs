//! The commands: one file per family, each a function from parsed arguments to an exit code.
//!
//! They are apart from `main.rs` so that a command's gRPC calls and its output are read in one
//! place: `get.rs` and `set.rs` (gNMI Get and Set), `subscribe.rs`, `show.rs` (the Cisco-style
//! views over Get), `commit_log.rs` (the admin service's commit list, rollback and link-state clear), `export.rs` (the running
//! configuration as ASA/IOS text),
//! `import.rs` (a Cisco configuration as one Set) and `hash_password.rs` (a users-file hash,
//! offline). What they share — the connection, the
//! encoding, how a refused RPC is worded — is here.

mod capabilities;
mod commit_log;
mod export;
mod get;
mod hash_password;
mod import;
mod set;
mod show;
mod subscribe;

use anyhow::{Result, anyhow};
use clap::CommandFactory;
use tether_proto::gnmi;
use tetherctl::path;
use tetherctl::typed::JsonEncoding;
use tonic::Code;

use crate::cli::{self, Clear, Cli, Command, LinkStateShow, Show};
use crate::client::{self, Clients};

/// Partly done (see the crate doc).
const PARTIAL: u8 = 3;

/// What every command that talks to the daemon needs.
struct Ctx {
    clients: Clients,
    encoding: JsonEncoding,
    gnmi_encoding: i32,
    /// `--format`, for get, subscribe and capabilities.
    format: Option<cli::Format>,
}

/// Runs one command line; the result is the exit code.
pub(crate) async fn run(cli: Cli) -> Result<u8> {
    let encoding = match cli.connection.encoding {
        cli::Encoding::JsonIetf => JsonEncoding::JsonIetf,
        cli::Encoding::Json => JsonEncoding::Json,
    };
    let gnmi_encoding = match encoding {
        JsonEncoding::JsonIetf => gnmi::Encoding::JsonIetf,
        JsonEncoding::Json => gnmi::Encoding::Json,
    } as i32;
    // Commands that need no daemon.
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "tetherctl",
                &mut std::io::stdout(),
            );
            return Ok(0);
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(0);
        }
        Command::HashPassword { user, role } => {
            return hash_password::hash_password(user.as_deref(), *role);
        }
        Command::Import {
            file,
            dry_run: true,
            replace,
            maps,
            interface_map,
            ..
        } => return import::import_dry_run(file, *replace, maps, interface_map.as_deref()),
        _ => {}
    }
    let clients = client::connect(&cli.connection).await?;
    let cx = Ctx {
        clients,
        encoding,
        gnmi_encoding,
        format: cli.connection.format,
    };
    match cli.command {
        Command::Capabilities => capabilities::capabilities(&cx).await,
        Command::Get { paths, data_type } => get::get(&cx, &paths, data_type).await,
        Command::Set {
            updates,
            replaces,
            deletes,
        } => set::set(&cx, &updates, &replaces, &deletes).await,
        Command::Subscribe {
            paths,
            mode,
            stream_mode,
            sample_interval,
            updates_only,
        } => {
            subscribe::subscribe(
                &cx,
                &paths,
                mode,
                stream_mode,
                &sample_interval,
                updates_only,
            )
            .await
        }
        Command::Show(Show::LinkState(LinkStateShow::Group { args })) => {
            let (group, detail) = cli::group_args(&args).map_err(|e| anyhow!(e))?;
            show::show_link_state(&cx, group, detail).await
        }
        Command::Show(Show::Bypass) => show::show_bypass(&cx).await,
        Command::Show(Show::Conn { .. }) => show::show_conn_bypass(&cx).await,
        Command::Export => export::export(&cx).await,
        Command::Commits { limit, changes } => commit_log::commit_list(&cx, limit, changes).await,
        Command::Rollback { id, comment } => commit_log::rollback(&cx, id, comment).await,
        Command::Clear(Clear::LinkState { id, .. }) => commit_log::clear_group(&cx, id).await,
        Command::Import {
            file,
            force,
            replace,
            maps,
            interface_map,
            ..
        } => {
            import::import_apply(&cx, &file, force, replace, &maps, interface_map.as_deref()).await
        }
        Command::Completions { .. } | Command::Man | Command::HashPassword { .. } => Ok(0),
    }
}

/// A refused RPC, in words.
fn refused(what: &str, status: tonic::Status) -> anyhow::Error {
    let hint = match status.code() {
        Code::Unauthenticated => " (give --username and --password)",
        Code::PermissionDenied => " (this user may not make changes)",
        Code::Unavailable => " (is tetherd running?)",
        _ => "",
    };
    anyhow!("{what}: {:?}: {}{hint}", status.code(), status.message())
}

fn parse_paths(paths: &[String]) -> Result<Vec<gnmi::Path>> {
    paths
        .iter()
        .map(|p| path::parse(p).map_err(|e| anyhow!(e)))
        .collect()
}
