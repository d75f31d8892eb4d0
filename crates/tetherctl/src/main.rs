//! `tetherctl`: Tether's command line, a gNMI client for network engineers.
//!
//! Exit codes: 0 done; 1 error (unreachable daemon, request refused); 2 bad command line;
//! 3 partly done: `import` left lines untranslated, or `show conn bypass` could not list the
//! connection entries.

mod cli;
mod client;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{CommandFactory, Parser};
use serde_json::{Map, Value};
use tether_model::{tether_conntrack_bypass, tether_link_state};
use tether_proto::admin::{ListCommitsRequest, RollbackRequest};
use tether_proto::gnmi::{
    self, GetRequest, Poll, SetRequest, SubscribeRequest, Subscription, SubscriptionList, Update,
    get_request::DataType as GnmiDataType, subscribe_request, subscribe_response,
    subscription_list, update_result,
};
use tether_proto::sim::ListConnectionsRequest;
use tetherctl::show::{bypass, commits, conn, link_state};
use tetherctl::typed::{self, JsonEncoding};
use tetherctl::{import, path, timefmt};
use tonic::Code;

use cli::{Cli, Command, DataType, LinkStateShow, Show, StreamMode, SubscribeMode};
use client::Clients;

/// `println!` that ends the program quietly when stdout is closed (`tetherctl ... | head`)
/// instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            closed_stdout(e)
        }
    }};
}

/// `print!` with the same behaviour.
macro_rules! out {
    ($($t:tt)*) => {{
        if let Err(e) = write!(std::io::stdout().lock(), $($t)*) {
            closed_stdout(e)
        }
    }};
}

fn closed_stdout(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("% cannot write the output: {e}");
    std::process::exit(1);
}

/// Partly done (see the crate doc).
const PARTIAL: u8 = 3;

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
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("% {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<u8> {
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
        Command::Import {
            file,
            dry_run: true,
            replace,
            ..
        } => return import_dry_run(file, *replace),
        _ => {}
    }
    let clients = client::connect(&cli.connection).await?;
    let cx = Ctx {
        clients,
        encoding,
        gnmi_encoding,
    };
    match cli.command {
        Command::Get { paths, data_type } => get(&cx, &paths, data_type).await,
        Command::Set {
            updates,
            replaces,
            deletes,
        } => set(&cx, &updates, &replaces, &deletes).await,
        Command::Subscribe {
            paths,
            mode,
            stream_mode,
            sample_interval,
            updates_only,
        } => {
            subscribe(
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
            show_link_state(&cx, group, detail).await
        }
        Command::Show(Show::Bypass) => show_bypass(&cx).await,
        Command::Show(Show::Conn { .. }) => show_conn_bypass(&cx).await,
        Command::Commits { limit, changes } => commit_list(&cx, limit, changes).await,
        Command::Rollback { id, comment } => rollback(&cx, id, comment).await,
        Command::Import {
            file,
            force,
            replace,
            ..
        } => import_apply(&cx, &file, force, replace).await,
        Command::Completions { .. } => Ok(0),
    }
}

struct Ctx {
    clients: Clients,
    encoding: JsonEncoding,
    gnmi_encoding: i32,
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

// ===== get / set / subscribe =====

/// Get, returning (path, value) for each update of each notification.
async fn get_values(
    cx: &Ctx,
    paths: Vec<gnmi::Path>,
    data_type: GnmiDataType,
) -> Result<Vec<(String, Value)>, tonic::Status> {
    let response = cx
        .clients
        .gnmi()
        .get(GetRequest {
            path: paths,
            r#type: data_type as i32,
            encoding: cx.gnmi_encoding,
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut out = Vec::new();
    for n in &response.notification {
        for u in &n.update {
            let p = path::join(n.prefix.as_ref(), u.path.as_ref());
            out.push((path::format(&p), typed::to_json(u.val.as_ref())));
        }
    }
    Ok(out)
}

async fn get(cx: &Ctx, paths: &[String], data_type: DataType) -> Result<u8> {
    let data_type = match data_type {
        DataType::All => GnmiDataType::All,
        DataType::Config => GnmiDataType::Config,
        DataType::State => GnmiDataType::State,
        DataType::Operational => GnmiDataType::Operational,
    };
    let values = get_values(cx, parse_paths(paths)?, data_type)
        .await
        .map_err(|s| refused("Get", s))?;
    let doc: Map<String, Value> = values.into_iter().collect();
    outln!("{}", serde_json::to_string_pretty(&Value::Object(doc))?);
    Ok(0)
}

fn read_file(name: &str) -> Result<String, String> {
    std::fs::read_to_string(name).map_err(|e| format!("{name}: {e}"))
}

fn assignments(cx: &Ctx, args: &[String]) -> Result<Vec<Update>> {
    args.iter()
        .map(|a| {
            let (p, v) = typed::split_assignment(a).map_err(|e| anyhow!(e))?;
            let value = typed::parse_value(v, read_file).map_err(|e| anyhow!(e))?;
            Ok(Update {
                path: Some(path::parse(p)?),
                val: Some(typed::to_typed(&value, cx.encoding)),
                ..Default::default()
            })
        })
        .collect()
}

async fn set(cx: &Ctx, updates: &[String], replaces: &[String], deletes: &[String]) -> Result<u8> {
    if updates.is_empty() && replaces.is_empty() && deletes.is_empty() {
        bail!("nothing to set: give --update, --replace or --delete");
    }
    let request = SetRequest {
        delete: parse_paths(deletes)?,
        replace: assignments(cx, replaces)?,
        update: assignments(cx, updates)?,
        ..Default::default()
    };
    send_set(cx, request).await?;
    Ok(0)
}

/// Sends a Set and prints its results and commit time.
async fn send_set(cx: &Ctx, request: SetRequest) -> Result<()> {
    let response = cx
        .clients
        .gnmi()
        .set(request)
        .await
        .map_err(|s| refused("Set refused, nothing changed", s))?
        .into_inner();
    for r in &response.response {
        let op = update_result::Operation::try_from(r.op)
            .map(|o| o.as_str_name().to_ascii_lowercase())
            .unwrap_or_else(|_| r.op.to_string());
        let p = path::join(response.prefix.as_ref(), r.path.as_ref());
        outln!("{op:<8} {}", path::format(&p));
    }
    outln!(
        "Committed at {}",
        timefmt::rfc3339_signed(response.timestamp)
    );
    Ok(())
}

async fn subscribe(
    cx: &Ctx,
    paths: &[String],
    mode: SubscribeMode,
    stream_mode: StreamMode,
    sample_interval: &str,
    updates_only: bool,
) -> Result<u8> {
    let interval = timefmt::parse_duration(sample_interval).map_err(|e| anyhow!(e))?;
    let sub_mode = match stream_mode {
        StreamMode::OnChange => gnmi::SubscriptionMode::OnChange,
        StreamMode::Sample => gnmi::SubscriptionMode::Sample,
        StreamMode::TargetDefined => gnmi::SubscriptionMode::TargetDefined,
    };
    let subscription = parse_paths(paths)?
        .into_iter()
        .map(|p| Subscription {
            path: Some(p),
            mode: sub_mode as i32,
            sample_interval: if stream_mode == StreamMode::Sample {
                u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX)
            } else {
                0
            },
            ..Default::default()
        })
        .collect();
    let list_mode = match mode {
        SubscribeMode::Stream => subscription_list::Mode::Stream,
        SubscribeMode::Once => subscription_list::Mode::Once,
        SubscribeMode::Poll => subscription_list::Mode::Poll,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription,
            mode: list_mode as i32,
            encoding: cx.gnmi_encoding,
            updates_only,
            ..Default::default()
        })),
        ..Default::default()
    })
    .await
    .map_err(|_| anyhow!("internal: request channel closed"))?;
    let mut stream = cx
        .clients
        .gnmi()
        .subscribe(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(|s| refused("Subscribe", s))?
        .into_inner();
    if mode == SubscribeMode::Poll {
        // Each line on standard input asks for the current values again.
        let tx = tx.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(_)) = lines.next_line().await {
                let poll = SubscribeRequest {
                    request: Some(subscribe_request::Request::Poll(Poll {})),
                    ..Default::default()
                };
                if tx.send(poll).await.is_err() {
                    break;
                }
            }
        });
        eprintln!("(poll mode: press Enter to poll, Ctrl-D or Ctrl-C to stop)");
    }
    let mut out = std::io::stdout();
    loop {
        let message = match stream.message().await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(s) => return Err(refused("Subscribe ended", s)),
        };
        match message.response {
            Some(subscribe_response::Response::Update(n)) => {
                let time = timefmt::rfc3339_signed(n.timestamp);
                for u in &n.update {
                    let p = path::join(n.prefix.as_ref(), u.path.as_ref());
                    writeln!(
                        out,
                        "{time} {} {}",
                        path::format(&p),
                        typed::to_json(u.val.as_ref())
                    )?;
                }
                for d in &n.delete {
                    let p = path::join(n.prefix.as_ref(), Some(d));
                    writeln!(out, "{time} {} (deleted)", path::format(&p))?;
                }
                out.flush()?;
            }
            Some(subscribe_response::Response::SyncResponse(_)) => {
                eprintln!("(sync: the current values are complete)");
                if mode == SubscribeMode::Once {
                    break;
                }
            }
            #[allow(deprecated)]
            Some(subscribe_response::Response::Error(e)) => {
                bail!("Subscribe error {}: {}", e.code, e.message)
            }
            None => {}
        }
    }
    drop(tx);
    Ok(0)
}

// ===== show =====

/// The value of a Get of one container, or None when the daemon has nothing there.
async fn get_container(cx: &Ctx, schema_path: &str) -> Result<Option<Value>> {
    match get_values(cx, vec![path::parse(schema_path)?], GnmiDataType::All).await {
        Ok(values) => Ok(values.into_iter().next().map(|(_, v)| v)),
        Err(s) if s.code() == Code::NotFound => Ok(None),
        Err(s) => Err(refused(&format!("Get {schema_path}"), s)),
    }
}

async fn show_link_state(cx: &Ctx, group: Option<u16>, detail: bool) -> Result<u8> {
    let value = get_container(cx, tether_link_state::link_state::PATH)
        .await?
        .unwrap_or(Value::Null);
    let mut groups = link_state::groups_from_json(&value);
    if let Some(id) = group {
        groups.retain(|g| g.id == u64::from(id));
        if groups.is_empty() {
            bail!("link state group {id} is not configured");
        }
    }
    out!(
        "{}",
        if detail {
            link_state::render_detail(&groups)
        } else {
            link_state::render_summary(&groups)
        }
    );
    Ok(0)
}

async fn bypass_view(cx: &Ctx) -> Result<bypass::BypassView> {
    let value = get_container(cx, tether_conntrack_bypass::bypass::PATH)
        .await?
        .unwrap_or(Value::Null);
    Ok(bypass::view_from_json(&value))
}

async fn show_bypass(cx: &Ctx) -> Result<u8> {
    out!("{}", bypass::render(&bypass_view(cx).await?));
    Ok(0)
}

async fn show_conn_bypass(cx: &Ctx) -> Result<u8> {
    let view = bypass_view(cx).await?;
    out!("{}", conn::render_counters(&view));
    let listed = cx
        .clients
        .simulator()
        .list_connections(ListConnectionsRequest { bypass_only: true })
        .await;
    match listed {
        Ok(r) => {
            let connections: Vec<_> = r
                .into_inner()
                .connections
                .into_iter()
                .filter(|c| c.bypass)
                .collect();
            out!("{}", conn::render_connections(&connections));
            Ok(0)
        }
        Err(s) if matches!(s.code(), Code::Unimplemented | Code::NotFound) => {
            eprintln!(
                "% Connection entries are unavailable: {} does not serve tether.sim.v1.Simulator. \
                 Only the in-process dataplane (tetherd --dataplane sim) lists its connection \
                 table; the counters above come from gNMI state.",
                cx.clients.target
            );
            Ok(PARTIAL)
        }
        Err(s) => Err(refused("ListConnections", s)),
    }
}

// ===== commit log =====

fn admin_refused(what: &str, s: tonic::Status) -> anyhow::Error {
    if s.code() == Code::Unimplemented {
        anyhow!(
            "{what}: this tetherd does not serve tether.admin.v1.Datastore (commit log and rollback)"
        )
    } else {
        refused(what, s)
    }
}

async fn commit_list(cx: &Ctx, limit: u32, changes: bool) -> Result<u8> {
    let list = cx
        .clients
        .admin()
        .list_commits(ListCommitsRequest { limit })
        .await
        .map_err(|s| admin_refused("ListCommits", s))?
        .into_inner()
        .commits;
    out!("{}", commits::render(&list, changes));
    Ok(0)
}

async fn rollback(cx: &Ctx, id: u64, comment: Option<String>) -> Result<u8> {
    let r = cx
        .clients
        .admin()
        .rollback(RollbackRequest {
            id,
            comment: comment.unwrap_or_default(),
        })
        .await
        .map_err(|s| admin_refused(&format!("Rollback to {id}"), s))?
        .into_inner();
    if r.changed_leaves == 0 {
        outln!("The configuration is already as it was after commit {id}; nothing changed.");
    } else {
        outln!(
            "Rolled back to commit {id}: commit {} changed {} {}.",
            r.commit_id,
            r.changed_leaves,
            if r.changed_leaves == 1 {
                "leaf"
            } else {
                "leaves"
            }
        );
    }
    Ok(0)
}

// ===== import =====

fn read_config(file: &std::path::Path) -> Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("reading standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

fn report_problems(t: &import::Translation) {
    for p in &t.problems {
        eprintln!("{p}");
    }
}

fn set_request(t: &import::Translation, encoding: JsonEncoding, replace: bool) -> SetRequest {
    let updates: Vec<Update> = t
        .updates()
        .iter()
        .map(|(p, v)| Update {
            path: path::parse(p).ok(),
            val: Some(typed::to_typed(v, encoding)),
            ..Default::default()
        })
        .collect();
    if replace {
        SetRequest {
            replace: updates,
            ..Default::default()
        }
    } else {
        SetRequest {
            update: updates,
            ..Default::default()
        }
    }
}

fn import_dry_run(file: &std::path::Path, replace: bool) -> Result<u8> {
    let t = import::translate(&read_config(file)?);
    report_problems(&t);
    let updates = t.updates();
    outln!(
        "! Dry run: one gNMI Set with {} {}; nothing is sent.",
        updates.len(),
        if replace { "replaces" } else { "updates" }
    );
    for line in t.summary() {
        outln!("!   {line}");
    }
    for (p, v) in &updates {
        outln!("{} {p}", if replace { "replace" } else { "update" });
        outln!("{}", serde_json::to_string_pretty(v)?);
    }
    if !t.problems.is_empty() {
        eprintln!(
            "% {} line(s) not translated (listed above)",
            t.problems.len()
        );
        return Ok(PARTIAL);
    }
    Ok(0)
}

async fn import_apply(cx: &Ctx, file: &std::path::Path, force: bool, replace: bool) -> Result<u8> {
    let t = import::translate(&read_config(file)?);
    report_problems(&t);
    if !t.problems.is_empty() && !force {
        eprintln!(
            "% {} line(s) not translated (listed above); nothing was applied. \
             Fix them, or use --force to apply the rest, or --dry-run to see it.",
            t.problems.len()
        );
        return Ok(PARTIAL);
    }
    if t.is_empty() {
        bail!("{}: nothing to import", file.display());
    }
    for line in t.summary() {
        outln!("! {line}");
    }
    send_set(cx, set_request(&t, cx.encoding, replace)).await?;
    Ok(if t.problems.is_empty() { 0 } else { PARTIAL })
}
