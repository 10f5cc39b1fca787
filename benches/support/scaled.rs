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

/// Runs the scaled scenario with the history kept in memory (`file` = None) or written.
pub fn scaled_run(records: u64, file: Option<&Path>) -> RunResult {
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
        history_file: file.map(PathBuf::from),
        keep_history: file.is_none(),
    };
    let result = run(spec).expect("the scaled scenario runs");
    assert_eq!(result.outcome.reason.as_str(), "done", "the scaled scenario finishes its workload");
    result
}
