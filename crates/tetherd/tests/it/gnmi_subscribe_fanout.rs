//! Subscribe values and the cost of fan-out, against a real tetherd: leaves that only hold
//! their default are reported with a typed value in every mode, and the daemon's CPU per
//! commit does not grow with subscriptions that watch the changed leaf (rendered once and
//! shared) or with subscriptions elsewhere (never woken).

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::gnmi::{
    Poll, SubscribeRequest, SubscribeResponse, Subscription, SubscriptionList, SubscriptionMode,
    subscribe_request, subscribe_response, subscription_list,
};
use tokio::sync::mpsc;
use tonic::Streaming;
use tonic::transport::Channel;

fn list(mode: subscription_list::Mode, p: &str) -> SubscribeRequest {
    SubscribeRequest {
        request: Some(subscribe_request::Request::Subscribe(SubscriptionList {
            subscription: vec![Subscription {
                path: Some(path(p)),
                mode: if mode == subscription_list::Mode::Stream {
                    SubscriptionMode::OnChange as i32
                } else {
                    SubscriptionMode::TargetDefined as i32
                },
                ..Default::default()
            }],
            mode: mode as i32,
            encoding: 4,
            ..Default::default()
        })),
        ..Default::default()
    }
}

const GROUP2: &str = "/link-state/groups/group[id=2]/config";

#[tokio::test]
async fn default_leaves_are_reported_with_typed_values_in_every_mode() {
    let d = Daemon::start();
    let mut c = d.client().await;
    // Only the key: enabled, min-upstream-up, up-delay, down-delay, threshold-type and
    // auto-recover hold their defaults.
    set_update(
        &mut c,
        "/link-state/groups/group[id=2]",
        json!({"id": 2, "config": {"id": 2}}),
    )
    .await
    .unwrap();
    let want = |got: Vec<(String, Value)>, mode: &str| {
        let mut got = got;
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                ("auto-recover".to_string(), json!(true)),
                ("down-delay".to_string(), json!(0)),
                ("enabled".to_string(), json!(true)),
                ("id".to_string(), json!(2)),
                ("min-upstream-up".to_string(), json!(1)),
                ("threshold-type".to_string(), json!("count")),
                ("up-delay".to_string(), json!(0)),
            ],
            "{mode}: the defaults, typed, as Get reports them"
        );
    };
    // Get of a default leaf, for reference.
    assert_eq!(
        get_value(&mut c, &format!("{GROUP2}/min-upstream-up"))
            .await
            .unwrap(),
        json!(1)
    );

    let (_once_tx, mut once) = open(&mut c, list(subscription_list::Mode::Once, GROUP2)).await;
    want(until_sync(&mut once).await, "ONCE");

    let (poll_tx, mut poll) = open(&mut c, list(subscription_list::Mode::Poll, GROUP2)).await;
    want(until_sync(&mut poll).await, "POLL initial");
    poll_tx
        .send(SubscribeRequest {
            request: Some(subscribe_request::Request::Poll(Poll {})),
            ..Default::default()
        })
        .await
        .unwrap();
    want(until_sync(&mut poll).await, "POLL");

    let (_stream_tx, mut stream) =
        open(&mut c, list(subscription_list::Mode::Stream, GROUP2)).await;
    want(until_sync(&mut stream).await, "STREAM");
    // And a change streams as a typed value.
    set_update(&mut c, &format!("{GROUP2}/up-delay"), json!(5))
        .await
        .unwrap();
    let r = next(&mut stream).await;
    let Some(subscribe_response::Response::Update(n)) = &r.response else {
        panic!("{r:?}")
    };
    assert_eq!(n.update.len(), 1);
    assert_eq!(value_of(&n.update[0]), json!(5));
}

/// The daemon's user + system CPU time, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name may hold spaces; fields count from after its closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Daemon CPU ticks for `n` one-leaf Sets of `leaf`, one at a time.
async fn cpu_of_sets(d: &Daemon, c: &mut GNmiClient<Channel>, leaf: &str, n: usize) -> u64 {
    let before = cpu_ticks(d.pid());
    for i in 0..n {
        set_update(c, leaf, json!(format!("cpu {i}")))
            .await
            .unwrap();
    }
    cpu_ticks(d.pid()) - before
}

/// `n` STREAM ON_CHANGE subscriptions of `p`, spread over a few connections, all synced.
async fn subscribers(
    d: &Daemon,
    p: &str,
    n: usize,
) -> Vec<(mpsc::Sender<SubscribeRequest>, Streaming<SubscribeResponse>)> {
    let mut clients = Vec::new();
    for _ in 0..n.div_ceil(100) {
        clients.push(d.client().await);
    }
    let mut out = Vec::new();
    let k = clients.len();
    for i in 0..n {
        let c = &mut clients[i % k];
        let (tx, mut s) = open(c, list(subscription_list::Mode::Stream, p)).await;
        until_sync(&mut s).await;
        out.push((tx, s));
    }
    out
}

const SETS: usize = 150;

/// Daemon CPU ticks for `n` commits that each add or remove 40 downstream interfaces of
/// group 1 (80 configuration leaves, and the state the worker publishes for them), then a
/// Set of the group's description to `marker`.
async fn cpu_of_downstream_flips(
    d: &Daemon,
    c: &mut GNmiClient<Channel>,
    n: usize,
    marker: &str,
) -> u64 {
    let downstream =
        scenario_link_state()["groups"]["group"][0]["downstream"]["interfaces"].clone();
    let before = cpu_ticks(d.pid());
    for i in 0..n {
        if i % 2 == 0 {
            set_update(
                c,
                "/link-state/groups/group[id=1]/downstream/interfaces",
                downstream.clone(),
            )
            .await
            .unwrap();
        } else {
            set_delete(c, "/link-state/groups/group[id=1]/downstream")
                .await
                .unwrap();
        }
    }
    set_update(
        c,
        "/link-state/groups/group[id=1]/config/description",
        json!(marker),
    )
    .await
    .unwrap();
    cpu_ticks(d.pid()) - before
}

/// Reads a subscription until an update sets the description to `marker`; the number of
/// updates and deletes it saw.
async fn read_until(mut s: Streaming<SubscribeResponse>, marker: &'static str) -> usize {
    let mut seen = 0;
    loop {
        let r = next(&mut s).await;
        if let Some(subscribe_response::Response::Update(n)) = &r.response {
            seen += n.update.len() + n.delete.len();
            if n.update.iter().any(|u| value_of(u) == json!(marker)) {
                return seen;
            }
        }
    }
}

#[tokio::test]
async fn subscribers_of_the_changed_leaves_share_one_rendering() {
    let d = Daemon::start();
    let mut c = d.client().await;
    set_update(
        &mut c,
        "/link-state/groups/group[id=1]",
        json!({"id": 1, "config": {"id": 1},
               "upstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}}}),
    )
    .await
    .unwrap();
    // Warm up, then the cost of the commits with nobody watching.
    cpu_of_downstream_flips(&d, &mut c, 10, "warm").await;
    let alone = cpu_of_downstream_flips(&d, &mut c, 40, "alone").await;

    let subs = subscribers(&d, "/link-state/groups/group[id=1]", 100).await;
    let readers: Vec<_> = subs
        .into_iter()
        .map(|(tx, s)| {
            tokio::spawn(async move {
                let _keep_open = tx;
                read_until(s, "watched").await
            })
        })
        .collect();
    let before = cpu_ticks(d.pid());
    cpu_of_downstream_flips(&d, &mut c, 40, "watched").await;
    let mut delivered = 0;
    for r in readers {
        let seen = r.await.unwrap();
        // 20 adds of 80 leaves and 20 removals, each one delete of the removed container
        // (gNMI §3.5.2.3: at the highest removed node), at least.
        assert!(seen >= 20 * 80 + 20, "{seen}");
        delivered += seen;
    }
    let watched = cpu_ticks(d.pid()) - before;
    // Clock ticks are 10 ms; the CPU of the commits themselves is taken out.
    let us_per_leaf = (watched.saturating_sub(alone) as f64 * 10_000.0) / delivered as f64;
    eprintln!(
        "daemon CPU ticks for 40 commits of 80 leaves: {alone} alone, {watched} with 100 \
         subscribers; {delivered} leaves delivered, {us_per_leaf:.2} us each"
    );
    // Each subscriber still costs its own copy, encoding and write of what it is sent, but
    // no libyang work of its own: about 2 us a leaf in release and 10 in debug builds, where
    // a libyang tree per subscription and event cost 17 us a leaf in release (~8x). This is
    // a count of the daemon's own CPU ticks, not wall time, yet it still rose to 16.7 us in
    // debug on a 2-core machine running four builds beside it: the bound sits between that
    // and the per-subscriber-libyang cost it exists to catch, so load cannot trip it.
    let limit = if cfg!(debug_assertions) { 40.0 } else { 10.0 };
    assert!(
        us_per_leaf <= limit,
        "{us_per_leaf:.2} us of daemon CPU per delivered leaf ({alone} -> {watched} ticks)"
    );
}

#[tokio::test]
async fn idle_subscriptions_cost_nothing_per_commit() {
    let d = Daemon::start();
    let mut c = d.client().await;
    set_update(
        &mut c,
        "/link-state/groups",
        json!({"group": [{"id": 1, "config": {"id": 1}}, {"id": 2, "config": {"id": 2}}]}),
    )
    .await
    .unwrap();
    let leaf = "/link-state/groups/group[id=2]/config/description";
    cpu_of_sets(&d, &mut c, leaf, 20).await;
    let alone = cpu_of_sets(&d, &mut c, leaf, SETS).await;

    let mut idle = subscribers(&d, "/link-state/groups/group[id=1]/config", 1000).await;
    cpu_of_sets(&d, &mut c, leaf, 20).await;
    let with_idle = cpu_of_sets(&d, &mut c, leaf, SETS).await;
    eprintln!(
        "daemon CPU ticks for {SETS} Sets: {alone} alone, {with_idle} with 1,000 idle subscriptions"
    );
    assert!(
        with_idle <= alone * 3 / 2 + 10,
        "1,000 idle subscriptions make every commit dearer: {alone} -> {with_idle} ticks"
    );
    // They really are idle, and still alive.
    let (_, s) = &mut idle[0];
    assert!(
        tokio::time::timeout(Duration::from_millis(100), s.message())
            .await
            .is_err()
    );
}
