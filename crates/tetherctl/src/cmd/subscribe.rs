//! `tetherctl subscribe`: a gNMI Subscribe printed one line per leaf, `time path value`
//! (`--format json`: one JSON object per line; `--format flat`: `PATH: VALUE`).
//!
//! Each line is flushed as it comes, so that the output can be piped into `grep` or a log
//! while the subscription runs; in POLL mode each line on standard input asks for a poll.

use std::io::Write;

use anyhow::{Result, anyhow, bail};
use serde_json::json;
use tether_proto::gnmi::{
    self, Poll, SubscribeRequest, Subscription, SubscriptionList, subscribe_request,
    subscribe_response, subscription_list,
};
use tetherctl::{flat, path, timefmt, typed};

use super::{Ctx, parse_paths, refused};
use crate::cli::{Format, StreamMode, SubscribeMode};

pub(super) async fn subscribe(
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
                    let p = path::format(&path::join(n.prefix.as_ref(), u.path.as_ref()));
                    let value = typed::to_json(u.val.as_ref());
                    match cx.format {
                        None => writeln!(out, "{time} {p} {value}")?,
                        Some(Format::Json) => writeln!(
                            out,
                            "{}",
                            json!({"time": time, "timestamp": n.timestamp, "path": p, "value": value})
                        )?,
                        Some(Format::Flat) => {
                            for (leaf, v) in flat::flatten(&p, &value) {
                                writeln!(out, "{leaf}: {}", flat::show(&v))?;
                            }
                        }
                    }
                }
                for d in &n.delete {
                    let p = path::format(&path::join(n.prefix.as_ref(), Some(d)));
                    match cx.format {
                        None => writeln!(out, "{time} {p} (deleted)")?,
                        Some(Format::Json) => writeln!(
                            out,
                            "{}",
                            json!({"time": time, "timestamp": n.timestamp, "path": p, "deleted": true})
                        )?,
                        Some(Format::Flat) => writeln!(out, "{p}: (deleted)")?,
                    }
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
