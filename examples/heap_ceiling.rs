//! The raw heap ceiling as one JSON line, for `benches/compare.sh` (which must not parse
//! criterion): pops per second of a bare `BinaryHeap` push/pop loop (see
//! `benches/support/heap_loop.rs`) at 1,000 pending entries and at the standard scenario's
//! maximum queue depth, measured here by running the scenario once with the history off.
//!
//! `cargo run --release --example heap_ceiling [-- SCENARIO]`
//!
//! Each depth is timed over several rounds of `STEPS` pops after a warm-up; the best round
//! is reported (the ceiling is what the machine can do, so noise only ever lowers it).

#[path = "../benches/support/heap_loop.rs"]
mod heap_loop;

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use heap_loop::SteadyHeap;
use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

const STEPS: u64 = 2_000_000;
const ROUNDS: usize = 5;

/// Best pops per second at `depth` over `ROUNDS` rounds.
fn pops_per_sec(depth: usize) -> u64 {
    let mut queue = SteadyHeap::new(depth, 0x9E37_79B9_7F4A_7C15);
    black_box(queue.run(STEPS / 4)); // warm-up
    let mut best = 0u64;
    for _ in 0..ROUNDS {
        // Benchmark timing: the wall clock is the measurement, nothing simulated reads it.
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        black_box(queue.run(STEPS));
        let ns = started.elapsed().as_nanos().max(1);
        best = best.max((u128::from(STEPS) * 1_000_000_000 / ns) as u64);
    }
    assert_eq!(queue.depth(), depth, "the depth stays steady");
    best
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "benches/standard.toml".to_string());
    let scenario = Scenario::load(Path::new(&path)).unwrap_or_else(|error| panic!("{path}: {error}"));
    let strategy = StrategySet::parse(&scenario.strategy).expect("the scenario's strategy exists");
    let spec = RunSpec {
        seed: scenario.seed,
        scenario,
        scenario_path: Path::new(&path),
        strategy,
        history_mode: HistoryMode::Off,
        history_file: None,
        keep_history: false,
    };
    let result = run(spec).expect("the scenario runs");
    let stats = result.outcome.stats;
    let depth = stats.queue_depth_max as usize;
    println!(
        "{{\"depth_1k\":1000,\"pops_per_sec_1k\":{},\"depth_standard_max\":{depth},\"pops_per_sec_standard\":{},\
         \"standard_events\":{},\"standard_messages_delivered\":{},\"standard_timers_fired\":{},\
         \"standard_timers_cancelled\":{}}}",
        pops_per_sec(1000),
        pops_per_sec(depth.max(1)),
        stats.events,
        stats.messages_delivered,
        stats.timers_fired,
        stats.timers_cancelled,
    );
}
