//! The standard scenario scaled to about N history records, for the checker benchmarks
//! (`benches/checker.rs`, `examples/scaled_history.rs`): entities and the start window grow
//! by the same factor, so the load per simulated millisecond stays the standard one and
//! only the length grows. Deterministic: the same N gives the same history.

use std::path::{Path, PathBuf};

use ordo::history::HistoryMode;
use ordo::run::{run, RunResult, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

pub const STANDARD: &str = "benches/standard.toml";
/// Records per entity of the standard scenario (104,748 records for 2,000 entities).
const RECORDS_PER_ENTITY: f64 = 52.374;

/// Runs the scaled scenario with the history kept in memory as JSONL (`file` = None) or
/// written to `file`.
#[allow(dead_code)] // not every bench or example that includes this file uses it
pub fn scaled_run(records: u64, file: Option<&Path>) -> RunResult {
    scaled_run_mode(records, file, HistoryMode::On, &[])
}

/// Runs the scaled scenario with the history kept as a compact history.
#[allow(dead_code)] // not every bench or example that includes this file uses it
pub fn scaled_compact(records: u64) -> RunResult {
    scaled_run_mode(records, None, HistoryMode::Compact, &[])
}

/// [`scaled_compact`] with `--set`-style overrides (`field=value`) of the scenario.
#[allow(dead_code)] // not every bench or example that includes this file uses it
pub fn scaled_compact_with(records: u64, overrides: &[String]) -> RunResult {
    scaled_run_mode(records, None, HistoryMode::Compact, overrides)
}

/// [`scaled_run`] with another strategy than the standard's (e.g. `key`, whose retries
/// reorder and duplicate: a history with anomalies to trace).
#[allow(dead_code)] // not every bench or example that includes this file uses it
pub fn scaled_run_strategy(records: u64, file: Option<&Path>, strategy: &str) -> RunResult {
    scaled_run_full(records, file, HistoryMode::On, &[], Some(strategy))
}

fn scaled_run_mode(records: u64, file: Option<&Path>, history_mode: HistoryMode, overrides: &[String]) -> RunResult {
    scaled_run_full(records, file, history_mode, overrides, None)
}

fn scaled_run_full(
    records: u64,
    file: Option<&Path>,
    history_mode: HistoryMode,
    overrides: &[String],
    strategy: Option<&str>,
) -> RunResult {
    let mut scenario =
        Scenario::load_with(Path::new(STANDARD), overrides).unwrap_or_else(|e| panic!("{STANDARD}: {e}"));
    let entities = ((records as f64 / RECORDS_PER_ENTITY).round() as u32).max(1);
    let factor = f64::from(entities) / f64::from(scenario.workload.entities);
    scenario.workload.entities = entities;
    scenario.workload.start_window_ms = ((scenario.workload.start_window_ms as f64 * factor).round() as u64).max(1);
    scenario.run.max_time_ms = scenario.run.max_time_ms.max(scenario.workload.start_window_ms * 4);
    let strategy = StrategySet::parse(strategy.unwrap_or(&scenario.strategy)).expect("the strategy exists");
    let spec = RunSpec {
        seed: scenario.seed,
        scenario,
        scenario_path: Path::new(STANDARD),
        strategy,
        history_mode,
        history_file: file.map(PathBuf::from),
        keep_history: file.is_none() && history_mode == HistoryMode::On,
    };
    let result = run(spec).expect("the scaled scenario runs");
    assert_eq!(result.outcome.reason.as_str(), "done", "the scaled scenario finishes its workload");
    result
}

/// A record count as the examples take it: `100000`, `1_000_000`, `1e6`.
#[allow(dead_code)] // not every bench or example that includes this file uses it
pub fn parse_count(s: &str) -> Option<u64> {
    if let Some((m, e)) = s.split_once(['e', 'E']) {
        let (m, e): (u64, u32) = (m.parse().ok()?, e.parse().ok()?);
        return m.checked_mul(10u64.checked_pow(e)?);
    }
    s.replace('_', "").parse().ok()
}
