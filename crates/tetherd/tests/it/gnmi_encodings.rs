//! The three encodings against one another (model-based): for random configurations, the
//! PROTO leaves of a Get equal the JSON_IETF tree of the same Get flattened, leaf by leaf,
//! each expected scalar derived from the leaf's type in the compiled schema; the JSON tree
//! equals the JSON_IETF tree with 64-bit integers as numbers; and every base type the
//! schema's data nodes have was compared at least once. A Set of scalar (PROTO) values is
//! read back as the JSON_IETF Set of the same values reads back.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;
use serde_json::{Value, json};
use tether_model::{Schema, SchemaOptions, value_base_types};
use tether_proto::gnmi::{
    Encoding, GetRequest, Path as GnmiPath, ScalarArray, SetRequest, TypedValue, Update,
    typed_value::Value as V,
};
use tonic::Code;
use yang3::schema::{DataValueType as T, SchemaNode, SchemaNodeKind};

fn schema() -> &'static Schema {
    static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).unwrap())
}

// ===== random configurations =====

/// xorshift64*: reproducible from the seed the test prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn coin(&mut self) -> bool {
        self.below(2) == 0
    }
    fn text(&mut self, max: u64) -> String {
        const CHARS: &[&str] = &[
            "a", "Z", "0", " ", "\"", "'", "/", "[", "]", "\\", "é", "✓", "-",
        ];
        (0..self.below(max + 1))
            .map(|_| CHARS[self.below(CHARS.len() as u64) as usize])
            .collect()
    }
}

fn link_state(r: &mut Rng) -> Value {
    let mut next_if = 0;
    let mut names = |r: &mut Rng, max: u64| -> Vec<Value> {
        (0..r.below(max + 1))
            .map(|_| {
                next_if += 1;
                let n = format!("Eth{next_if}/{}", r.below(48));
                json!({"name": n, "config": {"name": n}})
            })
            .collect()
    };
    let mut ids = BTreeSet::new();
    let groups: Vec<Value> = (0..1 + r.below(3))
        .filter_map(|_| {
            let id = 1 + r.below(4096);
            if !ids.insert(id) {
                return None;
            }
            let mut config = json!({"id": id});
            if r.coin() {
                config["description"] = json!(r.text(20));
            }
            if r.coin() {
                config["enabled"] = json!(r.coin());
            }
            if r.coin() {
                config["up-delay"] = json!(r.below(3601));
            }
            if r.coin() {
                config["down-delay"] = json!(r.below(60001));
            }
            let up = names(r, 3);
            if !up.is_empty() && r.coin() {
                config["min-upstream-up"] = json!(1 + r.below(up.len() as u64));
            }
            Some(json!({"id": id, "config": config,
                "upstream": {"interfaces": {"interface": up}},
                "downstream": {"interfaces": {"interface": names(r, 4)}}}))
        })
        .collect();
    json!({"groups": {"group": groups}})
}

fn bypass(r: &mut Rng) -> Value {
    let protocols = [json!("tcp"), json!("udp"), json!("icmp"), json!("ip")];
    let entries: Vec<Value> = (0..1 + r.below(4))
        .map(|i| {
            let seq = (i + 1) * 10;
            let protocol = if r.coin() {
                protocols[r.below(4) as usize].clone()
            } else {
                json!(r.below(256))
            };
            let mut c = json!({"sequence": seq,
                "action": if r.coin() { "permit" } else { "deny" },
                "protocol": protocol,
                "source-prefix": format!("198.18.{}.0/24", r.below(256)),
                "destination-prefix": format!("198.19.{}.0/24", r.below(256))});
            if r.coin() {
                c["remark"] = json!(r.text(30));
            }
            if r.coin() && (c["protocol"] == "tcp" || c["protocol"] == "udp") {
                let lo = r.below(65536);
                c["destination-port"] = json!(if r.coin() {
                    lo.to_string()
                } else {
                    format!("{lo}-{}", lo + r.below(65536 - lo))
                });
            }
            json!({"sequence": seq, "config": c})
        })
        .collect();
    let mut class = json!({"name": "c1", "tcp-state-bypass": r.coin()});
    if r.coin() {
        class["idle-timeout"] = json!(1 + r.below(4_294_800));
    }
    json!({
        "access-lists": {"access-list": [{"name": "A1", "config": {"name": "A1"},
            "entries": {"entry": entries}}]},
        "classes": {"class": [{"name": "c1", "config": {"name": "c1", "match-access-list": "A1"}}]},
        "policies": {"policy": [{"name": "p1", "config": {"name": "p1"},
            "classes": {"class": [{"name": "c1", "config": class}]}}]},
        "service-policies": {"service-policy": [{"interface": "Eth9/9",
            "config": {"interface": "Eth9/9", "policy": "p1"}}]}
    })
}

// ===== the oracle: a JSON_IETF tree flattened, each leaf typed from the schema =====

/// Data-node children of a schema node (or of the modules, at the top), through choices.
fn children(parent: Option<&SchemaNode<'static>>) -> Vec<SchemaNode<'static>> {
    fn flat(nodes: impl Iterator<Item = SchemaNode<'static>>, out: &mut Vec<SchemaNode<'static>>) {
        for n in nodes {
            match n.kind() {
                SchemaNodeKind::Choice | SchemaNodeKind::Case => flat(n.children(), out),
                SchemaNodeKind::Container
                | SchemaNodeKind::List
                | SchemaNodeKind::Leaf
                | SchemaNodeKind::LeafList => out.push(n),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    match parent {
        Some(p) => flat(p.children(), &mut out),
        None => {
            for m in schema().modules() {
                if let Some(m) = schema().context().get_module_implemented(m.name) {
                    flat(m.data(), &mut out);
                }
            }
        }
    }
    out
}

/// `name` or `module:name` among `parent`'s children.
fn child(parent: Option<&SchemaNode<'static>>, member: &str) -> SchemaNode<'static> {
    let (module, name) = match member.split_once(':') {
        Some((m, n)) => (Some(m), n),
        None => (None, member),
    };
    children(parent)
        .into_iter()
        .find(|c| c.name() == name && module.is_none_or(|m| c.module().name() == m))
        .unwrap_or_else(|| panic!("{member} is not in the schema"))
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// The expected PROTO scalar of one JSON_IETF leaf value, by the leaf's base types (a
/// union's members in order, as libyang tries them), and the base type it was read as.
fn expected(node: &SchemaNode<'static>, v: &Value) -> (TypedValue, T) {
    let types = value_base_types(&node.leaf_type().unwrap());
    let pick = |ok: &dyn Fn(T) -> bool| {
        *types.iter().find(|t| ok(**t)).unwrap_or_else(|| {
            panic!(
                "{}: no type of {types:?} takes {v}",
                node.path(yang3::schema::SchemaPathFormat::DATA)
            )
        })
    };
    let small = |t: T| {
        matches!(
            t,
            T::Int8 | T::Int16 | T::Int32 | T::Uint8 | T::Uint16 | T::Uint32
        )
    };
    let (val, t) = match v {
        Value::Bool(b) => {
            let t = pick(&|t| t == T::Bool);
            (V::BoolVal(*b), t)
        }
        Value::Number(n) => {
            let t = pick(&small);
            match t {
                T::Uint8 | T::Uint16 | T::Uint32 => (V::UintVal(n.as_u64().unwrap()), t),
                _ => (V::IntVal(n.as_i64().unwrap()), t),
            }
        }
        Value::Array(a) if a == &vec![Value::Null] => (V::BoolVal(true), pick(&|t| t == T::Empty)),
        Value::String(s) => {
            let t = pick(&|t| match t {
                T::Int64 => s.parse::<i64>().is_ok(),
                T::Uint64 => s.parse::<u64>().is_ok(),
                T::Dec64 => s.parse::<f64>().is_ok(),
                t => !small(t) && t != T::Bool && t != T::Empty,
            });
            match t {
                T::Int64 => (V::IntVal(s.parse().unwrap()), t),
                T::Uint64 => (V::UintVal(s.parse().unwrap()), t),
                T::Dec64 => (V::DoubleVal(s.parse().unwrap()), t),
                _ => (V::StringVal(s.clone()), t),
            }
        }
        other => panic!("not a leaf value: {other}"),
    };
    (TypedValue { value: Some(val) }, t)
}

/// Every leaf of a JSON_IETF document (members of the top level are module-qualified), as
/// gNMI path text → expected PROTO value; the base types seen go into `seen`.
fn flatten(doc: &Value, seen: &mut BTreeSet<String>) -> BTreeMap<String, TypedValue> {
    fn walk(
        node: Option<&SchemaNode<'static>>,
        at: &str,
        v: &Value,
        out: &mut BTreeMap<String, TypedValue>,
        seen: &mut BTreeSet<String>,
    ) {
        let Value::Object(members) = v else {
            panic!("{at}: not an object: {v}");
        };
        for (member, v) in members {
            let c = child(node, member);
            let here = format!("{at}/{member}");
            match c.kind() {
                SchemaNodeKind::Leaf => {
                    let (tv, t) = expected(&c, v);
                    seen.insert(format!("{t:?}"));
                    out.insert(here, tv);
                }
                SchemaNodeKind::LeafList => {
                    let element = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| {
                            let (tv, t) = expected(&c, e);
                            seen.insert(format!("{t:?}"));
                            tv
                        })
                        .collect();
                    out.insert(
                        here,
                        TypedValue {
                            value: Some(V::LeaflistVal(ScalarArray { element })),
                        },
                    );
                }
                SchemaNodeKind::List => {
                    let keys: Vec<String> = c.list_keys().map(|k| k.name().to_string()).collect();
                    for entry in v.as_array().unwrap() {
                        let mut ks: Vec<(String, String)> = keys
                            .iter()
                            .map(|k| (k.clone(), key_text(&entry[k])))
                            .collect();
                        ks.sort();
                        let preds: String = ks.iter().map(|(k, v)| format!("[{k}={v}]")).collect();
                        walk(Some(&c), &format!("{here}{preds}"), entry, out, seen);
                    }
                }
                _ => walk(Some(&c), &here, v, out, seen),
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(None, "", doc, &mut out, seen);
    out
}

/// A gNMI path as the oracle writes it (`/m:a/b[k=v]/c`, keys sorted).
fn path_text(p: &GnmiPath) -> String {
    p.elem
        .iter()
        .map(|e| {
            let mut ks: Vec<_> = e.key.iter().collect();
            ks.sort();
            let preds: String = ks.iter().map(|(k, v)| format!("[{k}={v}]")).collect();
            format!("/{}{preds}", e.name)
        })
        .collect()
}

/// The JSON_IETF tree with 64-bit integers (strings RFC 7951 quotes) as numbers, typed
/// from the schema as the oracle reads them.
fn plain(node: Option<&SchemaNode<'static>>, v: &Value) -> Value {
    match v {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(m, v)| {
                    let c = child(node, m);
                    let out = match c.kind() {
                        SchemaNodeKind::Leaf => leaf_plain(&c, v),
                        SchemaNodeKind::LeafList => Value::Array(
                            v.as_array()
                                .unwrap()
                                .iter()
                                .map(|e| leaf_plain(&c, e))
                                .collect(),
                        ),
                        SchemaNodeKind::List => Value::Array(
                            v.as_array()
                                .unwrap()
                                .iter()
                                .map(|e| plain(Some(&c), e))
                                .collect(),
                        ),
                        _ => plain(Some(&c), v),
                    };
                    (m.clone(), out)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn leaf_plain(c: &SchemaNode<'static>, v: &Value) -> Value {
    match expected(c, v) {
        (
            TypedValue {
                value: Some(V::IntVal(i)),
            },
            T::Int64,
        ) => json!(i),
        (
            TypedValue {
                value: Some(V::UintVal(u)),
            },
            T::Uint64,
        ) => json!(u),
        _ => v.clone(),
    }
}

/// The base types of every leaf and leaf-list in the schema's data trees.
fn schema_types() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = children(None);
    while let Some(n) = stack.pop() {
        match n.kind() {
            SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => {
                for t in value_base_types(&n.leaf_type().unwrap()) {
                    out.insert(format!("{t:?}"));
                }
            }
            _ => stack.extend(children(Some(&n))),
        }
    }
    out
}

// ===== the tests =====

async fn get(
    c: &mut tether_proto::gnmi::g_nmi_client::GNmiClient<tonic::transport::Channel>,
    p: &str,
    encoding: Encoding,
) -> Vec<Update> {
    c.get(GetRequest {
        path: vec![path(p)],
        encoding: encoding as i32,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .notification
    .into_iter()
    .flat_map(|n| n.update)
    .collect()
}

/// The JSON_IETF or JSON value of the one update of a Get of `p`.
fn doc(updates: &[Update], p: &str) -> Value {
    assert_eq!(updates.len(), 1, "{p}: one update");
    value_of(&updates[0])
}

#[tokio::test]
async fn proto_and_json_gets_equal_json_ietf_for_random_configurations() {
    let seed = std::env::var("TETHER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| tether_syntax::time::wall_clock_ns_i64() as u64 | 1);
    eprintln!("TETHER_SEED={seed}");
    let mut r = Rng(seed);
    let d = Daemon::start();
    let mut c = d.client().await;
    let mut seen = BTreeSet::new();
    let mut accepted = 0;
    for round in 0..12 {
        let req = SetRequest {
            replace: vec![
                update("/tether-link-state:link-state", link_state(&mut r)),
                update("/tether-conntrack-bypass:bypass", bypass(&mut r)),
            ],
            ..Default::default()
        };
        match c.set(req).await {
            Ok(_) => accepted += 1,
            // A random configuration the model refuses (a `must`, a limit) is skipped.
            Err(s) if s.code() == Code::InvalidArgument => continue,
            Err(s) => panic!("round {round}: {s:?}"),
        }
        // The whole tree (configuration and state), then a subtree of each module.
        for p in ["/", "/link-state", "/bypass/access-lists"] {
            // The worker publishes state for the new configuration meanwhile: compare reads
            // that a JSON_IETF read before and after shows were of the same data.
            let (mut ietf, mut json, mut proto);
            let mut tries = 0;
            loop {
                ietf = doc(&get(&mut c, p, Encoding::JsonIetf).await, p);
                json = doc(&get(&mut c, p, Encoding::Json).await, p);
                proto = get(&mut c, p, Encoding::Proto).await;
                let again = doc(&get(&mut c, p, Encoding::JsonIetf).await, p);
                tries += 1;
                if again == ietf || tries == 50 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            // The subtree as a document of its own: wrapped in its qualified path.
            let (ietf_doc, json_doc) = match p {
                "/" => (ietf.clone(), json.clone()),
                "/link-state" => (
                    json!({"tether-link-state:link-state": ietf}),
                    json!({"tether-link-state:link-state": json}),
                ),
                _ => (
                    json!({"tether-conntrack-bypass:bypass": {"access-lists": ietf}}),
                    json!({"tether-conntrack-bypass:bypass": {"access-lists": json}}),
                ),
            };
            let want = flatten(&ietf_doc, &mut seen);
            let got: BTreeMap<String, TypedValue> = proto
                .iter()
                .map(|u| (path_text(u.path.as_ref().unwrap()), u.val.clone().unwrap()))
                .collect();
            assert_eq!(
                got.len(),
                proto.len(),
                "{p}: one update per leaf (seed {seed})"
            );
            // Every leaf of the JSON_IETF tree is a PROTO update. PROTO (like Subscribe)
            // also reports leaves that only hold their YANG default, which a JSON subtree
            // Get still leaves out (issue 16: not yet made to agree).
            let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
            assert!(
                missing.is_empty(),
                "{p}: PROTO lacks {missing:?} (seed {seed})"
            );
            for (k, v) in &want {
                assert_eq!(&got[k], v, "{k} (seed {seed})");
            }
            assert_eq!(
                normalize(json_doc),
                normalize(plain(None, &ietf_doc)),
                "{p}: JSON = JSON_IETF with 64-bit numbers (seed {seed})"
            );
        }
    }
    assert!(
        accepted >= 6,
        "only {accepted} random configurations were accepted (seed {seed})"
    );
    let all = schema_types();
    let untested: Vec<_> = all.difference(&seen).collect();
    assert!(
        untested.is_empty(),
        "base types never compared: {untested:?} of {all:?}"
    );
}

#[tokio::test]
async fn capabilities_advertise_proto_and_a_proto_set_reads_back_as_json_ietf() {
    let d = Daemon::start();
    let mut c = d.client().await;
    let caps = c
        .capabilities(tether_proto::gnmi::CapabilityRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(caps.supported_encodings.contains(&(Encoding::Proto as i32)));

    let tv = |v: V| TypedValue { value: Some(v) };
    let scalar = |p: &str, v: V| Update {
        path: Some(path(p)),
        val: Some(tv(v)),
        ..Default::default()
    };
    let g = "/link-state/groups/group[id=7]/config";
    let e = "/bypass/access-lists/access-list[name=A]/entries/entry[sequence=10]/config";
    c.set(SetRequest {
        update: vec![
            scalar(&format!("{g}/id"), V::UintVal(7)),
            scalar(&format!("{g}/enabled"), V::BoolVal(false)),
            scalar(
                &format!("{g}/description"),
                V::StringVal("core \"uplinks\"".into()),
            ),
            scalar(&format!("{g}/up-delay"), V::UintVal(30)),
            scalar(&format!("{g}/threshold-type"), V::StringVal("count".into())),
            scalar(
                "/bypass/access-lists/access-list[name=A]/config/name",
                V::StringVal("A".into()),
            ),
            scalar(&format!("{e}/sequence"), V::UintVal(10)),
            scalar(&format!("{e}/action"), V::StringVal("permit".into())),
            // A union (enumeration | uint8) by number.
            scalar(&format!("{e}/protocol"), V::UintVal(47)),
            scalar(
                &format!("{e}/source-prefix"),
                V::StringVal("198.18.0.0/16".into()),
            ),
        ],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        get_value(&mut c, g).await.unwrap(),
        json!({"id": 7, "enabled": false, "description": "core \"uplinks\"", "up-delay": 30,
               "threshold-type": "count"})
    );
    assert_eq!(
        get_value(&mut c, &format!("{e}/protocol")).await.unwrap(),
        json!(47)
    );
    // Read back in PROTO: the same scalars.
    let proto = get(&mut c, &format!("{g}/up-delay"), Encoding::Proto).await;
    assert_eq!(proto[0].val, Some(tv(V::UintVal(30))));
    let proto = get(&mut c, &format!("{e}/protocol"), Encoding::Proto).await;
    assert_eq!(proto[0].val, Some(tv(V::UintVal(47))));

    // A scalar of the wrong kind for the leaf: INVALID_ARGUMENT naming the path, nothing set.
    let before = whole_config(&mut c).await;
    for (leaf, v) in [
        ("enabled", V::UintVal(1)),
        ("up-delay", V::StringVal("30".into())),
        ("description", V::BoolVal(true)),
        ("up-delay", V::DoubleVal(1.5)),
    ] {
        let s = c
            .set(SetRequest {
                update: vec![
                    scalar(&format!("{g}/down-delay"), V::UintVal(5)),
                    scalar(&format!("{g}/{leaf}"), v),
                ],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{leaf}: {s:?}");
        assert!(s.message().contains(leaf), "{leaf}: {}", s.message());
    }
    // A scalar for a container.
    let s = c
        .set(SetRequest {
            update: vec![scalar(g, V::UintVal(1))],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(
        whole_config(&mut c).await,
        before,
        "refused Sets changed nothing"
    );
}
