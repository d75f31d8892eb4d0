//! Get (gNMI specification §3.3): one notification per requested path.

use std::collections::HashSet;

use tether_proto::gnmi::{
    GetRequest, GetResponse, Notification, Path, Update, get_request::DataType,
};
use tracing::Span;

use crate::encoding::WireEncoding;
use crate::error::GnmiError;
use crate::extensions::{self, Rpc};
use crate::path::{self, ResolvedPath};
use crate::service::Shared;
use crate::view::{self, DataKind, Scope, Shape};

pub(crate) fn get(
    shared: &Shared,
    request: &GetRequest,
    span: &Span,
) -> Result<GetResponse, GnmiError> {
    let extensions = extensions::examine(Rpc::Get, &request.extension)?;
    let encoding = WireEncoding::from_request(request.encoding)?;
    let kind = match DataType::try_from(request.r#type) {
        Ok(DataType::All) => DataKind::All,
        Ok(DataType::Config) => DataKind::Config,
        Ok(DataType::State | DataType::Operational) => DataKind::State,
        Err(_) => {
            return Err(GnmiError::invalid(format!(
                "unknown data type {}",
                request.r#type
            )));
        }
    };
    let limits = &shared.options.limits;
    crate::limits::check(
        "paths in the GetRequest",
        request.path.len(),
        limits.max_paths_per_get,
        "max-paths-per-get",
    )?;
    let models = models(shared, &request.use_models)?;
    let requested: Vec<Option<&Path>> = if request.path.is_empty() {
        vec![None]
    } else {
        request.path.iter().map(Some).collect()
    };
    let resolved = requested
        .iter()
        .map(|p| path::resolve(shared.schema, request.prefix.as_ref(), *p).map_err(GnmiError::from))
        .collect::<Result<Vec<ResolvedPath>, GnmiError>>()?;
    span.record("paths", paths_field(&resolved));

    let mut notification = Vec::with_capacity(resolved.len());
    for rp in &resolved {
        let selected = view::read(
            shared.schema,
            shared.store.as_ref(),
            &shared.state,
            rp,
            Scope {
                kind,
                shape: Shape::Subtree,
                models: &models,
                depth: extensions.depth,
                encoding,
            },
        )?;
        if selected.is_empty() && !rp.has_wildcards() && !rp.is_root() {
            return Err(GnmiError::NotFound(format!("{rp} names no data")));
        }
        let update = selected
            .into_iter()
            .map(|(p, v)| Update {
                path: Some(if p == "/" {
                    Path::default()
                } else {
                    path::to_gnmi(&p)
                }),
                val: Some(v),
                ..Default::default()
            })
            .collect();
        notification.extend(crate::limits::split_notification(
            Notification {
                timestamp: now_ns(),
                prefix: target_prefix(&rp.target),
                update,
                ..Default::default()
            },
            limits.max_notification_bytes,
        ));
    }
    Ok(GetResponse {
        notification,
        ..Default::default()
    })
}

/// The `use_models` restriction as module names; unknown models are refused.
pub(crate) fn models(
    shared: &Shared,
    use_models: &[tether_proto::gnmi::ModelData],
) -> Result<HashSet<String>, GnmiError> {
    let mut out = HashSet::new();
    for m in use_models {
        let Some(ours) = shared.schema.modules().iter().find(|o| o.name == m.name) else {
            return Err(GnmiError::invalid(format!(
                "use_models: unknown model {}",
                m.name
            )));
        };
        if !m.version.is_empty() && m.version != ours.revision {
            return Err(GnmiError::invalid(format!(
                "use_models: model {} is at revision {}, not {}",
                m.name, ours.revision, m.version
            )));
        }
        out.insert(m.name.clone());
    }
    Ok(out)
}

/// A notification prefix that only echoes the request's target (paths stay absolute).
pub(crate) fn target_prefix(target: &str) -> Option<Path> {
    (!target.is_empty()).then(|| Path {
        target: target.to_string(),
        ..Default::default()
    })
}

pub(crate) fn paths_field(paths: &[ResolvedPath]) -> String {
    paths
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Nanoseconds since the Unix epoch.
pub(crate) use tether_syntax::time::wall_clock_ns_i64 as now_ns;
