//! Issue 16 §7: sagas with compensation (`scenarios/saga-compensation.toml`). A step
//! that fails makes its service publish the compensation of the step before it; the
//! compensation comes from another producer than the step it undoes, so nothing on the
//! producer side orders the two, and when it overtakes, the view ends in the undone
//! state. Saga step numbers on the events and a consumer applying them in order
//! (`versioned`) make the compensation wait for what it compensates.

use std::path::Path;

use ordo::checker::{Kind, Report};
use ordo::history::HistoryMode;
use ordo::model::ModelStats;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

const PATH: &str = "scenarios/saga-compensation.toml";

fn run_with(strategy: &str, seed: u64, edit: &dyn Fn(&mut Scenario)) -> (ModelStats, Report, String) {
    let mut scenario = Scenario::load(Path::new(PATH)).unwrap();
    edit(&mut scenario);
    let result = run(RunSpec {
        scenario,
        scenario_path: Path::new(PATH),
        strategy: StrategySet::parse(strategy).unwrap(),
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .unwrap();
    assert_eq!(result.outcome.reason.as_str(), "done", "{strategy}, seed {seed}: the run did not finish");
    let jsonl = result.history.jsonl.clone().expect("kept");
    let report = ordo::checker::check_reader(jsonl.as_slice(), PATH, None).unwrap();
    (result.stats, report, String::from_utf8(jsonl).unwrap())
}

/// Final states the checker says should be a compensation (the compensation was
/// overtaken by the step it undoes, or by an earlier one).
fn overtaken_compensations(report: &Report) -> usize {
    report
        .violated()
        .filter(|v| v.kind == Kind::FinalState)
        .filter(|v| v.message.contains("should be released") || v.message.contains("should be refunded"))
        .count()
}

#[test]
fn an_overtaken_compensation_leaves_the_undone_state() {
    let mut overtaken = 0;
    for seed in 1..=10 {
        let (stats, report, history) = run_with("key+idempotent", seed, &|_| {});
        assert!(stats.compensations > 0, "seed {seed}: some saga compensates");
        // The compensations are in the history as events of their own kind.
        assert!(history.contains("\"status\":\"released\"") || history.contains("\"status\":\"refunded\""));
        overtaken += overtaken_compensations(&report);
    }
    assert!(overtaken >= 5, "over 10 seeds, compensations overtaken: {overtaken}");
}

#[test]
fn saga_step_numbers_make_the_compensation_wait() {
    let mut held = 0;
    for seed in 1..=20 {
        let (stats, report, _) = run_with("key+idempotent+versioned", seed, &|_| {});
        assert!(stats.compensations > 0, "seed {seed}");
        let counts = report.all_counts();
        for kind in ["per_key_reorder", "final_state"] {
            assert!(!counts.contains_key(kind), "seed {seed}: {kind} ({counts:?})");
        }
        assert_eq!(stats.held_at_end, 0, "seed {seed}: nothing stalls (no event is lost here)");
        held += stats.held_max;
    }
    assert!(held > 0, "the cost: the view holds events that arrive before their predecessor");
}

#[test]
fn without_failures_there_is_no_compensation() {
    let (stats, report, history) = run_with("key+idempotent", 1, &|s| s.workload.compensation_ppm = 0);
    assert_eq!(stats.compensations, 0);
    assert_eq!(overtaken_compensations(&report), 0);
    assert!(!history.contains("\"status\":\"released\"") && !history.contains("\"status\":\"refunded\""));
    // Every saga ran its three steps.
    assert_eq!(stats.created, 30 * 3);
}

#[test]
fn compensation_settings_are_validated() {
    let bad = |text: &str| Scenario::parse(text, "bad.toml", "bad").unwrap_err().to_string();
    let error = bad("[workload]\ncompensation_ppm = 1000\n");
    assert!(error.contains("bad.toml") && error.contains("workload.compensation_ppm"), "{error}");
    let error = bad("[workload]\nkinds = [\"a\"]\ncompensations = [\"b\", \"c\"]\n");
    assert!(error.contains("workload.compensations") && error.contains("at most one compensation per kind"), "{error}");
    let error = bad("[workload]\nkinds = [\"a\", \"b\"]\ncompensations = [\"b\"]\n");
    assert!(error.contains("workload.compensations[0]"), "{error}");
    let error = bad("[workload]\ncompensations = [\"x\"]\ncompensation_ppm = 1000001\n");
    assert!(error.contains("workload.compensation_ppm"), "{error}");
}
