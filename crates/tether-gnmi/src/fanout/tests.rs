//! The hub without a daemon: events are fed to `on_commit` / `on_state` directly.

use super::*;
use tether_model::{LeafChange, SchemaOptions};
use tether_proto::gnmi::{PathElem, typed_value};
use tether_store::CommitMeta;

fn schema() -> &'static Schema {
    static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).unwrap())
}

/// `/link-state/groups/group[id=1]/config` as a resolved path.
fn rp(text: &str) -> ResolvedPath {
    let mut parts = Vec::new();
    let (mut cur, mut depth) = (String::new(), 0);
    for c in text.chars() {
        match c {
            '/' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            '[' | ']' => {
                depth = if c == '[' { depth + 1 } else { depth - 1 };
                cur.push(c);
            }
            c => cur.push(c),
        }
    }
    parts.push(cur);
    let elem = parts
        .iter()
        .filter(|s| !s.is_empty())
        .map(|e: &String| {
            let (name, keys) = match e.split_once('[') {
                Some((n, k)) => (n, Some(k.trim_end_matches(']'))),
                None => (e.as_str(), None),
            };
            PathElem {
                name: name.to_string(),
                key: keys
                    .and_then(|k| k.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .into_iter()
                    .collect(),
            }
        })
        .collect();
    let p = Path {
        elem,
        ..Default::default()
    };
    path::resolve(schema(), None, Some(&p)).unwrap()
}

fn on_change(p: &str) -> Vec<Filter> {
    vec![Filter {
        path: rp(p),
        counters: false,
        depth: None,
    }]
}

fn register(hub: &Arc<Hub>, filters: Vec<Filter>, capacity: usize) -> Registration {
    let mut reg = hub.lock();
    hub.insert(
        &mut reg,
        filters,
        HashSet::new(),
        WireEncoding::JsonIetf,
        capacity,
    )
}

fn group_leaf(id: u32, leaf: &str) -> String {
    format!("/tether-link-state:link-state/groups/group[id='{id}']/{leaf}")
}

fn state(updates: Vec<(String, String)>) -> StateBatch {
    StateBatch {
        timestamp_ns: 7,
        updates,
        ..Default::default()
    }
}

fn event(r: &mut Registration) -> (Arc<Rendered>, Vec<u32>, Vec<u32>) {
    match r.rx.try_recv() {
        Ok(Delivery::Event {
            event,
            updates,
            deletes,
        }) => (event, updates, deletes),
        other => panic!("expected an event, got {other:?}"),
    }
}

fn json(u: &Update) -> serde_json::Value {
    match u.val.as_ref().and_then(|v| v.value.as_ref()) {
        Some(typed_value::Value::JsonIetfVal(b)) => serde_json::from_slice(b).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_rendering_is_shared_by_every_subscriber_of_the_leaf() {
    let hub = Arc::new(Hub::new(schema()));
    let mut subs: Vec<Registration> = (0..100)
        .map(|_| {
            register(
                &hub,
                on_change("/link-state/groups/group[id=1]/config/description"),
                8,
            )
        })
        .collect();
    hub.on_commit(
        &CommitRecord {
            id: 1,
            time_ns: 42,
            meta: CommitMeta::default(),
            changes: vec![LeafChange {
                path: group_leaf(1, "config/description"),
                old: None,
                new: Some("x".into()),
            }],
        },
        &tether_model::ConfigTree::new(schema()),
    );
    let (first, updates, deletes) = event(&mut subs[0]);
    assert_eq!(
        (updates.as_slice(), deletes.as_slice()),
        (&[0][..], &[][..])
    );
    assert_eq!(first.timestamp, 42);
    assert_eq!(
        json(first.updates[0].as_ref().unwrap()),
        serde_json::json!("x")
    );
    for s in &mut subs[1..] {
        let (e, _, _) = event(s);
        assert!(Arc::ptr_eq(&e, &first), "rendered once, shared");
    }
}

#[test]
fn subscriptions_elsewhere_are_not_even_looked_at() {
    let hub = Arc::new(Hub::new(schema()));
    let mut idle: Vec<Registration> = (0..1000)
        .map(|_| register(&hub, on_change("/link-state/groups/group[id=1]/config"), 8))
        .collect();
    let elsewhere = group_leaf(2, "config/description");
    let mut candidates = Vec::new();
    hub.lock()
        .root
        .collect(&path::parse_data_path(&elsewhere), &mut candidates);
    assert!(candidates.is_empty(), "{} candidates", candidates.len());
    hub.on_state(&state(vec![(elsewhere, "idle".into())]));
    assert!(idle.iter_mut().all(|r| r.rx.try_recv().is_err()));

    // Dropping them empties the index.
    drop(idle);
    let reg = hub.lock();
    assert!(reg.entries.is_empty() && reg.root.is_empty());
}

#[test]
fn a_large_state_batch_is_one_event_rendered_without_libyang() {
    let hub = Arc::new(Hub::new(schema()));
    let mut all = register(&hub, on_change("/link-state"), 8);
    let mut one = register(
        &hub,
        on_change("/link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/7]"),
        8,
    );
    let mut updates = vec![(group_leaf(1, "state/status"), "down".to_string())];
    for i in 1..=1000 {
        let intf = format!("downstream/interfaces/interface[name='Gi1/{i}']/state");
        updates.push((group_leaf(1, &format!("{intf}/oper-status")), "down".into()));
        updates.push((
            group_leaf(1, &format!("{intf}/disabled-by-group")),
            "true".into(),
        ));
    }
    hub.on_state(&state(updates));
    let (e, u, d) = event(&mut all);
    assert_eq!((u.len(), d.len()), (2001, 0));
    assert!(all.rx.try_recv().is_err(), "one batch, one delivery");
    assert_eq!(
        hub.types.lock().unwrap().via_libyang,
        0,
        "scalars need no libyang tree"
    );
    let values: Vec<serde_json::Value> = u
        .iter()
        .map(|&i| json(e.updates[i as usize].as_ref().unwrap()))
        .collect();
    assert_eq!(values[0], serde_json::json!("down"));
    assert_eq!(values[2], serde_json::json!(true));
    let (e2, u, _) = event(&mut one);
    assert!(Arc::ptr_eq(&e, &e2));
    assert_eq!(u, vec![13, 14]);
}

#[test]
fn deletes_counters_and_models() {
    let hub = Arc::new(Hub::new(schema()));
    let mut status = register(
        &hub,
        on_change("/link-state/groups/group[id=1]/state/status"),
        8,
    );
    let mut any_group = register(&hub, on_change("/link-state/groups/group/state"), 8);
    let mut target_defined = register(
        &hub,
        vec![Filter {
            path: rp("/link-state/groups/group[id=1]/state"),
            counters: true,
            depth: None,
        }],
        8,
    );
    let mut other_model = {
        let mut reg = hub.lock();
        let models = HashSet::from(["tether-conntrack-bypass".to_string()]);
        hub.insert(
            &mut reg,
            on_change("/..."),
            models,
            WireEncoding::JsonIetf,
            8,
        )
    };

    // A state subtree removed above the subscribed leaf concerns it.
    hub.on_state(&StateBatch {
        timestamp_ns: 1,
        deletes: vec!["/tether-link-state:link-state/groups/group[id='1']".into()],
        ..Default::default()
    });
    for r in [&mut status, &mut any_group, &mut target_defined] {
        let (e, u, d) = event(r);
        assert_eq!((u.len(), d), (0, vec![0]));
        assert_eq!(e.deletes[0].as_ref().unwrap().elem.len(), 3);
    }
    assert!(other_model.rx.try_recv().is_err(), "use_models");

    // Counters go to TARGET_DEFINED only.
    hub.on_state(&StateBatch {
        timestamp_ns: 2,
        updates: vec![(group_leaf(1, "state/transitions"), "5".into())],
        counters: true,
        ..Default::default()
    });
    assert!(status.rx.try_recv().is_err() && any_group.rx.try_recv().is_err());
    let (e, u, _) = event(&mut target_defined);
    assert_eq!(
        json(e.updates[u[0] as usize].as_ref().unwrap()),
        serde_json::json!("5"),
        "uint64 is a JSON string"
    );
}

#[test]
fn a_full_queue_marks_the_subscription_lagged() {
    let hub = Arc::new(Hub::new(schema()));
    let r = register(&hub, on_change("/link-state"), 2);
    for i in 0..5 {
        hub.on_state(&state(vec![(
            group_leaf(1, "state/status"),
            format!("s{i}"),
        )]));
    }
    assert!(r.lagged.load(Ordering::Acquire));
}
