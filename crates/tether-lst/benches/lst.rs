//! Time to process carrier changes, printed as p50/p99 over many iterations.
//!
//! `cargo bench -p tether-lst` (release). Each scenario alternates upstream carrier down and up, so
//! every measured call flips its group and emits one action per downstream.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tether_lst::{Engine, GroupConfig, GroupId, InterfaceObservation};

const ITERATIONS: usize = 2_000;

fn group(id: GroupId, downstreams: usize) -> GroupConfig {
    GroupConfig {
        upstream: vec![format!("g{id}-up")],
        downstream: (0..downstreams).map(|i| format!("g{id}-d{i}")).collect(),
        ..GroupConfig::new(id)
    }
}

fn engine(groups: &[GroupConfig]) -> Engine {
    let mut engine = Engine::new();
    for config in groups {
        for name in config.upstream.iter().chain(&config.downstream) {
            engine.observe(InterfaceObservation::up(name.as_str()), 0);
        }
    }
    engine
        .set_config(groups.to_vec(), 0)
        .expect("valid bench config");
    engine
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.50), at(0.99))
}

fn report(label: &str, flips: Vec<Duration>, steady: Vec<Duration>) {
    let (flip50, flip99) = percentiles(flips);
    let (steady50, steady99) = percentiles(steady);
    println!(
        "{label:<34} flip p50 {:>9.1} µs  p99 {:>9.1} µs | no flip p50 {:>6.2} µs  p99 {:>6.2} µs",
        flip50.as_secs_f64() * 1e6,
        flip99.as_secs_f64() * 1e6,
        steady50.as_secs_f64() * 1e6,
        steady99.as_secs_f64() * 1e6,
    );
}

/// One group with `downstreams` members: one upstream carrier change per measurement.
fn one_group(downstreams: usize) {
    let config = group(1, downstreams);
    let mut engine = engine(&[config.clone(), group(2, 1)]);
    let mut now = 1;
    let mut flips = Vec::with_capacity(ITERATIONS);
    let mut steady = Vec::with_capacity(ITERATIONS);
    for i in 0..ITERATIONS {
        now += 1_000;
        let observation = match i % 2 {
            0 => InterfaceObservation::no_carrier("g1-up"),
            _ => InterfaceObservation::up("g1-up"),
        };
        let start = Instant::now();
        let out = black_box(engine.observe(observation, now));
        flips.push(start.elapsed());
        assert_eq!(out.actions.len(), downstreams);

        // A carrier change on a downstream: no flip, a status change only.
        let observation = match i % 2 {
            0 => InterfaceObservation::no_carrier("g2-d0"),
            _ => InterfaceObservation::up("g2-d0"),
        };
        let start = Instant::now();
        black_box(engine.observe(observation, now));
        steady.push(start.elapsed());
    }
    report(
        &format!("1 group x {downstreams} downstreams"),
        flips,
        steady,
    );
}

/// 100 groups of 40 downstreams whose upstreams all change at once: the time for the whole burst.
fn many_groups(groups: GroupId, downstreams: usize) {
    let configs: Vec<GroupConfig> = (1..=groups).map(|id| group(id, downstreams)).collect();
    let mut engine = engine(&configs);
    let mut now = 1;
    let rounds = ITERATIONS / 4;
    let mut bursts = Vec::with_capacity(rounds);
    let mut steady = Vec::with_capacity(rounds);
    for round in 0..rounds {
        now += 1_000;
        let observations: Vec<InterfaceObservation> = (1..=groups)
            .map(|id| match round % 2 {
                0 => InterfaceObservation::no_carrier(format!("g{id}-up")),
                _ => InterfaceObservation::up(format!("g{id}-up")),
            })
            .collect();
        let start = Instant::now();
        let mut actions = 0;
        for observation in observations {
            actions += black_box(engine.observe(observation, now)).actions.len();
        }
        bursts.push(start.elapsed());
        assert_eq!(actions, usize::from(groups) * downstreams);

        let observation = match round % 2 {
            0 => InterfaceObservation::no_carrier("g1-d0"),
            _ => InterfaceObservation::up("g1-d0"),
        };
        let start = Instant::now();
        black_box(engine.observe(observation, now));
        steady.push(start.elapsed());
    }
    report(
        &format!("{groups} groups x {downstreams} (burst of {groups})"),
        bursts,
        steady,
    );
}

fn main() {
    println!("tether-lst: time to process a carrier change ({ITERATIONS} iterations)");
    for downstreams in [1, 40, 1_000] {
        one_group(downstreams);
    }
    many_groups(100, 40);
}
