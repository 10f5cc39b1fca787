//! Writes a history of about N records for the checker benchmarks: the standard scenario
//! (`benches/standard.toml`, 104,748 records) with its entities and start window scaled by
//! the same factor, so the load per simulated millisecond stays the standard one and only
//! the length grows. Deterministic: the same N gives the same file.
//!
//! `cargo run --release --example scaled_history -- RECORDS FILE`
//! (RECORDS like `100000`, `1e6` or `1e7`). Prints one JSON line: records, events, bytes.

use std::path::{Path, PathBuf};

use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

const STANDARD: &str = "benches/standard.toml";
/// Records per entity of the standard scenario (104,748 records for 2,000 entities).
const RECORDS_PER_ENTITY: f64 = 52.374;

fn parse_count(s: &str) -> Option<u64> {
    if let Some((m, e)) = s.split_once(['e', 'E']) {
        let (m, e): (u64, u32) = (m.parse().ok()?, e.parse().ok()?);
        return m.checked_mul(10u64.checked_pow(e)?);
    }
    s.replace('_', "").parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(records), Some(file)) = (args.first().and_then(|s| parse_count(s)), args.get(1)) else {
        eprintln!("usage: scaled_history RECORDS FILE   (RECORDS: 100000, 1e6, 1e7, ...)");
        std::process::exit(2);
    };
    let mut scenario = Scenario::load(Path::new(STANDARD)).unwrap_or_else(|e| panic!("{STANDARD}: {e}"));
    let entities = ((records as f64 / RECORDS_PER_ENTITY).round() as u32).max(1);
    let factor = f64::from(entities) / f64::from(scenario.workload.entities);
    scenario.workload.entities = entities;
    scenario.workload.start_window_ms = ((scenario.workload.start_window_ms as f64 * factor).round() as u64).max(1);
    scenario.run.max_time_ms = scenario.run.max_time_ms.max(scenario.workload.start_window_ms * 4);
    let strategy = StrategySet::parse(&scenario.strategy).expect("the standard strategy exists");
    let spec = RunSpec {
        seed: scenario.seed,
        scenario,
        scenario_path: Path::new(STANDARD),
        strategy,
        history_mode: HistoryMode::On,
        history_file: Some(PathBuf::from(file)),
        keep_history: false,
    };
    let result = run(spec).expect("the scaled scenario runs");
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!(
        "{{\"records\":{},\"entities\":{entities},\"engine_events\":{},\"stop_reason\":\"{}\",\"bytes\":{bytes}}}",
        result.history.records,
        result.outcome.stats.events,
        result.outcome.reason.as_str()
    );
}
