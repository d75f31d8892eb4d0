//! Model-based test of incremental bypass compilation: random, seeded transactions (six
//! access-lists, classes, policies, interface and global service-policies, link-state groups
//! and interfaces, invalid steps mixed in — the edit engine's own generator) are applied to a
//! running tree; after each, the program patched from the previous one with what the commit
//! touched must equal the full compiler's program on the whole tree, and a step the full
//! compiler refuses must not be taken incrementally. "Restarts" (the worker forgetting its
//! program) are mixed in. `TETHER_INCREMENTAL_STEPS` / `TETHER_INCREMENTAL_SEED` vary it.

#[path = "../../tether-model/tests/common/ops.rs"]
mod ops;

use ops::Rng;
use tether_model::{ConfigTree, Schema, SchemaOptions};
use tether_worker::bypass::compile;
use tether_worker::bypass::incremental::{self, Followed, Touched};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn full(config: &ConfigTree) -> Result<tether_dataplane::BypassProgram, compile::CompileError> {
    let typed = config.typed().expect("typed");
    compile::compile(&typed)
}

#[test]
fn incremental_program_equals_the_full_compile_on_random_commits() {
    let schema: &'static Schema = Schema::load(SchemaOptions { simulation: true }).expect("schema");
    let mut config = ConfigTree::new(schema);
    let mut rng = Rng(env("TETHER_INCREMENTAL_SEED", 0x17_b7a5));
    let steps = env("TETHER_INCREMENTAL_STEPS", 3000);
    // The worker's view: the program of the configuration, when the last compile succeeded.
    let mut previous = full(&config).ok();
    let (mut incremental, mut fell_back, mut refused, mut restarts) = (0u64, 0u64, 0u64, 0u64);
    for step in 0..steps {
        if rng.chance(2) {
            previous = full(&config).ok();
            restarts += 1;
        }
        let edits = ops::random_transaction(&mut rng);
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
                previous = Some(got);
            }
            Followed::Full(got) => {
                fell_back += 1;
                assert_eq!(
                    got.as_ref().map_err(ToString::to_string),
                    want.as_ref().map_err(ToString::to_string),
                    "step {step}"
                );
                previous = got.ok();
            }
            Followed::Unreadable(e) => panic!("step {step}: {e}"),
        }
    }
    println!(
        "{steps} steps: {incremental} incremental, {fell_back} full, {refused} refused, {restarts} restarts"
    );
    assert!(
        incremental > steps / 10,
        "the incremental path was hardly exercised: {incremental} of {steps}"
    );
}
