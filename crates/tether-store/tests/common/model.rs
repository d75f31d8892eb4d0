//! What the store's model-based tests share: the schema and the step count.

use tether_model::{Schema, SchemaOptions};

pub fn schema() -> &'static Schema {
    #[allow(clippy::unwrap_used)] // tests fail loudly by design
    Schema::load(SchemaOptions { simulation: true }).unwrap()
}

/// `TETHER_MODEL_STEPS` scales a model run (a soak: `TETHER_MODEL_STEPS=1000000`).
pub fn steps(default: u64) -> u64 {
    std::env::var("TETHER_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
