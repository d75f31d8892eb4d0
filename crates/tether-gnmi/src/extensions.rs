//! gNMI extensions (`gnmi_ext.proto`) on requests: every request's `extension` field is
//! examined here, before anything else reads the request, so that none is ever dropped.
//!
//! An extension changes what an RPC means (a Depth limit, a confirmed commit, a history
//! read); ignoring one a client sent would answer a different question than it asked. So:
//! - Depth (field 5) is honoured in Get and Subscribe (gnmi-depth.md; see `depth.rs`), and
//!   refused in Capabilities and Set, where the extension is not defined.
//! - Commit (field 4) is accepted only on Set, parsed into a [`CommitAction`] and handed to
//!   [`crate::commit`], which holds the hook of the confirmed-commit engine.
//! - Everything else Tether does not implement (registered extensions, master arbitration,
//!   history, and any field a newer `gnmi_ext.proto` added) is refused with UNIMPLEMENTED
//!   naming it.

use std::time::Duration;

use tether_proto::gnmi_ext::{self, ExtensionId, commit, extension::Ext};

use crate::error::GnmiError;

/// The RPC a request belongs to: which extensions it may carry depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rpc {
    Capabilities,
    Get,
    Set,
    Subscribe,
}

impl Rpc {
    fn name(self) -> &'static str {
        match self {
            Rpc::Capabilities => "Capabilities",
            Rpc::Get => "Get",
            Rpc::Set => "Set",
            Rpc::Subscribe => "Subscribe",
        }
    }
}

/// What a confirmed-commit Set asks for (gnmi-commit-confirmed.md §3.2), with the commit ID
/// the client chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitAction {
    /// Apply the Set's edits and roll them back unless confirmed within `rollback` (the
    /// server's default when the client gave none).
    Commit {
        id: String,
        rollback: Option<Duration>,
    },
    /// Make the commit in progress permanent.
    Confirm { id: String },
    /// Roll the commit in progress back now.
    Cancel { id: String },
    /// Restart the rollback timer of the commit in progress with a new duration.
    SetRollbackDuration { id: String, rollback: Duration },
}

/// The extensions of one request Tether acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extensions {
    /// Depth: levels below each requested path (`None`: no limit, also for level 0).
    pub depth: Option<u32>,
    /// Commit: the confirmed-commit action of a Set.
    pub commit: Option<CommitAction>,
}

/// Checks every extension of a request of `rpc` and returns the ones Tether acts on;
/// anything else refuses the request.
pub(crate) fn examine(
    rpc: Rpc,
    extensions: &[gnmi_ext::Extension],
) -> Result<Extensions, GnmiError> {
    let mut out = Extensions::default();
    let mut seen_depth = false;
    for e in extensions {
        match &e.ext {
            Some(Ext::Depth(d)) => {
                if !matches!(rpc, Rpc::Get | Rpc::Subscribe) {
                    return Err(GnmiError::invalid(format!(
                        "the depth extension applies to Get and Subscribe, not {}",
                        rpc.name()
                    )));
                }
                if seen_depth {
                    return Err(GnmiError::invalid("more than one depth extension"));
                }
                seen_depth = true;
                out.depth = (d.level > 0).then_some(d.level);
            }
            Some(Ext::Commit(c)) => {
                if rpc != Rpc::Set {
                    return Err(GnmiError::invalid(format!(
                        "the commit extension applies to Set, not {}",
                        rpc.name()
                    )));
                }
                if out.commit.is_some() {
                    return Err(GnmiError::invalid("more than one commit extension"));
                }
                out.commit = Some(commit_action(c)?);
            }
            Some(Ext::RegisteredExt(r)) => {
                let name = ExtensionId::try_from(r.id)
                    .map(|id| format!(" ({})", id.as_str_name()))
                    .unwrap_or_default();
                return Err(GnmiError::Unimplemented(format!(
                    "registered extension id {}{name} is not implemented by this target",
                    r.id
                )));
            }
            Some(Ext::MasterArbitration(_)) => {
                return Err(unimplemented("master_arbitration (gnmi_ext field 2)"));
            }
            Some(Ext::History(_)) => return Err(unimplemented("history (gnmi_ext field 3)")),
            // A oneof member this proto does not know: prost leaves `ext` empty.
            None => {
                return Err(unimplemented(
                    "an extension outside gnmi_ext fields 1-5 (or an empty one)",
                ));
            }
        }
    }
    Ok(out)
}

fn unimplemented(what: &str) -> GnmiError {
    GnmiError::Unimplemented(format!(
        "the {what} extension is not implemented by this target"
    ))
}

fn commit_action(c: &gnmi_ext::Commit) -> Result<CommitAction, GnmiError> {
    if c.id.is_empty() {
        return Err(GnmiError::invalid("commit extension: the id is required"));
    }
    let id = c.id.clone();
    let duration = |d: &Option<prost_types::Duration>| -> Result<Option<Duration>, GnmiError> {
        match d {
            None => Ok(None),
            Some(d) if d.seconds < 0 || d.nanos < 0 => Err(GnmiError::invalid(
                "commit extension: rollback_duration is negative",
            )),
            Some(d) => Ok(Some(
                Duration::from_secs(d.seconds.unsigned_abs())
                    + Duration::from_nanos(u64::from(d.nanos.unsigned_abs())),
            )),
        }
    };
    Ok(match &c.action {
        Some(commit::Action::Commit(r)) => CommitAction::Commit {
            id,
            rollback: duration(&r.rollback_duration)?.filter(|d| !d.is_zero()),
        },
        Some(commit::Action::Confirm(_)) => CommitAction::Confirm { id },
        Some(commit::Action::Cancel(_)) => CommitAction::Cancel { id },
        Some(commit::Action::SetRollbackDuration(r)) => match duration(&r.rollback_duration)? {
            Some(rollback) if !rollback.is_zero() => {
                CommitAction::SetRollbackDuration { id, rollback }
            }
            _ => {
                return Err(GnmiError::invalid(
                    "commit extension: set_rollback_duration needs a rollback_duration above 0",
                ));
            }
        },
        None => return Err(GnmiError::invalid("commit extension: no action given")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_proto::gnmi_ext::{
        Commit, CommitRequest, Depth, Extension, History, MasterArbitration, RegisteredExtension,
    };
    use tonic::Code;

    fn ext(e: Ext) -> Extension {
        Extension { ext: Some(e) }
    }

    #[test]
    fn depth_is_taken_in_get_and_subscribe_only() {
        let d = |level| vec![ext(Ext::Depth(Depth { level }))];
        assert_eq!(examine(Rpc::Get, &d(2)).unwrap().depth, Some(2));
        assert_eq!(examine(Rpc::Subscribe, &d(1)).unwrap().depth, Some(1));
        assert_eq!(examine(Rpc::Get, &d(0)).unwrap().depth, None);
        for rpc in [Rpc::Set, Rpc::Capabilities] {
            assert_eq!(
                examine(rpc, &d(1)).unwrap_err().code(),
                Code::InvalidArgument
            );
        }
        let two = [d(1), d(2)].concat();
        assert_eq!(
            examine(Rpc::Get, &two).unwrap_err().code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn what_is_not_implemented_is_refused_by_name() {
        let cases = [
            (
                ext(Ext::RegisteredExt(RegisteredExtension {
                    id: 999,
                    msg: vec![1, 2],
                })),
                "999 (EID_EXPERIMENTAL)",
            ),
            (
                ext(Ext::RegisteredExt(RegisteredExtension {
                    id: 4242,
                    msg: vec![],
                })),
                "4242",
            ),
            (
                ext(Ext::MasterArbitration(MasterArbitration::default())),
                "master_arbitration",
            ),
            (ext(Ext::History(History::default())), "history"),
            (Extension { ext: None }, "outside gnmi_ext fields"),
        ];
        for (e, name) in cases {
            for rpc in [Rpc::Capabilities, Rpc::Get, Rpc::Set, Rpc::Subscribe] {
                let err = examine(rpc, std::slice::from_ref(&e)).unwrap_err();
                assert_eq!(err.code(), Code::Unimplemented, "{rpc:?} {name}");
                assert!(err.to_string().contains(name), "{err}");
            }
        }
    }

    #[test]
    fn commit_is_parsed_on_set_only() {
        let c = |id: &str, action| {
            vec![ext(Ext::Commit(Commit {
                id: id.into(),
                action,
            }))]
        };
        let request = Some(commit::Action::Commit(CommitRequest {
            rollback_duration: Some(prost_types::Duration {
                seconds: 30,
                nanos: 0,
            }),
        }));
        assert_eq!(
            examine(Rpc::Set, &c("c1", request)).unwrap().commit,
            Some(CommitAction::Commit {
                id: "c1".into(),
                rollback: Some(Duration::from_secs(30))
            })
        );
        assert_eq!(
            examine(Rpc::Get, &c("c1", request)).unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            examine(Rpc::Set, &c("", request)).unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            examine(Rpc::Set, &c("c1", None)).unwrap_err().code(),
            Code::InvalidArgument
        );
        let zero = Some(commit::Action::SetRollbackDuration(
            gnmi_ext::CommitSetRollbackDuration {
                rollback_duration: None,
            },
        ));
        assert_eq!(
            examine(Rpc::Set, &c("c1", zero)).unwrap_err().code(),
            Code::InvalidArgument
        );
    }
}
