//! Model-based test of incremental bypass compilation and of the Linux delta behind it:
//! random, seeded transactions (six access-lists, classes, policies, interface and global
//! service-policies, link-state groups and interfaces, invalid steps mixed in — the edit
//! engine's own generator — plus renames of access-lists, classes and policies with their
//! references moved along) are applied to a running tree. After each:
//! - the program patched from the previous one with what the commit touched must equal the
//!   full compiler's program on the whole tree, and a step the full compiler refuses must
//!   not be taken incrementally;
//! - the nft text the Linux installer sends for it (a one-entry delta, an element diff or a
//!   rebuild, as the worker would ask: with the commit's delta when the dataplane holds the
//!   previous program) applied to the table model must give exactly the table a fresh install
//!   of the full compiler's program gives: the same chains with the same rules in order, sets
//!   with the same declarations and elements, ct timeouts and counters.
//!
//! "Restarts" (the worker forgetting its program and the installer its table, the kernel's
//! table staying) are mixed in. Classes get the three bypass modes (full, syn-check,
//! stateless: the raw notrack chains) and, a third of them, timeouts and connection limits
//! (ct count, the embryonic set), by name. So is conditional bypass: every other bypass class gets a
//! trigger, and between commits a random one is armed or disarmed and installed with the
//! arming-only delta the worker's `rearm` sends (the installer then flips its gate chain
//! without rendering), checked against a fresh install like every other step. `TETHER_INCREMENTAL_STEPS` / `TETHER_INCREMENTAL_SEED` vary it.

#[path = "../../tether-model/tests/common/ops.rs"]
mod ops;

use ops::Rng;
use serde_json::json;
use std::collections::BTreeMap;

use tether_dataplane::{
    BypassMode, BypassProgram, ClassLimits, ProgramDelta, Trigger, TriggerSource,
};
use tether_dataplane_linux::ApplyKind;
use tether_dataplane_linux::model::{ModelTable, NftModel};
use tether_dataplane_linux::offline::Installer;
use tether_dataplane_linux::render::{RenderOptions, incremental::update as incremental_render};
use tether_model::{ConfigTree, Edit, Schema, SchemaOptions};
use tether_worker::bypass::compile;
use tether_worker::bypass::incremental::{self, Followed, Touched};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn full(config: &ConfigTree) -> Result<BypassProgram, compile::CompileError> {
    let typed = config.typed().expect("typed");
    compile::compile(&typed)
}

/// A rename of an access-list, a class or a policy in one transaction, with the references to
/// it moved along (the old name deleted, the new one created). Random indices, so some are
/// refused (a name still referenced elsewhere), as a real rename can be.
fn rename(r: &mut Rng) -> Vec<Edit> {
    let svc = |i: u64| {
        format!(
            "{}/service-policies/service-policy[interface='{}']/config",
            ops::BYP,
            ops::iface(i)
        )
    };
    match r.below(3) {
        0 => {
            let (a, b) = (r.below(ops::ACLS), r.below(ops::ACLS));
            let s = 1 + r.below(ops::SEQS);
            let entries: Vec<_> = (0..1 + r.below(3))
                .map(|i| {
                    let seq = 1 + (s + i * 2) % ops::SEQS;
                    json!({"sequence": seq, "config": ops::entry_config(r, seq, false)})
                })
                .collect();
            let c = r.below(ops::CLASSES);
            vec![
                Edit::delete(ops::acl(a)),
                Edit::replace(
                    ops::acl(b),
                    json!({"name": format!("acl{b}"), "config": {"name": format!("acl{b}")},
                           "entries": {"entry": entries}}),
                ),
                Edit::update(
                    format!("{}/config/match-access-list", ops::class(c)),
                    json!(format!("acl{b}")),
                ),
            ]
        }
        1 => {
            let (c, d) = (r.below(ops::CLASSES), r.below(ops::CLASSES));
            let p = r.below(ops::POLICIES);
            let acl = r.below(ops::ACLS);
            vec![
                Edit::delete(format!("{}/classes/class[name='class{c}']", ops::policy(p))),
                Edit::delete(ops::class(c)),
                Edit::update(
                    format!("{}/config", ops::class(d)),
                    json!({"name": format!("class{d}"), "match-access-list": format!("acl{acl}")}),
                ),
                Edit::update(
                    format!("{}/classes/class[name='class{d}']/config", ops::policy(p)),
                    json!({"name": format!("class{d}"), "tcp-state-bypass": true,
                           "idle-timeout": 60 + r.below(600)}),
                ),
            ]
        }
        _ => {
            let (p, q) = (r.below(ops::POLICIES), r.below(ops::POLICIES));
            let c = r.below(ops::CLASSES);
            let i = r.below(ops::IFACES);
            vec![
                Edit::delete(ops::policy(p)),
                Edit::update(
                    format!("{}/classes/class[name='class{c}']/config", ops::policy(q)),
                    json!({"name": format!("class{c}"), "tcp-state-bypass": r.chance(70)}),
                ),
                Edit::update(
                    svc(i),
                    json!({"interface": ops::iface(i), "policy": format!("pol{q}")}),
                ),
                Edit::update(
                    format!("{}/global-policy/config/policy", ops::BYP),
                    json!(format!("pol{q}")),
                ),
            ]
        }
    }
}

/// Conditional bypass over the random configurations: the armed flag of each conditional
/// class, as the worker's arming would hold it.
#[derive(Default)]
struct Arms(BTreeMap<(String, String), bool>);

impl Arms {
    /// Whether a class is conditional here: every other bypass class, by name.
    fn conditional(class: &str) -> bool {
        tether_syntax::fnv::fnv1a_parts(&[class]).is_multiple_of(2)
    }

    /// The bypass mode of a class here: the three modes by name, so that they mix in one
    /// policy and a rename moves a class between them.
    fn mode(class: &str) -> BypassMode {
        match tether_syntax::fnv::fnv1a_parts(&[class, "mode"]) % 3 {
            0 => BypassMode::Full,
            1 => BypassMode::SynCheck,
            _ => BypassMode::Stateless,
        }
    }

    /// `program` with the modes, triggers and armed flags stamped in (the flags as
    /// `use_compiled` does).
    fn stamp(&self, program: &BypassProgram) -> BypassProgram {
        let mut p = program.clone();
        for (policy, pol) in &mut p.policies {
            for c in &mut pol.classes {
                c.mode = Self::mode(&c.name);
                if tether_syntax::fnv::fnv1a_parts(&[&c.name, "limits"]).is_multiple_of(3) {
                    c.limits = ClassLimits {
                        embryonic_timeout: Some(std::time::Duration::from_secs(20)),
                        half_closed_timeout: Some(std::time::Duration::from_secs(40)),
                        conn_max: Some(100),
                        embryonic_conn_max: Some(10),
                    };
                }
                if c.tcp_state_bypass && Self::conditional(&c.name) {
                    c.trigger = Some(Trigger {
                        source: TriggerSource::Interface("fib0".into()),
                        hold: std::time::Duration::from_secs(60),
                    });
                    c.armed = self
                        .0
                        .get(&(policy.clone(), c.name.clone()))
                        .copied()
                        .unwrap_or(false);
                }
            }
        }
        p
    }

    /// Flips one random conditional class of `program`; the delta naming it, if any.
    fn flip(&mut self, rng: &mut Rng, program: &BypassProgram) -> Option<ProgramDelta> {
        let keys: Vec<(String, String)> = program
            .policies
            .iter()
            .flat_map(|(p, pol)| {
                pol.classes
                    .iter()
                    .filter(|c| c.tcp_state_bypass && Self::conditional(&c.name))
                    .map(move |c| (p.clone(), c.name.clone()))
            })
            .collect();
        if keys.is_empty() {
            return None;
        }
        let key = rng.pick(&keys).clone();
        let armed = self.0.entry(key.clone()).or_insert(false);
        *armed = !*armed;
        Some(ProgramDelta {
            arming: [key].into(),
            ..Default::default()
        })
    }
}

/// The Linux side of the worker: an installer (forgotten at a restart) over a kernel table
/// (kept across restarts), and the program the installer holds.
struct Linux {
    kernel: NftModel,
    installer: Installer,
    installed: Option<BypassProgram>,
    kinds: [u64; 3],
    /// Installs the one-entry render path took.
    patched: u64,
}

impl Linux {
    fn new() -> Self {
        Self {
            kernel: NftModel::new(),
            installer: Installer::new(RenderOptions::default()),
            installed: None,
            kinds: [0; 3],
            patched: 0,
        }
    }

    fn restart(&mut self) {
        self.installer = Installer::new(RenderOptions::default());
        self.installed = None;
    }

    /// As the worker's `use_compiled`: the delta only when the dataplane holds the program
    /// the new one was patched from.
    fn install(
        &mut self,
        step: u64,
        previous: Option<&BypassProgram>,
        program: &BypassProgram,
        delta: Option<tether_dataplane::ProgramDelta>,
    ) {
        if self.installed.as_ref() == Some(program) {
            return;
        }
        let delta =
            delta.filter(|_| self.installed.is_some() && self.installed.as_ref() == previous);
        // Whether the one-entry render path (not the element diff of a full render) takes it.
        if let (Some(d), Some((old_program, rendered))) = (&delta, &self.installer.installed)
            && incremental_render(old_program, &mut rendered.clone(), program, d).is_some()
        {
            self.patched += 1;
        }
        let (kind, _) = self
            .installer
            .update(&self.kernel, program, delta.as_ref())
            .unwrap_or_else(|e| panic!("step {step}: the model refused the install: {e}"));
        self.kinds[match kind {
            ApplyKind::Unchanged => 0,
            ApplyKind::Elements => 1,
            ApplyKind::Rebuild => 2,
        }] += 1;
        self.installed = Some(program.clone());
        let want = fresh_table(program);
        let got = self.kernel.table();
        if got != want {
            panic!(
                "step {step}: the table after {kind:?} differs from a fresh install:\n{}",
                table_diff(&got, &want)
            );
        }
    }
}

/// The table a fresh install of `program` on an empty kernel gives.
fn fresh_table(program: &BypassProgram) -> ModelTable {
    let kernel = NftModel::new();
    Installer::new(RenderOptions::default())
        .install(&kernel, program)
        .expect("fresh install");
    kernel.table()
}

fn table_diff(got: &ModelTable, want: &ModelTable) -> String {
    let mut out = String::new();
    map_diff("chain", &got.chains, &want.chains, &mut out);
    map_diff("set", &got.sets, &want.sets, &mut out);
    map_diff("ct timeout", &got.timeouts, &want.timeouts, &mut out);
    map_diff("counter", &got.counters, &want.counters, &mut out);
    out
}

/// The entries of two maps that differ, one line each.
fn map_diff<V: PartialEq + std::fmt::Debug>(
    what: &str,
    got: &std::collections::BTreeMap<String, V>,
    want: &std::collections::BTreeMap<String, V>,
    out: &mut String,
) {
    let names: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    for name in names {
        let (g, w) = (got.get(name), want.get(name));
        if g != w {
            out.push_str(&format!("{what} {name}: got {g:?}, want {w:?}\n"));
        }
    }
}

#[test]
fn incremental_program_and_nft_delta_equal_the_full_path_on_random_commits() {
    let schema: &'static Schema = Schema::load(SchemaOptions { simulation: true }).expect("schema");
    let mut config = ConfigTree::new(schema);
    let mut rng = Rng(env("TETHER_INCREMENTAL_SEED", 0x17_b7a5));
    let steps = env("TETHER_INCREMENTAL_STEPS", 3000);
    // The worker's view: the program of the configuration, when the last compile succeeded.
    let mut previous = full(&config).ok();
    let mut linux = Linux::new();
    let mut arms = Arms::default();
    let (mut incremental, mut fell_back, mut refused, mut restarts, mut renames, mut flips) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for step in 0..steps {
        if rng.chance(2) {
            // A restart: a fresh compile, installed whole over the kernel's existing table.
            previous = full(&config).ok();
            linux.restart();
            if let Some(p) = previous.clone() {
                linux.install(step, None, &arms.stamp(&p), None);
            }
            restarts += 1;
        }
        if rng.chance(20)
            && let Some(p) = &previous
        {
            // A trigger moved: one class armed or disarmed, nothing else.
            let before = arms.stamp(p);
            if let Some(delta) = arms.flip(&mut rng, p) {
                flips += 1;
                linux.install(step, Some(&before), &arms.stamp(p), Some(delta));
            }
        }
        let edits = if rng.chance(8) {
            renames += 1;
            rename(&mut rng)
        } else {
            ops::random_transaction(&mut rng)
        };
        let prepared = match config.prepare(&edits) {
            Ok(p) => p,
            Err(_) => {
                refused += 1;
                continue;
            }
        };
        config.install(&prepared).expect("install");
        let touched = Touched::of(prepared.changes().iter().map(|c| c.path.as_str()));
        let want = full(&config);
        if touched.is_empty() {
            // Nothing of the bypass module changed: neither does its program.
            if let (Some(p), Ok(w)) = (&previous, &want) {
                assert_eq!(p, w, "step {step}: an untouched module's program changed");
            }
            continue;
        }
        match incremental::follow(previous.as_ref(), &config, &touched) {
            Followed::Incremental(got) => {
                incremental += 1;
                let want = want.unwrap_or_else(|e| {
                    panic!("step {step}: taken incrementally but the full compiler says {e}")
                });
                assert_eq!(got, want, "step {step}: programs differ after {edits:?}");
                let before = previous.as_ref().map(|p| arms.stamp(p));
                linux.install(
                    step,
                    before.as_ref(),
                    &arms.stamp(&got),
                    Some(touched.delta()),
                );
                previous = Some(got);
            }
            Followed::Full(got) => {
                fell_back += 1;
                assert_eq!(
                    got.as_ref().map_err(ToString::to_string),
                    want.as_ref().map_err(ToString::to_string),
                    "step {step}"
                );
                if let Ok(p) = &got {
                    let before = previous.as_ref().map(|p| arms.stamp(p));
                    linux.install(step, before.as_ref(), &arms.stamp(p), None);
                }
                previous = got.ok();
            }
            Followed::Unreadable(e) => panic!("step {step}: {e}"),
        }
    }
    let [unchanged, elements, rebuilds] = linux.kinds;
    let patched = linux.patched;
    println!(
        "{steps} steps ({renames} renames): {incremental} incremental, {fell_back} full, \
         {refused} refused, {restarts} restarts, {flips} arming flips; nft: {unchanged} \
         unchanged, {elements} element updates ({patched} by the one-entry render), \
         {rebuilds} rebuilds"
    );
    assert!(flips > steps / 50, "arming was hardly exercised: {flips}");
    assert!(
        incremental > steps / 10,
        "the incremental path was hardly exercised: {incremental} of {steps}"
    );
    assert!(
        elements > steps / 40 && patched > steps / 100 && rebuilds > steps / 50,
        "the nft paths were hardly exercised: {elements} element updates ({patched} by the \
         one-entry render), {rebuilds} rebuilds"
    );
}
