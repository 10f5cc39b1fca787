//! Runs a scenario (default `benches/standard.toml`) ROUNDS times in one history mode and
//! prints one JSON line per round (engine events, wall time, events per second, history
//! bytes): a loop to profile the engine under (`perf record`, callgrind) and the way to time
//! the compact history, which the `ordo` command line does not offer (sweeps use it).
//!
//! `cargo run --release --example run_standard -- MODE [ROUNDS] [SCENARIO]`, MODE one of
//! `off`, `compact`, `fingerprint` (JSONL formatted and hashed on the writer thread),
//! `memory` (the same, kept in memory) and `split` (compact, then what `ordo run` does after
//! the simulation timed part by part on one thread: the fingerprint, i.e. JSONL formatted and
//! SHA-256 hashed; the SHA-256 of the compact bytes alone, the cheaper fingerprint not
//! chosen; and the check).

use std::path::Path;

use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, keep) = match args.first().map(String::as_str) {
        Some("off") => (HistoryMode::Off, false),
        Some("compact") => (HistoryMode::Compact, false),
        Some("fingerprint") => (HistoryMode::On, false),
        Some("memory") => (HistoryMode::On, true),
        Some("split") => (HistoryMode::Compact, true),
        _ => {
            eprintln!("usage: run_standard off|compact|fingerprint|memory|split [ROUNDS] [SCENARIO]");
            std::process::exit(2);
        }
    };
    let rounds: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let path = args.get(2).cloned().unwrap_or_else(|| "benches/standard.toml".to_string());
    let scenario = Scenario::load(Path::new(&path)).unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(2)
    });
    let strategy = StrategySet::parse(&scenario.strategy).unwrap_or_else(|error| {
        eprintln!("{path}: {error}");
        std::process::exit(2)
    });
    for _ in 0..rounds {
        let strategy = StrategySet { members: strategy.members.clone() };
        let spec = RunSpec {
            seed: scenario.seed,
            scenario: scenario.clone(),
            scenario_path: Path::new(&path),
            strategy,
            history_mode: mode,
            history_file: None,
            keep_history: keep,
        };
        let result = run(spec).expect("the scenario runs");
        if let (Some(compact), true) = (&result.history.compact, keep) {
            // Wall times of a benchmark, outside any simulated run.
            #[allow(clippy::disallowed_methods)]
            let time = |f: &mut dyn FnMut()| {
                let start = std::time::Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            };
            let fingerprint = time(&mut || drop(compact.fingerprint(None, false).expect("in memory")));
            let compact_hash = time(&mut || drop(compact.compact_sha256()));
            let check = time(&mut || drop(compact.check("history", None).expect("ordo's history checks")));
            println!(
                "{{\"records\":{},\"fingerprint_ms\":{fingerprint:.3},\"compact_sha256_ms\":{compact_hash:.3},\"check_ms\":{check:.3}}}",
                compact.record_count()
            );
        }
        let events = result.outcome.stats.events;
        let bytes = match &result.history.compact {
            Some(compact) => compact.memory_bytes() as u64,
            None => result.history.jsonl.as_ref().map_or(0, |jsonl| jsonl.len() as u64),
        };
        println!(
            "{{\"events\":{events},\"wall_ms\":{:.3},\"events_per_second\":{:.0},\"history_bytes\":{bytes},\"stop_reason\":\"{}\"}}",
            result.wall_ns as f64 / 1e6,
            events as f64 * 1e9 / result.wall_ns as f64,
            result.outcome.reason.as_str()
        );
    }
}
