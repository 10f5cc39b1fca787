//! Clock drift and offsets never stall a run: on every bundled scenario, random drift in
//! −1000…+1000 ppm and random offsets on every node (producers, brokers, consumers, the
//! controller), each run ends `done`, and the same seed gives the same history.
//!
//! Before the engine guaranteed that a positive local delay takes at least 1 ns of true
//! time, any positive drift on a producer spun at one instant until `run.max_events`.

use std::path::Path;

use ordo::bundled;
use ordo::history::HistoryMode;
use ordo::run::{run, RunResult, RunSpec};
use ordo::scenario::{node_names, ClockConfig, Scenario};
use ordo::strategy::StrategySet;
use ordo_sim::StopReason;
use proptest::prelude::*;

fn scenarios() -> Vec<(String, Scenario)> {
    bundled::catalog(None)
        .unwrap()
        .iter()
        .map(|source| (source.stem.clone(), source.load(&[]).unwrap_or_else(|e| panic!("{e}"))))
        .collect()
}

/// Gives node *i* the clock `clocks[i mod len]`.
fn with_clocks(mut scenario: Scenario, clocks: &[(i32, i64)]) -> Scenario {
    scenario.clocks = node_names(&scenario.topology)
        .into_iter()
        .zip(clocks.iter().cycle())
        .map(|(node, &(drift_ppm, offset_ms))| ClockConfig { node, offset_ms, drift_ppm })
        .collect();
    scenario
}

fn run_seed(scenario: Scenario, seed: u64) -> RunResult {
    let strategy = StrategySet::parse(&scenario.strategy).unwrap();
    run(RunSpec {
        scenario,
        scenario_path: Path::new("drift.toml"),
        strategy,
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: false,
    })
    .unwrap()
}

fn assert_done(name: &str, result: &RunResult, clocks: &[(i32, i64)]) {
    assert_eq!(
        result.outcome.reason,
        StopReason::Stopped,
        "{name} with clocks {clocks:?} (drift ppm, offset ms) stopped {:?} at {} ns after {} events: {:?}",
        result.outcome.reason,
        result.outcome.end_ns,
        result.outcome.stats.events,
        result.livelock
    );
    assert!(result.stats.created > 0, "{name}: the run did its work");
}

#[test]
fn a_producer_with_a_fast_clock_finishes_the_quickstart() {
    // The reproduction: quickstart with p0 20 ppm fast used to end `event_limit`
    // after 10^8 events at ~6 ms of simulated time.
    let (_, quickstart) = scenarios().into_iter().find(|(name, _)| name == "quickstart").unwrap();
    let mut scenario = quickstart.clone();
    scenario.clocks = vec![ClockConfig { node: "p0".into(), offset_ms: 0, drift_ppm: 20 }];
    let result = run_seed(scenario, quickstart.seed);
    assert_done("quickstart", &result, &[(20, 0)]);
    assert_eq!(result.stats.created, 60);
    assert!(result.outcome.stats.events < 10_000, "{}", result.outcome.stats.events);
}

#[test]
fn every_bundled_scenario_finishes_at_the_drift_extremes() {
    for clocks in [[(1_000, 0)], [(-1_000, 0)], [(1, 5)]] {
        for (name, scenario) in scenarios() {
            let seed = scenario.seed;
            assert_done(&name, &run_seed(with_clocks(scenario, &clocks), seed), &clocks);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_drift_and_offsets_on_every_node_finish_deterministically(
        seed in 1u64..1_000,
        clocks in prop::collection::vec((-1_000i32..=1_000, -60_000i64..=60_000), 1..12),
        twice in 0usize..64,
    ) {
        let all = scenarios();
        let twice = twice % all.len();
        for (index, (name, scenario)) in all.into_iter().enumerate() {
            let scenario = with_clocks(scenario, &clocks);
            let first = run_seed(scenario.clone(), seed);
            assert_done(&name, &first, &clocks);
            if index == twice {
                let again = run_seed(scenario, seed);
                prop_assert_eq!(&first.history.sha256, &again.history.sha256, "{}: same seed, same history", name);
                prop_assert!(first.history.sha256.is_some());
            }
        }
    }
}

#[test]
fn the_livelock_guard_names_the_model_node_and_timer_or_message_kind() {
    // With a guard far tighter than the default (200 events without progress within 10 s
    // of simulated time), a run whose only broker is down from the start "spins": the
    // producer retries and the consumer polls, in vain. The guard names a node and a kind
    // in the model's own words.
    use ordo::history::Recorder;
    use ordo_sim::{Guard, Limits, Spin};
    let (_, quickstart) = scenarios().into_iter().find(|(name, _)| name == "quickstart").unwrap();
    let text = "[[fault]]\nat_ms = 0\nkind = \"crash\"\nnode = \"b0\"\n";
    let crash = Scenario::parse(text, "crash.toml", "crash").unwrap();
    let mut scenario = quickstart.clone();
    scenario.faults = crash.faults;
    let mut sim = ordo::run::build(scenario, 3, Recorder::new(HistoryMode::Off));
    sim.set_guard(Guard { stall_events: 200, stall_span_ns: 10_000_000_000 });
    let outcome = sim.run(Limits { max_time_ns: 600_000_000_000, max_events: 1_000_000 });
    assert_eq!(outcome.reason, StopReason::Livelock, "{outcome:?}");
    let livelock = outcome.livelock.unwrap();
    let names = node_names(&quickstart.topology);
    let kind = match livelock.spin {
        Spin::Timer(kind) | Spin::Message(kind, _) => kind,
    };
    assert!(!["timer", "message"].contains(&kind), "a named kind, got {kind}");
    let words = ordo::run::describe_livelock(&livelock, &names);
    assert!(words.contains(&names[livelock.node.index()]) && words.contains(kind), "{words}");
    // The default guard lets the same run go on to its time limit: waiting for a broker
    // that never returns is slow, not dense.
    let mut scenario = quickstart.clone();
    scenario.faults = Scenario::parse(text, "crash.toml", "crash").unwrap().faults;
    let mut sim = ordo::run::build(scenario, 3, Recorder::new(HistoryMode::Off));
    let outcome = sim.run(Limits { max_time_ns: 60_000_000_000, max_events: 1_000_000 });
    assert_eq!(outcome.reason, StopReason::TimeLimit, "{outcome:?}");
}
