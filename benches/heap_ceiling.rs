//! The raw ceiling for the engine's event queue: pops per second of a bare
//! `std::collections::BinaryHeap` push/pop loop with ordo's 24-byte entry shape
//! (`time: u64, seq: u64, slot: u32`, min-ordered by (time, seq)) at a steady depth: each
//! pop pushes one new entry at a random later time (xorshift64; see
//! `benches/support/heap_loop.rs`).
//!
//! `cargo bench --bench heap_ceiling`. Depths: 1,000 pending entries (the figure)
//! and the standard scenario's maximum queue depth (`Stats::queue_depth_max`, measured by
//! running `benches/standard.toml` once with the history off). Criterion reports elements
//! (pops) per second. `examples/heap_ceiling.rs` prints the same figures as JSON.

#[path = "support/heap_loop.rs"]
mod heap_loop;

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use heap_loop::SteadyHeap;
use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

const STANDARD: &str = "benches/standard.toml";
/// Pops per criterion iteration.
const STEPS: u64 = 100_000;

fn standard_queue_depth_max() -> usize {
    let scenario = Scenario::load(Path::new(STANDARD)).expect("the standard scenario loads");
    let strategy = StrategySet::parse(&scenario.strategy).expect("its strategy exists");
    let spec = RunSpec {
        seed: scenario.seed,
        scenario,
        scenario_path: Path::new(STANDARD),
        strategy,
        history_mode: HistoryMode::Off,
        history_file: None,
        keep_history: false,
    };
    let depth = run(spec).expect("the standard scenario runs").outcome.stats.queue_depth_max;
    usize::try_from(depth).expect("a queue depth fits in memory").max(1)
}

fn heap_ceiling(c: &mut Criterion) {
    let standard = standard_queue_depth_max();
    eprintln!("standard scenario: queue_depth_max = {standard}");
    let mut group = c.benchmark_group("heap_ceiling");
    group.throughput(Throughput::Elements(STEPS));
    for (label, depth) in [("1k", 1000), ("standard_max", standard)] {
        let mut queue = SteadyHeap::new(depth, 0x9E37_79B9_7F4A_7C15);
        assert_eq!(queue.depth(), depth);
        group.bench_with_input(BenchmarkId::new(label, depth), &depth, |b, _| b.iter(|| black_box(queue.run(STEPS))));
    }
    group.finish();
}

criterion_group!(benches, heap_ceiling);
criterion_main!(benches);
