//! Model-based test of the confirmed-commit engine: seeded random sequences of confirmed
//! commits (new and follow-up, session-bound and persistent), confirms, cancels, timeouts,
//! session ends and restarts, interleaved with ordinary commits from several clients over
//! several access-lists, classes, policies and link-state groups (valid and invalid mixed).
//! After every step the running configuration equals a simple model: the reference tree
//! (`prepare_reference`, no shortcut) and at most one pending commit holding the
//! configuration it reverts to; a refused step changes nothing.
//!
//! `TETHER_MODEL_STEPS` scales the run.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "common/model.rs"]
mod model;
#[path = "../../tether-model/tests/common/ops.rs"]
mod ops;

use std::time::{Duration, Instant};

use model::{schema, steps};
use ops::Rng;
use tether_model::{ConfigTree, Edit, Schema};
use tether_store::{
    Caller, CommitMeta, ConfirmError, ConfirmKey, ConfirmedAction, ConfirmedRequest, SledStore,
    Store, StoreError, StoreOptions,
};

fn view(t: &ConfigTree) -> String {
    t.to_json(true).unwrap()
}

/// The model's pending commit: who owns it and the configuration it reverts to.
struct ModelPending {
    key: ConfirmKey,
    before: String,
}

/// The model's verdict on who may act on a pending commit (RFC 6241 §8.4.1): the session
/// that made it without persist, or whoever gives its persist-id / commit id.
fn may(key: &ConfirmKey, c: &Caller) -> Result<(), &'static str> {
    match key {
        ConfirmKey::Id(x) if c.id.as_deref() == Some(x.as_str()) => Ok(()),
        ConfirmKey::Id(_) if c.id.is_some() => Err("wrong-id"),
        ConfirmKey::Id(_) => Err("not-owner"),
        ConfirmKey::Session(s) if c.session == Some(*s) && c.id.is_none() => Ok(()),
        ConfirmKey::Session(_) if c.session.is_some() && c.id.is_some() => Err("wrong-id"),
        ConfirmKey::Session(_) => Err("not-owner"),
    }
}

fn kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Confirm(ConfirmError::NonePending) => "none-pending",
        StoreError::Confirm(ConfirmError::WrongId { .. }) => "wrong-id",
        StoreError::Confirm(ConfirmError::NotOwner { .. }) => "not-owner",
        StoreError::Confirm(ConfirmError::Pending { .. }) => "pending",
        _ => "model",
    }
}

/// A random caller: NETCONF sessions 1..=3 or a gNMI client, with or without a token.
fn caller(r: &mut Rng) -> Caller {
    Caller {
        session: if r.chance(60) {
            Some(1 + r.below(3) as u32)
        } else {
            None
        },
        id: if r.chance(50) {
            Some(r.pick(&["red", "blue"]).to_string())
        } else {
            None
        },
    }
}

/// A key a caller may create: its own session, or a token.
fn key(r: &mut Rng, c: &Caller) -> ConfirmKey {
    match c.session {
        Some(s) if r.chance(50) => ConfirmKey::Session(s),
        _ => ConfirmKey::Id(r.pick(&["red", "blue"]).to_string()),
    }
}

fn meta(who: &str) -> CommitMeta {
    CommitMeta {
        user: who.into(),
        client: "model".into(),
        ..Default::default()
    }
}

const LONG: Duration = Duration::from_secs(3600);

struct Run {
    schema: &'static Schema,
    options: StoreOptions,
    store: Option<SledStore>,
    reference: ConfigTree,
    pending: Option<ModelPending>,
    counts: std::collections::BTreeMap<&'static str, u64>,
}

impl Run {
    fn st(&self) -> &SledStore {
        self.store.as_ref().unwrap()
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    /// The reference follows the store after a revert (checked equal to `before` first).
    fn resync_reference(&mut self) {
        let leaves = self.st().config().leaves();
        self.reference = ConfigTree::from_leaves(
            self.schema,
            leaves.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .unwrap();
    }

    fn check(&self, step: u64, what: &str) {
        assert_eq!(
            view(&self.st().config()),
            view(&self.reference),
            "step {step}: {what}"
        );
        assert_eq!(
            self.st().confirmed_status().is_some(),
            self.pending.is_some(),
            "step {step}: {what}: pending state"
        );
    }

    /// Commits `edits` through `request` and checks the verdict against the reference;
    /// `expect` is the model's refusal (before validation) if any. Returns whether it was
    /// accepted.
    fn transact(
        &mut self,
        step: u64,
        edits: &[Edit],
        expect: Result<(), &'static str>,
        request: impl FnOnce(&SledStore) -> Result<tether_store::CommitOutcome, StoreError>,
    ) -> bool {
        let before = view(&self.st().config());
        let got = request(self.st());
        match expect {
            Err(want) => {
                let e = got.expect_err("the model refuses this");
                assert_eq!(kind(&e), want, "step {step}: {e}");
                assert_eq!(view(&self.st().config()), before, "step {step}: refused");
                self.count(want);
                false
            }
            Ok(()) => match (got, self.reference.prepare_reference(edits)) {
                (Ok(o), Ok((tree, changes))) => {
                    assert_eq!(o.changes, changes, "step {step}: change sets differ");
                    self.reference = tree;
                    true
                }
                (Err(e), Err(r)) => {
                    assert_eq!(e.to_string(), r.to_string(), "step {step}");
                    assert_eq!(view(&self.st().config()), before, "step {step}: refused");
                    self.count("invalid");
                    false
                }
                (g, w) => panic!("step {step}: store {:?}, reference {:?}", g.err(), w.err()),
            },
        }
    }

    fn revert_expected(&mut self, step: u64, what: &str) {
        let p = self.pending.take().unwrap();
        assert_eq!(view(&self.st().config()), p.before, "step {step}: {what}");
        self.resync_reference();
    }
}

#[test]
fn confirmed_commits_equal_the_model() {
    let schema = schema();
    let dir = tempfile::tempdir().unwrap();
    let mut options = StoreOptions::new(dir.path());
    // In-process restarts need no fdatasync (durability is the SIGKILL tests' subject).
    options.sync = false;
    let store = SledStore::open(schema, options.clone()).unwrap();
    let mut run = Run {
        schema,
        options,
        store: Some(store),
        reference: ConfigTree::new(schema),
        pending: None,
        counts: Default::default(),
    };
    let mut r = Rng(0xc0f1_4e3d);
    for i in 0..steps(600) {
        let roll = r.below(100);
        let c = caller(&mut r);
        match roll {
            // An ordinary commit from some client: refused while a commit is pending.
            0..=29 => {
                let edits = ops::random_transaction(&mut r);
                let expect = if run.pending.is_some() {
                    Err("pending")
                } else {
                    Ok(())
                };
                if run.transact(i, &edits, expect, |s| {
                    s.commit(edits.clone(), meta("ordinary")).wait_blocking()
                }) {
                    run.count("ordinary");
                }
            }
            // A confirmed commit: new, or a follow-up (NETCONF) / refused (gNMI).
            30..=54 => {
                let edits = ops::random_transaction(&mut r);
                let k = key(&mut r, &c);
                let follow_up = r.chance(70);
                let expect = match &run.pending {
                    None => Ok(()),
                    Some(_) if !follow_up => Err("pending"),
                    Some(p) => may(&p.key, &c),
                };
                let before = view(&run.st().config());
                let request = ConfirmedRequest {
                    action: ConfirmedAction::Commit {
                        edits: edits.clone(),
                        timeout: LONG,
                        key: k.clone(),
                        follow_up,
                    },
                    caller: c,
                };
                if run.transact(i, &edits, expect, |s| {
                    s.confirmed(request, meta("confirmed")).wait_blocking()
                }) {
                    match &mut run.pending {
                        Some(p) => {
                            p.key = k;
                            run.count("follow-up");
                        }
                        None => {
                            run.pending = Some(ModelPending { key: k, before });
                            run.count("confirmed");
                        }
                    }
                }
            }
            // Confirm, sometimes with changes (NETCONF's confirming commit), sometimes
            // committing anyway when nothing is pending (NETCONF's plain <commit>).
            55..=66 => {
                let edits = if r.chance(50) {
                    ops::random_transaction(&mut r)
                } else {
                    Vec::new()
                };
                let or_commit = r.chance(50);
                let expect = match &run.pending {
                    None if or_commit => Ok(()),
                    None => Err("none-pending"),
                    Some(p) => may(&p.key, &c),
                };
                let request = ConfirmedRequest {
                    action: ConfirmedAction::Confirm {
                        edits: edits.clone(),
                        or_commit,
                    },
                    caller: c,
                };
                let was_pending = run.pending.is_some();
                if run.transact(i, &edits, expect, |s| {
                    s.confirmed(request, meta("confirm")).wait_blocking()
                }) {
                    run.pending = None;
                    run.count(if was_pending {
                        "confirm"
                    } else {
                        "commit-or-confirm"
                    });
                }
            }
            // Cancel.
            67..=76 => {
                let expect = match &run.pending {
                    None => Err("none-pending"),
                    Some(p) => may(&p.key, &c),
                };
                let got = run
                    .st()
                    .confirmed(
                        ConfirmedRequest {
                            action: ConfirmedAction::Cancel,
                            caller: c,
                        },
                        meta("cancel"),
                    )
                    .wait_blocking();
                match expect {
                    Ok(()) => {
                        got.unwrap();
                        run.revert_expected(i, "cancel");
                        run.count("cancel");
                    }
                    Err(want) => {
                        assert_eq!(kind(&got.unwrap_err()), want, "step {i}");
                        run.count(want);
                    }
                }
            }
            // The timer: the owner shortens the timeout; the engine reverts on its own.
            77..=84 => {
                let Some(p) = &run.pending else {
                    let got = run
                        .st()
                        .confirmed(
                            ConfirmedRequest {
                                action: ConfirmedAction::Extend {
                                    timeout: Duration::from_millis(1),
                                },
                                caller: c,
                            },
                            meta("extend"),
                        )
                        .wait_blocking();
                    assert_eq!(kind(&got.unwrap_err()), "none-pending", "step {i}");
                    continue;
                };
                run.st()
                    .confirmed(
                        ConfirmedRequest {
                            action: ConfirmedAction::Extend {
                                timeout: Duration::from_millis(20),
                            },
                            caller: p.key.owner(),
                        },
                        meta("extend"),
                    )
                    .wait_blocking()
                    .unwrap();
                let deadline = Instant::now() + Duration::from_secs(10);
                while run.st().confirmed_status().is_some() {
                    assert!(Instant::now() < deadline, "step {i}: the timer never fired");
                    std::thread::sleep(Duration::from_millis(5));
                }
                run.revert_expected(i, "timeout");
                run.count("timeout");
            }
            // A NETCONF session ends: its session-bound pending commit is reverted.
            85..=91 => {
                let s = 1 + r.below(3) as u32;
                run.st()
                    .confirmed(
                        ConfirmedRequest {
                            action: ConfirmedAction::SessionEnded,
                            caller: Caller {
                                session: Some(s),
                                id: None,
                            },
                        },
                        meta("session-end"),
                    )
                    .wait_blocking()
                    .unwrap();
                if run
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.key == ConfirmKey::Session(s))
                {
                    run.revert_expected(i, "session end");
                    run.count("session-end revert");
                }
            }
            // A restart: a pending commit is reverted at boot.
            _ => {
                let options = run.options.clone();
                drop(run.store.take());
                run.store = Some(SledStore::open(run.schema, options).unwrap());
                if run.pending.is_some() {
                    run.revert_expected(i, "restart");
                    run.count("restart revert");
                } else {
                    run.count("restart");
                }
            }
        }
        run.check(i, "after the step");
    }
    eprintln!("{:?}", run.counts);
    for what in [
        "ordinary",
        "confirmed",
        "follow-up",
        "confirm",
        "commit-or-confirm",
        "cancel",
        "timeout",
        "restart revert",
        "session-end revert",
        "pending",
        "none-pending",
        "wrong-id",
        "not-owner",
        "invalid",
    ] {
        assert!(
            run.counts.get(what).copied().unwrap_or(0) > 0,
            "the run never saw {what}: {:?}",
            run.counts
        );
    }
}
