//! The worker's bypass side: the desired program from configuration, installed on the
//! dataplane, with the outcome (and the host conditions that defeat bypass) in state.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use tether_dataplane::{ProgramDelta, TriggerSource};
use tether_lst::{Engine, GroupStatus};
use tether_model::Datastore;
use tether_store::CommitRecord;
use tether_telemetry::StateBatch;
use tracing::{error, info, info_span, warn};

use super::arming::{ClassKey, Level};
use super::incremental::{self, Followed, Touched};
use super::{compile, state};
use crate::backoff::RetryKey;
use crate::event_loop::Worker;
use crate::paths;

impl Worker {
    /// Compiles the whole configuration (boot, after lagging); a program that does not compile
    /// leaves the installed one in place (traffic keeps flowing as before) and the error is
    /// reported in state.
    pub(crate) fn apply_bypass(&mut self, typed: &Datastore) {
        let compiled = compile::compile(typed);
        self.use_compiled(compiled, None);
    }

    /// One commit: recompiles only what it touched in the bypass module, from the running
    /// tree, and hands the dataplane the delta. Falls back to the full compiler when the
    /// previous program is not the configuration's (the last compile failed) or a step cannot
    /// be taken, so the outcome is always the full compiler's.
    pub(crate) fn apply_bypass_commit(&mut self, record: &CommitRecord) {
        let touched = Touched::of(record.changes.iter().map(|c| c.path.as_str()));
        if touched.is_empty() {
            return;
        }
        let previous = self.program_compiled.then_some(&self.desired_program);
        let followed = incremental::follow(previous, &self.store.config(), &touched);
        match followed {
            Followed::Incremental(program) => {
                self.use_compiled(Ok(program), Some(touched.delta()));
            }
            Followed::Full(compiled) => self.use_compiled(compiled, None),
            Followed::Unreadable(e) => error!(error = %e, "cannot read the bypass configuration"),
        }
    }

    /// Takes a compiler's outcome: installs a new program (as a delta when the dataplane holds
    /// the previous one), or reports why the configuration does not compile.
    fn use_compiled(
        &mut self,
        compiled: Result<tether_dataplane::BypassProgram, compile::CompileError>,
        delta: Option<ProgramDelta>,
    ) {
        match compiled {
            Ok(mut program) => {
                let now = self.dataplane.now_ns();
                let (up, engine) = (&self.interface_up, &self.engine);
                let changed = self.arming.sync(&program, |s| level(up, engine, s), now);
                self.arming.stamp(&mut program);
                self.publish_arming(&changed);
                let in_sync = self.installed_program.as_ref() == Some(&self.desired_program);
                self.desired_program = program;
                self.program_compiled = true;
                self.program_error = None;
                if self.installed_program.as_ref() != Some(&self.desired_program) {
                    self.backoff.succeeded(&RetryKey::Program);
                    self.install_program_with(delta.filter(|_| in_sync));
                } else {
                    self.publish_applied();
                }
            }
            Err(e) => {
                error!(error = %e, "the bypass configuration does not compile; the installed program stays");
                self.program_compiled = false;
                self.program_error = Some(e.to_string());
                self.publish_applied();
            }
        }
    }

    /// Judges the conditional classes again (a trigger moved, a hold ended) and flips what
    /// changed in the dataplane: a delta naming only the arming when the dataplane holds the
    /// desired program, else a full install.
    pub(crate) fn rearm(&mut self, now: u64) {
        let (up, engine) = (&self.interface_up, &self.engine);
        let changed = self.arming.update(|s| level(up, engine, s), now);
        if changed.is_empty() {
            return;
        }
        self.publish_arming(&changed);
        let in_sync = self.installed_program.as_ref() == Some(&self.desired_program);
        let flipped = self.arming.stamp(&mut self.desired_program);
        if flipped.is_empty() || !self.program_compiled {
            return;
        }
        for (policy, class) in &flipped {
            let armed = self
                .arming
                .get(&(policy.clone(), class.clone()))
                .is_some_and(|s| s.armed);
            info!(
                policy,
                class,
                armed,
                "conditional bypass {}",
                if armed { "armed" } else { "disarmed" }
            );
        }
        let delta = ProgramDelta {
            arming: flipped,
            ..Default::default()
        };
        self.install_program_with(in_sync.then_some(delta));
    }

    /// The arming state leaves of `classes`, ON_CHANGE.
    fn publish_arming(&mut self, classes: &BTreeSet<ClassKey>) {
        let mut batch = StateBatch::default();
        for key in classes {
            if let Some(s) = self.arming.get(key) {
                state::arming(&key.0, &key.1, s, &mut batch);
            }
        }
        self.publish(batch);
    }

    /// Installs the desired program whole (boot, retries, drift repair).
    pub(crate) fn install_program(&mut self) {
        self.install_program_with(None);
    }

    fn install_program_with(&mut self, delta: Option<ProgramDelta>) {
        let span = info_span!(
            "dataplane.apply",
            op = "install-bypass",
            delta = delta.is_some()
        );
        let _guard = span.enter();
        let outcome = match &delta {
            Some(d) => self.dataplane.update_bypass(&self.desired_program, d),
            None => self.dataplane.install_bypass(&self.desired_program),
        };
        match outcome {
            Ok(()) => {
                info!(
                    access_lists = self.desired_program.access_lists.len(),
                    policies = self.desired_program.policies.len(),
                    "bypass program installed"
                );
                self.installed_program = Some(self.desired_program.clone());
                self.program_error = None;
                self.backoff.succeeded(&RetryKey::Program);
            }
            Err(e) => {
                let retry_in = self.backoff.failed(RetryKey::Program, Instant::now());
                error!(error = %e, ?retry_in, "cannot install the bypass program");
                self.program_error = Some(e.to_string());
            }
        }
        self.publish_applied();
    }

    fn publish_applied(&mut self) {
        let mut batch = StateBatch {
            timestamp_ns: crate::time::wall_clock_ns(),
            ..Default::default()
        };
        if self.program_error.is_none() {
            self.bypass_applied
                .advance(self.last_commit, &paths::BYPASS_APPLIED, &mut batch);
        }
        let program = if self.program_error.is_some()
            && self.installed_program.as_ref() != Some(&self.desired_program)
        {
            // Report the failure on what the configuration asks for.
            self.desired_program.clone()
        } else {
            self.installed_program.clone().unwrap_or_default()
        };
        state::applied(
            &program,
            &self.published_program,
            self.program_error.as_deref(),
            &mut batch,
        );
        self.published_program = program;
        self.state.apply(batch);
    }

    /// Host conditions that defeat bypass, as `bypass/state/warnings` (and a log line when
    /// they change).
    pub(crate) fn publish_warnings(&mut self) {
        let warnings = self.dataplane.warnings();
        if warnings == self.warnings {
            return;
        }
        for w in &warnings {
            warn!("{w}");
        }
        for batch in state::warnings(&warnings) {
            self.send(batch);
        }
        self.warnings = warnings;
    }
}

/// How a conditional class's trigger looks now: an interface by its oper-status, a group by
/// its status (a disabled group counts as absent).
fn level(interface_up: &BTreeMap<String, bool>, engine: &Engine, source: &TriggerSource) -> Level {
    match source {
        TriggerSource::Interface(name) => match interface_up.get(name) {
            Some(true) => Level::Up,
            Some(false) => Level::Down,
            None => Level::Absent,
        },
        TriggerSource::LinkStateGroup(id) => match engine.group_state(*id) {
            Some(g) if !g.enabled => Level::Absent,
            Some(g) if g.status == GroupStatus::Up => Level::Up,
            Some(_) => Level::Down,
            None => Level::Absent,
        },
    }
}
