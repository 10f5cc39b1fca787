//! Engine speed on the standard scenario (`benches/standard.toml`): simulated engine events
//! per second with the history off; recorded in full as a compact in-memory history
//! (`history_compact`, what sweeps use); formatted as JSONL and fingerprinted; kept in
//! memory as JSONL; and streamed to a file.
//!
//! `cargo bench --bench engine`. Criterion reports time per run and, from the run's event
//! count, elements (engine events) per second.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

const STANDARD: &str = "benches/standard.toml";

fn spec(mode: HistoryMode, file: Option<&Path>, keep: bool) -> RunSpec<'static> {
    let scenario = Scenario::load(Path::new(STANDARD)).expect("the standard scenario loads");
    let strategy = StrategySet::parse(&scenario.strategy).expect("its strategy exists");
    RunSpec {
        seed: scenario.seed,
        scenario,
        scenario_path: Path::new(STANDARD),
        strategy,
        history_mode: mode,
        history_file: file.map(Path::to_path_buf),
        keep_history: keep,
    }
}

fn engine(c: &mut Criterion) {
    let probe = run(spec(HistoryMode::Off, None, false)).expect("the standard scenario runs");
    let events = probe.outcome.stats.events;
    let compact = run(spec(HistoryMode::Compact, None, false)).unwrap().history.compact.expect("kept");
    eprintln!(
        "standard scenario: {events} engine events, {} history records, {:.0} ms simulated; \
         compact history {} bytes ({:.1} bytes an event)",
        compact.record_count(),
        probe.sim_time_ms(),
        compact.memory_bytes(),
        compact.memory_bytes() as f64 / events as f64
    );
    let file = std::env::temp_dir().join("ordo-bench-history.jsonl");
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("history_off", |b| b.iter(|| run(spec(HistoryMode::Off, None, false)).unwrap()));
    group.bench_function("history_compact", |b| b.iter(|| run(spec(HistoryMode::Compact, None, false)).unwrap()));
    group.bench_function("history_fingerprint_only", |b| b.iter(|| run(spec(HistoryMode::On, None, false)).unwrap()));
    group.bench_function("history_in_memory", |b| b.iter(|| run(spec(HistoryMode::On, None, true)).unwrap()));
    group.bench_function("history_streamed_to_file", |b| {
        b.iter(|| run(spec(HistoryMode::On, Some(&file), false)).unwrap())
    });
    group.finish();
    let _ = std::fs::remove_file(file);
}

criterion_group!(benches, engine);
criterion_main!(benches);
