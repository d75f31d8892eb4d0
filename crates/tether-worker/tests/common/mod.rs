//! A worker on a temporary sled store, the in-process dataplane and a state tree.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tether_dataplane::{Dataplane, SimClock, SimDataplane};
use tether_model::{Edit, Schema, SchemaOptions};
use tether_store::{CommitMeta, SledStore, Store, StoreOptions};
use tether_telemetry::StateTree;
use tether_worker::{Worker, WorkerHandle};

/// 2026-11-25T10:00:00Z.
pub const T0: u64 = 1_795_600_800_000_000_000;
pub const LST: &str = "/tether-link-state:link-state";
pub const BYP: &str = "/tether-conntrack-bypass:bypass";

pub fn schema() -> &'static Schema {
    static S: OnceLock<&'static Schema> = OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).expect("schema"))
}

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub store: Arc<SledStore>,
    pub sim: Arc<SimDataplane>,
    pub state: Arc<StateTree>,
    pub worker: Option<WorkerHandle>,
}

impl Rig {
    pub fn new(interfaces: &[&str]) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Arc::new(SledStore::open(schema(), StoreOptions::new(dir.path())).expect("store"));
        let sim = Arc::new(SimDataplane::with_clock(SimClock::starting_at(T0)));
        for name in interfaces {
            sim.create_interface(name).expect("interface");
        }
        Rig {
            dir,
            store,
            sim,
            state: Arc::new(StateTree::new()),
            worker: None,
        }
    }

    pub fn start(&mut self) {
        let store: Arc<dyn Store> = self.store.clone();
        let dataplane: Arc<dyn Dataplane> = self.sim.clone();
        let worker = Worker::start(store, dataplane, Arc::clone(&self.state));
        self.worker = Some(worker.expect("worker starts"));
    }

    pub fn stop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.shutdown();
        }
    }

    pub fn worker(&self) -> &WorkerHandle {
        self.worker.as_ref().expect("worker running")
    }

    pub async fn settle(&self) {
        self.worker().settle().await.expect("worker answers");
    }

    pub async fn commit(&self, edits: Vec<Edit>) {
        self.store
            .commit(edits, CommitMeta::default())
            .wait()
            .await
            .expect("commit");
        self.settle().await;
    }

    pub fn leaf(&self, path: &str) -> Option<String> {
        self.state.get(path).map(|l| l.value)
    }

    /// Every leaf the worker has published names a state node of the schema: the end-to-end
    /// counterpart of the unit test of each state writer.
    pub fn assert_state_in_schema(&self) {
        let leaves = self.state.under("/");
        assert!(!leaves.is_empty(), "the worker published nothing");
        let wrong: Vec<String> = leaves
            .iter()
            .map(|(path, _)| path)
            .filter(|path| {
                let found = schema()
                    .context()
                    .find_path(&tether_model::path::schema_path(path))
                    .is_ok_and(|node| node.is_state() && !node.is_config());
                if !found {
                    schema().clear_errors();
                }
                !found
            })
            .cloned()
            .collect();
        assert!(wrong.is_empty(), "state outside the schema: {wrong:#?}");
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop();
        self.store.close();
    }
}

/// The reference group: Po11 upstream, Gi1/1..Gi1/40 downstream, with `config` merged in.
pub fn reference_group(config: Value) -> Value {
    let member = |name: String| serde_json::json!({ "name": name, "config": { "name": name } });
    let mut group_config = serde_json::json!({ "id": 1 });
    if let (Some(g), Some(extra)) = (group_config.as_object_mut(), config.as_object()) {
        g.extend(extra.clone());
    }
    serde_json::json!({
        "tether-link-state:link-state": { "groups": { "group": [{
            "id": 1,
            "config": group_config,
            "upstream": { "interfaces": { "interface": [member("Po11".into())] } },
            "downstream": { "interfaces": { "interface": downstreams().into_iter().map(member).collect::<Vec<_>>() } }
        }] } }
    })
}

pub fn downstreams() -> Vec<String> {
    (1..=40).map(|i| format!("Gi1/{i}")).collect()
}

pub fn reference_interfaces() -> Vec<String> {
    let mut all = vec!["Po11".to_string()];
    all.extend(downstreams());
    all
}
